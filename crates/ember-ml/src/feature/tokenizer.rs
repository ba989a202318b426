//! `Tokenizer`: text lowercased and split at each whitespace character (Spark's
//! `org.apache.spark.ml.feature.Tokenizer`, which is Java's `toLowerCase.split("\\s")`).
//!
//! As Java splits: each whitespace character ends a token, so two spaces in a row make an
//! empty token and leading whitespace an empty first token; empty tokens at the end are
//! dropped.

use super::{string_lists_to_array, strings_of, unary_columns, UnaryStage};
use crate::param::{shared, ParamSpec, Params};
use crate::persist::params_only_persistence;
use crate::stage::{add_columns, has_params, BatchColumns, Transformer};
use crate::Result;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::DataFrame;
use serde::{Deserialize, Serialize};

const CLASS: &str = "org.apache.spark.ml.feature.Tokenizer";
const PARAMS: &[ParamSpec] = &[shared::INPUT_COL, shared::OUTPUT_COL];

/// Splits text into lowercase words (Spark's `Tokenizer`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::feature::Tokenizer;
/// use ember_ml::Transformer;
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[1]").unwrap();
/// let text = ctx.sql("SELECT 'Spark and  ember' AS text").unwrap();
/// let words = Tokenizer::new().set_input_col("text").set_output_col("words").transform(&text);
/// let shown = words.unwrap().select_columns(&["words"]).unwrap().tab_rows(false).unwrap();
/// assert_eq!(shown, "[spark, and, , ember]\n");
/// ```
#[derive(Debug, Clone)]
pub struct Tokenizer {
    params: Params,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer::new()
    }
}

impl UnaryStage for Tokenizer {}

impl Tokenizer {
    /// A tokenizer; `outputCol` defaults to `<uid>__output`.
    pub fn new() -> Tokenizer {
        Tokenizer {
            params: super::with_output_default(Params::new("tok", PARAMS)),
        }
    }

    /// The text column.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The column of words added.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }
}

/// Java's `s.toLowerCase.split("\\s")`.
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    if !lower.contains([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']) {
        // Java's split of a string without a match: the string itself, even empty.
        return vec![lower];
    }
    // Java's `\s`: space, tab, newline, vertical tab, form feed, carriage return.
    let mut tokens: Vec<String> = lower
        .split([' ', '\t', '\n', '\u{b}', '\u{c}', '\r'])
        .map(str::to_string)
        .collect();
    while tokens.last().is_some_and(String::is_empty) {
        tokens.pop();
    }
    tokens
}

has_params!(Tokenizer);

impl Transformer for Tokenizer {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let (input, output) = unary_columns(&self.params, dataset, is_text, "string")?;
        add_columns(dataset, Tokenize { input, output })
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

#[derive(Serialize, Deserialize)]
struct Tokenize {
    input: String,
    output: String,
}

impl BatchColumns for Tokenize {
    fn inputs(&self) -> Vec<String> {
        vec![self.input.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![super::string_list_field(&self.output)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let texts = strings_of(&self.input, batch)?;
        let tokens: Vec<Option<Vec<String>>> =
            texts.iter().map(|t| t.as_deref().map(tokenize)).collect();
        Ok(vec![string_lists_to_array(&tokens)])
    }
}

params_only_persistence!(Tokenizer, CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_as_javas_split_on_whitespace() {
        assert_eq!(tokenize("Hello  World"), ["hello", "", "world"]);
        assert_eq!(tokenize(" lead\tTAB\n"), ["", "lead", "tab"]);
        assert_eq!(tokenize("   "), Vec::<String>::new());
        assert_eq!(tokenize(""), [""]);
        assert_eq!(tokenize("ÉMBER"), ["émber"]);
    }
}
