//! Sort-based shuffle: how records cross a stage boundary.
//!
//! A shuffle has map tasks (one per partition of the parent RDD) and reduce partitions (as many
//! as the [`Partitioner`] says). The protocol:
//!
//! 1. Each map task ([`ShuffleMapTask`](crate::scheduler::ShuffleMapTask)) reads its partition
//!    and routes every record to its reduce partition. With map-side combine the values of a key
//!    are first merged in a hash map. Records are serialized into per-partition chunk streams
//!    (see `codec`); when the task's memory share is used up they are spilled to disk.
//! 2. At the end the task writes one data file, the segments of all reduce partitions in order,
//!    and one index file of `partitions + 1` big-endian `u64` offsets. Both are written under
//!    temporary names and renamed, so a reader never sees half a file. It reports a
//!    [`MapStatus`]: where the files are and how large each segment is.
//! 3. The [`MapOutputTracker`] keeps every map task's status. A reduce task asks it for the
//!    segments of its partition and reads them (in local mode straight from disk; executors will
//!    serve them over the network). A missing or unreadable segment is a fetch failure: the
//!    scheduler reruns the map stage for the lost outputs.
//! 4. The reducer merges values by key (spilling sorted runs when over memory), sorts by key for
//!    `sort_by_key`, or passes records through.
//!
//! Files are named `shuffle_<shuffle>_<map>_0.data` and `.index`, as in Spark.

mod bypass_merge_sort_shuffle_writer;
mod codec;
mod combine_map;
mod external_map;
mod external_sorter;
mod map_output_tracker;
mod shuffle_manager;
mod shuffle_reader;
mod size_tracker;
mod sort_shuffle_writer;
mod spill_file;

pub(crate) use codec::{ChunkReader, ChunkWriter};
pub(crate) use external_map::ExternalAppendOnlyMap;
pub use map_output_tracker::{MapOutputTracker, MapStatus};
pub use shuffle_manager::ShuffleManager;
pub use shuffle_reader::{read_shuffle, shuffle_bytes};
pub(crate) use sort_shuffle_writer::write_map_output;

use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::partitioner::Partitioner;
use crate::rdd::{RddBase, RddRef};
use crate::scheduler::{ShuffleMapTask, Task};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::marker::PhantomData;
use std::sync::Arc;

/// Whether (and how) a reducer sorts its records by key. Generic rather than a function
/// pointer, so that sorting compiles the key comparison inline.
pub trait KeyOrdering<K>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Whether reducers sort at all.
    const SORTS: bool;
    /// The order of two keys; only called when [`SORTS`](Self::SORTS).
    fn compare(&self, a: &K, b: &K) -> Ordering;
}

/// Reducers leave records in arrival order.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Unordered;

impl<K> KeyOrdering<K> for Unordered {
    const SORTS: bool = false;
    fn compare(&self, _: &K, _: &K) -> Ordering {
        Ordering::Equal
    }
}

/// Reducers sort records by key, ascending or descending.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SortByKey {
    /// Ascending when true.
    pub ascending: bool,
}

impl<K: Ord> KeyOrdering<K> for SortByKey {
    const SORTS: bool = true;
    #[inline]
    fn compare(&self, a: &K, b: &K) -> Ordering {
        if self.ascending {
            a.cmp(b)
        } else {
            b.cmp(a)
        }
    }
}

/// Everything both sides of a shuffle need to know, without the parent RDD.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ShuffleSpec<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> {
    /// Unique in the Context.
    pub shuffle_id: usize,
    /// Routes keys to reduce partitions.
    pub partitioner: P,
    /// Merges values of a key.
    pub aggregator: A,
    /// Sorts reduce output.
    pub ordering: O,
    /// Whether map tasks merge values before writing.
    pub map_side_combine: bool,
    #[serde(skip)]
    _kv: PhantomData<fn() -> (K, V)>,
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> Clone
    for ShuffleSpec<K, V, A, P, O>
{
    fn clone(&self) -> Self {
        ShuffleSpec {
            shuffle_id: self.shuffle_id,
            partitioner: self.partitioner.clone(),
            aggregator: self.aggregator.clone(),
            ordering: self.ordering.clone(),
            map_side_combine: self.map_side_combine,
            _kv: PhantomData,
        }
    }
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>>
    ShuffleSpec<K, V, A, P, O>
{
    /// A spec for shuffle `shuffle_id`.
    pub fn new(
        shuffle_id: usize,
        partitioner: P,
        aggregator: A,
        ordering: O,
        map_side_combine: bool,
    ) -> Self {
        ShuffleSpec {
            shuffle_id,
            partitioner,
            aggregator,
            ordering,
            map_side_combine: map_side_combine && A::MERGES,
            _kv: PhantomData,
        }
    }
}

/// What the DAG scheduler needs of a shuffle, whatever its types (Spark's `ShuffleDependency`).
pub trait ShuffleDependencyBase: Send + Sync {
    /// Unique in the Context.
    fn shuffle_id(&self) -> usize;
    /// The RDD whose partitions the map tasks compute.
    fn rdd(&self) -> Arc<dyn RddBase>;
    /// Reduce partitions.
    fn num_reduce_partitions(&self) -> usize;
    /// The map task for partition `partition` of [`rdd`](Self::rdd).
    fn map_task(&self, partition: usize) -> Arc<dyn Task>;
}

/// A shuffle of `rdd`'s records by `spec`.
pub struct ShuffleDependency<
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
> {
    /// The parent.
    pub rdd: RddRef<(K, V)>,
    /// How to shuffle it.
    pub spec: ShuffleSpec<K, V, A, P, O>,
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> ShuffleDependencyBase
    for ShuffleDependency<K, V, A, P, O>
{
    fn shuffle_id(&self) -> usize {
        self.spec.shuffle_id
    }
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.rdd.base()
    }
    fn num_reduce_partitions(&self) -> usize {
        self.spec.partitioner.num_partitions()
    }
    fn map_task(&self, partition: usize) -> Arc<dyn Task> {
        Arc::new(ShuffleMapTask::new(
            self.rdd.clone(),
            self.spec.clone(),
            partition,
        ))
    }
}
