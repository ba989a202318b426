//! Queries cut into stages and run by executor processes (`local-cluster`): the rows equal a
//! plain Rust computation, user functions run inside the executors, writes are committed from
//! tasks, and failures come back as clear errors.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf, Fn};
use ember_sql::{col, RddDataFrameExt, SaveMode, SqlContextExt};
use std::collections::BTreeMap;
use std::path::Path;

fn cluster() -> Context {
    Context::new(
        EmberConf::empty()
            .set_master("local-cluster[2,1,512]")
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .unwrap()
}

/// Rows `(x, x % 7)` for `x` in `1..=n`, written as Parquet in three appended parts so that
/// scans have several files.
fn write_numbers(ctx: &Context, path: &str, n: i64) {
    for part in 0..3 {
        let (from, to) = (1 + part * n / 3, (part + 1) * n / 3);
        let query = format!("SELECT x, x % 7 AS k FROM generate_series({from}, {to}) AS t(x)");
        let df = ctx.sql(&query).unwrap();
        df.write().mode(SaveMode::Append).parquet(path).unwrap();
    }
}

/// `k`, the number of rows and the sum of `x`, by `k`, as tab-separated lines.
fn expected_groups(n: i64) -> String {
    let mut groups = BTreeMap::<i64, (i64, i64)>::new();
    for x in 1..=n {
        let g = groups.entry(x % 7).or_default();
        g.0 += 1;
        g.1 += x;
    }
    groups
        .iter()
        .map(|(k, (c, s))| format!("{k}\t{c}\t{s}\n"))
        .collect()
}

/// [`write_numbers`] into a new directory, read back as the view `numbers`; the directory
/// lives as long as the returned handle.
fn numbers_view(ctx: &Context, n: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = path_of(dir.path(), "numbers");
    write_numbers(ctx, &path, n);
    ctx.read()
        .parquet(&path)
        .unwrap()
        .create_or_replace_temp_view("numbers")
        .unwrap();
    dir
}

fn path_of(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn an_aggregation_runs_as_stages_on_executors() {
    let ctx = cluster();
    let _dir = numbers_view(&ctx, 300_000);
    let before = ctx.job_summaries().len();
    let rows = ctx
        .sql("SELECT k, count(*), sum(x) FROM numbers GROUP BY k ORDER BY k")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(rows, expected_groups(300_000));
    let jobs = &ctx.job_summaries()[before..];
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    // Scan and partial aggregation, final aggregation and sort, merge.
    assert_eq!(jobs[0].stages, 3, "{}", jobs[0]);
    assert!(jobs[0].metrics.shuffle_bytes_written > 0, "{}", jobs[0]);
}

#[test]
fn user_functions_run_inside_the_executors() {
    let ctx = cluster();
    ctx.register_udf("square", Fn!(|x: i64| x * x));
    ctx.register_udf2("where_run", Fn!(|_: i64, _: i64| std::process::id() as i64));
    let sum = ctx
        .sql("SELECT sum(square(x)) FROM generate_series(1, 1000) AS t(x)")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let squares: i64 = (1..=1000i64).map(|x| x * x).sum();
    assert_eq!(sum, format!("{squares}\n"));
    let processes = ctx
        .sql("SELECT DISTINCT where_run(x, 0) FROM generate_series(1, 1000) AS t(x)")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let processes: Vec<&str> = processes.lines().collect();
    assert!(!processes.is_empty());
    let here = std::process::id().to_string();
    assert!(
        processes.iter().all(|p| *p != here),
        "ran in the driver ({here}): {processes:?}"
    );
}

#[test]
fn partitioned_writes_are_committed_from_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let (numbers, out) = (path_of(dir.path(), "numbers"), path_of(dir.path(), "out"));
    let ctx = cluster();
    write_numbers(&ctx, &numbers, 30_000);
    ctx.read()
        .parquet(&numbers)
        .unwrap()
        .write()
        .partition_by(&["k"])
        .parquet(&out)
        .unwrap();
    assert_committed_by_k(&out);
    assert_eq!(
        by_k(ctx.read().parquet(&out).unwrap()),
        expected_groups(30_000)
    );
}

/// `out` was committed as one directory per value of `k`.
fn assert_committed_by_k(out: &str) {
    assert!(Path::new(out).join("_SUCCESS").exists());
    assert!(Path::new(out).join("k=3").is_dir());
    assert!(!Path::new(out).join("_temporary").exists());
}

/// As [`expected_groups`], computed from `df`'s columns `x` and `k`.
fn by_k(df: ember_sql::DataFrame) -> String {
    df.group_by(vec![col("k")])
        .agg(vec![ember_sql::count(col("x")), ember_sql::sum(col("x"))])
        .unwrap()
        .order_by(vec![col("k").sort(true, true)])
        .unwrap()
        .tab_rows(false)
        .unwrap()
}

#[test]
fn a_failing_task_fails_the_query_with_the_reason_and_the_session_goes_on() {
    let ctx = cluster();
    let err = ctx
        .sql("SELECT CAST(concat('x', CAST(x AS VARCHAR)) AS INT) FROM generate_series(1, 10) AS t(x)")
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    assert!(err.contains("Cannot cast string 'x1'"), "{err}");
    let ok = ctx
        .sql("SELECT count(*) FROM generate_series(1, 10)")
        .unwrap();
    assert_eq!(ok.tab_rows(false).unwrap(), "10\n");
}

#[test]
fn scalar_subqueries_and_anti_joins_agree_with_rust() {
    let ctx = cluster();
    let _dir = numbers_view(&ctx, 3_000);
    let above_average = ctx
        .sql("SELECT count(*) FROM numbers WHERE x > (SELECT avg(x) FROM numbers)")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(above_average, "1500\n");
    let unmatched = ctx
        .sql(
            "SELECT count(*) FROM numbers a \
             WHERE NOT EXISTS (SELECT 1 FROM numbers b WHERE b.x = a.x * 2)",
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(
        unmatched,
        format!("{}\n", (1..=3000).filter(|x| x * 2 > 3000).count())
    );
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct WordCount {
    word: String,
    count: i64,
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, PartialOrd)]
struct LengthTotal {
    length: i64,
    words: i64,
    total: i64,
}

/// An RDD with a shuffle in its lineage becomes a DataFrame, SQL aggregates it, and the result
/// comes back as an RDD of records, on executors and on local[2] alike; all equal to Rust.
#[test]
fn rdds_and_data_frames_convert_both_ways() {
    let words: Vec<String> = (0..5000).map(|i| format!("w{}", i % 113)).collect();
    let mut want = BTreeMap::<i64, (i64, i64)>::new();
    let mut counts = BTreeMap::<String, i64>::new();
    for w in &words {
        *counts.entry(w.clone()).or_default() += 1;
    }
    for (w, c) in &counts {
        let e = want.entry(w.len() as i64).or_default();
        e.0 += 1;
        e.1 += c;
    }
    let want: Vec<LengthTotal> = want
        .into_iter()
        .map(|(length, (words, total))| LengthTotal {
            length,
            words,
            total,
        })
        .collect();
    for ctx in [cluster(), Context::with_master("local[2]").unwrap()] {
        let counted = ctx
            .parallelize(words.clone(), 4)
            .map(Fn!(|w: String| (w, 1i64)))
            .reduce_by_key(Fn!(|a: i64, b: i64| a + b))
            .map(Fn!(|(word, count): (String, i64)| WordCount {
                word,
                count
            }));
        counted
            .to_data_frame()
            .unwrap()
            .create_or_replace_temp_view("counts")
            .unwrap();
        let totals = ctx
            .sql(
                "SELECT CAST(length(word) AS BIGINT) AS length, count(*) AS words, \
                 sum(count) AS total FROM counts GROUP BY length(word) ORDER BY length",
            )
            .unwrap();
        let mut got = totals.to_rdd::<LengthTotal>().unwrap().collect().unwrap();
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(got, want, "{:?}", ctx.master());
    }
}

#[test]
fn an_rdd_joins_tables_of_the_drivers_memory_and_its_information_schema() {
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let words: Vec<WordCount> = (0..300)
        .map(|i| WordCount {
            word: format!("w{}", i % 30),
            count: i,
        })
        .collect();
    // Words w0..w9 have a weight, in a table held in the driver's memory.
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("word", DataType::Utf8, false),
        Field::new("weight", DataType::Int64, false),
    ]));
    let weights = RecordBatch::try_new(
        schema,
        vec![
            std::sync::Arc::new(StringArray::from_iter_values(
                (0..10).map(|i| format!("w{i}")),
            )),
            std::sync::Arc::new(Int64Array::from_iter_values(1..=10)),
        ],
    )
    .unwrap();
    let want: i64 = words
        .iter()
        .filter_map(|w| {
            let i: i64 = w.word[1..].parse().unwrap();
            (i < 10).then_some(w.count * (i + 1))
        })
        .sum();
    for ctx in [cluster(), Context::with_master("local[2]").unwrap()] {
        let rdd = ctx.parallelize(words.clone(), 3);
        rdd.to_data_frame()
            .unwrap()
            .create_or_replace_temp_view("words")
            .unwrap();
        ctx.create_data_frame(vec![weights.clone()])
            .unwrap()
            .create_or_replace_temp_view("weights")
            .unwrap();
        let got = ctx
            .sql("SELECT sum(count * weight) FROM words JOIN weights USING (word)")
            .unwrap()
            .tab_rows(false)
            .unwrap();
        assert_eq!(got, format!("{want}\n"), "{:?}", ctx.master());
        // The information schema cannot leave the driver: the RDD's rows come to it.
        let named = ctx
            .sql(
                "SELECT count(*) FROM words JOIN information_schema.tables t \
                 ON words.word = t.table_name OR words.word = 'w3'",
            )
            .unwrap()
            .tab_rows(false)
            .unwrap();
        let tables: usize = ctx
            .sql("SELECT count(*) FROM information_schema.tables")
            .unwrap()
            .tab_rows(false)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(named, format!("{}\n", 10 * tables), "{:?}", ctx.master());
    }
}

