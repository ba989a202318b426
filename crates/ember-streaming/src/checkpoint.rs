//! Metadata checkpoints and recovery after the driver fails (Spark's `Checkpoint`,
//! `CheckpointWriter` and `StreamingContext.getOrCreate`).
//!
//! # What is written
//!
//! With a checkpoint directory set, every completed batch writes `<dir>/checkpoint-<time>`:
//! a small JSON file with the batch interval, the zero time the batch times count from, the
//! time of the batch just completed, the shape of the stream graph, and for each stream what
//! it needs to be rebuilt as it was: the checkpoint files of its RDDs that have one (the state
//! of stateful streams and incremental windows, cut from their lineage every checkpoint
//! interval) and, for a file stream, the files each remembered batch took. The two newest
//! files are kept: a reader that finds the newest torn falls back to the one before.
//!
//! # Recovery
//!
//! Closures cannot be read back from a file, so unlike Spark's, ember's `get_or_create`
//! always runs the application's function that builds the streams, and then, if the
//! directory holds a checkpoint, checks that the graph it built is the one the checkpoint was
//! written by (same streams, in the same order, with the same slides) and restores it: batch
//! times count from the old zero time, streams get back the RDDs they had, and batches start
//! again right after the last completed one. The batches that were queued or running when
//! the driver died, and those due while it was down, run then, one after the other, so with
//! a source that can be read again (files) every batch's output is what it would have been.
//! Received blocks and queued RDDs are not in the checkpoint: such streams come back empty
//! for the batches lost.

use crate::dstream::GraphNode;
use crate::output::OutputOp;
use crate::time::Time;
use ember_core::{Context, Error, Result};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// The version of the checkpoint's layout; a checkpoint of another is refused.
const FORMAT: u32 = 1;

/// What a metadata checkpoint holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    format: u32,
    ember_version: String,
    pub(crate) batch_ms: i64,
    /// Each stream of the graph, `name every <slide> ms`, in graph order.
    pub(crate) graph: Vec<String>,
    pub(crate) zero_ms: i64,
    /// The last batch that completed.
    pub(crate) time_ms: i64,
    pub(crate) nodes: Vec<NodeCheckpoint>,
}

/// What one stream needs to be rebuilt as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeCheckpoint {
    /// The checkpoint directories of its RDDs, by batch time (ms).
    pub(crate) rdds: BTreeMap<i64, String>,
    /// A file stream's files, by batch time (ms).
    pub(crate) files: BTreeMap<i64, Vec<String>>,
    /// A file stream's start: files older are not new to it.
    pub(crate) start_ms: Option<i64>,
    /// A count window's state after each of its latest batches, by batch time (ms).
    #[serde(default)]
    pub(crate) count_window: BTreeMap<i64, CountWindowCheckpoint>,
    /// The state of an input stream made outside this crate (an [`InputSource`]'s).
    ///
    /// [`InputSource`]: crate::InputSource
    #[serde(default)]
    pub(crate) source: Option<serde_json::Value>,
}

/// What a count window knows after a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CountWindowCheckpoint {
    /// Records numbered so far.
    pub(crate) total: u64,
    /// The next window to emit.
    pub(crate) next: u64,
    /// The checkpoint of the records that may still fall in windows `next..`.
    pub(crate) kept: String,
}

impl NodeCheckpoint {
    /// Every RDD checkpoint it names.
    fn rdd_files(&self) -> impl Iterator<Item = &String> {
        let kept = self.count_window.values().map(|c| &c.kept);
        self.rdds.values().chain(kept)
    }
}

/// Every stream the outputs read, each once, parents before children, in the order the
/// outputs were registered: the same for the same application code.
pub(crate) fn graph_nodes(outputs: &[Arc<OutputOp>]) -> Vec<Arc<dyn GraphNode>> {
    fn visit(node: &Arc<dyn GraphNode>, seen: &mut Vec<Arc<dyn GraphNode>>) {
        if seen.iter().any(|s| Arc::ptr_eq(s, node)) {
            return;
        }
        for parent in &node.base().parents {
            visit(parent, seen);
        }
        seen.push(node.clone());
    }
    let mut seen = Vec::new();
    for output in outputs {
        visit(&output.stream, &mut seen);
    }
    seen
}

fn fingerprint(nodes: &[Arc<dyn GraphNode>]) -> Vec<String> {
    let describe = |n: &Arc<dyn GraphNode>| {
        format!("{} every {} ms", n.base().name, n.base().slide.as_millis())
    };
    nodes.iter().map(describe).collect()
}

fn file_name(dir: &str, time: Time) -> String {
    format!("{}/checkpoint-{}", dir.trim_end_matches('/'), time.millis())
}

/// Writes a metadata checkpoint after every batch.
pub(crate) struct Checkpointer {
    pub(crate) dir: String,
    pub(crate) nodes: Vec<Arc<dyn GraphNode>>,
    pub(crate) batch: Duration,
    pub(crate) zero: Time,
    /// The RDD checkpoints the two newest metadata checkpoints name, newest last: those
    /// neither names any more are deleted.
    pub(crate) named: Mutex<VecDeque<BTreeSet<String>>>,
    /// The metadata checkpoints in the directory, oldest first; empty until the first write.
    pub(crate) kept: Mutex<VecDeque<Time>>,
}

