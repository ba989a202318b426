//! Stages of a pipeline, as Spark's `Transformer`, `Estimator` and `Params` are: a
//! transformer maps a DataFrame to a DataFrame with more columns; an estimator fits a model
//! (a transformer) to a DataFrame.
//!
//! Transformers add their columns where the DataFrame's rows are computed: the rows go as
//! Arrow batches through a [`ColumnsOp`] that the task runs on each batch, so a transform is
//! lazy, distributed and never gathers rows on the driver.

use crate::param::Params;
use crate::{Error, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::rdd::{BoxIter, PartitionOp};
use ember_core::task_context::abort;
use ember_sql::{ArrowBatch, ArrowRddExt, DataFrame};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A stage with params (Spark's `Params` and `Identifiable`).
pub trait HasParams {
    /// The stage's params.
    fn params(&self) -> &Params;

    /// The stage's unique id.
    fn uid(&self) -> &str {
        self.params().uid()
    }

    /// Every param with its doc, default and value, one a line (Spark's `explainParams`).
    fn explain_params(&self) -> String {
        self.params().explain()
    }
}

/// Maps a DataFrame to another, adding columns (Spark's `Transformer`).
pub trait Transformer: HasParams {
    /// The DataFrame with this stage's output columns added.
    ///
    /// # Errors
    /// An input column is missing or of the wrong type, or an output column exists already.
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame>;
}

/// Fits a model to a DataFrame (Spark's `Estimator`).
pub trait Estimator: HasParams {
    /// The model it fits.
    type Model: Transformer;

    /// The model fitted to `dataset`.
    ///
    /// # Errors
    /// A param out of range, a missing or malformed column, bad rows, or a failed job.
    fn fit(&self, dataset: &DataFrame) -> Result<Self::Model>;
}

/// What a transformer computes of each batch: the columns it adds.
pub(crate) trait BatchColumns: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The fields of the added columns.
    fn fields(&self) -> Vec<Field>;

    /// The added columns of `batch`'s rows.
    ///
    /// # Errors
    /// A row the stage cannot take, naming its column.
    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>>;
}

/// Runs a [`BatchColumns`] on each batch of a partition.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct ColumnsOp<C: BatchColumns>(C);

impl<C: BatchColumns> PartitionOp<ArrowBatch, ArrowBatch> for ColumnsOp<C> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<ArrowBatch>) -> BoxIter<ArrowBatch> {
        Box::new(input.map(move |batch| {
            let batch = batch.into_batch();
            with_columns(&self.0, &batch).unwrap_or_else(|e| abort(e.into_engine()))
        }))
    }
}

fn with_columns<C: BatchColumns>(stage: &C, batch: &RecordBatch) -> Result<ArrowBatch> {
    let schema = widened(batch.schema_ref(), stage.fields());
    let mut columns = batch.columns().to_vec();
    columns.extend(stage.columns(batch)?);
    let out = RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::Input(format!("cannot add the stage's columns: {e}")))?;
    Ok(ArrowBatch::new(out))
}

fn widened(schema: &SchemaRef, added: Vec<Field>) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(added);
    Arc::new(Schema::new(fields))
}

/// `dataset` with the columns `stage` computes of each of its batches added.
///
/// # Errors
/// The DataFrame's query cannot run on executors.
pub(crate) fn add_columns<C: BatchColumns>(dataset: &DataFrame, stage: C) -> Result<DataFrame> {
    let schema = widened(&dataset.schema(), stage.fields());
    let batches = dataset
        .to_arrow_rdd()?
        .with_op("transform", ColumnsOp(stage));
    Ok(batches.batches_to_data_frame(schema)?)
}
