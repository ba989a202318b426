//! `ember submit --master yarn` on the mini cluster's YARN: in cluster mode the application
//! runs in containers (an ApplicationMaster running the driver, executors on NodeManagers), in
//! client mode the driver runs here and the executors there; it reports its state like
//! spark-submit, survives a killed executor, fails clearly, and can be killed.

use ember_integration::{
    cluster_dir, corpus, counts_under, ember_bin, hadoop_conf, lines_under, names_under, put,
    unique,
};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The test application binary (`rust/bin/it_app.rs`).
const IT_APP: &str = env!("CARGO_BIN_EXE_it-app");

/// Small containers, so that the three NodeManagers hold several applications' worth.
const SMALL: [&str; 8] = [
    "--num-executors",
    "2",
    "--executor-memory",
    "512m",
    "--driver-memory",
    "512m",
    "--master",
    "yarn",
];

fn submit(args: &[&str]) -> Command {
    submit_in("cluster", args)
}

fn submit_in(mode: &str, args: &[&str]) -> Command {
    let mut command = Command::new(ember_bin());
    command
        .arg("submit")
        .args(SMALL)
        .args(["--deploy-mode", mode])
        .args(args)
        // The containers' logs are read below: ember's own messages must be in them.
        .env_remove("EMBER_LOG");
    command
}