impl Checkpointer {
    /// Writes the checkpoint of batch `time`, just completed, and removes all but the newest
    /// two. A failure is logged: the stream goes on, with an older checkpoint to recover from.
    pub(crate) fn write(&self, ctx: &Context, time: Time) {
        let checkpoint = Checkpoint {
            format: FORMAT,
            ember_version: env!("CARGO_PKG_VERSION").to_string(),
            batch_ms: self.batch.as_millis() as i64,
            graph: fingerprint(&self.nodes),
            zero_ms: self.zero.millis(),
            time_ms: time.millis(),
            nodes: self.nodes.iter().map(|n| n.checkpoint_data()).collect(),
        };
        let written = serde_json::to_vec_pretty(&checkpoint)
            .map_err(|e| Error::Internal(e.to_string()))
            .and_then(|bytes| ctx.env().write_file(&file_name(&self.dir, time), &bytes));
        match written {
            Ok(()) => {
                self.remove_older(ctx, time);
                self.remove_unnamed_rdds(ctx, &checkpoint);
            }
            Err(e) => tracing::warn!("could not write the checkpoint of batch {time}: {e}"),
        }
    }

    /// Deletes the RDD checkpoints that only metadata checkpoints now removed named: a
    /// stateful stream writes one every checkpoint interval, for as long as it runs.
    fn remove_unnamed_rdds(&self, ctx: &Context, checkpoint: &Checkpoint) {
        let newest: BTreeSet<String> = checkpoint
            .nodes
            .iter()
            .flat_map(|n| n.rdd_files().cloned())
            .collect();
        let mut named = self.named.lock();
        named.push_back(newest);
        while named.len() > 2 {
            let oldest = named.pop_front().unwrap_or_default();
            for dir in oldest
                .iter()
                .filter(|d| !named.iter().any(|n| n.contains(*d)))
            {
                if let Err(e) = ctx.env().delete_dir(dir) {
                    tracing::warn!("could not remove old checkpoint {dir}: {e}");
                }
            }
        }
    }

    /// Removes all but the two newest metadata checkpoints after `written` was. The directory
    /// is listed once, for those an earlier driver left; later ones are known.
    fn remove_older(&self, ctx: &Context, written: Time) {
        let mut kept = self.kept.lock();
        if kept.is_empty() {
            match checkpoint_times(ctx, &self.dir) {
                Ok(mut times) => {
                    times.sort_unstable();
                    kept.extend(times);
                }
                Err(e) => tracing::warn!("could not list old checkpoints: {e}"),
            }
        }
        if kept.back() != Some(&written) {
            kept.push_back(written);
        }
        while kept.len() > 2 {
            let Some(old) = kept.pop_front() else { break };
            if let Err(e) = ctx.env().delete_file(&file_name(&self.dir, old)) {
                tracing::warn!("could not remove an old checkpoint: {e}");
            }
        }
    }
}

/// The batch times of the checkpoints in `dir`; none when it does not exist.
fn checkpoint_times(ctx: &Context, dir: &str) -> Result<Vec<Time>> {
    let files = match ctx.list_status(dir) {
        Ok(files) => files,
        Err(e) if e.to_string().contains("does not exist") => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(files
        .iter()
        .filter_map(|f| {
            f.path
                .rsplit('/')
                .next()?
                .strip_prefix("checkpoint-")?
                .parse()
                .ok()
        })
        .map(Time::from_millis)
        .collect())
}

/// The newest readable checkpoint in `dir`, if any.
///
/// # Errors
/// The directory cannot be listed, or holds checkpoints none of which can be read.
pub(crate) fn read_latest(ctx: &Context, dir: &str) -> Result<Option<Checkpoint>> {
    let mut times = checkpoint_times(ctx, dir)?;
    times.sort_unstable_by(|a, b| b.cmp(a));
    let mut problems = Vec::new();
    for time in &times {
        let file = file_name(dir, *time);
        let parsed = ctx.env().read_file(&file).and_then(|bytes| {
            serde_json::from_slice::<Checkpoint>(&bytes).map_err(|e| {
                Error::Input(format!("{file} is not an ember streaming checkpoint: {e}"))
            })
        });
        match parsed {
            Ok(checkpoint) => return Ok(Some(checkpoint)),
            Err(e) => {
                tracing::warn!("skipping checkpoint {file}: {e}");
                problems.push(e.to_string());
            }
        }
    }
    match problems.is_empty() {
        true => Ok(None),
        false => Err(Error::Input(format!(
            "no checkpoint in {dir} can be read ({}); delete the directory, or give \
             get_or_create another, to start afresh",
            problems.join("; ")
        ))),
    }
}

impl Checkpoint {
    /// Checks that the application that built `nodes` every `batch` can take this checkpoint
    /// over, written in `dir`.
    ///
    /// # Errors
    /// Another layout, batch interval or stream graph: the message says which, and the fix.
    pub(crate) fn check(
        &self,
        dir: &str,
        batch: Duration,
        nodes: &[Arc<dyn GraphNode>],
    ) -> Result<()> {
        let afresh =
            format!("delete {dir}, or give get_or_create another directory, to start afresh");
        if self.format != FORMAT {
            return Err(Error::Input(format!(
                "the checkpoint in {dir} was written by ember {} in a layout this build ({}) \
                 does not read; {afresh}",
                self.ember_version,
                env!("CARGO_PKG_VERSION")
            )));
        }
        if self.batch_ms != batch.as_millis() as i64 {
            return Err(Error::Input(format!(
                "the checkpoint in {dir} has a batch interval of {} ms, but the application's \
                 is {} ms; use the same interval, or {afresh}",
                self.batch_ms,
                batch.as_millis()
            )));
        }
        let graph = fingerprint(nodes);
        if self.graph != graph {
            return Err(Error::Input(format!(
                "the checkpoint in {dir} was written by another application, or one whose \
                 streams differ (it has [{}], this one [{}]); {afresh}",
                self.graph.join(", "),
                graph.join(", ")
            )));
        }
        Ok(())
    }
}
