//! [`FormatSink`]: the DataFusion sink that writes ORC and text files, for the formats
//! DataFusion has no writer of.
//!
//! It is a `FileSink`, so DataFusion's demultiplexer does the rest as for Parquet: one file per
//! partition directory (`k=v/`) and more files as rows accumulate, named `<write id>_<n>.<ext>`
//! under the sink's URL (the task attempt's directory of the commit protocol, see [`crate::writer`]).
//!
//! - ORC: each file is encoded by orc-rust's `ArrowWriter` (Snappy-compressed, Spark's default
//!   codec); what it has encoded is streamed to the object store after every batch, so a file
//!   holds about one stripe in memory. Files are written concurrently, as the demultiplexer
//!   fills them.
//! - Text: one line per row, the value of the single column followed by `\n`; a null value is an
//!   empty line, as Spark writes it.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::runtime::SpawnedTask;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::write::demux::DemuxedStreamReceiver;
use datafusion::datasource::file_format::write::orchestration::spawn_writer_tasks_and_join;
use datafusion::datasource::file_format::write::{
    get_writer_schema, BatchSerializer, ObjectWriterBuilder,
};
use datafusion::datasource::physical_plan::{FileSink, FileSinkConfig};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use orc_rust::compression::CompressionType;
use orc_rust::ArrowWriterBuilder;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::Receiver;

/// The formats [`FormatSink`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SinkFormat {
    Orc,
    Text,
}

/// Writes the rows of a `COPY` plan as ORC or text files (see the module doc).
#[derive(Debug)]
pub(crate) struct FormatSink {
    config: FileSinkConfig,
    format: SinkFormat,
}

impl FormatSink {
    pub(crate) fn new(config: FileSinkConfig, format: SinkFormat) -> Self {
        FormatSink { config, format }
    }

    pub(crate) fn format(&self) -> SinkFormat {
        self.format
    }

    /// The plan that writes `input`'s rows as `format`: a format's `create_writer_physical_plan`.
    pub(crate) fn plan(
        input: Arc<dyn ExecutionPlan>,
        config: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
        format: SinkFormat,
    ) -> Arc<dyn ExecutionPlan> {
        let sink = Arc::new(FormatSink::new(config, format));
        Arc::new(DataSinkExec::new(input, sink, order_requirements))
    }
}

impl DisplayAs for FormatSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FormatSink: format={:?}, url={}",
            self.format, self.config.original_url
        )
    }
}

#[async_trait::async_trait]
impl DataSink for FormatSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        FileSink::write_all(self, data, context).await
    }
}

#[async_trait::async_trait]
impl FileSink for FormatSink {
    fn config(&self) -> &FileSinkConfig {
        &self.config
    }

    async fn spawn_writer_tasks_and_join(
        &self,
        context: &Arc<TaskContext>,
        demux_task: SpawnedTask<Result<()>>,
        files: DemuxedStreamReceiver,
        store: Arc<dyn ObjectStore>,
    ) -> Result<u64> {
        match self.format {
            SinkFormat::Text => {
                let uncompressed = FileCompressionType::UNCOMPRESSED;
                let lines = Arc::new(TextLines);
                spawn_writer_tasks_and_join(
                    context,
                    lines,
                    uncompressed,
                    None,
                    store,
                    demux_task,
                    files,
                )
                .await
            }
            SinkFormat::Orc => {
                let schema =
                    orc_schema(&get_writer_schema(&self.config)).map_err(DataFusionError::Plan)?;
                write_orc_files(context, schema, demux_task, files, store).await
            }
        }
    }
}

/// Rows as lines of text.
struct TextLines;

