//! Exchanges: how rows cross a stage boundary.
//!
//! A map task routes each output batch to reduce partitions and sends every piece as one
//! ember shuffle record, `(reduce partition, Arrow IPC stream)`; the shuffle's partitioner
//! only reads that number back. The reduce side is [`ShuffleReaderExec`], a leaf of the next
//! stage's plan that reads its partition of the shuffle through ember's shuffle reader (disk
//! for this executor's outputs, the network for others') and decodes the batches.

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext as DataFusionTask;
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
    let batch = &compact_views(batch)?;
    let mut bytes = Vec::with_capacity(batch.get_array_memory_size() + 512);
    let mut writer = StreamWriter::try_new(&mut bytes, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(ByteBuf::from(bytes))
}

/// `batch` with its string and binary view columns holding only the bytes their rows use.
///
/// Rows picked out of a larger batch (a partition's share of it, a join's matches) keep their
/// views into that batch's buffers, and IPC writes every buffer a view column holds: without
/// compacting, each piece would carry all of its source's strings.
fn compact_views(batch: &RecordBatch) -> Result<RecordBatch> {
    let wasteful = |c: &ArrayRef| match c.data_type() {
        DataType::Utf8View => !c.as_string_view().data_buffers().is_empty(),
        DataType::BinaryView => !c.as_binary_view().data_buffers().is_empty(),
        _ => false,
    };
    if !batch.columns().iter().any(wasteful) {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View => Arc::new(c.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView => Arc::new(c.as_binary_view().gc()) as ArrayRef,
            _ => c.clone(),
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        batch.schema(),
        columns,
        &options,
    )?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewArray;
    use datafusion::arrow::datatypes::{Field, Schema};

    #[test]
    fn a_piece_of_a_string_view_batch_carries_only_its_own_strings() {
        let strings: Vec<String> = (0..10_000)
            .map(|i| format!("a string longer than twelve {i}"))
            .collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8View,
            false,
        )]));
        let column = Arc::new(StringViewArray::from_iter_values(&strings)) as ArrayRef;
        let batch = RecordBatch::try_new(schema, vec![column]).unwrap();
        let piece = batch.slice(100, 10);
        let whole = encode_batch(&batch).unwrap().len();
        let bytes = encode_batch(&piece).unwrap();
        assert!(
            bytes.len() * 100 < whole,
            "{} bytes for 10 of 10000 rows ({whole})",
            bytes.len()
        );
        assert_eq!(decode_batches(&bytes).unwrap(), vec![piece]);
    }
}