fn run(mut command: Command) -> (Output, String) {
    let output = command.output().expect("ember runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

/// The id `ember submit` printed.
fn application_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Submitted application "))
        .unwrap_or_else(|| panic!("no application id in: {stderr}"))
        .trim()
        .to_string()
}

/// `ember status <id>`: state and final status.
fn status(id: &str) -> (String, String) {
    let output = Command::new(ember_bin())
        .args(["status", id])
        .output()
        .expect("ember status runs");
    assert!(output.status.success(), "ember status {id}");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    (fields[1].to_string(), fields[2].to_string())
}

/// The log directories of the application's containers, on every NodeManager.
fn containers(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for nm in std::fs::read_dir(cluster_dir()).unwrap().flatten() {
        let app = nm.path().join("logs").join(id);
        if let Ok(entries) = std::fs::read_dir(&app) {
            found.extend(entries.flatten().map(|e| e.path()));
        }
    }
    found.sort();
    found
}

/// The ApplicationMaster's stderr (its first container's): the driver's messages are there.
fn am_stderr(id: &str) -> String {
    am_log(id, "stderr")
}

/// The ApplicationMaster's stdout: what a driver in cluster mode prints.
fn am_stdout(id: &str) -> String {
    am_log(id, "stdout")
}

fn am_log(id: &str, name: &str) -> String {
    containers(id)
        .iter()
        .find(|c| c.to_string_lossy().ends_with("_000001"))
        .and_then(|c| std::fs::read_to_string(c.join(name)).ok())
        .unwrap_or_default()
}

fn staging_of(id: &str) -> String {
    let fs = hadoop_conf().default_fs();
    format!(
        "{}/user/{}/.emberStaging/{id}",
        fs.trim_end_matches('/'),
        ember_yarn_user()
    )
}

fn ember_yarn_user() -> String {
    ["HADOOP_USER_NAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "ember".into())
}

fn hdfs(path: &str) -> String {
    format!("{}{path}", hadoop_conf().default_fs().trim_end_matches('/'))
}

/// Word count in `mode` from HDFS to HDFS: what `ember submit` printed and said, after checking
/// it succeeded with the right counts.
fn wordcount_on_yarn(mode: &str) -> (Output, String) {
    let (text, want) = corpus();
    let base = hdfs(&format!("/ember-it/{}", unique(&format!("yarn-{mode}"))));
    put(&format!("{base}/in/a.txt"), text);
    let out = format!("{base}/out");
    let (output, stderr) = run(submit_in(mode, &["wordcount", &format!("{base}/in"), &out]));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(counts_under(&out), want);
    (output, stderr)
}

#[test]
fn wordcount_runs_in_cluster_mode_from_hdfs_to_hdfs() {
    let (_, stderr) = wordcount_on_yarn("cluster");
    // Reported like spark-submit, through to the end (states between two reports pass
    // unseen, so only those that last are certain to show).
    for state in [
        "(state: RUNNING)",
        "(state: FINISHED)",
        "final status: SUCCEEDED",
    ] {
        assert!(stderr.contains(state), "{state}: {stderr}");
    }
    let id = application_id(&stderr);
    assert_eq!(status(&id), ("FINISHED".into(), "SUCCEEDED".into()));
    // The driver ran in the ApplicationMaster's container, the executors in two others.
    let containers = containers(&id);
    assert!(containers.len() >= 3, "{containers:?}");
    let driver = am_stderr(&id);
    for executor in ["registered executor 1", "registered executor 2"] {
        assert!(driver.contains(executor), "{executor}: {driver}");
    }
    // Each job's summary counts its tasks by locality level.
    assert!(driver.contains("locality: PROCESS_LOCAL="), "{driver}");
    assert!(names_under(&staging_of(&id)).is_empty(), "staging removed");
}

#[test]
fn wordcount_runs_in_client_mode_with_executors_in_containers() {
    let (output, stderr) = wordcount_on_yarn("client");
    // The driver ran here: its summary is on this process's output.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("wordcount:"), "{stdout}");
    let id = application_id(&stderr);
    assert_eq!(status(&id), ("FINISHED".into(), "SUCCEEDED".into()));
    // The ApplicationMaster and two executors, each in its container.
    assert!(containers(&id).len() >= 3, "{:?}", containers(&id));
    for executor in ["registered executor 1", "registered executor 2"] {
        assert!(stderr.contains(executor), "{executor}: {stderr}");
    }
    assert!(names_under(&staging_of(&id)).is_empty(), "staging removed");
}

#[test]
fn files_reach_every_executors_working_directory() {
    let local = tempfile::tempdir().unwrap();
    let greeting = local.path().join("greeting.txt");
    std::fs::write(&greeting, "hello from --files\n").unwrap();
    let out = hdfs(&format!("/ember-it/{}", unique("yarn-files")));
    let (output, stderr) = run(submit(&[
        "--files",
        greeting.to_str().unwrap(),
        IT_APP,
        "files",
        "greeting.txt",
        &out,
    ]));
    assert!(output.status.success(), "{stderr}");
    let lines = lines_under(&out);
    assert_eq!(lines, ["hello from --files", "hello from --files"]);
}

#[test]
fn a_job_that_fails_fails_the_application_with_its_reason() {
    let (output, stderr) = run(submit(&[
        "--conf",
        "ember.yarn.maxAppAttempts=1",
        IT_APP,
        "panic",
    ]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The driver's own words reach the user through YARN's diagnostics.
    assert!(stderr.contains("bad record"), "{stderr}");
    assert!(stderr.contains("final status: FAILED"), "{stderr}");
    let id = application_id(&stderr);
    assert_eq!(status(&id), ("FINISHED".into(), "FAILED".into()));
}

/// The pid of a process of application `id` whose environment holds `marker`.
fn process_of(id: &str, marker: &str) -> Option<u32> {
    let container = id.replacen("application_", "container_", 1);
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|p| {
        let pid: u32 = p.file_name().to_str()?.parse().ok()?;
        let environ = std::fs::read(p.path().join("environ")).ok()?;
        let environ = String::from_utf8_lossy(&environ);
        (environ.contains(&container) && environ.contains(marker)).then_some(pid)
    })
}

/// A submission running in the background, followed until it is RUNNING.
struct Running {
    child: std::process::Child,
    id: String,
    /// The rest of what `ember submit` says, collected until it ends.
    rest: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        let mut id = None;
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(found) = line.strip_prefix("Submitted application ") {
                id = Some(found.trim().to_string());
            }
            if line.contains("(state: RUNNING)") {
                break;
            }
        }
        // Keep reading: a closed pipe would fail its next message.
        let rest =
            std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
        Running {
            child,
            id: id.expect("an application id"),
            rest,
        }
    }

    /// Waits for `ember submit` to end: whether it succeeded, and what it said.
    fn wait(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        (status.success(), self.rest.join().unwrap())
    }
}

#[test]
fn a_killed_executor_is_replaced_and_the_job_succeeds() {
    let out = hdfs(&format!("/ember-it/{}", unique("yarn-killed")));
    let running = Running::start(submit(&[IT_APP, "slow", &out, "8", "3"]));
    // Wait for executor 1 to run a task, then kill its process as the kernel would.
    let deadline = Instant::now() + Duration::from_secs(120);
    let victim = loop {
        if let Some(pid) = process_of(&running.id, "EMBER_EXECUTOR_ID=1\0") {
            break pid;
        }
        assert!(Instant::now() < deadline, "executor 1 never started");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let id = running.id.clone();
    let (succeeded, said) = running.wait();
    assert!(succeeded, "{said}");
    let mut numbers: Vec<i64> = lines_under(&out)
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (0..8).collect::<Vec<_>>());
    let driver = am_stderr(&id);
    assert!(driver.contains("executor 1 failed"), "{driver}");
    assert!(driver.contains("starting executor 3"), "{driver}");
}

#[test]
fn ember_kill_stops_a_running_application() {
    let out = hdfs(&format!("/ember-it/{}", unique("yarn-kill")));
    let running = Running::start(submit(&[IT_APP, "slow", &out, "4", "60"]));
    let id = running.id.clone();
    ember_kill(running);
    assert!(names_under(&staging_of(&id)).is_empty(), "staging removed");
    assert!(names_under(&out).is_empty(), "no output");
}

/// `ember kill`s the application `running` follows, and checks that its client and YARN say
/// it was killed.
fn ember_kill(running: Running) {
    let id = running.id.clone();
    let killed = Command::new(ember_bin())
        .args(["kill", &id])
        .output()
        .unwrap();
    assert!(killed.status.success(), "{killed:?}");
    let (succeeded, said) = running.wait();
    assert!(!succeeded, "{said}");
    assert!(said.contains("KILLED"), "{said}");
    assert_eq!(status(&id).0, "KILLED");
}

/// Sends SIGINT, as Ctrl-C in a terminal does, to `ember submit`.
fn interrupt(running: &Running) {
    let sent = Command::new("kill")
        .args(["-INT", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Polls the application's state until it is `want` (or a minute passed); the last state.
fn state_becomes(id: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (state, _) = status(id);
        if state == want || Instant::now() > deadline {
            return state;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn ctrl_c_in_cluster_mode_leaves_the_application_running() {
    let out = hdfs(&format!("/ember-it/{}", unique("yarn-ctrl-c-cluster")));
    let running = Running::start(submit(&[IT_APP, "slow", &out, "4", "60"]));
    let id = running.id.clone();
    interrupt(&running);
    let (succeeded, said) = running.wait();
    assert!(!succeeded, "{said}");
    assert!(said.contains(&format!("{id} keeps running")), "{said}");
    assert!(said.contains(&format!("ember kill {id}")), "{said}");
    assert_eq!(status(&id).0, "RUNNING");
    assert!(
        !names_under(&staging_of(&id)).is_empty(),
        "staging kept for the running application"
    );
    let killed = Command::new(ember_bin())
        .args(["kill", &id])
        .output()
        .unwrap();
    assert!(killed.status.success(), "{killed:?}");
}

#[test]
fn ctrl_c_in_client_mode_stops_the_driver_and_the_application() {
    let out = hdfs(&format!("/ember-it/{}", unique("yarn-ctrl-c-client")));
    let running = Running::start(submit_in("client", &[IT_APP, "slow", &out, "4", "60"]));
    let id = running.id.clone();
    let started = Instant::now();
    interrupt(&running);
    let (succeeded, said) = running.wait();
    assert!(!succeeded, "{said}");
    assert!(said.contains("interrupted"), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the client stopped without waiting for the job"
    );
    assert_eq!(state_becomes(&id, "KILLED"), "KILLED");
    assert!(
        process_of_driver(&out).is_none(),
        "the driver process is gone"
    );
    assert!(names_under(&staging_of(&id)).is_empty(), "staging removed");
}

/// A running client-mode driver writing to `out`: its pid.
fn process_of_driver(out: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|p| {
        let pid: u32 = p.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
        let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
        let alive = !stat.contains(") Z ");
        (alive && String::from_utf8_lossy(&cmdline).contains(out)).then_some(pid)
    })
}

#[test]
fn containers_larger_than_the_cluster_grants_are_refused_before_submission() {
    let mut command = Command::new(ember_bin());
    command.args([
        "submit",
        "--master",
        "yarn",
        "--deploy-mode",
        "cluster",
        // The scheduler would grant 8 GiB, but no NodeManager has more than 4.
        "--executor-memory",
        "6g",
        "wordcount",
        "/in",
        "/out",
    ]);
    let (output, stderr) = run(command);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("more than the 4096 MiB"), "{stderr}");
    assert!(
        stderr.contains("yarn.scheduler.maximum-allocation-mb"),
        "{stderr}"
    );
    assert!(!stderr.contains("Submitted application"), "{stderr}");
}

/// Runs `hdfs_wordcount` over a new HDFS directory in `mode` for 15 one-second batches,
/// moving three files of six words in once the stream has started (`started` says when, from
/// the application's id and its client's output); returns the client's output and stderr.
fn stream_on_yarn(mode: &str, started: impl Fn(&str, &str) -> bool) -> (Output, String) {
    let dir = hdfs(&format!(
        "/ember-it/{}/in",
        unique(&format!("yarn-stream-{mode}"))
    ));
    put(&format!("{dir}/_started"), "");
    let mut command = submit_in(mode, &["hdfs_wordcount", &dir, "1", "15"]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember submit starts");
    let stderr = child.stderr.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let mut seen = sink.lock().unwrap();
            seen.push_str(&line);
            seen.push('\n');
        }
    });
    // Files older than the stream are not new to it: write them once it has started.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let so_far = seen.lock().unwrap().clone();
        let id = so_far
            .lines()
            .find_map(|l| l.strip_prefix("Submitted application "))
            .unwrap_or("")
            .trim()
            .to_string();
        if started(&id, &so_far) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stream did not start: {so_far}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(1500));
        put(&format!("{dir}/f{i}.txt"), "to be or\nnot to be\n");
    }
    let output = child.wait_with_output().expect("ember submit ends");
    reader.join().unwrap();
    let stderr = seen.lock().unwrap().clone();
    assert!(output.status.success(), "{stderr}");
    (output, stderr)
}

