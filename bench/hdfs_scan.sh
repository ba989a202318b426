#!/usr/bin/env bash
# HDFS scan benchmark: reading generated text from the mini cluster's HDFS, ember against
# Apache Spark (PySpark RDD and DataFrame programs) pointed at the same HADOOP_CONF_DIR, in one
# run. Every engine counts the lines and their characters; the counts must agree with each other
# and with the local copy of the file. See bench/README.md.
#
#   bench/hdfs_scan.sh                           # 1 GB, every engine
#   BENCH_BYTES=100000000 bench/hdfs_scan.sh     # quick run on 100 MB
#   BENCH_ENGINES="ember spark-rdd" bench/hdfs_scan.sh
#
# Environment:
#   BENCH_BYTES      size of the generated input in bytes (default 1000000000)
#   BENCH_SEED       seed of the generator (default 42)
#   BENCH_ENGINES    engines to run, in order, from: ember ember-cluster spark-rdd spark-df
#                    (default: all)
#   BENCH_RUNS       runs of each engine, interleaved; the table shows each engine's median
#                    run by wall time (default 1)
#   EMBER_MINICLUSTER_DIR  the mini cluster to use (default: $TMPDIR/ember-bench-minicluster,
#                    TMPDIR defaulting to /tmp); started, and stopped at the end, unless it
#                    is running already
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_BYTES=${BENCH_BYTES:-1000000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ENGINES=${BENCH_ENGINES:-"ember ember-cluster spark-rdd spark-df"}
BENCH_RUNS=${BENCH_RUNS:-1}
export EMBER_MINICLUSTER_DIR=${EMBER_MINICLUSTER_DIR:-${TMPDIR:-/tmp}/ember-bench-minicluster}
MASTER='local[2]'
CLUSTER_MASTER='local-cluster[2,1,2048]'
# HDFS blocks of 128 MiB, Hadoop's usual size; the mini cluster's own 1 MiB would cut 1 GB
# into a thousand blocks, and as many tasks.
BLOCK_SIZE=134217728
HDFS_DIR=/ember-bench
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
# shellcheck source=bench/minicluster.sh
source "$bench_dir/minicluster.sh"

check_settings ember ember-cluster spark-rdd spark-df
want_spark=0
[[ " ${engines[*]} " == *" spark-"* ]] && want_spark=1
bin=$(release_dir)
((want_spark)) && ensure_pyspark

install_cleanup

step "cargo build --release -p ember-bench"
cargo build --release -p ember-bench

# ---- the local input and what every engine must find in it --------------------------------
generate_text_input
# The oracle counts bytes as characters, which holds for printable ASCII only.
if LC_ALL=C grep -q '[^ -~]' "$input"; then die "$input holds more than printable ASCII"; fi
bytes=$(stat -c %s "$input")
want_lines=$(wc -l <"$input")
want_chars=$((bytes - want_lines))
step "oracle: $want_lines lines, $want_chars characters"

make_results_dir

# ---- the mini cluster and the input on HDFS -------------------------------------------------
use_minicluster
url=$default_fs$HDFS_DIR/$(basename "$input")
put_file "$input" "$url" "$BLOCK_SIZE"
stat_line=$(hdfs_stat "$url")
replication=${stat_line##* }

# ---- runs ----------------------------------------------------------------------------------
# The DataNodes serving the blocks are part of every scan, but they run in the cluster's JVM,
# outside the engine's process tree: their CPU time is counted apart (cluster_ticks).
# scan ID COMMAND...: `run`, then the ticks the cluster used meanwhile into ID.cluster.
scan() {
    local id=$1 before
    before=$(cluster_ticks)
    run "$@"
    echo $(($(cluster_ticks) - before)) >"$results/$id.cluster"
}

for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        case $engine in
        ember) scan "$id" "$bin/hdfs-scan" --master "$MASTER" "$url" ;;
        ember-cluster) scan "$id" "$bin/hdfs-scan" --master "$CLUSTER_MASTER" "$url" ;;
        spark-rdd | spark-df)
            scan "$id" env SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python" \
                "$venv/bin/python" "$bench_dir/pyspark_scan.py" \
                --mode "${engine#spark-}" --master "$MASTER" "$url"
            ;;
        esac
    done
done

# ---- check the counts ----------------------------------------------------------------------
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        got=$(sed -n 's/^hdfs-scan (.*): \([0-9]*\) lines, \([0-9]*\) characters;.*/\1 \2/p' "$results/$id.log")
        [[ $got == "$want_lines $want_chars" ]] ||
            die "OUTPUT MISMATCH: $id counted '${got:-nothing}' (lines characters), the file has '$want_lines $want_chars' (see $results/$id.log)"
    done
done
step "counts agree: $want_lines lines, $want_chars characters"

# ---- report --------------------------------------------------------------------------------
# The median runs' figures (see `figures`), each with its job seconds (from its own report),
# the cluster's CPU ticks and the engine's CPU seconds. On a machine this small, CPU time
# varies far less than wall time when other work runs.
figures=$results/figures.tsv
figures "${engines[@]}" | while IFS=$'\t' read -r engine wall rss tree other other_s id; do
    job=$(sed -n 's/^hdfs-scan .*; job \([0-9.]*\) s.*/\1/p' "$results/$id.log")
    cpu=$(sed -n 's/^tree_cpu_seconds=//p' "$results/$id.run")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$engine" "$wall" "$rss" "$tree" "$other" "$other_s" \
        "$job" "$(cat "$results/$id.cluster")" "$cpu"
done >"$figures"

summary=$results/summary.txt
{
    echo "ember HDFS scan benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "input:    $url"
    echo "          ($bytes bytes, $want_lines lines, $want_chars characters; blocks of $BLOCK_SIZE bytes, replication $replication)"
    echo "masters:  $MASTER, $CLUSTER_MASTER"
    describe_machine
    echo
    awk -F'\t' -v bytes="$bytes" -v hz="$(getconf CLK_TCK)" '
        BEGIN {
            label["ember"] = "ember local[2]"
            label["ember-cluster"] = "ember local-cluster[2,1,2048]"
            label["spark-rdd"] = "Spark RDD local[2]"
            label["spark-df"] = "Spark DataFrame local[2]"
            mb = bytes / 1e6
        }
        {
            name[NR] = $1; wall[NR] = $2; rss[NR] = $3 / 1024; tree[NR] = $4 / 1024
            job[NR] = $7; hdfs[NR] = $8 / hz; cpu[NR] = $9; at[$1] = NR
            # Other work, less the cluster, whose CPU time falls in the same window.
            other_s[NR] = $6 - hdfs[NR]
            if (other_s[NR] < 0) other_s[NR] = 0
            other[NR] = $6 > 0 ? $5 * other_s[NR] / $6 : 0
        }
        function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
        function rate(s) { return s > 0 ? sprintf("%.0f", mb / s) : "-" }
        END {
            fmt = "%-30s %7s %6s %7s %6s %7s %8s %8s %8s %8s %8s %6s\n"
            printf fmt, "engine", "wall s", "MB/s", "job s", "job", "CPU s", "peak RSS", "tree RSS", "time vs", "tree RSS", "HDFS CPU", "other"
            printf fmt, "", "", "", "", "MB/s", "", "MiB", "MiB", "ember", "vs ember", "s", "CPU %"
            e = ("ember" in at) ? at["ember"] : 0
            for (i = 1; i <= NR; i++) {
                printf fmt, label[name[i]], sprintf("%.2f", wall[i]), rate(wall[i]),
                    sprintf("%.2f", job[i]), rate(job[i]), sprintf("%.2f", cpu[i]),
                    sprintf("%.0f", rss[i]), sprintf("%.0f", tree[i]),
                    e ? ratio(wall[i], wall[e]) : "-", e ? ratio(tree[i], tree[e]) : "-",
                    sprintf("%.1f", hdfs[i]), sprintf("%.1f", other[i])
                if (other[i] > 5 && other_s[i] >= 0.25) busy = busy " " name[i]
            }
            print ""
            for (i = 1; i <= NR; i++) {
                if (!e || i == e) continue
                printf "%s / ember local[2]: wall %s, job %s, CPU %s\n", label[name[i]],
                    ratio(wall[i], wall[e]), ratio(job[i], job[e]), ratio(cpu[i], cpu[e])
            }
            if (busy != "")
                printf "\nWARNING: other work used over 5%% of the CPUs during:%s; those figures are skewed.\n", busy
        }' "$figures"
    echo
    explain_columns
    echo "MB/s: input bytes over wall s; job s and job MB/s: from listing the input to the counts,"
    echo "as each program reports it (no context start-up or JVM start and stop); CPU s: CPU time"
    echo "of the command's process tree, start-up included."
    echo "HDFS CPU s: CPU time of the mini cluster's JVM (NameNode and DataNodes serving the blocks)"
    echo "during the run, on the same cores; it is left out of other CPU %."
} >"$summary"

echo
cat "$summary"
exit
}
