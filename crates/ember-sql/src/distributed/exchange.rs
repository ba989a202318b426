//! Exchanges: how rows cross a stage boundary.
//!
//! A map task routes each output batch to reduce partitions and sends every piece as one
//! ember shuffle record, `(reduce partition, Arrow IPC stream)`; the shuffle's partitioner
//! only reads that number back. The reduce side is [`ShuffleReaderExec`], a leaf of the next
//! stage's plan that reads its partition of the shuffle through ember's shuffle reader (disk
//! for this executor's outputs, the network for others') and decodes the batches.

use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext as DataFusionTask;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use ember_core::shuffle::{read_shuffle, ShuffleSpec, Unordered};
use ember_core::{NoAggregation, Partitioner};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::sync::Arc;

use super::stage::{leaf_node, task_stream};

/// One shuffle record: the reduce partition and an Arrow IPC stream of rows for it.
pub(crate) type ExchangeRecord = (u32, ByteBuf);

/// The ember shuffle an exchange rides on: records pass through unmerged and unsorted.
pub(crate) type ExchangeSpec =
    ShuffleSpec<u32, ByteBuf, NoAggregation<ByteBuf>, ExchangePartitioner, Unordered>;

/// The spec of shuffle `shuffle_id` into `partitions` reduce partitions.
pub(crate) fn exchange_spec(shuffle_id: usize, partitions: usize) -> ExchangeSpec {
    let partitioner = ExchangePartitioner { partitions };
    ShuffleSpec::new(
        shuffle_id,
        partitioner,
        NoAggregation::default(),
        Unordered,
        false,
    )
}

/// Sends a record where its key says: the map side already chose the partition.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct ExchangePartitioner {
    partitions: usize,
}

impl Partitioner<u32> for ExchangePartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &u32) -> usize {
        *key as usize
    }
}

/// `batch` as an Arrow IPC stream.
pub(crate) fn encode_batch(batch: &RecordBatch) -> Result<ByteBuf> {
    let mut bytes = Vec::with_capacity(batch.get_array_memory_size() + 512);
    let mut writer = StreamWriter::try_new(&mut bytes, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(ByteBuf::from(bytes))
}

/// The batches of an Arrow IPC stream.
pub(crate) fn decode_batches(bytes: &[u8]) -> Result<Vec<RecordBatch>> {
    let reader = StreamReader::try_new(bytes, None)?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Reads the partitions of an exchange written by an earlier stage.
#[derive(Debug)]
pub(crate) struct ShuffleReaderExec {
    shuffle_id: usize,
    properties: Arc<PlanProperties>,
}

impl ShuffleReaderExec {
    /// A reader of shuffle `shuffle_id` whose output looks like `properties` (those of the plan
    /// node it replaces: partition `p` of the exchange is that node's partition `p`).
    pub(crate) fn new(shuffle_id: usize, properties: Arc<PlanProperties>) -> Self {
        ShuffleReaderExec {
            shuffle_id,
            properties,
        }
    }

    pub(crate) fn shuffle_id(&self) -> usize {
        self.shuffle_id
    }

    pub(crate) fn partitions(&self) -> usize {
        self.properties.partitioning.partition_count()
    }
}

impl DisplayAs for ShuffleReaderExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (id, n) = (self.shuffle_id, self.partitions());
        write!(f, "ShuffleReaderExec: shuffle={id}, partitions={n}")
    }
}

impl ExecutionPlan for ShuffleReaderExec {
    leaf_node!("ShuffleReaderExec");

    fn execute(
        &self,
        partition: usize,
        context: Arc<DataFusionTask>,
    ) -> Result<SendableRecordBatchStream> {
        let spec = exchange_spec(self.shuffle_id, self.partitions());
        task_stream(&context, self.schema(), move |tc, sink| {
            for (_, bytes) in read_shuffle(&spec, partition, tc)? {
                let batches = decode_batches(&bytes)
                    .map_err(|e| ember_core::Error::Serialization(e.to_string()))?;
                for batch in batches {
                    if !sink(Ok(batch)) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })
    }
}

/// An ember error inside DataFusion's, to be found again by [`super::stage`].
pub(crate) fn ember_error(e: ember_core::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
