//! The output commit protocol: how the files of a job's tasks become one output directory, all
//! of it or none of it (Hadoop's `FileOutputCommitter`, which Spark's writes use).
//!
//! A job writes one directory, `<out>`, from many tasks on many machines. Tasks fail and are
//! retried; a slow task may run twice at once (speculation); a whole job may fail half-way. Readers
//! must still see either nothing or every task's output exactly once. The protocol gets there by
//! writing everywhere but `<out>` first, and then moving.
//!
//! # Layout
//!
//! ```text
//! <out>/
//! ├── _temporary/                                  everything not committed yet
//! │   └── 0/                                       the application attempt
//! │       │                                        (mapreduce.job.application.attempt.id)
//! │       ├── _temporary/                          attempts at work
//! │       │   ├── attempt_20240131153000_0007_m_000000_12/part-00000
//! │       │   └── attempt_20240131153000_0007_m_000001_13/part-00001
//! │       └── task_20240131153000_0007_m_000002/   a committed task (algorithm 1)
//! │           └── part-00002
//! ├── part-00003                                   committed output (algorithm 2: a task's;
//! │                                                algorithm 1: after the job commit)
//! └── _SUCCESS                                     written last, by the job commit
//! ```
//!
//! Names are Hadoop's ([`JobId`], [`TaskId`], [`TaskAttemptId`]); anything whose name begins
//! with `_` or `.` is hidden from Hadoop's, Spark's and ember's readers, so `_temporary` is
//! never read as data.
//!
//! # The steps
//!
//! 1. **Job setup** (driver, [`FileOutputCommitter::setup_job`]): the job's working directory
//!    `<out>/_temporary/<app attempt>/` is made.
//! 2. **Task write** (each task attempt): the attempt writes its files under its own directory,
//!    [`task_attempt_path`](FileOutputCommitter::task_attempt_path). No two attempts share a
//!    directory, so a lost attempt's half-written file is never mistaken for output.
//! 3. **Task commit** ([`commit_task`](FileOutputCommitter::commit_task)): the attempt asks
//!    its [`CommitAuthorizer`] whether it may commit; refused, it deletes its files. Allowed:
//!    - algorithm 1 renames the attempt's directory to `<app attempt>/<task id>/`, replacing
//!      the directory of an earlier commit of the same task;
//!    - algorithm 2 moves each of the attempt's files into `<out>`, replacing a file of the
//!      same name.
//! 4. **Task abort** ([`abort_task`](FileOutputCommitter::abort_task)): a failed attempt's
//!    directory is deleted.
//! 5. **Job commit** ([`commit_job`](FileOutputCommitter::commit_job), once every task
//!    committed): algorithm 1 moves the files of every committed task's directory into `<out>`;
//!    then `_temporary` is deleted and `_SUCCESS` written (unless
//!    `mapreduce.fileoutputcommitter.marksuccessfuljobs` is false). A reader that waits for
//!    `_SUCCESS` sees the whole output.
//! 6. **Job abort** ([`abort_job`](FileOutputCommitter::abort_job)): `_temporary` is deleted,
//!    with every attempt's and every committed (algorithm 1) task's files; no `_SUCCESS` is
//!    written.
//!
//! # Choosing the algorithm
//!
//! `mapreduce.fileoutputcommitter.algorithm.version` (`ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version`
//! in ember's settings, as `spark.hadoop.*` in Spark's) is 1 or 2; 1 by default, as Spark
//! sets it.
//!
//! | | algorithm 1 | algorithm 2 |
//! |---|---|---|
//! | moves per file | two (task commit, job commit) | one (task commit) |
//! | output visible | all at once, at job commit | task by task, as they commit |
//! | job fails or is aborted | `<out>` holds nothing of it | `<out>` holds the committed tasks' files, without `_SUCCESS` |
//! | task fails during its commit | the next attempt's commit replaces what it left | part of its files may stay in `<out>`: the job should fail |
//! | job commit | a move per file, on the driver: slow for many files | only cleanup: fast |
//!
//! Algorithm 1 is the safe one: until the job commits nothing is in `<out>`. Algorithm 2 gives
//! that up for a job commit that does not grow with the number of files.
//!
//! # Rename on each store
//!
//! The protocol is renames, and what a rename is depends on the store:
//!
//! - **Local disk and HDFS**: a rename is atomic, for a file or for a whole directory (one
//!   `rename(2)`, one NameNode call). An algorithm 1 task commit is one atomic directory rename:
//!   the task's output is there whole or not at all. Job commit moves file by file (each move
//!   atomic, the set of them not: a driver that dies during job commit leaves part of the files
//!   moved, and no `_SUCCESS`).
//! - **S3** has no rename: object_store copies the object and deletes the original, so every
//!   move costs a copy of the bytes on the server and is atomic per file only. A task commit
//!   (algorithm 1) is a copy per file, and so is the job commit: algorithm 1 copies every
//!   byte twice; algorithm 2 once. A task commit that fails half-way leaves part of its files
//!   copied; under algorithm 1 the next attempt's commit deletes them first. Readers that list
//!   `<out>` while the job commits may see part of the files: wait for `_SUCCESS`.
//!
//! # Two attempts at one task
//!
//! A task commits once even when two of its attempts finish, in two ways:
//!
//! - With a coordinator, the [`CommitAuthorizer`] allows one attempt per task (Spark's
//!   `OutputCommitCoordinator`: the first to ask, unless it failed), and the others delete
//!   their files.
//! - Without one ([`AuthorizeEveryAttempt`]), attempts run one after another (a retry starts
//!   after the previous attempt failed), and a second commit replaces the first: under
//!   algorithm 1 the committed task directory is deleted before the new one takes its place;
//!   under algorithm 2 a task's files have the same names in every attempt (its partition
//!   number, not its attempt number, is in the name), so the second commit rewrites them.
//!   Either way each of the task's files is in the output once.
//!
//! # Example
//!
//! ```
//! use ember_hadoop::commit::{
//!     AuthorizeEveryAttempt, CommitSettings, FileOutputCommitter, JobId, TaskAttemptId, TaskId,
//!     TaskType,
//! };
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> ember_hadoop::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("out");
//! let conf = ember_hadoop::HadoopConf::empty();
//! let output = ember_hadoop::resolve(out.to_str().unwrap(), &conf)?;
//! let job = JobId::new(JobId::tracker_now(), 1);
//! let committer = FileOutputCommitter::new(output, job.clone(), CommitSettings::from_conf(&conf)?);
//! committer.setup_job()?;
//!
//! // A task attempt writes its file under its own directory, then commits.
//! let attempt = TaskAttemptId::new(TaskId::new(job, TaskType::Map, 0), 0);
//! committer.setup_task(&attempt)?;
//! let file = committer.task_attempt_path(&attempt).join("part-00000");
//! std::fs::write(committer.local_path(&file).unwrap(), "hello\n").unwrap();
//! committer.commit_task(&attempt, &AuthorizeEveryAttempt).await?;
//! assert!(!out.join("part-00000").exists(), "algorithm 1: not visible before the job commits");
//!
//! committer.commit_job().await?;
//! assert_eq!(std::fs::read_to_string(out.join("part-00000")).unwrap(), "hello\n");
//! assert!(out.join("_SUCCESS").exists() && !out.join("_temporary").exists());
//! # Ok(())
//! # }
//! ```

mod file_output_committer;
mod ids;
mod output_fs;

pub use file_output_committer::{
    delete_path, Algorithm, AuthorizeEveryAttempt, CommitAuthorizer, CommitSettings,
    FileOutputCommitter, NameFn, TaskCommit, ALGORITHM_VERSION, APPLICATION_ATTEMPT_ID,
    MARK_SUCCESSFUL_JOBS, PENDING_DIR_NAME, SUCCEEDED_FILE_NAME,
};
pub use ids::{JobId, TaskAttemptId, TaskId, TaskType};
