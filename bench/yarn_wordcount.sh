#!/usr/bin/env bash
# YARN word-count benchmark: word count in YARN cluster mode on the mini cluster, ember against
# Apache Spark (PySpark's RDD program), both reading the same text from the cluster's HDFS and
# writing their counts back to it, with the same containers (2 executors of 1 core and 1 GiB,
# a driver of 1 GiB). It measures each submission from spawn to exit (the application FINISHED)
# and the peak memory of the executors, sampled from /proc, and reports the ratios. See
# bench/README.md.
#
#   bench/yarn_wordcount.sh                                   # 100 MB, 3 runs of each
#   BENCH_BYTES=10000000 BENCH_RUNS=1 bench/yarn_wordcount.sh # a quick one
#
# Environment:
#   BENCH_BYTES      size of the generated input in bytes (default 100000000)
#   BENCH_SEED       seed of the generator (default 42)
#   BENCH_ENGINES    engines to run, in order, from: ember spark (default: both)
#   BENCH_RUNS       runs of each engine, interleaved; the table shows each engine's median
#                    run by wall time (default 3)
#   BENCH_SPARK_JARS where Spark's containers find its jars: local (the files on this machine,
#                    default) or archive (a zip put on HDFS once); see stage_spark
#   EMBER_MINICLUSTER_DIR  the mini cluster to use (default: $TMPDIR/ember-bench-yarn, TMPDIR
#                    defaulting to /tmp); started, and stopped at the end, unless it is
#                    running already
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_BYTES=${BENCH_BYTES:-100000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ENGINES=${BENCH_ENGINES:-"ember spark"}
BENCH_RUNS=${BENCH_RUNS:-3}
export EMBER_MINICLUSTER_DIR=${EMBER_MINICLUSTER_DIR:-${TMPDIR:-/tmp}/ember-bench-yarn}
# The same containers for both engines.
RESOURCES=(--num-executors 2 --executor-cores 1 --executor-memory 1g --driver-memory 1g)
# HDFS blocks of 128 MiB, Hadoop's usual size (the mini cluster's own is 1 MiB): each engine
# then reads the input in two splits, one per executor.
BLOCK_SIZE=134217728
HDFS_DIR=/ember-bench-yarn
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
# shellcheck source=bench/minicluster.sh
source "$bench_dir/minicluster.sh"

check_settings ember spark
want_spark=0
[[ " ${engines[*]} " == *" spark "* ]] && want_spark=1
bin=$(release_dir)
((want_spark)) && ensure_pyspark

install_cleanup

# ember is uploaded to HDFS with every submission: the release build, as users would submit.
step "cargo build --release -p ember-bench -p ember-cli"
cargo build --release -p ember-bench -p ember-cli
[[ -x $bin/ember ]] || die "no ember binary at $bin/ember after the build"

# ---- the local input and the counts every engine must find in it -------------------------------
generate_text_input

make_results_dir

# The union of a directory's part-* files, sorted bytewise.
sorted_parts() {
    find "$1" -type f -name 'part-*' -print0 | sort -z | xargs -0r cat | LC_ALL=C sort
}

# The hand-written program is the oracle: the sorted word<TAB>count lines of the input.
step "oracle: wordcount-baseline over $input"
"$bin/wordcount-baseline" --threads 2 "$input" "$results/oracle" >"$results/oracle.log"
sorted_parts "$results/oracle" >"$results/oracle.sorted"
rm -r "$results/oracle"

# ---- the mini cluster, the input on HDFS and Spark's jars (outside the timed runs) ---------------
use_minicluster
base=$default_fs$HDFS_DIR
input_url=$base/$(basename "$input")
put_file "$input" "$input_url" "$BLOCK_SIZE"
((want_spark)) && stage_spark "$base"
# Every run writes under here; removed at the end.
out_url=$base/out-$(basename "$results")

# ---- runs ----------------------------------------------------------------------------------------
# Each command takes the output URL as its last argument.
ember_submit=("$bin/ember" submit --master yarn --deploy-mode cluster "${RESOURCES[@]}"
    wordcount "$input_url")
if ((want_spark)); then
    spark_submit=("${spark_on_yarn[@]}" --deploy-mode cluster "${RESOURCES[@]}"
        "$bench_dir/pyspark_yarn_wordcount.py" "$input_url")
fi

# CPU ticks all cores spent busy (cluster_ticks: those of the mini cluster's JVM itself). Its
# containers are its children, but their CPU time does not reliably reach its count of reaped children
# (about 15 of a Spark run's 52 CPU seconds never did): the sampler counts it instead.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# timed ID COMMAND...: runs COMMAND (its output in ID.log) with the sampler beside it. Leaves
# ID.time (wall ms, the client's peak KiB and user and system CPU seconds), ID.rss (the
# sampler's report), ID.samples and ID.cpu (busy ticks, cluster ticks and milliseconds from
# spawn until the application's last process was gone).
timed() {
    local id=$1 status=0 busy cluster start end
    shift
    step "$id: $*"
    busy=$(busy_ticks)
    cluster=$(cluster_ticks)
    : >"$results/$id.log"
    python3 "$bench_dir/yarn_rss.py" --log "$results/$id.log" --report "$results/$id.rss" \
        --samples "$results/$id.samples" &
    sampler=$!
    start=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$results/$id.client" "$@" >>"$results/$id.log" 2>&1 || status=$?
    end=$(date +%s%N)
    # The sampler ends once the application's processes are gone.
    kill -TERM "$sampler"
    wait "$sampler" || true
    sampler=
    echo "$(((end - start) / 1000000))" "$(cat "$results/$id.client")" >"$results/$id.time"
    echo $(($(busy_ticks) - busy)) $(($(cluster_ticks) - cluster)) \
        $((($(date +%s%N) - start) / 1000000)) >"$results/$id.cpu"
    if ((status != 0)); then
        echo "---- last lines of $results/$id.log" >&2
        tail -n 30 "$results/$id.log" >&2
        die "$id failed with exit status $status"
    fi
}

# Runs are interleaved (every engine once, then again) so that a slow spell of the machine
# does not fall on one engine only.
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        case $engine in
        ember) timed "$id" "${ember_submit[@]}" "$out_url/$id" ;;
        spark) timed "$id" "${spark_submit[@]}" "$out_url/$id" ;;
        esac
    done
