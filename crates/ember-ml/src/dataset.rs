//! From a DataFrame to what an estimator trains on: instances (label, weight, features)
//! stacked in blocks, one block per Arrow batch of a partition, kept in memory while the
//! estimator passes over them (Spark's `Instance` and `InstanceBlock`).
//!
//! Blocks are built where the DataFrame's last stage runs, so training data never gathers on
//! the driver. A block shares its numbers behind an `Arc`: a cached block handed to each pass
//! is not copied. Features are kept as the rows came: a dense row-major matrix when every row
//! of the batch is dense, compressed sparse rows otherwise.
//!
//! Rows are checked as they are stacked, and a bad one stops the job with the column and the
//! fix named: a null or NaN feature, features of different sizes, a null or NaN label or
//! weight, a negative weight.

use crate::linalg::{is_vector_type, Vector, VectorColumn};
use crate::{Error, Result};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::task_context::abort;
use ember_core::{Fn, Rdd, StorageLevel};
use ember_sql::{cast, col, ArrowBatch, DataFrame, Expr};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Checks that `df` has column `name` of a type `accepts` takes.
///
/// # Errors
/// No such column, naming the columns there are; or a column of another type, naming
/// `wanted`.
pub(crate) fn require_column(
    df: &DataFrame,
    name: &str,
    accepts: fn(&DataType) -> bool,
    wanted: &str,
) -> Result<()> {
    let schema = df.schema();
    let Ok(field) = schema.field_with_name(name) else {
        return Err(Error::Input(format!(
            "column {name} does not exist; the columns are: {}",
            df.columns().join(", ")
        )));
    };
    if !accepts(field.data_type()) {
        return Err(Error::Input(format!(
            "column {name} must be of type {wanted} but was actually {}",
            field.data_type()
        )));
    }
    Ok(())
}

/// Whether a column of `data_type` holds numbers (a label or a weight).
pub(crate) fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

/// Checks that `df` has no column `name` yet (an output column).
///
/// # Errors
/// The column exists.
pub(crate) fn require_new_column(df: &DataFrame, name: &str) -> Result<()> {
    if df.schema().field_with_name(name).is_ok() {
        return Err(Error::Input(format!(
            "output column {name} already exists; choose another name for it"
        )));
    }
    Ok(())
}

/// The features of a block's rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum BlockFeatures {
    /// Row-major, `num_features` values a row.
    Dense(Vec<f64>),
    /// Compressed sparse rows: row `i`'s entries are `offsets[i]..offsets[i + 1]`.
    Sparse {
        offsets: Vec<u32>,
        indices: Vec<u32>,
        values: Vec<f64>,
    },
}

/// The numbers of a block.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BlockData {
    pub(crate) labels: Vec<f64>,
    /// Empty when every weight is 1.
    pub(crate) weights: Vec<f64>,
    pub(crate) num_features: usize,
    pub(crate) features: BlockFeatures,
}

/// Instances stacked in a block (Spark's `InstanceBlock`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InstanceBlock(pub(crate) Arc<BlockData>);

