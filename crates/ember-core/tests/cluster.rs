//! The distributed runtime: jobs on `local-cluster[E,C,M]` run in executor processes started
//! from this very test binary. They give the same results as `local[N]` and as plain Rust
//! computations, and they survive executors that are killed, stopped or lose their files.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf, Error, Fn, StorageLevel, TaskContext};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn conf(master: &str) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
        .set(keys::SHUFFLE_IO_RETRY_WAIT.key, "100ms")
}

fn cluster(master: &str) -> Context {
    Context::new(conf(master)).unwrap()
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: it has exited and waits to be reaped.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn word_counts(lines: &[String]) -> Vec<(String, u64)> {
    let mut want = BTreeMap::<String, u64>::new();
    for l in lines {
        for w in l.split(' ') {
            *want.entry(w.to_string()).or_default() += 1;
        }
    }
    want.into_iter().collect()
}

fn count_words(ctx: &Context, lines: &[String]) -> Vec<(String, u64)> {
    let mut got = ctx
        .parallelize(lines.to_vec(), 6)
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .collect()
        .unwrap();
    got.sort();
    got
}

fn sample_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("w{} w{} x", i % 37, i % 11))
        .collect()
}

#[test]
fn word_count_matches_a_plain_computation() {
    let ctx = cluster("local-cluster[2,1,512]");
    let executors = ctx.executors();
    assert_eq!(executors.len(), 2);
    assert!(executors
        .iter()
        .all(|e| e.pid != std::process::id() && alive(e.pid)));
    let lines = sample_lines(2000);
    assert_eq!(count_words(&ctx, &lines), word_counts(&lines));
    let summary = ctx.last_job_summary().unwrap();
    assert!(summary.metrics.shuffle_bytes_read > 0);
    assert_eq!(
        summary.metrics.shuffle_bytes_read,
        summary.metrics.shuffle_bytes_written
    );
}

/// The bytes a shuffle of repetitive text stores under `master` (with `ember.shuffle.compress`
/// set to `compress`, or not set), and the bytes of its records before compression, as its map
/// outputs report them; through the writer that streams a file per partition unless
/// `buffered`.
fn shuffle_of_repetitive_text(master: &str, compress: Option<&str>, buffered: bool) -> (u64, u64) {
    let mut conf = conf(master);
    if let Some(compress) = compress {
        conf = conf.set(keys::SHUFFLE_COMPRESS.key, compress);
    }
    if buffered {
        conf = conf.set(keys::SHUFFLE_BYPASS_MERGE_THRESHOLD.key, "0");
    }
    let ctx = Context::new(conf).unwrap();
    let pairs = ctx
        .range(0, 100_000, 1, 3)
        .unwrap()
        .map(Fn!(|i: i64| (
            i % 977,
            format!("a repetitive value {}", i % 10)
        )))
        .partition_by(ember_core::HashPartitioner::new(4));
    assert_eq!(pairs.count().unwrap(), 100_000);
    let stored = ctx
        .last_job_summary()
        .unwrap()
        .metrics
        .shuffle_bytes_written;
    let statuses = ctx.env().map_output_tracker.statuses(0).unwrap();
    let records = statuses.iter().flatten().map(|s| s.record_bytes).sum();
    (stored, records)
}

/// Executors compress what they shuffle unless told otherwise; under `local[N]`, where every
/// segment is read back by the process that wrote it, shuffles are stored as they are. Either
/// way the map outputs report the same bytes of records, which runtime filters go by.
#[test]
fn shuffles_are_compressed_on_executors_and_not_in_process() {
    for buffered in [false, true] {
        let (plain, plain_records) = shuffle_of_repetitive_text("local[2]", None, buffered);
        let (packed, packed_records) =
            shuffle_of_repetitive_text("local[2]", Some("true"), buffered);
        let (executors, executor_records) =
            shuffle_of_repetitive_text("local-cluster[2,1,512]", None, buffered);
        assert_eq!(plain_records, packed_records, "buffered: {buffered}");
        assert_eq!(plain_records, executor_records, "buffered: {buffered}");
        // Stored as they are, chunk headers aside; lz4 shrinks the repeated text.
        assert!(
            plain >= plain_records && plain < plain_records * 11 / 10,
            "{plain} bytes stored of {plain_records}"
        );
        assert!(
            packed * 2 < packed_records,
            "{packed} bytes stored of {packed_records}"
        );
        assert!(
            executors * 2 < executor_records,
            "{executors} bytes stored of {executor_records}"
        );
    }
}

