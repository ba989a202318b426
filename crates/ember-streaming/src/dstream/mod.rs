//! Discretized streams (Spark's `DStream`): a sequence of RDDs, one per batch time, each made
//! from its parents' RDDs of the same time (or of a window of times).
//!
//! # How a DStream makes its RDDs
//!
//! Every DStream is a node of the application's stream graph. A node knows its parents, its
//! slide (how often it has an RDD: the batch interval unless a window says otherwise) and a
//! `compute` function from a batch time to an RDD. `get_or_compute(t)`:
//!
//! 1. returns the RDD made for `t` before, if any: a window reads each of its parent's RDDs
//!    many times, and every reading must see the same RDD (the same cached blocks);
//! 2. otherwise returns nothing when `t` is not a multiple of the slide after the zero time;
//! 3. otherwise computes it, persists it when the stream was asked to (`persist`, `cache`, and
//!    windows by default), marks it for checkpointing when `t` falls on the checkpoint
//!    interval, and keeps it.
//!
//! Kept RDDs are forgotten (and unpersisted) once no stream can ask for them again: after each
//! batch, every node drops the RDDs older than its remember duration, which the graph sets from
//! the outputs down: a window's parent remembers the window's length more than the window does.
//!
//! Closures given to stream operations are the same `Fn!` closures RDD operations take; each
//! batch's RDD gets a clone of them, so they must be `Clone` (every `Fn!` closure of `Clone`
//! captures is).

mod count_window;
mod map_with_state;
mod ops;
mod pair;
mod state;
mod window;

use crate::checkpoint::NodeCheckpoint;
use crate::context::StreamingContext;
use crate::time::Time;
use ember_core::{Context, Data, Rdd, Result, StorageLevel};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use map_with_state::{MapWithStateDStream, State, StateSpec};

/// A stream of RDDs, one per batch (Spark's `DStream`). Cheap to clone: clones are the same
/// stream.
pub struct DStream<T: Data> {
    pub(crate) node: Arc<Node<T>>,
    pub(crate) ssc: StreamingContext,
}

impl<T: Data> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: self.node.clone(),
            ssc: self.ssc.clone(),
        }
    }
}

/// How a node makes its RDD for a batch time; it gets the node itself, for streams that build
/// on their own previous RDD (state, incremental windows).
type Compute<T> = Box<dyn Fn(&Node<T>, Time) -> Result<Option<Rdd<T>>> + Send + Sync>;

/// One stream of the graph, with the RDDs it made.
pub(crate) struct Node<T: Data> {
    pub(crate) base: NodeBase,
    generated: Mutex<BTreeMap<Time, Rdd<T>>>,
    compute: Compute<T>,
    /// A source's own state, for metadata checkpoints.
    source: OnceLock<Box<dyn SourceState<T>>>,
}

/// What a source stream keeps besides its RDDs (a file stream's files per batch), saved in
/// metadata checkpoints so that a restarted driver rebuilds the source as it was.
pub(crate) trait SourceState<T: Data>: Send + Sync {
    /// Adds the source's state to its stream's checkpoint.
    fn save(&self, data: &mut NodeCheckpoint);

    /// Takes back what `save` saved; the RDDs of the batches it remembers.
    ///
    /// # Errors
    /// Those RDDs cannot be made.
    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<Vec<(Time, Rdd<T>)>>;
}

/// What every node has whatever its element type: the graph walks nodes through it.
pub(crate) struct NodeBase {
    pub(crate) name: String,
    pub(crate) slide: Duration,
    pub(crate) parents: Vec<Arc<dyn GraphNode>>,
    /// How much longer than this node its parents must keep their RDDs (a window's length).
    parent_extra: Duration,
    settings: Mutex<NodeSettings>,
}

#[derive(Default)]
struct NodeSettings {
    zero_time: Option<Time>,
    remember: Duration,
    storage: Option<StorageLevel>,
    checkpoint_interval: Option<Duration>,
    /// The stream builds on its own previous RDD: without checkpoints its lineage would grow
    /// by a batch every batch.
    must_checkpoint: bool,
}

/// A node seen without its element type: what the graph does to every node.
pub(crate) trait GraphNode: Send + Sync {
    fn base(&self) -> &NodeBase;

    /// Forgets (and unpersists) the RDDs older than the remember duration before `time`.
    fn clear_metadata(&self, time: Time);

    /// What a metadata checkpoint keeps of the node: its checkpointed RDDs, its source's
    /// state.
    fn checkpoint_data(&self) -> NodeCheckpoint;

    /// Takes back what [`checkpoint_data`](GraphNode::checkpoint_data) gave, in a restarted
    /// driver.
    ///
    /// # Errors
    /// A checkpointed RDD cannot be read back.
    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<()>;
}

