//! The reduce side of a shuffle as an RDD (Spark's `ShuffledRDD`).

use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore, RddRef};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, PartitionerInfo};
use crate::shuffle::{read_shuffle, KeyOrdering, ShuffleDependency, ShuffleSpec};
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Partitions read from a shuffle of `parent`.
///
/// The parent is needed only by the driver, to plan the map stage; tasks carry the spec alone.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct ShuffledRdd<
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
> {
    pub core: RddCore,
    pub spec: ShuffleSpec<K, V, A, P, O>,
    #[serde(skip)]
    pub parent: Option<RddRef<(K, V)>>,
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>> RddBase
    for ShuffledRdd<K, V, A, P, O>
{
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.spec.partitioner.num_partitions()
    }
    fn partitioner(&self) -> Option<PartitionerInfo> {
        Some(PartitionerInfo::of(&self.spec.partitioner))
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parent
            .iter()
            .map(|rdd| {
                Dependency::Shuffle(Arc::new(ShuffleDependency {
                    rdd: rdd.clone(),
                    spec: self.spec.clone(),
                }))
            })
            .collect()
    }
}

impl<K: Key, V: Data, A: Aggregator<V>, P: Partitioner<K>, O: KeyOrdering<K>>
    RddCompute<(K, A::Combined)> for ShuffledRdd<K, V, A, P, O>
{
    fn compute(
        &self,
        partition: usize,
        tc: &Arc<TaskContext>,
    ) -> Result<BoxIter<(K, A::Combined)>> {
        read_shuffle(&self.spec, partition, tc)
    }
}