done

# ---- check the outputs against the oracle ------------------------------------------------------
step "fetching the outputs from $out_url"
hadoop_fs -get "$out_url" "$results/out" || die "hadoop fs -get $out_url failed; see $results/hadoop-fs.log"
hadoop_fs -rm -r -skipTrash "$out_url" || step "could not remove $out_url; see $results/hadoop-fs.log"
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        [[ -d $results/out/$id ]] || die "$id wrote no output directory $out_url/$id"
        sorted_parts "$results/out/$id" >"$results/$id.sorted"
        if ! cmp -s "$results/oracle.sorted" "$results/$id.sorted"; then
            echo "---- first differences, oracle (<) against $id (>)" >&2
            diff "$results/oracle.sorted" "$results/$id.sorted" | head -n 20 >&2 || true
            die "OUTPUT MISMATCH: $id's word counts differ from the oracle's (see $results)"
        fi
        rm "$results/$id.sorted"
    done
done
rm -r "$results/out"
distinct=$(wc -l <"$results/oracle.sorted")
total=$(awk -F'\t' '{ n += $2 } END { printf "%d", n }' "$results/oracle.sorted")
step "outputs agree with the oracle: $distinct distinct words, $total words"

# ---- report --------------------------------------------------------------------------------------
# key=value from a sampler report.
rss_value() { sed -n "s/^$2=//p" "$results/$1.rss"; }

# One line per run: engine, run id, wall s, client KiB, executors, executors' summed peak KiB,
# largest executor's peak KiB, driver container KiB, submitted s, first executor s, other CPU %,
# highest VmHWM of an executor's main process KiB, the application's CPU s.
run_lines() {
    local engine r id wall client user sys busy cluster window app_cpu sampler_cpu hz ncpu
    hz=$(getconf CLK_TCK)
    ncpu=$(nproc)
    for ((r = 1; r <= BENCH_RUNS; r++)); do
        for engine in "${engines[@]}"; do
            id=$(run_id "$engine" "$r")
            read -r wall client user sys <"$results/$id.time"
            read -r busy cluster window <"$results/$id.cpu"
            app_cpu=$(rss_value "$id" app_cpu_s)
            sampler_cpu=$(rss_value "$id" sampler_cpu_s)
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$engine" "$id" \
                "$(awk -v ms="$wall" 'BEGIN { printf "%.2f", ms / 1000 }')" "$client" \
                "$(rss_value "$id" executors)" "$(rss_value "$id" executor_sum_peak_kib)" \
                "$(rss_value "$id" executor_max_peak_kib)" "$(rss_value "$id" driver_peak_kib)" \
                "$(rss_value "$id" submitted_s)" "$(rss_value "$id" executors_seen_s)" \
                "$(awk -v b="$busy" -v c="$cluster" -v a="$app_cpu" -v u="$user" -v s="$sys" \
                    -v p="$sampler_cpu" -v w="$window" -v hz="$hz" -v n="$ncpu" 'BEGIN {
                        other = (b - c) / hz - a - u - s - p
                        printf "%.1f", (other > 0 ? 100 * other / (w / 1000 * n) : 0) }')" \
                "$(rss_value "$id" executor_max_high_water_kib)" "$app_cpu"
        done
    done
}
run_lines >"$results/runs.tsv"

