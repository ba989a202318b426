#!/usr/bin/env bash
# Sort benchmark, TeraSort style: 100-byte records sorted by their 10-byte keys, ember on
# local-cluster[2,1,2048] (executor processes, network shuffle) against Apache Spark's
# DataFrame sort on local[2], over the same generated input, in one run. See bench/README.md.
#
#   bench/sort.sh                            # 2 GB, both engines
#   BENCH_BYTES=200000000 bench/sort.sh      # quick run on 200 MB
#
# Environment:
#   BENCH_BYTES      size of the generated input in bytes (default 2000000000)
#   BENCH_SEED       seed of the generator (default 42)
#   BENCH_ENGINES    engines to run, in order, from: ember-cluster ember spark-df
#                    (default: ember-cluster spark-df)
#   BENCH_RUNS       runs of each engine, interleaved; the table shows each engine's
#                    median run by wall time (default 1)
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_BYTES=${BENCH_BYTES:-2000000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ENGINES=${BENCH_ENGINES:-"ember-cluster spark-df"}
BENCH_RUNS=${BENCH_RUNS:-1}
MASTER='local[2]'
CLUSTER_MASTER='local-cluster[2,1,2048]'
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"

check_settings ember-cluster ember spark-df
want_spark=0
[[ " ${engines[*]} " == *" spark-df "* ]] && want_spark=1
bin=$(release_dir)
((want_spark)) && ensure_pyspark

step "cargo build --release -p ember-bench -p ember-cli"
cargo build --release -p ember-bench -p ember-cli

label="$((BENCH_BYTES / 1000000))MB"
[[ $BENCH_SEED == 42 ]] || label="$label-seed$BENCH_SEED"
input=$bench_dir/data/records-$label.txt
if [[ ! -s $input ]]; then
    step "generating $input"
    mkdir -p "$bench_dir/data"
    trap 'rm -f "$input.partial.$$"' EXIT
    "$bin/gen-records" --bytes "$BENCH_BYTES" --seed "$BENCH_SEED" "$input.partial.$$"
    mv "$input.partial.$$" "$input"
    trap - EXIT
fi
cat "$input" >/dev/null

make_results_dir
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        out=$results/$id
        case $engine in
        ember-cluster) run "$id" "$bin/ember" submit --master "$CLUSTER_MASTER" sort "$input" "$out" ;;
        ember) run "$id" "$bin/ember" submit --master "$MASTER" sort "$input" "$out" ;;
        spark-df)
            run "$id" env SPARK_LOCAL_IP=127.0.0.1 "$venv/bin/python" "$bench_dir/pyspark_sort.py" \
                --master "$MASTER" "$input" "$out"
            ;;
        esac
    done
done

# ---- check the outputs: every run's part files, read in order, hold the input's lines
# with their keys in order; the multiset of lines is checked by a checksum of the sorted input.
step "checking outputs"
want_sum=$(LC_ALL=C sort -S 1G "$input" | md5sum)
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        parts() { find "$results/$id" -type f -name 'part-*' -print0 | sort -z | xargs -0r cat; }
        parts | cut -c1-10 | LC_ALL=C sort -c || die "OUTPUT NOT SORTED: $id (see $results/$id)"
        got_sum=$(parts | LC_ALL=C sort -S 1G | md5sum)
        [[ $got_sum == "$want_sum" ]] || die "OUTPUT MISMATCH: $id lost or changed records"
        rm -rf "${results:?}/$id"
    done
done
records=$(($(stat -c %s "$input") / 100))
step "outputs agree: $records records, sorted by key"

figures=$results/figures.tsv
figures "${engines[@]}" >"$figures"
summary=$results/summary.txt
{
    echo "ember sort benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "input:    $input ($(stat -c %s "$input") bytes, $records records of 100 bytes)"
    echo "masters:  ember $CLUSTER_MASTER (ember: $MASTER), Spark $MASTER"
    describe_machine
    echo
    awk -F'\t' '
        BEGIN {
            label["ember-cluster"] = "ember local-cluster[2,1,2048]"
            label["ember"] = "ember local[2]"
            label["spark-df"] = "Spark DataFrame local[2]"
        }
        {
            name[NR] = $1; wall[NR] = $2; rss[NR] = $3 / 1024; tree[NR] = $4 / 1024
            other[NR] = $5; other_s[NR] = $6; at[$1] = NR
        }
        END {
            fmt = "%-30s %8s %9s %9s %7s\n"
            printf fmt, "engine", "wall s", "peak RSS", "tree RSS", "other"
            printf fmt, "", "", "MiB", "MiB", "CPU %"
            for (i = 1; i <= NR; i++) {
                printf fmt, label[name[i]], sprintf("%.2f", wall[i]), sprintf("%.0f", rss[i]),
                    sprintf("%.0f", tree[i]), sprintf("%.1f", other[i])
                if (other[i] > 5 && other_s[i] >= 0.25) busy = busy " " name[i]
            }
            print ""
            if (("ember-cluster" in at) && ("spark-df" in at)) {
                e = at["ember-cluster"]; s = at["spark-df"]
                t = wall[s] / wall[e]; m = tree[s] / tree[e]
                printf "Spark DF / ember local-cluster: time %.2fx (target >= 3): %s; tree RSS %.2fx (target > 1): %s\n",
                    t, (t >= 3 ? "met" : "MISSED"), m, (m > 1 ? "met" : "MISSED")
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
