//! DataFrames on the real servers: CSV read, Parquet, ORC and text written to and read back from
//! HDFS and S3 (moto) through ember's object stores, with the commit protocol's `_SUCCESS` and
//! save modes, checked against plain Rust sums.

use ember_integration::{context, create_bucket, ember_bin, hadoop_conf, names_under, put, unique};
use ember_sql::{col, sum, SaveMode, SqlContextExt};

/// `n,n mod 7` lines with a header: the DataFrame's rows.
fn numbers_csv(n: i64) -> String {
    let mut text = String::from("n,bucket\n");
    for i in 0..n {
        text += &format!("{i},{}\n", i % 7);
    }
    text
}

/// Reads the CSV at `csv`, writes it as Parquet under `out` twice (the second time appending),
/// and checks what comes back.
fn round_trip(csv: &str, out: &str) {
    let ctx = context("local[2]", &[]);
    let rows = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(csv)
        .unwrap();
    assert_eq!(rows.count().unwrap(), 1000);
    rows.write().parquet(out).unwrap();
    let names = names_under(out);
    assert!(names.contains(&"_SUCCESS".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("_temporary")),
        "{names:?}"
    );
    let refused = rows.write().parquet(out).unwrap_err();
    assert!(refused.to_string().contains("exists already"), "{refused}");
    rows.write().mode(SaveMode::Append).parquet(out).unwrap();
    let back = ctx.read().parquet(out).unwrap();
    assert_eq!(back.count().unwrap(), 2000);
    let total = back
        .group_by(vec![])
        .agg(vec![sum(col("n")).alias("total")])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let want: i64 = 2 * (0..1000).sum::<i64>();
    assert_eq!(total, format!("{want}\n"));
    orc_and_text_round_trip(&ctx, &rows, out);
}

/// ORC and text written beside `out` from `rows` and read back: counts and sums equal Rust's.
fn orc_and_text_round_trip(ctx: &ember_core::Context, rows: &ember_sql::DataFrame, out: &str) {
    let orc = format!("{out}-orc");
    rows.write().orc(&orc).unwrap();
    assert!(names_under(&orc).contains(&"_SUCCESS".to_string()));
    ctx.read()
        .orc(&orc)
        .unwrap()
        .create_or_replace_temp_view("orc_numbers")
        .unwrap();
    let orc_sums = ctx
        .sql("SELECT count(*), sum(n), sum(bucket) FROM orc_numbers")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let buckets: i64 = (0..1000).map(|n| n % 7).sum();
    let total: i64 = (0..1000).sum();
    assert_eq!(orc_sums, format!("1000\t{total}\t{buckets}\n"));
    let text = format!("{out}-text");
    ctx.sql("SELECT CAST(n AS VARCHAR) AS value FROM orc_numbers")
        .unwrap()
        .write()
        .text(&text)
        .unwrap();
    let lines = ctx.read().text(&text).unwrap().tab_rows(false).unwrap();
    let mut read: Vec<i64> = lines.lines().map(|l| l.parse().unwrap()).collect();
    read.sort_unstable();
    assert_eq!(read, (0..1000).collect::<Vec<i64>>());
}

#[test]
fn dataframes_read_and_write_hdfs() {
    let base = format!(
        "{}/ember-it/{}",
        hadoop_conf().default_fs().trim_end_matches('/'),
        unique("sql")
    );
    let csv = format!("{base}/numbers.csv");
    put(&csv, numbers_csv(1000));
    round_trip(&csv, &format!("{base}/parquet"));
}

#[test]
fn dataframes_read_and_write_s3() {
    create_bucket("ember-sql");
    let base = format!("s3a://ember-sql/{}", unique("sql"));
    let csv = format!("{base}/numbers.csv");
    put(&csv, numbers_csv(1000));
    round_trip(&csv, &format!("{base}/parquet"));
}

/// `ember sql --master yarn`: a yarn-client session. The shell is the driver; its executors
/// are YARN containers that read the CSV from HDFS; the rows equal a plain Rust computation
/// and the application ends FINISHED/SUCCEEDED.
#[test]
fn ember_sql_on_yarn_runs_its_queries_in_containers() {
    let base = format!(
        "{}/ember-it/{}",
        hadoop_conf().default_fs().trim_end_matches('/'),
        unique("sql-yarn")
    );
    let csv = format!("{base}/numbers.csv");
    put(&csv, numbers_csv(1000));
    let statements = format!(
        "CREATE TEMPORARY VIEW numbers USING csv OPTIONS (path '{csv}', header 'true', \
         inferSchema 'true'); \
         SELECT bucket, count(*), sum(n) FROM numbers GROUP BY bucket ORDER BY bucket"
    );
    let output = std::process::Command::new(ember_bin())
        .args(["sql", "--master", "yarn", "--num-executors", "2"])
        .args(["--executor-memory", "512m", "-e", &statements])
        .env_remove("EMBER_LOG")
        .output()
        .expect("ember sql runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let want: String = (0..7)
        .map(|b| {
            let ns: Vec<i64> = (0..1000).filter(|n| n % 7 == b).collect();
            format!("{b}\t{}\t{}\n", ns.len(), ns.iter().sum::<i64>())
        })
        .collect();
    assert_eq!(String::from_utf8_lossy(&output.stdout), want);
    assert!(stderr.contains("Submitted application"), "{stderr}");
    for executor in ["registered executor 1", "registered executor 2"] {
        assert!(stderr.contains(executor), "{executor}: {stderr}");
    }
    assert!(stderr.contains("(state: FINISHED)"), "{stderr}");
    assert!(stderr.contains("final status: SUCCEEDED"), "{stderr}");
}
