#!/usr/bin/env python3
"""A text scan on Apache Spark through PySpark, the reference side of ember's HDFS scan benchmark.

    python bench/pyspark_scan.py --mode rdd|df --master 'local[2]' URL

--mode rdd  the RDD program: textFile -> map(len) -> one aggregate of the count and the sum
--mode df   the DataFrame program: read.text -> agg(count(*), sum(length(value)))

Both print `hdfs-scan (spark <mode>, <master>): <lines> lines, <chars> characters; job <s> s,
...`: the lines of URL and their characters, without line ends. One action adds up both, as
ember's `hdfs-scan` does, so the input is read once. An hdfs:// URL resolves through the
configuration in $HADOOP_CONF_DIR, which Spark's launcher puts on the JVM's classpath. Like the
other scripts, it waits for the JVM to exit, so that the JVM is counted in the caller's wall time
and peak memory.
"""

import argparse
import time

from spark_session import start_spark, stop_and_reap


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("rdd", "df"), required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g", help="spark.driver.memory (default 4g)")
    parser.add_argument("url")
    return parser.parse_args()


def scan_rdd(sc, url):
    """Lines and characters: Python's len counts code points, as ember's hdfs-scan does."""
    return (
        sc.textFile(url)
        .map(len)
        .aggregate(
            (0, 0),
            lambda acc, n: (acc[0] + 1, acc[1] + n),
            lambda a, b: (a[0] + b[0], a[1] + b[1]),
        )
    )


def scan_df(spark, url):
    """Lines and characters: Spark's length counts characters."""
    from pyspark.sql import functions as F

    row = spark.read.text(url).agg(F.count(F.lit(1)), F.sum(F.length("value"))).first()
    # sum() of no rows is null.
    return row[0], row[1] or 0


def main():
    args = parse_args()
    started = time.monotonic()
    spark = start_spark(args.master, f"hdfs-scan-{args.mode}", args.driver_memory)
    ready = time.monotonic()
    if args.mode == "rdd":
        lines, chars = scan_rdd(spark.sparkContext, args.url)
    else:
        lines, chars = scan_df(spark, args.url)
    done = time.monotonic()
    stop_and_reap(spark)
    stopped = time.monotonic()
    print(
        f"hdfs-scan (spark {args.mode}, {args.master}): {lines} lines, {chars} characters; "
        f"job {done - ready:.2f} s, start-up {ready - started:.2f} s, "
        f"shutdown {stopped - done:.2f} s, total {stopped - started:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
