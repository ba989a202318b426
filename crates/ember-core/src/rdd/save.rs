//! `save_as_text_file`: writing an RDD as part files through the output commit protocol
//! (Spark's `saveAsTextFile` through `SparkHadoopWriter` and Hadoop's `FileOutputCommitter`;
//! the protocol itself is `ember_hadoop::commit`).
//!
//! 1. The driver resolves the output (a bare path against `fs.defaultFS`; `file://`, `hdfs://`,
//!    `s3://` and `s3a://` alike); if it exists the job is refused before anything runs, as Spark
//!    refuses (unless `ember.hadoop.validateOutputSpecs` is false: then the job writes into it,
//!    replacing files of the same name). It sets up the job: job id `job_<time>_<rdd id>`.
//! 2. Each task attempt writes `part-NNNNN` under its attempt directory
//!    (`<out>/_temporary/0/_temporary/attempt_<time>_<rdd id>_m_<partition>_<task attempt id>/`;
//!    on the local disk through a buffered file, elsewhere as a multipart upload that a write
//!    error aborts), then commits it if the driver's output commit coordinator lets it: the
//!    first attempt of a task to ask does, so that of a speculative copy and its original only
//!    one commits.
//! 3. When every task has committed, the driver commits the job: the part files appear in
//!    `<out>` (algorithm 1; under algorithm 2 they did at task commit), `_temporary` goes and
//!    `_SUCCESS` is written. `ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version`
//!    chooses the algorithm (1 by default).
//! 4. If the job fails, the driver aborts it and removes the output directory: a failed job
//!    leaves nothing (into an existing directory, it removes `_temporary` only; under algorithm
//!    2 the committed tasks' part files stay there then).
//!
//! The protocol does not care what a part file holds: a [`PartFormat`] turns a partition into
//! its bytes (text lines here, sequence files in `sequence_file`, checkpoint records in
//! `checkpoint`), and every format commits the same way.

use super::{upload, BoxIter, Rdd};
use crate::conf::keys;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::network::runtime;
use crate::scheduler::CommitAsk;
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use ember_hadoop::commit::{
    self, CommitSettings, FileOutputCommitter, JobId, TaskAttemptId, TaskCommit, TaskId, TaskType,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

/// How a task turns its partition into the bytes of one part file.
pub(crate) trait PartFormat<T>:
    Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Writes the part file of `elements` to `out`.
    fn write_part(&self, elements: BoxIter<T>, out: &mut dyn Write) -> std::io::Result<()>;
}

/// Each element as a line of text.
#[derive(Serialize, Deserialize)]
struct TextLines;

impl<T: Display> PartFormat<T> for TextLines {
    fn write_part(&self, elements: BoxIter<T>, out: &mut dyn Write) -> std::io::Result<()> {
        for x in elements {
            writeln!(out, "{x}")?;
        }
        Ok(())
    }
}

impl<T: Data + Display> Rdd<T> {
    /// Writes each element as a line of text: a directory of `part-NNNNN` files and `_SUCCESS`.
    ///
    /// # Errors
    /// The directory exists already (remove it, choose another, or set
    /// `ember.hadoop.validateOutputSpecs=false`), it cannot be created, or the job failed (then
    /// nothing of it is left at `path`).
    pub fn save_as_text_file(&self, path: &str) -> Result<()> {
        self.save_parts(path, TextLines)
    }
}

impl<T: Data> Rdd<T> {
    /// Writes one part file per partition in `format` at `path`, through the commit protocol.
    ///
    /// # Errors
    /// As [`Rdd::save_as_text_file`].
    pub(crate) fn save_parts<F: PartFormat<T>>(&self, path: &str, format: F) -> Result<()> {
        let validate = self
            .context()
            .conf()
            .require(&keys::HADOOP_VALIDATE_OUTPUT_SPECS)?;
        let url = ember_hadoop::object_stores::qualify(path, &self.context().env().hadoop)?;
        self.save_parts_to(&url, validate, format)
    }

