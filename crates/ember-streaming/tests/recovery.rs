//! Driver recovery from metadata checkpoints: a driver process killed with SIGKILL mid-stream
//! and started again with `get_or_create` loses no file and counts none twice, every batch
//! equal to a plain-Rust oracle over the files' modification times; and checkpoints of
//! another application or batch interval are refused with the fix.
//!
//! This test binary has no test harness: its `main` runs the tests, and, when started with
//! [`DRIVER`] set, is the streaming driver the first test kills and restarts. Input and
//! checkpoints go to a local directory, or under the URL [`FILE_SYSTEM`] gives (scripts/test
//! runs it again with the mini cluster's HDFS).

use ember_core::{Context, EmberConf, Fn, Result};
use ember_streaming::{ManualClock, StreamingContext, Time};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

/// Set to `<input>|<output>|<checkpoint>|<run seconds>` in the driver process.
const DRIVER: &str = "EMBER_TEST_RECOVERY_DRIVER";

/// Where input and checkpoints go, when set: a directory URL such as `hdfs:///user/ember`.
const FILE_SYSTEM: &str = "EMBER_TEST_RECOVERY_FS";

const BATCH: Duration = Duration::from_secs(1);

fn context() -> Context {
    Context::new(
        EmberConf::empty()
            .set_master("local[2]")
            .set("ember.ui.showConsoleProgress", "false"),
    )
    .unwrap()
}

/// The application: running word totals over the files of `input`, each batch's totals
/// written to `<output>/batch-<time>` as sorted `word count` lines.
fn word_totals(ctx: &Context, input: &str, output: PathBuf) -> Result<StreamingContext> {
    let ssc = StreamingContext::new(ctx, BATCH)?;
    let totals = ssc
        .text_file_stream(input)?
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(String::from)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)))
        .update_state_by_key(
            Fn!(|new: Vec<u64>, old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>())),
            2,
        );
    totals.foreach_rdd(move |rdd, time| {
        let mut totals = rdd.collect()?;
        totals.sort();
        let lines: String = totals.iter().map(|(w, n)| format!("{w} {n}\n")).collect();
        let file = output.join(format!("batch-{}", time.millis()));
        let temp = output.join(format!(".batch-{}", time.millis()));
        std::fs::write(&temp, lines)
            .and_then(|()| std::fs::rename(&temp, &file))
            .map_err(|e| ember_core::Error::io(&file, e))
    });
    Ok(ssc)
}

