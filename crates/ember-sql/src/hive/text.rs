//! Hive's delimited text (`LazySimpleSerDe`) as DataFusion expressions over a line's fields.
//!
//! A row is one line; its fields are separated by `field.delim` (default `\u{1}`). Inside a
//! field, an array's elements and a struct's fields are separated by `collection.delim`
//! (`\u{2}`), a map's entries by `collection.delim` and each key from its value by
//! `mapkey.delim` (`\u{3}`). A field equal to `serialization.null.format` (`\N`) is null.
//! Nothing is quoted. Reading casts each piece to its column's type as Hive does (a piece
//! that is no such value is null); writing joins the pieces' text the same way.
//!
//! One level of nesting is read and written: arrays, maps and structs of scalars. With
//! `escape.delim` (`ESCAPED BY '\\'`), an escape before a field delimiter or before itself
//! makes it part of the value; such tables hold scalar columns, read from whole lines.

use crate::error::{Error, Result};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_ext::FieldAccessor;
use datafusion::functions::expr_fn::{
    coalesce, concat_ws, named_struct, nullif, regexp_replace, replace, split_part, to_char,
};
use datafusion::functions_nested::expr_fn::string_to_array;
use datafusion::functions_nested::map::map_udf;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{cast, try_cast, when, Expr};
use datafusion::prelude::lit;
use std::collections::HashMap;

/// A text table's delimiters and null format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextSerDe {
    pub(crate) field: String,
    pub(crate) collection: String,
    pub(crate) map_key: String,
    pub(crate) null: String,
    /// `escape.delim` (`ESCAPED BY`): before a delimiter or itself, it makes that character
    /// part of the value.
    pub(crate) escape: Option<String>,
}

/// Stand-ins, from Unicode's private use area, for an escaped field delimiter and an escaped
/// escape while a line is split at its unescaped delimiters.
const ESCAPED_DELIMITER: &str = "\u{E000}";
const ESCAPED_ESCAPE: &str = "\u{E001}";

