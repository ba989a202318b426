//! Feature transformers, as Spark's `org.apache.spark.ml.feature`: columns turned into the
//! vectors estimators train on.

mod hashing_tf;
mod idf;
mod one_hot_encoder;
mod scale;
mod standard_scaler;
mod string_indexer;
mod tokenizer;
mod vector_assembler;

pub use hashing_tf::HashingTF;
pub use idf::{IDFModel, IDF};
pub use one_hot_encoder::{OneHotEncoder, OneHotEncoderModel};
pub use standard_scaler::{StandardScaler, StandardScalerModel};
pub use string_indexer::{StringIndexer, StringIndexerModel};
pub use tokenizer::Tokenizer;
pub use vector_assembler::VectorAssembler;

use crate::dataset::{require_column, require_new_column};
use crate::param::{ParamValue, Params};
use crate::stage::HasParams;
use crate::{Error, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::DataFrame;
use std::sync::Arc;

/// `params` with `outputCol` defaulting to `<uid>__output`, as Spark's `HasOutputCol`.
pub(crate) fn with_output_default(params: Params) -> Params {
    let output = format!("{}__output", params.uid());
    params.default("outputCol", ParamValue::String(output))
}

/// A stage of one input column and one output column.
pub(crate) trait UnaryStage: HasParams + Sized {
    fn with_input_col(mut self, column: &str) -> Self {
        self.params_mut()
            .set("inputCol", ParamValue::String(column.into()));
        self
    }

    fn with_output_col(mut self, column: &str) -> Self {
        self.params_mut()
            .set("outputCol", ParamValue::String(column.into()));
        self
    }
}

/// The input and output columns of a one-column stage, checked against `dataset`: the input
/// there and of a type `accepts` takes, the output not there yet.
///
/// # Errors
/// A param out of range, no input column set, or a column check that fails.
pub(crate) fn unary_columns(
    params: &Params,
    dataset: &DataFrame,
    accepts: fn(&DataType) -> bool,
    wanted: &str,
) -> Result<(String, String)> {
    params.validate()?;
    let input = params.string("inputCol").ok_or_else(|| {
        Error::Input(format!(
            "stage {} has no input column; set it with set_input_col",
            params.uid()
        ))
    })?;
    require_column(dataset, input, accepts, wanted)?;
    let output = params.string("outputCol").unwrap_or_default();
    require_new_column(dataset, output)?;
    Ok((input.to_string(), output.to_string()))
}

/// Column `name` of `batch`.
pub(crate) fn column<'a>(name: &str, batch: &'a RecordBatch) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Input(format!("column {name} does not exist")))
}

/// The strings of text column `name` (of any string type).
pub(crate) fn strings_of(name: &str, batch: &RecordBatch) -> Result<Vec<Option<String>>> {
    let text = cast(column(name, batch)?, &DataType::Utf8)
        .map_err(|e| Error::Input(format!("column {name} is not text: {e}")))?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect())
}

/// The arrays of strings of column `name` (an array of any string type).
pub(crate) fn string_lists_of(name: &str, batch: &RecordBatch) -> Result<Vec<Option<Vec<String>>>> {
    let wanted = DataType::List(Arc::new(Field::new("element", DataType::Utf8, true)));
    let lists = cast(column(name, batch)?, &wanted)
        .map_err(|e| Error::Input(format!("column {name} is not an array of strings: {e}")))?;
    let lists = lists.as_list::<i32>();
    Ok((0..lists.len())
        .map(|i| {
            (!lists.is_null(i)).then(|| {
                let items = lists.value(i);
                let items = items.as_string::<i32>();
                items
                    .iter()
                    .map(|s| s.unwrap_or_default().to_string())
                    .collect()
            })
        })
        .collect())
}

/// Whether a column of `data_type` holds arrays of strings.
pub(crate) fn is_string_list(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(item) | DataType::LargeList(item) => matches!(
            item.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    }
}

/// The field of an array-of-strings column (Spark's `array<string>`).
pub(crate) fn string_list_field(name: &str) -> Field {
    let item = Field::new("element", DataType::Utf8, true);
    Field::new(name, DataType::List(Arc::new(item)), true)
}

/// A column of arrays of strings.
pub(crate) fn string_lists_to_array(lists: &[Option<Vec<String>>]) -> ArrayRef {
    let item = Field::new("element", DataType::Utf8, true);
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(item));
    for list in lists {
        match list {
            Some(items) => builder.append_value(items.iter().map(Some)),
            None => builder.append_null(),
        }
    }
    Arc::new(builder.finish())
}