    /// [`save_parts`](Self::save_parts) to `url`, qualified already; `validate` refuses an
    /// existing directory.
    pub(crate) fn save_parts_to<F: PartFormat<T>>(
        &self,
        url: &str,
        validate: bool,
        format: F,
    ) -> Result<()> {
        let env = self.context().env().clone();
        let settings = CommitSettings::from_conf(&env.hadoop)?;
        // Spark's job id for a save: the time, and the RDD's id.
        let rdd_id = u32::try_from(self.id()).unwrap_or(u32::MAX);
        let job = JobId::new(JobId::tracker_now(), rdd_id);
        let committer = FileOutputCommitter::new(env.resolve(url)?, job.clone(), settings);
        let rt = runtime();
        let existed = rt.block_on(committer.output_exists())?;
        if existed && validate {
            return Err(already_exists(&committer.output().url));
        }
        committer.setup_job()?;
        let save = SavePartFn {
            out: url.into(),
            job,
            settings,
            format,
        };
        let saved = self
            .context()
            .run_job(self, save, None)
            .and_then(|_| Ok(rt.block_on(committer.commit_job())?));
        if saved.is_err() {
            // Leave nothing of ours behind; what was there before stays.
            let _ = rt.block_on(committer.abort_job());
            if !existed {
                let _ = rt.block_on(commit::delete_path(committer.output()));
            }
        }
        saved
    }
}

/// Spark refuses to write into an existing output unless validation is turned off.
fn already_exists(out: &str) -> Error {
    Error::Input(format!(
        "output directory {out} already exists; remove it, write elsewhere, or set \
         {}=false to write into it",
        crate::conf::keys::HADOOP_VALIDATE_OUTPUT_SPECS.key
    ))
}

/// A task's part of a save: its partition as one part file in `format`, committed.
#[derive(Serialize, Deserialize)]
struct SavePartFn<F> {
    /// The output's URL.
    out: String,
    job: JobId,
    settings: CommitSettings,
    format: F,
}

impl<T: Data, F: PartFormat<T>> PartitionFunc<T, ()> for SavePartFn<F> {
    fn apply(&self, tc: &Arc<TaskContext>, partition: usize, elements: BoxIter<T>) -> Result<()> {
        let output = tc.env().resolve(&self.out)?;
        let committer = FileOutputCommitter::new(output, self.job.clone(), self.settings);
        let task_id = u32::try_from(partition).unwrap_or(u32::MAX);
        let task = TaskId::new(self.job.clone(), TaskType::Map, task_id);
        // The engine's attempt id, unique in the application: an abandoned attempt and its
        // replacement never write the same file.
        let attempt = TaskAttemptId::new(task, tc.task_attempt_id);
        committer.setup_task(&attempt)?;
        let name = format!("part-{partition:05}");
        let file = committer.task_attempt_path(&attempt).join(name.as_str());
        let write = |out: &mut dyn Write| self.format.write_part(elements, out);
        let written = match committer.local_path(&file) {
            Some(local) => write_file(&local, write),
            None => {
                let url = committer.url_of(&file);
                upload::upload(committer.output().store.as_ref(), &file, &url, write)
            }
        };
        let rt = runtime();
        // The driver lets one attempt of the task commit (a speculative copy and its original
        // may both get this far); it is asked once the part file is written.
        let committed = written.and_then(|()| {
            let allowed = tc.env().can_commit(&CommitAsk {
                stage: tc.stage_id,
                stage_attempt: tc.stage_attempt,
                partition,
                task_attempt_id: tc.task_attempt_id,
            })?;
            let refused = || {
                Err(Error::Input(format!(
                    "{attempt} was refused the commit of its output: another attempt of its \
                     task commits it"
                )))
            };
            if !allowed {
                return refused();
            }
            match rt.block_on(committer.commit_task(&attempt, &|_: &TaskAttemptId| true))? {
                TaskCommit::Denied => refused(),
                TaskCommit::Committed { .. } | TaskCommit::NothingToCommit => Ok(()),
            }
        });
        if committed.is_err() {
            // Whatever did not become the task's output goes.
            let _ = rt.block_on(committer.abort_task(&attempt));
        }
        committed
    }
}

fn write_file(
    file: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let handle = std::fs::File::create(file).map_err(|e| Error::io(file, e))?;
    let mut out = BufWriter::with_capacity(1 << 16, handle);
    write(&mut out).map_err(|e| Error::io(file, e))?;
    out.flush().map_err(|e| Error::io(file, e))
}
