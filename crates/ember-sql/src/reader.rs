//! [`DataFrameReader`]: files into DataFrames, with Spark's options.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::formats::orc::OrcFileFormat;
use crate::formats::text::{is_string, read_text};
use crate::session::SqlSession;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::{
    cast, col, lit, CsvReadOptions, Expr, JsonReadOptions, ParquetReadOptions,
};
use futures::TryStreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Reads CSV, JSON lines, Parquet, ORC or text from a file or a directory of files, on local
/// disk, HDFS or S3 (Spark's `DataFrameReader`). Options, by Spark's names (case-insensitive):
///
/// | option | formats | meaning | default |
/// |---|---|---|---|
/// | `header` | csv | the first line names the columns (else `_c0`, `_c1`, ...) | `false` |
/// | `inferSchema` | csv | guess column types from the data (else every column is a string) | `false` |
/// | `sep`, `delimiter` | csv | the one-character field separator | `,` |
/// | `wholetext` | text | one row per file instead of one per line | `false` |
///
/// | format | schema | partition directories (`k=v`) |
/// |---|---|---|
/// | [`csv`](DataFrameReader::csv) | the header's names (or `_c0`, ...), strings unless inferred | discovered |
/// | [`json`](DataFrameReader::json) | inferred from the objects | discovered |
/// | [`parquet`](DataFrameReader::parquet) | the files' | discovered |
/// | [`orc`](DataFrameReader::orc) | the files' footers', merged | discovered |
/// | [`text`](DataFrameReader::text) | one string column `value` | discovered (not under globs) |
///
/// An explicit [`schema`](DataFrameReader::schema) replaces inference (csv, json, parquet, orc).
pub struct DataFrameReader {
    session: Arc<SqlSession>,
    options: BTreeMap<String, String>,
    schema: Option<Schema>,
}

const KNOWN_OPTIONS: [&str; 5] = ["header", "inferschema", "sep", "delimiter", "wholetext"];

impl DataFrameReader {
    pub(crate) fn new(session: Arc<SqlSession>) -> Self {
        DataFrameReader {
            session,
            options: BTreeMap::new(),
            schema: None,
        }
    }

