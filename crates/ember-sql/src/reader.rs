//! [`DataFrameReader`]: files into DataFrames, with Spark's options.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::prelude::{cast, col, CsvReadOptions, JsonReadOptions, ParquetReadOptions};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Reads CSV, JSON lines or Parquet from a file, a directory of files, on local disk, HDFS or
/// S3 (Spark's `DataFrameReader`). Options, by Spark's names (case-insensitive):
///
/// | option | formats | meaning | default |
/// |---|---|---|---|
/// | `header` | csv | the first line names the columns (else `_c0`, `_c1`, ...) | `false` |
/// | `inferSchema` | csv | guess column types from the data (else every column is a string) | `false` |
/// | `sep`, `delimiter` | csv | the one-character field separator | `,` |
///
/// An explicit [`schema`](DataFrameReader::schema) replaces inference.
pub struct DataFrameReader {
    session: Arc<SqlSession>,
    options: BTreeMap<String, String>,
    schema: Option<Schema>,
}

const KNOWN_OPTIONS: [&str; 4] = ["header", "inferschema", "sep", "delimiter"];

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
                 (delimiter)"
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
        let mut options = CsvReadOptions::new()
            .has_header(header)
            .delimiter(self.delimiter()?)
            .file_extension(extension(&url, ".csv"));
        if let Some(schema) = &self.schema {
            options = options.schema(schema);
        }
        let session = &self.session;
        let df = session.block_on(session.datafusion.read_csv(url, options))?;
        let df = DataFrame::new(df, session.clone());
        let df = if header { df } else { positional_names(df)? };
        if infer || self.schema.is_some() {
            return Ok(df);
        }
        all_strings(df)
    }

    /// Reads JSON lines: one object per line, as Spark reads JSON by default.
    ///
    /// # Errors
    /// A path that does not exist, or lines that are not JSON objects.
    pub fn json(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let url = self.session.table_url(path)?;
        let mut options = JsonReadOptions::default().file_extension(extension(&url, ".json"));
        if let Some(schema) = &self.schema {
            options = options.schema(schema);
        }
        let session = &self.session;
        let df = session.block_on(session.datafusion.read_json(url, options))?;
        Ok(DataFrame::new(df, session.clone()))
    }

    /// Reads Parquet.
    ///
    /// # Errors
    /// A path that does not exist, or files that are not Parquet.
    pub fn parquet(self, path: &str) -> Result<DataFrame> {
        self.check_options()?;
        let url = self.session.table_url(path)?;
        let mut options = ParquetReadOptions::default().file_extension(extension(&url, ".parquet"));
        if let Some(schema) = &self.schema {
            options = options.schema(schema);
        }
        let session = &self.session;
        let df = session.block_on(session.datafusion.read_parquet(url, options))?;
        Ok(DataFrame::new(df, session.clone()))
    }

    /// Reads `format` (`csv`, `json` or `parquet`), for SQL's `USING <format>`.
    ///
    /// # Errors
    /// An unknown format, or as the format's reader.
    pub fn format(self, format: &str, path: &str) -> Result<DataFrame> {
        match format.to_ascii_lowercase().as_str() {
            "csv" => self.csv(path),
            "json" => self.json(path),
            "parquet" => self.parquet(path),
            other => Err(Error::Input(format!(
                "unknown format {other:?}; ember reads csv, json and parquet"
            ))),
        }
    }
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

/// Columns named `_c0`, `_c1`, ... as Spark names the columns of headerless CSV.
fn positional_names(df: DataFrame) -> Result<DataFrame> {
    let columns = df.columns();
    let renamed = columns
        .iter()
        .enumerate()
        .map(|(i, name)| col(format!("\"{name}\"")).alias(format!("_c{i}")))
        .collect();
    df.select(renamed)
}

/// Every column as a string, as Spark reads CSV without `inferSchema`.
fn all_strings(df: DataFrame) -> Result<DataFrame> {
    let columns = df.columns();
    let cast_all = columns
        .iter()
        .map(|name| cast(col(format!("\"{name}\"")), DataType::Utf8).alias(name))
        .collect();
    df.select(cast_all)
}
