//! ORC (Spark's `OrcFileFormat`): scanned by [`OrcSource`], written by
//! [`FormatSink`](super::sink::FormatSink) with orc-rust's `ArrowWriter`.
//!
//! Schemas are inferred from the files' footers (every file's types, merged). The scan reads a
//! file's columns by name, in the order of the table's schema (a column a file lacks reads as
//! nulls), so that files of one table may differ in their column order; DataFusion's
//! `ProjectionOpener` adds the partition values (`k=v` directories) and the projection's
//! expressions.

use super::sink::{FormatSink, SinkFormat};
use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{GetExt, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileOpenFuture, FileOpener, FileScanConfig, FileSinkConfig, FileSource,
};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryFutureExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use orc_rust::projection::ProjectionMask;
use orc_rust::reader::AsyncChunkReader;
use orc_rust::ArrowReaderBuilder;
use std::sync::Arc;

/// Rows decoded at a time when the session does not say.
const BATCH_ROWS: usize = 8192;

/// ORC files as a DataFusion format: read through [`OrcSource`], written by [`FormatSink`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OrcFileFormat;

super::format_factory!(OrcFileFormat, "orc");

#[async_trait::async_trait]
impl FileFormat for OrcFileFormat {
    fn get_ext(&self) -> String {
        GetExt::get_ext(self)
    }

    fn get_ext_with_compression(&self, _compression: &FileCompressionType) -> Result<String> {
        // ORC compresses inside the file, never the file as a whole.
        Ok(GetExt::get_ext(self))
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        // In the order of their paths, so that columns met in several files keep one order
        // whichever order the store lists them in.
        let mut objects = objects.to_vec();
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        let concurrency = state.config_options().execution.meta_fetch_concurrency;
        let schemas: Vec<Schema> = futures::stream::iter(objects)
            .map(|meta| file_schema(store.clone(), meta))
            .buffered(concurrency.into())
            .try_collect()
            .await?;
        Ok(Arc::new(Schema::try_merge(schemas)?))
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> Result<Statistics> {
        Ok(Statistics::new_unknown(&table_schema))
    }

    async fn create_physical_plan(
        &self,
        _state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(DataSourceExec::from_data_source(conf))
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        _state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(FormatSink::plan(
            input,
            conf,
            order_requirements,
            SinkFormat::Orc,
        ))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(OrcSource::new(table_schema))
    }
}

/// The scan of ORC files (one `DataSourceExec` per table), whose partitions are groups of files
/// or stripes of files (DataFusion splits large files by byte ranges; a range reads the stripes
/// that start in it).
#[derive(Debug, Clone)]
pub(crate) struct OrcSource {
    table_schema: TableSchema,
    /// The file columns to read, and what to compute from them and the partition values.
    projection: SplitProjection,
    batch_size: usize,
    metrics: ExecutionPlanMetricsSet,
}

impl OrcSource {
    pub(crate) fn new(table_schema: TableSchema) -> Self {
        OrcSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: BATCH_ROWS,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl FileSource for OrcSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let columns = Arc::new(file_schema.project(&self.projection.file_indices)?);
        let opener = OrcOpener {
            store,
            columns,
            batch_size: config.batch_size.unwrap_or(self.batch_size),
        };
        ProjectionOpener::try_new(self.projection.clone(), Arc::new(opener), file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(OrcSource {
            batch_size,
            ..self.clone()
        })
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "orc"
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        let merged = self.projection.source.try_merge(projection)?;
        let projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(OrcSource {
            projection,
            ..self.clone()
        })))
    }
}

/// Opens one ORC file (or a byte range of it) and yields batches of `columns`.
struct OrcOpener {
    store: Arc<dyn ObjectStore>,
    /// The file columns wanted, in this order and of these types.
    columns: SchemaRef,
    batch_size: usize,
}

impl FileOpener for OrcOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let reader = StoreReader {
            store: self.store.clone(),
            meta: file.object_meta.clone(),
        };
        let columns = self.columns.clone();
        let batch_size = self.batch_size;
        let location = file.object_meta.location.to_string();
        let range = file.range.clone();
        Ok(async move {
            let explain = |e: orc_rust::error::OrcError| {
                DataFusionError::Execution(format!("{location} is not a readable ORC file: {e}"))
            };
            let mut builder = ArrowReaderBuilder::try_new_async(reader)
                .await
                .map_err(explain)?;
            let root = builder.file_metadata().root_data_type();
            let present: Vec<usize> = root
                .children()
                .iter()
                .filter(|c| columns.field_with_name(c.name()).is_ok())
                .map(|c| c.data_type().column_index())
                .collect();
            let mask = ProjectionMask::roots(root, present);
            if let Some(range) = range {
                builder = builder.with_file_byte_range(range.start as usize..range.end as usize);
            }
            let stream = builder
                .with_batch_size(batch_size)
                .with_projection(mask)
                .build_async();
            let stream = stream.map(move |batch| conform(&batch?, &columns));
            Ok(stream.boxed())
        }
        .boxed())
    }
}

/// `batch` as the columns of `columns`, by name, cast to their types; a column the file lacks
/// is all nulls.
fn conform(batch: &RecordBatch, columns: &SchemaRef) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let arrays = columns
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(array) if array.data_type() == field.data_type() => Ok(array.clone()),
            Some(array) => Ok(cast(array, field.data_type())?),
            None => Ok(new_null_array(field.data_type(), rows)),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let schema = Arc::new(Schema::new(columns.fields().clone()));
    Ok(RecordBatch::try_new_with_options(schema, arrays, &options)?)
}

/// The Arrow schema of one ORC file, from its footer.
async fn file_schema(store: Arc<dyn ObjectStore>, meta: ObjectMeta) -> Result<Schema> {
    let location = meta.location.to_string();
    let builder = ArrowReaderBuilder::try_new_async(StoreReader { store, meta })
        .await
        .map_err(|e| {
            DataFusionError::Execution(format!("{location} is not a readable ORC file: {e}"))
        })?;
    Ok(builder.schema().as_ref().clone())
}

/// Byte ranges of a file in an object store, as orc-rust reads them.
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
}

impl AsyncChunkReader for StoreReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        futures::future::ready(Ok(self.meta.size)).boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        // Empty streams (a column with no values in a stripe, as Spark writes for all-null
        // columns) are read as empty ranges, which stores refuse at a file's end.
        if length == 0 {
            return futures::future::ready(Ok(Bytes::new())).boxed();
        }
        self.store
            .get_range(&self.meta.location, offset..offset + length)
            .map_err(std::io::Error::other)
            .boxed()
    }
}
