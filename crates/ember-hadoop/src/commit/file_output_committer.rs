//! [`FileOutputCommitter`]: Hadoop's `FileOutputCommitter`, both algorithms (see the module
//! doc of [`commit`](super) for the protocol and its guarantees).

use super::ids::{JobId, TaskAttemptId, TaskId};
use super::output_fs::{Kind, OutputFs};
use crate::conf::HadoopConf;
use crate::error::{Error, Result};
use crate::object_stores::ResolvedPath;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

/// The key choosing the algorithm, as Hadoop's (`ember.hadoop.` + it in ember's settings).
pub const ALGORITHM_VERSION: &str = "mapreduce.fileoutputcommitter.algorithm.version";
/// The key turning the `_SUCCESS` marker off, as Hadoop's.
pub const MARK_SUCCESSFUL_JOBS: &str = "mapreduce.fileoutputcommitter.marksuccessfuljobs";
/// The key numbering the application's attempt, as Hadoop's (`_temporary/<it>/`).
pub const APPLICATION_ATTEMPT_ID: &str = "mapreduce.job.application.attempt.id";
/// The directory under the output that holds everything not yet committed.
pub const PENDING_DIR_NAME: &str = "_temporary";
/// The empty file that marks a committed output.
pub const SUCCEEDED_FILE_NAME: &str = "_SUCCESS";

/// Which of Hadoop's two algorithms commits the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Algorithm {
    /// Version 1: task commit moves the attempt's directory into the job's pending directory;
    /// job commit moves every committed task's files into the output. Nothing is visible
    /// before the job commits. Spark's default, and ember's.
    #[default]
    V1,
    /// Version 2: task commit moves the attempt's files straight into the output; job commit
    /// only cleans up and marks success. Cheaper (one move per file, not two), but a failed job
    /// leaves the files of its committed tasks in the output.
    V2,
}

/// How the committer works, from Hadoop's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSettings {
    /// `mapreduce.fileoutputcommitter.algorithm.version`: 1 (the default) or 2.
    pub algorithm: Algorithm,
    /// `mapreduce.fileoutputcommitter.marksuccessfuljobs`: write `_SUCCESS` (default true).
    pub mark_successful_jobs: bool,
    /// `mapreduce.job.application.attempt.id`: the `_temporary/<n>/` of this run (default 0).
    pub app_attempt: u32,
}

impl Default for CommitSettings {
    fn default() -> Self {
        CommitSettings {
            algorithm: Algorithm::V1,
            mark_successful_jobs: true,
            app_attempt: 0,
        }
    }
}

impl CommitSettings {
    /// The settings `conf` holds, Hadoop's defaults for the rest (algorithm 1, as Spark
    /// chooses).
    ///
    /// # Errors
    /// A value that is not one of the key's values.
    pub fn from_conf(conf: &HadoopConf) -> Result<Self> {
        let algorithm = match conf.get(ALGORITHM_VERSION).as_deref().map(str::trim) {
            None | Some("1") => Algorithm::V1,
            Some("2") => Algorithm::V2,
            Some(other) => {
                return Err(Error::Setting(format!(
                    "{ALGORITHM_VERSION} is {other:?}; the file output committer's algorithms \
                     are 1 and 2 (set ember.hadoop.{ALGORITHM_VERSION} to one of them)"
                )))
            }
        };
        let mark_successful_jobs = match conf.get(MARK_SUCCESSFUL_JOBS).as_deref().map(str::trim) {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(Error::Setting(format!(
                    "{MARK_SUCCESSFUL_JOBS} is {other:?}; set it to true or false"
                )))
            }
        };
        let app_attempt = match conf.get(APPLICATION_ATTEMPT_ID) {
            None => 0,
            Some(v) => v.trim().parse().map_err(|_| {
                Error::Setting(format!(
                    "{APPLICATION_ATTEMPT_ID} is {v:?}; it numbers the application's attempt: \
                     0, 1, ..."
                ))
            })?,
        };
        Ok(CommitSettings {
            algorithm,
            mark_successful_jobs,
            app_attempt,
        })
    }
}