summary=$results/summary.txt
{
    echo "ember YARN word-count benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "input:    $input_url"
    echo "          ($(stat -c %s "$input") bytes, $total words, $distinct distinct; blocks of $BLOCK_SIZE bytes)"
    echo "cluster:  mini cluster in $EMBER_MINICLUSTER_DIR: 3 NodeManagers of 4 GiB on this machine"
    echo "submit:   --master yarn --deploy-mode cluster ${RESOURCES[*]}"
    if ((want_spark)); then echo "Spark:    $spark_jars_note"; fi
    describe_machine
    echo
    awk -F'\t' -v runs="$BENCH_RUNS" '
        BEGIN {
            label["ember"] = "ember"
            label["spark"] = "Spark RDD (PySpark)"
        }
        {
            n = ++count[$1]; wall[$1, n] = $3; line[$1, n] = $0
            walls[$1] = walls[$1] (n > 1 ? " " : "") $3
            if (!($1 in seen)) { seen[$1] = 1; order[++engines] = $1 }
        }
        function mib(kib) { return sprintf("%.0f", kib / 1024) }
        # The run of median wall time: its line.
        function median(e,    i, j, t, idx) {
            for (i = 1; i <= count[e]; i++) idx[i] = i
            for (i = 1; i <= count[e]; i++)
                for (j = i + 1; j <= count[e]; j++)
                    if (wall[e, idx[j]] + 0 < wall[e, idx[i]] + 0) { t = idx[i]; idx[i] = idx[j]; idx[j] = t }
            return line[e, idx[int((count[e] + 1) / 2)]]
        }
        END {
            fmt = "%-20s %7s %9s %10s %9s %9s %9s %8s %9s %10s %7s %6s  %s\n"
            printf fmt, "engine", "wall s", "executors", "executors", "largest", "executor", "driver", "client", "submitted", "executors", "app", "other", "wall s of"
            printf fmt, "", "", "", "RSS MiB", "executor", "VmHWM", "container", "RSS MiB", "after s", "after s", "CPU s", "CPU %", "each run"
            printf fmt, "", "", "", "(peak sum)", "MiB", "MiB", "MiB", "", "", "", "", "", ""
            for (k = 1; k <= engines; k++) {
                e = order[k]
                split(median(e), f, "\t")
                w[e] = f[3]; m[e] = f[6]; big[e] = f[7]
                printf fmt, label[e], f[3], f[5], mib(f[6]), mib(f[7]), mib(f[12]), mib(f[8]),
                    mib(f[4]), f[9], f[10], f[13], f[11], walls[e]
                if (f[11] > 10) busy = busy " " f[2]
            }
            print ""
            if (("ember" in w) && ("spark" in w)) {
                r = w["spark"] / w["ember"]
                printf "Spark / ember wall time = %.2f (target >= 3): %s\n", r, (r >= 3 ? "met" : "MISSED")
                r = m["ember"] > 0 ? m["spark"] / m["ember"] : 0
                printf "Spark / ember executor memory = %.2f (target >= 5): %s\n", r, (r >= 5 ? "met" : "MISSED")
                r = big["ember"] > 0 ? big["spark"] / big["ember"] : 0
                printf "Spark / ember largest executor = %.2f\n", r
            }
            if (busy != "")
                printf "\nWARNING: other work used over 10%% of the CPUs during:%s; those figures are skewed.\n", busy
        }' "$results/runs.tsv"
    echo
    if ((BENCH_RUNS == 1)); then
        echo "wall s: the submitting command from spawn to exit, once it saw the application FINISHED."
    else
        echo "wall s: the submitting command from spawn to exit, once it saw the application FINISHED;"
        echo "each engine's median of $BENCH_RUNS runs, whose other figures are shown too."
    fi
    echo "executors RSS: peak over time of the executors' summed RSS, sampled every 100 ms from /proc"
    echo "(ember: the executor process; Spark: the executor JVM with its Python daemon and workers,"
    echo "whose shared pages count in each); largest executor: the highest peak of one executor."
    echo "executor VmHWM: the kernel's high-water mark of an executor's main process (ember's"
    echo "executor, Spark's executor JVM without its Python workers), highest of the executors:"
    echo "it catches spikes shorter than the sampling interval."
    echo "driver container: peak RSS of the ApplicationMaster's container, which runs the driver."
    echo "client: peak RSS of ember submit / spark-submit. submitted after: when the application id"
    echo "appeared; executors after: when the first executor process was seen (seconds from spawn)."
    echo "app CPU s: CPU time of the application's processes (driver and executors, all containers)."
    echo "other CPU %: share of all cores used during the run by processes other than the mini"
    echo "cluster's JVM, the application's processes, the client and the sampler."
} >"$summary"

echo
cat "$summary"
exit
}