#[test]
fn a_stream_in_client_mode_counts_the_files_moved_into_hdfs() {
    let (output, stderr) = stream_on_yarn("client", |_, log| log.contains("streaming started"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("hdfs_wordcount: 18 words in"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("1 new files in"), "{stderr}");
}

#[test]
fn a_stream_in_cluster_mode_counts_the_files_moved_into_hdfs() {
    let (_, stderr) = stream_on_yarn("cluster", |id, _| {
        !id.is_empty() && am_stderr(id).contains("streaming started")
    });
    let id = application_id(&stderr);
    assert_eq!(status(&id), ("FINISHED".into(), "SUCCEEDED".into()));
    let driver_out = am_stdout(&id);
    assert!(
        driver_out.contains("hdfs_wordcount: 18 words in"),
        "{driver_out}"
    );
}

#[test]
fn a_socket_stream_in_client_mode_counts_what_a_server_sends_to_its_receiver_container() {
    // The receiver runs in an executor container of this machine's NodeManagers, which
    // reaches the server on loopback; the server sends once it has connected.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        for _ in 0..3 {
            std::io::Write::write_all(&mut socket, b"to be or\nnot to be\n").unwrap();
            std::thread::sleep(Duration::from_millis(1500));
        }
        // Held open until the application ends: a closed one would be connected again.
        std::thread::sleep(Duration::from_secs(30));
    });
    let output = submit_in(
        "client",
        &["network_wordcount", "127.0.0.1", &port, "1", "25"],
    )
    .output()
    .expect("ember submit runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("network_wordcount: 18 words in"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("records received"), "{stderr}");
    drop(server);
}