    /// Sets option `key` (see the table above).
    #[must_use]
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.options
            .insert(key.to_ascii_lowercase(), value.to_string());
        self
    }

    /// Reads with this schema instead of inferring one.
    #[must_use]
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    fn flag(&self, key: &str) -> Result<bool> {
        match self.options.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(Error::Input(format!(
                "option {key} is {v:?}; it takes true or false"
            ))),
        }
    }

    fn check_options(&self) -> Result<()> {
        match self
            .options
            .keys()
            .find(|k| !KNOWN_OPTIONS.contains(&k.as_str()))
        {
            Some(unknown) => Err(Error::Input(format!(
                "unknown option {unknown:?}; the options are header, inferSchema, sep \
                 (delimiter), wholetext"
            ))),
            None => Ok(()),
        }
    }

    fn delimiter(&self) -> Result<u8> {
        let sep = self
            .options
            .get("sep")
            .or_else(|| self.options.get("delimiter"));
        match sep.map(String::as_bytes) {
            None => Ok(b','),
            Some([one]) => Ok(*one),
            Some(_) => Err(Error::Input(format!(
                "option sep is {:?}; it takes one ASCII character",
                sep.map(String::as_str).unwrap_or_default()
            ))),
        }
    }

    /// Reads CSV.
    ///
    /// # Errors
    /// A bad option, a path that does not exist, or files that are not CSV.
    pub fn csv(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let header = self.flag("header")?;
        let infer = self.flag("inferschema")?;
        let url = self.session.table_url(path)?;
        let delimiter = self.delimiter()?;
        let session = &self.session;
        let (df, partitions) = self.read_paths(&url, ".csv", |paths, extension, partitions| {
            let mut options = CsvReadOptions::new()
                .has_header(header)
                .delimiter(delimiter)
                .file_extension(extension)
                .table_partition_cols(partitions);
            if let Some(schema) = &self.schema {
                options = options.schema(schema);
            }
            let df = session.block_on(session.datafusion.read_csv(paths, options))?;
            Ok(DataFrame::new(df, session.clone()))
        })?;
        // Spark names the columns of a file without a header _c0, _c1, ... unless a schema
        // names them.
        let df = if header || self.schema.is_some() {
            df
        } else {
            positional_names(df, &partitions)?
        };
        if infer || self.schema.is_some() {
            return Ok(df);
        }
        all_strings(df, &partitions)
    }

    /// Reads JSON lines: one object per line, as Spark reads JSON by default.
    ///
    /// # Errors
    /// A path that does not exist, or lines that are not JSON objects.
    pub fn json(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let url = self.session.table_url(path)?;
        let session = &self.session;
        let read = |paths: Vec<String>, extension, partitions| {
            let mut options = JsonReadOptions::default()
                .file_extension(extension)
                .table_partition_cols(partitions);
            if let Some(schema) = &self.schema {
                options = options.schema(schema);
            }
            let df = session.block_on(session.datafusion.read_json(paths, options))?;
            Ok(DataFrame::new(df, session.clone()))
        };
        Ok(self.read_paths(&url, ".json", read)?.0)
    }

    /// Reads Parquet.
    ///
    /// # Errors
    /// A path that does not exist, or files that are not Parquet.
    pub fn parquet(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let url = self.session.table_url(path)?;
        let session = &self.session;
        let read = |paths: Vec<String>, extension, partitions| {
            let mut options = ParquetReadOptions::default()
                .file_extension(extension)
                .table_partition_cols(partitions);
            if let Some(schema) = &self.schema {
                options = options.schema(schema);
            }
            let df = session.block_on(session.datafusion.read_parquet(paths, options))?;
            Ok(DataFrame::new(df, session.clone()))
        };
        Ok(self.read_paths(&url, ".parquet", read)?.0)
    }

    /// Reads ORC.
    ///
    /// # Errors
    /// A path that does not exist, or files that are not ORC.
    pub fn orc(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let url = self.session.table_url(path)?;
        let table_url = ListingTableUrl::parse(&url)?;
        let options = ListingOptions::new(Arc::new(OrcFileFormat))
            .with_file_extension(extension(&url, ".orc"))
            .with_table_partition_cols(self.partition_columns(&url)?);
        let session = &self.session;
        let schema = match &self.schema {
            Some(schema) => Arc::new(schema.clone()),
            None => {
                let state = session.datafusion.state();
                session.block_on(options.infer_schema(&state, &table_url))?
            }
        };
        let config = ListingTableConfig::new(table_url)
            .with_listing_options(options)
            .with_schema(schema);
        let table = ListingTable::try_new(config)?;
        let df = session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, session.clone()))
    }

    /// Reads text: one row per line, in one string column `value`, as Spark's `text` source;
    /// with option `wholetext`, one row per file. `path` is a file, a directory (its files but
    /// those named `_*` or `.*`), a glob, or several of those separated by commas; gzip files
    /// (`.gz`) are decompressed. The rows are read in the tasks of the query's first stage.
    ///
    /// # Errors
    /// A bad option, or a path that matches no file.
    pub fn text(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let whole_files = self.flag("wholetext")?;
        if let Some(schema) = &self.schema {
            let single_string =
                schema.fields().len() == 1 && is_string(schema.field(0).data_type());
            if !single_string {
                return Err(Error::Input(format!(
                    "text reads one string column, not the schema {schema}; read without a \
                     schema, or with one string column"
                )));
            }
        }
        let df = match self.partitioned_text(path, whole_files)? {
            Some(df) => df,
            None => read_text(&self.session.context()?, path, whole_files)?,
        };
        match &self.schema {
            Some(schema) => df.select(vec![col("value").alias(schema.field(0).name())]),
            None => Ok(df),
        }
    }

    /// The partition columns of a directory written with `partition_by` (directories named
    /// `column=value`, as Spark and Hive lay them out), typed from their values as Spark
    /// infers them: integers, else doubles, else strings.
    ///
    /// # Errors
    /// The directory cannot be listed, or its levels name different columns.
    fn partition_columns(&self, url: &str) -> Result<Vec<(String, DataType)>> {
        Ok(self.partition_listing(url)?.columns)
    }

    /// The partition columns of directory `url` and the partition directories that hold files.
    ///
    /// # Errors
    /// As [`partition_columns`](Self::partition_columns).
    fn partition_listing(&self, url: &str) -> Result<PartitionListing> {
        if !url.ends_with('/') {
            return Ok(PartitionListing::default());
        }
        let resolved = self.session.env().resolve(url)?;
        let listing = resolved
            .store
            .list(Some(&resolved.path))
            .try_collect::<Vec<_>>();
        let files = self
            .session
            .block_on(listing)
            .map_err(|e| Error::Input(format!("{url}: {e}")))?;
        let mut columns: Vec<(String, Vec<String>)> = Vec::new();
        let mut directories = BTreeSet::new();
        for file in &files {
            let relative = file.location.prefix_match(&resolved.path);
            let parts: Vec<String> = relative
                .into_iter()
                .flatten()
                .map(|p| p.as_ref().to_string())
                .collect();
            let Some((_, parents)) = parts.split_last() else {
                continue;
            };
            if parts
                .iter()
                .any(|p| p.starts_with('_') || p.starts_with('.'))
            {
                continue;
            }
            let mut values = Vec::new();
            for (depth, directory) in parents.iter().enumerate() {
                let Some((name, value)) = directory.split_once('=') else {
                    break;
                };
                if columns.len() == depth {
                    columns.push((name.to_string(), Vec::new()));
                }
                if columns[depth].0 != name {
                    return Err(Error::Input(format!(
                        "{url} mixes partition directories {}=... and {name}=... at one level",
                        columns[depth].0
                    )));
                }
                columns[depth].1.push(value.to_string());
                values.push((directory.clone(), value.to_string()));
            }
            if !values.is_empty() {
                directories.insert(values);
            }
        }
        let depth = columns.len();
        Ok(PartitionListing {
            columns: columns
                .into_iter()
                .map(|(name, values)| (name, partition_type(&values)))
                .collect(),
            directories: directories
                .into_iter()
                .filter(|d| d.len() == depth)
                .collect(),
        })
    }

    /// Text under partition directories: each directory's lines with its partition values as
    /// columns, all in one DataFrame (`None` when `path` is not a partitioned directory).
    ///
    /// # Errors
    /// As [`text`](Self::text).
    fn partitioned_text(&self, path: &str, whole_files: bool) -> Result<Option<DataFrame>> {
        if path.contains(['*', '?', '[', '{', ',']) {
            return Ok(None);
        }
        let url = self.session.table_url(path)?;
        let listing = self.partition_listing(&url)?;
        if listing.columns.is_empty() {
            return Ok(None);
        }
        let ctx = self.session.context()?;
        let mut all: Option<DataFrame> = None;
        for directory in &listing.directories {
            let relative: Vec<&str> = directory.iter().map(|(d, _)| d.as_str()).collect();
            let lines = read_text(&ctx, &format!("{url}{}", relative.join("/")), whole_files)?;
            let mut columns = vec![col("value")];
            for ((name, data_type), (_, value)) in listing.columns.iter().zip(directory) {
                columns.push(cast(lit(value.as_str()), data_type.clone()).alias(name));
            }
            let rows = lines.select(columns)?;
            all = Some(match all {
                Some(before) => before.union(&rows)?,
                None => rows,
            });
        }
        Ok(all)
    }

    /// Reads `format`, a format that takes options only (such as `kafka`, with ember-kafka's
    /// `sql` feature), as a batch (Spark's `spark.read.format(...).load()`).
    ///
    /// # Errors
    /// An unknown format, or as the format's reader.
    pub fn load(self, format: &str) -> Result<DataFrame> {
        let ctx = self.session.context()?;
        crate::streaming::stream_format(format)?.read_batch(&ctx, &self.options)
    }

    /// Reads `url` with `read(paths, extension, partition columns)`, and says its partition
    /// columns. The files a streaming query committed under partition directories are read a
    /// directory at a time, its values added as columns: a list of files has no directories
    /// for the reader to take them from.
    ///
    /// # Errors
    /// As `read`, or the directory cannot be listed.
    fn read_paths(
        &self,
        url: &str,
        of_format: &'static str,
        read: impl Fn(Vec<String>, &'static str, Vec<(String, DataType)>) -> Result<DataFrame>,
    ) -> Result<(DataFrame, Vec<(String, DataType)>)> {
        let (paths, extension) = self.paths(url, of_format)?;
        let partitions = self.partition_columns(url)?;
        let committed = !paths.iter().any(|p| p == url);
        if !committed || partitions.is_empty() {
            return Ok((read(paths, extension, partitions.clone())?, partitions));
        }
        let mut by_directory: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for file in paths {
            let relative = file.strip_prefix(url).unwrap_or(&file);
            let mut parts: Vec<String> = relative.split('/').map(String::from).collect();
            parts.pop();
            let values = parts
                .iter()
                .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string()))
                .collect();
            by_directory.entry(values).or_default().push(file);
        }
        let mut all: Option<DataFrame> = None;
        for (values, files) in by_directory {
            let df = read(files, extension, Vec::new())?;
            let mut columns: Vec<Expr> = df
                .schema()
                .fields()
                .iter()
                .map(|f| col(format!("\"{}\"", f.name())))
                .collect();
            for ((name, data_type), value) in partitions.iter().zip(&values) {
                columns.push(cast(lit(value.as_str()), data_type.clone()).alias(name));
            }
            let rows = df.select(columns)?;
            all = Some(match all {
                Some(before) => before.union(&rows)?,
                None => rows,
            });
        }
        let all = all.ok_or_else(|| Error::Input(format!("{url} has no committed file")))?;
        Ok((all, partitions))
    }

    /// What to read for `url`: the files a streaming query committed there, when it is the
    /// output of one (it has `_spark_metadata`), else `url` itself; and the extension files
    /// must have.
    fn paths(&self, url: &str, of_format: &'static str) -> Result<(Vec<String>, &'static str)> {
        if url.ends_with('/') {
            let ctx = self.session.context()?;
            if let Some(files) = crate::streaming::committed_files(&ctx, url)? {
                if files.is_empty() {
                    return Err(Error::Input(format!(
                        "{url} is the output of a streaming query that has committed no file                          yet: there is nothing to read"
                    )));
                }
                return Ok((files, ""));
            }
        }
        Ok((vec![url.to_string()], extension(url, of_format)))
    }

    /// Reads `format` (`csv`, `json`, `parquet`, `orc` or `text`), for SQL's
    /// `USING <format>`.
    ///
    /// # Errors
    /// An unknown format, or as the format's reader.
    pub fn format(self, format: &str, path: &str) -> Result<DataFrame> {
        match format.to_ascii_lowercase().as_str() {
            "csv" => self.csv(path),
            "json" => self.json(path),
            "parquet" => self.parquet(path),
            "orc" => self.orc(path),
            "text" => self.text(path),
            other => Err(Error::Input(format!(
                "unknown format {other:?}; ember reads csv, json, parquet, orc and text"
            ))),
        }
    }
}

