//! The output commit protocol on the local disk, both algorithms: where files are at each step,
//! what failures and aborts leave, and that a task commits exactly once.

use ember_hadoop::commit::{
    Algorithm, AuthorizeEveryAttempt, CommitSettings, FileOutputCommitter, JobId, TaskAttemptId,
    TaskCommit, TaskId, TaskType,
};
use ember_hadoop::HadoopConf;
use std::path::{Path, PathBuf};

const TRACKER: &str = "20240131153000";

/// A scratch directory with an output `out` in it, committed by job 7.
struct Scratch {
    _dir: tempfile::TempDir,
    out: PathBuf,
    committer: FileOutputCommitter,
}

fn scratch(settings: CommitSettings) -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = ember_hadoop::resolve(out.to_str().unwrap(), &HadoopConf::empty()).unwrap();
    let committer = FileOutputCommitter::new(output, JobId::new(TRACKER, 7), settings);
    committer.setup_job().unwrap();
    Scratch {
        _dir: dir,
        out,
        committer,
    }
}

fn algorithm(algorithm: Algorithm) -> CommitSettings {
    CommitSettings {
        algorithm,
        ..CommitSettings::default()
    }
}

fn attempt(task: u32, attempt: u64) -> TaskAttemptId {
    TaskAttemptId::new(
        TaskId::new(JobId::new(TRACKER, 7), TaskType::Map, task),
        attempt,
    )
}

impl Scratch {
    /// `attempt` writes `part-<task>` holding `text`.
    fn write(&self, attempt: &TaskAttemptId, text: &str) {
        self.committer.setup_task(attempt).unwrap();
        let name = format!("part-{:05}", attempt.task.id);
        let file = self
            .committer
            .task_attempt_path(attempt)
            .join(name.as_str());
        std::fs::write(self.committer.local_path(&file).unwrap(), text).unwrap();
    }

    /// The job committed task 0's `part-00000`, holding `text`, and nothing else but `_SUCCESS`.
    fn assert_one_part(&self, text: &str, version: Algorithm) {
        assert_eq!(self.files(), ["_SUCCESS", "part-00000"], "{version:?}");
        let committed = std::fs::read_to_string(self.out.join("part-00000")).unwrap();
        assert_eq!(committed, text, "{version:?}");
    }

    /// Every file under the output, relative to it, sorted.
    fn files(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(&self.out, &self.out, &mut found);
        found.sort();
        found
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            found.push(relative.to_string_lossy().into_owned());
        }
    }
}