/// The word totals `stream-totals` saved for each batch, by batch time.
fn batch_totals(out: &str) -> std::collections::BTreeMap<i64, String> {
    names_under(out)
        .iter()
        .filter_map(|name| {
            let time = name.strip_prefix("batch-")?.parse().ok()?;
            let text = ember_integration::get(&format!("{out}/{name}"));
            Some((time, String::from_utf8(text).unwrap()))
        })
        .collect()
}

/// Waits until the latest batch's totals are `want`.
fn wait_for_totals(out: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let totals = batch_totals(out);
        if totals.values().next_back().map(String::as_str) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited for {want:?}, the latest is {:?}",
            totals.values().next_back()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn kill_9(pid: u32) {
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[test]
fn a_stream_in_cluster_mode_survives_a_killed_executor_and_a_killed_application_master() {
    let base = hdfs(&format!("/ember-it/{}", unique("yarn-stream-attempts")));
    let (input, out, checkpoint) = (
        format!("{base}/in"),
        format!("{base}/out"),
        format!("{base}/checkpoint"),
    );
    put(&format!("{input}/_started"), "");
    let mut command = submit(&[
        "--conf",
        "ember.yarn.maxAppAttempts=2",
        IT_APP,
        "stream-totals",
        &input,
        &out,
        &checkpoint,
        "25",
    ]);
    command.env("EMBER_LOG", "warn,ember_core=info,ember_streaming=info");
    let running = Running::start(command);
    let id = running.id.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !am_stderr(&id).contains("streaming started") {
        assert!(Instant::now() < deadline, "{}", am_stderr(&id));
        std::thread::sleep(Duration::from_millis(300));
    }
    let file = "to be or\nnot to be\n";
    put(&format!("{input}/f0.txt"), file);
    wait_for_totals(&out, "be 2\nnot 1\nor 1\nto 2\n");
    // An executor goes: its tasks run again on the one YARN starts in its place.
    kill_9(process_of(&id, "EMBER_EXECUTOR_ID=1\0").expect("executor 1 runs"));
    put(&format!("{input}/f1.txt"), file);
    wait_for_totals(&out, "be 4\nnot 2\nor 2\nto 4\n");
    // The driver goes with its ApplicationMaster: the second attempt recovers the stream
    // from the checkpoint, with the file moved in while no driver ran.
    let am = format!(
        "{}_01_000001\0",
        id.replacen("application_", "container_", 1)
    );
    kill_9(process_of(&id, &am).expect("the first ApplicationMaster runs"));
    put(&format!("{input}/f2.txt"), file);
    let (succeeded, said) = running.wait();
    assert!(succeeded, "{said}");
    assert_eq!(status(&id), ("FINISHED".into(), "SUCCEEDED".into()));
    let totals = batch_totals(&out);
    let last = totals.values().next_back().unwrap();
    assert_eq!(last, "be 6\nnot 3\nor 3\nto 6\n", "{totals:?}");
    // No batch was lost: the batches due while no driver ran ran after the recovery.
    let times: Vec<i64> = totals.keys().copied().collect();
    let gaps: Vec<_> = times.windows(2).filter(|w| w[1] - w[0] != 1000).collect();
    assert!(gaps.is_empty(), "batches missing after {gaps:?}");
    let second = containers(&id)
        .iter()
        .find(|c| c.to_string_lossy().ends_with("_02_000001"))
        .map(|c| std::fs::read_to_string(c.join("stderr")).unwrap_or_default())
        .expect("a second ApplicationMaster attempt");
    assert!(
        second.contains("recovering the streams from the checkpoint"),
        "{second}"
    );
}

#[test]
fn a_socket_stream_in_cluster_mode_runs_until_ember_kill_stops_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        std::io::Write::write_all(&mut socket, b"to be or\nnot to be\n").unwrap();
        // Held open until the application is killed.
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut socket, &mut rest);
    });
    // No run-seconds: the stream runs until it is stopped.
    let running = Running::start(submit(&["network_wordcount", "127.0.0.1", &port, "1"]));
    let id = running.id.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !am_stdout(&id).contains("(\"to\", 2)") {
        assert!(
            Instant::now() < deadline,
            "no counts printed: {}\n{}",
            am_stdout(&id),
            am_stderr(&id)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(am_stdout(&id).contains("(\"be\", 2)"), "{}", am_stdout(&id));
    ember_kill(running);
    server.join().unwrap();
}
