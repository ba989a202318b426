//! Structured Streaming: queries over unbounded tables, run as a series of small batch queries
//! (Spark's micro-batch engine).
//!
//! A streaming DataFrame is made by [`DataStreamReader`] (`ctx.read_stream()`) or
//! [`MemoryStream`]; it takes the same operations as any DataFrame (select, filter, joins with
//! static DataFrames and with other streams, group by and aggregate, SQL over a temporary view
//! of it) plus
//! [`DataFrame::with_watermark`] and [`window`]. Nothing runs until
//! [`DataStreamWriter::start`] (`df.write_stream()...start()`) starts a [`StreamingQuery`]:
//! a thread that, at each [`Trigger`], reads what the sources added, runs the plan over just
//! those rows, and hands the result to a sink.
//!
//! | part | what ember has |
//! |---|---|
//! | sources | `csv`, `json`, `parquet`, `orc`, `text` (new files of a directory, `maxFilesPerTrigger`), `rate`, [`MemoryStream`], and any [`StreamFormat`] a linked crate registers (`kafka`, from ember-kafka) |
//! | sinks | the file formats (with `_spark_metadata`, and `partition_by` directories), `console`, `memory`, [`foreach_batch`](DataStreamWriter::foreach_batch), registered formats |
//! | output modes | append, update, complete ([`OutputMode`]) |
//! | triggers | default, processing time, once, available now ([`Trigger`]) |
//! | state | aggregations, deduplication ([`DataFrame::drop_duplicates`]) and joins of two streams (inner, left, right and full outer, left semi), kept per key in a versioned state store in the checkpoint |
//! | event time | [`window`] (tumbling), [`sliding_window`], [`session_window`] (sessions merge across batches), [`DataFrame::with_watermark`]: late rows dropped, state evicted |
//!
//! # Exactly once
//! The checkpoint directory (`checkpointLocation`) holds Spark's logs: `offsets/<batch>` is
//! written before a batch runs, `commits/<batch>` after its sink took it; `sources/<n>` holds what
//! a source needs to remember and `state/` the aggregations' state, a version per batch. A query
//! restarted on the checkpoint redoes a batch that has offsets but no commit, with the same
//! offsets and the state the batch before left. The file sink lists each batch's files in
//! `<output>/_spark_metadata/<batch>` once they are all written and skips a batch it has already
//! listed; readers of the directory, ember's and Spark's, read only listed files. So each input
//! row is in the output once, however often the driver dies.
//!
//! # Where it runs
//! Each batch's reads from the sources run as the source plans them (file scans as ember stages
//! where SQL is distributed); the batch's rows then come to the driver, where the rest of the
//! plan and the state run on the session's threads. Batches are meant to be small; a very large
//! batch is bounded by the driver's memory.
//!
//! # Joins of two streams
//! Each side's rows wait in the state for the other side's; a pair is output once, in the batch
//! where its later row arrives. With watermarks, the join condition bounds the state: an
//! event-time window among the keys (`p.w = a.w`), or a time range (`click.time BETWEEN
//! view.time AND view.time + INTERVAL '1 minute'`, [`interval`] in the DataFrame API). Outer
//! joins write a row with nulls once the watermark shows an unmatched row can no longer match,
//! so they need such a bound on their outer side; only output mode append is allowed.
//!
//! In SQL, `GROUP BY window(time, '10 seconds')` (tumbling), `window(time, '10 seconds',
//! '5 seconds')` (sliding) and `session_window(time, '5 seconds')` mean what the DataFrame
//! API's [`window`], [`sliding_window`] and [`session_window`] do.
//!
//! # Not yet
//! Continuous processing (`Trigger.Continuous`), and stateful operators run on executors: the
//! state of a query is kept and updated by its driver.
//!
//! ```
//! use ember_sql::streaming::{OutputMode, Trigger};
//! use ember_sql::{col, count, lit, SqlContextExt};
//! let ctx = ember_core::Context::with_master("local[2]").unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let input = dir.path().join("in");
//! std::fs::create_dir(&input).unwrap();
//! std::fs::write(input.join("1.txt"), "a\nb\na\n").unwrap();
//! let lines = ctx.read_stream().text(input.to_str().unwrap()).unwrap();
//! let counts = lines.group_by(vec![col("value")]).agg(vec![count(lit(1)).alias("n")]).unwrap();
//! let query = counts.write_stream().format("memory").query_name("counts")
//!     .output_mode(OutputMode::Complete).trigger(Trigger::AvailableNow)
//!     .start().unwrap();
//! query.await_termination().unwrap();
//! let rows = ctx.sql("SELECT value, n FROM counts ORDER BY value").unwrap();
//! assert_eq!(rows.tab_rows(false).unwrap(), "a\t2\nb\t1\n");
//! ```

