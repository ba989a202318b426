"""Apache Spark's side of the file sink test (integration/tests/structured_streaming.rs).

- `read <dir>`: reads the Parquet directory `dir` as Spark does (through `_spark_metadata`
  when it has one) and prints `rows=<count> sum=<sum of id>`;
- `write <json dir> <out dir> <checkpoint>`: a Structured Streaming query of the JSON files of
  `json dir` (id BIGINT, word STRING) to Parquet files in `out dir`, with Spark's file sink,
  until they are all read (trigger availableNow)."""

import os
import sys


def spark_session():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("ember-file-sink-test")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main():
    command = sys.argv[1]
    spark = spark_session()
    if command == "read":
        df = spark.read.parquet(sys.argv[2])
        row = df.selectExpr("count(*) AS n", "sum(id) AS s").collect()[0]
        print(f"rows={row['n']} sum={row['s']}")
    elif command == "write":
        json_dir, out, checkpoint = sys.argv[2:5]
        query = (
            spark.readStream.schema("id BIGINT, word STRING")
            .json(json_dir)
            .writeStream.format("parquet")
            .option("path", out)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
    else:
        raise SystemExit(f"unknown command {command}")
    spark.stop()


if __name__ == "__main__":
    main()
