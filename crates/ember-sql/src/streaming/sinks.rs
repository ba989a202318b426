//! The sinks ember-sql brings: files with a metadata log (Spark's `FileStreamSink` and its
//! `_spark_metadata`), `console`, `memory`, and `foreach_batch`.

use super::log::MetadataLog;
use super::source::{Options, Sink, SinkContext, StreamFormat};
use super::OutputMode;
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use ember_core::Context;
use object_store::ObjectStoreExt;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The directory of a file sink's log, under its output: Spark's name, so that Spark reads
/// an ember output as one of its own.
pub(crate) const SINK_LOG_DIR: &str = "_spark_metadata";

/// Every this many batches the sink log writes `<batch>.compact`, all files so far in one
/// entry (Spark's `spark.sql.streaming.fileSink.log.compactInterval` default, which Spark's
/// readers assume when the log has no compact file yet).
const COMPACT_INTERVAL: i64 = 10;

/// A file in the sink log, with Spark's field names.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SinkFileStatus {
    path: String,
    size: u64,
    is_dir: bool,
    modification_time: i64,
    block_replication: i32,
    block_size: i64,
    action: String,
}

/// Whether `id` is a batch whose log entry is a compact one.
fn is_compact(id: i64) -> bool {
    (id + 1) % COMPACT_INTERVAL == 0
}

fn entry_name(id: i64) -> String {
    if is_compact(id) {
        format!("{id}.compact")
    } else {
        id.to_string()
    }
}

/// The statuses a sink log lists as of its batch `latest`: the last compact entry's and those
/// of the batches after it.
fn logged_files(log: &MetadataLog, latest: i64) -> Result<Vec<SinkFileStatus>> {
    let base = (0..=latest).rev().find(|id| is_compact(*id));
    let first = base.unwrap_or(0);
    let mut files: Vec<SinkFileStatus> = Vec::new();
    for id in first..=latest {
        let Some(lines) = log.get_named(&entry_name(id))? else {
            continue;
        };
        for line in lines {
            let status: SinkFileStatus = serde_json::from_str(&line).map_err(|e| {
                Error::Input(format!(
                    "the file sink log {} is damaged: {e}",
                    log.path(&entry_name(id))
                ))
            })?;
            if status.action == "delete" {
                files.retain(|f| f.path != status.path);
            } else {
                files.push(status);
            }
        }
    }
    Ok(files)
}

/// The files a streaming query committed to directory `url` (a URL ending in `/`), if the
/// directory has a sink log: what readers of the directory read, rather than every file in it,
/// so that files of a batch that failed before its commit are never seen.
///
/// # Errors
/// The log cannot be read.
pub(crate) fn committed_files(ctx: &Context, url: &str) -> Result<Option<Vec<String>>> {
    let dir = format!("{url}{SINK_LOG_DIR}");
    // Only a directory a query wrote has a log; listing first keeps from creating one.
    if !matches!(ctx.list_status(&dir), Ok(files) if !files.is_empty()) {
        return Ok(None);
    }
    let log = MetadataLog::new(ctx, &dir)?;
    let Some(latest) = log.latest_id()? else {
        return Ok(None);
    };
    Ok(Some(
        logged_files(&log, latest)?
            .into_iter()
            .map(|f| f.path)
            .collect(),
    ))
}

/// The size and modification time (milliseconds) of the file `url`.
fn file_status(session: &SqlSession, url: &str) -> Result<(u64, i64)> {
    let resolved = session.env().resolve(url)?;
    let meta = session
        .block_on(resolved.store.head(&resolved.path))
        .map_err(|e| Error::Input(ember_hadoop::object_stores::explain(url, &e)))?;
    Ok((meta.size, meta.last_modified.timestamp_millis()))
}

/// Files of each batch in a directory, listed in `_spark_metadata/<batch>` once they are all
/// there (Spark's `FileStreamSink`): a batch redone after a failure is skipped if its entry
/// exists, so every row is in exactly one listed file.
pub(crate) struct FileStreamSink {
    ctx: Context,
    format: &'static str,
    path: String,
    log: MetadataLog,
    /// Columns whose values name the directories the rows go to.
    partition_by: Vec<String>,
}

impl FileStreamSink {
    pub(crate) fn create(
        ctx: &Context,
        format: &'static str,
        options: &Options,
        query: &SinkContext,
    ) -> Result<Arc<dyn Sink>> {
        let path = options.get("path").ok_or_else(|| {
            Error::Input(format!(
                "a {format} sink needs a directory: give option(\"path\", dir)"
            ))
        })?;
        if query.output_mode != OutputMode::Append {
            return Err(Error::Input(format!(
                "Data source {format} does not support {} output mode; files take append",
                query.output_mode
            )));
        }
        let path = ember_hadoop::object_stores::qualify(path, &ctx.env().hadoop)?;
        let path = path.trim_end_matches('/').to_string();
        let log = MetadataLog::new(ctx, &format!("{path}/{SINK_LOG_DIR}"))?;
        Ok(Arc::new(FileStreamSink {
            ctx: ctx.clone(),
            format,
            path,
            log,
            partition_by: query.partition_by.clone(),
        }))
    }
}

