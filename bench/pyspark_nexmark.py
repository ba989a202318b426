"""Apache Spark's side of the Nexmark benchmark (bench/nexmark.sh): the same queries as
bench/nexmark-ember, in Structured Streaming with Spark's Kafka source and sink
(spark-sql-kafka-0-10), printing the same line.

- throughput: the query over the whole backlog in --topic, at most --max-per-trigger bids a
  batch, until it is read (trigger availableNow); the bids read and how long the query ran;
- latency: the query from the topic's end on a 200 ms processing-time trigger for --seconds."""

import argparse
import time

from spark_session import start_spark, stop_and_reap

BID = (
    "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, "
    "dateTime TIMESTAMP, extra STRING, ts BIGINT"
)
EVENT = "type STRING, id BIGINT, name STRING, seller BIGINT, dateTime TIMESTAMP, ts BIGINT"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--query", choices=["q0", "q1", "q2", "q5", "q8"], required=True)
    parser.add_argument("--mode", choices=["throughput", "latency"], required=True)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--max-per-trigger", type=int, default=200000)
    parser.add_argument("--kafka-package", required=True)
    args = parser.parse_args()

    import os

    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--packages {args.kafka_package} pyspark-shell"
    spark = start_spark(args.master, "nexmark", "4g")
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    starting = "earliest" if args.mode == "throughput" else "latest"
    (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", starting)
        .option("maxOffsetsPerTrigger", str(args.max_per_trigger))
        .load()
        .createOrReplaceTempView("kafka_in")
    )
    bids = spark.sql(
        "SELECT b.auction, b.bidder, b.price, b.dateTime, b.ts FROM "
        f"(SELECT from_json(CAST(value AS STRING), '{BID}') AS b FROM kafka_in)"
    )
    bids.createOrReplaceTempView("bids")
    text = lambda *columns: ", ".join(f"CAST({c} AS STRING)" for c in columns)  # noqa: E731
    if args.query == "q0":
        out = spark.sql(
            f"SELECT concat_ws(',', {text('auction', 'bidder', 'price', 'dateTime', 'ts')}) "
            "AS value FROM bids"
        )
    elif args.query == "q1":
        out = spark.sql(
            f"SELECT concat_ws(',', {text('auction', 'bidder', 'CAST(0.908 * price AS BIGINT)', 'ts')}) "
            "AS value FROM bids"
        )
    elif args.query == "q2":
        out = spark.sql(
            f"SELECT concat_ws(',', {text('auction', 'price', 'ts')}) AS value FROM bids "
            "WHERE auction % 123 = 0"
        )
    elif args.query == "q8":
        (
            spark.sql(
                "SELECT e.type, e.id, e.name, e.seller, e.dateTime, e.ts FROM "
                f"(SELECT from_json(CAST(value AS STRING), '{EVENT}') AS e FROM kafka_in)"
            )
            .withWatermark("dateTime", "1 second")
            .createOrReplaceTempView("events")
        )
        out = spark.sql(
            f"SELECT concat_ws(',', {text('p.id', 'p.name', 'p.w.start', 'greatest(p.ts, a.ts)')}) "
            "AS value "
            "FROM (SELECT id, name, window(dateTime, '10 seconds') AS w, ts "
            "      FROM events WHERE type = 'person') p "
            "JOIN (SELECT seller, window(dateTime, '10 seconds') AS w, ts "
            "      FROM events WHERE type = 'auction') a "
            "ON p.id = a.seller AND p.w = a.w"
        )
    else:
        from pyspark.sql.functions import col, count, lit, window

        (
            bids.withWatermark("dateTime", "1 second")
            .groupBy(window(col("dateTime"), "10 seconds"), col("auction"))
            .agg(count(lit(1)).alias("bids"))
            .createOrReplaceTempView("per_window")
        )
        out = spark.sql(
            f"SELECT concat_ws(',', {text('auction', 'bids', 'window.end')}) AS value "
            "FROM per_window"
        )
    writer = (
        out.writeStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("topic", args.out_topic)
        .option("checkpointLocation", args.checkpoint)
    )
    if args.mode == "throughput":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime="200 milliseconds")
    began = time.time()
    query = writer.start()
    if args.mode == "throughput":
        query.awaitTermination()
    else:
        query.awaitTermination(args.seconds)
        query.stop()
    took = time.time() - began
    progress = query.recentProgress
    events = sum(p["numInputRows"] for p in progress)
    print(
        f"nexmark: engine=spark query={args.query.upper()} mode={args.mode.capitalize()} "
        f"events={events} batches={len(progress)} query_ms={took * 1000:.0f}"
    )
    stop_and_reap(spark)


if __name__ == "__main__":
    main()
