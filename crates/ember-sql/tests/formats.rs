//! ORC and text, read and written as Spark does: round trips equal to rows computed in plain
//! Rust, partition directories discovered, the four save modes, text lines equal to the file's
//! lines read with `std::fs`, and ORC files checked against pyarrow (`pyarrow.orc`:
//! `scripts/oracles` installs it and names its Python in `EMBER_ORACLE_PYTHON`).

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use ember_core::Context;
use ember_sql::{col, DataType, SaveMode, SqlContextExt};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn local() -> Context {
    Context::with_master("local[2]").unwrap()
}

fn path_of(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// The rows `(x, name, even, ratio)` for `x` in `1..=n`, as SQL computes them.
fn numbers_sql(n: i64) -> String {
    format!(
        "SELECT x, concat('n', CAST(x AS VARCHAR)) AS name, x % 2 = 0 AS even, \
         CAST(x AS DOUBLE) / 4 AS ratio FROM generate_series(1, {n}) AS t(x)"
    )
}

/// The same rows, as tab-separated lines in order of `x`, computed in Rust.
fn numbers_lines(n: i64) -> String {
    (1..=n)
        .map(|x| format!("{x}\tn{x}\t{}\t{:?}\n", x % 2 == 0, x as f64 / 4.0))
        .collect()
}

/// Every value of string column `name`, in row order.
fn strings(df: &ember_sql::DataFrame, name: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for batch in df.collect().unwrap() {
        let column = batch.column_by_name(name).unwrap();
        let column = cast(column, &DataType::Utf8).unwrap();
        let column = column.as_string::<i32>();
        out.extend((0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).into())));
    }
    out
}

fn files_named(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

#[test]
fn orc_round_trips_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = path_of(dir.path(), "out");
    let ctx = local();
    ctx.sql(&numbers_sql(2000))
        .unwrap()
        .write()
        .orc(&out)
        .unwrap();
    assert!(Path::new(&out).join("_SUCCESS").exists());
    assert!(!Path::new(&out).join("_temporary").exists());
    let parts = files_named(Path::new(&out), ".orc");
    assert!(!parts.is_empty());
    assert!(
        parts.iter().all(|p| p.starts_with("part-0000")),
        "{parts:?}"
    );
    let back = ctx.read().orc(&out).unwrap();
    let types: Vec<DataType> = back
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Utf8,
            DataType::Boolean,
            DataType::Float64
        ]
    );
    let rows = back
        .order_by(vec![col("x").sort(true, true)])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(rows, numbers_lines(2000));
    // A projection in another order than the files', and a count without columns.
    let back = ctx.read().orc(&out).unwrap();
    let picked = back
        .select(vec![col("name"), col("x")])
        .unwrap()
        .filter(col("x").lt_eq(ember_sql::lit(3)))
        .unwrap()
        .order_by(vec![col("x").sort(true, true)])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(picked, "n1\t1\nn2\t2\nn3\t3\n");
    assert_eq!(ctx.read().orc(&out).unwrap().count().unwrap(), 2000);
}

#[test]
fn orc_partitioned_writes_are_read_back_with_the_partition_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = path_of(dir.path(), "out");
    let ctx = local();
    let query = "SELECT x, x % 3 AS k FROM generate_series(1, 999) AS t(x)";
    ctx.sql(query)
        .unwrap()
        .write()
        .partition_by(&["k"])
        .orc(&out)
        .unwrap();
    for k in 0..3 {
        let part = Path::new(&out).join(format!("k={k}"));
        assert_eq!(files_named(&part, ".orc").len(), 1, "{part:?}");
    }
    let back = ctx.read().orc(&out).unwrap();
    let k = back.schema().field_with_name("k").unwrap().clone();
    assert_eq!(k.data_type(), &DataType::Int32);
    back.create_or_replace_temp_view("parts").unwrap();
    let rows = ctx
        .sql("SELECT k, count(*), sum(x) FROM parts GROUP BY k ORDER BY k")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let mut expected = BTreeMap::<i64, (i64, i64)>::new();
    for x in 1..=999i64 {
        let g = expected.entry(x % 3).or_default();
        g.0 += 1;
        g.1 += x;
    }
    let expected: String = expected
        .iter()
        .map(|(k, (c, s))| format!("{k}\t{c}\t{s}\n"))
        .collect();
    assert_eq!(rows, expected);
}

/// Writes `rows` of a one-string-column query with `mode` in `format`, then counts what is
/// read back.
fn write_and_count(ctx: &Context, format: &str, path: &str, n: i64, mode: SaveMode) -> usize {
    let query = format!("SELECT CAST(x AS VARCHAR) AS value FROM generate_series(1, {n}) AS t(x)");
    let writer = ctx.sql(&query).unwrap().write().mode(mode);
    let written = match format {
        "orc" => writer.orc(path),
        _ => writer.text(path),
    };
    let count = |ctx: &Context| match format {
        "orc" => ctx.read().orc(path).unwrap().count().unwrap(),
        _ => ctx.read().text(path).unwrap().count().unwrap(),
    };
    match (mode, written) {
        (SaveMode::ErrorIfExists, Err(e)) => {
            assert!(e.to_string().contains("exists already"), "{e}");
            count(ctx)
        }
        (_, Ok(())) => count(ctx),
        (mode, Err(e)) => panic!("{mode:?}: {e}"),
    }
}

