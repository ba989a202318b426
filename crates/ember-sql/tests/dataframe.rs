//! DataFrames and SQL against plain Rust computations over the same generated rows: reading
//! CSV as Spark does, the relational operations, SQL with temporary views, Spark's save modes
//! and partitioned output, and clear errors.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf, Fn};
use ember_sql::{col, count, lit, sum, Error, JoinType, SaveMode, SqlContextExt};
use std::collections::BTreeMap;
use std::path::Path;

fn context() -> Context {
    Context::new(
        EmberConf::empty()
            .set_master("local[2]")
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .unwrap()
}

/// Sales rows: (id, region, amount), some amounts missing.
fn sales_rows() -> Vec<(i64, &'static str, Option<i64>)> {
    let regions = ["north", "south", "east", "west"];
    (0..1000)
        .map(|i| {
            let amount = (i % 17 != 0).then_some((i * 37) % 101);
            (i, regions[(i as usize * 7) % 4], amount)
        })
        .collect()
}

fn write_sales_csv(dir: &Path) -> String {
    let mut text = String::from("id,region,amount\n");
    for (id, region, amount) in sales_rows() {
        let amount = amount.map(|a| a.to_string()).unwrap_or_default();
        text += &format!("{id},{region},{amount}\n");
    }
    let path = dir.join("sales.csv");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The CSV at `path` with its header and inferred types.
fn typed(ctx: &Context, path: &str) -> ember_sql::DataFrame {
    ctx.read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(path)
        .unwrap()
}

/// `region<TAB>total<TAB>rows` lines of regions whose rows have an amount over 10, by region.
fn totals_by_plain_rust() -> String {
    let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (_, region, amount) in sales_rows() {
        if let Some(a) = amount.filter(|a| *a > 10) {
            let t = totals.entry(region).or_default();
            t.0 += a;
            t.1 += 1;
        }
    }
    totals
        .iter()
        .map(|(r, (total, rows))| format!("{r}\t{total}\t{rows}\n"))
        .collect()
}

#[test]
fn csv_is_read_as_spark_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    // Without options: no header, every column a string named _c0, _c1, ...
    let raw = ctx.read().csv(&path).unwrap();
    assert_eq!(raw.columns(), ["_c0", "_c1", "_c2"]);
    assert_eq!(raw.count().unwrap(), 1001, "the header is a row");
    let typed = typed(&ctx, &path);
    assert_eq!(typed.columns(), ["id", "region", "amount"]);
    let schema = typed.schema();
    assert!(schema.field(0).data_type().is_integer());
    assert_eq!(typed.count().unwrap(), 1000);
    let strings = ctx.read().option("header", "true").csv(&path).unwrap();
    assert_eq!(
        *strings.schema().field(0).data_type(),
        ember_sql::DataType::Utf8
    );
    // A schema names the columns of a file without a header.
    let named = ctx
        .read()
        .schema(ember_sql::Schema::new(vec![
            ember_sql::Field::new("n", ember_sql::DataType::Utf8, true),
            ember_sql::Field::new("where", ember_sql::DataType::Utf8, true),
            ember_sql::Field::new("much", ember_sql::DataType::Utf8, true),
        ]))
        .csv(&path)
        .unwrap();
    assert_eq!(named.columns(), ["n", "where", "much"]);
    assert_eq!(named.count().unwrap(), 1001);
    let err = ctx.read().option("heder", "true").csv(&path).unwrap_err();
    assert!(
        err.to_string().contains("unknown option \"heder\""),
        "{err}"
    );
}

#[test]
fn relational_operations_agree_with_plain_rust() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    let sales = typed(&ctx, &path);
    let totals = sales
        .filter(col("amount").gt(lit(10)))
        .unwrap()
        .group_by(vec![col("region")])
        .agg(vec![
            sum(col("amount")).alias("total"),
            count(col("id")).alias("rows"),
        ])
        .unwrap()
        .order_by(vec![col("region").sort(true, false)])
        .unwrap();
    assert_eq!(totals.tab_rows(false).unwrap(), totals_by_plain_rust());

    // A join with a small table of region names: inner keeps matches, anti the others.
    let names = dir.path().join("names.csv");
    std::fs::write(&names, "code,label\nnorth,N\nsouth,S\n").unwrap();
    let names = ctx
        .read()
        .option("header", "true")
        .csv(names.to_str().unwrap())
        .unwrap();
    let inner = sales
        .join(&names, JoinType::Inner, &["region"], &["code"])
        .unwrap();
    let north_south = sales_rows()
        .iter()
        .filter(|(_, r, _)| *r == "north" || *r == "south")
        .count();
    assert_eq!(inner.count().unwrap(), north_south);
    let anti = sales
        .join(&names, JoinType::LeftAnti, &["region"], &["code"])
        .unwrap();
    assert_eq!(anti.count().unwrap(), 1000 - north_south);
    let left = sales
        .join(&names, JoinType::Left, &["region"], &["code"])
        .unwrap();
    assert_eq!(left.count().unwrap(), 1000);

    let regions = sales.select_columns(&["region"]).unwrap();
    assert_eq!(regions.distinct().unwrap().count().unwrap(), 4);
    assert_eq!(regions.union(&regions).unwrap().count().unwrap(), 2000);
    assert_eq!(sales.limit(7).unwrap().count().unwrap(), 7);
    let doubled = sales
        .with_column("double", col("amount") * lit(2))
        .unwrap()
        .filter(col("id").eq(lit(3)))
        .unwrap()
        .select_columns(&["double"])
        .unwrap();
    let want = sales_rows()[3].2.unwrap() * 2;
    assert_eq!(doubled.tab_rows(false).unwrap(), format!("{want}\n"));
    let missing = sales
        .filter(col("amount").is_null())
        .unwrap()
        .select_columns(&["amount"])
        .unwrap()
        .limit(1)
        .unwrap();
    assert_eq!(missing.tab_rows(true).unwrap(), "amount\nNULL\n");
}

