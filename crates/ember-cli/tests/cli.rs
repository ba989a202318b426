//! The `ember` command as a user runs it: exit codes, messages, and word count's output checked
//! against a plain Rust count.

use ember::conf::keys;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

fn ember(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .env("EMBER_LOG", "warn")
        .output()
        .expect("the ember binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_counts(dir: &Path) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("part-") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let (word, n) = line.split_once('\t').expect("word<TAB>count");
            assert!(
                counts
                    .insert(word.to_string(), n.parse().unwrap())
                    .is_none(),
                "{word} twice"
            );
        }
    }
    counts
}

#[test]
fn wordcount_counts_like_a_plain_rust_program() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let mut expected: HashMap<String, u64> = HashMap::new();
    for f in 0..3 {
        let text: String = (0..3000)
            .map(|i| format!("w{} x{}\tw{}  end\r\n", (i * 7 + f) % 101, i % 13, i % 5))
            .collect();
        for word in text.split_ascii_whitespace() {
            *expected.entry(word.to_string()).or_default() += 1;
        }
        std::fs::write(input.join(format!("f{f}.txt")), text).unwrap();
    }
    let out = dir.path().join("out");
    let run = ember(&[
        "submit",
        "--master",
        "local[2]",
        "wordcount",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let summary = String::from_utf8_lossy(&run.stdout);
    let total: u64 = expected.values().sum();
    assert!(
        summary.starts_with(&format!(
            "wordcount: {} distinct words, {total} words in ",
            expected.len()
        )),
        "{summary}"
    );
    assert!(out.join("_SUCCESS").is_file());
    assert_eq!(read_counts(&out), expected);
}

#[test]
fn bad_arguments_get_usage_and_exit_code_2() {
    let run = ember(&[
        "submit",
        "--master",
        "local[2]",
        "wordcount",
        "only-one-arg",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("usage: ember submit"),
        "{}",
        stderr(&run)
    );

    let run = ember(&["submit", "--conf", "no-equals-sign", "pi"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("--conf expects key=value"),
        "{}",
        stderr(&run)
    );

    let run = ember(&["submit", "--master", "local[zero]", "pi"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("invalid master URL 'local[zero]'"),
        "{}",
        stderr(&run)
    );

    let run = ember(&["submit", "no-such-app"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("ember examples"), "{}", stderr(&run));
}

#[test]
fn a_missing_input_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing = dir.path().join("missing.txt");
    let run = ember(&[
        "submit",
        "wordcount",
        missing.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("input path does not exist"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists());
}

#[test]
fn an_existing_output_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a b a\n").unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "precious").unwrap();
    let run = ember(&[
        "submit",
        "wordcount",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("already exists"), "{}", stderr(&run));
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "precious"
    );
}

#[test]
fn conf_settings_reach_the_application() {
    let setting = format!("{}=zero", keys::TASK_MAX_FAILURES.key);
    let run = ember(&["submit", "--conf", &setting, "pi"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains(keys::TASK_MAX_FAILURES.key),
        "{}",
        stderr(&run)
    );
    let run = ember(&["submit", "--master", "local[2]", "pi", "3"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let line = String::from_utf8_lossy(&run.stdout);
    let pi: f64 = line
        .trim()
        .strip_prefix("Pi is roughly ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((pi - std::f64::consts::PI).abs() < 0.05, "{pi}");
}

#[test]
fn examples_are_listed() {
    let run = ember(&["examples"]);
    assert!(run.status.success());
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("wordcount <input> <output-dir>"), "{text}");
    assert!(text.contains("pi [slices]"), "{text}");
}

#[test]
fn wordcount_on_local_cluster_matches_local() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let text: String = (0..5000)
        .map(|i| format!("w{} x{} w{}\n", i % 97, i % 13, i % 7))
        .collect();
    std::fs::write(&input, text).unwrap();
    let mut counts = Vec::new();
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let out = dir.path().join(master.replace(['[', ']', ','], "_"));
        let run = ember(&[
            "submit",
            "--master",
            master,
            "wordcount",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{master}: {}", stderr(&run));
        assert!(out.join("_SUCCESS").exists());
        counts.push(read_counts(&out));
    }
    assert_eq!(counts[0].len(), 97 + 13 + 7 - 7, "w0..w6 are shared");
    assert_eq!(counts[0], counts[1]);
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn a_driver_killed_leaves_no_executor_behind() {
    use std::io::BufRead;
    let mut driver = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args([
            "submit",
            "--master",
            "local-cluster[2,1,512]",
            "pi",
            "100000",
        ])
        .env("EMBER_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    let log = std::io::BufReader::new(driver.stderr.take().unwrap());
    for line in log.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("(pid ").nth(1) {
            pids.push(rest.split(',').next().unwrap().parse::<u32>().unwrap());
        }
        if pids.len() == 2 {
            break;
        }
    }
    assert_eq!(pids.len(), 2, "both executors registered");
    assert!(pids.iter().all(|&p| alive(p)));
    driver.kill().unwrap();
    driver.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        pids.iter().all(|&p| !alive(p)),
        "executors {pids:?} outlived the driver"
    );
}

#[test]
fn an_executor_of_another_build_is_refused() {
    // This test binary is a driver; the ember binary is another build of ember.
    let conf = ember::EmberConf::empty()
        .set_master("local-cluster[1,1,512]")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false");
    let ctx = ember::Context::new(conf).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ember"));
    ember::ExecutorArgs {
        driver_address: ctx.driver_address().unwrap(),
        executor_id: "stranger".into(),
        host: "127.0.0.1".into(),
        cores: 1,
    }
    .apply(&mut command);
    let out = command.output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("executor stranger runs a different build"),
        "{message}"
    );
    assert!(message.contains("driver's own binary"), "{message}");
    assert_eq!(ctx.executors().len(), 1);
    assert_eq!(ctx.range(0, 100, 1, 4).unwrap().count().unwrap(), 100);
}

#[test]
fn ember_sql_without_the_sql_binary_says_how_to_build_it() {
    // A copy of `ember` alone in a directory, as a user has it who built only the first command.
    for (profile, build) in [
        (
            "release",
            "cargo build --release -p ember-cli --features sql",
        ),
        ("debug", "cargo build -p ember-cli --features sql"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let alone = dir.path().join(profile).join("ember");
        std::fs::create_dir(alone.parent().unwrap()).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_ember"), &alone).unwrap();
        let out = Command::new(&alone)
            .args(["sql", "-e", "SELECT 1"])
            .output()
            .expect("the copied ember runs");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains("needs the SQL engine, the ember-sql binary"),
            "{said}"
        );
        assert!(said.contains(&format!("\n    {build}\n")), "{said}");
    }
}

/// What `ember submit --master local[1]` with `settings` (each a `--conf`) writes to stderr,
/// running `app`; it must succeed, since an unknown key is no error.
fn submit_locally(settings: &[&str], app: &[&str]) -> String {
    let mut args = vec!["submit", "--master", "local[1]"];
    for setting in settings {
        args.extend(["--conf", setting]);
    }
    args.extend(app);
    let run = ember(&args);
    let err = stderr(&run);
    assert!(run.status.success(), "an unknown key is no error: {err}");
    err
}

#[test]
fn a_misspelled_conf_key_is_ignored_with_one_warning_naming_the_key_meant() {
    let err = submit_locally(
        &[
            "ember.executor.memroy=2g",
            // A key of the SQL engine, which this binary may not link, and a Hadoop setting.
            "ember.sql.distributed=true",
            "ember.hadoop.dfs.replication=1",
        ],
        &["pi", "2"],
    );
    let warning =
        "unknown configuration key ember.executor.memroy; did you mean ember.executor.memory?";
    // Once: `ember submit` warns, and the Context the example starts in this process does not
    // warn again.
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    assert_eq!(err.matches("unknown configuration key").count(), 1, "{err}");
}

#[test]
fn an_application_that_ember_submit_warned_for_does_not_warn_again() {
    // The application is the ember binary itself, running the pi example: it gets the setting
    // through EMBER_SUBMIT_CONF, as any application binary would, and would warn as its
    // Context starts.
    let err = submit_locally(
        &["ember.task.maxFailurs=2"],
        &[env!("CARGO_BIN_EXE_ember"), "submit", "pi", "2"],
    );
    let warning =
        "unknown configuration key ember.task.maxFailurs; did you mean ember.task.maxFailures?";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
}
