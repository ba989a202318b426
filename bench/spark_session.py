"""Starting and stopping Spark for ember's benchmark scripts, the same way for each."""

import os
import sys


def start_spark(master, app_name, driver_memory):
    """A SparkSession on `master` with the UI off and quiet logs."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (RDD programs) must run the interpreter that has pyspark installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def stop_and_reap(spark):
    """Stops Spark and waits for the JVM process, so its run time and memory are counted."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    spark.stop()
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    if proc is None:
        return
    # The gateway JVM exits when its standard input reaches end-of-file.
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=120)
    except Exception:  # noqa: BLE001 - a JVM that hangs on exit must not hang the benchmark
        proc.kill()
        proc.wait()
