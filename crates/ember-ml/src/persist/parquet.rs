//! Model data as Parquet that Spark reads back as its own.
//!
//! Spark does not take a Parquet file's columns for what they are: it reads the Spark schema
//! kept in the file's footer under `org.apache.spark.sql.parquet.row.metadata`, and only there
//! learns that a struct of `type`, `size`, `indices` and `values` is a `VectorUDT`. Its model
//! readers match vectors and matrices, so a file without that schema fails to load. The writer
//! here puts the schema ([`spark_schema_json`]) and `org.apache.spark.version` in the footer,
//! and leaves out Arrow's own schema entry, which Spark does not read. Columns are written as
//! Spark writes them: lists in the standard three-level form with elements named `element`,
//! bytes as `INT32 (INT(8))`, snappy compression.

use crate::linalg::{is_matrix_type, is_vector_type};
use crate::{Error, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::arrow_writer::{ArrowWriter, ArrowWriterOptions};
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use serde_json::{json, Value};

/// The footer key of the Spark schema.
pub const SPARK_SCHEMA_KEY: &str = "org.apache.spark.sql.parquet.row.metadata";
/// The footer key of the Spark version that wrote the file.
pub const SPARK_VERSION_KEY: &str = "org.apache.spark.version";

/// `batch` as the bytes of a Parquet file Spark reads with its vectors and matrices.
///
/// # Errors
/// A column of a type Spark has no name for.
pub fn to_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let schema = spark_schema_json(batch.schema_ref())?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![
            KeyValue::new(
                SPARK_VERSION_KEY.to_string(),
                super::SPARK_VERSION.to_string(),
            ),
            KeyValue::new(SPARK_SCHEMA_KEY.to_string(), schema.to_string()),
        ]))
        .build();
    let options = ArrowWriterOptions::new()
        .with_properties(properties)
        .with_skip_arrow_metadata(true);
    let mut bytes = Vec::new();
    let fail = |e: datafusion::parquet::errors::ParquetError| {
        Error::Input(format!("cannot write model data as Parquet: {e}"))
    };
    let mut writer =
        ArrowWriter::try_new_with_options(&mut bytes, batch.schema(), options).map_err(fail)?;
    writer.write(batch).map_err(fail)?;
    writer.close().map_err(fail)?;
    Ok(bytes)
}

/// The rows of the Parquet file `bytes` (read from `path`).
///
/// # Errors
/// The bytes are not a Parquet file.
pub fn from_bytes(path: &str, bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Input(format!("{path} is not a Parquet file of model data: {e}"))
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| fail(&e))?
        .build()
        .map_err(|e| fail(&e))?;
    reader.map(|b| b.map_err(|e| fail(&e))).collect()
}

/// `schema` as Spark's JSON of a `StructType`, vector and matrix columns as their UDTs.
///
/// # Errors
/// A column of a type Spark has no name for.
pub fn spark_schema_json(schema: &Schema) -> Result<Value> {
    let fields: Vec<Value> = schema
        .fields()
        .iter()
        .map(|f| spark_field(f))
        .collect::<Result<_>>()?;
    Ok(json!({"type": "struct", "fields": fields}))
}

fn spark_field(field: &Field) -> Result<Value> {
    Ok(json!({
        "name": field.name(),
        "type": spark_type(field.name(), field.data_type())?,
        "nullable": field.is_nullable(),
        "metadata": {},
    }))
}

