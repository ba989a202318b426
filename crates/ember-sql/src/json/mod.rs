//! Spark's `from_json(column, schema)`: JSON text parsed into a struct of the columns a schema
//! names, as a DataFrame expression ([`from_json`]) and as the SQL function `from_json`. The
//! schema is Spark's DDL (`"id BIGINT, name STRING, at TIMESTAMP"`) or a Hive struct type
//! (`"struct<id:bigint,name:string>"`). As Spark's default `PERMISSIVE` mode does, text that is
//! not a JSON object of those fields gives a null struct, and a missing field a null.
//!
//! arrow-json's decoder reads any schema. A schema of scalar fields only, the usual one for
//! events, is read by a faster path of its own (`flat`) that gives the same results.

use crate::error::{Error, Result};
use crate::hive::arrow_type;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray, UInt32Array};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::{lit, Expr};
use std::sync::Arc;

mod flat;
mod prune;

pub(crate) use prune::PruneJsonFields;

/// The struct `schema` describes, of each row's JSON text in `json` (Spark's `from_json`).
///
/// ```
/// use datafusion::functions::core::expr_ext::FieldAccessor;
/// use ember_sql::{col, from_json, SqlContextExt};
/// let ctx = ember_core::Context::with_master("local[1]").unwrap();
/// let df = ctx.sql(r#"SELECT '{"id": 7, "name": "ann"}' AS value"#).unwrap();
/// let parsed = df
///     .select(vec![from_json(col("value"), "id BIGINT, name STRING").unwrap().alias("e")])
///     .unwrap();
/// let rows = parsed.select(vec![col("e").field("id"), col("e").field("name")]).unwrap();
/// assert_eq!(rows.tab_rows(false).unwrap(), "7\tann\n");
/// ```
///
/// # Errors
/// `schema` does not parse.
pub fn from_json(json: Expr, schema: &str) -> Result<Expr> {
    struct_fields(schema)?;
    Ok(from_json_udf().call(vec![json, lit(schema)]))
}