/// Decides whether a task attempt may commit its output (the question Spark's executors ask
/// the driver's `OutputCommitCoordinator`, so that of two speculative attempts only one
/// commits).
///
/// It is asked once per attempt, before anything of the attempt moves. An attempt refused is
/// aborted: its files are deleted and [`FileOutputCommitter::commit_task`] answers
/// [`TaskCommit::Denied`].
pub trait CommitAuthorizer: Send + Sync {
    /// Whether `attempt` may commit its task's output.
    fn can_commit<'a>(
        &'a self,
        attempt: &'a TaskAttemptId,
    ) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>>;
}

/// Lets every attempt that asks commit: for engines without a coordinator, where a task's
/// attempts run one after another (a retry starts once the previous attempt failed). A later
/// commit of the same task then replaces the earlier one (algorithm 1) or rewrites the same
/// file names (algorithm 2): the output holds each task's files once.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizeEveryAttempt;

impl CommitAuthorizer for AuthorizeEveryAttempt {
    fn can_commit<'a>(
        &'a self,
        _attempt: &'a TaskAttemptId,
    ) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>> {
        Box::pin(async { Ok(true) })
    }
}

impl<F> CommitAuthorizer for F
where
    F: Fn(&TaskAttemptId) -> bool + Send + Sync,
{
    fn can_commit<'a>(
        &'a self,
        attempt: &'a TaskAttemptId,
    ) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>> {
        let allowed = self(attempt);
        Box::pin(async move { Ok(allowed) })
    }
}

/// What a task commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCommit {
    /// The attempt's files are its task's output now (`files` of them).
    Committed {
        /// How many files the attempt committed.
        files: usize,
    },
    /// The attempt wrote nothing; there was nothing to commit.
    NothingToCommit,
    /// The authorizer refused the attempt; its files were deleted.
    Denied,
}

/// Maps a file's name in the attempt directory to its name in the output; it is given the
/// file's directory under the attempt's (`""` at the top, `k=1` for `k=1/x.csv`) and its name.
pub type NameFn<'a> = dyn Fn(&str, &str) -> String + Send + Sync + 'a;

/// Commits the files a job writes under one output directory, as Hadoop's
/// `FileOutputCommitter`: task attempts write under their own directories, a task commit makes
/// one attempt's files the task's output, and the job commit makes every task's output visible
/// at once (algorithm 1) or marks it complete (algorithm 2).
///
/// The driver calls [`setup_job`](Self::setup_job), then [`commit_job`](Self::commit_job) or
/// [`abort_job`](Self::abort_job); each task attempt writes under
/// [`task_attempt_path`](Self::task_attempt_path), then calls
/// [`commit_task`](Self::commit_task) or [`abort_task`](Self::abort_task). A committer holds
/// no state but its names: tasks on other machines build their own from the same output,
/// [`JobId`] and [`CommitSettings`], and all agree.
#[derive(Debug, Clone)]
pub struct FileOutputCommitter {
    output: ResolvedPath,
    job: JobId,
    settings: CommitSettings,
    fs: OutputFs,
}

impl FileOutputCommitter {
    /// The committer of job `job` writing into `output`.
    pub fn new(output: ResolvedPath, job: JobId, settings: CommitSettings) -> Self {
        let fs = OutputFs::of(&output);
        FileOutputCommitter {
            output,
            job,
            settings,
            fs,
        }
    }

    /// The output directory.
    pub fn output(&self) -> &ResolvedPath {
        &self.output
    }

    /// The job.
    pub fn job(&self) -> &JobId {
        &self.job
    }

    /// How it commits.
    pub fn settings(&self) -> CommitSettings {
        self.settings
    }

    fn under_output(&self, parts: &[&str]) -> ObjectPath {
        parts
            .iter()
            .fold(self.output.path.clone(), |path, part| path.join(*part))
    }

    /// `<out>/_temporary`: everything not committed yet, of every application attempt.
    pub fn pending_path(&self) -> ObjectPath {
        self.under_output(&[PENDING_DIR_NAME])
    }

    /// `<out>/_temporary/<app attempt>`: the job's working directory; under algorithm 1 it
    /// holds the committed tasks' directories until the job commits.
    pub fn job_attempt_path(&self) -> ObjectPath {
        let app = self.settings.app_attempt.to_string();
        self.under_output(&[PENDING_DIR_NAME, &app])
    }