impl Sink for FileStreamSink {
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()> {
        if self
            .log
            .latest_id()?
            .is_some_and(|latest| batch_id <= latest)
        {
            tracing::info!(
                "skipping batch {batch_id}: its files are in {} already",
                self.path
            );
            return Ok(());
        }
        let columns: Vec<&str> = self.partition_by.iter().map(String::as_str).collect();
        let names = rows
            .write()
            .partition_by(&columns)
            .append_files(self.format, &self.path)?;
        // Each new file asked about by name: listing the output would cost more every batch.
        let session = SqlSession::of(&self.ctx);
        let mut entries = names
            .iter()
            .map(|name| {
                // Full URLs, as Spark's readers want them.
                let url = format!("{}/{name}", self.path);
                let (size, modification_time) = file_status(&session, &url)?;
                Ok(SinkFileStatus {
                    path: url,
                    size,
                    is_dir: false,
                    modification_time,
                    block_replication: 1,
                    block_size: 128 << 20,
                    action: "add".into(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if is_compact(batch_id) && batch_id > 0 {
            let mut all = logged_files(&self.log, batch_id - 1)?;
            all.append(&mut entries);
            entries = all;
        }
        let lines: Vec<String> = entries
            .iter()
            .map(|e| serde_json::to_string(e).expect("a status is JSON"))
            .collect();
        self.log.add_named(&entry_name(batch_id), &lines)
    }

    fn description(&self) -> String {
        format!("FileSink[{}]", self.path)
    }
}

/// Spark's `console` sink: each batch printed as a table under a `Batch: N` banner.
struct ConsoleFormat;

crate::register_stream_format!(ConsoleFormat);

impl StreamFormat for ConsoleFormat {
    fn name(&self) -> &'static str {
        "console"
    }

    fn create_sink(
        &self,
        _: &Context,
        options: &Options,
        _: &SinkContext,
    ) -> Result<Arc<dyn Sink>> {
        let rows = super::sources::number_option(options, "numRows")?.unwrap_or(20) as usize;
        Ok(Arc::new(ConsoleSink { rows }))
    }
}

struct ConsoleSink {
    rows: usize,
}

impl Sink for ConsoleSink {
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()> {
        let table = rows.show_string(self.rows)?;
        let rule = "-------------------------------------------";
        println!("{rule}\nBatch: {batch_id}\n{rule}\n{table}");
        Ok(())
    }

    fn description(&self) -> String {
        "ConsoleSink".into()
    }
}

/// Spark's `memory` sink: the rows, in a temporary view named after the query (append adds a
/// batch's rows, complete replaces them, update adds the changed rows).
struct MemoryFormat;

crate::register_stream_format!(MemoryFormat);

impl StreamFormat for MemoryFormat {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn create_sink(
        &self,
        ctx: &Context,
        _: &Options,
        query: &SinkContext,
    ) -> Result<Arc<dyn Sink>> {
        let name = query.query_name.clone().ok_or_else(|| {
            Error::Input("queryName must be specified for memory sink: give query_name(...)".into())
        })?;
        Ok(Arc::new(MemorySink {
            session: SqlSession::of(ctx),
            name,
            mode: query.output_mode,
            batches: Mutex::new(BTreeMap::new()),
        }))
    }
}

struct MemorySink {
    session: Arc<SqlSession>,
    name: String,
    mode: OutputMode,
    /// Each batch's rows, by batch id (a redone batch replaces its own rows).
    batches: Mutex<BTreeMap<i64, Vec<RecordBatch>>>,
}

impl Sink for MemorySink {
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()> {
        let schema = rows.schema();
        let new = rows.collect()?;
        let mut batches = self.batches.lock();
        if self.mode == OutputMode::Complete {
            batches.clear();
        }
        batches.insert(batch_id, new);
        let all: Vec<RecordBatch> = batches.values().flatten().cloned().collect();
        let table = MemTable::try_new(schema, vec![all])?;
        let datafusion = &self.session.datafusion;
        datafusion.deregister_table(self.name.as_str())?;
        datafusion.register_table(self.name.as_str(), Arc::new(table))?;
        Ok(())
    }

    fn description(&self) -> String {
        format!("MemorySink[{}]", self.name)
    }
}

/// The function `foreach_batch` runs on each batch's rows and id.
pub(crate) type BatchFunction = dyn Fn(DataFrame, i64) -> Result<()> + Send + Sync;

/// Spark's `foreachBatch`: the program's own function, given each batch.
pub(crate) struct ForeachBatchSink(pub(crate) Arc<BatchFunction>);

impl Sink for ForeachBatchSink {
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()> {
        (self.0)(rows, batch_id)
    }

    fn description(&self) -> String {
        "ForeachBatchSink".into()
    }
}
