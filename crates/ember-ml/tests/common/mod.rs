//! What the tests against scikit-learn share: running the oracle, reading its numbers.

// Each test binary takes what it needs of these.
#![allow(dead_code)]

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Float64Type;
use ember_core::Context;
use ember_ml::feature::VectorAssembler;
use ember_ml::Transformer;
use ember_sql::{col, DataFrame, SqlContextExt};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs the Python `script` with scikit-learn (`scripts/oracles` installs it and names its
/// Python in `EMBER_ORACLE_PYTHON`) on `dir`, where it writes its data; the JSON it printed.
pub fn oracle(script: &str, dir: &Path) -> Value {
    let python = match std::env::var("EMBER_ORACLE_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "this test compares with scikit-learn: run \
             `export EMBER_ORACLE_PYTHON=$(scripts/oracles)` first"
        ),
    };
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "scikit-learn failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A JSON array of numbers.
pub fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The rows of the CSV file `path` (with a header) with columns `features` assembled into
/// `features`.
pub fn assembled_csv(ctx: &Context, path: &Path, features: &[&str]) -> DataFrame {
    let rows = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(path.to_str().unwrap())
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(features)
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

/// The `prediction` column of `model`'s output on `data`, in the order of column `order_by`.
pub fn predictions(model: &impl Transformer, data: &DataFrame, order_by: &str) -> Vec<f64> {
    let scored = model.transform(data).unwrap();
    let scored = scored
        .order_by(vec![col(order_by).sort(true, false)])
        .unwrap();
    scored
        .collect()
        .unwrap()
        .iter()
        .flat_map(|b| {
            b.column_by_name("prediction")
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}
