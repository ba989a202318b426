//! The sources ember-sql brings: files arriving in a directory (`csv`, `json`, `parquet`,
//! `orc`, `text`, Spark's `FileStreamSource`), the `rate` source, and [`MemoryStream`] for
//! tests and programs that hand batches in themselves.

use super::log::MetadataLog;
use super::source::{Offset, Options, ReadLimit, Source, SourceSpec, StreamFormat, StreamingTable};
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use crate::SqlContextExt;
use datafusion::arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions};
use ember_core::conf::ConfigEntry;
use ember_core::Context;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;

ember_core::config_keys! {
    area: "Structured Streaming";
    /// Whether a file stream without a schema takes the one of the files already in its
    /// directory (`ember.sql.streaming.schemaInference`, Spark's
    /// `spark.sql.streaming.schemaInference`); else a schema must be given, as in Spark.
    pub const SCHEMA_INFERENCE: ConfigEntry<bool> = ConfigEntry::boolean(
        "ember.sql.streaming.schemaInference",
        Some("false"),
        "infer the schema of a file stream from the files already in its directory",
        "0.1.0",
    );
}

/// Option `name` of `options` as a whole number greater than 0, if it is set.
///
/// # Errors
/// It is set to something else; the error names the option.
pub fn number_option(options: &Options, name: &str) -> Result<Option<u64>> {
    match options.get(&name.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::Input(format!(
                "option {name} is {v:?}; it takes a whole number greater than 0"
            ))),
        },
    }
}

/// A rows-less DataFrame of `schema`.
pub(crate) fn empty_frame(session: &Arc<SqlSession>, schema: &SchemaRef) -> Result<DataFrame> {
    let table = MemTable::try_new(schema.clone(), vec![vec![]])?;
    let df = session.datafusion.read_table(Arc::new(table))?;
    Ok(DataFrame::new(df, session.clone()))
}

