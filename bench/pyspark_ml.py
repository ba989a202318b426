"""Apache Spark's side of the machine-learning benchmark (bench/ml.sh): the same fits as
`ml` (bench/src/bin/ml.rs) on the same Parquet, with pip pyspark.

    pyspark_ml.py [--master local[2]] logistic-regression --input DIR [--iterations 20]
    pyspark_ml.py [--master local[2]] linear-regression --input DIR
    pyspark_ml.py [--master local[2]] kmeans --input DIR [--k 10] [--iterations 20]

Prints `ml (spark): <algorithm> fit <secs> s; <figure>=<value>` as `ml` does.
"""
import argparse
import time

from spark_session import start_spark, stop_and_reap


def assembled(spark, path):
    from pyspark.ml.feature import VectorAssembler

    rows = spark.read.parquet(path)
    features = [c for c in rows.columns if c.startswith("f")]
    return VectorAssembler(inputCols=features, outputCol="features").transform(rows).select(
        "label", "features"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("algorithm", choices=["logistic-regression", "linear-regression", "kmeans"])
    parser.add_argument("--input", required=True)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    spark = start_spark(args.master, "ml-bench", args.driver_memory)
    data = assembled(spark, args.input)
    started = time.monotonic()
    if args.algorithm == "logistic-regression":
        from pyspark.ml.classification import LogisticRegression

        model = LogisticRegression(maxIter=args.iterations).fit(data)
        secs = time.monotonic() - started
        scored = model.transform(data)
        accuracy = scored.filter("prediction = label").count() / data.count()
        figure = f"accuracy={accuracy:.6f}"
    elif args.algorithm == "linear-regression":
        from pyspark.ml.evaluation import RegressionEvaluator
        from pyspark.ml.regression import LinearRegression

        model = LinearRegression().fit(data)
        secs = time.monotonic() - started
        rmse = RegressionEvaluator().evaluate(model.transform(data))
        figure = f"rmse={rmse:.6f}"
    else:
        from pyspark.ml.clustering import KMeans

        model = KMeans(k=args.k, maxIter=args.iterations, seed=1).fit(data)
        secs = time.monotonic() - started
        figure = f"cost={model.summary.trainingCost:.6e}"
    print(f"ml (spark): {args.algorithm} fit {secs:.3f} s; {figure}", flush=True)
    stop_and_reap(spark)


if __name__ == "__main__":
    main()
