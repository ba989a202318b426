//! [`DataFrameWriter`]: DataFrames into files, committed like RDD output (through
//! `ember_hadoop::commit`, Hadoop's `FileOutputCommitter`; the algorithm as
//! `ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version` says, 1 by default).
//!
//! DataFusion's sink writes every file of a query from one place, so a write is one job of one
//! task: the rows are written under the task attempt's directory
//! `<path>/_temporary/0/_temporary/attempt_<time>_<n>_m_000000_0/` (with `col=value/`
//! directories for `partition_by`); once every file is complete the task commits, its files
//! renamed as Spark names them (`part-<n>-<write id>.<ext>`), and the job commits: the files
//! appear in `<path>` and `_SUCCESS` is written. For mode overwrite, what was in `<path>` is
//! deleted just before the commit, once the new files are all written. A failed write aborts
//! the job and leaves what was in `<path>` before untouched, so readers never see half an
//! output.

use crate::dataframe::{may_sort_merge_instead, with_sort_merge_joins, DataFrame};
use crate::error::{Error, Result};
use crate::formats::orc::OrcFileFormat;
use crate::formats::sink::{orc_schema, text_columns_error};
use crate::formats::text::{is_string, TextFileFormat};
use datafusion::datasource::file_format::csv::CsvFormatFactory;
use datafusion::datasource::file_format::format_as_file_type;
use datafusion::datasource::file_format::json::JsonFormatFactory;
use datafusion::datasource::file_format::parquet::ParquetFormatFactory;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::logical_expr::LogicalPlanBuilder;
use ember_hadoop::commit::{
    self, AuthorizeEveryAttempt, CommitSettings, FileOutputCommitter, JobId, TaskAttemptId, TaskId,
    TaskType, PENDING_DIR_NAME,
};
use ember_hadoop::ResolvedPath;
use object_store::ObjectStoreExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// What writing does when the output exists (Spark's `SaveMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveMode {
    /// Refuse (the default).
    #[default]
    ErrorIfExists,
    /// Replace what is there.
    Overwrite,
    /// Add files beside what is there.
    Append,
    /// Write nothing, and say nothing.
    Ignore,
}

impl std::str::FromStr for SaveMode {
    type Err = Error;

    /// Spark's names: `error` (`errorifexists`), `overwrite`, `append`, `ignore`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "errorifexists" | "default" => Ok(SaveMode::ErrorIfExists),
            "overwrite" => Ok(SaveMode::Overwrite),
            "append" => Ok(SaveMode::Append),
            "ignore" => Ok(SaveMode::Ignore),
            other => Err(Error::Input(format!(
                "unknown save mode {other:?}; the modes are error, overwrite, append, ignore"
            ))),
        }
    }
}

/// Writes a DataFrame as files in a directory (Spark's `DataFrameWriter`):
///
/// | format | files | columns |
/// |---|---|---|
/// | [`parquet`](DataFrameWriter::parquet) | `part-NNNNN-<write id>.parquet` | any |
/// | [`csv`](DataFrameWriter::csv) | `.csv`, each with a header line | any |
/// | [`json`](DataFrameWriter::json) | `.json`, one object per line | any |
/// | [`orc`](DataFrameWriter::orc) | `.orc`, Snappy-compressed | numbers, strings, binaries, booleans, dates, timestamps |
/// | [`text`](DataFrameWriter::text) | `.txt`, one line per row | exactly one string column |
///
/// Columns named in [`partition_by`](DataFrameWriter::partition_by) become directories and are
/// not counted among the files' columns.
pub struct DataFrameWriter {
    df: DataFrame,
    mode: SaveMode,
    partition_by: Vec<String>,
}

/// The formats written.
#[derive(Debug, Clone, Copy)]
enum Format {
    Parquet,
    Csv,
    Json,
    Orc,
    Text,
}

impl DataFrameWriter {
    pub(crate) fn new(df: DataFrame) -> Self {
        DataFrameWriter {
            df,
            mode: SaveMode::default(),
            partition_by: Vec::new(),
        }
    }

    /// What to do when the output exists.
    #[must_use]
    pub fn mode(mut self, mode: SaveMode) -> Self {
        self.mode = mode;
        self
    }

    /// Writes one directory per value of these columns (`col=value/`), the columns left out
    /// of the files, as Hive and Spark lay out partitioned tables.
    #[must_use]
    pub fn partition_by(mut self, columns: &[&str]) -> Self {
        self.partition_by = columns.iter().map(ToString::to_string).collect();
        self
    }

    /// Writes Parquet files into directory `path`.
    ///
    /// # Errors
    /// The output exists (mode error), the query fails, or the store refuses.
    pub fn parquet(self, path: &str) -> Result<()> {
        self.save(path, Format::Parquet)
    }