fn spark_type(name: &str, data_type: &DataType) -> Result<Value> {
    let udt = |class: &str, py_class: &str| -> Result<Value> {
        let DataType::Struct(fields) = data_type else {
            unreachable!("vectors and matrices are structs")
        };
        let fields: Vec<Value> = fields
            .iter()
            .map(|f| spark_field(f))
            .collect::<Result<_>>()?;
        Ok(json!({
            "type": "udt",
            "class": class,
            "pyClass": py_class,
            "sqlType": {"type": "struct", "fields": fields},
        }))
    };
    if is_vector_type(data_type) {
        return udt(
            "org.apache.spark.ml.linalg.VectorUDT",
            "pyspark.ml.linalg.VectorUDT",
        );
    }
    if is_matrix_type(data_type) {
        return udt(
            "org.apache.spark.ml.linalg.MatrixUDT",
            "pyspark.ml.linalg.MatrixUDT",
        );
    }
    Ok(match data_type {
        DataType::Boolean => json!("boolean"),
        DataType::Int8 => json!("byte"),
        DataType::Int16 => json!("short"),
        DataType::Int32 => json!("integer"),
        DataType::Int64 => json!("long"),
        DataType::Float32 => json!("float"),
        DataType::Float64 => json!("double"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => json!("string"),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => json!("binary"),
        DataType::List(item) | DataType::LargeList(item) => json!({
            "type": "array",
            "elementType": spark_type(name, item.data_type())?,
            "containsNull": item.is_nullable(),
        }),
        DataType::Struct(fields) => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| spark_field(f))
                .collect::<Result<_>>()?;
            json!({"type": "struct", "fields": fields})
        }
        other => {
            return Err(Error::Input(format!(
                "column {name} of type {other} has no Spark type to be saved as"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{vector_field, vectors_to_array, VectorColumn, Vectors};
    use datafusion::arrow::array::{ArrayRef, Int32Array};
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    use std::sync::Arc;

    #[test]
    fn vector_columns_carry_sparks_udt_in_the_footer_and_read_back() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("clusterIdx", DataType::Int32, false),
            vector_field("clusterCenter", true),
        ]));
        let centers = vec![
            Some(Vectors::dense(vec![1.0, 2.0])),
            Some(Vectors::sparse(2, vec![1], vec![5.0]).unwrap()),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![0, 1])),
            vectors_to_array(&centers),
        ];
        let batch = RecordBatch::try_new(schema, columns).unwrap();
        let bytes = to_bytes(&batch).unwrap();

        let footer = SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap();
        let kv = footer
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        let keys: Vec<&str> = kv.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, [SPARK_VERSION_KEY, SPARK_SCHEMA_KEY]);
        let spark: Value = serde_json::from_str(kv[1].value.as_deref().unwrap()).unwrap();
        assert_eq!(
            spark["fields"][0],
            json!({"name": "clusterIdx", "type": "integer", "nullable": false, "metadata": {}})
        );
        let udt = &spark["fields"][1]["type"];
        assert_eq!(udt["class"], "org.apache.spark.ml.linalg.VectorUDT");
        assert_eq!(udt["pyClass"], "pyspark.ml.linalg.VectorUDT");
        assert_eq!(
            udt["sqlType"]["fields"][0],
            json!({"name": "type", "type": "byte", "nullable": false, "metadata": {}})
        );
        assert_eq!(
            udt["sqlType"]["fields"][2]["type"],
            json!({"type": "array", "elementType": "integer", "containsNull": false})
        );
        // Spark's physical layout: a byte as INT32 (INT(8)), lists of `element`.
        let parquet_schema = footer.metadata().file_metadata().schema_descr();
        let paths: Vec<String> = parquet_schema
            .columns()
            .iter()
            .map(|c| c.path().string())
            .collect();
        assert!(
            paths.contains(&"clusterCenter.indices.list.element".to_string()),
            "{paths:?}"
        );

        let back = from_bytes("x", bytes).unwrap();
        let column = VectorColumn::new("clusterCenter", back[0].column(1)).unwrap();
        assert_eq!(column.to_vec().unwrap(), centers);
    }

    #[test]
    fn a_file_that_is_not_parquet_is_named() {
        let err = from_bytes("/m/data/part-0", b"not parquet".to_vec())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/m/data/part-0 is not a Parquet file of model data"),
            "{err}"
        );
    }
}
