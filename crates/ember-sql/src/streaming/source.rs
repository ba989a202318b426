//! The contracts of a streaming query's ends: a [`Source`] says how far its data goes
//! ([`Offset`]s) and gives the rows between two offsets as a DataFrame; a [`Sink`] takes each
//! batch's rows once. A [`StreamFormat`] makes them from a format name and options, as Spark's
//! `DataSourceRegister`: `read_stream().format("kafka")` finds the format registered under
//! `kafka` with [`register_stream_format!`](crate::register_stream_format) by whichever crate
//! linked into the program provides it.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::streaming::OutputMode;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use ember_core::Context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far a source's data goes, as the source writes it in the offset log: any JSON value
/// (a number of files, Kafka's `{"topic":{"0":42}}`, ...), compared only by the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Offset(pub serde_json::Value);

impl Offset {
    /// The offset of a count or an index.
    pub fn number(n: i64) -> Offset {
        Offset(serde_json::Value::from(n))
    }

    /// The count or index of an offset made by [`Offset::number`].
    ///
    /// # Errors
    /// The offset is not a whole number (a log written by another source).
    pub fn as_number(&self) -> Result<i64> {
        self.0.as_i64().ok_or_else(|| {
            Error::Input(format!(
                "offset {self} is not a number: the checkpoint was written for another source"
            ))
        })
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How much one batch may take (Spark's `ReadLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLimit {
    /// Everything there is (`Trigger.Once`).
    All,
    /// What the source's options allow per batch (`maxFilesPerTrigger`,
    /// `maxOffsetsPerTrigger`).
    Configured,
}

/// Where a streaming query's rows come from (Spark's `Source` with admission control).
///
/// The query asks [`latest_offset`](Source::latest_offset) at each trigger; if it moved, the
/// offsets go into the offset log before [`get_batch`](Source::get_batch) is asked for the rows
/// between the two, so a restarted query asks again for exactly the same rows.
pub trait Source: Send + Sync {
    /// The columns of its rows.
    fn schema(&self) -> SchemaRef;

    /// The newest offset to read up to now, from `start` (`None`: from the beginning), within
    /// `limit`; `None` when there is no data at all yet.
    ///
    /// # Errors
    /// The source cannot be reached.
    fn latest_offset(&self, start: Option<&Offset>, limit: ReadLimit) -> Result<Option<Offset>>;

    /// Fixes what "available now" means (`Trigger.AvailableNow`): later calls of
    /// `latest_offset` go no further than what is there at this call.
    ///
    /// # Errors
    /// The source cannot be reached.
    fn prepare_for_available_now(&self) -> Result<()> {
        Ok(())
    }

    /// The rows after `start` up to and including `end`.
    ///
    /// # Errors
    /// The data is gone, or cannot be read.
    fn get_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<DataFrame>;

    /// The rows after `start` up to and including `end` as a plan that the query's tasks
    /// run, with the operators over them that keep no state (Spark's micro-batch, whose
    /// stateless part runs where the rows are read), and the count of rows it read. `None`,
    /// the default: the query reads [`get_batch`](Source::get_batch)'s rows first and runs its
    /// operators over them on the driver.
    ///
    /// The plan's columns are the source's [`schema`](Source::schema).
    ///
    /// # Errors
    /// The data is gone, or cannot be read.
    fn plan_batch(&self, _start: Option<&Offset>, _end: &Offset) -> Result<Option<PlannedBatch>> {
        Ok(None)
    }

    /// Everything up to `end` is in the sink for good: the source may forget it.
    ///
    /// # Errors
    /// The source cannot record it (the query goes on; it is asked again later).
    fn commit(&self, _end: &Offset) -> Result<()> {
        Ok(())
    }

    /// What it reads, for progress reports (`FileStreamSource[hdfs://...]`).
    fn description(&self) -> String;
}

/// A batch's rows as a plan the query's tasks run (see [`Source::plan_batch`]).
pub struct PlannedBatch {
    /// The rows.
    pub rows: DataFrame,
    /// How many rows the plan has read so far: the batch's `numInputRows` once it ran.
    pub rows_read: Box<dyn Fn() -> u64 + Send>,
}

/// Where a streaming query's output goes (Spark's `Sink`).
pub trait Sink: Send + Sync {
    /// Adds batch `batch_id`'s rows. A query that failed after adding a batch redoes it with
    /// the same id and the same rows: a sink that must not hold them twice (files, Kafka
    /// transactions) remembers which batches it has.
    ///
    /// # Errors
    /// The rows cannot be written; the query stops and, restarted, redoes the batch.
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()>;

    /// What it writes to, for progress reports.
    fn description(&self) -> String;
}

/// A source's or sink's options, by lower-case name (Spark's options are case-insensitive).
pub type Options = BTreeMap<String, String>;

/// What a sink is told of its query.
#[derive(Debug, Clone)]
pub struct SinkContext {
    /// The query's name (`query_name`), if it has one.
    pub query_name: Option<String>,
    /// The query's id, the same across restarts from one checkpoint.
    pub query_id: String,
    /// The output mode.
    pub output_mode: OutputMode,
    /// The columns `partition_by` named.
    pub partition_by: Vec<String>,
}

/// A format a query reads or writes by name (Spark's `StreamSourceProvider` and
/// `StreamSinkProvider`). Register one with
/// [`register_stream_format!`](crate::register_stream_format).
pub trait StreamFormat: Send + Sync {
    /// The name `format(...)` takes.
    fn name(&self) -> &'static str;

    /// The columns of the source this format would make from `options`; `schema` is the one
    /// the user gave, if any.
    ///
    /// # Errors
    /// The format cannot be read, or needs a schema it was not given.
    fn source_schema(
        &self,
        _ctx: &Context,
        _options: &Options,
        _schema: Option<SchemaRef>,
    ) -> Result<SchemaRef> {
        Err(Error::Input(format!(
            "format {} cannot be read as a stream",
            self.name()
        )))
    }

    /// A source of `options`, for a query whose own records for this source go under
    /// `metadata_path` (`<checkpoint>/sources/<n>`).
    ///
    /// # Errors
    /// A bad option.
    fn create_source(
        &self,
        _ctx: &Context,
        _options: &Options,
        _schema: SchemaRef,
        _metadata_path: &str,
    ) -> Result<Arc<dyn Source>> {
        Err(Error::Input(format!(
            "format {} cannot be read as a stream",
            self.name()
        )))
    }

    /// The rows of `options` as a batch DataFrame (`ctx.read().load(format)`, SQL's
    /// `USING <format>`), for formats that are tables too (Kafka's topics).
    ///
    /// # Errors
    /// A bad option, or the format has no batch reads.
    fn read_batch(&self, _ctx: &Context, _options: &Options) -> Result<DataFrame> {
        Err(Error::Input(format!(
            "format {} cannot be read as a batch",
            self.name()
        )))
    }

    /// A sink of `options`.
    ///
    /// # Errors
    /// A bad option, or an output mode the sink cannot take.
    fn create_sink(
        &self,
        _ctx: &Context,
        _options: &Options,
        _query: &SinkContext,
    ) -> Result<Arc<dyn Sink>> {
        Err(Error::Input(format!(
            "format {} cannot be written as a stream",
            self.name()
        )))
    }
}

/// Every stream format linked into this program.
#[linkme::distributed_slice]
pub static STREAM_FORMATS: [&'static dyn StreamFormat];

/// Adds a stream format to the registry: `register_stream_format!(MyFormat)` with a constant
/// expression of a type that implements [`StreamFormat`].
#[macro_export]
macro_rules! register_stream_format {
    ($format:expr) => {
        const _: () = {
            #[$crate::streaming::__linkme::distributed_slice($crate::streaming::STREAM_FORMATS)]
            #[linkme(crate = $crate::streaming::__linkme)]
            static FORMAT: &'static dyn $crate::streaming::StreamFormat = &$format;
        };
    };
}

/// The format registered as `name` (case-insensitive).
///
/// # Errors
/// No format of that name: the error lists those there are, and says which ember feature
/// brings Kafka.
pub(crate) fn stream_format(name: &str) -> Result<&'static dyn StreamFormat> {
    let lower = name.to_ascii_lowercase();
    if let Some(format) = STREAM_FORMATS.iter().find(|f| f.name() == lower) {
        return Ok(*format);
    }
    let mut known: Vec<&str> = STREAM_FORMATS.iter().map(|f| f.name()).collect();
    known.sort_unstable();
    let kafka = if lower == "kafka" {
        "; Kafka comes with ember's `kafka` feature (crate ember-kafka)"
    } else {
        ""
    };
    Err(Error::Input(format!(
        "unknown stream format {name:?}; the formats are {}{kafka}",
        known.join(", ")
    )))
}

/// What Spark says of a batch action on a streaming DataFrame.
pub(crate) const NEEDS_START: &str =
    "Queries with streaming sources must be executed with write_stream().start()";

/// Which source a streaming DataFrame reads.
#[derive(Clone)]
pub(crate) enum SourceSpec {
    /// A format and its options: each query makes its own source.
    Format {
        format: &'static dyn StreamFormat,
        options: Options,
    },
    /// One source shared by every query of it ([`MemoryStream`](super::MemoryStream)).
    Shared(Arc<dyn Source>),
}

impl SourceSpec {
    /// The source a query reads, with its records under `metadata_path`.
    pub(crate) fn instantiate(
        &self,
        ctx: &Context,
        schema: &SchemaRef,
        metadata_path: &str,
    ) -> Result<Arc<dyn Source>> {
        match self {
            SourceSpec::Format { format, options } => {
                format.create_source(ctx, options, schema.clone(), metadata_path)
            }
            SourceSpec::Shared(source) => Ok(source.clone()),
        }
    }
}

/// A streaming source in a DataFrame's plan (Spark's `StreamingRelation`): it has columns but
/// no rows of its own. A query replaces it with each batch's rows; running the plan as a batch
/// query fails with Spark's message.
pub(crate) struct StreamingTable {
    pub(crate) spec: SourceSpec,
    pub(crate) schema: SchemaRef,
}

impl std::fmt::Debug for StreamingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingTable")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TableProvider for StreamingTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Plan(NEEDS_START.into()))
    }
}