#[test]
fn sql_reads_temporary_views_and_sparks_using_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    ctx.sql(&format!(
        "CREATE TEMPORARY VIEW sales USING csv OPTIONS (path '{path}', header 'true', \
         inferSchema 'true')"
    ))
    .unwrap();
    let totals = ctx
        .sql(
            "SELECT region, sum(amount) AS total, count(id) AS rows FROM sales \
             WHERE amount > 10 GROUP BY region ORDER BY region",
        )
        .unwrap();
    assert_eq!(totals.tab_rows(false).unwrap(), totals_by_plain_rust());
    let tables = ctx.sql("SHOW TABLES").unwrap().tab_rows(false).unwrap();
    assert!(tables.contains("sales"), "{tables}");
    // Another clone of the Context shares the session and its views.
    let same = ctx.clone();
    assert_eq!(same.table("sales").unwrap().count().unwrap(), 1000);
    let described = ctx.sql("DESCRIBE sales").unwrap().tab_rows(false).unwrap();
    assert!(described.contains("region"), "{described}");
}

#[test]
fn errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    let sales = ctx.read().option("header", "true").csv(&path).unwrap();
    sales.create_or_replace_temp_view("sales").unwrap();
    let unknown = ctx.sql("SELECT nope FROM sales").unwrap_err();
    assert!(matches!(unknown, Error::Query(_)));
    assert!(unknown.to_string().contains("nope"), "{unknown}");
    let parse = ctx.sql("SELEC 1").unwrap_err();
    assert!(parse.to_string().contains("SELEC"), "{parse}");
    let no_table = ctx.sql("SELECT * FROM missing_table").unwrap_err();
    assert!(no_table.to_string().contains("missing_table"), "{no_table}");
    let gone = dir.path().join("gone.parquet");
    let missing = ctx.read().parquet(gone.to_str().unwrap()).unwrap_err();
    assert!(missing.to_string().contains("gone.parquet"), "{missing}");
    // The session goes on after errors.
    assert_eq!(
        ctx.sql("SELECT 1 AS one").unwrap().tab_rows(false).unwrap(),
        "1\n"
    );
}

