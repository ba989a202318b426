//! `StringIndexer`: a column of labels (strings, or numbers read as their text) turned into
//! indices 0, 1, ... (Spark's `org.apache.spark.ml.feature.StringIndexer` and
//! `StringIndexerModel`).
//!
//! Fitting counts each distinct value (nulls left out) in one aggregation and orders them by
//! `stringOrderType`: `frequencyDesc` (the default: the most frequent gets 0), `frequencyAsc`,
//! `alphabetDesc` or `alphabetAsc`; equal frequencies go alphabetically, as in Spark. The
//! model maps each value to its index as a double; a value it never saw (or a null) is an
//! error, dropped (`handleInvalid` `skip`) or given the index after the last (`keep`).
//! Saved as Spark saves it: `labelsArray`, one array of labels per input column.

use super::{column, strings_of, unary_columns, with_output_default, UnaryStage};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Estimator, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, ListBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::{cast, col, count, lit, DataFrame};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.feature.StringIndexer";
const MODEL_CLASS: &str = "org.apache.spark.ml.feature.StringIndexerModel";

const HANDLE_INVALID: ParamSpec = ParamSpec::new(
    "handleInvalid",
    ParamKind::String,
    "How to handle invalid data (unseen labels or NULL values). Options are 'skip' (filter out \
     rows with invalid data), error (throw an error), or 'keep' (put invalid data in a special \
     additional bucket, at index numLabels).",
)
.accepting(Accepts::OneOf(&["skip", "error", "keep"]));
const STRING_ORDER_TYPE: ParamSpec = ParamSpec::new(
    "stringOrderType",
    ParamKind::String,
    "How to order labels of string column. The first label after ordering is assigned an index \
     of 0. Supported options: frequencyDesc, frequencyAsc, alphabetDesc, alphabetAsc.",
)
.accepting(Accepts::OneOf(&[
    "frequencyDesc",
    "frequencyAsc",
    "alphabetDesc",
    "alphabetAsc",
]));

const PARAMS: &[ParamSpec] = &[
    HANDLE_INVALID,
    shared::INPUT_COL,
    shared::OUTPUT_COL,
    STRING_ORDER_TYPE,
];

fn default_params(params: Params) -> Params {
    let string = |s: &str| ParamValue::String(s.to_string());
    with_output_default(params)
        .default("handleInvalid", string("error"))
        .default("stringOrderType", string("frequencyDesc"))
}

/// Whether a column of `data_type` can be indexed: text or numbers.
fn is_indexable(data_type: &DataType) -> bool {
    data_type.is_numeric()
        || matches!(
            data_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
        )
}

/// Fits the indices of a column's labels (Spark's `StringIndexer`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::feature::StringIndexer;
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[1]").unwrap();
/// let data = ctx.sql("SELECT * FROM (VALUES ('a'), ('b'), ('c'), ('a'), ('a'), ('c')) AS t(category)").unwrap();
/// let model = StringIndexer::new()
///     .set_input_col("category")
///     .set_output_col("index")
///     .fit(&data)
///     .unwrap();
/// assert_eq!(model.labels(), ["a", "c", "b"]);
/// let indexed = model.transform(&data).unwrap();
/// let shown = indexed.select_columns(&["index"]).unwrap().tab_rows(false).unwrap();
/// assert_eq!(shown, "0.0\n2.0\n1.0\n0.0\n0.0\n1.0\n");
/// ```
#[derive(Debug, Clone)]
pub struct StringIndexer {
    params: Params,
}

impl Default for StringIndexer {
    fn default() -> Self {
        StringIndexer::new()
    }
}

impl UnaryStage for StringIndexer {}

impl StringIndexer {
    /// An estimator with Spark's defaults.
    pub fn new() -> StringIndexer {
        StringIndexer {
            params: default_params(Params::new("strIdx", PARAMS)),
        }
    }

    /// The column of labels.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The column of indices the model adds.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }

    setter!(
        /// Unseen labels and nulls: `error` (default), `skip` or `keep`.
        set_handle_invalid, "handleInvalid", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The order of the indices (default `frequencyDesc`).
        set_string_order_type, "stringOrderType", &str, |v: &str| ParamValue::String(v.into())
    );
}

has_params!(StringIndexer);

impl Estimator for StringIndexer {
    type Model = StringIndexerModel;

    fn fit(&self, dataset: &DataFrame) -> Result<StringIndexerModel> {
        let (input, _) = unary_columns(&self.params, dataset, is_indexable, "string or numeric")?;
        let text = cast(col(crate::dataset::quoted(&input)), DataType::Utf8).alias("label");
        let counted = dataset
            .select(vec![text])?
            .filter(col("label").is_not_null())?
            .group_by(vec![col("label")])
            .agg(vec![count(lit(1)).alias("n")])?
            .collect()?;
        let mut counts: Vec<(String, i64)> = Vec::new();
        for batch in &counted {
            let labels = strings_of("label", batch)?;
            let n = column("n", batch)?.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            counts.extend(
                labels
                    .into_iter()
                    .zip(n.values().iter())
                    .filter_map(|(l, &n)| l.map(|l| (l, n))),
            );
        }
        order(
            &mut counts,
            self.params.string("stringOrderType").unwrap_or_default(),
        );
        let params = self.params.copy_to(default_params(Params::with_uid(
            self.params.uid().to_string(),
            PARAMS,
        )));
        Ok(StringIndexerModel {
            params,
            labels: counts.into_iter().map(|(l, _)| l).collect(),
        })
    }
}

/// Orders labels and their counts as `order_type` says; ties by frequency go alphabetically.
fn order(counts: &mut [(String, i64)], order_type: &str) {
    match order_type {
        "frequencyAsc" => counts.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0))),
        "alphabetDesc" => counts.sort_by(|a, b| b.0.cmp(&a.0)),
        "alphabetAsc" => counts.sort_by(|a, b| a.0.cmp(&b.0)),
        _ => counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))),
    }
}

/// Labels mapped to their indices (Spark's `StringIndexerModel`).
#[derive(Debug, Clone)]
pub struct StringIndexerModel {
    params: Params,
    labels: Vec<String>,
}

impl StringIndexerModel {
    /// The labels, by index.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    setter!(
        /// Unseen labels and nulls: `error`, `skip` or `keep`.
        set_handle_invalid, "handleInvalid", &str, |v: &str| ParamValue::String(v.into())
    );

    /// The column of labels.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The column of indices added.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }
}

impl UnaryStage for StringIndexerModel {}

has_params!(StringIndexerModel);

impl Transformer for StringIndexerModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let (input, output) =
            unary_columns(&self.params, dataset, is_indexable, "string or numeric")?;
        let handle_invalid = self.params.string("handleInvalid").unwrap_or("error");
        let indexed = add_columns(
            dataset,
            Index {
                input,
                output: output.clone(),
                labels: self.labels.clone(),
                keep: handle_invalid == "keep",
                skip: handle_invalid == "skip",
            },
        )?;
        if handle_invalid == "skip" {
            return Ok(indexed.filter(col(crate::dataset::quoted(&output)).is_not_null())?);
        }
        Ok(indexed)
    }
}

/// The index column of each batch.
#[derive(Serialize, Deserialize)]
struct Index {
    input: String,
    output: String,
    labels: Vec<String>,
    keep: bool,
    skip: bool,
}