impl NodeBase {
    /// Sets the zero time of this node and its ancestors: batch times count from it.
    pub(crate) fn initialize(&self, zero: Time) {
        let mut settings = self.settings.lock();
        if settings.zero_time.is_some() {
            return;
        }
        settings.zero_time = Some(zero);
        if settings.must_checkpoint && settings.checkpoint_interval.is_none() {
            // Spark's default: the first multiple of the slide of at least 10 seconds.
            let slides =
                (10_000 + crate::time::millis(self.slide) - 1) / crate::time::millis(self.slide);
            settings.checkpoint_interval = Some(self.slide * slides as u32);
        }
        // Checkpointed streams keep twice the interval, so that a recovering driver still finds
        // the RDDs the last checkpoint depends on (as Spark does).
        if let Some(interval) = settings.checkpoint_interval {
            settings.remember = settings.remember.max(2 * interval);
        }
        settings.remember = settings.remember.max(self.slide);
        drop(settings);
        for parent in &self.parents {
            parent.base().initialize(zero);
        }
    }

    /// Makes this node, and its ancestors as far as they feed it, keep RDDs for `duration`.
    pub(crate) fn remember(&self, duration: Duration) {
        let remember = {
            let mut settings = self.settings.lock();
            settings.remember = settings.remember.max(duration).max(self.slide);
            settings.remember
        };
        for parent in &self.parents {
            parent.base().remember(remember + self.parent_extra);
        }
    }

    /// How long the node keeps its RDDs after their batch.
    pub(crate) fn remember_duration(&self) -> Duration {
        self.settings.lock().remember
    }

    pub(crate) fn zero_time(&self) -> Option<Time> {
        self.settings.lock().zero_time
    }

    pub(crate) fn set_storage(&self, level: StorageLevel) {
        self.settings.lock().storage = Some(level);
    }

    pub(crate) fn set_checkpoint_interval(&self, interval: Duration) {
        self.settings.lock().checkpoint_interval = Some(interval);
    }

    /// Marks a stream that builds on its own previous RDD: it is kept in memory and
    /// checkpointed, and the application must set a checkpoint directory.
    pub(crate) fn set_must_checkpoint(&self) {
        let mut settings = self.settings.lock();
        settings.must_checkpoint = true;
        settings.storage.get_or_insert(StorageLevel::MEMORY_ONLY);
    }

    /// The first stream, this one or an ancestor, that must be checkpointed.
    pub(crate) fn needing_checkpoint(&self) -> Option<String> {
        if self.settings.lock().must_checkpoint {
            return Some(self.name.clone());
        }
        self.parents
            .iter()
            .find_map(|p| p.base().needing_checkpoint())
    }

    /// Keeps this stream's RDDs in memory unless it was given a level: a window reads each of
    /// them several times (Spark persists a window's parent the same way).
    pub(crate) fn persist_by_default(&self) {
        self.settings
            .lock()
            .storage
            .get_or_insert(StorageLevel::MEMORY_ONLY);
    }

    fn is_time_valid(&self, time: Time) -> bool {
        match self.zero_time() {
            Some(zero) => time > zero && time.is_multiple_of(zero, self.slide),
            None => false,
        }
    }
}

impl<T: Data> Node<T> {
    pub(crate) fn new(
        name: &str,
        slide: Duration,
        parents: Vec<Arc<dyn GraphNode>>,
        parent_extra: Duration,
        compute: impl Fn(&Node<T>, Time) -> Result<Option<Rdd<T>>> + Send + Sync + 'static,
    ) -> Arc<Node<T>> {
        Arc::new(Node {
            base: NodeBase {
                name: name.to_string(),
                slide,
                parents,
                parent_extra,
                settings: Mutex::new(NodeSettings::default()),
            },
            generated: Mutex::new(BTreeMap::new()),
            compute: Box::new(compute),
            source: OnceLock::new(),
        })
    }

    /// Gives a source stream the state it saves in metadata checkpoints.
    pub(crate) fn set_source(&self, source: impl SourceState<T> + 'static) {
        let _ = self.source.set(Box::new(source));
    }

    /// This stream's RDD for batch `time`, made once (see the module's docs).
    ///
    /// # Errors
    /// Making it failed: a source could not be read, a checkpoint directory is missing.
    pub(crate) fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        if let Some(rdd) = self.generated.lock().get(&time) {
            return Ok(Some(rdd.clone()));
        }
        if !self.base.is_time_valid(time) {
            return Ok(None);
        }
        let Some(rdd) = (self.compute)(self, time)? else {
            return Ok(None);
        };
        let (storage, checkpoint, zero) = {
            let s = self.base.settings.lock();
            (s.storage, s.checkpoint_interval, s.zero_time)
        };
        let rdd = match storage {
            Some(level) => rdd.persist(level),
            None => rdd,
        };
        if let (Some(interval), Some(zero)) = (checkpoint, zero) {
            if time.is_multiple_of(zero, interval) {
                rdd.checkpoint()?;
            }
        }
        Ok(Some(
            self.generated.lock().entry(time).or_insert(rdd).clone(),
        ))
    }

    /// The RDDs of the batch times in `(from, to]` this stream has (Spark's `slice`).
    pub(crate) fn slice(&self, from: Time, to: Time) -> Result<Vec<Rdd<T>>> {
        let mut rdds = Vec::new();
        let mut time = to;
        while time > from {
            if let Some(rdd) = self.get_or_compute(time)? {
                rdds.push(rdd);
            }
            time = time - self.base.slide;
        }
        rdds.reverse();
        Ok(rdds)
    }
}

