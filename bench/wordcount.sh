#!/usr/bin/env bash
# Word-count benchmark: ember against a hand-written 2-thread Rust program and
# against Apache Spark (PySpark DataFrame and RDD programs), all on local[2]
# over the same generated text, in one run; and ember on local-cluster[2,1,2048]
# (two executor processes, network shuffle) against ember on local[2]. See
# bench/README.md.
#
#   bench/wordcount.sh                          # 500 MB, every engine
#   BENCH_BYTES=50000000 bench/wordcount.sh     # quick run on 50 MB
#   BENCH_ENGINES="baseline ember" bench/wordcount.sh
#
# Environment:
#   BENCH_BYTES      size of the generated input in bytes (default 500000000)
#   BENCH_SEED       seed of the generator (default 42)
#   BENCH_ENGINES    engines to run, in order, from: baseline closures ember ember-cluster
#                    spark-df spark-rdd (default: all)
#   BENCH_RUNS       runs of each engine, interleaved; the table shows each
#                    engine's median run by wall time (default 1)
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# The whole script is one block, read in full before it starts: editing this
# file while a run is going on cannot change what that run does.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_BYTES=${BENCH_BYTES:-500000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ENGINES=${BENCH_ENGINES:-"baseline closures ember ember-cluster spark-df spark-rdd"}
BENCH_RUNS=${BENCH_RUNS:-1}
MASTER='local[2]'
CLUSTER_MASTER='local-cluster[2,1,2048]'
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"

# ---- what to run ---------------------------------------------------------
check_settings baseline closures ember ember-cluster spark-df spark-rdd
want_ember=0 want_spark=0
for engine in "${engines[@]}"; do
    case $engine in
    ember | ember-cluster) want_ember=1 ;;
    spark-df | spark-rdd) want_spark=1 ;;
    esac
done

bin=$(release_dir)
((want_spark)) && ensure_pyspark

# ---- build -------------------------------------------------------------------
packages=(-p ember-bench)
((want_ember)) && packages+=(-p ember-cli)
step "cargo build --release ${packages[*]}"
cargo build --release "${packages[@]}"
if ((want_ember)); then
    [[ -x $bin/ember ]] || die "no ember binary at $bin/ember after the build"
fi

# ---- input ---------------------------------------------------------------------
partial=
trap 'if [[ -n $partial ]]; then rm -f "$partial"; fi' EXIT
generate_text_input
trap - EXIT
sync "$input"
# Every engine reads the input from the page cache, the first one included.
cat "$input" >/dev/null

# ---- runs ---------------------------------------------------------------------------
make_results_dir

