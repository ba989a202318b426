//! A batch of received blocks as an RDD (Spark's `BlockRDD`): a partition per block, computed
//! on the executor that stored it when it can be.

use ember_core::rdd::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use ember_core::storage::BlockId;
use ember_core::{Data, Error, Result, TaskContext};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// A block a receiver stored, as it reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReceivedBlock {
    pub(crate) id: BlockId,
    /// The executor holding it.
    pub(crate) executor: String,
    /// Where that executor serves blocks (`host:port`; empty in local mode).
    pub(crate) address: String,
    pub(crate) records: u64,
}

impl ReceivedBlock {
    fn host(&self) -> Option<String> {
        let (host, _) = self.address.rsplit_once(':')?;
        Some(host.to_string())
    }
}

/// The blocks of one receiver's stream allocated to one batch.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct BlockRdd<T: Data> {
    core: RddCore,
    blocks: Vec<ReceivedBlock>,
    #[serde(skip)]
    records: PhantomData<fn() -> T>,
}

impl<T: Data> BlockRdd<T> {
    pub(crate) fn new(core: RddCore, blocks: Vec<ReceivedBlock>) -> BlockRdd<T> {
        BlockRdd {
            core,
            blocks,
            records: PhantomData,
        }
    }
}

impl<T: Data> RddBase for BlockRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }

    fn num_partitions(&self) -> usize {
        self.blocks.len()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.blocks[partition].host().into_iter().collect()
    }

    fn preferred_executors(&self, partition: usize) -> Vec<String> {
        vec![self.blocks[partition].executor.clone()]
    }
}

impl<T: Data> RddCompute<T> for BlockRdd<T> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        let block = &self.blocks[partition];
        let records = tc
            .env()
            .read_block::<T>(block.id, &block.executor, &block.address)?
            .ok_or_else(|| {
                Error::Input(format!(
                    "received block {} is lost: executor {} that stored it is gone, or the \
                     block was removed once no batch needed it",
                    block.id.name(),
                    block.executor
                ))
            })?;
        Ok(Box::new(
            (0..records.len()).map(move |i| records[i].clone()),
        ))
    }
}