#[test]
fn a_record_type_without_columns_is_refused_with_the_reason() {
    let ctx = Context::with_master("local[1]").unwrap();
    let err = ctx
        .parallelize(vec![1i64, 2], 1)
        .to_data_frame()
        .unwrap_err();
    assert!(err.to_string().contains("use a struct"), "{err}");
}

/// The ember jobs `run` starts, with at least one stage each: proof that it ran as stages
/// rather than on the driver's threads.
fn jobs_of(ctx: &Context, run: impl FnOnce()) -> Vec<String> {
    let before = ctx.job_summaries().len();
    run();
    let jobs = ctx.job_summaries()[before..].to_vec();
    assert!(!jobs.is_empty(), "ran on the driver");
    assert!(jobs.iter().all(|j| j.stages >= 1));
    jobs.iter().map(ToString::to_string).collect()
}

#[test]
fn orc_is_written_from_tasks_and_read_as_stages() {
    let dir = tempfile::tempdir().unwrap();
    let (numbers, out) = (path_of(dir.path(), "numbers"), path_of(dir.path(), "orc"));
    let ctx = cluster();
    write_numbers(&ctx, &numbers, 30_000);
    let numbers = ctx.read().parquet(&numbers).unwrap();
    let written = jobs_of(&ctx, || {
        numbers.write().partition_by(&["k"]).orc(&out).unwrap();
    });
    assert_eq!(written.len(), 1, "{written:?}");
    assert_committed_by_k(&out);
    let mut back = String::new();
    let read = jobs_of(&ctx, || back = by_k(ctx.read().orc(&out).unwrap()));
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(back, expected_groups(30_000));
    // Files written without partitions, scanned in byte ranges by several tasks.
    let flat = path_of(dir.path(), "flat");
    numbers.write().orc(&flat).unwrap();
    ctx.read()
        .orc(&flat)
        .unwrap()
        .create_or_replace_temp_view("flat")
        .unwrap();
    let rows = ctx
        .sql("SELECT k, count(*), sum(x) FROM flat GROUP BY k ORDER BY k")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(rows, expected_groups(30_000));
}

