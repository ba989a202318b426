//! Checkpoints: saving an RDD's partitions so that its lineage can be forgotten (Spark's
//! `RDDCheckpointData`, `ReliableCheckpointRDD` and `LocalCheckpointRDD`).
//!
//! # Two kinds
//! - A *reliable* checkpoint ([`Rdd::checkpoint`]) writes every partition to
//!   `<checkpoint dir>/rdd-<id>/part-NNNNN` on a file system every process reads: a local
//!   directory for `local[N]` and `local-cluster` (whose executors share this machine), HDFS or
//!   S3 on a cluster. It survives lost executors and is read instead of recomputing the lineage.
//! - A *local* checkpoint ([`Rdd::local_checkpoint`]) keeps the partitions as cached blocks in the
//!   executors' block managers, on disk as well as in memory. It is fast, but a lost block cannot
//!   be recomputed: the lineage is gone, and a job that needs it fails saying so.
//!
//! # How an RDD is checkpointed
//! 1. `checkpoint` only marks the RDD (in its [`RddCore`], shared by every handle), as Spark does:
//!    the partitions are not known until a job computes them.
//! 2. After every job [`after_job`] walks the job's lineage from its final RDD. A marked RDD is
//!    checkpointed now; its own ancestors are not walked (only the nearest marked RDDs are
//!    checkpointed by one job, as with Spark's defaults).
//! 3. A reliable checkpoint runs a second job that writes the partitions through the output
//!    commit protocol of `save_as_text_file` (see `save`): a failed write leaves no files, and the
//!    RDD stays marked, to be tried again after the next job. If the RDD is persisted, this job
//!    reads the cached blocks; otherwise it computes the lineage a second time (persist first).
//!    A local checkpoint runs a job over the partitions no executor has cached yet.
//! 4. The RDD's core then records the truncation: the checkpoint RDD that is now its only
//!    parent (one-to-one, with the same partitions), and the RDD that stands in for it in tasks.
//!
//! # What truncation changes
//! - The DAG scheduler asks [`dependencies_of`], not the RDD, for parents: a checkpointed RDD has
//!   one narrow parent, the checkpoint RDD, which has none. Shuffles above it are no longer
//!   stages of later jobs; preferred locations come from the checkpoint files' hosts
//!   ([`preferred_locations_of`]).
//! - Tasks ship a checkpointed RDD as its stand-in ([`CheckpointedRdd`], same id and storage
//!   level): a persisted partition is still read from the cache first, and otherwise from the
//!   checkpoint, never from the old lineage.
//!
//! # On-disk format
//! A part file holds the partition's elements in order as a record stream of the shuffle's codec
//! (`shuffle::codec`: self-describing chunks of bincode records, uncompressed here), so a reader
//! needs to know only the element type.

use super::save::PartFormat;
use super::{BoxIter, Dependency, Rdd, RddBase, RddCompute, RddCore, RddRef};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::master::Master;
use crate::rdd::actions::CountFn;
use crate::rdd::remote_input::{list_remote, RangeReader};
use crate::shuffle::{ChunkReader, ChunkWriter};
use crate::storage::StorageLevel;
use crate::task_context::TaskContext;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashSet;
use std::io::Write;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// The checkpoint state of one RDD, shared by every handle of it.
#[derive(Default)]
pub(crate) struct CheckpointCell(Mutex<State>);

impl std::fmt::Debug for CheckpointCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.0.lock() {
            State::None => "none",
            State::Marked(_) => "marked",
            State::InProgress => "in progress",
            State::Done(_) => "checkpointed",
        };
        f.write_str(state)
    }
}

/// ```text
///  None ──checkpoint()──▶ Marked ──a job computed it──▶ InProgress ──written──▶ Done
///                           ▲                               │
///                           └───────── write failed ────────┘
/// ```
#[derive(Default)]
enum State {
    #[default]
    None,
    /// Waiting for a job to compute the RDD; holds how to checkpoint it.
    Marked(Arc<dyn Materialize>),
    /// A job is writing it; other jobs leave it alone.
    InProgress,
    Done(Truncation),
}

/// What replaces a checkpointed RDD's lineage.
#[derive(Clone)]
struct Truncation {
    /// The checkpoint RDD: the only parent from now on.
    parent: Arc<dyn RddBase>,
    /// The `RddRef<T>` tasks carry instead of the RDD (typed, hence `Any`).
    stand_in: Arc<dyn Any + Send + Sync>,
    /// The directory of the partition files; `None` for a local checkpoint.
    file: Option<String>,
    local: bool,
}