    /// `<out>/_temporary/<app attempt>/_temporary/<attempt>`: where `attempt` writes its files.
    pub fn task_attempt_path(&self, attempt: &TaskAttemptId) -> ObjectPath {
        self.job_attempt_path()
            .join(PENDING_DIR_NAME)
            .join(attempt.to_string().as_str())
    }

    /// `<out>/_temporary/<app attempt>/<task>`: where algorithm 1 keeps `task`'s committed files
    /// until the job commits.
    pub fn committed_task_path(&self, task: &TaskId) -> ObjectPath {
        self.job_attempt_path().join(task.to_string().as_str())
    }

    /// The URL of `path` (one of this committer's), for writers that take URLs.
    pub fn url_of(&self, path: &ObjectPath) -> String {
        self.fs.url(path)
    }

    /// The local file of `path` when the output is on the local disk, for writers that write
    /// files directly.
    pub fn local_path(&self, path: &ObjectPath) -> Option<PathBuf> {
        self.fs.local_path(path)
    }

    /// Whether the output exists: a file, or a directory (on S3 any object under it).
    ///
    /// # Errors
    /// The store cannot be asked.
    pub async fn output_exists(&self) -> Result<bool> {
        self.fs.exists(&self.output.path).await
    }

    /// Prepares the job's working directory (Hadoop's `setupJob`).
    ///
    /// # Errors
    /// The directory cannot be made.
    pub fn setup_job(&self) -> Result<()> {
        self.fs.make_dir(&self.job_attempt_path())
    }

    /// Prepares `attempt`'s directory (Hadoop's `setupTask` does nothing; on the local disk the
    /// directory must exist before a file is created in it).
    ///
    /// # Errors
    /// The directory cannot be made.
    pub fn setup_task(&self, attempt: &TaskAttemptId) -> Result<()> {
        self.fs.make_dir(&self.task_attempt_path(attempt))
    }

    /// Whether `attempt` wrote anything to commit (Hadoop's `needsTaskCommit`).
    ///
    /// # Errors
    /// The store cannot be listed.
    pub async fn needs_task_commit(&self, attempt: &TaskAttemptId) -> Result<bool> {
        Ok(!self
            .fs
            .files_under(&self.task_attempt_path(attempt))
            .await?
            .is_empty())
    }

    /// Commits `attempt`'s files as its task's output, keeping their names; see
    /// [`commit_task_as`](Self::commit_task_as).
    ///
    /// # Errors
    /// As [`commit_task_as`](Self::commit_task_as).
    pub async fn commit_task(
        &self,
        attempt: &TaskAttemptId,
        authorizer: &dyn CommitAuthorizer,
    ) -> Result<TaskCommit> {
        self.commit_task_as(attempt, authorizer, &|_, name| name.to_string())
            .await
    }