# Runs are interleaved (every engine once, then again) so that a slow spell of
# the machine does not fall on one engine only.
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        out=$results/$id
        case $engine in
        baseline)
            run "$id" "$bin/wordcount-baseline" --threads 2 "$input" "$out"
            ;;
        closures)
            run "$id" "$bin/wordcount-closures" --threads 2 "$input" "$out"
            ;;
        ember)
            run "$id" "$bin/ember" submit --master "$MASTER" wordcount "$input" "$out"
            ;;
        ember-cluster)
            run "$id" "$bin/ember" submit --master "$CLUSTER_MASTER" wordcount "$input" "$out"
            ;;
        spark-df | spark-rdd)
            run "$id" env SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python" \
                "$venv/bin/python" "$bench_dir/pyspark_wordcount.py" \
                --mode "${engine#spark-}" --master "$MASTER" "$input" "$out"
            ;;
        esac
    done
done

# ---- check the outputs -----------------------------------------------------------
# The union of a run's part-* files, sorted bytewise.
sorted_output() {
    find "$1" -type f -name 'part-*' -print0 | sort -z | xargs -0r cat | LC_ALL=C sort
}
reference=${engines[0]}
for engine in "${engines[@]}"; do
    [[ $engine == baseline ]] && reference=baseline
done
reference_id=$(run_id "$reference" 1)
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        [[ -d $results/$id ]] || die "$id wrote no output directory $results/$id"
        sorted_output "$results/$id" >"$results/$id.sorted"
        if [[ $id == "$reference_id" ]]; then
            [[ -s $results/$id.sorted ]] || die "$id wrote no word counts"
            continue
        fi
        if ! cmp -s "$results/$reference_id.sorted" "$results/$id.sorted"; then
            echo "---- first differences, $reference_id (<) against $id (>)" >&2
            diff "$results/$reference_id.sorted" "$results/$id.sorted" | head -n 20 >&2 || true
            die "OUTPUT MISMATCH: $id's word counts differ from $reference_id's (see $results)"
        fi
        # Equal to the reference: no need to keep another copy.
        rm "$results/$id.sorted"
    done
done
distinct=$(wc -l <"$results/$reference_id.sorted")
total=$(awk -F'\t' '{ n += $2 } END { printf "%d", n }' "$results/$reference_id.sorted")
step "outputs agree: $distinct distinct words, $total words"

# ---- report ------------------------------------------------------------------------------
# One line per engine, from its median run by wall time: name, wall seconds, peak
# RSS KiB (time -v), process-tree peak KiB, share of the CPUs and CPU seconds used
# by other work during the run.
figures=$results/figures.tsv
figures "${engines[@]}" >"$figures"

summary=$results/summary.txt
{
    echo "ember word-count benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "input:    $input ($(stat -c %s "$input") bytes, $total words, $distinct distinct)"
    echo "masters:  $MASTER, $CLUSTER_MASTER"
    describe_machine
    echo
    awk -F'\t' '
        BEGIN {
            label["baseline"] = "hand-written Rust, 2 threads"
            label["closures"] = "same closures, no engine"
            label["ember"] = "ember local[2]"
            label["ember-cluster"] = "ember local-cluster[2,1,2048]"
            label["spark-df"] = "Spark DataFrame local[2]"
            label["spark-rdd"] = "Spark RDD local[2]"
        }
        {
            name[NR] = $1; wall[NR] = $2; rss[NR] = $3 / 1024; tree[NR] = $4 / 1024
            other[NR] = $5; other_s[NR] = $6; at[$1] = NR
        }
        function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
        END {
            fmt = "%-30s %8s %9s %9s %13s %9s %8s %7s\n"
            printf fmt, "engine", "wall s", "peak RSS", "tree RSS", "time vs", "time vs", "RSS vs", "other"
            printf fmt, "", "", "MiB", "MiB", "hand-written", "ember", "ember", "CPU %"
            for (i = 1; i <= NR; i++) {
                b = ("baseline" in at) ? wall[at["baseline"]] : 0
                e = ("ember" in at) ? wall[at["ember"]] : 0
                m = ("ember" in at) ? rss[at["ember"]] : 0
                printf fmt, label[name[i]], sprintf("%.2f", wall[i]), sprintf("%.0f", rss[i]),
                    sprintf("%.0f", tree[i]), ratio(wall[i], b), ratio(wall[i], e), ratio(rss[i], m),
                    sprintf("%.1f", other[i])
                # A few clock ticks are noise on a short run.
                if (other[i] > 5 && other_s[i] >= 0.25) busy = busy " " name[i]
            }
            print ""
            if (("ember" in at) && ("baseline" in at)) {
                r = wall[at["ember"]] / wall[at["baseline"]]
                printf "ember / hand-written = %.2f (target <= 1.5): %s\n", r, (r <= 1.5 ? "met" : "MISSED")
            }
            if (("ember" in at) && ("ember-cluster" in at)) {
                r = wall[at["ember-cluster"]] / wall[at["ember"]]
                printf "ember local-cluster / local = %.2f (target < 1.3): %s\n", r, (r < 1.3 ? "met" : "MISSED")
            }
            if (("ember" in at) && ("spark-df" in at)) {
                r = wall[at["spark-df"]] / wall[at["ember"]]
                printf "Spark DF / ember = %.2f (target >= 5): %s\n", r, (r >= 5 ? "met" : "MISSED")
            }
            if (busy != "")
                printf "\nWARNING: other work used over 5%% of the CPUs during:%s; those figures are skewed.\n", busy
        }' "$figures"
    echo
    explain_columns
} >"$summary"

echo
cat "$summary"
exit
}
