//! The traits every RDD implements, and how lineage is shipped inside tasks.

use super::checkpoint::CheckpointCell;
use crate::data::Data;
use crate::error::Result;
use crate::partitioner::PartitionerInfo;
use crate::ship::{decode_as, Decoder, Shipped};
use crate::shuffle::ShuffleDependencyBase;
use crate::storage::{BlockId, StorageLevel};
use crate::task_context::TaskContext;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// The iterator a partition is computed as.
pub type BoxIter<T> = Box<dyn Iterator<Item = T>>;

/// Fields every RDD has: its id, a name for logs, and its storage level.
#[derive(Debug, Clone)]
pub struct RddCore {
    id: usize,
    name: &'static str,
    // Shared so that `persist` on any handle of this RDD reaches the one the scheduler sees.
    storage: Arc<Mutex<StorageLevel>>,
    // The user's name for it (`set_name`), for the driver's logs and lineage only.
    label: Arc<Mutex<Option<String>>>,
    // Shared for the same reason: marked for a checkpoint, and the lineage that replaces it.
    checkpoint: Arc<CheckpointCell>,
}

impl RddCore {
    pub(crate) fn new(id: usize, name: &'static str) -> Self {
        RddCore {
            id,
            name,
            storage: Arc::new(Mutex::new(StorageLevel::NONE)),
            label: Arc::default(),
            checkpoint: Arc::default(),
        }
    }

    /// The name the user gave it with `Rdd::set_name`.
    pub fn label(&self) -> Option<String> {
        self.label.lock().clone()
    }

    pub(crate) fn set_label(&self, label: &str) {
        *self.label.lock() = Some(label.to_string());
    }

    /// The RDD's id, unique in its Context.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The operation that made it, such as `map` or `reduce_by_key`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How its partitions are kept once computed.
    pub fn storage_level(&self) -> StorageLevel {
        *self.storage.lock()
    }

    pub(crate) fn set_storage_level(&self, level: StorageLevel) {
        *self.storage.lock() = level;
    }

    pub(crate) fn checkpoint(&self) -> &CheckpointCell {
        &self.checkpoint
    }

    /// The same RDD's core (id, name, shared storage level) without its checkpoint state: for
    /// the RDD that stands in for it once checkpointed.
    pub(crate) fn detached(&self) -> RddCore {
        RddCore {
            checkpoint: Arc::default(),
            ..self.clone()
        }
    }
}

// On the wire an RDD's core is its id, name index and level: enough to find cached blocks.
#[derive(Serialize, Deserialize)]
struct CoreWire {
    id: usize,
    name: String,
    storage: StorageLevel,
}

impl Serialize for RddCore {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        CoreWire {
            id: self.id,
            name: self.name.to_string(),
            storage: self.storage_level(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RddCore {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = CoreWire::deserialize(d)?;
        Ok(RddCore {
            id: wire.id,
            // Names are only for logs; executors keep a fixed one rather than leak strings.
            name: "shipped",
            storage: Arc::new(Mutex::new(wire.storage)),
            label: Arc::default(),
            checkpoint: Arc::default(),
        })
    }
}

/// How an RDD depends on a parent.
#[derive(Clone)]
pub enum Dependency {
    /// Each partition needs a bounded set of the parent's partitions, computed in the same task.
    Narrow(Arc<dyn RddBase>),
    /// Each partition needs every parent partition's output, through a shuffle: a stage boundary.
    Shuffle(Arc<dyn ShuffleDependencyBase>),
}

/// What the schedulers know of an RDD, whatever its element type (Spark's `RDD` without `T`).
pub trait RddBase: Send + Sync + 'static {
    /// Id, name and storage level.
    fn core(&self) -> &RddCore;
    /// How many partitions it has.
    fn num_partitions(&self) -> usize;
    /// Its parents; empty for a source.
    fn dependencies(&self) -> Vec<Dependency>;
    /// Hosts where partition `partition` is cheapest to compute.
    fn preferred_locations(&self, _partition: usize) -> Vec<String> {
        Vec::new()
    }
    /// Executors already holding what partition `partition` reads, such as the blocks a
    /// streaming receiver stored (Spark's `ExecutorCacheTaskLocation`): its tasks are
    /// PROCESS_LOCAL there. Cached partitions need not be named: the scheduler knows them.
    fn preferred_executors(&self, _partition: usize) -> Vec<String> {
        Vec::new()
    }
    /// The kind of RDD, for lineage: its type's name without path or parameters.
    fn kind(&self) -> &'static str {
        let full = std::any::type_name::<Self>();
        let path = full.split('<').next().unwrap_or(full);
        path.rsplit("::").next().unwrap_or(path)
    }
    /// The partitioner its partitions are laid out by, if any (known on the driver only).
    fn partitioner(&self) -> Option<PartitionerInfo> {
        None
    }
}

