//! `save_as_text_file`: writing an RDD as text part files through a commit protocol (Spark's
//! `saveAsTextFile` with Hadoop's `FileOutputCommitter`, algorithm 1).
//!
//! 1. The driver creates the output directory; if it exists the job is refused before anything
//!    runs, as Spark refuses (unless `ember.hadoop.validateOutputSpecs` is false: then the job
//!    writes into it, replacing files of the same name).
//! 2. Each task attempt writes `part-NNNNN` under
//!    `<out>/_temporary/0/_temporary/attempt_<stage>_<partition>_<attempt id>/`, then commits by
//!    renaming its attempt directory to `<out>/_temporary/0/task_<partition>`. The first attempt
//!    to commit wins; a later duplicate deletes its own files.
//! 3. When every task has committed, the driver moves the part files into `<out>`, removes
//!    `_temporary` and writes an empty `_SUCCESS`.
//! 4. If the job fails, the driver removes the output directory: a failed job leaves nothing
//!    (into an existing directory, it removes `_temporary` only).
//!
//! A bare path is resolved against `fs.defaultFS`; `hdfs://`, `s3://` and `s3a://` outputs follow
//! the same protocol through object stores (`save_remote`).
//!
//! The protocol does not care what a part file holds: a [`PartFormat`] turns a partition into
//! its bytes (text lines here, sequence files in `sequence_file`, checkpoint records in
//! `checkpoint`), and every format commits the same way.

use super::{save_remote, BoxIter, Rdd};
use crate::conf::keys;
use crate::data::Data;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
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
        match url.strip_prefix("file://") {
            Some(local) => self.save_local(local, validate, format),
            None => self.save_remote(&env, url, validate, format),
        }
    }

    fn save_remote<F: PartFormat<T>>(
        &self,
        env: &Env,
        url: &str,
        validate: bool,
        format: F,
    ) -> Result<()> {
        let out = env.resolve(url)?;
        let existed = save_remote::exists(&out)?;
        if existed && validate {
            return Err(already_exists(&out.url));
        }
        let job = self
            .context()
            .run_job(
                self,
                SavePartFn {
                    out: url.into(),
                    format,
                },
                None,
            )
            .and_then(|_| save_remote::commit_job(&out));
        if job.is_err() {
            save_remote::abort_job(&out, !existed);
        }
        job
    }

    fn save_local<F: PartFormat<T>>(&self, path: &str, validate: bool, format: F) -> Result<()> {
        let out = PathBuf::from(path);
        let existed = out.exists();
        if existed && validate {
            return Err(already_exists(&out.display().to_string()));
        }
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        let job = self
            .context()
            .run_job(
                self,
                SavePartFn {
                    out: out.to_string_lossy().into_owned(),
                    format,
                },
                None,
            )
            .and_then(|_| commit_job(&out));
        if job.is_err() {
            // Leave nothing of ours behind; what was there before stays.
            let _ = std::fs::remove_dir_all(if existed { out.join("_temporary") } else { out });
        }
        job
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

fn job_temp(out: &Path) -> PathBuf {
    out.join("_temporary").join("0")
}

/// Moves every committed task's files into the output directory and marks it complete.
fn commit_job(out: &Path) -> Result<()> {
    let temp = job_temp(out);
    if temp.is_dir() {
        let tasks = std::fs::read_dir(&temp).map_err(|e| Error::io(&temp, e))?;
        for task in tasks {
            let task = task.map_err(|e| Error::io(&temp, e))?.path();
            if !task
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("task_"))
            {
                continue;
            }
            let files = std::fs::read_dir(&task).map_err(|e| Error::io(&task, e))?;
            for file in files {
                let file = file.map_err(|e| Error::io(&task, e))?.path();
                if let Some(name) = file.file_name() {
                    let target = out.join(name);
                    std::fs::rename(&file, &target).map_err(|e| Error::io(&target, e))?;
                }
            }
        }
    }
    let temporary = out.join("_temporary");
    if temporary.exists() {
        std::fs::remove_dir_all(&temporary).map_err(|e| Error::io(&temporary, e))?;
    }
    let success = out.join("_SUCCESS");
    std::fs::write(&success, b"").map_err(|e| Error::io(&success, e))
}

/// A task's part of a save: its partition as one part file in `format`.
#[derive(Serialize, Deserialize)]
struct SavePartFn<F> {
    /// A local directory, or the URL of a remote one.
    out: String,
    format: F,
}

impl<T: Data, F: PartFormat<T>> PartitionFunc<T, ()> for SavePartFn<F> {
    fn apply(&self, tc: &Arc<TaskContext>, partition: usize, elements: BoxIter<T>) -> Result<()> {
        if self.out.contains("://") {
            let (stage, id) = (tc.stage_id, tc.task_attempt_id);
            return save_remote::write_task(tc.env(), &self.out, stage, partition, id, |out| {
                self.format.write_part(elements, out)
            });
        }
        let temp = job_temp(Path::new(&self.out));
        // Named by the attempt's unique id: an abandoned attempt and its replacement never
        // write the same file.
        let attempt = temp.join("_temporary").join(format!(
            "attempt_{}_{partition}_{}",
            tc.stage_id, tc.task_attempt_id
        ));
        std::fs::create_dir_all(&attempt).map_err(|e| Error::io(&attempt, e))?;
        let file = attempt.join(format!("part-{partition:05}"));
        let written = write_file(&file, |out| self.format.write_part(elements, out));
        let committed = written.and_then(|_| {
            let task = temp.join(format!("task_{partition}"));
            match std::fs::rename(&attempt, &task) {
                Ok(()) => Ok(()),
                // Another attempt of this task committed first; its output stands.
                Err(_) if task.is_dir() => Ok(()),
                Err(e) => Err(Error::io(&task, e)),
            }
        });
        // Whatever did not become the task's output goes.
        let _ = std::fs::remove_dir_all(&attempt);
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