/// What a directory's listing says of its partitions.
#[derive(Default)]
struct PartitionListing {
    /// The partition columns, outermost first, with their types.
    columns: Vec<(String, DataType)>,
    /// Each directory holding files at the depth of every column: its names (`k=v`) and
    /// values, outermost first.
    directories: Vec<Vec<(String, String)>>,
}

/// The file names read: any for a file named, those ending in the format's extension in a
/// directory (which leaves out markers such as `_SUCCESS`).
fn extension<'a>(url: &str, of_format: &'a str) -> &'a str {
    if url.ends_with('/') {
        of_format
    } else {
        ""
    }
}

/// The type Spark gives a partition column: integer, long, double, else string.
fn partition_type(values: &[String]) -> DataType {
    let all = |parses: fn(&str) -> bool| values.iter().all(|v| parses(v));
    if all(|v| v.parse::<i32>().is_ok()) {
        DataType::Int32
    } else if all(|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(|v| v.parse::<f64>().is_ok()) {
        DataType::Float64
    } else {
        DataType::Utf8
    }
}

fn is_partition(name: &str, partitions: &[(String, DataType)]) -> bool {
    partitions.iter().any(|(p, _)| p == name)
}

/// Columns named `_c0`, `_c1`, ... as Spark names the columns of headerless CSV; partition
/// columns keep their names.
fn positional_names(df: DataFrame, partitions: &[(String, DataType)]) -> Result<DataFrame> {
    let columns = df.columns();
    let renamed = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let column = col(format!("\"{name}\""));
            if is_partition(name, partitions) {
                column
            } else {
                column.alias(format!("_c{i}"))
            }
        })
        .collect();
    df.select(renamed)
}

/// Every column read from the files as a string, as Spark reads CSV without `inferSchema`.
fn all_strings(df: DataFrame, partitions: &[(String, DataType)]) -> Result<DataFrame> {
    let columns = df.columns();
    let cast_all = columns
        .iter()
        .map(|name| {
            let column = col(format!("\"{name}\""));
            if is_partition(name, partitions) {
                column
            } else {
                cast(column, DataType::Utf8).alias(name)
            }
        })
        .collect();
    df.select(cast_all)
}
