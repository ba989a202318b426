"""Apache Spark's fixed cost of a job and of a task, measured as bench/job-latency measures
ember's: a trivial RDD job (parallelize(1..8, 2).map(x + 1).collect()) many times in one
application, then small tasks in jobs of 16. Prints the same two lines as job-latency."""

import argparse
import statistics
import time

from spark_session import start_spark, stop_and_reap


def percentile(sorted_ms, p):
    return sorted_ms[round((len(sorted_ms) - 1) * p)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=2496)
    parser.add_argument("--tasks-per-job", type=int, default=16)
    args = parser.parse_args()
    spark = start_spark(args.master, "job-latency", "2g")
    sc = spark.sparkContext
    for _ in range(20):
        sc.parallelize(range(1, 9), 2).count()
    latencies = []
    for _ in range(args.jobs):
        started = time.perf_counter()
        got = sc.parallelize(range(1, 9), 2).map(lambda x: x + 1).collect()
        latencies.append((time.perf_counter() - started) * 1e3)
        assert got == list(range(2, 10)), got
    latencies.sort()
    print(
        f"job-latency: master={args.master} jobs={args.jobs} "
        f"median_ms={statistics.median(latencies):.3f} "
        f"p99_ms={percentile(latencies, 0.99):.3f} max_ms={latencies[-1]:.3f}"
    )
    jobs = -(-args.tasks // args.tasks_per_job)
    started = time.perf_counter()
    total = 0
    for _ in range(jobs):
        total += (
            sc.parallelize(range(args.tasks_per_job), args.tasks_per_job)
            .map(lambda x: x * 2)
            .count()
        )
    elapsed = time.perf_counter() - started
    assert total == jobs * args.tasks_per_job
    print(
        f"task-cost: master={args.master} tasks={jobs * args.tasks_per_job} jobs={jobs} "
        f"per_task_ms={elapsed * 1e3 / (jobs * args.tasks_per_job):.3f}"
    )
    stop_and_reap(spark)


if __name__ == "__main__":
    main()
