//! `OneHotEncoder`: category indices turned into vectors with a single 1 (Spark's
//! `org.apache.spark.ml.feature.OneHotEncoder` and `OneHotEncoderModel`).
//!
//! Fitting finds each input column's number of categories: its largest index plus one (every
//! value must be an index: a whole number, 0 or more). The model gives index `i` a sparse
//! vector with 1.0 at `i`; with `dropLast` (the default) the last category has no entry of
//! its own and becomes the zero vector, so the vectors stay independent. With
//! `handleInvalid` `keep`, an index the fit never saw (or a null) gets one extra category at
//! the end; with `error` (the default) it stops the job, naming the column.

use super::column;
use crate::dataset::{is_numeric, require_column, require_new_column};
use crate::linalg::{vector_field, vectors_to_array, Vector, Vectors};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Estimator, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::{cast, col, max, min, DataFrame};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.feature.OneHotEncoder";
const MODEL_CLASS: &str = "org.apache.spark.ml.feature.OneHotEncoderModel";

const DROP_LAST: ParamSpec = ParamSpec::new(
    "dropLast",
    ParamKind::Bool,
    "whether to drop the last category",
);
const HANDLE_INVALID: ParamSpec = ParamSpec::new(
    "handleInvalid",
    ParamKind::String,
    "How to handle invalid data during transform(). Options are 'keep' (invalid data presented \
     as an extra categorical feature) or error (throw an error). Note that this Param is only \
     used during transform; during fitting, invalid data will result in an error.",
)
.accepting(Accepts::OneOf(&["keep", "error"]));
const OUTPUT_COLS: ParamSpec =
    ParamSpec::new("outputCols", ParamKind::StringArray, "output column names");

const PARAMS: &[ParamSpec] = &[
    DROP_LAST,
    HANDLE_INVALID,
    shared::INPUT_COL,
    shared::INPUT_COLS,
    shared::OUTPUT_COL,
    OUTPUT_COLS,
];

fn default_params(params: Params) -> Params {
    params
        .default("dropLast", ParamValue::Bool(true))
        .default("handleInvalid", ParamValue::String("error".into()))
}

/// The (input, output) column pairs `params` name: `inputCols` and `outputCols`, or
/// `inputCol` and `outputCol`.
///
/// # Errors
/// Neither set, both set, or lists of different lengths.
fn column_pairs(params: &Params) -> Result<Vec<(String, String)>> {
    params.validate()?;
    let single = (params.string("inputCol"), params.string("outputCol"));
    let many = (params.strings("inputCols"), params.strings("outputCols"));
    match (single, many) {
        ((Some(i), Some(o)), (None, None)) => Ok(vec![(i.to_string(), o.to_string())]),
        ((None, None), (Some(i), Some(o))) if i.len() == o.len() => {
            Ok(i.iter().cloned().zip(o.iter().cloned()).collect())
        }
        _ => Err(Error::Input(format!(
            "stage {} needs inputCol and outputCol, or inputCols and outputCols of the same \
             length, and not both",
            params.uid()
        ))),
    }
}

/// Encodes category indices one-hot (Spark's `OneHotEncoder`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::feature::OneHotEncoder;
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[1]").unwrap();
/// let data = ctx.sql("SELECT * FROM (VALUES (0.0), (2.0), (1.0)) AS t(index)").unwrap();
/// let model = OneHotEncoder::new()
///     .set_input_cols(&["index"])
///     .set_output_cols(&["vector"])
///     .fit(&data)
///     .unwrap();
/// assert_eq!(model.category_sizes(), [3]);
/// let encoded = model.transform(&data).unwrap();
/// assert!(encoded.columns().contains(&"vector".to_string()));
/// ```
#[derive(Debug, Clone)]
pub struct OneHotEncoder {
    params: Params,
}

impl Default for OneHotEncoder {
    fn default() -> Self {
        OneHotEncoder::new()
    }
}

impl OneHotEncoder {
    /// An estimator with Spark's defaults.
    pub fn new() -> OneHotEncoder {
        OneHotEncoder {
            params: default_params(Params::new("oneHotEncoder", PARAMS)),
        }
    }

