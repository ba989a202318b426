#!/usr/bin/env python3
"""Word count on Apache Spark through PySpark, the reference side of ember's benchmark.

    python bench/pyspark_wordcount.py --mode df|rdd --master 'local[2]' INPUT OUTPUT_DIR

--mode df   the DataFrame program: read.text -> split(value, '\\s+') -> explode ->
            drop empty words -> groupBy(word).count() -> write.text("word<TAB>count")
--mode rdd  the RDD program: textFile -> flatMap(split) -> map((w, 1)) ->
            reduceByKey(add) -> map("w<TAB>c") -> saveAsTextFile

Both write `word<TAB>count` lines into part-* files under OUTPUT_DIR, which must not
exist yet. The time measured by the caller includes starting and stopping the JVM:
this script waits for the JVM to exit before it returns, so that the JVM is counted in
the caller's wall time and peak memory (`/usr/bin/time -v`).
"""

import argparse
import os
import time
from operator import add

from spark_session import start_spark, stop_and_reap


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("df", "rdd"), required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g", help="spark.driver.memory (default 4g)")
    parser.add_argument("input")
    parser.add_argument("output_dir")
    return parser.parse_args()


def word_count_df(spark, input_path, output_dir):
    from pyspark.sql import functions as F

    lines = spark.read.text(input_path)
    words = lines.select(F.explode(F.split(F.col("value"), r"\s+")).alias("word"))
    counts = words.filter(F.col("word") != "").groupBy("word").count()
    counts.select(
        F.concat_ws("\t", F.col("word"), F.col("count").cast("string")).alias("value")
    ).write.text(output_dir)


def word_count_rdd(sc, input_path, output_dir):
    counts = (
        sc.textFile(input_path)
        .flatMap(lambda line: line.split())
        .map(lambda word: (word, 1))
        .reduceByKey(add)
    )
    counts.map(lambda pair: f"{pair[0]}\t{pair[1]}").saveAsTextFile(output_dir)


def main():
    args = parse_args()
    started = time.monotonic()
    spark = start_spark(args.master, f"wordcount-{args.mode}", args.driver_memory)
    ready = time.monotonic()

    input_path = os.path.abspath(args.input)
    output_dir = os.path.abspath(args.output_dir)
    if args.mode == "df":
        word_count_df(spark, input_path, output_dir)
    else:
        word_count_rdd(spark.sparkContext, input_path, output_dir)
    done = time.monotonic()

    stop_and_reap(spark)
    stopped = time.monotonic()
    print(
        f"wordcount (spark {args.mode}, {args.master}): start-up {ready - started:.2f} s, "
        f"job {done - ready:.2f} s, shutdown {stopped - done:.2f} s, "
        f"total {stopped - started:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
