//! The event log (`ember.eventLog.enabled`): one JSON line per scheduler event, in the shape of
//! Spark's, agreeing with the job summaries; refused clearly when its directory is missing.

use ember_core::conf::keys;
use ember_core::scheduler::locality::TaskLocality;
use ember_core::{Context, EmberConf, Fn};
use serde_json::Value;
use std::path::Path;

fn conf(master: &str, dir: &Path) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
        .set(keys::EVENT_LOG_ENABLED.key, "true")
        .set(keys::EVENT_LOG_DIR.key, dir.to_str().unwrap())
}

/// Runs a two-stage job and a job that fails, stops the Context; its log's events.
fn run_and_read(master: &str) -> (Vec<Value>, Vec<ember_core::JobSummary>) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new(conf(master, dir.path()).set(keys::TASK_MAX_FAILURES.key, "2")).unwrap();
    let app_id = ctx.application_id().to_string();
    let inprogress = dir.path().join(format!("{app_id}.inprogress"));
    assert!(inprogress.exists(), "written while the application runs");
    let sums = ctx
        .parallelize((0..1000).collect::<Vec<i64>>(), 4)
        .map(Fn!(|x: i64| (x % 7, x)))
        .reduce_by_key(Fn!(|a: i64, b: i64| a + b))
        .collect()
        .unwrap();
    assert_eq!(sums.len(), 7);
    let failed = ctx
        .parallelize(vec![1, 2, 3], 3)
        .map(Fn!(|x: i32| {
            assert!(x != 2, "bad record {x}");
            x
        }))
        .collect();
    assert!(failed.is_err());
    let summaries = ctx.job_summaries();
    drop(ctx);
    assert!(!inprogress.exists(), "renamed when the application ends");
    let text = std::fs::read_to_string(dir.path().join(&app_id)).unwrap();
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, summaries)
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["Event"] == name).collect()
}

/// How many of `task_ends` ran at each level, in the order of [`TaskLocality::ALL`].
fn locality_of(task_ends: &[&Value]) -> [u64; 5] {
    let mut counts = [0; 5];
    for end in task_ends {
        let level = end["Task Info"]["Locality"].as_str().unwrap();
        let at = TaskLocality::ALL
            .iter()
            .position(|l| l.to_string() == level)
            .unwrap_or_else(|| panic!("unknown level {level}"));
        counts[at] += 1;
    }
    counts
}

/// Checks the log of [`run_and_read`] against the summaries; its events.
fn check(master: &str) -> Vec<Value> {
    let (events, summaries) = run_and_read(master);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["Event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "SparkListenerLogStart");
    assert_eq!(kinds[1], "SparkListenerApplicationStart");
    assert_eq!(*kinds.last().unwrap(), "SparkListenerApplicationEnd");

    let job_ends = named(&events, "SparkListenerJobEnd");
    assert_eq!(job_ends.len(), 2);
    assert_eq!(job_ends[0]["Job Result"]["Result"], "JobSucceeded");
    assert_eq!(job_ends[1]["Job Result"]["Result"], "JobFailed");
    let why = job_ends[1]["Job Result"]["Exception"]["Message"]
        .as_str()
        .unwrap();
    assert!(why.contains("bad record 2"), "{why}");
    let job_starts = named(&events, "SparkListenerJobStart");
    assert_eq!(job_starts[0]["Stage IDs"].as_array().unwrap().len(), 2);

    let starts = named(&events, "SparkListenerTaskStart");
    let ends = named(&events, "SparkListenerTaskEnd");
    let launched: usize = summaries.iter().map(|s| s.tasks).sum();
    let failed: usize = summaries.iter().map(|s| s.failed_tasks).sum();
    assert_eq!(starts.len(), launched);
    assert_eq!(ends.len(), launched);
    assert_eq!(
        ends.iter()
            .filter(|e| e["Task Info"]["Failed"] == true)
            .count(),
        failed
    );
    let mut counted = [0; 5];
    for s in &summaries {
        for (i, level) in TaskLocality::ALL.iter().enumerate() {
            counted[i] += s.locality.at(*level);
        }
    }
    assert_eq!(locality_of(&ends), counted);

    // The first job: 4 map tasks writing the shuffle, 4 result tasks reading it.
    let first: Vec<&Value> = ends[..8].to_vec();
    let maps = first
        .iter()
        .filter(|e| e["Task Type"] == "ShuffleMapTask")
        .count();
    assert_eq!(maps, 4);
    let written: u64 = first
        .iter()
        .map(|e| e["Task Metrics"]["Shuffle Write Metrics"]["Shuffle Bytes Written"].as_u64())
        .map(Option::unwrap_or_default)
        .sum();
    assert_eq!(written, summaries[0].metrics.shuffle_bytes_written);
    assert!(written > 0);

    let stages_done = named(&events, "SparkListenerStageCompleted");
    assert_eq!(named(&events, "SparkListenerStageSubmitted").len(), 3);
    assert_eq!(stages_done.len(), 3);
    assert!(stages_done[2]["Stage Info"]["Failure Reason"].is_string());
    events
}

#[test]
fn local_jobs_are_logged_like_sparks() {
    check("local[2]");
}

#[test]
fn local_cluster_jobs_name_their_executors_and_hosts() {
    let events = check("local-cluster[2,1,512]");
    for start in named(&events, "SparkListenerTaskStart") {
        let executor = start["Task Info"]["Executor ID"].as_str().unwrap();
        assert_ne!(executor, "driver", "{start}");
        assert!(!start["Task Info"]["Host"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_missing_directory_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let err = Context::new(conf("local[1]", &missing)).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains(keys::EVENT_LOG_DIR.key), "{message}");
}