    setter!(
        /// The column of indices (or use `set_input_cols`).
        set_input_col, "inputCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The vector column added.
        set_output_col, "outputCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The columns of indices.
        set_input_cols, "inputCols", &[&str], |v: &[&str]| ParamValue::StringArray(
            v.iter().map(|s| s.to_string()).collect()
        )
    );
    setter!(
        /// The vector columns added, one per input column.
        set_output_cols, "outputCols", &[&str], |v: &[&str]| ParamValue::StringArray(
            v.iter().map(|s| s.to_string()).collect()
        )
    );
    setter!(
        /// Whether the last category is the zero vector (default true).
        set_drop_last, "dropLast", bool, ParamValue::Bool
    );
    setter!(
        /// Unseen indices and nulls: `error` (default) or `keep`.
        set_handle_invalid, "handleInvalid", &str, |v: &str| ParamValue::String(v.into())
    );
}

has_params!(OneHotEncoder);

impl Estimator for OneHotEncoder {
    type Model = OneHotEncoderModel;

    fn fit(&self, dataset: &DataFrame) -> Result<OneHotEncoderModel> {
        let pairs = column_pairs(&self.params)?;
        let mut bounds = Vec::new();
        for (input, _) in &pairs {
            require_column(dataset, input, is_numeric, "numeric")?;
            let x = cast(col(crate::dataset::quoted(input)), DataType::Float64);
            // A fraction makes sum(x - floor(x)) positive.
            let fraction = x.clone() - datafusion::functions::math::expr_fn::floor(x.clone());
            bounds.extend([min(x.clone()), max(x), ember_sql::sum(fraction)]);
        }
        let named = bounds
            .into_iter()
            .enumerate()
            .map(|(i, e)| e.alias(format!("b{i}")))
            .collect();
        let row = dataset.group_by(vec![]).agg(named)?.collect()?;
        let row = row
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| Error::Input("the DataFrame to fit has no rows".into()))?;
        let value = |i: usize| {
            let c = row.column(i).as_primitive::<Float64Type>();
            (!c.is_null(0)).then(|| c.value(0))
        };
        let mut sizes = Vec::with_capacity(pairs.len());
        for (k, (input, _)) in pairs.iter().enumerate() {
            let (low, high, fractions) = (value(3 * k), value(3 * k + 1), value(3 * k + 2));
            if low.is_some_and(|l| l < 0.0) || fractions.is_some_and(|f| f > 0.0) {
                return Err(Error::Input(format!(
                    "column {input} holds values that are not category indices (whole numbers \
                     from 0); index the categories first (StringIndexer)"
                )));
            }
            sizes.push(high.map_or(0, |h| h as usize + 1));
        }
        let params = self.params.copy_to(default_params(Params::with_uid(
            self.params.uid().to_string(),
            PARAMS,
        )));
        Ok(OneHotEncoderModel {
            params,
            category_sizes: sizes,
        })
    }
}

/// The number of categories of each input column (Spark's `OneHotEncoderModel`).
#[derive(Debug, Clone)]
pub struct OneHotEncoderModel {
    params: Params,
    category_sizes: Vec<usize>,
}

impl OneHotEncoderModel {
    /// The number of categories of each input column.
    pub fn category_sizes(&self) -> &[usize] {
        &self.category_sizes
    }

    setter!(
        /// Whether the last category is the zero vector.
        set_drop_last, "dropLast", bool, ParamValue::Bool
    );
    setter!(
        /// Unseen indices and nulls: `error` or `keep`.
        set_handle_invalid, "handleInvalid", &str, |v: &str| ParamValue::String(v.into())
    );
}

has_params!(OneHotEncoderModel);

impl Transformer for OneHotEncoderModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let pairs = column_pairs(&self.params)?;
        if pairs.len() != self.category_sizes.len() {
            return Err(Error::Input(format!(
                "the model encodes {} columns but {} are named",
                self.category_sizes.len(),
                pairs.len()
            )));
        }
        for (input, output) in &pairs {
            require_column(dataset, input, is_numeric, "numeric")?;
            require_new_column(dataset, output)?;
        }
        let keep = self.params.string("handleInvalid") == Some("keep");
        let drop_last = self.params.bool("dropLast");
        add_columns(
            dataset,
            Encode {
                pairs,
                sizes: self.category_sizes.clone(),
                keep,
                drop_last,
            },
        )
    }
}

/// The vector columns of each batch.
#[derive(Serialize, Deserialize)]
struct Encode {
    pairs: Vec<(String, String)>,
    sizes: Vec<usize>,
    keep: bool,
    drop_last: bool,
}