#[test]
fn save_modes_for_orc_and_text() {
    let ctx = local();
    for format in ["orc", "text"] {
        let dir = tempfile::tempdir().unwrap();
        let path = path_of(dir.path(), "out");
        let counts = [
            write_and_count(&ctx, format, &path, 10, SaveMode::ErrorIfExists),
            write_and_count(&ctx, format, &path, 5, SaveMode::Append),
            write_and_count(&ctx, format, &path, 7, SaveMode::ErrorIfExists),
            write_and_count(&ctx, format, &path, 7, SaveMode::Ignore),
            write_and_count(&ctx, format, &path, 3, SaveMode::Overwrite),
        ];
        assert_eq!(counts, [10, 15, 15, 15, 3], "{format}");
    }
}

/// Text that a CSV reader would split, unquote or skip.
const AWKWARD: &str = "first line\n\n  indented, with a comma\n\"quoted\"\ttab\n\u{e9}t\u{e9} \u{2603}\nlast, no newline";

#[test]
fn text_reads_the_lines_of_files_directories_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, AWKWARD).unwrap();
    std::fs::write(dir.path().join("b.log"), "b1\nb2\r\nb3\n").unwrap();
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let ctx = local();
    let expect = |files: &[&str]| {
        let mut lines: Vec<Option<String>> = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
            lines.extend(text.lines().map(|l| Some(l.to_string())));
        }
        lines
    };
    let sorted = |mut lines: Vec<Option<String>>| {
        lines.sort();
        lines
    };
    let read = |path: &str| {
        let df = ctx.read().text(path).unwrap();
        assert_eq!(df.columns(), ["value"]);
        let mut lines = strings(&df, "value");
        lines.sort();
        lines
    };
    let df = ctx.read().text(file.to_str().unwrap()).unwrap();
    assert_eq!(strings(&df, "value"), expect(&["a.txt"]));
    let field = df.schema().field(0).clone();
    assert!(field.is_nullable(), "Spark's value column is nullable");
    assert!(matches!(
        field.data_type(),
        DataType::Utf8 | DataType::LargeUtf8
    ));
    let directory = dir.path().to_str().unwrap();
    assert_eq!(read(directory), sorted(expect(&["a.txt", "b.log"])));
    assert_eq!(read(&format!("{directory}/*.log")), expect(&["b.log"]));
    // One row per file.
    let whole = ctx
        .read()
        .option("wholetext", "true")
        .text(directory)
        .unwrap();
    let mut files = strings(&whole, "value");
    files.sort();
    let mut expected = vec![
        Some(AWKWARD.to_string()),
        Some("b1\nb2\r\nb3\n".to_string()),
    ];
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn text_writes_one_line_per_row_and_refuses_two_columns() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in.txt");
    std::fs::write(&source, AWKWARD).unwrap();
    let out = path_of(dir.path(), "out");
    let ctx = local();
    ctx.read()
        .text(source.to_str().unwrap())
        .unwrap()
        .write()
        .text(&out)
        .unwrap();
    let parts = files_named(Path::new(&out), ".txt");
    assert!(!parts.is_empty());
    let mut written: Vec<String> = parts
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(Path::new(&out).join(p)).unwrap();
            assert!(text.is_empty() || text.ends_with('\n'));
            text.lines().map(String::from).collect::<Vec<_>>()
        })
        .collect();
    written.sort();
    let mut expected: Vec<String> = AWKWARD.lines().map(String::from).collect();
    expected.sort();
    assert_eq!(written, expected);

    let two = ctx
        .sql("SELECT 'a' AS value, 'b' AS other")
        .unwrap()
        .write()
        .text(&path_of(dir.path(), "two"));
    let message = two.unwrap_err().to_string();
    assert!(
        message.contains("supports only a single column, and you have 2 columns"),
        "{message}"
    );
    assert!(!Path::new(&path_of(dir.path(), "two")).exists());
    let number = ctx
        .sql("SELECT 1 AS value")
        .unwrap()
        .write()
        .text(&path_of(dir.path(), "number"));
    assert!(number.unwrap_err().to_string().contains("does not support"));

    // A partition column does not count; its values become directories.
    let parted = path_of(dir.path(), "parted");
    ctx.sql("SELECT CAST(x AS VARCHAR) AS value, x % 2 AS k FROM generate_series(1, 6) AS t(x)")
        .unwrap()
        .write()
        .partition_by(&["k"])
        .text(&parted)
        .unwrap();
    for (k, lines) in [(0, ["2", "4", "6"]), (1, ["1", "3", "5"])] {
        let part = Path::new(&parted).join(format!("k={k}"));
        let mut found: Vec<String> = files_named(&part, ".txt")
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(part.join(f)).unwrap();
                text.lines().map(String::from).collect::<Vec<_>>()
            })
            .collect();
        found.sort();
        assert_eq!(found, lines);
    }
    // Read back, the directories are the partition column again.
    let back = ctx.read().text(&parted).unwrap();
    assert_eq!(back.columns(), ["value", "k"]);
    let k = back.schema().field_with_name("k").unwrap().clone();
    assert_eq!(k.data_type(), &DataType::Int32);
    let rows = back
        .order_by(vec![col("value").sort(true, true)])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let expected: String = (1..=6).map(|x| format!("{x}\t{}\n", x % 2)).collect();
    assert_eq!(rows, expected);
}

