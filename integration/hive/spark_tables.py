"""Apache Spark's side of ember's Hive Metastore tests: Spark with Hive support, on the
metastore and warehouse of `scripts/metastore env`.

    python spark_tables.py create OUT DB       create database DB and fill its tables; write
                                               each table's rows to OUT/DB.<table>.txt
    python spark_tables.py read OUT TABLE...   write the rows of each TABLE (db.name) to
                                               OUT/<db.name>.txt

Rows are written sorted, one per line, values separated by tabs as ember's `tab_rows` prints
them (NULL for a null, lists as [a, b], maps as {k: v}, structs as {name: value}, fractions of
a second in 3, 6 or 9 digits), so that a test compares ember's text with Spark's values.
"""

import datetime
import decimal
import os
import sys

from pyspark.sql import Row, SparkSession


def session():
    return (
        SparkSession.builder.master("local[2]")
        .appName("ember-hive-fixture")
        .config("spark.sql.catalogImplementation", "hive")
        .config("spark.hadoop.hive.metastore.uris", os.environ["EMBER_METASTORE_URIS"])
        .config("spark.sql.warehouse.dir", os.environ["EMBER_METASTORE_WAREHOUSE"])
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("hive.exec.dynamic.partition.mode", "nonstrict")
        .enableHiveSupport()
        .getOrCreate()
    )


def text(value):
    """A value as ember prints it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        us = value.microsecond
        fraction = "" if not us else f".{us // 1000:03d}" if us % 1000 == 0 else f".{us:06d}"
        return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Row):
        fields = value.asDict(recursive=False)
        return "{" + ", ".join(f"{k}: {text(v)}" for k, v in fields.items()) + "}"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ", ".join(f"{text(k)}: {text(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(text(v) for v in value) + "]"
    return str(value)


def dump(spark, table, out):
    rows = ["\t".join(text(v) for v in row) for row in spark.table(table).collect()]
    with open(os.path.join(out, f"{table}.txt"), "w") as f:
        f.write("".join(line + "\n" for line in sorted(rows)))


ITEMS = """(1, 'ann', 12.50, DATE'2024-01-02', TIMESTAMP'2024-01-02 03:04:05',
             array('a', 'b'), map('k', 1), named_struct('w', 1.5D, 'h', 2.0D)),
            (2, 'bob', NULL, DATE'1999-12-31', TIMESTAMP'1999-12-31 23:59:59.250',
             array(), map('k', 2, 'l', 3), named_struct('w', 0.0D, 'h', NULL)),
            (3, NULL, 0.01, NULL, NULL, NULL, NULL, NULL)"""

ITEM_COLUMNS = """id INT, name STRING, price DECIMAL(10,2), day DATE, ts TIMESTAMP,
                  tags ARRAY<STRING>, attrs MAP<STRING,INT>, dims STRUCT<w:DOUBLE,h:DOUBLE>"""


def create(spark, out, db):
    spark.sql(f"CREATE DATABASE {db}")
    spark.sql(f"USE {db}")
    for fmt in ("parquet", "orc"):
        spark.sql(f"CREATE TABLE hive_{fmt} ({ITEM_COLUMNS}) STORED AS {fmt}")
        spark.sql(f"INSERT INTO hive_{fmt} VALUES {ITEMS}")
    spark.sql(
        """CREATE TABLE hive_text (id INT, name STRING, price DECIMAL(10,2), day DATE,
           ts TIMESTAMP, ok BOOLEAN, ratio DOUBLE)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE"""
    )
    spark.sql(
        """INSERT INTO hive_text VALUES
           (1, 'ann', 12.50, DATE'2024-01-02', TIMESTAMP'2024-01-02 03:04:05', true, 0.5),
           (2, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, 'cid "the third"', 7, DATE'2000-02-29', TIMESTAMP'2000-02-29 12:00:00', false, -1.25)"""
    )
    spark.sql(
        """CREATE TABLE hive_text_nested (id INT, tags ARRAY<STRING>, scores ARRAY<INT>,
           attrs MAP<STRING,INT>, dims STRUCT<w:DOUBLE,h:DOUBLE>)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' COLLECTION ITEMS TERMINATED BY '|'
           MAP KEYS TERMINATED BY ':' STORED AS TEXTFILE"""
    )
    spark.sql(
        """INSERT INTO hive_text_nested VALUES
           (1, array('a', 'b'), array(1, 2), map('k', 1, 'l', 2), named_struct('w', 1.5D, 'h', 2.0D)),
           (2, array('c'), array(3, NULL), map('m', NULL), named_struct('w', 0.0D, 'h', NULL)),
           (3, NULL, NULL, NULL, NULL)"""
    )
    spark.sql(
        r"""CREATE TABLE hive_text_escaped (id INT, s STRING, d DOUBLE)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' ESCAPED BY '\\' STORED AS TEXTFILE"""
    )
    spark.sql(
        r"""INSERT INTO hive_text_escaped VALUES
           (1, 'a,b', 1.5), (2, 'back\\slash', NULL), (3, NULL, 2.0), (4, 'end\\', 3.0)"""
    )
    spark.sql(
        """CREATE TABLE sales (id INT, amount DOUBLE)
           PARTITIONED BY (ds STRING, h INT) STORED AS ORC"""
    )
    sales = [
        (i, i * 1.5, ds, h)
        for i, (ds, h) in enumerate(
            [(d, h) for d in ("2024-01-01", "2024-01-02", "2024-01-03") for h in (0, 12)]
            + [(None, 0)]
        )
    ]
    spark.createDataFrame(sales, "id INT, amount DOUBLE, ds STRING, h INT").createOrReplaceTempView("s")
    spark.sql("INSERT INTO sales PARTITION (ds, h) SELECT id, amount, ds, h FROM s")
    spark.sql(
        "CREATE TABLE ds_parquet (id INT, name STRING, region STRING) USING parquet "
        "PARTITIONED BY (region)"
    )
    spark.sql(
        "INSERT INTO ds_parquet VALUES (1, 'ann', 'eu'), (2, 'bob', 'us'), (3, 'cid', 'eu')"
    )
    spark.sql(
        "CREATE TABLE ds_csv (id INT, city STRING) USING csv OPTIONS (header 'true')"
    )
    spark.sql("INSERT INTO ds_csv VALUES (1, 'Oslo'), (2, 'Lima')")
    tables = ("hive_parquet", "hive_orc", "hive_text", "hive_text_nested", "hive_text_escaped")
    for table in tables + ("sales", "ds_parquet", "ds_csv"):
        dump(spark, f"{db}.{table}", out)


def main():
    command, out, *tables = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    spark = session()
    if command == "create":
        create(spark, out, *tables)
    elif command == "read":
        for table in tables:
            dump(spark, table, out)
    else:
        sys.exit(f"unknown command {command}: create or read")
    spark.stop()


if __name__ == "__main__":
    main()
