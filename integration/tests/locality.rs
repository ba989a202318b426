//! Locality on the real mini cluster: an input whose blocks each live on one of three hosts,
//! read by word count on YARN with default settings: the ApplicationMaster asks for executors
//! where the first job's tasks want them. With the default locality wait nearly every scan
//! task runs NODE_LOCAL; with no wait, as many or fewer. The event log, named by YARN's
//! application id, counts the same levels as the summary.

use ember_integration::{ember_bin, hadoop_fs, unique};
use std::process::Command;

/// The counts of the `locality:` line of job 0's summary.
fn locality_of_first_job(stderr: &str) -> Vec<(String, u64)> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("locality: "))
        .unwrap_or_else(|| panic!("no locality line in: {stderr}"));
    line["locality: ".len()..]
        .split(' ')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The levels of job 0's tasks in the event log in `dir`, the one log there, of a YARN
/// application.
fn locality_in_event_log(dir: &std::path::Path) -> Vec<(String, u64)> {
    let logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].starts_with("application_"), "{logs:?}");
    let text = std::fs::read_to_string(dir.join(&logs[0])).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let job0 = events
        .iter()
        .find(|e| e["Event"] == "SparkListenerJobStart" && e["Job ID"] == 0)
        .expect("job 0 started");
    let stages = job0["Stage IDs"].as_array().unwrap();
    let mut counts: Vec<(String, u64)> = [
        "PROCESS_LOCAL",
        "NODE_LOCAL",
        "NO_PREF",
        "RACK_LOCAL",
        "ANY",
    ]
    .iter()
    .map(|l| (l.to_string(), 0))
    .collect();
    for end in events
        .iter()
        .filter(|e| e["Event"] == "SparkListenerTaskEnd" && stages.contains(&e["Stage ID"]))
    {
        let level = end["Task Info"]["Locality"].as_str().unwrap();
        let slot = counts.iter_mut().find(|(l, _)| l == level).unwrap();
        slot.1 += 1;
    }
    counts
}

/// Runs word count on YARN over `input` with `wait`; the share of the tasks with a preferred
/// host that ran on it, and the counts.
fn node_local_share(input: &str, wait: &str) -> (f64, Vec<(String, u64)>) {
    let out = format!("{input}-out-{}", unique(wait));
    let event_logs = tempfile::tempdir().unwrap();
    let output = Command::new(ember_bin())
        .args(["submit", "--master", "yarn", "--deploy-mode", "client"])
        .args(["--num-executors", "3", "--executor-memory", "512m"])
        .args(["--conf", &format!("ember.locality.wait={wait}")])
        .args(["--conf", "ember.eventLog.enabled=true"])
        .args([
            "--conf",
            &format!("ember.eventLog.dir={}", event_logs.path().display()),
        ])
        .args(["wordcount", input, &out])
        .env_remove("EMBER_LOG")
        .output()
        .expect("ember runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let counts = locality_of_first_job(&stderr);
    assert_eq!(locality_in_event_log(event_logs.path()), counts);
    let at = |level: &str| {
        counts
            .iter()
            .find(|(k, _)| k == level)
            .map_or(0, |(_, v)| *v)
    };
    let with_preference = at("NODE_LOCAL") + at("RACK_LOCAL") + at("ANY");
    assert!(with_preference >= 10, "{counts:?}");
    (at("NODE_LOCAL") as f64 / with_preference as f64, counts)
}

#[test]
fn scan_tasks_run_where_their_blocks_are() {
    // About 23 MB in 1 MiB blocks, one replica each, spread over the three DataNodes.
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("words.txt");
    let text: String = (0..2_600_000u64)
        .map(|i| format!("w{} x{}\n", (i * 7919) % 1001, i % 97))
        .collect();
    std::fs::write(&file, text).unwrap();
    let dir = format!("/ember-it/{}", unique("locality"));
    let input = format!("{dir}/words.txt");
    assert!(hadoop_fs(&["-mkdir", "-p", &dir]));
    assert!(hadoop_fs(&[
        "-D",
        "dfs.replication=1",
        "-put",
        file.to_str().unwrap(),
        &input
    ]));
    let (patient, patient_counts) = node_local_share(&input, "3s");
    let (eager, eager_counts) = node_local_share(&input, "0s");
    println!("wait 3s: {patient_counts:?}; wait 0s: {eager_counts:?}");
    assert!(patient >= 0.9, "wait 3s: {patient_counts:?}");
    assert!(
        eager <= patient,
        "wait 0: {eager_counts:?}; wait 3s: {patient_counts:?}"
    );
}
