#!/usr/bin/env bash
# Streaming benchmark: the highest input rate each engine sustains for a windowed word count
# on 1-second batches (30 s window sliding every 5 s) fed from a TCP socket on local[2], and the
# end-to-end latency of per-batch word counts at a 100 ms batch interval; ember next to Apache
# Spark's DStreams (pyspark.streaming) and Structured Streaming, in one run. See bench/README.md.
#
#   bench/streaming.sh
#   BENCH_SECONDS=40 BENCH_START_RATE=50000 bench/streaming.sh    # quicker
#   BENCH_ENGINES="ember spark-structured" bench/streaming.sh
#
# Environment:
#   BENCH_ENGINES      from: ember spark-dstream spark-structured (default: all)
#   BENCH_START_RATE   the first rate tried, lines a second (default 25000); each next rate
#                      doubles it while the engine sustains it, or halves it until the
#                      engine does when it missed the first
#   BENCH_MIN_RATE     the lowest rate tried (default 1000)
#   BENCH_MAX_RATE     the highest rate tried (default 3200000)
#   BENCH_SECONDS      how long each rate runs (default 45: the window fills in 30)
#   BENCH_LATENCY_RATE lines a second for the latency runs (default 1000)
#   CARGO_TARGET_DIR   where cargo puts the binaries (default: target)
set -euo pipefail
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_ENGINES=${BENCH_ENGINES:-"ember spark-dstream spark-structured"}
BENCH_START_RATE=${BENCH_START_RATE:-25000}
BENCH_MIN_RATE=${BENCH_MIN_RATE:-1000}
BENCH_MAX_RATE=${BENCH_MAX_RATE:-3200000}
BENCH_SECONDS=${BENCH_SECONDS:-45}
BENCH_LATENCY_RATE=${BENCH_LATENCY_RATE:-1000}
# Settings common.sh checks that this benchmark has no use for.
BENCH_BYTES=1 BENCH_SEED=0 BENCH_RUNS=1
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
check_settings ember spark-dstream spark-structured
for setting in BENCH_START_RATE BENCH_MIN_RATE BENCH_MAX_RATE BENCH_SECONDS BENCH_LATENCY_RATE; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || die "$setting must be a positive integer"
done

bin=$(release_dir)
step "building stream-bench, stream-feeder and measure"
cargo build --release --quiet -p ember-bench --bin stream-bench --bin stream-feeder --bin measure
for engine in "${engines[@]}"; do
    [[ $engine == spark-* ]] && ensure_pyspark
done
make_results_dir

# A free port on loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# engine_command ENGINE MODE PORT SECONDS: the command that runs ENGINE's side.
engine_command() {
    local checkpoint
    checkpoint=$(mktemp -d)
    case $1 in
    ember) echo "$bin/stream-bench --mode $2 --port $3 --seconds $4 --checkpoint $checkpoint" ;;
    spark-dstream)
        echo "$venv/bin/python $bench_dir/pyspark_streaming.py --api dstream --mode $2 --port $3 --seconds $4 --checkpoint $checkpoint"
        ;;
    spark-structured)
        echo "$venv/bin/python $bench_dir/pyspark_streaming.py --api structured --mode $2 --port $3 --seconds $4 --checkpoint $checkpoint"
        ;;
    esac
}

# feed_and_run NAME ENGINE MODE RATE [--stamped]: the feeder at RATE and ENGINE reading it;
# leaves NAME.log, NAME.run (measure) and NAME.feed (what the feeder sent).
feed_and_run() {
    local name=$1 engine=$2 mode=$3 rate=$4 stamped=${5:-} port
    port=$(free_port)
    "$bin/stream-feeder" --port "$port" --rate "$rate" --seconds "$BENCH_SECONDS" $stamped \
        >"$results/$name.feed" 2>&1 &
    local feeder=$!
    sleep 0.3
    # shellcheck disable=SC2046 # the command's words
    run "$name" $(engine_command "$engine" "$mode" "$port" $((BENCH_SECONDS + 2)))
    wait "$feeder" || true
}

