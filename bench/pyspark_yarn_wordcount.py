#!/usr/bin/env python3
"""Word count for Apache Spark on YARN, the reference side of ember's YARN benchmark.

    spark-submit --master yarn --deploy-mode cluster ... bench/pyspark_yarn_wordcount.py INPUT OUTPUT_DIR

The RDD program of `pyspark_wordcount.py`: textFile -> flatMap(split) -> map((w, 1)) ->
reduceByKey(add) -> map("w<TAB>c") -> saveAsTextFile, writing `word<TAB>count` lines into
part-* files under OUTPUT_DIR, which must not exist yet. In cluster mode this runs as the
driver inside the ApplicationMaster's container: the master, the resources and the Python the
workers run all come from spark-submit, and the summary line goes to the container's stdout.
"""

import sys
import time
from operator import add


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pyspark_yarn_wordcount.py INPUT OUTPUT_DIR")
    input_path, output_dir = sys.argv[1:]
    from pyspark import SparkContext

    started = time.monotonic()
    sc = SparkContext(appName="wordcount-yarn")
    sc.setLogLevel("WARN")
    ready = time.monotonic()
    counts = (
        sc.textFile(input_path)
        .flatMap(lambda line: line.split())
        .map(lambda word: (word, 1))
        .reduceByKey(add)
    )
    counts.map(lambda pair: f"{pair[0]}\t{pair[1]}").saveAsTextFile(output_dir)
    done = time.monotonic()
    sc.stop()
    print(
        f"wordcount (spark rdd, yarn): start-up {ready - started:.2f} s, job {done - ready:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