impl TextSerDe {
    /// The SerDe's settings in a table's SerDe parameters, Hive's defaults for the rest
    /// (`colelction.delim` is Hive's own spelling; `collection.delim` is read too).
    pub(crate) fn from_parameters(serde: &HashMap<String, String>) -> Self {
        let get = |keys: &[&str], default: &str| {
            keys.iter()
                .find_map(|k| serde.get(*k))
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        TextSerDe {
            field: get(&["field.delim", "serialization.format"], "\u{1}"),
            collection: get(&["colelction.delim", "collection.delim"], "\u{2}"),
            map_key: get(&["mapkey.delim"], "\u{3}"),
            null: get(&["serialization.null.format"], "\\N"),
            escape: serde.get("escape.delim").cloned(),
        }
    }

    /// Field `index` of a whole `line` of an escaped table, as (its raw text, its value with
    /// the escapes removed): Hive compares the raw text with the null format.
    pub(crate) fn escaped_field(&self, line: Expr, index: usize) -> (Expr, Expr) {
        let escape = self.escape.clone().unwrap_or_default();
        let (e, d) = (regex_escape(&escape), regex_escape(&self.field));
        let global = || Some(lit("g"));
        let protected = regexp_replace(line, lit(format!("{e}{e}")), lit(ESCAPED_ESCAPE), global());
        let protected = regexp_replace(
            protected,
            lit(format!("{e}{d}")),
            lit(ESCAPED_DELIMITER),
            global(),
        );
        let piece = split_part(protected, lit(self.field.clone()), lit(index as i64 + 1));
        let restore = |text: Expr, escaped_escape: &str| {
            let text = replace(text, lit(ESCAPED_DELIMITER), lit(self.field.clone()));
            replace(text, lit(ESCAPED_ESCAPE), lit(escaped_escape.to_string()))
        };
        let raw = restore(piece.clone(), &format!("{escape}{escape}"));
        let unescaped = regexp_replace(piece, lit(format!("{e}(.)")), lit("${1}"), global());
        (raw, restore(unescaped, &escape))
    }

    /// The value of a field read from its text `field`, as `data_type`.
    ///
    /// # Errors
    /// Nesting deeper than one level.
    pub(crate) fn read(&self, field: Expr, data_type: &DataType, column: &str) -> Result<Expr> {
        self.read_raw(field.clone(), field, data_type, column)
    }

    /// As [`read`](TextSerDe::read), for a field whose raw text (compared with the null
    /// format) and value differ: an escaped table's, which holds scalars only.
    pub(crate) fn read_raw(
        &self,
        raw: Expr,
        field: Expr,
        data_type: &DataType,
        column: &str,
    ) -> Result<Expr> {
        if self.escape.is_some() && data_type.is_nested() {
            return Err(Error::Input(format!(
                "column {column} is a {data_type}: ember reads escaped delimited text (ESCAPED BY) \
                 of scalar columns only"
            )));
        }
        let typed_null = lit(ScalarValue::try_from(data_type)?);
        let value = match data_type {
            DataType::List(element) => {
                scalar_only(element.data_type(), column)?;
                try_cast(self.pieces(field.clone()), data_type.clone())
            }
            DataType::Map(entries, _) => {
                let DataType::Struct(kv) = entries.data_type() else {
                    return Err(nested_error(column));
                };
                scalar_only(kv[0].data_type(), column)?;
                scalar_only(kv[1].data_type(), column)?;
                let (c, k) = (regex_escape(&self.collection), regex_escape(&self.map_key));
                // "k1:v1|k2:v2" without the values, and without the keys.
                let keys = regexp_replace(
                    field.clone(),
                    lit(format!("{k}[^{c}]*")),
                    lit(""),
                    Some(lit("g")),
                );
                let values = regexp_replace(
                    field.clone(),
                    lit(format!("(^|{c})[^{c}{k}]*{k}")),
                    lit("${1}"),
                    Some(lit("g")),
                );
                let key_type = DataType::new_list(kv[0].data_type().clone(), true);
                let value_type = DataType::new_list(kv[1].data_type().clone(), true);
                let map = Expr::ScalarFunction(ScalarFunction::new_udf(
                    map_udf(),
                    vec![
                        try_cast(self.pieces(keys), key_type),
                        try_cast(self.pieces(values), value_type),
                    ],
                ));
                cast(map, data_type.clone())
            }
            DataType::Struct(fields) => {
                let mut args = Vec::new();
                for (i, f) in fields.iter().enumerate() {
                    scalar_only(f.data_type(), column)?;
                    let piece = split_part(
                        field.clone(),
                        lit(self.collection.clone()),
                        lit(i as i64 + 1),
                    );
                    let piece = nullif(nullif(piece, lit(self.null.clone())), lit(""));
                    args.push(lit(f.name().clone()));
                    args.push(try_cast(piece, f.data_type().clone()));
                }
                named_struct(args)
            }
            _ => try_cast(field.clone(), data_type.clone()),
        };
        Ok(when(raw.eq(lit(self.null.clone())), typed_null).otherwise(value)?)
    }

    /// The text of a value of `data_type` in a field; a null as the null format.
    ///
    /// # Errors
    /// A map, or nesting deeper than one level.
    pub(crate) fn write(&self, value: Expr, data_type: &DataType, column: &str) -> Result<Expr> {
        let text = match data_type {
            _ if self.escape.is_some() && data_type.is_nested() => {
                return Err(Error::Input(format!(
                    "column {column} is a {data_type}: ember writes escaped delimited text \
                     (ESCAPED BY) of scalar columns only"
                )))
            }
            DataType::List(element) => {
                scalar_only(element.data_type(), column)?;
                let elements = datafusion::functions_nested::string::array_to_string_udf();
                Expr::ScalarFunction(ScalarFunction::new_udf(
                    elements,
                    vec![value, lit(self.collection.clone()), lit(self.null.clone())],
                ))
            }
            DataType::Struct(fields) => {
                let mut pieces = Vec::new();
                for f in fields.iter() {
                    scalar_only(f.data_type(), column)?;
                    let piece = value.clone().field(f.name());
                    pieces.push(coalesce(vec![
                        scalar_text(piece, f.data_type()),
                        lit(self.null.clone()),
                    ]));
                }
                // A null struct is null, not a row of nulls.
                when(value.is_null(), lit(ScalarValue::Utf8(None)))
                    .otherwise(concat_ws(lit(self.collection.clone()), pieces))?
            }
            DataType::Map(_, _) => {
                return Err(Error::Input(format!(
                    "column {column} is a map: ember writes delimited text tables with arrays \
                     and structs, not yet maps"
                )))
            }
            _ => self.escaped(scalar_text(value, data_type)),
        };
        Ok(coalesce(vec![text, lit(self.null.clone())]))
    }

    /// `text` with the escape written before each escape and field delimiter in it.
    fn escaped(&self, text: Expr) -> Expr {
        match &self.escape {
            Some(escape) => {
                let text = replace(text, lit(escape.clone()), lit(format!("{escape}{escape}")));
                replace(
                    text,
                    lit(self.field.clone()),
                    lit(format!("{escape}{}", self.field)),
                )
            }
            None => text,
        }
    }

    /// A field's pieces at `collection.delim`, pieces equal to the null format null.
    fn pieces(&self, field: Expr) -> Expr {
        string_to_array(field, lit(self.collection.clone()), lit(self.null.clone()))
    }
}

/// A scalar's text as Hive writes it: timestamps as `yyyy-MM-dd HH:mm:ss[.fff]`.
fn scalar_text(value: Expr, data_type: &DataType) -> Expr {
    match data_type {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            to_char(value, lit("%Y-%m-%d %H:%M:%S%.f"))
        }
        _ => cast(value, DataType::Utf8),
    }
}

fn scalar_only(data_type: &DataType, column: &str) -> Result<()> {
    if data_type.is_nested() {
        return Err(nested_error(column));
    }
    Ok(())
}

fn nested_error(column: &str) -> Error {
    Error::Input(format!(
        "column {column} nests arrays, maps or structs inside each other: ember reads and \
         writes delimited text with one level of them only"
    ))
}

/// `text` as a regular expression matching itself.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$-".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}
