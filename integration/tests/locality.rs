//! Locality on the real mini cluster: an input whose blocks each live on one of three hosts,
//! read by word count on YARN with executors asked for where the blocks are. With the default
//! locality wait nearly every scan task runs NODE_LOCAL; with no wait, as many or fewer.

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

/// Runs word count on YARN over `input` with `wait`; the share of the tasks with a preferred
/// host that ran on it, and the counts.
fn node_local_share(input: &str, wait: &str) -> (f64, Vec<(String, u64)>) {
    let out = format!("{input}-out-{}", unique(wait));
    let output = Command::new(ember_bin())
        .args(["submit", "--master", "yarn", "--deploy-mode", "client"])
        .args(["--num-executors", "3", "--executor-memory", "512m"])
        .args(["--conf", &format!("ember.locality.wait={wait}")])
        // Start scheduling at once: executors are then asked for where the first job's tasks
        // want them (otherwise they would be placed before any task exists).
        .args(["--conf", "ember.scheduler.minRegisteredResourcesRatio=0"])
        .args(["wordcount", input, &out])
        .env_remove("EMBER_LOG")
        .output()
        .expect("ember runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let counts = locality_of_first_job(&stderr);
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