/// Many operations at once, printed, so that two masters can be compared.
fn a_bit_of_everything(ctx: &Context, dir: &Path) -> Vec<String> {
    let nums = ctx.parallelize((0..500i64).collect(), 5);
    let pairs = nums.map(Fn!(|x: i64| (x % 13, x)));
    let other = ctx
        .range(0, 40, 3, 3)
        .unwrap()
        .map(Fn!(|x: i64| (x % 13, x * 10)));
    // Values of equal keys may come in any order (as in Spark); the keys' order may not.
    let by_key = pairs.sort_by_key(true, 4).unwrap().collect().unwrap();
    let mut out = vec![
        format!("{:?}", by_key.iter().map(|kv| kv.0).collect::<Vec<_>>()),
        format!("{:?}", sorted(by_key)),
        format!("{:?}", sorted(pairs.join(&other).collect().unwrap())),
        format!(
            "{:?}",
            sorted(
                pairs
                    .group_by_key()
                    .map_values(Fn!(|v: Vec<i64>| v.len()))
                    .collect()
                    .unwrap()
            )
        ),
        format!(
            "{:?}",
            sorted(
                nums.map(Fn!(|x: i64| x % 17))
                    .distinct(3)
                    .collect()
                    .unwrap()
            )
        ),
        format!("{:?}", nums.zip_with_index().unwrap().take(7).unwrap()),
        format!("{:?}", nums.top(5).unwrap()),
        format!(
            "{:?}",
            nums.cartesian(&ctx.parallelize(vec![1i64, 2], 2))
                .count()
                .unwrap()
        ),
        format!("{:?}", nums.stats().unwrap().count()),
        format!("{:?}", nums.reduce(Fn!(|a: i64, b: i64| a + b)).unwrap()),
        format!(
            "{:?}",
            sorted(pairs.count_by_key().unwrap().into_iter().collect())
        ),
    ];
    let saved = dir.join("saved");
    nums.map(Fn!(|x: i64| x * 2))
        .save_as_text_file(saved.to_str().unwrap())
        .unwrap();
    let back = ctx.text_file(saved.to_str().unwrap(), 3).unwrap();
    out.push(format!("{:?}", sorted(back.collect().unwrap())));
    out
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn jobs_give_the_same_results_as_on_local() {
    let dir = tempfile::tempdir().unwrap();
    let local = a_bit_of_everything(&cluster("local[2]"), &dir.path().join("local"));
    let spread = a_bit_of_everything(
        &cluster("local-cluster[2,2,512]"),
        &dir.path().join("cluster"),
    );
    assert_eq!(local, spread);
}

#[test]
fn broadcast_values_are_fetched_once_per_executor_and_accumulators_count_once() {
    let ctx = cluster("local-cluster[2,1,512]");
    let table = ctx.broadcast((0..1000u64).collect::<Vec<_>>());
    let seen = ctx.long_accumulator();
    let before = ctx.broadcast_fetches();
    let lookup = |slices: usize| {
        let (t, acc) = (table.clone(), seen.clone());
        ctx.range(0, 1000, 1, slices)
            .unwrap()
            .map(Fn!(move |i: i64| {
                acc.add(1);
                t.value()[i as usize]
            }))
    };
    // One task: one executor gets the value from the driver.
    assert_eq!(lookup(1).sum().unwrap(), 499_500.0);
    assert_eq!(ctx.broadcast_fetches() - before, 1);
    // Sixteen tasks on both executors: the other one gets it from the first, not the driver,
    // and neither fetches it again for later tasks or jobs.
    assert_eq!(lookup(16).sum().unwrap(), 499_500.0);
    assert_eq!(lookup(16).count().unwrap(), 1000);
    assert_eq!(ctx.broadcast_fetches() - before, 1);
    assert_eq!(seen.value(), 3000);
}

#[test]
fn results_larger_than_the_direct_limit_travel_as_blocks() {
    let ctx = cluster("local-cluster[2,1,512]");
    let n = 600_000i64;
    let got = ctx.range(0, n, 1, 2).unwrap().collect().unwrap();
    assert_eq!(got.len() as i64, n);
    assert!(got.iter().copied().eq(0..n));
}

#[test]
fn an_executor_killed_mid_job_is_survived() {
    let ctx = cluster("local-cluster[2,1,512]");
    let lines = sample_lines(3000);
    let words = ctx
        .parallelize(lines.clone(), 8)
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>()))
        .persist(StorageLevel::MEMORY_ONLY);
    assert_eq!(words.count().unwrap(), 9000);
    let victim = ctx.executors()[0].clone();
    let (victim_id, victim_pid) = (victim.executor_id.clone(), victim.pid);
    let marker = tempfile::tempdir().unwrap();
    let killed = marker.path().join("killed").to_string_lossy().to_string();
    // A reduce task on the other executor kills the victim once, after it wrote map outputs
    // and while it holds cached partitions.
    let mut got = words
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .map_values(Fn!(move |n: u64| {
            let here = TaskContext::get().unwrap().executor_id().to_string();
            if here != victim_id && std::fs::File::create_new(&killed).is_ok() {
                let pid = victim_pid.to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
            }
            std::thread::sleep(Duration::from_millis(5));
            n
        }))
        .collect()
        .unwrap();
    assert!(marker.path().join("killed").exists());
    got.sort();
    assert_eq!(got, word_counts(&lines));
    let summary = ctx.last_job_summary().unwrap();
    assert!(summary.failed_tasks >= 1, "{summary}");
    let ids: Vec<String> = ctx.executors().into_iter().map(|e| e.executor_id).collect();
    assert!(!ids.contains(&"0".to_string()), "{ids:?}");
    // The cached partitions the victim held are recomputed from lineage.
    assert_eq!(words.count().unwrap(), 9000);
}