impl InstanceBlock {
    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.0.labels.len()
    }

    /// Row `i`'s weight.
    pub(crate) fn weight(&self, i: usize) -> f64 {
        self.0.weights.get(i).copied().unwrap_or(1.0)
    }

    /// Row `i`'s label.
    pub(crate) fn label(&self, i: usize) -> f64 {
        self.0.labels[i]
    }

    /// How many features each row has.
    pub(crate) fn num_features(&self) -> usize {
        self.0.num_features
    }

    /// Calls `f` with each of row `i`'s features that may be non-zero, and its index.
    #[inline]
    pub(crate) fn for_each_active(&self, i: usize, mut f: impl FnMut(usize, f64)) {
        match &self.0.features {
            BlockFeatures::Dense(values) => {
                let n = self.0.num_features;
                for (j, &v) in values[i * n..(i + 1) * n].iter().enumerate() {
                    f(j, v);
                }
            }
            BlockFeatures::Sparse {
                offsets,
                indices,
                values,
            } => {
                let span = offsets[i] as usize..offsets[i + 1] as usize;
                for (&j, &v) in indices[span.clone()].iter().zip(&values[span]) {
                    f(j as usize, v);
                }
            }
        }
    }

    /// Row `i`'s features dotted with `coefficients` (of at least `num_features` values).
    #[inline]
    pub(crate) fn dot(&self, i: usize, coefficients: &[f64]) -> f64 {
        match &self.0.features {
            BlockFeatures::Dense(values) => {
                let n = self.0.num_features;
                let row = &values[i * n..(i + 1) * n];
                row.iter().zip(&coefficients[..n]).map(|(x, c)| x * c).sum()
            }
            BlockFeatures::Sparse { .. } => {
                let mut sum = 0.0;
                self.for_each_active(i, |j, v| sum += v * coefficients[j]);
                sum
            }
        }
    }

    /// Row `i`'s features, every value.
    pub(crate) fn dense_row(&self, i: usize) -> Vec<f64> {
        let mut row = vec![0.0; self.0.num_features];
        self.for_each_active(i, |j, v| row[j] = v);
        row
    }

    /// The squared Euclidean distance from row `i` to `point`, whose squared norm is
    /// `point_norm2`.
    #[inline]
    pub(crate) fn squared_distance(&self, i: usize, point: &[f64], point_norm2: f64) -> f64 {
        match &self.0.features {
            BlockFeatures::Dense(values) => {
                let n = self.0.num_features;
                let row = &values[i * n..(i + 1) * n];
                row.iter().zip(point).map(|(x, c)| (x - c) * (x - c)).sum()
            }
            BlockFeatures::Sparse { .. } => {
                // |x - c|² = |x|² + |c|² - 2 x·c, over the row's few entries only.
                let (mut norm2, mut dot) = (0.0, 0.0);
                self.for_each_active(i, |j, v| {
                    norm2 += v * v;
                    dot += v * point[j];
                });
                (norm2 + point_norm2 - 2.0 * dot).max(0.0)
            }
        }
    }

    /// Adds `a` times row `i`'s features to `out`.
    #[inline]
    pub(crate) fn add_scaled(&self, i: usize, a: f64, out: &mut [f64]) {
        match &self.0.features {
            BlockFeatures::Dense(values) => {
                let n = self.0.num_features;
                let row = &values[i * n..(i + 1) * n];
                for (o, x) in out[..n].iter_mut().zip(row) {
                    *o += a * x;
                }
            }
            BlockFeatures::Sparse { .. } => self.for_each_active(i, |j, v| out[j] += a * v),
        }
    }
}

/// The storage level named `name` (a param's value such as `MEMORY_AND_DISK`).
pub(crate) fn storage_level(name: &str) -> StorageLevel {
    match name {
        "MEMORY_ONLY" => StorageLevel::MEMORY_ONLY,
        "MEMORY_ONLY_SER" => StorageLevel::MEMORY_ONLY_SER,
        "MEMORY_AND_DISK_SER" => StorageLevel::MEMORY_AND_DISK_SER,
        "DISK_ONLY" => StorageLevel::DISK_ONLY,
        _ => StorageLevel::MEMORY_AND_DISK,
    }
}

/// Which columns make the instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InstanceColumns {
    pub(crate) features: String,
    /// `None` for estimators without labels (clustering).
    pub(crate) label: Option<String>,
    /// `None` when every weight is 1.
    pub(crate) weight: Option<String>,
}

