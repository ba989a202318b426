#!/usr/bin/env bash
# Job-latency benchmark: the fixed cost of a trivial job and of a small task, ember on
# local[2] and local-cluster[2,1,1024] against Apache Spark's RDD API (PySpark) on local[2],
# in one run; and, when asked, ember on the mini cluster's YARN (client mode, two executors of
# one core). What a streaming batch or one iteration of an algorithm pays before any work.
# See bench/README.md.
#
#   bench/job_latency.sh                       # 1,000 jobs and 2,496 tasks per engine
#   BENCH_JOBS=200 bench/job_latency.sh        # quicker
#   BENCH_ENGINES="ember ember-cluster" bench/job_latency.sh
#   scripts/minicluster up && BENCH_ENGINES="ember-yarn spark-rdd" bench/job_latency.sh
#
# Environment:
#   BENCH_JOBS       trivial jobs timed per engine (default 1000)
#   BENCH_TASKS      small tasks timed per engine, in jobs of 16 (default 2496)
#   BENCH_ENGINES    from: ember ember-cluster ember-yarn spark-rdd (default: all but
#                    ember-yarn, which needs the mini cluster running)
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_JOBS=${BENCH_JOBS:-1000}
BENCH_TASKS=${BENCH_TASKS:-2496}
BENCH_ENGINES=${BENCH_ENGINES:-"ember ember-cluster spark-rdd"}
# Settings common.sh checks that this benchmark has no use for.
BENCH_BYTES=1 BENCH_SEED=0 BENCH_RUNS=1
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
check_settings ember ember-cluster ember-yarn spark-rdd
[[ $BENCH_JOBS =~ ^[1-9][0-9]*$ ]] || die "BENCH_JOBS must be a positive integer"
[[ $BENCH_TASKS =~ ^[1-9][0-9]*$ ]] || die "BENCH_TASKS must be a positive integer"

bin=$(release_dir)
step "building job-latency"
cargo build --release --quiet -p ember-bench --bin job-latency
for engine in "${engines[@]}"; do
    case $engine in
    spark-rdd) ensure_pyspark ;;
    ember-yarn)
        step "building ember"
        cargo build --release --quiet -p ember-cli
        "$root/scripts/minicluster" status | grep -q 'minicluster: running' ||
            die "ember-yarn needs the mini cluster: scripts/minicluster up"
        ;;
    esac
done

results=$(mktemp -d)
for engine in "${engines[@]}"; do
    step "$engine"
    case $engine in
    ember) "$bin/job-latency" --master 'local[2]' --jobs "$BENCH_JOBS" --tasks "$BENCH_TASKS" ;;
    ember-cluster)
        "$bin/job-latency" --master 'local-cluster[2,1,1024]' --jobs "$BENCH_JOBS" \
            --tasks "$BENCH_TASKS"
        ;;
    ember-yarn)
        (
            eval "$("$root/scripts/minicluster" env)"
            "$bin/ember" submit --master yarn --deploy-mode client --num-executors 2 \
                --executor-cores 1 --executor-memory 1g "$bin/job-latency" \
                --jobs "$BENCH_JOBS" --tasks "$BENCH_TASKS"
        )
        ;;
    spark-rdd)
        SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python" "$venv/bin/python" \
            "$bench_dir/pyspark_job_latency.py" --master 'local[2]' --jobs "$BENCH_JOBS" \
            --tasks "$BENCH_TASKS"
        ;;
    esac | sed "s/^/$engine /" | tee -a "$results/lines"
done

# ---- report: medians and per-task costs side by side, as ratios to Spark ----------------
field() { grep "^$1 $2:" "$results/lines" | sed -E "s/.*$3=([0-9.]+).*/\1/"; }
echo
printf '%-14s %12s %10s %14s\n' engine median_ms p99_ms per_task_ms
for engine in "${engines[@]}"; do
    printf '%-14s %12s %10s %14s\n' "$engine" "$(field "$engine" job-latency median_ms)" \
        "$(field "$engine" job-latency p99_ms)" "$(field "$engine" task-cost per_task_ms)"
done
if grep -q '^spark-rdd ' "$results/lines"; then
    spark=$(field spark-rdd job-latency median_ms)
    for engine in "${engines[@]}"; do
        [[ $engine == spark-rdd ]] && continue
        mine=$(field "$engine" job-latency median_ms)
        awk -v e="$engine" -v m="$mine" -v s="$spark" \
            'BEGIN { printf "%s: a trivial job is %.0fx faster than Spark RDD on local[2]\n", e, s / m }'
    done
fi
rm -rf "$results"
exit 0
}