fn shuffle_data_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if name.starts_with("shuffle_") && name.ends_with(".data") {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_deleted_shuffle_file_is_rewritten_by_rerunning_its_map_task() {
    let local_dir = tempfile::tempdir().unwrap();
    let ctx = Context::new(
        conf("local-cluster[2,1,512]").set(keys::LOCAL_DIR.key, local_dir.path().to_str().unwrap()),
    )
    .unwrap();
    let lines = sample_lines(1000);
    let counts = ctx
        .parallelize(lines.clone(), 4)
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    assert_eq!(sorted(counts.collect().unwrap()), word_counts(&lines));
    let files = shuffle_data_files(local_dir.path());
    assert_eq!(files.len(), 4, "{files:?}");
    std::fs::remove_file(&files[0]).unwrap();
    // The shuffle is reused, so only a fetch failure can bring the lost output back.
    assert_eq!(sorted(counts.collect().unwrap()), word_counts(&lines));
    let summary = ctx.last_job_summary().unwrap();
    assert!(summary.failed_tasks >= 1, "{summary}");
    assert!(summary.stages >= 3, "the map stage ran again: {summary}");
}

#[test]
fn a_stage_whose_input_keeps_vanishing_fails_the_job_with_the_reason() {
    let local_dir = tempfile::tempdir().unwrap();
    let ctx = Context::new(
        conf("local-cluster[2,1,512]")
            .set(keys::LOCAL_DIR.key, local_dir.path().to_str().unwrap())
            .set(keys::STAGE_MAX_CONSECUTIVE_ATTEMPTS.key, "2"),
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (dir, halt) = (local_dir.path().to_path_buf(), stop.clone());
    let vandal = std::thread::spawn(move || {
        while !halt.load(std::sync::atomic::Ordering::Relaxed) {
            for f in shuffle_data_files(&dir) {
                let _ = std::fs::remove_file(f);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let err = ctx
        .range(0, 1000, 1, 4)
        .unwrap()
        .map(Fn!(|x: i64| (x % 10, x)))
        .reduce_by_key(Fn!(|a: i64, b: i64| a + b))
        .collect()
        .unwrap_err();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    vandal.join().unwrap();
    let message = err.to_string();
    assert!(matches!(err, Error::JobAborted { .. }), "{message}");
    assert!(
        message.contains("failed the maximum allowable number of times: 2"),
        "{message}"
    );
    assert!(message.contains("fetch failed"), "{message}");
}

#[test]
fn a_task_failing_on_one_executor_moves_to_another() {
    let ctx = Context::new(
        conf("local-cluster[2,1,512]").set(keys::EXCLUDE_ON_FAILURE_ENABLED.key, "true"),
    )
    .unwrap();
    let bad = ctx.executors()[0].executor_id.clone();
    let doubled = ctx.range(0, 40, 1, 8).unwrap().map(Fn!(move |x: i64| {
        let here = TaskContext::get().unwrap().executor_id().to_string();
        if here == bad {
            panic!("disk broken on executor {here}");
        }
        x * 2
    }));
    assert_eq!(
        doubled.collect().unwrap(),
        (0..40).map(|x| x * 2).collect::<Vec<_>>()
    );
    let summary = ctx.last_job_summary().unwrap();
    assert!(summary.failed_tasks >= 1, "{summary}");
    // Each task fails on the bad executor at most once, then it is excluded for that task.
    assert!(summary.failed_tasks <= 8, "{summary}");
}

#[test]
fn a_task_failing_everywhere_fails_the_job_with_its_message() {
    let ctx = cluster("local-cluster[2,1,512]");
    let err = ctx
        .parallelize(vec![1, 2, 3], 1)
        .map(Fn!(|x: i32| -> i32 {
            panic!("record {x} is always broken")
        }))
        .collect()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("failed 4 times"), "{message}");
    assert!(message.contains("record 1 is always broken"), "{message}");
    assert!(message.contains("(executor "), "{message}");
}

#[test]
fn a_silent_executor_is_timed_out_and_its_tasks_run_elsewhere() {
    let ctx = Context::new(
        conf("local-cluster[2,1,512]")
            .set(keys::NETWORK_TIMEOUT.key, "2s")
            .set(keys::EXECUTOR_HEARTBEAT_INTERVAL.key, "200ms"),
    )
    .unwrap();
    let victim = ctx.executors()[1].pid;
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        signal(victim, "-STOP");
    });
    let started = Instant::now();
    let got = ctx
        .range(0, 16, 1, 16)
        .unwrap()
        .map(Fn!(|x: i64| {
            std::thread::sleep(Duration::from_millis(100));
            x + 1
        }))
        .collect()
        .unwrap();
    stopper.join().unwrap();
    assert_eq!(got, (1..=16).collect::<Vec<_>>());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the job waited for the timeout"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(victim) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(victim), "a timed-out executor process is stopped");
}

#[test]
fn executors_end_with_their_context_and_leave_no_files() {
    let local = tempfile::tempdir().unwrap();
    let ctx = Context::new(
        conf("local-cluster[2,1,512]").set(keys::LOCAL_DIR.key, local.path().to_str().unwrap()),
    )
    .unwrap();
    let pids: Vec<u32> = ctx.executors().iter().map(|e| e.pid).collect();
    let sums = ctx
        .range(0, 1000, 1, 4)
        .unwrap()
        .map(Fn!(|x: i64| (x % 10, x)))
        .reduce_by_key(Fn!(|a: i64, b: i64| a + b))
        .count()
        .unwrap();
    assert_eq!(sums, 10);
    let scratch = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        scratch(local.path()),
        3,
        "the driver's and two executors' directories"
    );
    drop(ctx);
    assert!(pids.iter().all(|&p| !alive(p)), "{pids:?}");
    let left: Vec<_> = std::fs::read_dir(local.path()).unwrap().collect();
    assert!(left.is_empty(), "shuffle files left behind: {left:?}");
}

#[test]
fn cached_partitions_are_read_where_they_were_cached() {
    let ctx = cluster("local-cluster[2,1,512]");
    let computed = ctx.long_accumulator();
    let acc = computed.clone();
    let cached = ctx
        .range(0, 800, 1, 8)
        .unwrap()
        .map(Fn!(move |x: i64| {
            acc.add(1);
            x * 3
        }))
        .cache();
    assert_eq!(cached.count().unwrap(), 800);
    assert_eq!(computed.value(), 800);
    for _ in 0..3 {
        assert_eq!(cached.sum().unwrap(), 3.0 * 319_600.0);
    }
    assert_eq!(
        computed.value(),
        800,
        "a cached partition was computed again"
    );
    cached.unpersist();
    assert_eq!(cached.count().unwrap(), 800);
    assert_eq!(
        computed.value(),
        1600,
        "unpersisted partitions are computed again"
    );
}

#[test]
fn a_task_moved_off_its_executor_fetches_the_cached_partition_instead_of_computing_it() {
    let ctx = Context::new(
        conf("local-cluster[2,1,512]").set(keys::EXCLUDE_ON_FAILURE_ENABLED.key, "true"),
    )
    .unwrap();
    let computed = ctx.long_accumulator();
    let acc = computed.clone();
    let cached = ctx
        .range(0, 100, 1, 1)
        .unwrap()
        .map(Fn!(move |x: i64| {
            acc.add(1);
            x * 2
        }))
        .persist(StorageLevel::MEMORY_ONLY_SER);
    assert_eq!(cached.count().unwrap(), 100);
    // The first attempt runs where the partition is cached and fails; the retry must go to the
    // other executor, which reads the partition from the first one's block server.
    let got = cached
        .map_partitions_with_index(Fn!(|_p: usize, it: ember_core::BoxIter<i64>| {
            let tc = TaskContext::get().unwrap();
            if tc.attempt_number == 0 {
                panic!("first attempt on executor {}", tc.executor_id());
            }
            it.collect::<Vec<_>>()
        }))
        .collect()
        .unwrap();
    assert_eq!(got, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    assert_eq!(ctx.last_job_summary().unwrap().failed_tasks, 1);
    assert_eq!(computed.value(), 100, "the partition was computed again");
}

#[test]
fn executors_too_small_to_run_are_refused_before_they_start() {
    let err = Context::new(conf("local-cluster[2,1,100]"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("100 MiB"), "{err}");
    assert!(err.contains("local-cluster[E,C,M]"), "{err}");
}

#[test]
fn executors_budget_the_memory_local_cluster_gives_them() {
    // M of local-cluster[E,C,M], not ember.executor.memory, sizes each executor's pool:
    // (M - 300 MiB reserved) * ember.memory.fraction.
    let ctx =
        Context::new(conf("local-cluster[2,1,700]").set(keys::EXECUTOR_MEMORY.key, "4g")).unwrap();
    let pools = ctx
        .parallelize((0..4).collect::<Vec<u32>>(), 4)
        .map(Fn!(|_: u32| TaskContext::get()
            .unwrap()
            .env()
            .memory_manager
            .pool()))
        .collect()
        .unwrap();
    assert_eq!(pools, vec![((400u64 << 20) as f64 * 0.6) as u64; 4]);
}

#[test]
fn a_task_that_kills_every_executor_fails_the_job_instead_of_hanging() {
    // More attempts than executors may ever start: the job must end because none is left.
    let ctx = Context::new(conf("local-cluster[1,1,512]").set(keys::TASK_MAX_FAILURES.key, "10"))
        .unwrap();
    let err = ctx
        .range(0, 4, 1, 1)
        .unwrap()
        .map(Fn!(|x: i64| {
            if x >= 0 {
                std::process::exit(3);
            }
            x
        }))
        .collect()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no executor can run the task"), "{err}");
    assert!(err.contains("replacements allowed were all used"), "{err}");
}

/// Saves 0..64 in 8 partitions on two executors with speculation on and the event log in
/// `dir`/log; partition 7's first attempt stalls for `stall`, in its first record, or after its
/// last one when `after_last`. Returns the application (still running), the job's wall time
/// and its summary; the output is `dir`/out.
fn save_with_a_straggler(
    dir: &Path,
    after_last: bool,
    stall: Duration,
) -> (Context, Duration, ember_core::JobSummary) {
    std::fs::create_dir_all(dir.join("log")).unwrap();
    let ctx = Context::new(
        conf("local-cluster[2,1,512]")
            .set(keys::SPECULATION.key, "true")
            .set(keys::SPECULATION_INTERVAL.key, "50ms")
            .set(keys::SPECULATION_MIN_TASK_RUNTIME.key, "200ms")
            .set(keys::EVENT_LOG_ENABLED.key, "true")
            .set(keys::EVENT_LOG_DIR.key, dir.join("log").to_str().unwrap()),
    )
    .unwrap();
    let out = dir.join("out");
    let started = Instant::now();
    let stall_ms = stall.as_millis() as u64;
    ctx.parallelize((0..64u32).collect(), 8)
        .map_partitions(Fn!(move |records: ember_core::BoxIter<u32>| {
            let (after_last, stall_ms) = (after_last, stall_ms);
            let tc = TaskContext::get().unwrap();
            let straggler = tc.partition_id == 7 && tc.attempt_number == 0;
            let pause = move |ms| std::thread::sleep(Duration::from_millis(ms));
            let mut first = true;
            let records = records.inspect(move |_| {
                pause(if straggler && first && !after_last {
                    stall_ms
                } else {
                    20
                });
                first = false;
            });
            // Stalling when asked for a record after the last: the part file is complete.
            let end = std::iter::from_fn(move || {
                if straggler && after_last {
                    pause(stall_ms);
                }
                None
            });
            Box::new(records.chain(end)) as ember_core::BoxIter<u32>
        }))
        .save_as_text_file(out.to_str().unwrap())
        .unwrap();
    let summary = ctx.last_job_summary().unwrap();
    (ctx, started.elapsed(), summary)
}

/// The records of the part files under `dir`/out, sorted; fails on anything but part files
/// and `_SUCCESS` there.
fn saved_records(dir: &Path) -> Vec<u32> {
    let mut records = Vec::new();
    for entry in std::fs::read_dir(dir.join("out")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "_SUCCESS" {
            continue;
        }
        assert!(name.starts_with("part-"), "unexpected {name} in the output");
        let text = std::fs::read_to_string(&path).unwrap();
        records.extend(text.lines().map(|l| l.parse::<u32>().unwrap()));
    }
    records.sort();
    records
}

#[test]
fn a_straggler_is_overtaken_by_its_speculative_copy_on_the_other_executor() {
    // Stuck in its first record: the copy wins, and the original is killed at its next one.
    let dir = tempfile::tempdir().unwrap();
    let (_ctx, took, summary) = save_with_a_straggler(dir.path(), false, Duration::from_secs(30));
    assert!(
        took < Duration::from_secs(20),
        "the job waited for its straggler: {took:?}"
    );
    assert_eq!(summary.tasks, 9, "one speculative copy: {summary}");
    assert_eq!(saved_records(dir.path()), (0..64).collect::<Vec<u32>>());
}

#[test]
fn a_straggler_that_finishes_after_its_copy_is_refused_the_commit() {
    // Stalling after its last record, the original has written its whole part file when the
    // copy has committed; the driver refuses it the commit, so the output holds the task once.
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _, summary) = save_with_a_straggler(dir.path(), true, Duration::from_secs(3));
    assert_eq!(summary.tasks, 9, "{summary}");
    std::thread::sleep(Duration::from_secs(4));
    ctx.stop();
    assert_eq!(saved_records(dir.path()), (0..64).collect::<Vec<u32>>());
    assert!(dir.path().join("out/_SUCCESS").exists());
    let log = std::fs::read_dir(dir.path().join("log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let log = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        log.contains("was refused the commit of its output"),
        "the straggler's end in the event log says why it failed: {}",
        log.lines()
            .filter(|l| l.contains("TaskEnd"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