#[test]
fn save_modes_and_partitioned_output_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    let sales = typed(&ctx, &path);
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    sales.write().parquet(out).unwrap();
    assert!(Path::new(out).join("_SUCCESS").exists());
    assert!(!Path::new(out).join("_temporary").exists());
    assert_eq!(ctx.read().parquet(out).unwrap().count().unwrap(), 1000);

    let exists = sales.write().parquet(out).unwrap_err();
    assert!(exists.to_string().contains("exists already"), "{exists}");
    let small = sales.limit(10).unwrap();
    small.write().mode(SaveMode::Ignore).parquet(out).unwrap();
    assert_eq!(ctx.read().parquet(out).unwrap().count().unwrap(), 1000);
    small.write().mode(SaveMode::Append).parquet(out).unwrap();
    assert_eq!(ctx.read().parquet(out).unwrap().count().unwrap(), 1010);
    small
        .write()
        .mode(SaveMode::Overwrite)
        .parquet(out)
        .unwrap();
    assert_eq!(ctx.read().parquet(out).unwrap().count().unwrap(), 10);
    assert_eq!(
        "overwrite".parse::<SaveMode>().unwrap(),
        SaveMode::Overwrite
    );
    assert!("sideways".parse::<SaveMode>().is_err());

    // One directory per region, the column left out of the files.
    let by_region = dir.path().join("by_region");
    let by_region = by_region.to_str().unwrap();
    sales
        .write()
        .partition_by(&["region"])
        .parquet(by_region)
        .unwrap();
    let north = format!("{by_region}/region=north");
    let rows = ctx.read().parquet(&north).unwrap();
    assert_eq!(rows.columns(), ["id", "amount"]);
    let want = sales_rows()
        .iter()
        .filter(|(_, r, _)| *r == "north")
        .count();
    assert_eq!(rows.count().unwrap(), want);

    for (format, out) in [("csv", "as_csv"), ("json", "as_json")] {
        let out = dir.path().join(out);
        let out = out.to_str().unwrap();
        match format {
            "csv" => sales.write().csv(out).unwrap(),
            _ => sales.write().json(out).unwrap(),
        }
        let back = ctx
            .read()
            .option("header", "true")
            .option("inferSchema", "true");
        let back = if format == "csv" {
            back.csv(out).unwrap()
        } else {
            ctx.read().json(out).unwrap()
        };
        assert_eq!(back.count().unwrap(), 1000, "{format}");
        let total = back
            .group_by(vec![])
            .agg(vec![sum(col("amount")).alias("t")])
            .unwrap()
            .tab_rows(false)
            .unwrap();
        let want: i64 = sales_rows().iter().filter_map(|s| s.2).sum();
        assert_eq!(total, format!("{want}\n"), "{format}");
    }
}

#[test]
fn show_draws_sparks_table() {
    let ctx = context();
    let df = ctx
        .sql("SELECT * FROM (VALUES (1, 'a very long value of many characters'), (22, NULL)) AS t(n, s)")
        .unwrap();
    assert_eq!(
        df.show_string(20).unwrap(),
        "+---+--------------------+\n\
         |  n|                   s|\n\
         +---+--------------------+\n\
         |  1|a very long value...|\n\
         | 22|                null|\n\
         +---+--------------------+\n\n"
    );
    assert!(df
        .show_string(1)
        .unwrap()
        .ends_with("only showing top 1 row\n\n"));
}

#[test]
fn rust_closures_are_sql_functions_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sales_csv(dir.path());
    let ctx = context();
    typed(&ctx, &path)
        .create_or_replace_temp_view("sales")
        .unwrap();
    ctx.register_udf("tax", Fn!(|amount: i64| amount as f64 * 0.2));
    ctx.register_udf2(
        "label",
        Fn!(|region: String, id: i64| format!("{region}-{id}")),
    );
    let rows = ctx
        .sql("SELECT label(region, id), tax(amount) FROM sales WHERE id < 20 ORDER BY id")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let want: String = sales_rows()
        .iter()
        .take(20)
        .map(|(id, region, amount)| {
            let tax = amount.map_or("NULL".to_string(), |a| format!("{:?}", a as f64 * 0.2));
            format!("{region}-{id}\t{tax}\n")
        })
        .collect();
    assert_eq!(rows, want);
    let wrong = ctx.sql("SELECT tax(region, id) FROM sales").unwrap_err();
    assert!(wrong.to_string().contains("tax"), "{wrong}");
}

