#!/usr/bin/env bash
# Nexmark benchmark: Structured Streaming from and to Kafka (the local KRaft broker of
# scripts/kafka), ember next to Apache Spark with spark-sql-kafka-0-10, on local[2], in one run.
# Throughput: each query reads a backlog of BENCH_EVENTS bids (4 partitions) to its end, at most
# 200,000 a batch, writing to a Kafka topic; events a second per core = events / query seconds
# / 2. Latency: q1 on a 200 ms trigger while bids arrive at BENCH_LATENCY_RATE a second; the
# time from a bid's stamp to its output record being readable (read_committed), p50 and p99.
# q8 (a windowed join of new persons and their auctions) reads a backlog of BENCH_EVENTS events
# of Nexmark's mix (2% persons, 6% auctions, the rest bids) instead. See bench/README.md.
#
#   bench/nexmark.sh
#   BENCH_EVENTS=500000 BENCH_QUERIES="q1 q5" bench/nexmark.sh     # quicker
#
# Environment:
#   BENCH_ENGINES        from: ember spark (default: both)
#   BENCH_QUERIES        from: q0 q1 q2 q5 q8 (default: all)
#   BENCH_EVENTS         bids in the backlog (default 2000000)
#   BENCH_LATENCY_RATE   bids a second in the latency runs (default 20000)
#   BENCH_SECONDS        how long each latency run lasts (default 40)
#   CARGO_TARGET_DIR     where cargo puts the binaries (default: target)
set -euo pipefail
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_ENGINES=${BENCH_ENGINES:-"ember spark"}
BENCH_QUERIES=${BENCH_QUERIES:-"q0 q1 q2 q5 q8"}
BENCH_EVENTS=${BENCH_EVENTS:-2000000}
BENCH_LATENCY_RATE=${BENCH_LATENCY_RATE:-20000}
BENCH_SECONDS=${BENCH_SECONDS:-40}
# Spark's Kafka connector is published for Spark 4.2.0, not 4.3.0: Spark runs at that version.
SPARK_KAFKA_VERSION=4.2.0
BENCH_BYTES=1 BENCH_SEED=0 BENCH_RUNS=1
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
check_settings ember spark
for setting in BENCH_EVENTS BENCH_LATENCY_RATE BENCH_SECONDS; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || die "$setting must be a positive integer"
done
for query in $BENCH_QUERIES; do
    [[ " q0 q1 q2 q5 q8 " == *" $query "* ]] || die "unknown query $query (q0 q1 q2 q5 q8)"
done

bin=$(release_dir)
step "building nexmark, nexmark-ember and measure"
cargo build --release --quiet -p ember-bench --bin nexmark --bin nexmark-ember --bin measure
spark_venv=$bench_dir/.venv-kafka
if [[ " ${engines[*]} " == *" spark "* ]]; then
    command -v java >/dev/null || die "Spark needs Java 17 or later on PATH"
    if ! "$spark_venv/bin/python" -c "import sys, pyspark; sys.exit(pyspark.__version__ != '$SPARK_KAFKA_VERSION')" 2>/dev/null; then
        step "installing pyspark==$SPARK_KAFKA_VERSION into $spark_venv"
        [[ -x $spark_venv/bin/python ]] || python3 -m venv "$spark_venv"
        "$spark_venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyspark==$SPARK_KAFKA_VERSION"
    fi
fi
scripts/kafka status >/dev/null 2>&1 || scripts/kafka up
eval "$(scripts/kafka env)"
bootstrap=$EMBER_KAFKA_BOOTSTRAP_SERVERS
make_results_dir
stamp=$(basename "$results")

# engine_command ENGINE QUERY MODE IN OUT: the command that runs ENGINE's side.
engine_command() {
    local checkpoint
    checkpoint=$(mktemp -d)
    rmdir "$checkpoint"
    case $1 in
    ember) echo "$bin/nexmark-ember --bootstrap $bootstrap --topic $4 --out-topic $5 --query $2 --mode $3 --seconds $BENCH_SECONDS --checkpoint $checkpoint" ;;
    spark) echo "$spark_venv/bin/python $bench_dir/pyspark_nexmark.py --bootstrap $bootstrap --topic $4 --out-topic $5 --query $2 --mode $3 --seconds $BENCH_SECONDS --checkpoint $checkpoint --kafka-package org.apache.spark:spark-sql-kafka-0-10_2.13:$SPARK_KAFKA_VERSION" ;;
    esac
}

