//! Hive type names, as a metastore stores them in a column's `type` field, read into Arrow.

use crate::error::{Error, Result};
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use std::sync::Arc;

/// The Arrow type of a column of Hive type `hive`, as Spark reads it: integers by width,
/// `string`, `varchar(n)` and `char(n)` as UTF-8, `timestamp` in microseconds,
/// `decimal` as `decimal(10,0)`, `array`, `map` and `struct` with nullable elements.
///
/// ```
/// use ember_sql::{hive::arrow_type, DataType};
/// assert_eq!(arrow_type("DECIMAL(12, 2)").unwrap(), DataType::Decimal128(12, 2));
/// let err = arrow_type("uniontype<int,string>").unwrap_err();
/// assert!(err.to_string().contains("uniontype"), "{err}");
/// ```
///
/// # Errors
/// A name that is not a Hive type, or one Arrow has no match for (`uniontype`, intervals,
/// decimals wider than 38 digits).
pub fn arrow_type(hive: &str) -> Result<DataType> {
    let mut parser = Parser { text: hive, at: 0 };
    let parsed = parser.data_type()?;
    parser.skip_spaces();
    if parser.at < hive.len() {
        return Err(parser.error("expected the end of the type"));
    }
    Ok(parsed)
}

/// A cursor over a type name: each method reads one piece of the grammar.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn error(&self, what: &str) -> Error {
        Error::Input(format!(
            "cannot read the Hive type `{}`: {what} at position {}",
            self.text, self.at
        ))
    }

    /// Consumes `c` (after spaces), or says it was expected.
    fn expect(&mut self, c: char) -> Result<()> {
        if self.accept(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{c}`")))
        }
    }

    /// Whether the next character (after spaces) is `c`; consumes it if so.
    fn accept(&mut self, c: char) -> bool {
        self.skip_spaces();
        let found = self.rest().starts_with(c);
        if found {
            self.at += c.len_utf8();
        }
        found
    }

    /// A word of letters, digits and `_`, or a name in backquotes.
    fn word(&mut self) -> Result<String> {
        self.skip_spaces();
        if let Some(quoted) = self.rest().strip_prefix('`') {
            let end = quoted.find('`').ok_or_else(|| self.error("unclosed `"))?;
            let name = quoted[..end].to_string();
            self.at += end + 2;
            return Ok(name);
        }
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        let word = self.rest()[..len].to_string();
        self.at += len;
        Ok(word)
    }

    fn number(&mut self) -> Result<u8> {
        let word = self.word()?;
        word.parse()
            .map_err(|_| self.error(&format!("expected a number, not `{word}`")))
    }

    /// `(n)` or `(n, m)` after a type name; absent, nothing.
    fn arguments(&mut self) -> Result<Vec<u8>> {
        if !self.accept('(') {
            return Ok(Vec::new());
        }
        let mut numbers = vec![self.number()?];
        while self.accept(',') {
            numbers.push(self.number()?);
        }
        self.expect(')')?;
        Ok(numbers)
    }

    fn data_type(&mut self) -> Result<DataType> {
        let name = self.word()?.to_ascii_lowercase();
        let simple = match name.as_str() {
            "tinyint" => DataType::Int8,
            "smallint" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" => DataType::Int64,
            "float" => DataType::Float32,
            "double" => {
                // Hive also spells it `double precision`.
                let before = self.at;
                if !self
                    .word()
                    .is_ok_and(|w| w.eq_ignore_ascii_case("precision"))
                {
                    self.at = before;
                }
                DataType::Float64
            }
            "boolean" => DataType::Boolean,
            "binary" => DataType::Binary,
            "date" => DataType::Date32,
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "void" => DataType::Null,
            "string" => DataType::Utf8,
            "varchar" | "char" => {
                self.arguments()?;
                DataType::Utf8
            }
            "decimal" | "numeric" => return self.decimal(),
            "array" => return self.array(),
            "map" => return self.map(),
            "struct" => return self.structure(),
            other => {
                return Err(self.error(&format!(
                    "`{other}` is not a type ember reads (tinyint, smallint, int, bigint, \
                     float, double, decimal, boolean, string, varchar, char, binary, date, \
                     timestamp, array, map, struct)"
                )))
            }
        };
        Ok(simple)
    }

    fn decimal(&mut self) -> Result<DataType> {
        let (precision, scale) = match self.arguments()?.as_slice() {
            [] => (10, 0),
            [p] => (*p, 0),
            [p, s] => (*p, *s),
            _ => return Err(self.error("decimal takes a precision and a scale")),
        };
        if precision == 0 || precision > 38 || scale > precision {
            return Err(self.error(&format!(
                "decimal({precision},{scale}) is out of range: the precision is 1 to 38, \
                 the scale at most the precision"
            )));
        }
        Ok(DataType::Decimal128(precision, scale as i8))
    }

    fn array(&mut self) -> Result<DataType> {
        self.expect('<')?;
        let element = self.data_type()?;
        self.expect('>')?;
        Ok(list_of(element))
    }

    fn map(&mut self) -> Result<DataType> {
        self.expect('<')?;
        let key = self.data_type()?;
        self.expect(',')?;
        let value = self.data_type()?;
        self.expect('>')?;
        Ok(map_of(key, value))
    }

    fn structure(&mut self) -> Result<DataType> {
        self.expect('<')?;
        let mut fields = Vec::new();
        if !self.accept('>') {
            loop {
                let name = self.word()?;
                self.expect(':')?;
                fields.push(Field::new(name, self.data_type()?, true));
                if !self.accept(',') {
                    break;
                }
            }
            self.expect('>')?;
        }
        Ok(DataType::Struct(Fields::from(fields)))
    }
}

