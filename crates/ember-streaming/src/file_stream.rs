//! A stream of the new files of a directory (Spark's `FileInputDStream`).
//!
//! At each batch time `t` the directory is listed, and a file becomes part of the batch when
//!
//! 1. its modification time is at most `t` (a later one waits for a later batch),
//! 2. and after the ignore threshold: the later of the stream's start (only files new to
//!    the stream are read) and `t` minus the remember window (60 s rounded up to whole
//!    batches: a file older than that when first seen is taken for one left over from before),
//! 3. and no earlier batch of the remember window took it.
//!
//! Files must appear whole: written elsewhere and moved in, as Hadoop's writers do (`hdfs dfs
//! -put` writes `NAME._COPYING_` and renames it; such names are skipped, as are names
//! starting with `_` or `.`). A file appended to after a batch took it is not read again.

use crate::checkpoint::NodeCheckpoint;
use crate::dstream::SourceState;
use crate::time::Time;
use ember_core::{Context, Rdd, Result};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long a file stream remembers the files it took (Spark's
/// `spark.streaming.fileStream.minRememberDuration`).
const MIN_REMEMBER: Duration = Duration::from_secs(60);

/// The files a file stream took, by batch.
pub(crate) struct FileSelector {
    directory: String,
    remember: Duration,
    /// Files older than the stream are not new to it.
    start: Time,
    taken: BTreeMap<Time, Vec<String>>,
    recent: HashSet<String>,
}

impl FileSelector {
    pub(crate) fn new(directory: &str, batch: Duration, start: Time) -> FileSelector {
        let batches = MIN_REMEMBER.as_millis().div_ceil(batch.as_millis()) as u32;
        FileSelector {
            directory: directory.to_string(),
            remember: batch * batches,
            start,
            taken: BTreeMap::new(),
            recent: HashSet::new(),
        }
    }

    /// The batch of time `t`: the new files' lines, or an empty RDD.
    ///
    /// # Errors
    /// The directory cannot be listed, or a file read.
    pub(crate) fn batch(&mut self, ctx: &Context, t: Time) -> Result<Rdd<String>> {
        let threshold = self.start.max(t - self.remember).millis();
        let mut files: Vec<String> = ctx
            .list_status(&self.directory)?
            .into_iter()
            .filter(|f| f.modification_time > threshold && f.modification_time <= t.millis())
            .map(|f| f.path)
            .filter(|path| !self.recent.contains(path))
            .collect();
        files.sort();
        self.forget_before(t - self.remember);
        self.recent.extend(files.iter().cloned());
        self.taken.insert(t, files.clone());
        if !files.is_empty() {
            tracing::info!("batch {t}: {} new files in {}", files.len(), self.directory);
        }
        read(ctx, &files)
    }

    fn forget_before(&mut self, time: Time) {
        let keep = self.taken.split_off(&(time + Duration::from_millis(1)));
        for path in std::mem::replace(&mut self.taken, keep)
            .into_values()
            .flatten()
        {
            self.recent.remove(&path);
        }
    }
}

/// The lines of `files`, or an empty RDD.
fn read(ctx: &Context, files: &[String]) -> Result<Rdd<String>> {
    match files.is_empty() {
        true => Ok(ctx.empty()),
        false => ctx.text_file(&files.join(","), 0),
    }
}

impl SourceState<String> for Arc<Mutex<FileSelector>> {
    fn save(&self, data: &mut NodeCheckpoint) {
        let selector = self.lock();
        data.start_ms = Some(selector.start.millis());
        for (time, files) in &selector.taken {
            data.files.insert(time.millis(), files.clone());
        }
    }

    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<Vec<(Time, Rdd<String>)>> {
        let mut selector = self.lock();
        if let Some(start) = data.start_ms {
            selector.start = Time::from_millis(start);
        }
        let mut batches = Vec::new();
        for (&time, files) in &data.files {
            let time = Time::from_millis(time);
            selector.recent.extend(files.iter().cloned());
            selector.taken.insert(time, files.clone());
            batches.push((time, read(ctx, files)?));
        }
        Ok(batches)
    }
}
