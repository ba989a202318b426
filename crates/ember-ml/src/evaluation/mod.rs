//! Evaluators: a model's predictions reduced to one metric, as Spark's
//! `org.apache.spark.ml.evaluation` computes it, to compare models and to tune them.
//!
//! Each evaluator reads the columns a model added (`prediction`, `rawPrediction`,
//! `probability`) beside the label and an optional weight, and reduces them with jobs on
//! ember's stages: sums of errors in one aggregation for regression, counts per label and
//! prediction for classes, counts per distinct score for the binary curves, cluster sums then
//! per-point silhouettes for clustering. Only what the metric needs reaches the driver.

mod binary;
mod clustering;
mod multiclass;
mod regression;

pub use binary::BinaryClassificationEvaluator;
pub use clustering::ClusteringEvaluator;
pub use multiclass::MulticlassClassificationEvaluator;
pub use regression::RegressionEvaluator;

use crate::dataset::{is_numeric, quoted, require_column};
use crate::linalg::{is_vector_type, VectorColumn};
use crate::param::Params;
use crate::stage::{add_columns, BatchColumns, HasParams};
use crate::{Error, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::{cast, col, lit, DataFrame, Expr};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Reduces a DataFrame of predictions to a metric (Spark's `Evaluator`).
pub trait Evaluator: HasParams {
    /// The metric of `dataset`'s predictions.
    ///
    /// # Errors
    /// A column is missing or of the wrong type, or a job failed.
    fn evaluate(&self, dataset: &DataFrame) -> Result<f64>;

    /// Whether a larger metric is a better model (true for areas, R² and F-measures, false
    /// for errors and losses).
    fn is_larger_better(&self) -> bool;
}

/// Column `name` of `dataset`, which must be numeric, as doubles.
fn number(dataset: &DataFrame, name: &str) -> Result<Expr> {
    require_column(dataset, name, is_numeric, "numeric")?;
    Ok(cast(col(quoted(name)), DataType::Float64))
}

/// The weight of each row: param `weightCol` as doubles, or 1.
fn weight(dataset: &DataFrame, params: &Params) -> Result<Expr> {
    match params.string("weightCol").filter(|w| !w.is_empty()) {
        Some(name) => number(dataset, name),
        None => Ok(lit(1.0)),
    }
}

/// The sums `sums` over every row of `dataset`, in one job.
fn sums(dataset: &DataFrame, sums: Vec<Expr>) -> Result<Vec<f64>> {
    let n = sums.len();
    let aggregates = sums
        .into_iter()
        .enumerate()
        .map(|(i, e)| ember_sql::sum(e).alias(format!("s{i}")))
        .collect();
    let batches = dataset.group_by(vec![]).agg(aggregates)?.collect()?;
    let row = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| Error::Input("the DataFrame to evaluate has no rows".into()))?;
    Ok((0..n)
        .map(|i| {
            let column = row.column(i).as_primitive::<Float64Type>();
            if column.is_null(0) {
                0.0
            } else {
                column.value(0)
            }
        })
        .collect())
}

/// The double columns `columns` of every row of `dataset`, gathered on the driver (for
/// reductions to a few rows: counts per class or per score).
fn rows(dataset: &DataFrame, columns: usize) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![Vec::new(); columns];
    for batch in dataset.collect()? {
        for (i, values) in out.iter_mut().enumerate() {
            let column = batch.column(i).as_primitive::<Float64Type>();
            values.extend((0..column.len()).map(|r| {
                if column.is_null(r) {
                    0.0
                } else {
                    column.value(r)
                }
            }));
        }
    }
    Ok(out)
}

/// Which entry of a vector column to take.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Entry {
    /// Always this one (the score of class 1 in a binary `rawPrediction`).
    At(usize),
    /// The one a numeric column names (the probability of the true label).
    Named(String),
}

/// One entry of each row's vector, as a double column `output` (null where the vector or the
/// index is null, or the index is out of the vector).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VectorEntry {
    vector: String,
    entry: Entry,
    output: String,
}

impl VectorEntry {
    /// `dataset` with the entry added as column `output`; `vector` must be a vector column.
    fn add_to(self, dataset: &DataFrame) -> Result<DataFrame> {
        require_column(dataset, &self.vector, is_vector_type, "vector")?;
        add_columns(dataset, self)
    }
}

impl BatchColumns for VectorEntry {
    fn inputs(&self) -> Vec<String> {
        let mut inputs = vec![self.vector.clone()];
        if let Entry::Named(index) = &self.entry {
            inputs.push(index.clone());
        }
        inputs
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new(&self.output, DataType::Float64, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let vectors = VectorColumn::new(&self.vector, batch.column(0))?;
        let indices = match &self.entry {
            Entry::At(_) => None,
            Entry::Named(name) => Some(
                datafusion::arrow::compute::cast(batch.column(1), &DataType::Float64)
                    .map_err(|e| Error::Input(format!("column {name} is not numeric: {e}")))?,
            ),
        };
        let mut values = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let index = match (&self.entry, &indices) {
                (Entry::At(j), _) => Some(*j),
                (_, Some(column)) => {
                    let column = column.as_primitive::<Float64Type>();
                    (!column.is_null(i) && column.value(i) >= 0.0).then(|| column.value(i) as usize)
                }
                _ => None,
            };
            let vector = vectors.get(i)?;
            values.push(match (vector, index) {
                (Some(v), Some(j)) if j < v.size() => Some(v.get(j)),
                _ => None,
            });
        }
        Ok(vec![Arc::new(Float64Array::from(values))])
    }
}
