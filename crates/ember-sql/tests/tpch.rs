//! The 22 TPC-H queries (`tests/tpch/qNN.sql`, the specification's validation parameters,
//! with tie-breaking sort keys added where its orders leave ties) over data generated here at
//! scale factor 0.01, written as Parquet by ember and read back, against DuckDB on the same
//! files (`tests/tpch/duckdb_oracle.py`, DuckDB from PyPI: `scripts/oracles` installs it and
//! names its Python in `EMBER_ORACLE_PYTHON`; `scripts/test` does both).
//!
//! Rows must match in order; numbers within a relative 1e-6 (decimal and floating-point
//! averages round differently), everything else exactly.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf};
use ember_sql::{RecordBatch, SqlContextExt};
use std::path::{Path, PathBuf};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

const SCALE: f64 = 0.01;

fn batches<I, E>(generator: I) -> Vec<RecordBatch>
where
    I: Iterator<Item = Result<RecordBatch, E>>,
    E: std::fmt::Debug,
{
    generator.map(|b| b.expect("a generated batch")).collect()
}

/// Every table of scale factor [`SCALE`], by name.
fn tables() -> Vec<(&'static str, Vec<RecordBatch>)> {
    vec![
        (
            "region",
            batches(RegionArrow::new(RegionGenerator::new(SCALE, 1, 1))),
        ),
        (
            "nation",
            batches(NationArrow::new(NationGenerator::new(SCALE, 1, 1))),
        ),
        (
            "supplier",
            batches(SupplierArrow::new(SupplierGenerator::new(SCALE, 1, 1))),
        ),
        (
            "part",
            batches(PartArrow::new(PartGenerator::new(SCALE, 1, 1))),
        ),
        (
            "partsupp",
            batches(PartSuppArrow::new(PartSuppGenerator::new(SCALE, 1, 1))),
        ),
        (
            "customer",
            batches(CustomerArrow::new(CustomerGenerator::new(SCALE, 1, 1))),
        ),
        (
            "orders",
            batches(OrderArrow::new(OrderGenerator::new(SCALE, 1, 1))),
        ),
        (
            "lineitem",
            batches(LineItemArrow::new(LineItemGenerator::new(SCALE, 1, 1))),
        ),
    ]
}

fn queries() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tpch");
    let mut queries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    queries.sort();
    queries
}

/// DuckDB's rows of every query, as files `<out>/qNN.tsv`.
fn run_oracle(data: &Path, out: &Path, queries: &[PathBuf]) {
    let python = std::env::var("EMBER_ORACLE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "this test compares ember with DuckDB: run `export EMBER_ORACLE_PYTHON=$(scripts/oracles)` \
             first (scripts/test does)"
        )
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tpch/duckdb_oracle.py");
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(data)
        .arg(out)
        .args(queries)
        .status()
        .expect("the oracle's Python runs");
    assert!(status.success(), "DuckDB failed");
}

fn same_cell(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// Where `ours` and `theirs` first differ, if they do.
fn difference(ours: &str, theirs: &str) -> Option<String> {
    let ours: Vec<&str> = ours.lines().collect();
    let theirs: Vec<&str> = theirs.lines().collect();
    if ours.len() != theirs.len() {
        return Some(format!("{} rows, DuckDB {}", ours.len(), theirs.len()));
    }
    ours.iter()
        .zip(&theirs)
        .enumerate()
        .find_map(|(i, (o, t))| {
            let (oc, tc): (Vec<&str>, Vec<&str>) =
                (o.split('\t').collect(), t.split('\t').collect());
            let same = oc.len() == tc.len() && oc.iter().zip(&tc).all(|(a, b)| same_cell(a, b));
            (!same).then(|| format!("row {i}: ember {o:?}, DuckDB {t:?}"))
        })
}

fn conf(master: &str) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
}

#[test]
fn the_22_tpch_queries_agree_with_duckdb() {
    let ctx = Context::new(conf("local[2]")).unwrap();
    check_tpch(&ctx);
}

/// The same queries cut into stages, their tasks run by two executor processes.
#[test]
fn the_22_tpch_queries_agree_with_duckdb_as_stages_on_executors() {
    let ctx = Context::new(conf("local-cluster[2,1,1024]")).unwrap();
    check_tpch(&ctx);
    let summaries = ctx.job_summaries();
    let staged = summaries.iter().filter(|s| s.stages > 1).count();
    assert!(
        staged >= 20,
        "{staged} jobs of more than one stage: {summaries:?}"
    );
}

/// The same queries as stages under local[2] with every equi-join a sort-merge join.
#[test]
fn the_22_tpch_queries_agree_with_duckdb_with_sort_merge_joins() {
    let ctx = Context::new(
        conf("local[2]")
            .set(ember_sql::DISTRIBUTED.key, "true")
            .set(ember_sql::PREFER_SORT_MERGE_JOIN.key, "true"),
    )
    .unwrap();
    check_tpch(&ctx);
}

/// Writes the tables, asks DuckDB, and compares every query's rows.
fn check_tpch(ctx: &Context) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (name, batches) in tables() {
        let path = data.join(name);
        let path = path.to_str().unwrap();
        ctx.create_data_frame(batches)
            .unwrap()
            .write()
            .parquet(path)
            .unwrap();
        ctx.read()
            .parquet(path)
            .unwrap()
            .create_or_replace_temp_view(name)
            .unwrap();
    }
    let queries = queries();
    assert_eq!(queries.len(), 22);
    let expected = dir.path().join("duckdb");
    std::fs::create_dir(&expected).unwrap();
    run_oracle(&data, &expected, &queries);
    let mut failures = Vec::new();
    for query in &queries {
        let name = query.file_stem().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(query).unwrap();
        let ours = match ctx.sql(&text).and_then(|df| df.tab_rows(false)) {
            Ok(rows) => rows,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let theirs = std::fs::read_to_string(expected.join(format!("{name}.tsv"))).unwrap();
        assert!(!theirs.is_empty(), "{name}: DuckDB found no rows");
        println!("{name}: {} rows", theirs.lines().count());
        if let Some(why) = difference(&ours, &theirs) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