/// The SQL function `from_json(text, 'schema')`.
pub(crate) fn from_json_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(FromJson {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

/// The fields of a DDL or struct-type schema.
fn struct_fields(schema: &str) -> Result<Fields> {
    let trimmed = schema.trim();
    let struct_type = if trimmed.to_ascii_lowercase().starts_with("struct<") {
        trimmed.to_string()
    } else {
        format!("struct<{}>", ddl_as_struct_fields(trimmed))
    };
    match arrow_type(&struct_type) {
        Ok(DataType::Struct(fields)) => Ok(fields),
        _ => Err(Error::Input(format!(
            "cannot read the schema {schema:?}: write it as Spark's DDL, such as \
             \"id BIGINT, name STRING, at TIMESTAMP\""
        ))),
    }
}

/// `a INT, b ARRAY<STRING>` as `a:INT,b:ARRAY<STRING>`: each top-level field's name and type
/// joined by a colon.
fn ddl_as_struct_fields(ddl: &str) -> String {
    top_level(ddl)
        .iter()
        .map(|f| {
            let f = f.trim();
            match f.split_once(char::is_whitespace) {
                Some((name, data_type)) => format!("{name}:{}", data_type.trim()),
                None => f.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The comma-separated parts of `list` outside any `<...>` or `(...)`.
fn top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// `schema` (DDL or a struct type) narrowed to its field `name`, as a struct type; `None`
/// when it has no such field or no other.
fn narrowed(schema: &str, name: &str) -> Option<String> {
    let fields = struct_fields(schema).ok()?;
    let (at, _) = fields.find(name)?;
    let trimmed = schema.trim();
    let list = if trimmed.to_ascii_lowercase().starts_with("struct<") {
        trimmed["struct<".len()..trimmed.len() - 1].to_string()
    } else {
        ddl_as_struct_fields(trimmed)
    };
    let parts = top_level(&list);
    (fields.len() > 1 && parts.len() == fields.len())
        .then(|| format!("struct<{}>", parts[at].trim()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FromJson {
    signature: Signature,
}

fn plan_error(message: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Plan(message)
}

fn schema_argument(value: Option<&ScalarValue>) -> datafusion::error::Result<Fields> {
    match value {
        Some(ScalarValue::Utf8(Some(schema))) | Some(ScalarValue::LargeUtf8(Some(schema))) => {
            struct_fields(schema).map_err(|e| plan_error(e.to_string()))
        }
        _ => Err(plan_error(
            "from_json's schema must be a string literal, such as 'id BIGINT, name STRING'".into(),
        )),
    }
}

impl ScalarUDFImpl for FromJson {
    fn name(&self) -> &str {
        "from_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Err(plan_error(
            "from_json's type comes from its schema argument".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> datafusion::error::Result<FieldRef> {
        let fields = schema_argument(args.scalar_arguments.get(1).copied().flatten())?;
        Ok(Arc::new(Field::new(
            "from_json",
            DataType::Struct(fields),
            true,
        )))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let schema = match &args.args[1] {
            ColumnarValue::Scalar(value) => schema_argument(Some(value))?,
            ColumnarValue::Array(_) => schema_argument(None)?,
        };
        let text = args.args[0].to_array(args.number_rows)?;
        let text = cast(&text, &DataType::Utf8)?;
        Ok(ColumnarValue::Array(parse(
            text.as_string::<i32>(),
            schema,
        )?))
    }
}

/// Each string of `text` parsed as a JSON object of `fields`; null where it is null or not
/// such an object.
fn parse(
    text: &datafusion::arrow::array::StringArray,
    fields: Fields,
) -> datafusion::error::Result<ArrayRef> {
    match flat::decode(&fields, text) {
        Some(parsed) => Ok(parsed),
        None => parse_any(text, fields),
    }
}

/// As [`parse`], by arrow-json's decoder, which reads any schema.
fn parse_any(
    text: &datafusion::arrow::array::StringArray,
    fields: Fields,
) -> datafusion::error::Result<ArrayRef> {
    let schema = Arc::new(Schema::new(fields.clone()));
    let present: Vec<usize> = (0..text.len()).filter(|i| text.is_valid(*i)).collect();
    // All at once; if any row is malformed, row by row, so that it alone is null.
    let (parsed, rows) = match decode(&schema, text, &present) {
        Ok(parsed) => (parsed, present),
        Err(_) => {
            let mut good = Vec::new();
            let mut batches = Vec::new();
            for i in present {
                if let Ok(one) = decode(&schema, text, &[i]) {
                    batches.push(one);
                    good.push(i);
                }
            }
            let batch = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
            (batch, good)
        }
    };
    let parsed: StructArray = parsed.into();
    if rows.len() == text.len() {
        return Ok(Arc::new(parsed));
    }
    // Rows of the struct by position of the input; nulls where no object was read.
    let mut index = vec![None; text.len()];
    for (n, row) in rows.iter().enumerate() {
        index[*row] = Some(n as u32);
    }
    let positions = UInt32Array::from(index);
    Ok(take(&parsed, &positions, None)?)
}

/// The objects of `schema` in rows `rows` of `text`, each of which must hold exactly one JSON
/// value. The rows are read straight from the array, one after another.
fn decode(
    schema: &Arc<Schema>,
    text: &datafusion::arrow::array::StringArray,
    rows: &[usize],
) -> datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()?;
    for (n, row) in rows.iter().enumerate() {
        let bytes = text.value(*row).as_bytes();
        let used = decoder.decode(bytes)?;
        if used != bytes.len() || decoder.has_partial_record() || decoder.len() != n + 1 {
            return Err(plan_error(format!("row {row} is not one JSON value")));
        }
    }
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| datafusion::arrow::record_batch::RecordBatch::new_empty(schema.clone())))
}