async fn commit(s: &Scratch, attempt: &TaskAttemptId) -> TaskCommit {
    s.committer
        .commit_task(attempt, &AuthorizeEveryAttempt)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_algorithm_lays_out_files_as_hadoop_at_each_step() {
    // Algorithm 1: a committed task waits in the job's directory until the job commits;
    // algorithm 2: it is in the output, visible before the job commits.
    for (version, after_task_commit) in [
        (
            Algorithm::V1,
            "_temporary/0/task_20240131153000_0007_m_000000/part-00000",
        ),
        (Algorithm::V2, "part-00000"),
    ] {
        let s = scratch(algorithm(version));
        let first = attempt(0, 12);
        s.write(&first, "a\n");
        assert_eq!(
            s.files(),
            ["_temporary/0/_temporary/attempt_20240131153000_0007_m_000000_12/part-00000"],
            "{version:?}"
        );
        assert_eq!(commit(&s, &first).await, TaskCommit::Committed { files: 1 });
        assert_eq!(s.files(), [after_task_commit], "{version:?}");
        s.write(&attempt(1, 13), "b\n");
        commit(&s, &attempt(1, 13)).await;
        s.committer.commit_job().await.unwrap();
        assert_eq!(
            s.files(),
            ["_SUCCESS", "part-00000", "part-00001"],
            "{version:?}"
        );
        assert!(!s.out.join("_temporary").exists());
        let second = std::fs::read_to_string(s.out.join("part-00001")).unwrap();
        assert_eq!(second, "b\n", "{version:?}");
    }
}

#[tokio::test]
async fn an_aborted_task_leaves_nothing_in_the_output() {
    for version in [Algorithm::V1, Algorithm::V2] {
        let s = scratch(algorithm(version));
        s.write(&attempt(0, 1), "lost\n");
        s.committer.abort_task(&attempt(0, 1)).await.unwrap();
        s.write(&attempt(1, 2), "kept\n");
        commit(&s, &attempt(1, 2)).await;
        s.committer.commit_job().await.unwrap();
        assert_eq!(s.files(), ["_SUCCESS", "part-00001"], "{version:?}");
    }
}

#[tokio::test]
async fn an_aborted_job_leaves_no_temporary_and_no_success() {
    // Algorithm 1: nothing at all; algorithm 2: the committed task's file, unmarked.
    for (version, left) in [(Algorithm::V1, vec![]), (Algorithm::V2, vec!["part-00000"])] {
        let s = scratch(algorithm(version));
        s.write(&attempt(0, 1), "committed\n");
        commit(&s, &attempt(0, 1)).await;
        s.write(&attempt(1, 2), "never committed\n");
        s.committer.abort_job().await.unwrap();
        assert_eq!(s.files(), left, "{version:?}");
        assert!(!s.out.join("_temporary").exists() && !s.out.join("_SUCCESS").exists());
    }
}

#[tokio::test]
async fn a_second_attempt_commits_exactly_once_whatever_the_first_did() {
    for version in [Algorithm::V1, Algorithm::V2] {
        // The first attempt failed half-way, its half file left behind as by a lost process;
        // or it committed, then was lost before its task was reported done.
        for first_committed in [false, true] {
            let s = scratch(algorithm(version));
            s.write(&attempt(0, 1), "fir");
            if first_committed {
                commit(&s, &attempt(0, 1)).await;
            }
            s.write(&attempt(0, 2), "second\n");
            let second = commit(&s, &attempt(0, 2)).await;
            assert_eq!(second, TaskCommit::Committed { files: 1 });
            s.committer.commit_job().await.unwrap();
            s.assert_one_part("second\n", version);
        }
    }
}

#[tokio::test]
async fn an_attempt_the_authorizer_refuses_deletes_its_files() {
    for version in [Algorithm::V1, Algorithm::V2] {
        let s = scratch(algorithm(version));
        let (winner, loser) = (attempt(0, 1), attempt(0, 2));
        s.write(&winner, "winner\n");
        s.write(&loser, "loser\n");
        // A coordinator that lets the first attempt of each task commit.
        let first_only = |a: &TaskAttemptId| a.attempt == 1;
        let denied = s.committer.commit_task(&loser, &first_only).await.unwrap();
        assert_eq!(denied, TaskCommit::Denied);
        let allowed = s.committer.commit_task(&winner, &first_only).await.unwrap();
        assert_eq!(allowed, TaskCommit::Committed { files: 1 });
        s.committer.commit_job().await.unwrap();
        s.assert_one_part("winner\n", version);
    }
}

#[tokio::test]
async fn an_attempt_that_wrote_nothing_commits_nothing() {
    let s = scratch(algorithm(Algorithm::V1));
    s.committer.setup_task(&attempt(0, 1)).unwrap();
    assert!(!s.committer.needs_task_commit(&attempt(0, 1)).await.unwrap());
    assert_eq!(
        commit(&s, &attempt(0, 1)).await,
        TaskCommit::NothingToCommit
    );
    s.committer.commit_job().await.unwrap();
    assert_eq!(s.files(), ["_SUCCESS"]);
}

#[tokio::test]
async fn committed_files_take_the_names_the_caller_gives_them() {
    for version in [Algorithm::V1, Algorithm::V2] {
        let s = scratch(algorithm(version));
        let a = attempt(0, 1);
        s.committer.setup_task(&a).unwrap();
        let dir = s.committer.task_attempt_path(&a).join("k=1");
        let local = s.committer.local_path(&dir).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join("x_0.csv"), "1\n").unwrap();
        let named = |dir: &str, name: &str| {
            assert_eq!(dir, "k=1");
            format!("part-{name}")
        };
        s.committer
            .commit_task_as(&a, &AuthorizeEveryAttempt, &named)
            .await
            .unwrap();
        s.committer.commit_job().await.unwrap();
        assert_eq!(s.files(), ["_SUCCESS", "k=1/part-x_0.csv"], "{version:?}");
    }
}

#[tokio::test]
async fn marksuccessfuljobs_false_writes_no_success_marker() {
    let mut conf = HadoopConf::empty();
    conf.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
    conf.set("mapreduce.job.application.attempt.id", "3");
    let s = scratch(CommitSettings::from_conf(&conf).unwrap());
    s.write(&attempt(0, 1), "a\n");
    commit(&s, &attempt(0, 1)).await;
    assert_eq!(
        s.files(),
        ["_temporary/3/task_20240131153000_0007_m_000000/part-00000"]
    );
    s.committer.commit_job().await.unwrap();
    assert_eq!(s.files(), ["part-00000"]);
}

#[test]
fn the_algorithm_is_chosen_by_hadoops_key() {
    let mut conf = HadoopConf::empty();
    assert_eq!(
        CommitSettings::from_conf(&conf).unwrap().algorithm,
        Algorithm::V1
    );
    // As ember's settings reach it: `ember.hadoop.<key>`.
    let conf2 = HadoopConf::empty().with_overrides([(
        "ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version",
        "2",
    )]);
    assert_eq!(
        CommitSettings::from_conf(&conf2).unwrap().algorithm,
        Algorithm::V2
    );
    conf.set("mapreduce.fileoutputcommitter.algorithm.version", "3");
    let err = CommitSettings::from_conf(&conf).unwrap_err().to_string();
    assert!(
        err.contains("are 1 and 2") && err.contains("ember.hadoop.mapreduce"),
        "{err}"
    );
}
