//! `VectorAssembler`: columns of numbers, booleans and vectors joined into one vector column,
//! in the order given (Spark's `org.apache.spark.ml.feature.VectorAssembler`).
//!
//! Each row's vector takes the smaller of its dense and sparse forms, as Spark's does. A null
//! or NaN input is handled as `handleInvalid` says: `error` (the default) stops the job
//! naming the column, `skip` drops the row, `keep` puts NaN in its place (for a vector column,
//! as many NaNs as the column's vectors have entries).

use crate::dataset::{quoted, require_new_column};
use crate::linalg::{
    is_vector_type, vector_field, vectors_to_array, Vector, VectorColumn, Vectors,
};
use crate::param::{shared, ParamSpec, ParamValue, Params};
use crate::persist::params_only_persistence;
use crate::stage::{add_columns, has_params, BatchColumns, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::{col, DataFrame};
use serde::{Deserialize, Serialize};

/// Spark's class of the stage, as saved.
const CLASS: &str = "org.apache.spark.ml.feature.VectorAssembler";

const PARAMS: &[ParamSpec] = &[
    shared::HANDLE_INVALID_ASSEMBLER,
    shared::INPUT_COLS,
    shared::OUTPUT_COL,
];

/// Joins columns into a vector column (Spark's `VectorAssembler`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::linalg::{VectorColumn, Vectors};
/// use ember_ml::Transformer;
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let df = ctx.sql("SELECT 1.5 AS x, true AS flag, 3 AS n").unwrap();
/// let assembled = VectorAssembler::new()
///     .set_input_cols(&["x", "flag", "n"])
///     .set_output_col("features")
///     .transform(&df)
///     .unwrap();
/// let batches = assembled.collect().unwrap();
/// let features = VectorColumn::new("features", batches[0].column_by_name("features").unwrap());
/// let row = features.unwrap().get(0).unwrap();
/// assert_eq!(row, Some(Vectors::dense(vec![1.5, 1.0, 3.0])));
/// ```
#[derive(Debug, Clone)]
pub struct VectorAssembler {
    params: Params,
}

impl Default for VectorAssembler {
    fn default() -> Self {
        VectorAssembler::new()
    }
}

impl VectorAssembler {
    /// An assembler with Spark's defaults: `handleInvalid` `error`, `outputCol`
    /// `<uid>__output`.
    pub fn new() -> VectorAssembler {
        VectorAssembler::with_params(Params::new("vecAssembler", PARAMS))
    }

    fn with_params(params: Params) -> VectorAssembler {
        let output = format!("{}__output", params.uid());
        VectorAssembler {
            params: params
                .default("handleInvalid", ParamValue::String("error".into()))
                .default("outputCol", ParamValue::String(output)),
        }
    }

    /// The columns to join, in order.
    pub fn set_input_cols(mut self, columns: &[&str]) -> Self {
        let columns = columns.iter().map(|c| c.to_string()).collect();
        self.params
            .set("inputCols", ParamValue::StringArray(columns));
        self
    }

    /// The vector column to add.
    pub fn set_output_col(mut self, column: &str) -> Self {
        self.params
            .set("outputCol", ParamValue::String(column.into()));
        self
    }

    /// What to do with a null or NaN input: `error`, `skip` or `keep`.
    pub fn set_handle_invalid(mut self, how: &str) -> Self {
        self.params
            .set("handleInvalid", ParamValue::String(how.into()));
        self
    }

    /// The columns joined.
    pub fn input_cols(&self) -> &[String] {
        self.params.strings("inputCols").unwrap_or(&[])
    }

    /// The vector column added.
    pub fn output_col(&self) -> &str {
        self.params.string("outputCol").unwrap_or_default()
    }
}

has_params!(VectorAssembler);

impl Transformer for VectorAssembler {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.params.validate()?;
        let inputs = self.input_cols().to_vec();
        if inputs.is_empty() {
            return Err(Error::Input(
                "VectorAssembler has no input columns; set them with set_input_cols".into(),
            ));
        }
        let schema = dataset.schema();
        for name in &inputs {
            let field = schema.field_with_name(name).map_err(|_| {
                Error::Input(format!(
                    "column {name} does not exist; the columns are: {}",
                    dataset.columns().join(", ")
                ))
            })?;
            let kind = field.data_type();
            if !(kind.is_numeric() || kind == &DataType::Boolean || is_vector_type(kind)) {
                return Err(Error::Input(format!(
                    "VectorAssembler does not support the {kind} type of column {name}; \
                     give it numbers, booleans or vectors"
                )));
            }
        }
        let output = self.output_col().to_string();
        require_new_column(dataset, &output)?;
        let handle_invalid = self
            .params
            .string("handleInvalid")
            .unwrap_or("error")
            .to_string();
        let assembled = add_columns(
            dataset,
            Assemble {
                inputs,
                output: output.clone(),
                keep: handle_invalid == "keep",
                skip: handle_invalid == "skip",
            },
        )?;
        if handle_invalid != "skip" {
            return Ok(assembled);
        }
        // Skipped rows come out as null vectors, dropped here.
        Ok(assembled.filter(col(quoted(&output)).is_not_null())?)
    }
}

