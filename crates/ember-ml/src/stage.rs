//! Stages of a pipeline, as Spark's `Transformer`, `Estimator` and `Params` are: a
//! transformer maps a DataFrame to a DataFrame with more columns; an estimator fits a model
//! (a transformer) to a DataFrame.
//!
//! Transformers add their columns as expressions of the DataFrame's plan: one function of
//! whole Arrow columns per stage ([`ember_sql::column_function`]), which travels with the plan.
//! A transform is therefore lazy, runs where the rows are computed, never gathers rows on the
//! driver, and applies to streaming DataFrames as to batch ones.

use crate::dataset::quoted;
use crate::param::{ParamMap, Params};
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::functions::core::expr_fn::get_field;
use ember_sql::{col, column_function, ColumnFunction, DataFrame, Expr};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A stage with params (Spark's `Params` and `Identifiable`).
pub trait HasParams {
    /// The stage's params.
    fn params(&self) -> &Params;

    /// The stage's params, to change.
    fn params_mut(&mut self) -> &mut Params;

    /// Sets the values `map` holds for this stage, found by uid (a pipeline passes the map
    /// on to its stages).
    fn apply_param_map(&mut self, map: &ParamMap) {
        map.apply_to(self.params_mut());
    }

    /// The stage's unique id.
    fn uid(&self) -> &str {
        self.params().uid()
    }

    /// Every param with its doc, default and value, one a line (Spark's `explainParams`).
    fn explain_params(&self) -> String {
        self.params().explain()
    }
}

/// `HasParams` for stages whose params are their field `params`.
macro_rules! has_params {
    ($ty:ident) => {
        impl $crate::stage::HasParams for $ty {
            fn params(&self) -> &$crate::param::Params {
                &self.params
            }

            fn params_mut(&mut self) -> &mut $crate::param::Params {
                &mut self.params
            }
        }
    };
}
pub(crate) use has_params;

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
    /// The columns it reads.
    fn inputs(&self) -> Vec<String>;

    /// The fields of the added columns.
    fn fields(&self) -> Vec<Field>;

    /// The added columns of `batch`'s rows; `batch` holds the [`inputs`](Self::inputs).
    ///
    /// # Errors
    /// A row the stage cannot take, naming its column.
    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>>;
}

/// A [`BatchColumns`] as one function of its input columns returning a struct of its output
/// columns, so that a plan calls it once for all of them.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct StageFunction<C: BatchColumns>(C);

impl<C: BatchColumns> ColumnFunction for StageFunction<C> {
    fn return_type(&self) -> DataType {
        DataType::Struct(Fields::from(self.0.fields()))
    }

    fn invoke(&self, args: &[ArrayRef]) -> std::result::Result<ArrayRef, String> {
        let fields: Vec<Field> = self
            .0
            .inputs()
            .iter()
            .zip(args)
            .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
            .collect();
        let rows = args.first().map_or(0, |a| a.len());
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            args.to_vec(),
            &options,
        )
        .map_err(|e| e.to_string())?;
        let columns = self.0.columns(&batch).map_err(|e| e.to_string())?;
        let out = StructArray::try_new(Fields::from(self.0.fields()), columns, None)
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(out))
    }
}

/// The column that holds a stage's outputs before they become columns of their own.
const OUTPUTS: &str = "__ember_ml_outputs";

/// `dataset` with the columns `stage` computes added: lazily, as expressions of the
/// DataFrame's plan, so a transform runs where the plan runs (tasks on executors, each batch
/// of a streaming query).
///
/// # Errors
/// An input column is missing.
pub(crate) fn add_columns<C: BatchColumns>(dataset: &DataFrame, stage: C) -> Result<DataFrame> {
    let schema = dataset.schema();
    let mut types = Vec::new();
    for name in stage.inputs() {
        let field = schema.field_with_name(&name).map_err(|_| {
            Error::Input(format!(
                "column {name} does not exist; the columns are: {}",
                dataset.columns().join(", ")
            ))
        })?;
        types.push(field.data_type().clone());
    }
    let arguments = stage.inputs().iter().map(|n| col(quoted(n))).collect();
    let outputs: Vec<String> = stage.fields().iter().map(|f| f.name().clone()).collect();
    let function = column_function(
        &format!("ember_ml_{}", std::any::type_name::<C>()),
        types,
        StageFunction(stage),
    );
    let mut with = dataset.with_column(OUTPUTS, function.call(arguments))?;
    for name in &outputs {
        with = with.with_column(name, get_field(col(OUTPUTS), name.as_str()))?;
    }
    let kept: Vec<Expr> = with
        .columns()
        .iter()
        .filter(|c| c.as_str() != OUTPUTS)
        .map(|c| col(quoted(c)))
        .collect();
    Ok(with.select(kept)?)
}