backlog=nexmark-$stamp
step "producing $BENCH_EVENTS bids into $backlog"
"$bin/nexmark" --bootstrap "$bootstrap" produce --topic "$backlog" --partitions 4 --events "$BENCH_EVENTS"
if [[ " $BENCH_QUERIES " == *" q8 "* ]]; then
    step "producing $BENCH_EVENTS events of Nexmark's mix into $backlog-mix"
    "$bin/nexmark" --bootstrap "$bootstrap" produce --topic "$backlog-mix" --partitions 4 --events "$BENCH_EVENTS" --mix
fi

for query in $BENCH_QUERIES; do
    input=$backlog
    [[ $query == q8 ]] && input=$backlog-mix
    for engine in "${engines[@]}"; do
        out=nexmark-$stamp-$engine-$query
        "$bin/nexmark" --bootstrap "$bootstrap" create --topic "$out" --partitions 4
        # shellcheck disable=SC2046 # the command's words
        run "$engine-$query" $(engine_command "$engine" "$query" throughput "$input" "$out")
    done
done

for engine in "${engines[@]}"; do
    in=nexmark-$stamp-$engine-latency-in
    out=nexmark-$stamp-$engine-latency-out
    "$bin/nexmark" --bootstrap "$bootstrap" create --topic "$in" --partitions 4
    "$bin/nexmark" --bootstrap "$bootstrap" create --topic "$out" --partitions 4
    # The engine starts first: it reads from the topic's end.
    # shellcheck disable=SC2046 # the command's words
    "$bin/measure" --report "$results/$engine-latency.run" -- $(engine_command "$engine" q1 latency "$in" "$out") \
        >"$results/$engine-latency.log" 2>&1 &
    engine_pid=$!
    sleep 15
    "$bin/nexmark" --bootstrap "$bootstrap" latency --topic "$out" --seconds $((BENCH_SECONDS - 12)) --skip 8 \
        >"$results/$engine-latency.measured" 2>&1 &
    reader=$!
    "$bin/nexmark" --bootstrap "$bootstrap" feed --topic "$in" --rate "$BENCH_LATENCY_RATE" --seconds $((BENCH_SECONDS - 15)) \
        >"$results/$engine-latency.feed" 2>&1
    wait "$reader"
    wait "$engine_pid" || die "$engine's latency run failed: see $results/$engine-latency.log"
done

field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1" | tail -n 1; }
summary=$results/summary.txt
{
    echo "Nexmark on Kafka, local[2] ($(nproc) cores), $BENCH_EVENTS events a query; $(date -u +%Y-%m-%dT%H:%MZ)"
    describe_machine
    echo "spark:    pyspark $SPARK_KAFKA_VERSION with spark-sql-kafka-0-10_2.13:$SPARK_KAFKA_VERSION"
    echo
    # events/s/core: the backlog's events over the query's time over 2 cores. "rows read" is
    # what the engine's progress reports: Spark's q8 reads the topic once per side of its join.
    printf '%-6s %-6s %10s %10s %16s %12s\n' query engine "rows read" query_s "events/s/core" "tree MiB"
    for query in $BENCH_QUERIES; do
        for engine in "${engines[@]}"; do
            log=$results/$engine-$query.log
            events=$(field "$log" events)
            ms=$(field "$log" query_ms)
            tree=$(sed -n 's/^tree_peak_kib=//p' "$results/$engine-$query.run")
            printf '%-6s %-6s %10s %10.1f %16.0f %12.0f\n' "$query" "$engine" "$events" \
                "$(echo "$ms / 1000" | bc -l)" "$(echo "$BENCH_EVENTS / ($ms / 1000) / 2" | bc -l)" \
                "$(echo "$tree / 1024" | bc -l)"
        done
    done
    echo
    echo "latency, q1 at $BENCH_LATENCY_RATE bids/s, 200 ms trigger (from a bid's stamp to its output being readable):"
    for engine in "${engines[@]}"; do
        echo "  $engine: $(grep '^nexmark: latency' "$results/$engine-latency.measured" | sed 's/^nexmark: latency //')"
    done
} | tee "$summary"
echo "results in $results" >&2
exit
}
