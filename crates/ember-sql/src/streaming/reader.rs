//! [`DataStreamReader`]: streaming DataFrames from a format and options (Spark's
//! `spark.readStream`).

use super::source::{stream_format, Options, SourceSpec, StreamingTable};
use crate::dataframe::DataFrame;
use crate::error::Result;
use crate::session::SqlSession;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use ember_core::Context;
use std::sync::Arc;

/// Makes streaming DataFrames (Spark's `DataStreamReader`): `ctx.read_stream().format("json")
/// .schema(schema).option("maxFilesPerTrigger", "1").load(dir)`.
///
/// | format | options | schema |
/// |---|---|---|
/// | `csv`, `json`, `parquet`, `orc` | `path`, `maxFilesPerTrigger`; csv: `header`, `sep` | given, or inferred with `ember.sql.streaming.schemaInference` |
/// | `text` | `path`, `maxFilesPerTrigger` | `value` (string) |
/// | `rate` | `rowsPerSecond` | `timestamp`, `value` |
/// | `kafka` (ember-kafka) | `kafka.bootstrap.servers`, `subscribe`, `startingOffsets`, ... | Spark's Kafka columns |
#[derive(Clone)]
pub struct DataStreamReader {
    ctx: Context,
    format: String,
    options: Options,
    schema: Option<SchemaRef>,
}

impl DataStreamReader {
    pub(crate) fn new(ctx: &Context) -> Self {
        DataStreamReader {
            ctx: ctx.clone(),
            // Spark's `spark.sql.sources.default`.
            format: "parquet".into(),
            options: Options::new(),
            schema: None,
        }
    }

    /// The source's format (default `parquet`).
    #[must_use]
    pub fn format(mut self, format: &str) -> Self {
        self.format = format.to_string();
        self
    }

    /// Sets option `key` (case-insensitive).
    #[must_use]
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.options
            .insert(key.to_ascii_lowercase(), value.to_string());
        self
    }

    /// The schema of the rows, for the file formats.
    #[must_use]
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(Arc::new(schema));
        self
    }

    /// The streaming DataFrame of the format and options.
    ///
    /// # Errors
    /// An unknown format, a bad option, or a missing schema.
    pub fn load(self) -> Result<DataFrame> {
        let format = stream_format(&self.format)?;
        let schema = format.source_schema(&self.ctx, &self.options, self.schema)?;
        let table = StreamingTable {
            spec: SourceSpec::Format {
                format,
                options: self.options,
            },
            schema,
        };
        let session = SqlSession::of(&self.ctx);
        let df = session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, session))
    }

    /// [`load`](Self::load) with option `path`.
    ///
    /// # Errors
    /// As `load`.
    pub fn load_path(self, path: &str) -> Result<DataFrame> {
        self.option("path", path).load()
    }

    /// New CSV files of directory `path`.
    ///
    /// # Errors
    /// As `load`.
    pub fn csv(self, path: &str) -> Result<DataFrame> {
        self.format("csv").load_path(path)
    }

    /// New JSON-lines files of directory `path`.
    ///
    /// # Errors
    /// As `load`.
    pub fn json(self, path: &str) -> Result<DataFrame> {
        self.format("json").load_path(path)
    }

    /// New Parquet files of directory `path`.
    ///
    /// # Errors
    /// As `load`.
    pub fn parquet(self, path: &str) -> Result<DataFrame> {
        self.format("parquet").load_path(path)
    }

    /// New ORC files of directory `path`.
    ///
    /// # Errors
    /// As `load`.
    pub fn orc(self, path: &str) -> Result<DataFrame> {
        self.format("orc").load_path(path)
    }

    /// The lines of new files of directory `path`, in column `value`.
    ///
    /// # Errors
    /// As `load`.
    pub fn text(self, path: &str) -> Result<DataFrame> {
        self.format("text").load_path(path)
    }
}
