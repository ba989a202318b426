//! [`DataStreamWriter`]: starting a streaming query (Spark's `df.writeStream`).

use super::query::{self, QuerySpec, StreamingQuery};
use super::sinks::{BatchFunction, ForeachBatchSink};
use super::source::{stream_format, Options, Sink, SinkContext};
use super::{OutputMode, Trigger, CHECKPOINT_LOCATION};
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use std::sync::Arc;

/// Where and how a streaming DataFrame's query writes (Spark's `DataStreamWriter`):
/// `df.write_stream().format("parquet").option("path", out).option("checkpointLocation", cp)
/// .output_mode(OutputMode::Append).trigger(Trigger::processing_time("1 second")?).start()`.
pub struct DataStreamWriter {
    df: DataFrame,
    format: String,
    options: Options,
    mode: OutputMode,
    trigger: Trigger,
    name: Option<String>,
    partition_by: Vec<String>,
    foreach: Option<Arc<BatchFunction>>,
}

impl DataStreamWriter {
    pub(crate) fn new(df: DataFrame) -> Self {
        DataStreamWriter {
            df,
            format: "parquet".into(),
            options: Options::new(),
            mode: OutputMode::default(),
            trigger: Trigger::default(),
            name: None,
            partition_by: Vec::new(),
            foreach: None,
        }
    }

    /// The sink's format (default `parquet`).
    #[must_use]
    pub fn format(mut self, format: &str) -> Self {
        self.format = format.to_string();
        self
    }

    /// Sets option `key` (case-insensitive): `path`, `checkpointLocation`, the sink's own.
    #[must_use]
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.options
            .insert(key.to_ascii_lowercase(), value.to_string());
        self
    }

    /// Which rows each batch writes (default append).
    #[must_use]
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.mode = mode;
        self
    }

    /// When batches run (default: as soon as the last one is done).
    #[must_use]
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// The query's name: the memory sink's table, and the checkpoint's directory under
    /// `ember.sql.streaming.checkpointLocation`.
    #[must_use]
    pub fn query_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Columns to write as directories (file sinks): a row goes under `column=value/`, as Spark
    /// and Hive lay them out; the sink's log lists the files with their directories, and
    /// readers of the output take the columns back from them.
    #[must_use]
    pub fn partition_by(mut self, columns: &[&str]) -> Self {
        self.partition_by = columns.iter().map(ToString::to_string).collect();
        self
    }

    /// Gives each batch's rows and id to `f` instead of a sink (Spark's `foreachBatch`). A
    /// batch redone after a failure comes again with the same id: `f` decides what that means.
    #[must_use]
    pub fn foreach_batch(
        mut self,
        f: impl Fn(DataFrame, i64) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.foreach = Some(Arc::new(f));
        self
    }

    /// Starts the query on its own thread.
    ///
    /// # Errors
    /// The DataFrame does not stream, the plan does something streaming cannot, the sink
    /// refuses its options, or the checkpoint cannot be read.
    pub fn start(self) -> Result<StreamingQuery> {
        if !self.df.is_streaming() {
            return Err(Error::Input(
                "'write_stream' can be called only on streaming Dataset/DataFrame".into(),
            ));
        }
        let ctx = self.df.session().context()?;
        let (checkpoint, temporary) = self.checkpoint(&ctx)?;
        let id = query_id(&ctx, &checkpoint)?;
        let sink: Arc<dyn Sink> = match &self.foreach {
            Some(f) => Arc::new(ForeachBatchSink(f.clone())),
            None => stream_format(&self.format)?.create_sink(
                &ctx,
                &self.options,
                &SinkContext {
                    query_name: self.name.clone(),
                    query_id: id.clone(),
                    output_mode: self.mode,
                    partition_by: self.partition_by.clone(),
                },
            )?,
        };
        query::start(QuerySpec {
            ctx,
            df: self.df,
            sink,
            mode: self.mode,
            trigger: self.trigger,
            name: self.name,
            checkpoint,
            temporary_checkpoint: temporary,
            id,
        })
    }

    /// The checkpoint directory, and whether it is a temporary one (console, memory and
    /// foreach-batch queries may go without).
    fn checkpoint(&self, ctx: &ember_core::Context) -> Result<(String, bool)> {
        if let Some(dir) = self.options.get("checkpointlocation") {
            return Ok((dir.clone(), false));
        }
        if let (Some(root), Some(name)) = (ctx.conf().get(&CHECKPOINT_LOCATION)?, &self.name) {
            return Ok((format!("{}/{name}", root.trim_end_matches('/')), false));
        }
        let may_go_without =
            self.foreach.is_some() || matches!(self.format.as_str(), "console" | "memory");
        if may_go_without {
            let dir = std::env::temp_dir().join(format!(
                "ember-temporary-checkpoint-{}",
                uuid::Uuid::new_v4()
            ));
            return Ok((format!("file://{}", dir.display()), true));
        }
        Err(Error::Input(format!(
            "checkpointLocation must be specified either through option(\"checkpointLocation\", \
             ...) or {}=<dir> with a query_name",
            CHECKPOINT_LOCATION.key
        )))
    }
}

/// The id of the query whose checkpoint is `dir`: the one its `metadata` file gives, else a
/// new one.
fn query_id(ctx: &ember_core::Context, dir: &str) -> Result<String> {
    let path = format!("{}/metadata", dir.trim_end_matches('/'));
    let Ok(bytes) = ctx.env().read_file(&path) else {
        return Ok(uuid::Uuid::new_v4().to_string());
    };
    let metadata: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Input(format!(
            "{path} is damaged ({e}); start the query with a new checkpointLocation"
        ))
    })?;
    metadata
        .get("id")
        .and_then(|id| id.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Input(format!("{path} has no query id")))
}
