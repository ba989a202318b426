//! Structured Streaming's file sink against Apache Spark's (pip pyspark, the metastore's venv):
//! Spark reads what ember's sink committed, and not the files of a batch that failed before its
//! entry in `_spark_metadata`; ember reads what Spark's sink committed the same way.

use ember_integration::context;
use ember_sql::streaming::Trigger;
use ember_sql::{DataType, Field, Schema, SqlContextExt};
use std::path::Path;

/// Runs integration/streaming/spark_file_sink.py with `args`; what it printed.
fn spark(args: &[&str]) -> String {
    let python = std::env::var("EMBER_SPARK_PYTHON")
        .expect("EMBER_SPARK_PYTHON is not set: eval \"$(scripts/metastore env)\"");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/streaming/spark_file_sink.py");
    let run = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .output()
        .expect("Spark's Python runs");
    assert!(
        run.status.success(),
        "Spark failed to {args:?}:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap().trim().to_string()
}

/// JSON files `0.json` .. of 1,000 rows each (ids from 0) in `dir`.
fn write_json(dir: &Path, files: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for n in 0..files {
        let lines: String = (0..1000)
            .map(|i| format!("{{\"id\": {}, \"word\": \"w{}\"}}\n", n * 1000 + i, i % 13))
            .collect();
        std::fs::write(dir.join(format!("{n}.json")), lines).unwrap();
    }
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// rows=<count> sum=<sum of ids 0..n>.
fn expected(n: u64) -> String {
    format!("rows={n} sum={}", (0..n).sum::<u64>())
}

#[test]
fn spark_reads_only_the_files_embers_sink_committed_and_ember_reads_sparks() {
    // Not a hidden name (Spark leaves out paths under `.` and `_` directories).
    let dir = tempfile::Builder::new()
        .prefix("file-sink")
        .tempdir()
        .unwrap();
    let (input, out, checkpoint) = (
        dir.path().join("in"),
        dir.path().join("out"),
        dir.path().join("checkpoint"),
    );
    write_json(&input, 4);
    let ctx = context("local[2]", &[]);
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("word", DataType::Utf8, false),
    ]);
    let run = || {
        let query = ctx
            .read_stream()
            .schema(schema.clone())
            .option("maxFilesPerTrigger", "1")
            .json(&url(&input))
            .unwrap()
            .write_stream()
            .format("parquet")
            .option("path", &url(&out))
            .option("checkpointLocation", &url(&checkpoint))
            .trigger(Trigger::AvailableNow)
            .start()
            .unwrap();
        query.await_termination().unwrap();
    };
    run();
    assert_eq!(spark(&["read", &url(&out)]), expected(4000));
    // Batch 3 wrote its files but died before its log entry: redone on restart, its first
    // files stay on disk, unlisted. Spark must not read them.
    std::fs::remove_file(checkpoint.join("commits/3")).unwrap();
    std::fs::remove_file(out.join("_spark_metadata/3")).unwrap();
    write_json(&input, 5);
    run();
    let parquet_files = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert_eq!(parquet_files, 6, "five batches, one of them written twice");
    assert_eq!(spark(&["read", &url(&out)]), expected(5000));
    // The other way: Spark's sink, read by ember.
    let (spark_out, spark_checkpoint) = (dir.path().join("spark-out"), dir.path().join("spark-cp"));
    spark(&[
        "write",
        &url(&input),
        &url(&spark_out),
        &url(&spark_checkpoint),
    ]);
    // A file Spark's log does not list, as a failed batch of Spark's would leave.
    let stray = out
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    std::fs::copy(
        stray,
        spark_out.join("part-99999-not-committed.snappy.parquet"),
    )
    .unwrap();
    let read = ctx.read().parquet(&url(&spark_out)).unwrap();
    read.create_or_replace_temp_view("spark_written").unwrap();
    let got = ctx
        .sql("SELECT count(*), sum(id) FROM spark_written")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(got, format!("5000\t{}\n", (0..5000u64).sum::<u64>()));
}
