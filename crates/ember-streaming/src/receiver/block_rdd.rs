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
    /// Its copy in the write-ahead log, when receivers keep one.
    pub(crate) log: Option<String>,
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
        let env = tc.env();
        let held = env.read_block::<T>(block.id, &block.executor, &block.address);
        let records = match (held, &block.log) {
            (Ok(Some(records)), _) => records,
            (held, Some(log)) => {
                if let Err(e) = held {
                    tracing::warn!("received block {} unreadable: {e}", block.id.name());
                }
                tracing::info!(
                    "received block {} is gone with executor {}: reading it from the \
                     write-ahead log",
                    block.id.name(),
                    block.executor
                );
                Arc::new(env.block_manager.decode_bytes(&env.read_file(log)?)?)
            }
            (held, None) => return Err(lost(block, held.err())),
        };
        Ok(Box::new(
            (0..records.len()).map(move |i| records[i].clone()),
        ))
    }
}

fn lost(block: &ReceivedBlock, error: Option<Error>) -> Error {
    let why = match error {
        Some(e) => format!("it cannot be read: {e}"),
        None => format!(
            "executor {} that stored it is gone, or the block was removed once no batch \
             needed it",
            block.executor
        ),
    };
    Error::Input(format!(
        "received block {} is lost: {why}. To keep received data through executor loss, set \
         ember.streaming.receiver.writeAheadLog.enable=true with a checkpoint directory",
        block.id.name()
    ))
}