# keeps_up NAME RATE [strict]: whether run NAME took in at least 97% of RATE and kept the
# median total delay of its last 20 batches under the 1-second interval (it does not fall
# behind: Spark's test of a stable stream); with `strict`, every one of them under it.
keeps_up() {
    local line
    line=$(grep '^stream-bench:' "$results/$1.log") || return 1
    awk -v rate="$2" -v seconds="$BENCH_SECONDS" -v strict="${3:-}" -v line="$line" 'BEGIN {
        n = split(line, f, " ")
        for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        delay = strict ? v["last20_max_delay_ms"] : v["last20_median_delay_ms"]
        exit !(v["records"] >= 0.97 * rate * seconds && delay + 0 < 1000)
    }'
}

field() { grep '^stream-bench:' "$results/$1.log" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
peak_mib() { awk -F= '$1 == "tree_peak_kib" { printf "%.0f", $2 / 1024 }' "$results/$1.run"; }

summary=$results/summary.txt
: >"$summary"
for engine in "${engines[@]}"; do
    # Up by doubling while the engine keeps up; from a first rate it misses, down by halving.
    best="" strict="" rate=$BENCH_START_RATE direction=up
    while ((rate <= BENCH_MAX_RATE && rate >= BENCH_MIN_RATE)); do
        name="$engine.throughput.$rate"
        feed_and_run "$name" "$engine" throughput "$rate"
        report="took in $(field "$name" records) lines, median delay $(field "$name" last20_median_delay_ms) ms, max $(field "$name" last20_max_delay_ms) ms, tree $(peak_mib "$name") MiB"
        if keeps_up "$name" "$rate"; then
            best=$rate
            keeps_up "$name" "$rate" strict && strict=$rate
            echo "$engine: keeps up with $rate lines/s ($report)" >&2
            [[ $direction == down ]] && break
            rate=$((rate * 2))
        else
            echo "$engine: falls behind at $rate lines/s ($report)" >&2
            [[ -n $best ]] && break
            direction=down
            rate=$((rate / 2))
        fi
    done
    echo "throughput $engine ${best:-0} $([[ -n $best ]] && peak_mib "$engine.throughput.$best" || echo -) ${strict:-0}" >>"$summary"
done
for engine in "${engines[@]}"; do
    [[ $engine == spark-structured ]] && continue
    name="$engine.latency"
    feed_and_run "$name" "$engine" latency "$BENCH_LATENCY_RATE" --stamped
    echo "latency $engine $(field "$name" median_ms) $(field "$name" p99_ms) $(peak_mib "$name")" >>"$summary"
done

echo
echo "Highest rate kept up with (lines of 8 words a second; windowed word count, 1 s batches,"
echo "local[2]); 'every batch' is the highest at which every batch also stayed under 1 s:"
awk '$1 == "throughput" { rate[$2] = $3; mem[$2] = $4; strict[$2] = $5 }
    END {
        printf "%-18s %12s %12s %10s %10s %10s\n", "engine", "lines/s", "every batch", "tree MiB", "rate vs", "MiB vs"
        for (e in rate) printf "%-18s %12d %12d %10s %10s %10s\n", e, rate[e], strict[e], mem[e],
            (rate[e] > 0 && rate["ember"] > 0) ? sprintf("%.1fx", rate["ember"] / rate[e]) : "-",
            (mem[e] > 0 && mem["ember"] > 0) ? sprintf("%.2f", mem["ember"] / mem[e]) : "-"
    }' "$summary"
echo
echo "Latency (100 ms batches, $BENCH_LATENCY_RATE lines/s, line written to its count at the driver):"
awk '$1 == "latency" { printf "%-18s median %5s ms   p99 %5s ms   tree %s MiB\n", $2, $3, $4, $5 }' "$summary"
echo "results in $results"
exit
}