mod checks;
mod join;
mod log;
mod progress;
mod query;
mod reader;
mod session;
mod sinks;
mod source;
mod sources;
mod state;
mod stateful;
mod window;
mod writer;

pub use progress::{SinkProgress, SourceProgress, StateOperatorProgress, StreamingQueryProgress};
pub use query::StreamingQuery;
pub use reader::DataStreamReader;
pub use session::session_window;
pub(crate) use session::{expand_session_windows, session_udf};
pub use source::{
    Offset, Options, PlannedBatch, ReadLimit, Sink, SinkContext, Source, StreamFormat,
    STREAM_FORMATS,
};
pub use sources::{number_option, MemoryStream, SCHEMA_INFERENCE};
pub use window::{interval, parse_interval, sliding_window, window};
pub use writer::DataStreamWriter;

pub(crate) use query::reads_stream;
pub(crate) use sinks::committed_files;
pub(crate) use source::{stream_format, NEEDS_START};
pub(crate) use stateful::{EventTimeWatermark, StreamDeduplicate};
pub(crate) use window::{expand_sliding_windows, expand_sql_windows, window_udf};

#[doc(hidden)]
pub use linkme as __linkme;

use crate::error::{Error, Result};
use ember_core::conf::ConfigEntry;
use std::time::Duration;

/// Which rows of the result a batch writes (Spark's `OutputMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// Only new rows, each once: for a windowed aggregation, a window's row once the watermark
    /// has passed its end.
    #[default]
    Append,
    /// The rows this batch changed.
    Update,
    /// The whole result, every batch (aggregations only).
    Complete,
}

impl std::str::FromStr for OutputMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "update" => Ok(OutputMode::Update),
            "complete" => Ok(OutputMode::Complete),
            other => Err(Error::Input(format!(
                "Unknown output mode {other}. Accepted output modes are 'append', 'complete', \
                 'update'"
            ))),
        }
    }
}

impl std::fmt::Display for OutputMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputMode::Append => "Append",
            OutputMode::Update => "Update",
            OutputMode::Complete => "Complete",
        })
    }
}

/// When a query runs its next batch (Spark's `Trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// As soon as the last batch is done (and new data is there).
    #[default]
    Default,
    /// Every interval; a batch that takes longer is followed at once by the next.
    ProcessingTime(Duration),
    /// One batch of everything there is, then stop.
    Once,
    /// Everything there is when the query starts, in as many batches as the sources' limits
    /// make, then stop.
    AvailableNow,
}

impl Trigger {
    /// A processing-time trigger of Spark's interval string (`"200 milliseconds"`,
    /// `"10 seconds"`).
    ///
    /// # Errors
    /// `interval` is not an interval string.
    pub fn processing_time(interval: &str) -> Result<Trigger> {
        Ok(Trigger::ProcessingTime(parse_interval(interval)?))
    }
}

ember_core::config_keys! {
    area: "Structured Streaming";
    /// The directory under which queries without a `checkpointLocation` keep their checkpoint,
    /// one subdirectory per query name (`ember.sql.streaming.checkpointLocation`, Spark's
    /// `spark.sql.streaming.checkpointLocation`).
    pub const CHECKPOINT_LOCATION: ConfigEntry<String> = ConfigEntry::text(
        "ember.sql.streaming.checkpointLocation",
        None,
        "the directory under which named streaming queries keep their checkpoints",
        "0.1.0",
    );

    /// How many batches of logs and state versions a checkpoint keeps
    /// (`ember.sql.streaming.minBatchesToRetain`, Spark's).
    pub const MIN_BATCHES_TO_RETAIN: ConfigEntry<usize> = ConfigEntry::positive(
        "ember.sql.streaming.minBatchesToRetain",
        Some("100"),
        "how many batches of offset and commit logs and state versions a checkpoint keeps",
        "0.1.0",
    );

    /// Every how many versions the state store writes a snapshot rather than a delta
    /// (`ember.sql.streaming.stateStore.minDeltasForSnapshot`, Spark's).
    pub const MIN_DELTAS_FOR_SNAPSHOT: ConfigEntry<usize> = ConfigEntry::positive(
        "ember.sql.streaming.stateStore.minDeltasForSnapshot",
        Some("10"),
        "every how many state versions a snapshot of the whole state is written",
        "0.1.0",
    );

    /// Into how many partitions a streaming aggregation's state is hashed on disk
    /// (`ember.sql.streaming.stateStore.partitions`); fixed by a query's first batch, as Spark
    /// fixes `spark.sql.shuffle.partitions` for its state.
    pub const STATE_PARTITIONS: ConfigEntry<usize> = ConfigEntry::positive(
        "ember.sql.streaming.stateStore.partitions",
        Some("8"),
        "how many partitions a streaming aggregation's state is kept in; fixed by a query's first batch",
        "0.1.0",
    );
}
