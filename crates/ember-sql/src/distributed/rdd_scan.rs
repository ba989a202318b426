//! An RDD as a table: [`RddScanExec`] reads partition `p` of an RDD of records as Arrow
//! batches, inside the ember task that runs the stage, so the RDD's lineage (its shuffles, its
//! cached partitions) is computed by the engine as for any job.

use super::stage::{leaf_node, task_stream};
use crate::conversions::ArrowBatch;
use datafusion::arrow::datatypes::{FieldRef, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext as DataFusionTask;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use ember_core::rdd::{RddBase, RddRef};
use ember_core::ship::{decode_as, Decoder, Shipped};
use ember_core::{Data, TaskContext};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};
use std::sync::Arc;

/// Records turned into batches this many at a time.
const BATCH_ROWS: usize = 8192;

/// The records of an RDD as batches, whatever their type.
pub(crate) trait RddBatches: Send + Sync {
    /// The RDD, for the scheduler to plan its lineage.
    fn rdd(&self) -> Arc<dyn RddBase>;
    /// Sends the batches of `partition` to `sink` until it returns false.
    fn send(
        &self,
        partition: usize,
        tc: &Arc<TaskContext>,
        sink: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> ember_core::Result<()>;
    /// The source as bytes an executor of this binary rebuilds.
    fn ship(&self) -> ember_core::Result<Shipped>;
}

/// An RDD of `T`, whose fields are the columns.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct RecordRdd<T: Data> {
    rdd: RddRef<T>,
}

impl<T: Data> RecordRdd<T> {
    pub(crate) fn new(rdd: RddRef<T>) -> Self {
        RecordRdd { rdd }
    }
}

/// The columns of records of `T`: its fields, with Arrow types traced from their Rust types.
///
/// # Errors
/// `T` is not a struct of fields serde_arrow can trace.
pub(crate) fn record_fields<T: Data>() -> std::result::Result<Vec<FieldRef>, String> {
    let tracing = TracingOptions::default().allow_null_fields(true);
    Vec::<FieldRef>::from_type::<T>(tracing).map_err(|e| e.to_string())
}

fn decode_source<S: RddBatches + DeserializeOwned + 'static>(
    bytes: &[u8],
) -> ember_core::Result<Arc<dyn RddBatches>> {
    decode_as::<dyn RddBatches, S>(bytes, |s| Arc::new(s))
}

impl<T: Data> RddBatches for RecordRdd<T> {
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.rdd.base()
    }

    fn send(
        &self,
        partition: usize,
        tc: &Arc<TaskContext>,
        sink: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> ember_core::Result<()> {
        let fields = record_fields::<T>().map_err(ember_core::Error::Serialization)?;
        let mut records = self.rdd.iterator(partition, tc)?;
        loop {
            let chunk: Vec<T> = records.by_ref().take(BATCH_ROWS).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let batch = serde_arrow::to_record_batch(&fields, &chunk)
                .map_err(|e| ember_core::Error::Serialization(e.to_string()))?;
            if !sink(batch) {
                return Ok(());
            }
        }
    }

    fn ship(&self) -> ember_core::Result<Shipped> {
        Shipped::new(decode_source::<Self> as Decoder<dyn RddBatches>, self)
    }
}

/// An RDD whose records are batches its tasks built themselves ([`ArrowBatch`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct BatchRdd {
    rdd: RddRef<ArrowBatch>,
}

impl BatchRdd {
    pub(crate) fn new(rdd: RddRef<ArrowBatch>) -> Self {
        BatchRdd { rdd }
    }
}

impl RddBatches for BatchRdd {
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.rdd.base()
    }

    fn send(
        &self,
        partition: usize,
        tc: &Arc<TaskContext>,
        sink: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> ember_core::Result<()> {
        for record in self.rdd.iterator(partition, tc)? {
            if !sink(record.batch().clone()) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn ship(&self) -> ember_core::Result<Shipped> {
        Shipped::new(decode_source::<Self> as Decoder<dyn RddBatches>, self)
    }
}

/// A DataFrame's table over an RDD.
#[derive(Clone)]
pub(crate) struct RddTable {
    source: Arc<dyn RddBatches>,
    schema: SchemaRef,
    partitions: usize,
}

impl RddTable {
    pub(crate) fn new(source: Arc<dyn RddBatches>, schema: SchemaRef, partitions: usize) -> Self {
        RddTable {
            source,
            schema,
            partitions,
        }
    }
}

impl std::fmt::Debug for RddTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RddTable({} partitions)", self.partitions)
    }
}

#[async_trait::async_trait]
impl TableProvider for RddTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let scan = RddScanExec::new(self.source.clone(), self.schema.clone(), self.partitions);
        Ok(Arc::new(match projection {
            Some(columns) => scan.with_projection(columns.clone())?,
            None => scan,
        }))
    }
}

/// Reads an RDD's partitions as batches, in the stage's tasks.
#[derive(Clone)]
pub(crate) struct RddScanExec {
    source: Arc<dyn RddBatches>,
    // All the RDD's columns, and the ones read.
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
}

impl std::fmt::Debug for RddScanExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RddScanExec")
    }
}

impl RddScanExec {
    pub(crate) fn new(source: Arc<dyn RddBatches>, schema: SchemaRef, partitions: usize) -> Self {
        let properties = properties(schema.clone(), partitions);
        RddScanExec {
            source,
            schema,
            projection: None,
            properties,
        }
    }

    /// Only `columns` of the RDD's.
    pub(crate) fn with_projection(mut self, columns: Vec<usize>) -> Result<Self> {
        let projected = Arc::new(self.schema.project(&columns)?);
        let partitions = self.partitions();
        self.properties = properties(projected, partitions);
        self.projection = Some(columns);
        Ok(self)
    }

    pub(crate) fn source(&self) -> &Arc<dyn RddBatches> {
        &self.source
    }

    pub(crate) fn rdd_schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub(crate) fn projection(&self) -> Option<&Vec<usize>> {
        self.projection.as_ref()
    }

    pub(crate) fn partitions(&self) -> usize {
        self.properties.partitioning.partition_count()
    }
}

fn properties(schema: SchemaRef, partitions: usize) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(partitions),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

impl DisplayAs for RddScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "RddScanExec: partitions={}", self.partitions())
    }
}

impl ExecutionPlan for RddScanExec {
    leaf_node!("RddScanExec");

    fn execute(
        &self,
        partition: usize,
        context: Arc<DataFusionTask>,
    ) -> Result<SendableRecordBatchStream> {
        let (source, projection) = (self.source.clone(), self.projection.clone());
        task_stream(&context, self.schema(), move |tc, sink| {
            source.send(partition, tc, &mut |batch| {
                sink(match &projection {
                    Some(columns) => batch.project(columns).map_err(DataFusionError::from),
                    None => Ok(batch),
                })
            })
        })
    }
}

/// Whether `plan` reads an RDD: it can only run as stages.
pub(crate) fn reads_rdd(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.is::<RddScanExec>() || plan.children().into_iter().any(reads_rdd)
}