impl Encode {
    /// The vector of `value` in a column of `categories` categories.
    fn encode(&self, input: &str, value: Option<f64>, categories: usize) -> Result<Vector> {
        let size = categories + usize::from(self.keep) - usize::from(self.drop_last);
        let valid = value.filter(|v| *v >= 0.0 && v.fract() == 0.0 && (*v as usize) < categories);
        let index = match (valid, self.keep) {
            (Some(v), _) => v as usize,
            (None, true) => categories,
            (None, false) => {
                return Err(Error::Input(format!(
                    "column {input} has the value {} but the model has {categories} categories \
                     there; set handleInvalid to keep to give such values a category of their \
                     own",
                    value.map_or("null".to_string(), |v| v.to_string())
                )))
            }
        };
        if index < size {
            Vectors::sparse(size, vec![index as u32], vec![1.0])
        } else {
            Vectors::sparse(size, vec![], vec![])
        }
    }
}

impl BatchColumns for Encode {
    fn inputs(&self) -> Vec<String> {
        self.pairs.iter().map(|(i, _)| i.clone()).collect()
    }

    fn fields(&self) -> Vec<Field> {
        self.pairs
            .iter()
            .map(|(_, o)| vector_field(o, true))
            .collect()
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let mut columns = Vec::with_capacity(self.pairs.len());
        for ((input, _), &categories) in self.pairs.iter().zip(&self.sizes) {
            let values =
                datafusion::arrow::compute::cast(column(input, batch)?, &DataType::Float64)
                    .map_err(|e| Error::Input(format!("column {input} is not numeric: {e}")))?;
            let values = values.as_primitive::<Float64Type>();
            let mut vectors = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                let value = (!values.is_null(i)).then(|| values.value(i));
                vectors.push(Some(self.encode(input, value, categories)?));
            }
            columns.push(vectors_to_array(&vectors));
        }
        Ok(columns)
    }
}

impl MlWritable for OneHotEncoderModel {
    /// Spark's layout: one row of `categorySizes`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let item = Arc::new(Field::new("element", DataType::Int32, false));
        let sizes: Vec<i32> = self.category_sizes.iter().map(|&s| s as i32).collect();
        let list = ListArray::new(
            item.clone(),
            OffsetBuffer::from_lengths([sizes.len()]),
            Arc::new(Int32Array::from(sizes)),
            None,
        );
        let schema = Schema::new(vec![Field::new(
            "categorySizes",
            DataType::List(item),
            true,
        )]);
        dir.write_data(schema, vec![Arc::new(list)])
    }
}

impl MlReadable for OneHotEncoderModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let ints = |t: &DataType| matches!(t, DataType::List(item) if item.data_type() == &DataType::Int32);
        let sizes = dir.data_column(batch, "categorySizes", ints, "array<int>")?;
        let sizes = sizes.as_list::<i32>().value(0);
        let category_sizes = sizes
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&s| s.max(0) as usize)
            .collect();
        Ok(OneHotEncoderModel {
            params,
            category_sizes,
        })
    }
}

params_only_persistence!(OneHotEncoder, ESTIMATOR_CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder(keep: bool, drop_last: bool) -> Encode {
        Encode {
            pairs: vec![("c".into(), "v".into())],
            sizes: vec![3],
            keep,
            drop_last,
        }
    }

    #[test]
    fn the_last_and_the_invalid_categories_follow_the_params() {
        let e = encoder(false, true);
        assert_eq!(
            e.encode("c", Some(1.0), 3).unwrap(),
            Vectors::sparse(2, vec![1], vec![1.0]).unwrap()
        );
        // The dropped last category: all zeros.
        assert_eq!(
            e.encode("c", Some(2.0), 3).unwrap(),
            Vectors::dense(vec![0.0; 2])
        );
        let err = e.encode("c", Some(3.0), 3).unwrap_err().to_string();
        assert!(err.contains("column c has the value 3"), "{err}");
        let kept = encoder(true, true);
        // Size 3 + 1 - 1: the invalid bucket is the last, dropped.
        assert_eq!(
            kept.encode("c", None, 3).unwrap(),
            Vectors::dense(vec![0.0; 3])
        );
        let all = encoder(true, false);
        assert_eq!(
            all.encode("c", Some(0.5), 3).unwrap(),
            Vectors::sparse(4, vec![3], vec![1.0]).unwrap()
        );
    }
}
