//! Locality on the real mini cluster: an input whose blocks each live on one of three hosts,
//! read by word count on YARN with default settings: the ApplicationMaster asks for executors
//! where the first job's tasks want them. With the default locality wait nearly every scan
//! task that can (its block's host has an executor by then: YARN may place two on one node,
//! and starts them seconds apart) runs NODE_LOCAL; with no wait, as many or fewer. The event log, named by YARN's application id,
//! counts the same levels as the summary.

use ember_integration::{ember_bin, hadoop_block_hosts, hadoop_conf, hadoop_fs, unique};
use std::collections::HashMap;
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

/// The `SparkListenerTaskEnd` events of job 0 in the event log in `dir`, the one log there,
/// of a YARN application.
fn job0_task_ends(dir: &std::path::Path) -> Vec<serde_json::Value> {
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
    let stages = job0["Stage IDs"].as_array().unwrap().clone();
    events
        .into_iter()
        .filter(|e| e["Event"] == "SparkListenerTaskEnd" && stages.contains(&e["Stage ID"]))
        .collect()
}

/// How many of `ends` ran at each level.
fn locality_counts(ends: &[serde_json::Value]) -> Vec<(String, u64)> {
    [
        "PROCESS_LOCAL",
        "NODE_LOCAL",
        "NO_PREF",
        "RACK_LOCAL",
        "ANY",
    ]
    .iter()
    .map(|level| {
        let n = ends
            .iter()
            .filter(|e| e["Task Info"]["Locality"] == *level)
            .count();
        (level.to_string(), n as u64)
    })
    .collect()
}

/// When each host's executors began work: the launch of the first task there. A task that
/// ran elsewhere before then had no executor on its block's host to wait for: YARN starts
/// executors seconds apart, and once the locality wait has passed with nothing launched
/// NODE_LOCAL the scheduler rightly lets the early executors take the late one's tasks.
fn executor_arrivals(ends: &[serde_json::Value]) -> HashMap<&str, u64> {
    let mut arrivals = HashMap::new();
    for e in ends {
        let info = &e["Task Info"];
        let (Some(host), Some(launched)) = (info["Host"].as_str(), info["Launch Time"].as_u64())
        else {
            continue;
        };
        let first = arrivals.entry(host).or_insert(launched);
        *first = (*first).min(launched);
    }
    arrivals
}

/// What one run of word count shows about delay scheduling.
struct Run {
    counts: Vec<(String, u64)>,
    /// Scan tasks whose block's host had an executor at work when they launched: only these
    /// can run NODE_LOCAL, and YARN may not give every host one (it relaxes an ask for a busy
    /// node to its rack) or give them all at once.
    placeable: usize,
    node_local: usize,
}

impl Run {
    fn node_local_share(&self) -> f64 {
        self.node_local as f64 / self.placeable as f64
    }
}

/// Runs word count on YARN over `input`, whose blocks are `blocks`, with `wait`.
fn run_word_count(input: &str, blocks: &[Vec<String>], wait: &str) -> Run {
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
    let ends = job0_task_ends(event_logs.path());
    let counts = locality_of_first_job(&stderr);
    assert_eq!(locality_counts(&ends), counts);
    let arrivals = executor_arrivals(&ends);
    let scan_stage = ends.iter().map(|e| e["Stage ID"].as_u64().unwrap()).min();
    let scans: Vec<_> = ends
        .iter()
        .filter(|e| e["Stage ID"].as_u64() == scan_stage)
        .collect();
    // Each split is one block, so scan task i reads block i.
    assert_eq!(scans.len(), blocks.len(), "{counts:?}");
    let placeable: Vec<_> = scans
        .iter()
        .filter(|e| {
            let index = e["Task Info"]["Index"].as_u64().unwrap() as usize;
            let launched = e["Task Info"]["Launch Time"].as_u64().unwrap();
            blocks[index]
                .iter()
                .any(|h| arrivals.get(h.as_str()).is_some_and(|&t| t <= launched))
        })
        .collect();
    let node_local = placeable
        .iter()
        .filter(|e| e["Task Info"]["Locality"] == "NODE_LOCAL")
        .count();
    assert!(placeable.len() >= 10, "{arrivals:?}: {counts:?}");
    Run {
        counts,
        placeable: placeable.len(),
        node_local,
    }
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
    let url = format!(
        "{}{input}",
        hadoop_conf().default_fs().trim_end_matches('/')
    );
    let blocks: Vec<Vec<String>> = hadoop_block_hosts(&url)
        .into_iter()
        .map(|(_, _, hosts)| hosts)
        .collect();
    let patient = run_word_count(&input, &blocks, "3s");
    let eager = run_word_count(&input, &blocks, "0s");
    println!(
        "wait 3s: {:?}, {} of {} placeable NODE_LOCAL; wait 0s: {:?}, {} of {}",
        patient.counts,
        patient.node_local,
        patient.placeable,
        eager.counts,
        eager.node_local,
        eager.placeable
    );
    assert!(
        patient.node_local_share() >= 0.9,
        "wait 3s: {:?}",
        patient.counts
    );
    assert!(
        eager.node_local_share() <= patient.node_local_share(),
        "wait 0: {:?}; wait 3s: {:?}",
        eager.counts,
        patient.counts
    );
}