impl BatchColumns for Index {
    fn inputs(&self) -> Vec<String> {
        vec![self.input.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new(&self.output, DataType::Float64, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let texts = cast_to_text(&self.input, batch)?;
        let indices: HashMap<&str, usize> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let mut out = Vec::with_capacity(texts.len());
        for text in &texts {
            let index = text.as_deref().and_then(|t| indices.get(t).copied());
            out.push(match index {
                Some(i) => Some(i as f64),
                None if self.keep => Some(self.labels.len() as f64),
                None if self.skip => None,
                None => {
                    return Err(Error::Input(match text {
                        Some(t) => format!(
                            "Unseen label: {t}. To handle unseen labels, set handleInvalid to \
                             skip or keep"
                        ),
                        None => format!(
                            "column {} has a null; set handleInvalid to skip or keep, or \
                             drop such rows first (na.drop)",
                            self.input
                        ),
                    }))
                }
            });
        }
        Ok(vec![Arc::new(Float64Array::from(out))])
    }
}

/// Column `name` of `batch` as text, as Spark casts labels to strings.
fn cast_to_text(name: &str, batch: &RecordBatch) -> Result<Vec<Option<String>>> {
    let array = column(name, batch)?;
    if array.data_type().is_numeric() {
        // Spark's text of a double keeps a fraction (1.0); Arrow's does too.
        let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)
            .map_err(|e| Error::Input(format!("column {name} cannot be read as text: {e}")))?;
        let text = text.as_string::<i32>();
        return Ok((0..text.len())
            .map(|i| (!text.is_null(i)).then(|| text.value(i).to_string()))
            .collect());
    }
    strings_of(name, batch)
}

impl MlWritable for StringIndexerModel {
    /// Spark's layout: one row of `labelsArray`, the labels of each input column.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let item = Field::new("element", DataType::Utf8, true);
        let list = Field::new("element", DataType::List(Arc::new(item.clone())), true);
        let mut builder =
            ListBuilder::new(ListBuilder::new(StringBuilder::new()).with_field(Arc::new(item)))
                .with_field(Arc::new(list.clone()));
        builder.values().append_value(self.labels.iter().map(Some));
        builder.append(true);
        let schema = Schema::new(vec![Field::new(
            "labelsArray",
            DataType::List(Arc::new(list)),
            true,
        )]);
        dir.write_data(schema, vec![Arc::new(builder.finish())])
    }
}

impl MlReadable for StringIndexerModel {
    /// Models of Spark 3.0 and later hold `labelsArray`; earlier ones `labels`.
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let lists = |t: &DataType| matches!(t, DataType::List(_));
        let labels = if metadata.version().0 >= 3 {
            let outer = dir.data_column(batch, "labelsArray", lists, "array<array<string>>")?;
            let outer = outer.as_list::<i32>();
            if outer.value(0).len() != 1 {
                return Err(Error::Input(format!(
                    "{} indexes {} columns; ember reads models of one input column",
                    dir.path(),
                    outer.value(0).len()
                )));
            }
            text_list(&outer.value(0).as_list::<i32>().value(0))?
        } else {
            let labels = dir.data_column(batch, "labels", lists, "array<string>")?;
            text_list(&labels.as_list::<i32>().value(0))?
        };
        Ok(StringIndexerModel { params, labels })
    }
}

/// The strings of a list's items.
fn text_list(items: &ArrayRef) -> Result<Vec<String>> {
    let text = datafusion::arrow::compute::cast(items, &DataType::Utf8)
        .map_err(|e| Error::Input(format!("the labels are not text: {e}")))?;
    let text = text.as_string::<i32>();
    Ok((0..text.len()).map(|i| text.value(i).to_string()).collect())
}

params_only_persistence!(StringIndexer, ESTIMATOR_CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_break_frequency_ties_alphabetically() {
        let counts = || {
            vec![
                ("b".to_string(), 2),
                ("a".to_string(), 2),
                ("c".to_string(), 5),
                ("d".to_string(), 1),
            ]
        };
        let labels = |order_type: &str| {
            let mut c = counts();
            order(&mut c, order_type);
            c.into_iter().map(|(l, _)| l).collect::<Vec<_>>()
        };
        assert_eq!(labels("frequencyDesc"), ["c", "a", "b", "d"]);
        assert_eq!(labels("frequencyAsc"), ["d", "a", "b", "c"]);
        assert_eq!(labels("alphabetDesc"), ["d", "c", "b", "a"]);
        assert_eq!(labels("alphabetAsc"), ["a", "b", "c", "d"]);
    }
}