#[test]
fn text_is_read_in_tasks_and_written_from_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    let words: Vec<String> = (0..20_000).map(|i| format!("w{}", i * 7 % 31)).collect();
    std::fs::write(&input, words.join("\n")).unwrap();
    let mut want = BTreeMap::<String, usize>::new();
    for line in std::fs::read_to_string(&input).unwrap().lines() {
        *want.entry(line.to_string()).or_default() += 1;
    }
    let want: String = want.iter().map(|(w, c)| format!("{w}\t{c}\n")).collect();
    let ctx = cluster();
    ctx.read()
        .text(input.to_str().unwrap())
        .unwrap()
        .create_or_replace_temp_view("words")
        .unwrap();
    let mut got = String::new();
    jobs_of(&ctx, || {
        got = ctx
            .sql("SELECT value, count(*) FROM words GROUP BY value ORDER BY value")
            .unwrap()
            .tab_rows(false)
            .unwrap();
    });
    assert_eq!(got, want);
    let out = path_of(dir.path(), "out");
    jobs_of(&ctx, || {
        ctx.sql("SELECT upper(value) AS value FROM words")
            .unwrap()
            .write()
            .text(&out)
            .unwrap();
    });
    assert!(Path::new(&out).join("_SUCCESS").exists());
    let mut lines: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let text = std::fs::read_to_string(path).unwrap();
            lines.extend(text.lines().map(String::from));
        }
    }
    lines.sort();
    let mut expected: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    expected.sort();
    assert_eq!(lines, expected);
}

