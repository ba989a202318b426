//! [`DataFrameWriter`]: DataFrames into files, committed like RDD output.
//!
//! The rows are written under `<path>/_temporary/<uuid>/` first; once every file is complete
//! they are moved into `<path>` (renames: atomic on HDFS and local disk, copies on S3) and
//! `_SUCCESS` is written. A failed write removes its temporary directory and leaves what was
//! in `<path>` before untouched, so readers never see half an output.

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
use ember_hadoop::ResolvedPath;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::HashMap;
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
            (true, SaveMode::Ignore) => return Ok(()),
            _ => {}
        }
        let df = self.df.inner().clone();
        let written = match self.write_once(&out, format, df.clone()) {
            Err(e) if may_sort_merge_instead(&e, &df) => {
                self.write_once(&out, format, with_sort_merge_joins(df, &e))
            }
            done => done,
        };
        remove_local_directories(&out.url);
        written
    }

    /// Writes the rows of `df` as files and commits them; on failure, removes what it wrote.
    fn write_once(
        &self,
        out: &ResolvedPath,
        format: Format,
        df: datafusion::dataframe::DataFrame,
    ) -> Result<()> {
        let session = self.df.session();
        let write_id = uuid::Uuid::new_v4().to_string();
        let temporary = format!("_temporary/{write_id}");
        let temporary_url = format!("{}/{temporary}/", out.url.trim_end_matches('/'));
        let written = self.write_files(&temporary_url, format, df);
        let committed = written.and_then(|()| {
            let overwrite = self.mode == SaveMode::Overwrite;
            session.block_on(commit(out, &write_id, overwrite))
        });
        if committed.is_err() {
            let under = child(&out.path, &temporary);
            let _ = session.block_on(delete_under(out.store.as_ref(), &under));
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

/// A local store deletes files, not directories: the emptied `_temporary` tree goes too.
fn remove_local_directories(url: &str) {
    if let Some(local) = url.strip_prefix("file://") {
        let _ = std::fs::remove_dir_all(std::path::Path::new(local).join("_temporary"));
    }
}

pub(crate) fn child(base: &ObjectPath, relative: &str) -> ObjectPath {
    relative
        .split('/')
        .filter(|p| !p.is_empty())
        .fold(base.clone(), |path, part| path.join(part))
}

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

pub(crate) async fn delete_under(
    store: &dyn ObjectStore,
    prefix: &ObjectPath,
) -> object_store::Result<()> {
    let objects: Vec<_> = store.list(Some(prefix)).try_collect().await?;
    for object in objects {
        store.delete(&object.location).await?;
    }
    Ok(())
}

/// The name a written file gets in the output: `part-<n>-<write id>` with its extension, as
/// Spark names its files, so that appended files never replace earlier ones.
fn part_name(index: usize, write_id: &str, written: &str) -> String {
    let extension = written.split_once('.').map_or("", |(_, e)| e);
    let dot = if extension.is_empty() { "" } else { "." };
    format!("part-{index:05}-{write_id}{dot}{extension}")
}

/// Moves the files written under `_temporary/<write_id>` into the output, keeping their
/// partition directories, after removing what was there for `overwrite`; then `_SUCCESS`.
async fn commit(out: &ResolvedPath, write_id: &str, overwrite: bool) -> Result<()> {
    let store = out.store.as_ref();
    let explain = |e: object_store::Error| store_error(&out.url, &e);
    let temp = child(&out.path, &format!("_temporary/{write_id}"));
    let written: Vec<_> = store
        .list(Some(&temp))
        .try_collect()
        .await
        .map_err(explain)?;
    if overwrite {
        let old: Vec<_> = store
            .list(Some(&out.path))
            .try_collect()
            .await
            .map_err(explain)?;
        for object in old.iter().filter(|o| !o.location.prefix_matches(&temp)) {
            store.delete(&object.location).await.map_err(explain)?;
        }
    }
    for (index, object) in written.iter().enumerate() {
        let mut relative: Vec<String> = object
            .location
            .prefix_match(&temp)
            .into_iter()
            .flatten()
            .map(|p| p.as_ref().to_string())
            .collect();
        if let Some(name) = relative.last_mut() {
            *name = part_name(index, write_id, name);
        }
        let target = relative
            .iter()
            .fold(out.path.clone(), |path, part| path.join(part.as_str()));
        store
            .rename(&object.location, &target)
            .await
            .map_err(explain)?;
    }
    delete_under(store, &child(&out.path, "_temporary"))
        .await
        .map_err(explain)?;
    store
        .put(&child(&out.path, "_SUCCESS"), Vec::<u8>::new().into())
        .await
        .map_err(explain)?;
    Ok(())
}