/// Checkpoints one RDD once a job has computed it.
trait Materialize: Send + Sync {
    fn materialize(&self, ctx: &Context) -> Result<Truncation>;
    fn is_local(&self) -> bool;
}

impl CheckpointCell {
    /// What tasks carry instead of the RDD, once it is checkpointed.
    pub(crate) fn replacement<T: Data>(&self) -> Option<RddRef<T>> {
        match &*self.0.lock() {
            State::Done(t) => t.stand_in.downcast_ref::<RddRef<T>>().cloned(),
            _ => None,
        }
    }

    fn truncation(&self) -> Option<Truncation> {
        match &*self.0.lock() {
            State::Done(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// Marks the RDD. A reliable mark leaves any earlier one; a local one replaces a reliable
    /// mark, as Spark's `localCheckpoint` overrides `checkpoint`. A checkpointed RDD stays as it is.
    fn mark(&self, how: Arc<dyn Materialize>) {
        let mut state = self.0.lock();
        match &*state {
            State::None => *state = State::Marked(how),
            State::Marked(old) if how.is_local() && !old.is_local() => {
                tracing::warn!("RDD was marked for a reliable checkpoint: a local one replaces it");
                *state = State::Marked(how);
            }
            State::Done(_) if how.is_local() => {
                tracing::warn!("not marking the RDD for a local checkpoint: it is checkpointed");
            }
            _ => {}
        }
    }

    /// Takes the mark for checkpointing now, so that no other job does it too.
    fn start(&self) -> Option<Arc<dyn Materialize>> {
        let mut state = self.0.lock();
        match std::mem::take(&mut *state) {
            State::Marked(how) => {
                *state = State::InProgress;
                Some(how)
            }
            other => {
                *state = other;
                None
            }
        }
    }

    fn finish(&self, how: Arc<dyn Materialize>, outcome: &Result<Truncation>) {
        *self.0.lock() = match outcome {
            Ok(t) => State::Done(t.clone()),
            Err(_) => State::Marked(how),
        };
    }

    fn is_marked(&self) -> bool {
        matches!(&*self.0.lock(), State::Marked(_))
    }

    /// Whether the walk after a job stops here: the RDD is checkpointed or being written.
    fn ends_walk(&self) -> bool {
        matches!(&*self.0.lock(), State::Done(_) | State::InProgress)
    }
}

/// The parents of `rdd` as the scheduler sees them: the checkpoint RDD alone once `rdd` is
/// checkpointed (Spark's `RDD.dependencies`).
pub(crate) fn dependencies_of(rdd: &dyn RddBase) -> Vec<Dependency> {
    match rdd.core().checkpoint().truncation() {
        Some(t) => vec![Dependency::Narrow(t.parent)],
        None => rdd.dependencies(),
    }
}

/// Hosts where partition `partition` of `rdd` is cheapest to read: once `rdd` is checkpointed,
/// those of its checkpoint, not of its old input (Spark's `RDD.preferredLocations`).
pub(crate) fn preferred_locations_of(rdd: &dyn RddBase, partition: usize) -> Vec<String> {
    match rdd.core().checkpoint().truncation() {
        Some(t) => t.parent.preferred_locations(partition),
        None => rdd.preferred_locations(partition),
    }
}

/// The application's checkpoint settings, kept as a [`Context::extension`].
#[derive(Default)]
struct Checkpoints {
    dir: Mutex<Option<String>>,
    /// Whether any RDD was ever marked: until then a job's lineage is not walked.
    any_marked: AtomicBool,
}

fn checkpoints(ctx: &Context) -> Arc<Checkpoints> {
    ctx.extension(|_| Checkpoints::default())
}

/// Checkpoints the RDDs marked in the lineage of `rdd`, which a job has just computed (Spark's
/// `RDD.doCheckpoint`, called after `runJob`).
///
/// # Errors
/// Writing a checkpoint failed; the RDD stays marked.
pub(crate) fn after_job(ctx: &Context, rdd: Arc<dyn RddBase>) -> Result<()> {
    if !checkpoints(ctx).any_marked.load(Ordering::Acquire) {
        return Ok(());
    }
    let mut marked = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![rdd];
    while let Some(r) = stack.pop() {
        if !seen.insert(r.core().id()) {
            continue;
        }
        let cell = r.core().checkpoint();
        if cell.is_marked() {
            marked.push(r);
            continue;
        }
        if cell.ends_walk() {
            continue;
        }
        for dep in r.dependencies() {
            match dep {
                Dependency::Narrow(parent) => stack.push(parent),
                Dependency::Shuffle(shuffle) => stack.push(shuffle.rdd()),
            }
        }
    }
    for r in marked {
        let cell = r.core().checkpoint();
        if let Some(how) = cell.start() {
            let outcome = how.materialize(ctx);
            cell.finish(how, &outcome);
            outcome?;
        }
    }
    Ok(())
}

impl Context {
    /// Sets the directory under which RDDs are checkpointed (Spark's `setCheckpointDir`): a
    /// local path, `hdfs://` or `s3a://` URL (a bare path is resolved against `fs.defaultFS`).
    /// As Spark does, a new subdirectory named by a random UUID is made under it for this
    /// application; [`checkpoint_dir`](Self::checkpoint_dir) returns that one.
    ///
    /// On a cluster manager's master a local directory is accepted with a warning: executors on
    /// other hosts write
    /// their partitions where others cannot read them. `local[N]` and `local-cluster` executors
    /// share this machine, so a local directory is what they need.
    ///
    /// ```
    /// # let ctx = ember_core::Context::with_master("local[1]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// ctx.set_checkpoint_dir(dir.path().to_str().unwrap()).unwrap();
    /// let made = ctx.checkpoint_dir().unwrap();
    /// assert!(made.starts_with("file://"));
    /// assert!(std::path::Path::new(made.trim_start_matches("file://")).is_dir());
    /// ```
    ///
    /// # Errors
    /// The path is not a URL ember can write to, or the local directory cannot be made.
    pub fn set_checkpoint_dir(&self, dir: &str) -> Result<()> {
        let env = self.env();
        let base = ember_hadoop::object_stores::qualify(dir, &env.hadoop)?;
        let url = format!("{}/{}", base.trim_end_matches('/'), uuid::Uuid::new_v4());
        match url.strip_prefix("file://") {
            Some(local) => {
                if matches!(self.master(), Master::External { .. }) {
                    tracing::warn!(
                        "ember is not running on this machine alone, so the checkpoint directory \
                         must not be on the local file system: {dir} appears to be local; use an \
                         hdfs:// or s3a:// directory"
                    );
                }
                std::fs::create_dir_all(local).map_err(|e| Error::io(local, e))?;
            }
            // Object stores have no directories: the first part file makes it. Resolving checks
            // that the scheme and its settings can be used.
            None => drop(env.resolve(&url)?),
        }
        *checkpoints(self).dir.lock() = Some(url);
        Ok(())
    }

    /// The directory RDDs are checkpointed under, once set with
    /// [`set_checkpoint_dir`](Self::set_checkpoint_dir): a URL ending in this application's
    /// UUID.
    pub fn checkpoint_dir(&self) -> Option<String> {
        checkpoints(self).dir.lock().clone()
    }
}

impl<T: Data> Rdd<T> {
    /// Marks this RDD for checkpointing (Spark's `RDD.checkpoint`): after the next job that
    /// computes it, its partitions are written to `<checkpoint dir>/rdd-<id>/` and its lineage is
    /// replaced by those files, so later jobs neither recompute nor plan its parents. Persist the
    /// RDD first, or the writing job computes it a second time.
    ///
    /// ```
    /// use ember_core::{Context, Fn, StorageLevel};
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// ctx.set_checkpoint_dir(dir.path().to_str().unwrap()).unwrap();
    /// let counts = ctx.parallelize(vec!["a", "b", "a"].into_iter().map(String::from).collect(), 2)
    ///     .map(Fn!(|w: String| (w, 1)))
    ///     .reduce_by_key(Fn!(|a: i32, b: i32| a + b))
    ///     .persist(StorageLevel::MEMORY_ONLY);
    /// counts.checkpoint().unwrap();
    /// assert!(!counts.is_checkpointed());
    /// assert_eq!(counts.count().unwrap(), 2);
    /// assert!(counts.is_checkpointed());
    /// assert!(counts.get_checkpoint_file().unwrap().ends_with(&format!("/rdd-{}", counts.id())));
    /// // The shuffle is gone from the lineage: one parent, which has none.
    /// let deps = counts.dependencies();
    /// assert_eq!(deps.len(), 1);
    /// match &deps[0] {
    ///     ember_core::rdd::Dependency::Narrow(parent) => assert!(parent.dependencies().is_empty()),
    ///     _ => unreachable!(),
    /// }
    /// let mut got = counts.collect().unwrap();
    /// got.sort();
    /// assert_eq!(got, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    /// ```
    ///
    /// # Errors
    /// No checkpoint directory is set: call [`Context::set_checkpoint_dir`] first.
    pub fn checkpoint(&self) -> Result<()> {
        let ctx = self.context();
        let Some(dir) = ctx.checkpoint_dir() else {
            return Err(Error::Input(
                "checkpoint directory has not been set in the Context: call \
                 Context::set_checkpoint_dir first"
                    .into(),
            ));
        };
        let how = ReliableCheckpoint {
            rdd: Arc::downgrade(&self.rdd_ref().0),
            dir: format!("{dir}/rdd-{}", self.id()),
        };
        self.mark(Arc::new(how));
        Ok(())
    }

    /// Marks this RDD for a local checkpoint (Spark's `RDD.localCheckpoint`): it is persisted
    /// (at `MEMORY_AND_DISK`, or its own level with disk added), and after the next job that
    /// computes it, its lineage is dropped. Faster than [`checkpoint`](Self::checkpoint), but a
    /// partition lost with its executor, or dropped by `unpersist`, cannot be computed again:
    /// a job that needs it fails and says so.
    ///
    /// ```
    /// use ember_core::{Context, Fn, StorageLevel};
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let squares = ctx.range(0, 10, 1, 2).unwrap().map(Fn!(|x: i64| x * x)).local_checkpoint();
    /// assert_eq!(squares.storage_level(), StorageLevel::MEMORY_AND_DISK);
    /// assert_eq!(squares.sum().unwrap(), 285.0);
    /// assert!(squares.is_checkpointed());
    /// assert_eq!(squares.get_checkpoint_file(), None);
    /// squares.unpersist();
    /// let err = squares.sum().unwrap_err().to_string();
    /// assert!(err.contains("checkpoint block rdd_"), "{err}");
    /// ```
    pub fn local_checkpoint(&self) -> Rdd<T> {
        let level = self.storage_level();
        let level = if level.is_valid() {
            StorageLevel {
                use_disk: true,
                ..level
            }
        } else {
            StorageLevel::MEMORY_AND_DISK
        };
        self.persist(level);
        let how = LocalCheckpoint {
            rdd: Arc::downgrade(&self.rdd_ref().0),
        };
        self.mark(Arc::new(how));
        self.clone()
    }

    fn mark(&self, how: Arc<dyn Materialize>) {
        self.rdd_ref().0.core().checkpoint().mark(how);
        checkpoints(self.context())
            .any_marked
            .store(true, Ordering::Release);
    }

    /// Whether this RDD has been checkpointed, reliably or locally, by a job since it was marked
    /// (Spark's `isCheckpointed`).
    pub fn is_checkpointed(&self) -> bool {
        self.rdd_ref().0.core().checkpoint().truncation().is_some()
    }

    /// Whether this RDD has been checkpointed locally (see
    /// [`local_checkpoint`](Self::local_checkpoint)).
    pub fn is_locally_checkpointed(&self) -> bool {
        let truncation = self.rdd_ref().0.core().checkpoint().truncation();
        truncation.is_some_and(|t| t.local)
    }

    /// The directory its partitions were written to, once reliably checkpointed (Spark's
    /// `getCheckpointFile`); `None` before, and for a local checkpoint.
    pub fn get_checkpoint_file(&self) -> Option<String> {
        self.rdd_ref().0.core().checkpoint().truncation()?.file
    }

    /// Its parents as the scheduler sees them (Spark's `RDD.dependencies`): once checkpointed,
    /// only the RDD that reads the checkpoint, which has none.
    pub fn dependencies(&self) -> Vec<Dependency> {
        dependencies_of(&*self.rdd_ref().base())
    }
}

/// How an RDD of `T` is checkpointed to files. Holds the RDD weakly: the RDD holds this.
struct ReliableCheckpoint<T: Data> {
    rdd: Weak<dyn RddCompute<T>>,
    /// `<checkpoint dir>/rdd-<id>`.
    dir: String,
}

fn gone() -> Error {
    Error::Internal("an RDD marked for a checkpoint was dropped while being checkpointed".into())
}

impl<T: Data> Materialize for ReliableCheckpoint<T> {
    fn materialize(&self, ctx: &Context) -> Result<Truncation> {
        let rdd = self.rdd.upgrade().ok_or_else(gone)?;
        let original = Rdd::from_ref(ctx, RddRef(rdd.clone()));
        // A directory of that name can only be a leftover; refuse rather than mix files.
        original.save_parts_to(&self.dir, true, CheckpointRecords)?;
        let files = ReliableCheckpointRdd::<T>::open(ctx, &self.dir, rdd.num_partitions())?;
        tracing::info!(
            "checkpointed RDD {} to {} as RDD {}",
            rdd.core().id(),
            self.dir,
            files.core.id()
        );
        Ok(truncation(rdd, files, Some(self.dir.clone())))
    }

    fn is_local(&self) -> bool {
        false
    }
}

fn truncation<T: Data>(
    rdd: Arc<dyn RddCompute<T>>,
    parent: impl RddCompute<T>,
    file: Option<String>,
) -> Truncation {
    let parent = RddRef::<T>(Arc::new(parent));
    let stand_in = CheckpointedRdd {
        core: rdd.core().detached(),
        parent: parent.clone(),
    };
    Truncation {
        parent: parent.base(),
        stand_in: Arc::new(RddRef::<T>(Arc::new(stand_in))),
        local: file.is_none(),
        file,
    }
}

/// How an RDD of `T` is checkpointed in the block managers.
struct LocalCheckpoint<T: Data> {
    rdd: Weak<dyn RddCompute<T>>,
}

impl<T: Data> Materialize for LocalCheckpoint<T> {
    fn materialize(&self, ctx: &Context) -> Result<Truncation> {
        let rdd = self.rdd.upgrade().ok_or_else(gone)?;
        let (id, partitions) = (rdd.core().id(), rdd.num_partitions());
        // A job that computed only some partitions (`take`, `first`) leaves the others to do.
        let cached = &ctx.env().block_manager_master;
        let missing: Vec<usize> = (0..partitions)
            .filter(|&p| cached.locations(id, p).is_empty())
            .collect();
        if !missing.is_empty() {
            let original = Rdd::from_ref(ctx, RddRef(rdd.clone()));
            ctx.run_job(&original, CountFn, Some(&missing))?;
        }
        let parent = LocalCheckpointRdd::<T> {
            core: ctx.new_rdd_core("local_checkpoint"),
            rdd: id,
            partitions,
            _t: PhantomData,
        };
        Ok(truncation(rdd, parent, None))
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// A partition as a checkpoint part file: its records in the shuffle's encoding.
#[derive(Serialize, Deserialize)]
struct CheckpointRecords;

impl<T: Data> PartFormat<T> for CheckpointRecords {
    fn write_part(&self, elements: BoxIter<T>, out: &mut dyn Write) -> std::io::Result<()> {
        let mut records = ChunkWriter::to(out, false, PathBuf::from("checkpoint part"));
        for x in elements {
            records.write(&x).map_err(std::io::Error::other)?;
        }
        records.finish().map(|_| ()).map_err(std::io::Error::other)
    }
}

/// The RDD that stands in for a checkpointed one in tasks: the same id and storage level (so
/// cached partitions are still found), computed from the checkpoint (Spark's checkpointed `RDD`
/// whose only dependency is its checkpoint RDD).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct CheckpointedRdd<T: Data> {
    core: RddCore,
    parent: RddRef<T>,
}

impl<T: Data> RddBase for CheckpointedRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.parent.0.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.parent.0.preferred_locations(partition)
    }
}

impl<T: Data> RddCompute<T> for CheckpointedRdd<T> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        self.parent.iterator(partition, tc)
    }
}

