"""Apache Spark's side of integration/tests/ml.rs: fits, saves and loads spark.ml models with
pip pyspark, and prints what they are and predict as one line of JSON.

    spark_ml.py lr-fit  <csv> <model path>   fit a logistic regression and save it
    spark_ml.py lr-load <csv> <model path>   load a logistic regression model
    spark_ml.py km-fit  <csv> <model path>   fit k-means (k = 3) and save it
    spark_ml.py km-load <csv> <model path>   load a k-means model
    spark_ml.py pipe-fit  <csv> <model path> fit Tokenizer, HashingTF, IDF and a logistic
                                             regression as a pipeline and save the model
    spark_ml.py pipe-load <csv> <model path> load such a pipeline model
    spark_ml.py linreg-fit  <csv> <dir>      fit an elastic-net linear regression of x2 on
                                             x0, x1 by each solver, saved under <dir>/<solver>
    spark_ml.py linreg-load <csv> <model path> load a linear regression model

The CSV has columns id, x0, x1, x2 and label, the features x0, x1, x2 assembled (x0, x1 for
the linear regressions, whose label is x2 + label); for the pipelines, id, text and label.
"""
import json
import sys

from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import IDF, HashingTF, Tokenizer, VectorAssembler
from pyspark.ml.regression import LinearRegression, LinearRegressionModel
from pyspark.sql import functions as F
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


def describe_pipeline(model, data):
    rows = model.transform(data).orderBy("id").select("probability", "prediction").collect()
    idf, lr = model.stages[2], model.stages[3]
    return {
        "uid": model.uid,
        "stageUids": [stage.uid for stage in model.stages],
        "idf": idf.idf.toArray().tolist(),
        "coefficients": lr.coefficients.toArray().tolist(),
        "intercept": lr.intercept,
        "probabilities": [r.probability[1] for r in rows],
        "predictions": [r.prediction for r in rows],
    }


def regression_data(spark, csv):
    rows = spark.read.option("header", True).option("inferSchema", True).csv(csv)
    rows = rows.withColumn("target", F.col("x2") + F.col("label"))
    return VectorAssembler(inputCols=["x0", "x1"], outputCol="features").transform(rows)


def describe_linear(model, data):
    rows = model.transform(data).orderBy("id").select("prediction").collect()
    return {
        "uid": model.uid,
        "coefficients": model.coefficients.toArray().tolist(),
        "intercept": model.intercept,
        "scale": model.scale,
        "elasticNetParam": model.getElasticNetParam(),
        "predictions": [r.prediction for r in rows],
    }


def linear_regressions(data, path):
    fitted = {}
    for solver in ["normal", "l-bfgs"]:
        model = LinearRegression(labelCol="target", regParam=0.05, elasticNetParam=0.5,
                                 solver=solver, tol=1e-12, maxIter=1000).fit(data)
        model.write().overwrite().save(f"{path}/{solver}")
        fitted[solver] = describe_linear(model, data)
    return fitted


def pipeline():
    return Pipeline(stages=[
        Tokenizer(inputCol="text", outputCol="words"),
        HashingTF(inputCol="words", outputCol="tf", numFeatures=1024),
        IDF(inputCol="tf", outputCol="features"),
        LogisticRegression(regParam=0.01, tol=1e-10, maxIter=1000),
    ])


def main(command, csv, path):
    spark = (SparkSession.builder.master("local[2]")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    if command.startswith("pipe"):
        data = spark.read.option("header", True).option("inferSchema", True).csv(csv)
    elif command.startswith("linreg"):
        data = regression_data(spark, csv)
    else:
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
    elif command == "pipe-fit":
        model = pipeline().fit(data)
        model.write().overwrite().save(path)
    elif command == "pipe-load":
        model = PipelineModel.load(path)
    elif command == "linreg-fit":
        print(json.dumps(linear_regressions(data, path)))
        spark.stop()
        return
    elif command == "linreg-load":
        model = LinearRegressionModel.load(path)
    else:
        raise SystemExit(f"unknown command {command}")
    describers = {
        "km": describe_kmeans, "pi": describe_pipeline, "lr": describe, "li": describe_linear,
    }
    described = describers[command[:2]](model, data)
    print(json.dumps(described))
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
