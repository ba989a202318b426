# Helpers of the benchmarks that run against the mini cluster (HDFS, YARN) and run Apache
# Spark on its YARN; sourced after common.sh, not run. Expects $root and $results of the
# script that sources it.

# install_cleanup: on exit, removes a half-written input ($partial), stops a sampler
# ($sampler) and the mini cluster if this script started it ($own_cluster).
install_cleanup() {
    partial=
    sampler=
    own_cluster=0
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317 # run by the trap of install_cleanup
cleanup() {
    if [[ -n $partial ]]; then rm -f "$partial"; fi
    if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; fi
    if ((own_cluster)); then scripts/minicluster down >&2 || true; fi
}

# use_minicluster: the mini cluster of $EMBER_MINICLUSTER_DIR, started unless it runs already
# (then $own_cluster=1, for the caller's clean-up to stop it). Sets its environment
# (HADOOP_CONF_DIR, ...), $cluster_pid, $hadoop_classpath and $default_fs.
use_minicluster() {
    # Spark's containers start `$JAVA_HOME/bin/java`: the NodeManagers (and so the containers)
    # need JAVA_HOME, which the cluster passes on from this environment.
    if [[ -z ${JAVA_HOME:-} ]]; then
        JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
        export JAVA_HOME
    fi
    if ! scripts/minicluster status >/dev/null 2>&1; then
        step "starting the mini cluster in $EMBER_MINICLUSTER_DIR"
        own_cluster=1
        scripts/minicluster up >&2
    fi
    eval "$(scripts/minicluster env)"
    cluster_pid=$(cat "$EMBER_MINICLUSTER_DIR/pid")
    hadoop_classpath=$(cat "$root/integration/target/classpath.txt")
    # Such as hdfs://localhost:40123.
    default_fs=$(sed -n '/<name>fs.defaultFS<\/name>/{n;s/.*<value>\(.*\)<\/value>.*/\1/p}' "$HADOOP_CONF_DIR/core-site.xml")
    [[ $default_fs == hdfs://* ]] || die "no hdfs:// fs.defaultFS in $HADOOP_CONF_DIR/core-site.xml"
}

# hadoop_fs ARGS...: Hadoop's own `hadoop fs` against the cluster. Its log lines come on
# standard output among what it prints; they and its errors go to hadoop-fs.log.
hadoop_fs() {
    java -cp "$HADOOP_CONF_DIR:$hadoop_classpath" org.apache.hadoop.fs.FsShell "$@" \
        >>"$results/hadoop-fs.log" 2>&1
}

# hdfs_stat URL: "size block-size replication" of an HDFS file, empty when there is none.
hdfs_stat() {
    java -cp "$HADOOP_CONF_DIR:$hadoop_classpath" org.apache.hadoop.fs.FsShell -stat '%b %o %r' "$1" \
        2>/dev/null | grep -E '^[0-9]+ [0-9]+ [0-9]+$' || true
}

# put_file LOCAL URL BLOCK_SIZE [REPLICATION]: copies LOCAL to URL on HDFS with that block
# size (and replication, else the cluster's), unless a copy of the same size, block size
# (and replication) is there.
put_file() {
    local local=$1 url=$2 block_size=$3 replication=${4:-} want stat options=()
    want="$(stat -c %s "$local") $block_size"
    stat=$(hdfs_stat "$url")
    if [[ -n $replication ]]; then
        want="$want $replication"
        options=(-D dfs.replication="$replication")
    else
        stat=${stat% *}
    fi
    if [[ $stat == "$want" ]]; then
        step "$url is there already"
        return
    fi
    step "putting $local into $url (block size $block_size${replication:+, replication $replication})"
    hadoop_fs -mkdir -p "$(dirname "$url")" || die "hadoop fs -mkdir failed; see $results/hadoop-fs.log"
    hadoop_fs -D dfs.blocksize="$block_size" "${options[@]}" -put -f "$local" "$url" ||
        die "hadoop fs -put failed; see $results/hadoop-fs.log"
    stat=$(hdfs_stat "$url")
    [[ -n $replication ]] || stat=${stat% *}
    [[ $stat == "$want" ]] || die "$url has size, block size (, replication) '$stat', not '$want'"
}

# The mini cluster's CPU time in clock ticks (its DataNodes and NodeManagers run in its JVM).
cluster_ticks() { awk '{ print $14 + $15 }' "/proc/$cluster_pid/stat"; }

# Spark on YARN uploads its 480 MB of jars (and its Python libraries) with every submission
# unless told where a cluster keeps them. Two ways (BENCH_SPARK_JARS), both set up here,
# outside any timed run:
# * local (the default): spark.yarn.jars and PYSPARK_ARCHIVES_PATH name local: paths, files
#   that every node has already (they do: every NodeManager is on this machine), as on
#   clusters where Spark is installed on each node. Nothing is uploaded or localized.
# * archive: a zip of the jars and the Python libraries are put on HDFS once (under BASE) and
#   named by spark.yarn.archive and PYSPARK_ARCHIVES_PATH; each NodeManager localizes them to
#   its public cache. The mini cluster caps that cache at 512 MB and cleans it every 30 s, so
#   the 480 MB of jars is evicted between runs (ember's binaries fill the cache too) and most
#   runs localize it again.
# stage_spark BASE: sets the array $spark_on_yarn: spark-submit (with its environment) and the
# options every YARN submission takes, up to the resources and the application.
stage_spark() {
    local base=$1 py4j spark_home jars archives
    spark_home=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
    py4j=$(basename "$(ls "$spark_home"/python/lib/py4j-*-src.zip)")
    case ${BENCH_SPARK_JARS:-local} in
    local)
        jars=(--conf "spark.yarn.jars=local:$spark_home/jars/*")
        archives=local:$spark_home/python/lib/pyspark.zip,local:$spark_home/python/lib/$py4j
        ;;
    archive)
        local url=$base/spark-$PYSPARK_VERSION
        jars=(--conf "spark.yarn.archive=$url/jars.zip")
        archives=$url/pyspark.zip,$url/$py4j
        put_spark_archive "$spark_home" "$url" "$py4j"
        ;;
    *) die "BENCH_SPARK_JARS must be local or archive" ;;
    esac
    spark_jars_note="${jars[1]}, PYSPARK_ARCHIVES_PATH=$archives"
    # The driver and the Python workers run the venv's Python (pyspark installed, the same
    # version everywhere); every process of the application binds to loopback like the
    # cluster's.
    spark_on_yarn=(env SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1
        PYSPARK_ARCHIVES_PATH="$archives"
        "$spark_home/bin/spark-submit" --master yarn "${jars[@]}"
        --conf spark.pyspark.python="$venv/bin/python"
        --conf spark.yarn.appMasterEnv.JAVA_HOME="$JAVA_HOME"
        --conf spark.executorEnv.JAVA_HOME="$JAVA_HOME"
        --conf spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1
        --conf spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1
        --conf spark.ui.enabled=false)
}