impl InstanceColumns {
    /// The instances of `df`, as blocks kept at `level` until the caller unpersists them.
    ///
    /// # Errors
    /// A column is missing or of the wrong type.
    pub(crate) fn blocks(&self, df: &DataFrame, level: StorageLevel) -> Result<Rdd<InstanceBlock>> {
        require_column(df, &self.features, is_vector_type, "vector")?;
        let mut columns: Vec<Expr> = vec![col(quoted(&self.features))];
        for (name, alias) in [(&self.label, "label"), (&self.weight, "weight")] {
            if let Some(name) = name.as_deref().filter(|n| !n.is_empty()) {
                require_column(df, name, is_numeric, "numeric")?;
                columns.push(cast(col(quoted(name)), DataType::Float64).alias(alias));
            }
        }
        let names = self.clone();
        let batches = df.select(columns)?.to_arrow_rdd()?;
        let blocks = batches
            .map(Fn!(move |batch: ArrowBatch| {
                stack(&names, batch.batch()).unwrap_or_else(|e| abort(e.into_engine()))
            }))
            .filter(Fn!(|block: &InstanceBlock| block.len() > 0));
        Ok(blocks.persist(level))
    }
}

/// `name` as a column reference that keeps its case and dots.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The rows of `batch` (features, then label and weight as doubles) as a block.
fn stack(names: &InstanceColumns, batch: &RecordBatch) -> Result<InstanceBlock> {
    let features = VectorColumn::new(&names.features, batch.column(0))?;
    let doubles = |n: usize| batch.column(n).as_primitive::<Float64Type>();
    let has_label = names.label.as_deref().is_some_and(|l| !l.is_empty());
    let labels = has_label.then(|| doubles(1));
    let has_weight = names.weight.as_deref().is_some_and(|w| !w.is_empty());
    let weights = has_weight.then(|| doubles(1 + usize::from(has_label)));
    let rows = batch.num_rows();
    let mut vectors = Vec::with_capacity(rows);
    for i in 0..rows {
        let vector = features.get(i)?.ok_or_else(|| {
            Error::Input(format!(
                "column {} has a null vector; drop such rows first (na.drop)",
                names.features
            ))
        })?;
        vectors.push(vector);
    }
    let num_features = vectors.first().map_or(0, Vector::size);
    let mut block_labels = Vec::with_capacity(rows);
    let mut block_weights = Vec::with_capacity(if has_weight { rows } else { 0 });
    for i in 0..rows {
        if let Some(labels) = labels {
            block_labels.push(checked(
                labels,
                i,
                names.label.as_deref().unwrap_or(""),
                "label",
            )?);
        } else {
            block_labels.push(0.0);
        }
        if let Some(weights) = weights {
            let w = checked(weights, i, names.weight.as_deref().unwrap_or(""), "weight")?;
            if w < 0.0 {
                return Err(Error::Input(format!(
                    "weight column {} has a negative weight {w}; weights must be >= 0",
                    names.weight.as_deref().unwrap_or("")
                )));
            }
            block_weights.push(w);
        }
    }
    let features = stack_features(&names.features, &vectors, num_features)?;
    Ok(InstanceBlock(Arc::new(BlockData {
        labels: block_labels,
        weights: block_weights,
        num_features,
        features,
    })))
}

/// Row `i` of a label or weight column, which must be a number.
fn checked(
    column: &datafusion::arrow::array::PrimitiveArray<Float64Type>,
    i: usize,
    name: &str,
    what: &str,
) -> Result<f64> {
    if column.is_null(i) || column.value(i).is_nan() {
        return Err(Error::Input(format!(
            "{what} column {name} has a null or NaN value; drop or fill such rows first \
             (na.drop, na.fill)"
        )));
    }
    Ok(column.value(i))
}