/// An RDD of `T` that can compute its partitions (Spark's `RDD[T].compute`).
pub trait RddCompute<T: Data>: RddBase + ShipRdd<T> {
    /// Computes partition `partition`. Errors met while iterating end the task through
    /// [`abort`](crate::task_context::abort).
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>>;
}

/// Serializes an RDD with its concrete type, to be rebuilt as `dyn RddCompute<T>`.
///
/// Implemented for every serializable RDD; nothing to write by hand.
pub trait ShipRdd<T: Data> {
    /// The RDD as a [`Shipped`] trait object.
    fn ship(&self) -> Result<Shipped>;
}

impl<T: Data, R: RddCompute<T> + Serialize + DeserializeOwned> ShipRdd<T> for R {
    fn ship(&self) -> Result<Shipped> {
        Shipped::new(decode_rdd::<T, R> as Decoder<dyn RddCompute<T>>, self)
    }
}

fn decode_rdd<T: Data, R: RddCompute<T> + DeserializeOwned>(
    bytes: &[u8],
) -> Result<Arc<dyn RddCompute<T>>> {
    decode_as::<dyn RddCompute<T>, R>(bytes, |r| Arc::new(r))
}

/// A parent RDD as RDDs hold it: shared, and shipped with its concrete type inside tasks.
pub struct RddRef<T: Data>(pub Arc<dyn RddCompute<T>>);

impl<T: Data> Clone for RddRef<T> {
    fn clone(&self) -> Self {
        RddRef(self.0.clone())
    }
}

impl<T: Data> Serialize for RddRef<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // A checkpointed RDD travels as what reads its checkpoint, without its old lineage.
        let truncated = self.0.core().checkpoint().replacement::<T>();
        truncated
            .as_ref()
            .map_or_else(|| self.0.ship(), |rdd| rdd.0.ship())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de, T: Data> Deserialize<'de> for RddRef<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let shipped = Shipped::deserialize(d)?;
        shipped
            .open::<dyn RddCompute<T>>()
            .map(RddRef)
            .map_err(serde::de::Error::custom)
    }
}

impl<T: Data> RddRef<T> {
    /// The parent as the scheduler sees it.
    pub fn base(&self) -> Arc<dyn RddBase> {
        self.0.clone()
    }

    /// Partition `partition`, read from the cache when the RDD is persisted (Spark's
    /// `RDD.iterator`).
    ///
    /// # Errors
    /// Computing the partition failed, or a cached block could not be read.
    pub fn iterator(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        iterator(&self.0, partition, tc)
    }
}

/// Partition `partition` of `rdd`, through the block manager when it is persisted.
pub(crate) fn iterator<T: Data>(
    rdd: &Arc<dyn RddCompute<T>>,
    partition: usize,
    tc: &Arc<TaskContext>,
) -> Result<BoxIter<T>> {
    let level = rdd.core().storage_level();
    if !level.is_valid() {
        return rdd.compute(partition, tc);
    }
    let blocks = &tc.env().block_manager;
    let id = BlockId::Rdd {
        rdd: rdd.core().id(),
        partition,
    };
    let values = match blocks.get::<T>(id)? {
        Some(values) => values,
        // Another executor's copy beats computing it again (it is not kept here).
        None => match tc.env().remote_block::<T>(id) {
            Some(values) => Arc::new(values),
            None => {
                let values = Arc::new(rdd.compute(partition, tc)?.collect::<Vec<T>>());
                if blocks.put(id, values.clone(), level)? {
                    tc.block_stored(rdd.core().id(), partition);
                }
                values
            }
        },
    };
    Ok(Box::new((0..values.len()).map(move |i| values[i].clone())))
}
