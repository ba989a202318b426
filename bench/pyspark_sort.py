#!/usr/bin/env python3
"""Sort on Apache Spark through PySpark, the reference side of ember's sort benchmark.

    python bench/pyspark_sort.py --master 'local[2]' INPUT OUTPUT_DIR

The DataFrame program: read.text -> orderBy(substring(value, 1, 10)) -> write.text. It writes
the input's lines sorted by their first ten bytes into part-* files under OUTPUT_DIR, which
must not exist yet. Like the word-count script, it waits for the JVM to exit, so that the JVM
is counted in the caller's wall time and peak memory.
"""

import argparse
import os
import time

from spark_session import start_spark, stop_and_reap


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g", help="spark.driver.memory (default 4g)")
    parser.add_argument("input")
    parser.add_argument("output_dir")
    args = parser.parse_args()

    started = time.monotonic()
    spark = start_spark(args.master, "sort", args.driver_memory)
    from pyspark.sql import functions as F

    ready = time.monotonic()
    lines = spark.read.text(os.path.abspath(args.input))
    lines.orderBy(F.substring("value", 1, 10)).write.text(os.path.abspath(args.output_dir))
    done = time.monotonic()
    stop_and_reap(spark)
    stopped = time.monotonic()
    print(
        f"sort (spark df, {args.master}): start-up {ready - started:.2f} s, "
        f"job {done - ready:.2f} s, shutdown {stopped - done:.2f} s, "
        f"total {stopped - started:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
