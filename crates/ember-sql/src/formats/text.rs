//! Text (Spark's `TextFileFormat`): rows of one string column `value`.
//!
//! Reading goes through ember-core's text input (`Context::text_file`, or `whole_text_files`
//! for Spark's `wholetext` option) rather than a DataFusion scan: it already splits files by
//! Hadoop's rules, reads gzip, globs and comma-separated lists, and asks for the hosts holding
//! HDFS blocks. The lines become a DataFrame over that RDD (see [`crate::conversions`]), read
//! inside the tasks of the query's first stage. Under partition directories (`k=v/`) each
//! directory is such an RDD with its values as columns, and the DataFrame their union (see
//! `DataFrameReader::text`). Writing is [`TextFileFormat`]'s, through [`FormatSink`].

use super::sink::{FormatSink, SinkFormat};
use crate::conversions::RddDataFrameExt;
use crate::dataframe::DataFrame;
use crate::error::Result;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{not_impl_err, GetExt, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::physical_plan::{
    CsvSource, FileScanConfig, FileSinkConfig, FileSource,
};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result as DataFusionResult;
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::ExecutionPlan;
use ember_core::rdd::{BoxIter, PartitionOp};
use ember_core::Context;
use object_store::{ObjectMeta, ObjectStore};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A row of text input: Spark's single column `value`, a string that may be null.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Line {
    value: Option<String>,
}

/// Lines into rows.
#[derive(Serialize, Deserialize)]
struct LinesAsRows;

impl PartitionOp<String, Line> for LinesAsRows {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<String>) -> BoxIter<Line> {
        Box::new(input.map(|line| Line { value: Some(line) }))
    }
}

/// Whole files (path, content) into rows of their content.
#[derive(Serialize, Deserialize)]
struct FilesAsRows;

impl PartitionOp<(String, String), Line> for FilesAsRows {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(String, String)>) -> BoxIter<Line> {
        Box::new(input.map(|(_, content)| Line {
            value: Some(content),
        }))
    }
}

/// The lines of the files at `path` (a file, a directory, a glob, or several of those separated
/// by commas), one row each; with `whole_files`, one row per file.
///
/// # Errors
/// The path matches no file, or cannot be listed.
pub(crate) fn read_text(ctx: &Context, path: &str, whole_files: bool) -> Result<DataFrame> {
    let rows = if whole_files {
        ctx.whole_text_files(path, 0)?.with_op("text", FilesAsRows)
    } else {
        ctx.text_file(path, 0)?.with_op("text", LinesAsRows)
    };
    rows.to_data_frame()
}

/// Whether a column of `data_type` holds text lines (any of Arrow's string layouts).
pub(crate) fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The schema of text rows.
pub(crate) fn text_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Utf8, true)]))
}

/// Text files as a DataFusion format, for writing (`.txt` files, as Spark names them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextFileFormat;

super::format_factory!(TextFileFormat, "txt");

#[async_trait::async_trait]
impl FileFormat for TextFileFormat {
    fn get_ext(&self) -> String {
        GetExt::get_ext(self)
    }

    fn get_ext_with_compression(
        &self,
        _compression: &FileCompressionType,
    ) -> DataFusionResult<String> {
        Ok(GetExt::get_ext(self))
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        _objects: &[ObjectMeta],
    ) -> DataFusionResult<SchemaRef> {
        Ok(text_schema())
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> DataFusionResult<Statistics> {
        Ok(Statistics::new_unknown(&table_schema))
    }

    async fn create_physical_plan(
        &self,
        _state: &dyn Session,
        _conf: FileScanConfig,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        not_impl_err!("text is read through ember's text input (DataFrameReader::text)")
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        _state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        Ok(FormatSink::plan(
            input,
            conf,
            order_requirements,
            SinkFormat::Text,
        ))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        // Never scanned (see `create_physical_plan`); a headerless CSV source of the same
        // schema stands in where DataFusion asks for one.
        Arc::new(CsvSource::new(table_schema))
    }
}