fn stack_features(name: &str, vectors: &[Vector], num_features: usize) -> Result<BlockFeatures> {
    for v in vectors {
        if v.size() != num_features {
            return Err(Error::Input(format!(
                "column {name} holds vectors of sizes {num_features} and {}; every row's \
                 features must have the same size",
                v.size()
            )));
        }
        if v.active().any(|(_, x)| !x.is_finite()) {
            return Err(Error::Input(format!(
                "column {name} has a NaN or infinite feature; remove or impute such values \
                 first (VectorAssembler's handleInvalid, Imputer, na.fill)"
            )));
        }
    }
    if vectors.iter().all(|v| matches!(v, Vector::Dense(_))) {
        let mut values = Vec::with_capacity(vectors.len() * num_features);
        for v in vectors {
            values.extend_from_slice(match v {
                Vector::Dense(d) => d.values(),
                Vector::Sparse(_) => unreachable!("all dense"),
            });
        }
        return Ok(BlockFeatures::Dense(values));
    }
    let mut offsets = Vec::with_capacity(vectors.len() + 1);
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    offsets.push(0);
    for v in vectors {
        for (j, x) in v.active().filter(|&(_, x)| x != 0.0) {
            indices.push(j as u32);
            values.push(x);
        }
        let end = u32::try_from(indices.len()).map_err(|_| {
            Error::Input(format!(
                "a batch of column {name} has over 4 billion entries"
            ))
        })?;
        offsets.push(end);
    }
    Ok(BlockFeatures::Sparse {
        offsets,
        indices,
        values,
    })
}

impl Error {
    /// This error as the engine's, to stop a task with.
    pub(crate) fn into_engine(self) -> ember_core::Error {
        match self {
            Error::Engine(e) => e,
            other => ember_core::Error::Input(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{vector_field, vectors_to_array, Vectors};
    use datafusion::arrow::array::{ArrayRef, Float64Array};
    use datafusion::arrow::datatypes::{Field, Schema};

    fn batch(vectors: Vec<Vector>, labels: Vec<f64>) -> RecordBatch {
        let schema = Schema::new(vec![
            vector_field("features", true),
            Field::new("label", DataType::Float64, true),
        ]);
        let vectors: Vec<Option<Vector>> = vectors.into_iter().map(Some).collect();
        let columns: Vec<ArrayRef> = vec![
            vectors_to_array(&vectors),
            Arc::new(Float64Array::from(labels)),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    fn names() -> InstanceColumns {
        InstanceColumns {
            features: "features".into(),
            label: Some("label".into()),
            weight: None,
        }
    }

    #[test]
    fn dense_and_sparse_rows_stack_and_dot_alike() {
        let rows = vec![
            Vectors::dense(vec![1.0, 0.0, 2.0]),
            Vectors::sparse(3, vec![1], vec![-1.0]).unwrap(),
        ];
        let block = stack(&names(), &batch(rows.clone(), vec![0.0, 1.0])).unwrap();
        assert!(matches!(block.0.features, BlockFeatures::Sparse { .. }));
        let dense = stack(&names(), &batch(vec![rows[0].clone()], vec![1.0])).unwrap();
        assert!(matches!(dense.0.features, BlockFeatures::Dense(_)));
        let coefficients = [0.5, 2.0, 1.0];
        assert_eq!(block.dot(0, &coefficients), 2.5);
        assert_eq!(block.dot(1, &coefficients), -2.0);
        assert_eq!(dense.dot(0, &coefficients), 2.5);
        let mut sum = vec![0.0; 3];
        block.add_scaled(0, 2.0, &mut sum);
        block.add_scaled(1, 1.0, &mut sum);
        assert_eq!(sum, [2.0, -1.0, 4.0]);
        assert_eq!(
            (block.len(), block.label(1), block.weight(1)),
            (2, 1.0, 1.0)
        );
    }

    #[test]
    fn bad_rows_are_named_with_their_column() {
        let nan = batch(vec![Vectors::dense(vec![f64::NAN])], vec![0.0]);
        let err = stack(&names(), &nan).unwrap_err().to_string();
        assert!(
            err.starts_with("column features has a NaN or infinite feature"),
            "{err}"
        );
        let sizes = batch(
            vec![Vectors::dense(vec![1.0]), Vectors::dense(vec![1.0, 2.0])],
            vec![0.0, 1.0],
        );
        let err = stack(&names(), &sizes).unwrap_err().to_string();
        assert!(err.contains("holds vectors of sizes 1 and 2"), "{err}");
        let label = batch(vec![Vectors::dense(vec![1.0])], vec![f64::NAN]);
        let err = stack(&names(), &label).unwrap_err().to_string();
        assert!(
            err.starts_with("label column label has a null or NaN value"),
            "{err}"
        );
    }
}
