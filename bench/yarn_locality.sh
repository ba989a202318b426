#!/usr/bin/env bash
# YARN locality benchmark: how many scan tasks run where their HDFS block is, ember beside
# Apache Spark on the same mini cluster and the same input. Word count in YARN cluster mode
# reads a file of 1 MiB blocks with one replica each (every block on one of the three
# DataNode hosts); each engine writes its event log, and the levels of the scan stage's tasks
# (PROCESS_LOCAL, NODE_LOCAL, NO_PREF, RACK_LOCAL, ANY) are read from both logs by the same
# script (event_log_locality.py). See bench/README.md.
#
#   bench/yarn_locality.sh                       # 24 MB, every variant twice
#   BENCH_RUNS=1 BENCH_ENGINES="ember spark" bench/yarn_locality.sh
#
# Variants (BENCH_ENGINES, default all, in this order):
#   ember          defaults: the first job's tasks queue until most executors registered, and
#                  the ApplicationMaster asks for containers on their hosts; locality wait 3 s
#   ember-asks     ember.scheduler.minRegisteredResourcesRatio=0: tasks run on the first
#                  executors that register, containers are still asked for on their hosts
#   ember-wait0    ember-asks with ember.locality.wait=0
#   spark          Spark's defaults: static allocation (containers asked for before any task
#                  exists, anywhere), spark.locality.wait 3 s
#   spark-dynamic  dynamic allocation from 0 executors (up to 3): Spark's allocator then asks
#                  for containers on the pending tasks' hosts
#   spark-wait0    spark-dynamic with spark.locality.wait=0
#
# Environment:
#   BENCH_BYTES      size of the generated input in bytes (default 24000000)
#   BENCH_SEED       seed of the generator (default 42)
#   BENCH_RUNS       runs of each variant, interleaved (default 2)
#   BENCH_SPARK_JARS where Spark's containers find its jars: local (default) or archive
#   EMBER_MINICLUSTER_DIR  the mini cluster to use (default: $TMPDIR/ember-bench-yarn); started,
#                    and stopped at the end, unless it is running already
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_BYTES=${BENCH_BYTES:-24000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ENGINES=${BENCH_ENGINES:-"ember ember-asks ember-wait0 spark spark-dynamic spark-wait0"}
BENCH_RUNS=${BENCH_RUNS:-2}
export EMBER_MINICLUSTER_DIR=${EMBER_MINICLUSTER_DIR:-${TMPDIR:-/tmp}/ember-bench-yarn}
# Three executors, one per NodeManager if they are placed well.
RESOURCES=(--num-executors 3 --executor-cores 1 --executor-memory 1g --driver-memory 1g)
# The mini cluster's own block size, and one replica: each block is on one host only.
BLOCK_SIZE=1048576
REPLICATION=1
HDFS_DIR=/ember-bench-locality
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"
# shellcheck source=bench/minicluster.sh
source "$bench_dir/minicluster.sh"

check_settings ember ember-asks ember-wait0 spark spark-dynamic spark-wait0
want_spark=0
[[ " ${engines[*]} " == *" spark"* ]] && want_spark=1
bin=$(release_dir)
((want_spark)) && ensure_pyspark

install_cleanup

step "cargo build --release -p ember-bench -p ember-cli"
cargo build --release -p ember-bench -p ember-cli
generate_text_input
make_results_dir

use_minicluster
base=$default_fs$HDFS_DIR
input_url=$base/$(basename "$input")
put_file "$input" "$input_url" "$BLOCK_SIZE" "$REPLICATION"
((want_spark)) && stage_spark "$base"
out_url=$base/out-$(basename "$results")

# The input's blocks per host, from the NameNode (WebHDFS), and how many there are.
namenode_http=$(sed -n '/<name>dfs.namenode.http-address<\/name>/{n;s/.*<value>\(.*\)<\/value>.*/\1/p}' "$HADOOP_CONF_DIR/hdfs-site.xml")
block_hosts=$(python3 - "http://$namenode_http/webhdfs/v1${input_url#"$default_fs"}" <<'EOF'
import collections, json, sys, urllib.request
url = sys.argv[1] + "?op=GETFILEBLOCKLOCATIONS&user.name=ember"
blocks = json.load(urllib.request.urlopen(url))["BlockLocations"]["BlockLocation"]
hosts = collections.Counter(h for b in blocks for h in b["hosts"])
print(f"blocks={len(blocks)} " + ",".join(f"{h}:{n}" for h, n in sorted(hosts.items())))
EOF
)
step "input blocks: $block_hosts"
blocks=${block_hosts%% *}
blocks=${blocks#blocks=}

# submit ID VARIANT: runs VARIANT once with its event log in $results/ID.events; leaves
# ID.log and ID.locality (event_log_locality.py's line).
submit() {
    local id=$1 variant=$2 events=$results/$1.events command status=0
    mkdir -p "$events"
    case $variant in
    ember*)
        command=("$bin/ember" submit --master yarn --deploy-mode cluster "${RESOURCES[@]}"
            --conf ember.eventLog.enabled=true --conf "ember.eventLog.dir=$events")
        [[ $variant == ember ]] || command+=(--conf ember.scheduler.minRegisteredResourcesRatio=0)
        [[ $variant != ember-wait0 ]] || command+=(--conf ember.locality.wait=0)
        command+=(wordcount "$input_url" "$out_url/$id")
        ;;
    spark*)
        command=("${spark_on_yarn[@]}" --deploy-mode cluster "${RESOURCES[@]}"
            --conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=file:$events"
            --conf spark.eventLog.compress=false --conf spark.eventLog.rolling.enabled=false)
        if [[ $variant != spark ]]; then
            command+=(--conf spark.dynamicAllocation.enabled=true
                --conf spark.dynamicAllocation.shuffleTracking.enabled=true
                --conf spark.dynamicAllocation.initialExecutors=0
                --conf spark.dynamicAllocation.minExecutors=0
                --conf spark.dynamicAllocation.maxExecutors=3)
        fi
        [[ $variant != spark-wait0 ]] || command+=(--conf spark.locality.wait=0)
        command+=("$bench_dir/pyspark_yarn_wordcount.py" "$input_url" "$out_url/$id")
        ;;
    esac
    step "$id: ${command[*]}"
    "${command[@]}" >"$results/$id.log" 2>&1 || status=$?
    if ((status != 0)); then
        tail -n 30 "$results/$id.log" >&2
        die "$id failed with exit status $status (see $results/$id.log)"
    fi
    local logs=("$events"/*)
    if ((${#logs[@]} != 1)) || [[ ! -f ${logs[0]} ]]; then
        die "$id left no single event log in $events"
    fi
    python3 "$bench_dir/event_log_locality.py" "${logs[0]}" >"$results/$id.locality"
    local tasks
    tasks=$(sed -n 's/^tasks=\([0-9]*\) .*/\1/p' "$results/$id.locality")
    ((tasks >= blocks)) || die "$id's scan stage ended $tasks tasks; the input has $blocks blocks"
}

for ((r = 1; r <= BENCH_RUNS; r++)); do
    for variant in "${engines[@]}"; do
        submit "$(run_id "$variant" "$r")" "$variant"
    done
done
hadoop_fs -rm -r -skipTrash "$out_url" || step "could not remove $out_url; see $results/hadoop-fs.log"

summary=$results/summary.txt
{
    echo "ember YARN locality benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "input:    $input_url ($(stat -c %s "$input") bytes in blocks of $BLOCK_SIZE, replication $REPLICATION)"
    echo "          $block_hosts (blocks per DataNode host)"
    echo "cluster:  mini cluster in $EMBER_MINICLUSTER_DIR: 3 DataNodes and 3 NodeManagers on 127.0.0.2-4"
    echo "submit:   --master yarn --deploy-mode cluster ${RESOURCES[*]}"
    if ((want_spark)); then echo "Spark:    $spark_jars_note"; fi
    describe_machine
    echo
    printf '%-20s %6s %13s %10s %7s %10s %5s %6s  %s\n' run tasks PROCESS_LOCAL NODE_LOCAL NO_PREF RACK_LOCAL ANY "node%" "tasks per host"
    for ((r = 1; r <= BENCH_RUNS; r++)); do
        for variant in "${engines[@]}"; do
            id=$(run_id "$variant" "$r")
            # tasks=N PROCESS_LOCAL=N NODE_LOCAL=N NO_PREF=N RACK_LOCAL=N ANY=N hosts=...
            sed 's/[A-Z_a-z]*=//g' "$results/$id.locality" |
                awk -v id="$id" '{
                    printf "%-20s %6d %13d %10d %7d %10d %5d %6.1f  %s\n",
                        id, $1, $2, $3, $4, $5, $6, 100 * $3 / $1, $7 }'
        done
    done
    echo
    echo "Counted from each run's event log: every attempt of the scan stage (the first stage"
    echo "submitted) that ended, by the level it was launched at. node%: NODE_LOCAL / tasks."
    echo "A task with no preference counts as PROCESS_LOCAL in both engines."
} >"$summary"

echo
cat "$summary"
exit
}
