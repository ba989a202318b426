//! What the tests against scikit-learn share: running the oracle, reading its numbers.

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
