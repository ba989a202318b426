"""The 22 TPC-H queries on Apache Spark (local[2]) or on Sail (a Spark Connect server), for
bench/tpch.sh: every query runs twice, and one line per query gives its name, the seconds of
the first (cold) and second (warm) runs, and its row count.

    python tpch_spark.py --engine spark|sail --data DIR QUERY.sql...
"""

import argparse
import os
import time

from spark_session import start_spark, stop_and_reap

TABLES = ["region", "nation", "supplier", "part", "partsupp", "customer", "orders", "lineitem"]


def sail_session():
    """A Sail server on a free port of this host, and a Spark Connect session to it."""
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    _, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
    return server, spark


def timed(spark, text):
    """Seconds to run `text` and fetch every row, and the number of rows."""
    started = time.perf_counter()
    rows = spark.sql(text).collect()
    return time.perf_counter() - started, len(rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["spark", "sail"], required=True)
    parser.add_argument("--data", required=True, help="directory of <table>.parquet files")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("queries", nargs="+")
    args = parser.parse_args()

    server = None
    if args.engine == "sail":
        server, spark = sail_session()
    else:
        spark = start_spark("local[2]", "tpch", args.driver_memory)
    for table in TABLES:
        path = os.path.join(args.data, f"{table}.parquet")
        spark.read.parquet(path).createOrReplaceTempView(table)
    for query in args.queries:
        name = os.path.splitext(os.path.basename(query))[0]
        with open(query) as f:
            text = f.read().strip().rstrip(";")
        cold, rows = timed(spark, text)
        warm, _ = timed(spark, text)
        print(f"{name}\t{cold:.3f}\t{warm:.3f}\t{rows}", flush=True)
    if server is None:
        stop_and_reap(spark)
    else:
        spark.stop()
        server.stop()


if __name__ == "__main__":
    main()