    /// Commits `attempt`'s files as its task's output (Hadoop's `commitTask`), each file named
    /// in the output as `name` maps its name in the attempt directory (`name` must give
    /// every attempt of a task the same names, so that a second commit replaces the first).
    ///
    /// 1. Nothing written: nothing to commit.
    /// 2. `authorizer` refuses: the attempt is aborted, and the answer is
    ///    [`TaskCommit::Denied`].
    /// 3. Algorithm 1: an earlier commit of the task (`<app>/<task>`) is deleted, then the
    ///    attempt's directory is moved there (one rename on HDFS and the local disk).
    ///    Algorithm 2: every file of the attempt moves into the output, replacing a file of
    ///    the same name, and the emptied attempt directory is deleted.
    ///
    /// # Errors
    /// The store failed. Under algorithm 1 the task's output is then absent or whole on HDFS
    /// and the local disk (partial on S3, and replaced whole by the next attempt's commit);
    /// under algorithm 2 part of it may be in the output: the job should fail.
    pub async fn commit_task_as(
        &self,
        attempt: &TaskAttemptId,
        authorizer: &dyn CommitAuthorizer,
        name: &NameFn<'_>,
    ) -> Result<TaskCommit> {
        let attempt_path = self.task_attempt_path(attempt);
        let files = self.fs.files_under(&attempt_path).await?;
        if files.is_empty() {
            tracing::debug!("{attempt} wrote no output; nothing to commit");
            self.fs.delete_dir(&attempt_path).await?;
            return Ok(TaskCommit::NothingToCommit);
        }
        if !authorizer.can_commit(attempt).await? {
            tracing::info!("{attempt} may not commit its output; deleting it");
            self.abort_task(attempt).await?;
            return Ok(TaskCommit::Denied);
        }
        match self.settings.algorithm {
            Algorithm::V1 => {
                let committed = self.committed_task_path(&attempt.task);
                // A previous attempt committed (and then was lost before its task was
                // reported done): this attempt's output replaces it whole, as in Hadoop.
                self.fs.delete_dir(&committed).await?;
                if self.fs.kind() == Kind::Blob {
                    self.fs.merge(&attempt_path, &committed, name).await?;
                } else {
                    self.fs.rename_in_place(&attempt_path, &files, name)?;
                    self.fs.move_dir(&attempt_path, &committed).await?;
                }
                tracing::info!("saved output of {attempt} to {}", self.url_of(&committed));
            }
            Algorithm::V2 => {
                self.fs
                    .merge(&attempt_path, &self.output.path, name)
                    .await?;
                self.fs.delete_dir(&attempt_path).await?;
                tracing::info!("saved output of {attempt} to {}", self.output.url);
            }
        }
        Ok(TaskCommit::Committed { files: files.len() })
    }

    /// Deletes what `attempt` wrote (Hadoop's `abortTask`).
    ///
    /// # Errors
    /// The store failed; leftovers stay under `_temporary` until the job commits or aborts.
    pub async fn abort_task(&self, attempt: &TaskAttemptId) -> Result<()> {
        self.fs.delete_dir(&self.task_attempt_path(attempt)).await
    }

    /// Commits the job (Hadoop's `commitJob`): under algorithm 1 moves every committed task's
    /// files into the output (replacing files of the same name); then deletes `_temporary` and
    /// writes `_SUCCESS` (unless `mapreduce.fileoutputcommitter.marksuccessfuljobs` is false).
    ///
    /// # Errors
    /// The store failed: the output may be partial, and has no `_SUCCESS`.
    pub async fn commit_job(&self) -> Result<()> {
        if self.settings.algorithm == Algorithm::V1 {
            let job_attempt = self.job_attempt_path();
            // `<app>/<task>/...`; `<app>/_temporary/...` belong to attempts never committed.
            let mut tasks = std::collections::BTreeSet::new();
            for file in self.fs.files_under(&job_attempt).await? {
                let task = file.prefix_match(&job_attempt).and_then(|mut p| p.next());
                if let Some(task) = task.filter(|t| t.as_ref() != PENDING_DIR_NAME) {
                    tasks.insert(job_attempt.clone().join(task));
                }
            }
            for task in &tasks {
                self.fs
                    .merge(task, &self.output.path, &|_, name| name.to_string())
                    .await?;
            }
        }
        self.fs.delete_dir(&self.pending_path()).await?;
        if self.settings.mark_successful_jobs {
            self.fs
                .put_empty(&self.under_output(&[SUCCEEDED_FILE_NAME]))
                .await?;
        }
        Ok(())
    }

    /// Aborts the job (Hadoop's `abortJob`): deletes `_temporary`, with every attempt's and
    /// (algorithm 1) every committed task's files. Under algorithm 2 the files of committed
    /// tasks are in the output already and stay: see [`delete_path`](super::delete_path) for
    /// an output the job created.
    ///
    /// # Errors
    /// The store failed.
    pub async fn abort_job(&self) -> Result<()> {
        self.fs.delete_dir(&self.pending_path()).await
    }
}

/// Deletes `path` and everything under it (Hadoop's `FileSystem.delete(path, true)`): a
/// directory on the local disk or HDFS, every object under the prefix on S3.
///
/// # Errors
/// The store failed; part of it may be gone.
pub async fn delete_path(path: &ResolvedPath) -> Result<()> {
    OutputFs::of(path).delete_dir(&path.path).await
}