/// A DataFrame of `batches`, all of `schema`, kept in memory.
pub(crate) fn frame_of(
    session: &Arc<SqlSession>,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<DataFrame> {
    let table = MemTable::try_new(schema.clone(), vec![batches])?;
    let df = session.datafusion.read_table(Arc::new(table))?;
    Ok(DataFrame::new(df, session.clone()))
}

/// The file formats, as stream sources (here) and sinks (`sinks`).
pub(crate) struct FileFormat(pub(crate) &'static str);

crate::register_stream_format!(FileFormat("csv"));
crate::register_stream_format!(FileFormat("json"));
crate::register_stream_format!(FileFormat("parquet"));
crate::register_stream_format!(FileFormat("orc"));
crate::register_stream_format!(FileFormat("text"));

fn required_path(options: &Options) -> Result<&str> {
    options.get("path").map(String::as_str).ok_or_else(|| {
        Error::Input(
            "a file stream needs a directory: give option(\"path\", dir) or load(dir)".into(),
        )
    })
}

impl StreamFormat for FileFormat {
    fn name(&self) -> &'static str {
        self.0
    }

    fn source_schema(
        &self,
        ctx: &Context,
        options: &Options,
        schema: Option<SchemaRef>,
    ) -> Result<SchemaRef> {
        let path = required_path(options)?;
        if self.0 == "text" {
            return Ok(Arc::new(Schema::new(vec![Field::new(
                "value",
                DataType::Utf8,
                true,
            )])));
        }
        if let Some(schema) = schema {
            return Ok(schema);
        }
        if !ctx.conf().require(&SCHEMA_INFERENCE)? {
            return Err(Error::Input(format!(
                "Schema must be specified when creating a streaming source DataFrame: give \
                 read_stream().schema(...), or set {}=true to take the schema of the files \
                 already in {path}",
                SCHEMA_INFERENCE.key
            )));
        }
        let mut reader = ctx.read();
        for (k, v) in options
            .iter()
            .filter(|(k, _)| k.as_str() == "header" || k.as_str() == "sep")
        {
            reader = reader.option(k, v);
        }
        Ok(reader.format(self.0, path)?.schema())
    }

    fn create_source(
        &self,
        ctx: &Context,
        options: &Options,
        schema: SchemaRef,
        metadata_path: &str,
    ) -> Result<Arc<dyn Source>> {
        let dir = required_path(options)?.to_string();
        Ok(Arc::new(FileStreamSource {
            ctx: ctx.clone(),
            format: self.0,
            max_files: number_option(options, "maxFilesPerTrigger")?.map(|n| n as usize),
            header: options
                .get("header")
                .is_some_and(|h| h.eq_ignore_ascii_case("true")),
            separator: options.get("sep").cloned(),
            log: MetadataLog::new(ctx, metadata_path)?,
            state: Mutex::new(None),
            dir,
            schema,
        }))
    }

    fn create_sink(
        &self,
        ctx: &Context,
        options: &Options,
        query: &super::source::SinkContext,
    ) -> Result<Arc<dyn super::Sink>> {
        super::sinks::FileStreamSink::create(ctx, self.0, options, query)
    }
}

/// Files taken so far, and the last batch of the source's own log.
struct Seen {
    files: HashSet<String>,
    last_batch: i64,
    /// With `Trigger.AvailableNow`: the files there were when the query started.
    available_now: Option<HashSet<String>>,
}

/// New files of a directory, each read once (Spark's `FileStreamSource`): the source's log
/// (`<checkpoint>/sources/<n>/<batch>`) lists the files of each of its batches, so that a
/// restarted query neither skips nor rereads one. Files are taken oldest first, at most
/// `maxFilesPerTrigger` per batch.
struct FileStreamSource {
    ctx: Context,
    format: &'static str,
    dir: String,
    schema: SchemaRef,
    max_files: Option<usize>,
    header: bool,
    separator: Option<String>,
    log: MetadataLog,
    state: Mutex<Option<Seen>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FileEntry {
    path: String,
    timestamp: i64,
    #[serde(rename = "batchId")]
    batch_id: i64,
}

impl FileStreamSource {
    /// The files of the log's entries, read once.
    fn seen(&self) -> Result<Seen> {
        let mut files = HashSet::new();
        let mut last_batch = -1;
        for id in self.log.batch_ids()? {
            for entry in self.entries(id)? {
                files.insert(entry.path);
            }
            last_batch = id;
        }
        Ok(Seen {
            files,
            last_batch,
            available_now: None,
        })
    }

    fn entries(&self, batch: i64) -> Result<Vec<FileEntry>> {
        let lines = self.log.get(batch)?.unwrap_or_default();
        lines
            .iter()
            .map(|l| {
                serde_json::from_str(l).map_err(|e| {
                    Error::Input(format!(
                        "file source log {} is damaged ({e}); start the query with a new \
                         checkpointLocation",
                        self.log.path(&batch.to_string())
                    ))
                })
            })
            .collect()
    }

    fn with_seen<T>(&self, f: impl FnOnce(&mut Seen) -> Result<T>) -> Result<T> {
        let mut state = self.state.lock();
        if state.is_none() {
            *state = Some(self.seen()?);
        }
        f(state.as_mut().expect("set above"))
    }

    fn read(&self, files: Vec<String>) -> Result<DataFrame> {
        let session = SqlSession::of(&self.ctx);
        if files.is_empty() {
            return empty_frame(&session, &self.schema);
        }
        let datafusion = &session.datafusion;
        let schema = self.schema.as_ref();
        let df = match self.format {
            "csv" => {
                let separator = self.separator.as_deref().unwrap_or(",");
                let options = CsvReadOptions::new()
                    .schema(schema)
                    .has_header(self.header)
                    .delimiter(*separator.as_bytes().first().unwrap_or(&b','))
                    .file_extension("");
                session.block_on(datafusion.read_csv(files, options))?
            }
            "json" => {
                let options = JsonReadOptions::default().schema(schema).file_extension("");
                session.block_on(datafusion.read_json(files, options))?
            }
            "parquet" => {
                let options = ParquetReadOptions::default()
                    .schema(schema)
                    .file_extension("");
                session.block_on(datafusion.read_parquet(files, options))?
            }
            "orc" => {
                let urls = files
                    .iter()
                    .map(ListingTableUrl::parse)
                    .collect::<datafusion::error::Result<Vec<_>>>()?;
                let options = ListingOptions::new(Arc::new(crate::formats::orc::OrcFileFormat))
                    .with_file_extension("");
                let config = ListingTableConfig::new_with_multi_paths(urls)
                    .with_listing_options(options)
                    .with_schema(self.schema.clone());
                datafusion.read_table(Arc::new(ListingTable::try_new(config)?))?
            }
            _ => {
                let lines = crate::formats::text::read_text(&self.ctx, &files.join(","), false)?;
                return Ok(lines);
            }
        };
        Ok(DataFrame::new(df, session.clone()))
    }
}

impl Source for FileStreamSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn latest_offset(&self, _start: Option<&Offset>, limit: ReadLimit) -> Result<Option<Offset>> {
        let listed = self.ctx.list_status(&self.dir)?;
        self.with_seen(|seen| {
            let mut new: Vec<_> = listed
                .into_iter()
                .filter(|f| !seen.files.contains(&f.path))
                .filter(|f| {
                    seen.available_now
                        .as_ref()
                        .is_none_or(|there| there.contains(&f.path))
                })
                .collect();
            new.sort_by(|a, b| (a.modification_time, &a.path).cmp(&(b.modification_time, &b.path)));
            if let (ReadLimit::Configured, Some(max)) = (limit, self.max_files) {
                new.truncate(max);
            }
            if !new.is_empty() {
                let batch = seen.last_batch + 1;
                let lines = new
                    .iter()
                    .map(|f| {
                        serde_json::to_string(&FileEntry {
                            path: f.path.clone(),
                            timestamp: f.modification_time,
                            batch_id: batch,
                        })
                        .expect("a file entry is JSON")
                    })
                    .collect::<Vec<_>>();
                self.log.add(batch, &lines)?;
                seen.files.extend(new.into_iter().map(|f| f.path));
                seen.last_batch = batch;
            }
            Ok((seen.last_batch >= 0).then(|| Offset::number(seen.last_batch)))
        })
    }

    fn prepare_for_available_now(&self) -> Result<()> {
        let there: HashSet<String> = self
            .ctx
            .list_status(&self.dir)?
            .into_iter()
            .map(|f| f.path)
            .collect();
        self.with_seen(|seen| {
            seen.available_now = Some(there);
            Ok(())
        })
    }

    fn get_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<DataFrame> {
        let first = match start {
            Some(start) => start.as_number()? + 1,
            None => 0,
        };
        let mut files = Vec::new();
        for batch in first..=end.as_number()? {
            files.extend(self.entries(batch)?.into_iter().map(|e| e.path));
        }
        self.read(files)
    }

    fn description(&self) -> String {
        format!("FileStreamSource[{}]", self.dir)
    }
}

/// Spark's `rate` source: `rowsPerSecond` rows a second, of columns `timestamp` and `value`
/// (0, 1, 2, ...), spread evenly over each second since the query first started.
pub(crate) struct RateFormat;

crate::register_stream_format!(RateFormat);

fn rate_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("value", DataType::Int64, false),
    ]))
}

