"""Apache Spark's side of integration/tests/ml.rs: fits, saves and loads spark.ml models with
pip pyspark, and prints what they are and predict as one line of JSON.

    spark_ml.py lr-fit  <csv> <model path>   fit a logistic regression and save it
    spark_ml.py lr-load <csv> <model path>   load a logistic regression model
    spark_ml.py km-fit  <csv> <model path>   fit k-means (k = 3) and save it
    spark_ml.py km-load <csv> <model path>   load a k-means model

The CSV has columns id, x0, x1, x2 and label; the features are x0, x1, x2 assembled.
"""
import json
import sys

from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession


def training(spark, csv):
    rows = spark.read.option("header", True).option("inferSchema", True).csv(csv)
    return VectorAssembler(inputCols=["x0", "x1", "x2"], outputCol="features").transform(rows)


def describe(model, data):
    rows = model.transform(data).orderBy("id").select("probability", "prediction").collect()
    return {
        "uid": model.uid,
        "coefficients": model.coefficients.toArray().tolist(),
        "intercept": model.intercept,
        "regParam": model.getRegParam(),
        "tol": model.getTol(),
        "probabilities": [r.probability[1] for r in rows],
        "predictions": [r.prediction for r in rows],
    }


def describe_kmeans(model, data):
    rows = model.transform(data).orderBy("id").select("prediction").collect()
    return {
        "uid": model.uid,
        "centers": [c.tolist() for c in model.clusterCenters()],
        "seed": model.getSeed(),
        "predictions": [r.prediction for r in rows],
    }


def main(command, csv, path):
    spark = (SparkSession.builder.master("local[2]")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    data = training(spark, csv)
    if command == "lr-fit":
        model = LogisticRegression(regParam=0.01, tol=1e-10, maxIter=1000).fit(data)
        model.write().overwrite().save(path)
    elif command == "lr-load":
        model = LogisticRegressionModel.load(path)
    elif command == "km-fit":
        model = KMeans(k=3, seed=7).fit(data)
        model.write().overwrite().save(path)
    elif command == "km-load":
        model = KMeansModel.load(path)
    else:
        raise SystemExit(f"unknown command {command}")
    described = describe_kmeans(model, data) if command.startswith("km") else describe(model, data)
    print(json.dumps(described))
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