impl<T: Data> GraphNode for Node<T> {
    fn base(&self) -> &NodeBase {
        &self.base
    }

    fn clear_metadata(&self, time: Time) {
        let (remember, persisted) = {
            let s = self.base.settings.lock();
            (s.remember, s.storage.is_some())
        };
        let old: Vec<Rdd<T>> = {
            let mut generated = self.generated.lock();
            let keep = generated.split_off(&(time - remember + Duration::from_millis(1)));
            std::mem::replace(&mut *generated, keep)
                .into_values()
                .collect()
        };
        if persisted {
            for rdd in &old {
                rdd.unpersist();
            }
        }
        for parent in &self.base.parents {
            parent.clear_metadata(time);
        }
    }

    fn checkpoint_data(&self) -> NodeCheckpoint {
        let mut data = NodeCheckpoint::default();
        for (time, rdd) in self.generated.lock().iter() {
            if let Some(file) = rdd.get_checkpoint_file() {
                data.rdds.insert(time.millis(), file);
            }
        }
        if let Some(source) = self.source.get() {
            source.save(&mut data);
        }
        data
    }

    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<()> {
        let mut restored = Vec::new();
        for (&time, file) in &data.rdds {
            restored.push((Time::from_millis(time), ctx.checkpoint_file::<T>(file)?));
        }
        if let Some(source) = self.source.get() {
            restored.extend(source.restore(ctx, data)?);
        }
        self.generated.lock().extend(restored);
        Ok(())
    }
}

impl<T: Data> DStream<T> {
    /// The streaming context this stream belongs to.
    pub fn context(&self) -> &StreamingContext {
        &self.ssc
    }

    /// How often this stream has an RDD: the batch interval, or a window's slide.
    pub fn slide_duration(&self) -> Duration {
        self.node.base.slide
    }

    /// A new stream of this one's graph made by `compute` from this stream (and `others`).
    pub(crate) fn derive<U: Data>(
        &self,
        name: &str,
        slide: Duration,
        parent_extra: Duration,
        others: Vec<Arc<dyn GraphNode>>,
        compute: impl Fn(&Node<U>, Time) -> Result<Option<Rdd<U>>> + Send + Sync + 'static,
    ) -> DStream<U> {
        let mut parents: Vec<Arc<dyn GraphNode>> = vec![self.node.clone()];
        parents.extend(others);
        DStream {
            node: Node::new(name, slide, parents, parent_extra, compute),
            ssc: self.ssc.clone(),
        }
    }

    /// A stream with each batch's RDD of this one through `f`, on the driver; `f` may use any
    /// RDD operation (Spark's `map` of RDDs per batch).
    pub(crate) fn derive_each<U: Data>(
        &self,
        name: &str,
        f: impl Fn(Rdd<T>) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive_each_at(name, move |rdd, _| f(rdd.clone()))
    }

    /// [`derive_each`](Self::derive_each) with the batch's time.
    pub(crate) fn derive_each_at<U: Data>(
        &self,
        name: &str,
        f: impl Fn(&Rdd<T>, Time) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        let parent = self.node.clone();
        self.derive(
            name,
            self.slide_duration(),
            Duration::ZERO,
            vec![],
            move |_, t| Ok(parent.get_or_compute(t)?.map(|rdd| f(&rdd, t))),
        )
    }

    /// Keeps each batch's RDD at `level` (Spark's `persist`).
    pub fn persist(&self, level: StorageLevel) -> DStream<T> {
        self.node.base.set_storage(level);
        self.clone()
    }

    /// `persist(StorageLevel::MEMORY_ONLY)`.
    pub fn cache(&self) -> DStream<T> {
        self.persist(StorageLevel::MEMORY_ONLY)
    }

    /// Checkpoints this stream's RDDs every `interval` (a multiple of its slide), cutting their
    /// lineage; needs [`StreamingContext::checkpoint`].
    ///
    /// # Errors
    /// `interval` is not a whole multiple of the slide.
    pub fn checkpoint(&self, interval: Duration) -> Result<DStream<T>> {
        if !crate::time::is_whole_multiple(interval, self.slide_duration()) {
            return Err(ember_core::Error::Input(format!(
                "checkpoint interval {interval:?} of {} is not a multiple of its slide {:?}",
                self.node.base.name,
                self.slide_duration()
            )));
        }
        self.node.base.set_checkpoint_interval(interval);
        Ok(self.clone())
    }
}

/// The union of `rdds`: the one RDD itself, or an empty RDD when there is none.
pub(crate) fn union_of<T: Data>(ctx: &ember_core::Context, mut rdds: Vec<Rdd<T>>) -> Rdd<T> {
    match rdds.len() {
        0 => ctx.empty(),
        1 => rdds.remove(0),
        _ => ctx.union(&rdds),
    }
}

/// The partitions a stateful stream keeps its state in: `partitions`, or with `0` the
/// default parallelism.
pub(crate) fn state_partitions(ctx: &ember_core::Context, partitions: usize) -> usize {
    match partitions {
        0 => ctx.default_parallelism(),
        n => n,
    }
}