impl StreamFormat for RateFormat {
    fn name(&self) -> &'static str {
        "rate"
    }

    fn source_schema(
        &self,
        _: &Context,
        _: &Options,
        schema: Option<SchemaRef>,
    ) -> Result<SchemaRef> {
        match schema {
            Some(_) => Err(Error::Input(
                "The rate source does not support a user-specified schema".into(),
            )),
            None => Ok(rate_schema()),
        }
    }

    fn create_source(
        &self,
        ctx: &Context,
        options: &Options,
        _schema: SchemaRef,
        metadata_path: &str,
    ) -> Result<Arc<dyn Source>> {
        let rows_per_second = number_option(options, "rowsPerSecond")?.unwrap_or(1) as i64;
        let log = MetadataLog::new(ctx, metadata_path)?;
        // The start time is kept so that a restarted query goes on numbering from it.
        let start_ms = match log.get(0)? {
            Some(lines) => lines
                .first()
                .and_then(|l| l.parse().ok())
                .ok_or_else(|| Error::Input(format!("{} is damaged", log.path("0"))))?,
            None => {
                let now = now_ms();
                log.add(0, &[now.to_string()])?;
                now
            }
        };
        Ok(Arc::new(RateSource {
            session: SqlSession::of(ctx),
            rows_per_second,
            start_ms,
        }))
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct RateSource {
    session: Arc<SqlSession>,
    rows_per_second: i64,
    start_ms: i64,
}

impl Source for RateSource {
    fn schema(&self) -> SchemaRef {
        rate_schema()
    }

    fn latest_offset(&self, _start: Option<&Offset>, _limit: ReadLimit) -> Result<Option<Offset>> {
        Ok(Some(Offset::number((now_ms() - self.start_ms) / 1000)))
    }

    fn get_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<DataFrame> {
        let first_second = start.map(Offset::as_number).transpose()?.unwrap_or(0);
        let last_second = end.as_number()?;
        let rps = self.rows_per_second;
        let values: Int64Array = (first_second * rps..last_second * rps).collect();
        let times: TimestampMicrosecondArray = values
            .values()
            .iter()
            .map(|v| {
                let ms = self.start_ms + (v / rps) * 1000 + (v % rps) * 1000 / rps;
                Some(ms * 1000)
            })
            .collect();
        let schema = rate_schema();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(times), Arc::new(values)])?;
        frame_of(&self.session, &schema, vec![batch])
    }

    fn description(&self) -> String {
        format!("RateStreamV2[rowsPerSecond={}]", self.rows_per_second)
    }
}

