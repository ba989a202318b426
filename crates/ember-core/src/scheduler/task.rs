//! Tasks: the unit of work sent to a task slot (Spark's `ShuffleMapTask` and `ResultTask`).
//!
//! A task carries the lineage of its stage up to the shuffle boundaries, plus either the shuffle
//! it writes to or the function of the action. It is serialized with its concrete types through
//! [`Shipped`], so the same bytes could run in any process of this binary.

use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::Partitioner;
use crate::rdd::{BoxIter, RddRef};
use crate::ship::{decode_as, Decoder, Shipped};
use crate::shuffle::{write_map_output, KeyOrdering, MapStatus, ShuffleSpec};
use crate::task_context::TaskContext;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// What a successful task hands back.
#[derive(Debug, Serialize, Deserialize)]
pub enum TaskOutput {
    /// A shuffle map task's output location and segment sizes.
    Map(MapStatus),
    /// A result task's value, serialized.
    Value(Vec<u8>),
    /// A result task's value too large to travel with the status update: the executor keeps it
    /// as block `block`, and the driver fetches it before the job sees the result.
    Stored {
        /// The block's id on the executor that ran the task.
        block: String,
        /// Its size in bytes.
        size: u64,
    },
}

/// A unit of work for one partition.
pub trait Task: Send + Sync + ShipTask + 'static {
    /// Runs the task in its context.
    fn run(&self, tc: &Arc<TaskContext>) -> Result<TaskOutput>;
}

/// Serializes a task with its concrete type; implemented for every serializable task.
pub trait ShipTask {
    /// The task as a [`Shipped`] trait object.
    fn ship(&self) -> Result<Shipped>;
}

impl<X: Task + Serialize + DeserializeOwned + 'static> ShipTask for X {
    fn ship(&self) -> Result<Shipped> {
        Shipped::new(decode_task::<X> as Decoder<dyn Task>, self)
    }
}

fn decode_task<X: Task + DeserializeOwned + 'static>(bytes: &[u8]) -> Result<Arc<dyn Task>> {
    decode_as::<dyn Task, X>(bytes, |t| Arc::new(t))
}

/// Serializes a task for the wire.
pub(crate) fn encode_task(task: &dyn Task) -> Result<Vec<u8>> {
    Ok(bincode::serialize(&task.ship()?)?)
}

/// Rebuilds a task from the wire.
pub(crate) fn decode_task_bytes(bytes: &[u8]) -> Result<Arc<dyn Task>> {
    let shipped: Shipped = bincode::deserialize(bytes)?;
    shipped.open::<dyn Task>()
}

/// Computes one partition of a shuffle's parent and writes its shuffle output.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ShuffleMapTask<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> {
    rdd: RddRef<(K, V)>,
    spec: ShuffleSpec<K, V, A, P, O>,
    partition: usize,
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>>
    ShuffleMapTask<K, V, A, P, O>
{
    pub(crate) fn new(
        rdd: RddRef<(K, V)>,
        spec: ShuffleSpec<K, V, A, P, O>,
        partition: usize,
    ) -> Self {
        ShuffleMapTask {
            rdd,
            spec,
            partition,
        }
    }
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> Task
    for ShuffleMapTask<K, V, A, P, O>
{
    fn run(&self, tc: &Arc<TaskContext>) -> Result<TaskOutput> {
        let records = tc.interruptible(self.rdd.iterator(self.partition, tc)?);
        write_map_output(&self.spec, self.partition, records, tc).map(TaskOutput::Map)
    }
}

/// The function an action applies to each partition: `(context, partition, elements) -> U`.
pub trait PartitionFunc<T, U>: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Computes the partition's share of the action's result.
    fn apply(&self, tc: &Arc<TaskContext>, partition: usize, elements: BoxIter<T>) -> Result<U>;
}

/// Computes one partition of the final RDD and applies the action's function to it.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ResultTask<T: Data, U, F: PartitionFunc<T, U>> {
    rdd: RddRef<T>,
    func: Arc<F>,
    partition: usize,
    #[serde(skip)]
    _u: PhantomData<fn() -> U>,
}

impl<T: Data, U, F: PartitionFunc<T, U>> ResultTask<T, U, F> {
    pub(crate) fn new(rdd: RddRef<T>, func: Arc<F>, partition: usize) -> Self {
        ResultTask {
            rdd,
            func,
            partition,
            _u: PhantomData,
        }
    }
}

impl<T: Data, U: Serialize + DeserializeOwned + Send + 'static, F: PartitionFunc<T, U>> Task
    for ResultTask<T, U, F>
{
    fn run(&self, tc: &Arc<TaskContext>) -> Result<TaskOutput> {
        let elements = tc.interruptible(self.rdd.iterator(self.partition, tc)?);
        let value = self.func.apply(tc, self.partition, elements)?;
        Ok(TaskOutput::Value(bincode::serialize(&value)?))
    }
}