#[test]
fn sql_reads_orc_and_text_with_using() {
    let dir = tempfile::tempdir().unwrap();
    let orc = path_of(dir.path(), "orc");
    let text = dir.path().join("lines.txt");
    std::fs::write(&text, "a\nbb\nccc\n").unwrap();
    let ctx = local();
    ctx.sql(&numbers_sql(10))
        .unwrap()
        .write()
        .orc(&orc)
        .unwrap();
    for statement in [
        format!("CREATE TEMPORARY VIEW o USING orc OPTIONS (path '{orc}')"),
        format!(
            "CREATE TEMPORARY VIEW t USING text OPTIONS (path '{}')",
            text.display()
        ),
    ] {
        ctx.sql(&statement).unwrap().collect().unwrap();
    }
    let sum = ctx.sql("SELECT sum(x) FROM o").unwrap().tab_rows(false);
    assert_eq!(sum.unwrap(), "55\n");
    let lengths = ctx
        .sql("SELECT value, length(value) FROM t ORDER BY value")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(lengths, "a\t1\nbb\t2\nccc\t3\n");
    let unknown = ctx.read().format("avro", &orc).unwrap_err().to_string();
    assert!(
        unknown.contains("csv, json, parquet, orc and text"),
        "{unknown}"
    );
}

/// The Python that has pyarrow, or a failure naming the command that provides it.
fn oracle_python() -> String {
    match std::env::var("EMBER_ORACLE_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "this test reads and writes ORC with pyarrow: run \
             `export EMBER_ORACLE_PYTHON=$(scripts/oracles)` first"
        ),
    }
}

/// Runs `script` with the oracle's Python; its standard output.
fn pyarrow(script: &str, args: &[&str]) -> String {
    let output = Command::new(oracle_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn orc_files_written_by_pyarrow_are_read_and_ember_files_are_read_by_pyarrow() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = path_of(dir.path(), "pyarrow.orc");
    pyarrow(
        "import sys, pyarrow as pa, pyarrow.orc as orc
n = 1500
table = pa.table({
    'id': pa.array(range(1, n + 1), pa.int64()),
    'label': pa.array(['row %d' % i if i % 10 else None for i in range(1, n + 1)]),
    'score': pa.array([i * 0.5 for i in range(1, n + 1)], pa.float64()),
    'small': pa.array([i % 100 for i in range(1, n + 1)], pa.int32()),
})
orc.write_table(table, sys.argv[1], stripe_size=4096)",
        &[&theirs],
    );
    let ctx = local();
    let rows = ctx
        .read()
        .orc(&theirs)
        .unwrap()
        .order_by(vec![col("id").sort(true, true)])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let expected: String = (1..=1500i64)
        .map(|i| {
            let label = if i % 10 != 0 {
                format!("row {i}")
            } else {
                "NULL".into()
            };
            format!("{i}\t{label}\t{:?}\t{}\n", i as f64 * 0.5, i % 100)
        })
        .collect();
    assert_eq!(rows, expected);

    let ours = path_of(dir.path(), "ember");
    ctx.sql(&numbers_sql(1200))
        .unwrap()
        .write()
        .orc(&ours)
        .unwrap();
    let read_back = pyarrow(
        "import sys, glob, pyarrow as pa, pyarrow.orc as orc
files = sorted(glob.glob(sys.argv[1] + '/*.orc'))
table = pa.concat_tables([orc.read_table(f) for f in files]).sort_by('x')
for x, name, even, ratio in zip(*(table.column(c).to_pylist() for c in ['x', 'name', 'even', 'ratio'])):
    print(f'{x}\\t{name}\\t{str(even).lower()}\\t{ratio:g}')",
        &[&ours],
    );
    let expected: String = (1..=1200i64)
        .map(|x| format!("{x}\tn{x}\t{}\t{}\n", x % 2 == 0, x as f64 / 4.0))
        .collect();
    assert_eq!(read_back, expected);
}