/// A source of batches the program adds itself (Spark's `MemoryStream`): each
/// [`add_data`](MemoryStream::add_data) is one offset further, read by the next trigger of the
/// queries over [`to_df`](MemoryStream::to_df). It lives in this process only, so a query over
/// it cannot recover from a restart of the program.
///
/// ```
/// use ember_sql::streaming::MemoryStream;
/// use ember_sql::{Field, Schema, DataType, RecordBatch, SqlContextExt};
/// use std::sync::Arc;
/// let ctx = ember_core::Context::with_master("local[1]").unwrap();
/// let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
/// let input = MemoryStream::new(&ctx, schema.clone());
/// let query = input.to_df().unwrap().write_stream().format("memory").query_name("ns")
///     .start().unwrap();
/// let numbers = datafusion::arrow::array::Int64Array::from(vec![1, 2, 3]);
/// input.add_data(RecordBatch::try_new(schema, vec![Arc::new(numbers)]).unwrap()).unwrap();
/// query.process_all_available().unwrap();
/// assert_eq!(ctx.sql("SELECT sum(n) FROM ns").unwrap().tab_rows(false).unwrap(), "6\n");
/// query.stop().unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryStream {
    inner: Arc<MemoryStreamSource>,
    session: Arc<SqlSession>,
}

struct MemoryStreamSource {
    schema: SchemaRef,
    batches: Mutex<Vec<RecordBatch>>,
    session: Arc<SqlSession>,
}

impl MemoryStream {
    /// An empty stream of rows of `schema`.
    pub fn new(ctx: &Context, schema: SchemaRef) -> MemoryStream {
        let session = SqlSession::of(ctx);
        MemoryStream {
            inner: Arc::new(MemoryStreamSource {
                schema,
                batches: Mutex::new(Vec::new()),
                session: session.clone(),
            }),
            session,
        }
    }

    /// Adds `batch` as the stream's next offset, which it returns.
    ///
    /// # Errors
    /// The batch's columns are not the stream's.
    pub fn add_data(&self, batch: RecordBatch) -> Result<Offset> {
        if batch.schema().fields() != self.inner.schema.fields() {
            return Err(Error::Input(format!(
                "the batch's columns {} are not the stream's {}",
                batch.schema(),
                self.inner.schema
            )));
        }
        let mut batches = self.inner.batches.lock();
        batches.push(batch);
        Ok(Offset::number(batches.len() as i64 - 1))
    }

    /// A streaming DataFrame of the stream's rows.
    ///
    /// # Errors
    /// None in practice (a DataFrame over a table always plans).
    pub fn to_df(&self) -> Result<DataFrame> {
        let table = StreamingTable {
            spec: SourceSpec::Shared(self.inner.clone()),
            schema: self.inner.schema.clone(),
        };
        let df = self.session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, self.session.clone()))
    }
}

impl Source for MemoryStreamSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn latest_offset(&self, _start: Option<&Offset>, _limit: ReadLimit) -> Result<Option<Offset>> {
        let added = self.batches.lock().len() as i64;
        Ok((added > 0).then(|| Offset::number(added - 1)))
    }

    fn get_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<DataFrame> {
        let first = match start {
            Some(start) => start.as_number()? + 1,
            None => 0,
        };
        let last = end.as_number()?;
        let batches = self.batches.lock();
        let chosen = batches
            .get(first as usize..=last as usize)
            .ok_or_else(|| {
                Error::Input(format!(
                    "the memory stream has no offsets {first} to {last}: it lives in one \
                     process, and this query's checkpoint was written by another"
                ))
            })?
            .to_vec();
        frame_of(&self.session, &self.schema, chosen)
    }

    fn description(&self) -> String {
        "MemoryStream".into()
    }
}