/// The driver process: recovers from (or starts) the checkpoint and runs for a while.
fn driver(spec: &str) -> ExitCode {
    let [input, output, checkpoint, seconds] = spec.split('|').collect::<Vec<_>>()[..] else {
        eprintln!("{DRIVER} must be input|output|checkpoint|seconds");
        return ExitCode::FAILURE;
    };
    let ctx = context();
    let run = || -> Result<()> {
        let ssc = StreamingContext::get_or_create(checkpoint, || {
            word_totals(&ctx, input, PathBuf::from(output))
        })?;
        ssc.start()?;
        ssc.await_termination_or_timeout(Duration::from_secs(seconds.parse().unwrap()))?;
        ssc.stop(true, true);
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("driver failed: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Dirs {
    /// Local: the output, and input and checkpoints unless [`FILE_SYSTEM`] says otherwise.
    _local: tempfile::TempDir,
    /// Reads and writes input and checkpoint files, on whatever file system they are.
    ctx: Context,
    input: String,
    output: PathBuf,
    checkpoint: String,
}

impl Dirs {
    fn new() -> Dirs {
        let local = tempfile::tempdir().unwrap();
        let base = match std::env::var(FILE_SYSTEM) {
            Ok(fs) => format!("{fs}/recovery-{}-{}", std::process::id(), unique()),
            Err(_) => local.path().to_str().unwrap().to_string(),
        };
        let ctx = context();
        let input = format!("{base}/input");
        // The stream's directory must exist: a hidden file makes it on any file system.
        ctx.env()
            .write_file(&format!("{input}/_started"), b"")
            .unwrap();
        let output = local.path().join("output");
        std::fs::create_dir(&output).unwrap();
        Dirs {
            checkpoint: format!("{base}/checkpoint"),
            input,
            output,
            ctx,
            _local: local,
        }
    }

    fn start_driver(&self, seconds: u64) -> Child {
        let spec =
            [&self.input, self.output.to_str().unwrap(), &self.checkpoint].map(|p| p.to_string());
        Command::new(std::env::current_exe().unwrap())
            .env(DRIVER, format!("{}|{seconds}", spec.join("|")))
            .spawn()
            .unwrap()
    }

    /// Writes file `i` into the input whole (a local file is written aside and moved in, an
    /// HDFS file is visible once closed); its text.
    fn move_in(&self, i: usize) -> String {
        let text: String = (0..20 + i)
            .map(|j| format!("w{} f{i}\n", (i * 7 + j) % 6))
            .collect();
        let file = format!("{}/file-{i}.txt", self.input);
        self.ctx.env().write_file(&file, text.as_bytes()).unwrap();
        text
    }

    /// The modification time of each input file, in ms, by its index.
    fn modified_ms(&self) -> BTreeMap<usize, i64> {
        let files = self.ctx.list_status(&self.input).unwrap();
        let index = |path: &str| -> Option<usize> {
            let name = path.rsplit('/').next()?;
            name.strip_prefix("file-")?
                .strip_suffix(".txt")?
                .parse()
                .ok()
        };
        files
            .iter()
            .filter_map(|f| Some((index(&f.path)?, f.modification_time)))
            .collect()
    }

    /// The names of the metadata checkpoints written.
    fn checkpoints(&self) -> Vec<String> {
        let files = self.ctx.list_status(&self.checkpoint).unwrap();
        let mut names: Vec<String> = files
            .iter()
            .filter(|f| {
                f.path
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .starts_with("checkpoint-")
            })
            .map(|f| f.path.clone())
            .collect();
        names.sort();
        names
    }

    /// Each batch's totals by batch time.
    fn batches(&self) -> BTreeMap<i64, BTreeMap<String, u64>> {
        let mut batches = BTreeMap::new();
        for entry in std::fs::read_dir(&self.output).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(time) = name.strip_prefix("batch-").and_then(|t| t.parse().ok()) else {
                continue;
            };
            batches.insert(
                time,
                totals_of(&std::fs::read_to_string(entry.path()).unwrap()),
            );
        }
        batches
    }

    /// Waits until some batch's totals add up to `words`.
    fn wait_for_words(&self, words: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .batches()
            .values()
            .any(|b| b.values().sum::<u64>() == words)
        {
            assert!(Instant::now() < deadline, "no batch counted {words} words");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A number no earlier call in this process gave.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn totals_of(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(w, n)| (w.to_string(), n.parse().unwrap()))
        .collect()
}

fn count_words<'a>(texts: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in texts.into_iter().flat_map(|t| t.split_whitespace()) {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}

fn kill(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
}

fn a_driver_killed_mid_stream_recovers_its_state_and_loses_no_file() {
    let dirs = Dirs::new();
    let mut texts = Vec::new();
    let mut first = dirs.start_driver(120);
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(700));
        texts.push(dirs.move_in(i));
    }
    dirs.wait_for_words(count_words(&texts).values().sum());
    // One more file, and the driver dies before or while its batch runs.
    texts.push(dirs.move_in(3));
    std::thread::sleep(Duration::from_millis(400));
    kill(&mut first);
    let killed_at = Instant::now();
    // Files moved in while no driver runs; their batches run once it is back.
    for i in 4..6 {
        texts.push(dirs.move_in(i));
        std::thread::sleep(Duration::from_millis(800));
    }
    let mut second = dirs.start_driver(6);
    std::thread::sleep(Duration::from_secs(2));
    texts.push(dirs.move_in(6));
    let status = second.wait().unwrap();
    assert!(status.success(), "the recovered driver failed: {status}");
    assert!(
        killed_at.elapsed() > 2 * BATCH,
        "batches fell due while no driver ran"
    );

    let modified = dirs.modified_ms();
    let files: Vec<(i64, String)> = (0..texts.len())
        .map(|i| (modified[&i], texts[i].clone()))
        .collect();
    let batches = dirs.batches();
    let all = count_words(&texts);
    assert_eq!(
        batches.values().last(),
        Some(&all),
        "the last totals count every file once"
    );
    let mut previous: Option<i64> = None;
    for (&time, totals) in &batches {
        // A file is in the batch of the first batch time at or after its modification.
        let arrived = files.iter().filter(|(m, _)| *m <= time).map(|(_, t)| t);
        assert_eq!(
            totals,
            &count_words(arrived),
            "totals of batch {}",
            Time::from_millis(time)
        );
        if let Some(previous) = previous {
            assert_eq!(
                time - previous,
                BATCH.as_millis() as i64,
                "no batch missing before {time}"
            );
        }
        previous = Some(time);
    }
}

/// Runs two batches of `word_totals` with a checkpoint in `dir` on a manual clock.
fn checkpoint_two_batches(dirs: &Dirs) {
    let ctx = context();
    let clock = ManualClock::new(Time::from_millis(0));
    let ssc = StreamingContext::get_or_create(&dirs.checkpoint, || {
        let ssc = StreamingContext::with_clock(&ctx, BATCH, clock.clone())?;
        ssc.text_file_stream(&dirs.input)?
            .count()
            .foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    })
    .unwrap();
    ssc.start().unwrap();
    clock.advance(2 * BATCH);
    ssc.stop(true, true);
    assert_eq!(
        dirs.checkpoints().len(),
        2,
        "a checkpoint per batch, the two newest kept"
    );
}

fn a_checkpoint_of_another_application_interval_or_build_is_refused_with_the_fix() {
    let dirs = Dirs::new();
    checkpoint_two_batches(&dirs);
    let dir = &dirs.checkpoint;
    let ctx = context();
    let other = StreamingContext::get_or_create(dir, || {
        let ssc = StreamingContext::new(&ctx, BATCH)?;
        ssc.text_file_stream(&dirs.input)?
            .map(Fn!(|l: String| l.len()))
            .foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    });
    let error = other.err().expect("another graph is refused").to_string();
    assert!(error.contains("written by another application"), "{error}");
    assert!(
        error.contains("text_file_stream every 1000 ms, count every 1000 ms"),
        "{error}"
    );
    assert!(error.contains(&format!("delete {dir}")), "{error}");
    let slower = StreamingContext::get_or_create(dir, || {
        let ssc = StreamingContext::new(&ctx, 2 * BATCH)?;
        ssc.text_file_stream(&dirs.input)?
            .count()
            .foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    });
    let error = slower
        .err()
        .expect("another interval is refused")
        .to_string();
    assert!(error.contains("batch interval of 1000 ms"), "{error}");
    assert!(error.contains("2000 ms"), "{error}");
    // Checkpoints in a layout a later build wrote.
    for name in &dirs.checkpoints() {
        let bytes = dirs.ctx.env().read_file(name).unwrap();
        let mut checkpoint: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        checkpoint["format"] = 99.into();
        checkpoint["ember_version"] = "9.9.9".into();
        let bytes = serde_json::to_vec(&checkpoint).unwrap();
        dirs.ctx.env().write_file(name, &bytes).unwrap();
    }
    let later = StreamingContext::get_or_create(dir, || {
        let ssc = StreamingContext::new(&ctx, BATCH)?;
        ssc.text_file_stream(&dirs.input)?
            .count()
            .foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    });
    let error = later.err().expect("another layout is refused").to_string();
    assert!(
        error.contains("written by ember 9.9.9 in a layout this build"),
        "{error}"
    );
    assert!(error.contains(&format!("delete {dir}")), "{error}");
}

fn a_torn_checkpoint_is_skipped_for_the_one_before_and_garbage_is_refused() {
    let dirs = Dirs::new();
    checkpoint_two_batches(&dirs);
    let names = dirs.checkpoints();
    let torn = b"{\"format\": 1, \"ember_ver";
    dirs.ctx.env().write_file(&names[1], torn).unwrap();
    // The newest is torn: recovery takes the one before, and runs again from there.
    checkpoint_two_batches(&dirs);
    for name in &dirs.checkpoints() {
        dirs.ctx.env().write_file(name, b"not json").unwrap();
    }
    let ctx = context();
    let error =
        StreamingContext::get_or_create(&dirs.checkpoint, || StreamingContext::new(&ctx, BATCH))
            .err()
            .expect("unreadable checkpoints are refused")
            .to_string();
    assert!(error.contains("no checkpoint in"), "{error}");
    assert!(
        error.contains("is not an ember streaming checkpoint"),
        "{error}"
    );
}

fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(DRIVER) {
        return driver(&spec);
    }
    let tests: [(&str, fn()); 3] = [
        (
            "a_driver_killed_mid_stream_recovers_its_state_and_loses_no_file",
            a_driver_killed_mid_stream_recovers_its_state_and_loses_no_file,
        ),
        (
            "a_checkpoint_of_another_application_interval_or_build_is_refused_with_the_fix",
            a_checkpoint_of_another_application_interval_or_build_is_refused_with_the_fix,
        ),
        (
            "a_torn_checkpoint_is_skipped_for_the_one_before_and_garbage_is_refused",
            a_torn_checkpoint_is_skipped_for_the_one_before_and_garbage_is_refused,
        ),
    ];
    // Arguments that are not flags filter the tests by name, as the usual harness does.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut ran, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let passed = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if passed { "ok" } else { "FAILED" });
        ran += 1;
        failed += usize::from(!passed);
    }
    // The usual harness's summary line, which scripts/test adds up.
    let outcome = if failed > 0 { "FAILED" } else { "ok" };
    println!(
        "test result: {outcome}. {} passed; {failed} failed",
        ran - failed
    );
    match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