impl BatchSerializer for TextLines {
    fn serialize(&self, batch: RecordBatch, _initial: bool) -> Result<bytes::Bytes> {
        if batch.num_columns() != 1 {
            return Err(DataFusionError::Plan(text_columns_error(
                batch.num_columns(),
            )));
        }
        let values = cast(batch.column(0), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let mut out = Vec::with_capacity(values.value_data().len() + values.len());
        for value in values {
            out.extend_from_slice(value.unwrap_or_default().as_bytes());
            out.push(b'\n');
        }
        Ok(out.into())
    }
}

/// Spark's refusal of text output with other than one column.
pub(crate) fn text_columns_error(columns: usize) -> String {
    format!(
        "text data source supports only a single column, and you have {columns} columns; \
         select one string column (partition_by columns aside) or write csv"
    )
}

/// The ORC schema of rows of `schema`: every column nullable (as ORC's are), types orc-rust
/// does not write turned into ones it does (views into plain strings and binaries, unsigned
/// into wider signed integers, timestamps with a time zone into UTC).
///
/// # Errors
/// A column of a type ORC files written here cannot hold, by name, with the fix.
pub(crate) fn orc_schema(schema: &Schema) -> std::result::Result<SchemaRef, String> {
    let fields = schema
        .fields()
        .iter()
        .map(|field| {
            let data_type = orc_type(field.data_type()).ok_or_else(|| {
                format!(
                    "orc output cannot hold column {} of type {}; cast it to a number, \
                     string, binary, boolean, date or timestamp type, or write parquet",
                    field.name(),
                    field.data_type()
                )
            })?;
            Ok(Field::new(field.name(), data_type, true))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

fn orc_type(data_type: &DataType) -> Option<DataType> {
    use DataType::*;
    Some(match data_type {
        Boolean | Int8 | Int16 | Int32 | Int64 | Float32 | Float64 | Date32 | Utf8 | LargeUtf8
        | Binary | LargeBinary => data_type.clone(),
        Timestamp(_, None) => data_type.clone(),
        Timestamp(unit, Some(_)) => Timestamp(*unit, Some("UTC".into())),
        Date64 => Timestamp(TimeUnit::Millisecond, None),
        Utf8View => Utf8,
        BinaryView => Binary,
        UInt8 => Int16,
        UInt16 => Int32,
        UInt32 => Int64,
        Float16 => Float32,
        Dictionary(_, values) => orc_type(values)?,
        _ => return None,
    })
}

/// Writes each file the demultiplexer opens as ORC, concurrently; the rows written.
async fn write_orc_files(
    context: &Arc<TaskContext>,
    schema: SchemaRef,
    demux_task: SpawnedTask<Result<()>>,
    mut files: DemuxedStreamReceiver,
    store: Arc<dyn ObjectStore>,
) -> Result<u64> {
    let buffer_size = context
        .session_config()
        .options()
        .execution
        .objectstore_writer_buffer_size;
    let mut writers = Vec::new();
    while let Some((location, batches)) = files.recv().await {
        let file = write_orc_file(
            store.clone(),
            location,
            batches,
            schema.clone(),
            buffer_size,
        );
        writers.push(SpawnedTask::spawn(file));
    }
    let mut rows = 0;
    let mut failure = None;
    for writer in writers {
        match writer.join_unwind().await {
            Ok(Ok(written)) => rows += written,
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(DataFusionError::ExecutionJoin(Box::new(e)))),
        }
    }
    let demuxed = demux_task
        .join_unwind()
        .await
        .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))?;
    match failure {
        Some(e) => Err(e),
        None => demuxed.map(|()| rows),
    }
}

/// What the ORC encoder has written and the upload has not yet taken.
#[derive(Clone, Default)]
struct Encoded(Arc<Mutex<Vec<u8>>>);

impl Encoded {
    fn take(&self) -> Vec<u8> {
        let mut bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *bytes)
    }
}

impl Write for Encoded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One ORC file at `location` of the batches received; its row count. orc-rust's encoder
/// cannot move between threads, so it runs on a blocking thread of its own and hands what it
/// has encoded to the upload here.
async fn write_orc_file(
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    batches: Receiver<RecordBatch>,
    schema: SchemaRef,
    buffer_size: usize,
) -> Result<u64> {
    let mut output = ObjectWriterBuilder::new(FileCompressionType::UNCOMPRESSED, &location, store)
        .with_buffer_size(Some(buffer_size))
        .build()?;
    let (chunks, mut encoded) = tokio::sync::mpsc::channel(2);
    let name = location.to_string();
    let encoder = SpawnedTask::spawn_blocking(move || encode_orc(&name, batches, &schema, &chunks));
    while let Some(chunk) = encoded.recv().await {
        output.write_all(&chunk).await?;
    }
    let rows = encoder
        .join_unwind()
        .await
        .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
    output.shutdown().await?;
    Ok(rows)
}

/// Encodes the batches received as one ORC file, sending the bytes to `chunks` as they come.
fn encode_orc(
    name: &str,
    mut batches: Receiver<RecordBatch>,
    schema: &SchemaRef,
    chunks: &tokio::sync::mpsc::Sender<Vec<u8>>,
) -> Result<u64> {
    let encoding =
        |e: orc_rust::error::OrcError| DataFusionError::Execution(format!("encoding {name}: {e}"));
    let send = |bytes: Vec<u8>| {
        if bytes.is_empty() || chunks.blocking_send(bytes).is_ok() {
            Ok(())
        } else {
            Err(DataFusionError::Execution(format!(
                "writing {name}: the upload stopped"
            )))
        }
    };
    let encoded = Encoded::default();
    let mut writer = ArrowWriterBuilder::new(encoded.clone(), schema.clone())
        .with_compression(CompressionType::Snappy)
        .try_build()
        .map_err(encoding)?;
    let mut rows = 0;
    while let Some(batch) = batches.blocking_recv() {
        writer.write(&as_orc(&batch, schema)?).map_err(encoding)?;
        rows += batch.num_rows() as u64;
        send(encoded.take())?;
    }
    writer.close().map_err(encoding)?;
    send(encoded.take())?;
    Ok(rows)
}

/// `batch` with the columns of `schema` ([`orc_schema`] of its own).
fn as_orc(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                Ok(cast(column, field.data_type())?)
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