    /// Writes CSV files, each with a header line, into directory `path`.
    ///
    /// # Errors
    /// As [`parquet`](DataFrameWriter::parquet).
    pub fn csv(self, path: &str) -> Result<()> {
        self.save(path, Format::Csv)
    }

    /// Writes JSON lines into directory `path`.
    ///
    /// # Errors
    /// As [`parquet`](DataFrameWriter::parquet).
    pub fn json(self, path: &str) -> Result<()> {
        self.save(path, Format::Json)
    }

    /// Writes ORC files into directory `path`.
    ///
    /// # Errors
    /// As [`parquet`](DataFrameWriter::parquet), or a column of a type ORC output cannot hold
    /// (decimals, nested types, unsigned 64-bit integers).
    pub fn orc(self, path: &str) -> Result<()> {
        self.save(path, Format::Orc)
    }

    /// Writes text files into directory `path`: one line per row, the value of the one string
    /// column (a null value as an empty line), as Spark's `text` source.
    ///
    /// # Errors
    /// As [`parquet`](DataFrameWriter::parquet), or the rows have other than one column
    /// besides the `partition_by` columns, or that column is not a string.
    pub fn text(self, path: &str) -> Result<()> {
        self.save(path, Format::Text)
    }

    /// The columns written into the files: all but the partition columns.
    fn file_columns(&self) -> Vec<datafusion::arrow::datatypes::FieldRef> {
        let schema = self.df.schema();
        let fields = schema.fields().iter();
        fields
            .filter(|f| !self.partition_by.contains(f.name()))
            .cloned()
            .collect()
    }

    /// Refuses rows the format cannot hold, before anything is written.
    fn check_columns(&self, format: Format) -> Result<()> {
        let columns = self.file_columns();
        match format {
            Format::Text => match columns.as_slice() {
                [one] if is_string(one.data_type()) => Ok(()),
                [one] => Err(Error::Input(format!(
                    "text data source does not support {} data type (column {}); cast it to \
                     a string first",
                    one.data_type(),
                    one.name()
                ))),
                _ => Err(Error::Input(text_columns_error(columns.len()))),
            },
            Format::Orc => {
                let schema = datafusion::arrow::datatypes::Schema::new(columns);
                orc_schema(&schema).map(|_| ()).map_err(Error::Input)
            }
            Format::Parquet | Format::Csv | Format::Json => Ok(()),
        }
    }

    fn save(self, path: &str, format: Format) -> Result<()> {
        self.save_files(path, format).map(|_| ())
    }

    /// Appends the rows as files of `format` (`parquet`, `csv`, `json`, `orc` or `text`) to
    /// directory `path`, and returns the paths under it of the files committed there
    /// (`key=a/part-...` when partitioned): what a streaming file sink lists in its log.
    ///
    /// # Errors
    /// An unknown format, or as [`parquet`](Self::parquet).
    pub(crate) fn append_files(self, format: &str, path: &str) -> Result<Vec<String>> {
        let format = match format {
            "parquet" => Format::Parquet,
            "csv" => Format::Csv,
            "json" => Format::Json,
            "orc" => Format::Orc,
            "text" => Format::Text,
            other => return Err(Error::Input(format!("unknown file format {other:?}"))),
        };
        self.mode(SaveMode::Append).save_files(path, format)
    }

    fn save_files(self, path: &str, format: Format) -> Result<Vec<String>> {
        self.check_columns(format)?;
        let session = self.df.session().clone();
        let out = session.env().resolve(path)?;
        let exists = session.block_on(exists(&out))?;
        match (exists, self.mode) {
            (true, SaveMode::ErrorIfExists) => {
                return Err(Error::Input(format!(
                    "{} exists already: write with mode overwrite, append or ignore, or to \
                     another path",
                    out.url
                )))
            }
            (true, SaveMode::Ignore) => return Ok(Vec::new()),
            _ => {}
        }
        let df = self.df.inner().clone();
        match self.write_once(&out, format, df.clone()) {
            Err(e) if may_sort_merge_instead(&e, &df) => {
                self.write_once(&out, format, with_sort_merge_joins(df, &e))
            }
            done => done,
        }
    }

