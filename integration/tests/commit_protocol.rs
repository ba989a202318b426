//! The output commit protocol (`ember_hadoop::commit`) on the mini cluster's HDFS, where a
//! task commit is one NameNode rename of a directory, and its S3 server (moto), where every move
//! is a copy and a delete: the same layout at each step, for both algorithms, and through
//! `save_as_text_file` with algorithm 2.

use ember_hadoop::commit::{
    Algorithm, AuthorizeEveryAttempt, CommitSettings, FileOutputCommitter, JobId, TaskAttemptId,
    TaskCommit, TaskId, TaskType,
};
use ember_integration::{
    context, create_bucket, get, hadoop_conf, hadoop_fs, names_under, put, unique,
};

const TRACKER: &str = "20240131153000";

/// One HDFS and one S3 output directory, not used before.
fn outputs(name: &str) -> [String; 2] {
    create_bucket("ember-commit");
    let fs = hadoop_conf().default_fs();
    [
        format!(
            "{}/ember-it/commit/{}",
            fs.trim_end_matches('/'),
            unique(name)
        ),
        format!("s3a://ember-commit/{}", unique(name)),
    ]
}

fn committer(out: &str, algorithm: Algorithm) -> FileOutputCommitter {
    let output = ember_hadoop::resolve(out, &hadoop_conf()).unwrap();
    let settings = CommitSettings {
        algorithm,
        ..CommitSettings::default()
    };
    let committer = FileOutputCommitter::new(output, JobId::new(TRACKER, 7), settings);
    committer.setup_job().unwrap();
    committer
}

fn attempt(task: u32, attempt: u64) -> TaskAttemptId {
    TaskAttemptId::new(
        TaskId::new(JobId::new(TRACKER, 7), TaskType::Map, task),
        attempt,
    )
}

/// `attempt` writes `part-<task>` holding `text`, through the store.
fn write(committer: &FileOutputCommitter, attempt: &TaskAttemptId, text: &str) {
    let name = format!("part-{:05}", attempt.task.id);
    let file = committer.task_attempt_path(attempt).join(name.as_str());
    put(&committer.url_of(&file), text);
}

/// No `_temporary` under `out`: on HDFS not even an empty directory, which a listing of
/// files would not show (Hadoop's own client asks).
fn assert_no_temporary(out: &str) {
    if out.starts_with("hdfs:") {
        let temporary = format!("{out}/_temporary");
        assert!(
            !hadoop_fs(&["-test", "-e", &temporary]),
            "{temporary} is left"
        );
    }
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

fn commit(committer: &FileOutputCommitter, attempt: &TaskAttemptId) -> TaskCommit {
    run(committer.commit_task(attempt, &AuthorizeEveryAttempt)).unwrap()
}

#[test]
fn both_algorithms_lay_out_and_commit_as_hadoop_on_hdfs_and_s3() {
    for version in [Algorithm::V1, Algorithm::V2] {
        for out in outputs("layout") {
            let c = committer(&out, version);
            let (lost, first, second) = (attempt(0, 1), attempt(0, 2), attempt(1, 3));
            write(&c, &lost, "lo");
            write(&c, &first, "a\n");
            assert_eq!(
                names_under(&out),
                [
                    "_temporary/0/_temporary/attempt_20240131153000_0007_m_000000_1/part-00000",
                    "_temporary/0/_temporary/attempt_20240131153000_0007_m_000000_2/part-00000",
                ],
                "{out}"
            );
            run(c.abort_task(&lost)).unwrap();
            assert_eq!(commit(&c, &first), TaskCommit::Committed { files: 1 });
            let after_task = match version {
                Algorithm::V1 => "_temporary/0/task_20240131153000_0007_m_000000/part-00000",
                Algorithm::V2 => "part-00000",
            };
            assert_eq!(names_under(&out), [after_task], "{version:?} {out}");
            write(&c, &second, "b\n");
            commit(&c, &second);
            // The first task's attempt commits again, as after a lost report: once in the end.
            let again = attempt(0, 4);
            write(&c, &again, "a again\n");
            commit(&c, &again);
            run(c.commit_job()).unwrap();
            assert_eq!(
                names_under(&out),
                ["_SUCCESS", "part-00000", "part-00001"],
                "{version:?} {out}"
            );
            assert_eq!(get(&format!("{out}/part-00000")), b"a again\n");
            assert_no_temporary(&out);
        }
    }
}

#[test]
fn an_aborted_job_leaves_no_temporary_and_no_success_on_hdfs_and_s3() {
    for (version, left) in [(Algorithm::V1, vec![]), (Algorithm::V2, vec!["part-00000"])] {
        for out in outputs("aborted") {
            let c = committer(&out, version);
            write(&c, &attempt(0, 1), "committed\n");
            commit(&c, &attempt(0, 1));
            write(&c, &attempt(1, 2), "never committed\n");
            run(c.abort_job()).unwrap();
            assert_eq!(names_under(&out), left, "{version:?} {out}");
            assert_no_temporary(&out);
        }
    }
}

#[test]
fn save_as_text_file_with_algorithm_2_commits_on_hdfs_and_s3() {
    let key = "ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version";
    let ctx = context("local[2]", &[(key, "2")]);
    for out in outputs("v2-save") {
        ctx.range(0, 1000, 1, 3)
            .unwrap()
            .save_as_text_file(&out)
            .unwrap();
        assert_eq!(
            names_under(&out),
            ["_SUCCESS", "part-00000", "part-00001", "part-00002"],
            "{out}"
        );
        let lines = String::from_utf8(get(&format!("{out}/part-00002"))).unwrap();
        assert!(lines
            .lines()
            .map(|l| l.parse::<i64>().unwrap())
            .eq(666..1000));
    }
}