/// A list of nullable `element`s, named as Parquet's lists name theirs.
fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("element", element, true)))
}

/// A map of `key` to nullable `value`, in the entry layout Parquet's maps read into.
fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    let entries = Field::new("key_value", DataType::Struct(entries), false);
    DataType::Map(Arc::new(entries), false)
}

/// The Arrow type of a Spark `DataType` in its JSON form (how Spark keeps a datasource table's
/// schema in the metastore): `"integer"`, `"decimal(10,2)"`, `{"type": "struct", "fields":
/// [{"name": ..., "type": ..., "nullable": ...}]}`, `{"type": "array", "elementType": ...}`,
/// `{"type": "map", "keyType": ..., "valueType": ...}`.
///
/// # Errors
/// JSON that is not such a type.
pub(crate) fn spark_json_type(json: &serde_json::Value) -> Result<DataType> {
    let bad = || Error::Metastore(format!("cannot read the Spark type {json}"));
    if let Some(name) = json.as_str() {
        // Spark's names for the types Hive names otherwise.
        let hive = match name {
            "byte" => "tinyint",
            "short" => "smallint",
            "integer" => "int",
            "long" => "bigint",
            "timestamp_ntz" => "timestamp",
            other => other,
        };
        return arrow_type(hive);
    }
    let part = |key: &str| json.get(key).ok_or_else(bad).and_then(spark_json_type);
    match json.get("type").and_then(|t| t.as_str()) {
        Some("array") => Ok(list_of(part("elementType")?)),
        Some("map") => Ok(map_of(part("keyType")?, part("valueType")?)),
        Some("struct") => {
            let fields = json
                .get("fields")
                .and_then(|f| f.as_array())
                .ok_or_else(bad)?;
            let fields = fields
                .iter()
                .map(|field| {
                    let name = field.get("name").and_then(|n| n.as_str()).ok_or_else(bad)?;
                    let data_type = field
                        .get("type")
                        .ok_or_else(bad)
                        .and_then(spark_json_type)?;
                    let nullable = field
                        .get("nullable")
                        .and_then(|n| n.as_bool())
                        .unwrap_or(true);
                    Ok(Field::new(name, data_type, nullable))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(DataType::Struct(Fields::from(fields)))
        }
        _ => Err(bad()),
    }
}

/// The Hive type name of a column of Arrow type `data_type`, for a table created from a
/// query's columns (the inverse of [`arrow_type`]).
///
/// # Errors
/// A type Hive has no name for (unsigned integers, intervals, unions).
pub(crate) fn hive_type(data_type: &DataType) -> Result<String> {
    Ok(match data_type {
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Null => "void".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::List(element) | DataType::LargeList(element) => {
            format!("array<{}>", hive_type(element.data_type())?)
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                hive_type(kv[0].data_type())?,
                hive_type(kv[1].data_type())?
            ),
            other => {
                return Err(Error::Input(format!(
                    "a map of entries {other} has no Hive type"
                )))
            }
        },
        DataType::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|f| Ok(format!("{}:{}", f.name(), hive_type(f.data_type())?)))
                .collect::<Result<Vec<_>>>()?;
            format!("struct<{}>", fields.join(","))
        }
        other => {
            return Err(Error::Input(format!(
                "a column of type {other} has no Hive type; cast it (to bigint, string, ...) first"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_types_map_as_sparks_hive_support_reads_them() {
        let cases = [
            ("tinyint", DataType::Int8),
            ("SMALLINT", DataType::Int16),
            ("int", DataType::Int32),
            ("bigint", DataType::Int64),
            ("float", DataType::Float32),
            ("double precision", DataType::Float64),
            ("boolean", DataType::Boolean),
            ("string", DataType::Utf8),
            ("varchar(20)", DataType::Utf8),
            ("char( 3 )", DataType::Utf8),
            ("binary", DataType::Binary),
            ("date", DataType::Date32),
            (
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            ("decimal", DataType::Decimal128(10, 0)),
            ("decimal(7)", DataType::Decimal128(7, 0)),
            ("decimal(38,18)", DataType::Decimal128(38, 18)),
        ];
        for (hive, arrow) in cases {
            assert_eq!(arrow_type(hive).unwrap(), arrow, "{hive}");
        }
    }

    #[test]
    fn nested_types_keep_their_shape_and_names() {
        let parsed = arrow_type("struct<a:int, `b c`:map<string,array<decimal(5,1)>>>").unwrap();
        let DataType::Struct(fields) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name(), "a");
        assert_eq!(fields[0].data_type(), &DataType::Int32);
        assert_eq!(fields[1].name(), "b c");
        let DataType::Map(entries, false) = fields[1].data_type() else {
            panic!("{:?}", fields[1])
        };
        let DataType::Struct(kv) = entries.data_type() else {
            panic!("{entries:?}")
        };
        assert_eq!(kv[0].data_type(), &DataType::Utf8);
        assert_eq!(
            kv[1].data_type(),
            &DataType::List(Arc::new(Field::new(
                "element",
                DataType::Decimal128(5, 1),
                true
            )))
        );
        assert_eq!(
            arrow_type("struct<>").unwrap(),
            DataType::Struct(Fields::empty())
        );
    }

    #[test]
    fn bad_names_are_refused_with_what_was_wrong() {
        for (hive, says) in [
            (
                "uniontype<int,string>",
                "`uniontype` is not a type ember reads",
            ),
            ("array<int", "expected `>`"),
            ("map<string>", "expected `,`"),
            ("decimal(39,2)", "out of range"),
            ("decimal(5,6)", "out of range"),
            ("int int", "expected the end of the type"),
            ("", "expected a name"),
            ("struct<a int>", "expected `:`"),
        ] {
            let err = arrow_type(hive).unwrap_err().to_string();
            assert!(err.contains(says), "{hive}: {err}");
            assert!(err.contains(&format!("`{hive}`")), "{hive}: {err}");
        }
    }

    #[test]
    fn sparks_json_schemas_read_as_hive_names_do() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"type":"struct","fields":[
                {"name":"id","type":"integer","nullable":false,"metadata":{}},
                {"name":"price","type":"decimal(10,2)","nullable":true,"metadata":{}},
                {"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},"nullable":true,"metadata":{}},
                {"name":"attrs","type":{"type":"map","keyType":"string","valueType":"long","valueContainsNull":true},"nullable":true,"metadata":{}}]}"#,
        )
        .unwrap();
        let expected = arrow_type(
            "struct<id:int,price:decimal(10,2),tags:array<string>,attrs:map<string,bigint>>",
        )
        .unwrap();
        let DataType::Struct(expected) = expected else {
            panic!("a struct")
        };
        let DataType::Struct(read) = spark_json_type(&json).unwrap() else {
            panic!("a struct")
        };
        assert!(!read[0].is_nullable());
        for (read, expected) in read.iter().zip(expected.iter()) {
            assert_eq!(read.data_type(), expected.data_type(), "{}", read.name());
        }
        let err = spark_json_type(&serde_json::json!({"type": "udt"})).unwrap_err();
        assert!(
            err.to_string().contains("cannot read the Spark type"),
            "{err}"
        );
    }

    #[test]
    fn arrow_types_name_their_hive_types_back() {
        for hive in [
            "tinyint",
            "int",
            "bigint",
            "double",
            "decimal(12,3)",
            "date",
            "timestamp",
            "array<string>",
            "map<string,array<int>>",
            "struct<a:int,b:string>",
        ] {
            assert_eq!(hive_type(&arrow_type(hive).unwrap()).unwrap(), hive);
        }
        assert!(hive_type(&DataType::UInt32)
            .unwrap_err()
            .to_string()
            .contains("no Hive type"));
    }
}