/// `ember.sql.optimizer.excludedRules` leaves the rules it names out of the plan, with the same
/// rows; a name no rule has is an error that lists the names there are.
#[test]
fn excluded_optimizer_rules_are_left_out_and_unknown_ones_are_refused() {
    let query = "SELECT a.x, b.y FROM (VALUES (1), (2), (3)) a(x) \
                 JOIN (VALUES (1, 10), (3, 30)) b(x, y) ON a.x = b.x \
                 WHERE a.x IN (SELECT z FROM (VALUES (3), (4)) s(z) WHERE z < 4) ORDER BY a.x";
    let with = |excluded: &str| {
        Context::new(
            EmberConf::empty()
                .set_master("local[2]")
                .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
                .set(ember_sql::EXCLUDED_RULES.key, excluded),
        )
        .unwrap()
    };
    // The line of the logical plan that joins a row of `a` with its semi join's subquery,
    // counted from the top: below the inner join when the semi join was pushed down.
    let semi_join_depth = |ctx: &Context| {
        let plan = ctx
            .sql(&format!("EXPLAIN {query}"))
            .unwrap()
            .tab_rows(false)
            .unwrap();
        let lines: Vec<&str> = plan.lines().collect();
        let at = |what: &str| lines.iter().position(|l| l.contains(what)).unwrap();
        (at("LeftSemi Join"), at("Inner Join"))
    };
    let pushed = with("");
    let (semi, inner) = semi_join_depth(&pushed);
    assert!(semi > inner, "semi join at line {semi}, inner at {inner}");
    let kept = with("push_semi_join_down, eliminate_limit");
    let (semi, inner) = semi_join_depth(&kept);
    assert!(semi < inner, "semi join at line {semi}, inner at {inner}");
    for ctx in [&pushed, &kept] {
        let rows = ctx.sql(query).unwrap().tab_rows(false).unwrap();
        assert_eq!(rows, "3\t30\n");
    }
    let err = with("push_semi_join_down,no_such_rule")
        .sql(query)
        .and_then(|df| df.tab_rows(false))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("names no optimizer rule: no_such_rule") && err.contains("push_down_filter"),
        "{err}"
    );
}

#[test]
fn fields_of_one_from_json_parse_each_text_once() {
    let ctx = ember_core::Context::with_master("local[1]").unwrap();
    let plan = ctx
        .sql(
            r#"EXPLAIN SELECT e['a'] + e['b'], e['c'] FROM (
                 SELECT from_json(v, 'a BIGINT, b BIGINT, c STRING') AS e FROM (
                   VALUES ('{"a": 1, "b": 2, "c": "x"}')
                 ) AS t(v)
               )"#,
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let physical = &plan[plan.find("physical_plan").expect("a physical plan")..];
    assert_eq!(physical.matches("from_json(").count(), 1, "{plan}");
}

#[test]
fn a_filter_on_one_field_of_from_json_parses_that_field_alone() {
    let ctx = ember_core::Context::with_master("local[1]").unwrap();
    let query = r#"SELECT e['b'] FROM (
                     SELECT from_json(v, 'a BIGINT, b STRING, c DOUBLE') AS e FROM (
                       VALUES ('{"a": 3, "b": "x", "c": 1.5}'), ('{"a": 4, "b": "y", "c": 2.5}'),
                              ('{"a": 6, "b": "z"}'), ('not json')
                     ) AS t(v)
                   ) WHERE e['a'] % 3 = 0 ORDER BY 1"#;
    let plan = ctx
        .sql(&format!("EXPLAIN {query}"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert!(plan.contains("struct<a:BIGINT>"), "{plan}");
    let rows = ctx.sql(query).unwrap().tab_rows(false).unwrap();
    assert_eq!(rows, "x\nz\n");
}

#[test]
fn from_json_reads_objects_of_a_ddl_schema_and_gives_null_for_what_is_not_one() {
    let ctx = ember_core::Context::with_master("local[1]").unwrap();
    let rows = ctx
        .sql(
            r#"SELECT e.id, e.name, CAST(e.at AS BIGINT) / 1000000 FROM (
                 SELECT from_json(v, 'id BIGINT, name STRING, at TIMESTAMP') AS e FROM (
                   VALUES ('{"id": 1, "name": "ann", "at": "2026-01-01T00:00:01Z"}'),
                          ('not json'), (NULL), ('{"id": 3}'),
                          -- Halves of an object in two rows are two malformed rows.
                          ('{"id": 6'), ('}'), ('')
                 ) AS t(v)
               ) ORDER BY e.id NULLS LAST"#,
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(
        rows,
        format!(
            "1\tann\t1767225601\n3\tNULL\tNULL\n{}",
            "NULL\tNULL\tNULL\n".repeat(5)
        )
    );
    // Several fields of one from_json over several batches of rows, each row's own.
    let many: Vec<String> = (0..20_000)
        .map(|i| format!("('{{\"a\": {i}, \"b\": {}}}')", i * 2))
        .collect();
    let sums = ctx
        .sql(&format!(
            "SELECT sum(e['a']), sum(e['b']) FROM (SELECT from_json(v, 'a BIGINT, b BIGINT') AS e \
             FROM (VALUES {}) AS t(v))",
            many.join(", ")
        ))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let total: i64 = (0..20_000).sum();
    assert_eq!(sums, format!("{total}\t{}\n", 2 * total));
    let err = ctx
        .sql("SELECT from_json('{}', 'id WHAT')")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Spark's DDL"), "{err}");
}
