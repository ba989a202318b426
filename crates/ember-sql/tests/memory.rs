//! SQL under a memory budget far smaller than its data: sorts, aggregations and sort-merge joins
//! in stage tasks spill under ember's memory manager instead of failing, hash joins too large
//! for it give way to sort-merge joins, their results equal plain Rust, and the spills show in
//! the job summary.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf};
use ember_sql::{SaveMode, SqlContextExt};

/// Rows in the table: about 50 MB as Arrow strings and integers, over the 19 MiB a task may hold.
const ROWS: i64 = 2_000_000;

/// `local[2]` with `memory` of executor memory, none of it reserved.
fn budget_conf(memory: &str) -> EmberConf {
    EmberConf::empty()
        .set_master("local[2]")
        .set(keys::EXECUTOR_MEMORY.key, memory)
        .set(keys::RESERVED_MEMORY.key, "0")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
}

/// `local[2]` with 64 MiB of executor memory (a 38 MiB pool, 19 MiB per task), queries as stages.
fn small_memory_conf() -> EmberConf {
    budget_conf("64m").set(ember_sql::DISTRIBUTED.key, "true")
}

fn small_memory() -> Context {
    Context::new(small_memory_conf()).unwrap()
}

/// The view `rows`: `x` in `1..=ROWS` and `s`, the string `row-<x>`, in four Parquet files.
fn rows_view(ctx: &Context) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows").to_str().unwrap().to_string();
    for part in 0..4 {
        let (from, to) = (1 + part * ROWS / 4, (part + 1) * ROWS / 4);
        let query = format!(
            "SELECT x, concat('row-', CAST(x AS VARCHAR)) AS s FROM generate_series({from}, {to}) AS t(x)"
        );
        let df = ctx.sql(&query).unwrap();
        df.write().mode(SaveMode::Append).parquet(&path).unwrap();
    }
    ctx.read()
        .parquet(&path)
        .unwrap()
        .create_or_replace_temp_view("rows")
        .unwrap();
    dir
}

#[test]
fn a_sort_larger_than_memory_spills_and_orders_every_row() {
    let ctx = small_memory();
    let _dir = rows_view(&ctx);
    let before = ctx.job_summaries().len();
    let sorted = ctx
        .sql("SELECT s FROM rows ORDER BY s DESC")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let mut expected: Vec<String> = (1..=ROWS).map(|x| format!("row-{x}")).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let lines: Vec<&str> = sorted.lines().collect();
    assert_eq!(lines.len(), expected.len());
    assert!(lines.iter().zip(&expected).all(|(a, b)| a == b));
    let jobs = &ctx.job_summaries()[before..];
    let spills: u64 = jobs.iter().map(|j| j.metrics.spill_count).sum();
    let spilled: u64 = jobs.iter().map(|j| j.metrics.spill_bytes).sum();
    assert!(spills > 0 && spilled > 0, "{jobs:?}");
}

#[test]
fn an_aggregation_of_more_groups_than_memory_holds_spills_and_agrees_with_rust() {
    let ctx = small_memory();
    let _dir = rows_view(&ctx);
    let groups = ROWS * 3 / 4;
    let before = ctx.job_summaries().len();
    // The inner GROUP BY has 1.5 million groups keyed by strings; the outer one folds its rows
    // into figures that any lost, doubled or mis-merged group would change.
    let query = format!(
        "SELECT count(*), sum(c), sum(total), sum(c * c), max(g) FROM ( \
           SELECT concat('g-', CAST(x % {groups} AS VARCHAR)) AS g, count(*) AS c, sum(x) AS total \
           FROM rows GROUP BY g)"
    );
    let got = ctx.sql(&query).unwrap().tab_rows(false).unwrap();
    let mut counts = vec![0i64; groups as usize];
    for x in 1..=ROWS {
        counts[(x % groups) as usize] += 1;
    }
    let squares: i64 = counts.iter().map(|c| c * c).sum();
    let largest = (0..groups).map(|g| format!("g-{g}")).max().unwrap();
    let total: i64 = (1..=ROWS).sum();
    assert_eq!(
        got,
        format!("{groups}\t{ROWS}\t{total}\t{squares}\t{largest}\n")
    );
    let jobs = &ctx.job_summaries()[before..];
    assert!(jobs.iter().any(|j| j.metrics.spill_count > 0), "{jobs:?}");
}

/// Every row of `rows` meets the row whose x is one more (the last meets none), matched by
/// string keys.
const SELF_JOIN: &str = "FROM rows a JOIN rows b ON concat('row-', CAST(a.x + 1 AS VARCHAR)) = b.s";

/// What `SELECT count(*), sum(a.x), sum(b.x % 1000)` over [`SELF_JOIN`] gives, by plain Rust.
fn self_join_figures() -> String {
    let a: i64 = (1..ROWS).sum();
    let b: i64 = (2..=ROWS).map(|x| x % 1000).sum();
    format!("{}\t{a}\t{b}\n", ROWS - 1)
}

/// The plan of `query`, as `EXPLAIN` prints it.
fn explain(ctx: &Context, query: &str) -> String {
    ctx.sql(&format!("EXPLAIN {query}"))
        .unwrap()
        .tab_rows(false)
        .unwrap()
}

