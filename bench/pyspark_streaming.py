"""Apache Spark's side of the streaming benchmark (bench/streaming.sh), the same workloads as
bench/stream-bench on the lines bench/stream-feeder sends, printing the same lines:

- dstream throughput: Spark Streaming's windowed word count, reduceByKeyAndWindow(add, sub)
  over 30 s sliding every 5 s on 1 s batches; the total delay of a batch is measured as its
  last output operation ends (Spark's totalDelay: from the batch time to the end of its jobs);
- structured throughput: Structured Streaming's windowed word count over the socket source,
  window(processing time, 30 s, 5 s) with a 1 s processing-time trigger; each trigger's
  duration stands for a batch's total delay;
- dstream latency: per-batch word counts on 100 ms batches of stamped lines, from a line's
  stamp to its batch's counts reaching the driver."""

import argparse
import time

from spark_session import start_spark, stop_and_reap


def percentile(values, p):
    values = sorted(values)
    return values[round((len(values) - 1) * p)] if values else float("nan")


def dstream_throughput(sc, args):
    from pyspark.streaming import StreamingContext

    ssc = StreamingContext(sc, 1)
    ssc.checkpoint(args.checkpoint)
    # (kind, batch time, count, total delay ms); appended on the driver's callback thread.
    # No lock: with checkpoints on, Spark pickles output functions, and a lock cannot be.
    batches = []

    def record(time_, rdd_count, kind):
        delay = time.time() * 1e3 - time_.timestamp() * 1e3
        batches.append((kind, time_, rdd_count, delay))

    lines = ssc.socketTextStream("127.0.0.1", args.port)
    lines.count().foreachRDD(lambda t, rdd: record(t, sum(rdd.collect()), "input"))
    windows = (
        lines.flatMap(lambda line: line.split(" "))
        .map(lambda w: (w, 1))
        .reduceByKeyAndWindow(
            lambda a, b: a + b, lambda a, b: a - b, 30, 5, filterFunc=lambda kv: kv[1] > 0
        )
    )
    windows.foreachRDD(lambda t, rdd: record(t, rdd.count(), "window"))
    ssc.start()
    ssc.awaitTerminationOrTimeout(args.seconds)
    ssc.stop(stopSparkContext=False, stopGraceFully=False)
    received = sum(c for kind, _, c, _ in batches if kind == "input")
    # A batch's total delay is its last output's: the window when it has one.
    last = {}
    for _, t, _, delay in batches:
        last[t] = max(last.get(t, 0), delay)
    delays = [last[t] for t in sorted(last)][-20:]
    print(
        f"stream-bench: mode=throughput batches={len(last)} records={received} "
        f"rate={received / args.seconds:.0f} "
        f"last20_median_delay_ms={percentile(delays, 0.5):.0f} "
        f"last20_max_delay_ms={percentile(delays, 1.0):.0f}"
    )


def structured_throughput(spark, args):
    from pyspark.sql import functions as F

    # As many state partitions as cores, as ember's state has (Spark's default of 200 makes
    # every trigger run 200 tasks on two cores).
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    lines = (
        spark.readStream.format("socket")
        .option("host", "127.0.0.1")
        .option("port", args.port)
        .load()
    )
    counts = (
        lines.select(F.explode(F.split("value", " ")).alias("word"))
        .withColumn("ts", F.current_timestamp())
        .groupBy(F.window("ts", "30 seconds", "5 seconds"), "word")
        .count()
    )
    query = (
        counts.writeStream.outputMode("update")
        .format("noop")
        .option("checkpointLocation", args.checkpoint)
        .trigger(processingTime="1 second")
        .start()
    )
    query.awaitTermination(args.seconds)
    progress = query.recentProgress
    query.stop()
    # Words, not lines, reach the aggregation: count lines as the socket source's input rows.
    received = sum(p["numInputRows"] for p in progress)
    delays = [p["durationMs"].get("triggerExecution", 0) for p in progress][-20:]
    print(
        f"stream-bench: mode=throughput batches={len(progress)} records={received} "
        f"rate={received / args.seconds:.0f} "
        f"last20_median_delay_ms={percentile(delays, 0.5):.0f} "
        f"last20_max_delay_ms={percentile(delays, 1.0):.0f}"
    )


def dstream_latency(sc, args):
    from pyspark.streaming import StreamingContext

    ssc = StreamingContext(sc, 0.1)
    started = time.time() * 1e3
    latencies = []

    def split(line):
        stamp, _, rest = line.partition(" ")
        return [(w, (1, [int(stamp)])) for w in rest.split(" ")]

    def collect(rdd):
        counts = rdd.collect()
        now = time.time() * 1e3
        for _, (_, stamps) in counts:
            latencies.extend(now - s for s in stamps if s > started + 5000)

    (
        ssc.socketTextStream("127.0.0.1", args.port)
        .flatMap(split)
        .reduceByKey(lambda a, b: (a[0] + b[0], a[1] + b[1]))
        .foreachRDD(collect)
    )
    ssc.start()
    ssc.awaitTerminationOrTimeout(args.seconds)
    ssc.stop(stopSparkContext=False, stopGraceFully=False)
    print(
        f"stream-bench: mode=latency words={len(latencies)} "
        f"median_ms={percentile(latencies, 0.5):.0f} p99_ms={percentile(latencies, 0.99):.0f} "
        f"max_ms={percentile(latencies, 1.0):.0f}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--api", choices=["dstream", "structured"], required=True)
    parser.add_argument("--mode", choices=["throughput", "latency"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=int, required=True)
    parser.add_argument("--checkpoint", default="/tmp/spark-stream-bench")
    args = parser.parse_args()
    spark = start_spark(args.master, f"stream-bench-{args.api}", "2g")
    spark.sparkContext.setLogLevel("ERROR")
    if args.api == "structured":
        structured_throughput(spark, args)
    elif args.mode == "throughput":
        dstream_throughput(spark.sparkContext, args)
    else:
        dstream_latency(spark.sparkContext, args)
    stop_and_reap(spark)


if __name__ == "__main__":
    main()