/// The partitions of a checkpoint directory (Spark's `ReliableCheckpointRDD`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct ReliableCheckpointRdd<T: Data> {
    core: RddCore,
    /// `<checkpoint dir>/rdd-<id>` as a URL.
    dir: String,
    partitions: usize,
    /// Hosts holding each part file, where the file system tells (HDFS); needed by the driver
    /// only.
    #[serde(skip)]
    hosts: Vec<Vec<String>>,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Data> ReliableCheckpointRdd<T> {
    /// The checkpoint written to `dir`, which must hold `partitions` part files.
    fn open(ctx: &Context, dir: &str, partitions: usize) -> Result<Self> {
        let (found, hosts) = part_files(ctx, dir)?;
        if found != partitions {
            return Err(Error::Input(format!(
                "checkpoint {dir} has {found} part files, but the RDD it checkpoints has \
                 {partitions} partitions; remove the directory and run the job again"
            )));
        }
        Ok(ReliableCheckpointRdd {
            core: ctx.new_rdd_core("reliable_checkpoint"),
            dir: dir.to_string(),
            partitions,
            hosts,
            _t: PhantomData,
        })
    }
}

/// How many part files checkpoint `dir` holds, and the hosts of each where the file system
/// tells.
fn part_files(ctx: &Context, dir: &str) -> Result<(usize, Vec<Vec<String>>)> {
    Ok(match dir.strip_prefix("file://") {
        Some(local) => {
            let entries = std::fs::read_dir(local).map_err(|e| Error::io(local, e))?;
            let parts = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
                .count();
            (parts, vec![Vec::new(); parts])
        }
        None => {
            let files = list_remote(ctx.env(), dir)?;
            let hosts: Vec<Vec<String>> = files
                .iter()
                .map(|f| {
                    let mut hosts: Vec<String> = Vec::new();
                    for host in f.blocks.iter().flat_map(|b| &b.hosts) {
                        if host != "localhost" && !hosts.contains(host) {
                            hosts.push(host.clone());
                        }
                    }
                    hosts
                })
                .collect();
            (files.len(), hosts)
        }
    })
}