/// The assembling of each batch.
#[derive(Serialize, Deserialize)]
struct Assemble {
    inputs: Vec<String>,
    output: String,
    keep: bool,
    skip: bool,
}

impl BatchColumns for Assemble {
    fn inputs(&self) -> Vec<String> {
        self.inputs.clone()
    }

    fn fields(&self) -> Vec<Field> {
        vec![vector_field(&self.output, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let inputs: Vec<Input> = self
            .inputs
            .iter()
            .map(|name| Input::of(name, batch))
            .collect::<Result<_>>()?;
        let mut vectors = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            vectors.push(self.assemble(&inputs, row)?);
        }
        Ok(vec![vectors_to_array(&vectors)])
    }
}

/// An input column of a batch.
enum Input<'a> {
    Numbers(&'a str, ArrayRef),
    Vectors(&'a str, VectorColumn<'a>),
}

impl<'a> Input<'a> {
    fn of(name: &'a str, batch: &'a RecordBatch) -> Result<Input<'a>> {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Input(format!("column {name} does not exist")))?;
        if is_vector_type(array.data_type()) {
            return Ok(Input::Vectors(name, VectorColumn::new(name, array)?));
        }
        let numbers = cast(array, &DataType::Float64)
            .map_err(|e| Error::Input(format!("column {name} is not numeric: {e}")))?;
        Ok(Input::Numbers(name, numbers))
    }
}

impl Assemble {
    /// Row `row` assembled; `None` for a row skipped.
    fn assemble(&self, inputs: &[Input], row: usize) -> Result<Option<Vector>> {
        let mut entries: Vec<(u32, f64)> = Vec::new();
        let mut size = 0usize;
        for input in inputs {
            match input {
                Input::Numbers(name, array) => {
                    let value = if array.is_null(row) {
                        f64::NAN
                    } else {
                        array.as_primitive::<Float64Type>().value(row)
                    };
                    if value.is_nan() && !self.keep {
                        return self.invalid(name, "a null or NaN");
                    }
                    if value != 0.0 {
                        entries.push((size as u32, value));
                    }
                    size += 1;
                }
                Input::Vectors(name, column) => {
                    let Some(vector) = column.get(row)? else {
                        return self.invalid(name, "a null vector");
                    };
                    if !self.keep && vector.active().any(|(_, v)| v.is_nan()) {
                        return self.invalid(name, "a NaN");
                    }
                    for (j, v) in vector.active().filter(|&(_, v)| v != 0.0) {
                        entries.push(((size + j) as u32, v));
                    }
                    size += vector.size();
                }
            }
        }
        Ok(Some(
            Vectors::sparse_from_entries(size, entries)?.compressed(),
        ))
    }

    fn invalid(&self, name: &str, what: &str) -> Result<Option<Vector>> {
        if self.skip {
            return Ok(None);
        }
        Err(Error::Input(format!(
            "encountered {what} in column {name} while assembling a row with handleInvalid = \
             \"error\"; remove such rows or values first, or set handleInvalid to \"skip\" or \
             \"keep\""
        )))
    }
}

params_only_persistence!(VectorAssembler, CLASS);