#[test]
fn a_sort_merge_join_of_two_tables_larger_than_memory_spills_and_agrees_with_rust() {
    let ctx = Context::new(small_memory_conf().set(ember_sql::PREFER_SORT_MERGE_JOIN.key, "true"))
        .unwrap();
    let _dir = rows_view(&ctx);
    let before = ctx.job_summaries().len();
    let query = format!("SELECT count(*), sum(a.x), sum(b.x % 1000) {SELF_JOIN}");
    let plan = explain(&ctx, &query);
    assert!(plan.contains("SortMergeJoin"), "{plan}");
    let got = ctx.sql(&query).unwrap().tab_rows(false).unwrap();
    assert_eq!(got, self_join_figures());
    let jobs = &ctx.job_summaries()[before..];
    assert!(jobs.iter().any(|j| j.metrics.spill_count > 0), "{jobs:?}");
}

/// ember plans the join of the test above as a hash join, whose build side, every row, outgrows
/// the pool: the query runs again with sort-merge joins, in stages and in one process alike, and
/// so does a write of it, which leaves only the files of the attempt that succeeded.
#[test]
fn a_hash_join_that_outgrows_memory_runs_again_as_a_sort_merge_join() {
    let query = format!("SELECT count(*), sum(a.x), sum(b.x % 1000) {SELF_JOIN}");
    let expected = self_join_figures();
    for distributed in ["true", "false"] {
        let ctx =
            Context::new(budget_conf("64m").set(ember_sql::DISTRIBUTED.key, distributed)).unwrap();
        let dir = rows_view(&ctx);
        let plan = explain(&ctx, &query);
        assert!(plan.contains("HashJoinExec: mode=Partitioned"), "{plan}");
        let before = ctx.job_summaries().len();
        let got = ctx.sql(&query).unwrap().tab_rows(false).unwrap();
        assert_eq!(got, expected, "distributed={distributed}");
        if distributed == "true" {
            // Only the sort-merge join's sorts can spill here: the sums keep one row.
            let jobs = &ctx.job_summaries()[before..];
            assert!(jobs.iter().any(|j| j.metrics.spill_count > 0), "{jobs:?}");
        }
        let out = dir.path().join("joined");
        let out = out.to_str().unwrap();
        ctx.sql(&format!("SELECT a.x AS a, b.x AS b {SELF_JOIN}"))
            .unwrap()
            .write()
            .parquet(out)
            .unwrap();
        ctx.read()
            .parquet(out)
            .unwrap()
            .create_or_replace_temp_view("joined")
            .unwrap();
        let written = ctx
            .sql("SELECT count(*), sum(a), sum(b % 1000) FROM joined")
            .unwrap()
            .tab_rows(false)
            .unwrap();
        assert_eq!(written, expected, "distributed={distributed}: written rows");
        assert!(!std::path::Path::new(out).join("_temporary").exists());
    }
}

#[test]
fn a_bad_join_setting_is_refused_with_its_key() {
    let ctx = Context::new(small_memory_conf().set(ember_sql::PREFER_SORT_MERGE_JOIN.key, "maybe"))
        .unwrap();
    let err = ctx
        .sql("SELECT 1")
        .and_then(|df| df.tab_rows(false))
        .unwrap_err()
        .to_string();
    assert!(err.contains(ember_sql::PREFER_SORT_MERGE_JOIN.key), "{err}");
}

#[test]
fn in_process_queries_spill_under_the_same_budget_and_agree_with_rust() {
    let ctx = Context::new(budget_conf("64m")).unwrap();
    let _dir = rows_view(&ctx);
    // The window's sort holds every row: more than the pool, so it spills.
    let query = "SELECT count(*), sum(rn * (x % 1000)) FROM \
                 (SELECT x, row_number() OVER (ORDER BY s) AS rn FROM rows)";
    let got = ctx.sql(query).unwrap().tab_rows(false).unwrap();
    let analyzed = ctx
        .sql(&format!("EXPLAIN ANALYZE {query}"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let spilled = analyzed
        .split("spill_count=")
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit() && c != '0'));
    assert!(spilled, "no operator spilled:\n{analyzed}");
    let mut all: Vec<(String, i64)> = (1..=ROWS).map(|x| (format!("row-{x}"), x)).collect();
    all.sort_unstable();
    let weighted: i64 = all
        .iter()
        .enumerate()
        .map(|(i, (_, x))| (i as i64 + 1) * (x % 1000))
        .sum();
    assert_eq!(got, format!("{ROWS}\t{weighted}\n"));
}

/// Under a memory limit, a repartition whose input tasks spill at once can wait forever in
/// DataFusion 55.2; ember never refuses its buffers. Six runs of a query that stopped within
/// the first few before: each must finish, with the right answer.
#[test]
fn a_repartition_under_a_tiny_budget_never_stops() {
    let ctx = Context::new(budget_conf("4m")).unwrap();
    ctx.sql("SET datafusion.execution.batch_size = 64").unwrap();
    let query = "SELECT g, count(DISTINCT trace_id) FROM \
                 (SELECT v % 13 AS g, md5(CAST(v % 337 AS VARCHAR)) AS trace_id \
                  FROM generate_series(1, 40000) AS s(v)) GROUP BY g ORDER BY g";
    // v % 337 takes all 337 values in every group, since 13 and 337 are coprime.
    let expected: String = (0..13).map(|g| format!("{g}\t337\n")).collect();
    for run in 0..6 {
        let (done, finished) = std::sync::mpsc::channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let _ = done.send(ctx.sql(query).and_then(|df| df.tab_rows(false)));
        });
        let rows = finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("run {run} has not finished in 120 s"));
        assert_eq!(rows.unwrap(), expected, "run {run}");
    }
}