    /// Writes the rows of `df` as files and commits them, returning the committed files'
    /// names; on failure, removes what it wrote.
    fn write_once(
        &self,
        out: &ResolvedPath,
        format: Format,
        df: datafusion::dataframe::DataFrame,
    ) -> Result<Vec<String>> {
        let session = self.df.session();
        let settings = CommitSettings::from_conf(&session.env().hadoop)?;
        let job = JobId::new(
            JobId::tracker_now(),
            WRITE_JOBS.fetch_add(1, Ordering::Relaxed),
        );
        let committer = FileOutputCommitter::new(out.clone(), job.clone(), settings);
        let attempt = TaskAttemptId::new(TaskId::new(job, TaskType::Map, 0), 0);
        let write_id = uuid::Uuid::new_v4().to_string();
        let written = committer
            .setup_job()
            .and_then(|()| committer.setup_task(&attempt))
            .map_err(Error::from)
            .and_then(|()| {
                let url = committer.url_of(&committer.task_attempt_path(&attempt));
                self.write_files(&format!("{url}/"), format, df)
            });
        let committed = written.and_then(|()| {
            session.block_on(async {
                if self.mode == SaveMode::Overwrite {
                    delete_all_but_pending(out).await?;
                }
                // A name may be asked for more than once (when a file is moved twice).
                let names = std::sync::Mutex::new(std::collections::BTreeSet::new());
                let named = |dir: &str, name: &str| {
                    let part = part_name(name, &write_id);
                    let path = match dir {
                        "" => part.clone(),
                        dir => format!("{dir}/{part}"),
                    };
                    names.lock().expect("no panic holds it").insert(path);
                    part
                };
                committer
                    .commit_task_as(&attempt, &AuthorizeEveryAttempt, &named)
                    .await?;
                committer.commit_job().await?;
                let names = names.into_inner().expect("no panic holds it");
                Ok(names.into_iter().collect())
            })
        });
        if committed.is_err() {
            let _ = session.block_on(committer.abort_job());
        }
        committed
    }

    /// Writes the rows of `df` as files under `url`, through DataFusion's `COPY` plan run as
    /// stages.
    fn write_files(
        &self,
        url: &str,
        format: Format,
        df: datafusion::dataframe::DataFrame,
    ) -> Result<()> {
        let factory: Arc<dyn FileFormatFactory> = match format {
            Format::Parquet => Arc::new(ParquetFormatFactory::new()),
            Format::Csv => Arc::new(CsvFormatFactory::new()),
            Format::Json => Arc::new(JsonFormatFactory::new()),
            Format::Orc => Arc::new(OrcFileFormat),
            Format::Text => Arc::new(TextFileFormat),
        };
        let (state, plan) = df.into_parts();
        let copy = LogicalPlanBuilder::copy_to(
            plan,
            url.into(),
            format_as_file_type(factory),
            HashMap::new(),
            self.partition_by.clone(),
        )?
        .build()?;
        self.df
            .run(datafusion::dataframe::DataFrame::new(state, copy))
            .map(|_| ())
    }
}

/// Numbers the write jobs of this process, as Spark numbers them by stage.
static WRITE_JOBS: AtomicU32 = AtomicU32::new(0);

fn store_error(url: &str, e: &object_store::Error) -> Error {
    Error::Input(ember_hadoop::object_stores::explain(url, e))
}

/// Whether the output exists: as an object, or as a directory with anything in it.
async fn exists(out: &ResolvedPath) -> Result<bool> {
    if out.store.head(&out.path).await.is_ok() {
        return Ok(true);
    }
    let listing = out
        .store
        .list_with_delimiter(Some(&out.path))
        .await
        .map_err(|e| store_error(&out.url, &e))?;
    Ok(!listing.objects.is_empty() || !listing.common_prefixes.is_empty())
}

/// Deletes everything in the output but the write's own `_temporary`: what mode overwrite
/// replaces.
async fn delete_all_but_pending(out: &ResolvedPath) -> Result<()> {
    let listing = out
        .store
        .list_with_delimiter(Some(&out.path))
        .await
        .map_err(|e| store_error(&out.url, &e))?;
    for object in &listing.objects {
        out.store
            .delete(&object.location)
            .await
            .map_err(|e| store_error(&out.url, &e))?;
    }
    for directory in listing.common_prefixes {
        let Some(name) = directory.filename().map(str::to_string) else {
            continue;
        };
        if name == PENDING_DIR_NAME {
            continue;
        }
        let url = format!("{}/{name}", out.url.trim_end_matches('/'));
        let store = out.store.clone();
        commit::delete_path(&ResolvedPath {
            store,
            path: directory,
            url,
        })
        .await?;
    }
    Ok(())
}

/// The name a written file gets in the output: `part-<n>-<write id>` with its extension, as
/// Spark names its files, so that appended files never replace earlier ones. DataFusion names
/// them `<its write id>_<n>.<extension>`; another name stays as it is.
fn part_name(written: &str, write_id: &str) -> String {
    let (stem, extension) = written.split_once('.').unwrap_or((written, ""));
    let Some(index) = stem
        .rsplit_once('_')
        .and_then(|(_, n)| n.parse::<usize>().ok())
    else {
        return written.to_string();
    };
    let dot = if extension.is_empty() { "" } else { "." };
    format!("part-{index:05}-{write_id}{dot}{extension}")
}