#[test]
fn a_query_survives_an_executor_lost_with_its_shuffle_output() {
    let ctx = cluster();
    let _dir = numbers_view(&ctx, 300_000);
    let victim = ctx.executors()[0].pid;
    let marker = tempfile::tempdir().unwrap();
    let killed = marker.path().join("killed");
    let once = killed.to_str().unwrap().to_string();
    // In the stage after the exchange: the task on the other executor kills the victim once,
    // while the victim's own task of that stage is still running, so that the victim's map
    // outputs are lost while they are still wanted.
    ctx.register_udf(
        "lose_an_executor",
        Fn!(move |n: i64| {
            if std::process::id() == victim {
                std::thread::sleep(std::time::Duration::from_secs(2));
            } else if std::fs::File::create_new(&once).is_ok() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &victim.to_string()])
                    .status();
            }
            n
        }),
    );
    let before = ctx.job_summaries().len();
    let rows = ctx
        .sql("SELECT k, lose_an_executor(count(*)), sum(x) FROM numbers GROUP BY k ORDER BY k")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert!(killed.exists(), "no task ran on the other executor");
    assert_eq!(rows, expected_groups(300_000));
    let jobs = &ctx.job_summaries()[before..];
    let failed: usize = jobs.iter().map(|j| j.failed_tasks).sum();
    let stages: usize = jobs.iter().map(|j| j.stages).sum();
    assert!(failed >= 1, "{jobs:?}");
    assert!(
        stages > 3,
        "the lost map outputs were computed again: {jobs:?}"
    );
    assert!(ctx.executors().iter().all(|e| e.pid != victim));
    // The session goes on with the executors it has now.
    let again = ctx
        .sql("SELECT k, count(*), sum(x) FROM numbers GROUP BY k ORDER BY k")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(again, expected_groups(300_000));
}

/// The bytes `query` shuffles with runtime filters on, then off, on a cluster whose view
/// `numbers` holds `n` rows and whose view `picked` holds 50 multiples of 997 with names; each
/// time its rows must be `want`.
fn shuffled_with_and_without_runtime_filters(n: i64, query: &str, want: &str) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (numbers, picked) = (
        path_of(dir.path(), "numbers"),
        path_of(dir.path(), "picked"),
    );
    let mut shuffled = Vec::new();
    for threshold in ["10m", "0"] {
        let ctx = Context::new(
            EmberConf::empty()
                .set_master("local-cluster[2,1,512]")
                .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
                .set(ember_sql::CREATION_SIDE_THRESHOLD.key, threshold),
        )
        .unwrap();
        if threshold == "10m" {
            write_numbers(&ctx, &numbers, n);
            let names = "SELECT x * 997 AS x, concat('p', x) AS name \
                         FROM generate_series(1, 50) AS t(x)";
            ctx.sql(names).unwrap().write().parquet(&picked).unwrap();
        }
        for (view, path) in [("numbers", &numbers), ("picked", &picked)] {
            let df = ctx.read().parquet(path).unwrap();
            df.create_or_replace_temp_view(view).unwrap();
        }
        let before = ctx.job_summaries().len();
        let rows = ctx.sql(query).unwrap().tab_rows(false).unwrap();
        assert_eq!(rows, want, "threshold {threshold}");
        let jobs = &ctx.job_summaries()[before..];
        shuffled.push(
            jobs.iter()
                .map(|j| j.metrics.shuffle_bytes_written)
                .sum::<u64>(),
        );
    }
    (shuffled[0], shuffled[1])
}

/// A partitioned join whose build side turns out small filters its probe side before the
/// probe's shuffle: the rows are those of Rust, and the shuffle shrinks against the same query
/// with runtime filters off.
#[test]
fn a_small_build_side_filters_the_probe_side_before_its_shuffle() {
    let n = 1_200_000;
    // A key that is an expression keeps the filter on b: DataFusion cannot carry it over to a.
    let query = "SELECT count(*), sum(a.k) FROM numbers a JOIN numbers b ON a.x = b.x * 2 \
                 WHERE b.x % 500 = 0";
    let matches: Vec<i64> = (1..=n)
        .filter(|x| x % 500 == 0 && x * 2 <= n)
        .map(|x| x * 2)
        .collect();
    let want = format!(
        "{}\t{}\n",
        matches.len(),
        matches.iter().map(|x| x % 7).sum::<i64>()
    );
    let (filtered, unfiltered) = shuffled_with_and_without_runtime_filters(n, query, &want);
    assert!(
        filtered * 5 < unfiltered,
        "{filtered} bytes shuffled with the filter, {unfiltered} without"
    );
}

/// A collected join's small build side filters a scan of its probe side that lies below an
/// exchange, in a stage of its own: the aggregate under the join shuffles the 49 groups the
/// join keeps rather than all 300,000.
#[test]
fn a_collected_build_side_filters_scans_in_the_stages_below() {
    let n = 300_000;
    let query = "SELECT count(*), sum(g.c) FROM \
                 (SELECT x, count(*) + 1 AS c FROM numbers GROUP BY x) g \
                 JOIN picked p ON g.x = p.x WHERE p.name <> 'p3'";
    let (filtered, unfiltered) = shuffled_with_and_without_runtime_filters(n, query, "49\t98\n");
    assert!(
        filtered * 5 < unfiltered,
        "{filtered} bytes shuffled with the filter, {unfiltered} without"
    );
}
