#!/usr/bin/env python3
"""The independent engine of ember's TPC-H test: runs queries with DuckDB over the same Parquet
files ember reads, and writes each query's rows as tab-separated lines (NULL for nulls).

    duckdb_oracle.py DATA_DIR OUT_DIR QUERY.sql...

DATA_DIR holds one directory of Parquet files per table (lineitem/, orders/, ...); the rows of
QUERY.sql go to OUT_DIR/QUERY.tsv.
"""

import datetime
import os
import sys

import duckdb

TABLES = ["region", "nation", "supplier", "part", "partsupp", "customer", "orders", "lineitem"]


def text(value):
    if value is None:
        return "NULL"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: duckdb_oracle.py DATA_DIR OUT_DIR QUERY.sql...")
    data, out = sys.argv[1], sys.argv[2]
    db = duckdb.connect()
    for table in TABLES:
        files = os.path.join(data, table, "*.parquet")
        db.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}')")
    for query in sys.argv[3:]:
        with open(query, encoding="utf-8") as f:
            rows = db.execute(f.read()).fetchall()
        name = os.path.splitext(os.path.basename(query))[0]
        with open(os.path.join(out, name + ".tsv"), "w", encoding="utf-8") as f:
            for row in rows:
                f.write("\t".join(text(v) for v in row) + "\n")


if __name__ == "__main__":
    main()