impl Context {
    /// The RDD of `T` reliably checkpointed to `dir` (what
    /// [`Rdd::get_checkpoint_file`] gave), read back by a later application: how a streaming
    /// application that restarts gets its state again (Spark's `SparkContext.checkpointFile`).
    ///
    /// # Errors
    /// `dir` holds no part files, or cannot be listed.
    pub fn checkpoint_file<T: Data>(&self, dir: &str) -> Result<Rdd<T>> {
        let (parts, _) = part_files(self, dir)?;
        if parts == 0 {
            return Err(Error::Input(format!(
                "{dir} holds no checkpoint part files: it was deleted, or is not a checkpoint"
            )));
        }
        Ok(Rdd::from_impl(
            self,
            ReliableCheckpointRdd::<T>::open(self, dir, parts)?,
        ))
    }
}

impl<T: Data> RddBase for ReliableCheckpointRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.hosts.get(partition).cloned().unwrap_or_default()
    }
}

impl<T: Data> RddCompute<T> for ReliableCheckpointRdd<T> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        let file = format!("{}/part-{partition:05}", self.dir);
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::Input(format!(
                "checkpoint file {file} cannot be read: {e}; it was deleted, or the checkpoint \
                 directory is not shared by every executor (use hdfs:// or s3a:// on a cluster)"
            ))
        };
        Ok(match file.strip_prefix("file://") {
            Some(local) => {
                let handle = std::fs::File::open(local).map_err(|e| unreadable(&e))?;
                Box::new(ChunkReader::<T, _>::new(std::io::BufReader::with_capacity(
                    1 << 16,
                    handle,
                )))
            }
            None => {
                let reader = RangeReader::open(tc.env(), &file, 0).map_err(|e| unreadable(&e))?;
                Box::new(ChunkReader::<T, _>::new(reader))
            }
        })
    }
}

/// The partitions of a local checkpoint: cached blocks of the checkpointed RDD, which the stand-in
/// reads first; computing one here means the block is gone (Spark's `LocalCheckpointRDD`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct LocalCheckpointRdd<T: Data> {
    core: RddCore,
    /// The checkpointed RDD, whose blocks these are.
    rdd: usize,
    partitions: usize,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Data> RddBase for LocalCheckpointRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddCompute<T> for LocalCheckpointRdd<T> {
    fn compute(&self, partition: usize, _: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        Err(Error::Input(format!(
            "checkpoint block rdd_{}_{partition} not found: either the executor that \
             checkpointed this partition is no longer alive, or the RDD was unpersisted; if this \
             keeps happening, use Rdd::checkpoint instead of Rdd::local_checkpoint, which is \
             slower but writes partitions to files that survive lost executors",
            self.rdd
        )))
    }
}