# put_spark_archive SPARK_HOME URL PY4J: Spark's jars as an uncompressed zip, and its Python
# libraries, into directory URL on HDFS, unless they are there. Replication 1: every
# NodeManager is on this machine, and the disk is spared 1 GB.
put_spark_archive() {
    local spark_home=$1 url=$2 py4j=$3
    if hadoop_fs -test -e "$url/_COMPLETE"; then
        step "Spark's jars are in $url already"
        return
    fi
    step "putting Spark's jars (an uncompressed zip) and Python libraries into $url"
    local zip=$results/spark-jars.zip
    (cd "$spark_home/jars" && zip -q -0 -r "$zip" .)
    # The marker goes last: a copy cut short is put again next time.
    if ! { hadoop_fs -mkdir -p "$url" &&
        hadoop_fs -D dfs.replication=1 -D dfs.blocksize=134217728 -put -f "$zip" "$url/jars.zip" &&
        hadoop_fs -D dfs.replication=1 -put -f "$spark_home/python/lib/pyspark.zip" \
            "$spark_home/python/lib/$py4j" "$url/" &&
        hadoop_fs -touchz "$url/_COMPLETE"; }; then
        die "putting Spark's files into $url failed; see $results/hadoop-fs.log"
    fi
    rm "$zip"
}
