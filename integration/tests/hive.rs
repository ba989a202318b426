//! Tables of a real Hive Metastore (scripts/metastore: Hive 2.3's metastore on Derby, its
//! warehouse on the mini cluster's HDFS), created and filled by Apache Spark with Hive support
//! (pip pyspark, integration/hive/spark_tables.py), read by ember with Spark's results.

use ember_integration::{context, unique};
use ember_sql::hive::CatalogMetrics;
use ember_sql::SqlContextExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The metastore the tests use (`eval "$(scripts/metastore env)"`).
fn metastore_uris() -> String {
    std::env::var("EMBER_METASTORE_URIS").expect(
        "EMBER_METASTORE_URIS is not set: run scripts/metastore up and eval \"$(scripts/metastore env)\"",
    )
}

/// Spark's tables, made once per run in a database of their own: (database, directory of
/// Spark's rows per table).
fn spark_tables() -> &'static (String, PathBuf) {
    static TABLES: OnceLock<(String, PathBuf)> = OnceLock::new();
    TABLES.get_or_init(|| {
        let db = unique("shop").replace('-', "_");
        let out = spark("create", &[&db]);
        (db, out)
    })
}

/// Runs integration/hive/spark_tables.py `command` with `args`; the directory of its rows.
fn spark(command: &str, args: &[&str]) -> PathBuf {
    let out = std::env::temp_dir().join(unique("spark-rows"));
    let python = std::env::var("EMBER_SPARK_PYTHON")
        .expect("EMBER_SPARK_PYTHON is not set: eval \"$(scripts/metastore env)\"");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hive/spark_tables.py");
    let run = std::process::Command::new(python)
        .arg(script)
        .arg(command)
        .arg(&out)
        .args(args)
        .output()
        .expect("Spark's Python runs");
    assert!(
        run.status.success(),
        "Spark failed to {command} {args:?}:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Spark's rows of table `name` (sorted lines).
fn spark_rows(name: &str) -> String {
    let (db, out) = spark_tables();
    std::fs::read_to_string(out.join(format!("{db}.{name}.txt"))).unwrap()
}

fn sorted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn hive_context(master: &str) -> ember_core::Context {
    context(master, &[("ember.hive.metastore.uris", &metastore_uris())])
}

/// Every kind of table Spark made reads in ember as Spark reads it.
fn tables_read_as_spark_reads_them(master: &str) {
    let (db, _) = spark_tables();
    let ctx = hive_context(master);
    for table in [
        "hive_parquet",
        "hive_orc",
        "hive_text",
        "hive_text_nested",
        "hive_text_escaped",
        "sales",
        "ds_parquet",
        "ds_csv",
    ] {
        let rows = ctx
            .sql(&format!("SELECT * FROM {db}.{table}"))
            .unwrap()
            .tab_rows(false)
            .unwrap();
        assert_eq!(sorted(&rows), spark_rows(table), "{db}.{table} on {master}");
    }
}

#[test]
fn spark_tables_read_the_same_in_ember() {
    tables_read_as_spark_reads_them("local[2]");
}

#[test]
fn spark_tables_read_the_same_on_executors() {
    tables_read_as_spark_reads_them("local-cluster[2,1,1024]");
}

/// Spark's rows of `sales` whose fields (id, amount, ds, h) `keep` holds of.
fn spark_sales_where(keep: &dyn Fn(&[&str]) -> bool) -> String {
    spark_rows("sales")
        .lines()
        .filter(|l| keep(&l.split('\t').collect::<Vec<_>>()))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A filter on `sales`, the partitions the metastore returns for it, and the rows it keeps.
type SalesCase = (&'static str, u64, Box<dyn Fn(&[&str]) -> bool>);

#[test]
fn partition_filters_fetch_only_the_partitions_read() {
    let (db, _) = spark_tables();
    let ctx = hive_context("local[2]");
    // sales has seven partitions (three days by two hours, and a null day), one file each.
    let cases: [SalesCase; 4] = [
        ("ds = '2024-01-02'", 2, Box::new(|f| f[2] == "2024-01-02")),
        (
            "h = 12 AND ds IN ('2024-01-01', '2024-01-03')",
            2,
            Box::new(|f| f[3] == "12" && (f[2] == "2024-01-01" || f[2] == "2024-01-03")),
        ),
        // The metastore compares the null day's stored name, __HIVE_DEFAULT_PARTITION__, as
        // text, so it returns that partition too; its rows are filtered out above the scan.
        (
            "ds > '2024-01-01' AND amount > 4",
            5,
            Box::new(|f| {
                f[2] != "NULL" && f[2] > "2024-01-01" && f[1].parse::<f64>().unwrap() > 4.0
            }),
        ),
        ("amount >= 0", 7, Box::new(|_| true)),
    ];
    for (filter, partitions, keep) in cases {
        let before = CatalogMetrics::of(&ctx).unwrap();
        let rows = ctx
            .sql(&format!("SELECT * FROM {db}.sales WHERE {filter}"))
            .unwrap()
            .tab_rows(false)
            .unwrap();
        let after = CatalogMetrics::of(&ctx).unwrap();
        assert_eq!(
            after.partitions_fetched - before.partitions_fetched,
            partitions,
            "partitions fetched for {filter}"
        );
        assert_eq!(
            after.files_discovered - before.files_discovered,
            partitions,
            "files read for {filter}"
        );
        assert_eq!(sorted(&rows), spark_sales_where(&keep), "{filter}");
    }
}

#[test]
fn catalog_commands_see_the_metastore() {
    let (db, _) = spark_tables();
    let ctx = hive_context("local[2]");
    let databases = ctx.sql("SHOW DATABASES").unwrap().tab_rows(false).unwrap();
    assert!(databases.lines().any(|l| l == db), "{databases}");
    assert!(databases.lines().any(|l| l == "default"), "{databases}");
    ctx.sql("CREATE TEMPORARY VIEW seen AS SELECT 1 AS one")
        .unwrap();
    let tables = ctx
        .sql(&format!("SHOW TABLES IN {db} LIKE 'hive_p*|sales'"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    // Temporary views come with every listing, as in Spark, when they match.
    assert_eq!(
        tables,
        format!("{db}\thive_parquet\tfalse\n{db}\tsales\tfalse\n")
    );
    ctx.sql(&format!("USE {db}")).unwrap();
    let count = ctx
        .sql("SELECT count(*) FROM sales")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(count, "7\n");
    assert_eq!(ctx.table("seen").unwrap().count().unwrap(), 1);
    assert_eq!(
        ctx.table(&format!("{db}.ds_csv")).unwrap().count().unwrap(),
        2
    );
    // As Spark's DESCRIBE prints it: Hive's type names, then the partition columns.
    let described = ctx.sql("DESCRIBE sales").unwrap().tab_rows(false).unwrap();
    assert_eq!(
        described,
        "id\tint\tNULL\namount\tdouble\tNULL\nds\tstring\tNULL\nh\tint\tNULL\n\
         # Partition Information\t\t\n# col_name\tdata_type\tcomment\n\
         ds\tstring\tNULL\nh\tint\tNULL\n"
    );
    let described = ctx
        .sql(&format!("DESCRIBE TABLE {db}.hive_parquet"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert!(
        described.contains("price\tdecimal(10,2)\tNULL\n"),
        "{described}"
    );
    assert!(
        described.contains("attrs\tmap<string,int>\tNULL\n"),
        "{described}"
    );
}

#[test]
fn missing_tables_databases_and_metastores_are_named() {
    let (db, _) = spark_tables();
    let ctx = hive_context("local[2]");
    let err = ctx
        .sql(&format!("SELECT * FROM {db}.nope"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{db}`.`nope` cannot be found"
        )),
        "{err}"
    );
    let err = ctx.sql("SELECT * FROM nodb.t").unwrap_err().to_string();
    assert!(
        err.contains("[SCHEMA_NOT_FOUND] The schema `nodb` cannot be found"),
        "{err}"
    );
    let err = ctx.sql("USE nodb").unwrap_err().to_string();
    assert!(err.contains("[SCHEMA_NOT_FOUND]"), "{err}");
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = context(
        "local[1]",
        &[(
            "ember.hive.metastore.uris",
            &format!("thrift://127.0.0.1:{port}"),
        )],
    );
    let err = down
        .sql(&format!("SELECT * FROM {db}.sales"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot reach the Hive Metastore"), "{err}");
    assert!(err.contains("ember.hive.metastore.uris"), "{err}");
    // Queries that need no table still run.
    assert_eq!(
        down.sql("SELECT 1").unwrap().tab_rows(false).unwrap(),
        "1\n"
    );
}

/// Spark's rows of tables `tables` (`db.name`) that ember made, sorted lines each.
fn spark_reads(tables: &[&str]) -> Vec<String> {
    let out = spark("read", tables);
    tables
        .iter()
        .map(|t| std::fs::read_to_string(out.join(format!("{t}.txt"))).unwrap())
        .collect()
}

fn run_all(ctx: &ember_core::Context, statements: &[String]) {
    for statement in statements {
        ctx.sql(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

#[test]
fn tables_ember_writes_read_the_same_in_spark() {
    let db = unique("made").replace('-', "_");
    let ctx = hive_context("local[2]");
    run_all(
        &ctx,
        &[
            format!("CREATE DATABASE {db}"),
            format!(
                "CREATE TABLE {db}.items (id INT, name STRING, price DECIMAL(10,2), day DATE, \
                 ts TIMESTAMP, tags ARRAY<STRING>, attrs MAP<STRING,INT>) STORED AS PARQUET"
            ),
            format!(
                "INSERT INTO {db}.items VALUES (1, 'ann', 12.5, DATE '2024-01-02', \
                 TIMESTAMP '2024-01-02 03:04:05', ['a', 'b'], map(['k'], [1])), \
                 (2, NULL, NULL, NULL, NULL, NULL, NULL)"
            ),
            format!(
                "INSERT INTO {db}.items SELECT 3, 'cid', 0.25, DATE '2000-02-29', \
                 TIMESTAMP '2000-02-29 12:00:00.5', [], map(['l', 'm'], [2, 3])"
            ),
            format!(
                "CREATE TABLE {db}.sales (id INT, amount DOUBLE) PARTITIONED BY (ds STRING, h INT) \
                 STORED AS ORC"
            ),
            format!("INSERT INTO {db}.sales PARTITION (ds = '2024-01-01', h) VALUES (1, 1.5, 0), (2, 2.5, 12)"),
            format!("INSERT INTO {db}.sales VALUES (3, 3.5, NULL, 0), (4, 4.5, '2024-01-02', 0)"),
            // Replaces partition (2024-01-01, 0) only.
            format!("INSERT OVERWRITE TABLE {db}.sales PARTITION (ds = '2024-01-01', h = 0) SELECT 5, 5.5"),
            format!(
                "CREATE TABLE {db}.lines ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' \
                 STORED AS TEXTFILE AS SELECT 9 AS id, 'gone' AS name, CAST(NULL AS TIMESTAMP) AS ts, 0.5 AS ratio"
            ),
            format!(
                "INSERT OVERWRITE TABLE {db}.lines VALUES (1, 'a \"quoted\" name', \
                 TIMESTAMP '2024-01-02 03:04:05', -1.25), (2, NULL, NULL, NULL)"
            ),
            format!(
                "CREATE TABLE {db}.nested (id INT, tags ARRAY<STRING>, dims STRUCT<w:DOUBLE,h:DOUBLE>) \
                 ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' COLLECTION ITEMS TERMINATED BY '|' \
                 STORED AS TEXTFILE"
            ),
            format!(
                "CREATE TABLE {db}.escaped (id INT, s STRING) ROW FORMAT DELIMITED \
                 FIELDS TERMINATED BY ',' ESCAPED BY '\\\\' STORED AS TEXTFILE"
            ),
            // DataFusion's SQL keeps a backslash in a literal as it is.
            format!("INSERT INTO {db}.escaped VALUES (1, 'x,y\\z'), (2, NULL), (3, 'a|b,c')"),
            format!(
                "INSERT INTO {db}.nested VALUES (1, ['a', NULL], named_struct('w', 1.5, 'h', 2.0)), \
                 (2, NULL, named_struct('w', 0.0, 'h', NULL)), (3, ['c'], NULL)"
            ),
        ],
    );
    let want = [
        "1\tann\t12.50\t2024-01-02\t2024-01-02T03:04:05\t[a, b]\t{k: 1}\n\
         2\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\n\
         3\tcid\t0.25\t2000-02-29\t2000-02-29T12:00:00.500\t[]\t{l: 2, m: 3}\n",
        "2\t2.5\t2024-01-01\t12\n3\t3.5\tNULL\t0\n4\t4.5\t2024-01-02\t0\n5\t5.5\t2024-01-01\t0\n",
        "1\ta \"quoted\" name\t2024-01-02T03:04:05\t-1.25\n2\tNULL\tNULL\tNULL\n",
        "1\t[a, NULL]\t{w: 1.5, h: 2.0}\n2\tNULL\t{w: 0.0, h: NULL}\n3\t[c]\tNULL\n",
        "1\tx,y\\z\n2\tNULL\n3\ta|b,c\n",
    ];
    let tables = ["items", "sales", "lines", "nested", "escaped"].map(|t| format!("{db}.{t}"));
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    for (table, want) in tables.iter().zip(want) {
        let ours = ctx
            .sql(&format!("SELECT * FROM {table}"))
            .unwrap()
            .tab_rows(false)
            .unwrap();
        assert_eq!(sorted(&ours), want, "ember reading {table}");
    }
    for ((table, want), spark) in tables.iter().zip(want).zip(spark_reads(&tables)) {
        assert_eq!(spark, want, "Spark reading {table}");
    }
}

#[test]
fn a_failed_insert_registers_nothing() {
    let db = unique("failing").replace('-', "_");
    let ctx = hive_context("local[2]");
    run_all(
        &ctx,
        &[
            format!("CREATE DATABASE {db}"),
            format!("CREATE TABLE {db}.sales (id INT, amount DOUBLE) PARTITIONED BY (ds STRING) STORED AS PARQUET"),
            format!("INSERT INTO {db}.sales VALUES (1, 1.0, 'a')"),
        ],
    );
    let location = format!(
        "{}/{db}.db/sales",
        std::env::var("EMBER_METASTORE_WAREHOUSE").expect("EMBER_METASTORE_WAREHOUSE is set")
    );
    let before = ember_integration::names_under(&location);
    // The second row divides by zero while the rows are being written.
    let err = ctx
        .sql(&format!(
            "INSERT INTO {db}.sales SELECT id, 1 / (id - 2), ds FROM (VALUES (1, 'b'), (2, 'c')) AS v(id, ds)"
        ))
        .unwrap_err()
        .to_string();
    assert!(err.to_lowercase().contains("divide by zero"), "{err}");
    assert_eq!(
        ember_integration::names_under(&location),
        before,
        "files of {location}"
    );
    let partitions = ctx
        .sql(&format!("SELECT ds, count(*) FROM {db}.sales GROUP BY ds"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(partitions, "a\t1\n");
    let seen = CatalogMetrics::of(&ctx).unwrap();
    assert_eq!(seen.partitions_fetched, 1, "only partition a is registered");
    // A CREATE TABLE ... AS SELECT whose query fails leaves no table behind.
    let err = ctx
        .sql(&format!(
            "CREATE TABLE {db}.broken AS SELECT 1 / (id - 2) AS x FROM (VALUES (2)) AS v(id)"
        ))
        .unwrap_err()
        .to_string();
    assert!(err.to_lowercase().contains("divide by zero"), "{err}");
    let tables = ctx
        .sql(&format!("SHOW TABLES IN {db}"))
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(tables, format!("{db}\tsales\tfalse\n"));
    // Columns that do not fit are refused before anything is written.
    let err = ctx
        .sql(&format!("INSERT INTO {db}.sales SELECT 1, 2.0"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[INSERT_COLUMN_ARITY_MISMATCH]"), "{err}");
    assert!(err.contains("id, amount, ds"), "{err}");
    // Maps in delimited text are read, not yet written: said before anything is.
    ctx.sql(&format!(
        "CREATE TABLE {db}.kv (id INT, m MAP<STRING,INT>) STORED AS TEXTFILE"
    ))
    .unwrap();
    let err = ctx
        .sql(&format!("INSERT INTO {db}.kv SELECT 1, map(['a'], [1])"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("column m is a map"), "{err}");
    let kv = format!(
        "{}/{db}.db/kv",
        std::env::var("EMBER_METASTORE_WAREHOUSE").unwrap()
    );
    assert!(ember_integration::names_under(&kv).is_empty());
}
