#!/usr/bin/env bash
# TPC-H benchmark: the 22 queries over generated Parquet files on two cores, ember next to
# Apache Spark (pip pyspark, local[2]) and Sail (pip pysail, a Spark Connect server on
# DataFusion), in one run. Every engine runs each query twice; the table compares the second
# (warm) runs, query by query and in total, and each engine's peak memory. See bench/README.md.
#
#   bench/tpch.sh                           # scale factor 5, every engine
#   BENCH_SF=1 bench/tpch.sh                # a quick one
#
# Environment:
#   BENCH_SF         TPC-H scale factor of the generated data (default 5)
#   BENCH_ENGINES    engines to run, in order, from: ember ember-stages ember-cluster spark sail
#                    (default: ember ember-stages spark sail)
#                    ember: local[2], each query whole on DataFusion's threads (raw DataFusion)
#                    ember-stages: local[2] with ember.sql.distributed=true (stages, shuffle)
#                    ember-cluster: local-cluster[2,1,6144], stages on two executor processes
#   BENCH_RUNS       runs of each engine, interleaved (default 1); each query's warm time is
#                    its median over the runs, the memory figures those of the median run
#   CARGO_TARGET_DIR where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_SF=${BENCH_SF:-5}
BENCH_ENGINES=${BENCH_ENGINES:-"ember ember-stages spark sail"}
# Each query runs twice within a run of an engine.
BENCH_RUNS=${BENCH_RUNS:-1} BENCH_BYTES=1 BENCH_SEED=0
PYSAIL_VERSION=0.7.2
SAIL_CLIENT_VERSION=4.0.1
TPCHGEN_VERSION=2.0.2
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"

[[ $BENCH_SF =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_SF must be a number"
check_settings ember ember-stages ember-cluster spark sail
bin=$(release_dir)
ensure_pyspark
if [[ ! -x $venv/bin/tpchgen-cli ]]; then
    step "installing tpchgen-cli into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "tpchgen-cli==$TPCHGEN_VERSION"
fi
# Sail answers the Spark Connect client of PySpark 4.0 (4.3's gets "session ... is not
# running"): it has a virtual environment of its own.
sail_venv=$bench_dir/.venv-sail
if [[ " ${engines[*]} " == *" sail "* ]] &&
    ! "$sail_venv/bin/python" -c "import pysail, pyspark" 2>/dev/null; then
    step "installing pysail $PYSAIL_VERSION and pyspark-client $SAIL_CLIENT_VERSION into $sail_venv"
    [[ -x $sail_venv/bin/python ]] || python3 -m venv "$sail_venv"
    "$sail_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pysail==$PYSAIL_VERSION" "pyspark-client==$SAIL_CLIENT_VERSION"
fi

step "cargo build --release -p ember-bench -p ember-cli --features ember-cli/sql"
cargo build --release -p ember-bench -p ember-cli --features ember-cli/sql

data=$bench_dir/data/tpch-sf$BENCH_SF
if [[ ! -s $data/lineitem.parquet ]]; then
    step "generating TPC-H scale factor $BENCH_SF into $data"
    rm -rf "$data.partial"
    mkdir -p "$data.partial"
    "$venv/bin/tpchgen-cli" -s "$BENCH_SF" --format=parquet --output-dir "$data.partial"
    mv "$data.partial" "$data"
fi
queries=("$root"/crates/ember-sql/tests/tpch/q*.sql)
((${#queries[@]} == 22)) || die "expected the 22 queries in crates/ember-sql/tests/tpch"

make_results_dir
# ember's script: a view per table, then each query twice (cold, warm).
script=$results/tpch.sql
{
    for table in region nation supplier part partsupp customer orders lineitem; do
        echo "CREATE TEMPORARY VIEW $table USING parquet OPTIONS (path '$data/$table.parquet');"
    done
    for query in "${queries[@]}"; do
        text=$(<"$query")
        text=${text%;}
        printf '%s;\n%s;\n' "$text" "$text"
    done
} >"$script"

# ember's budget under local[2], as Spark's driver has (spark.driver.memory=8g): with 1g, the
# default, the largest hash joins of scale factor 5 outgrow execution memory and run again as
# sort-merge joins.
ember_memory=(--conf ember.executor.memory=8g)
# Runs interleaved, so that a slow spell of the machine falls on every engine alike.
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        case $engine in
        ember) run "$id" "$bin/ember-sql" --master 'local[2]' "${ember_memory[@]}" -f "$script" ;;
        ember-stages)
            run "$id" "$bin/ember-sql" --master 'local[2]' "${ember_memory[@]}" \
                --conf ember.sql.distributed=true -f "$script"
            ;;
        ember-cluster) run "$id" "$bin/ember-sql" --master 'local-cluster[2,1,6144]' -f "$script" ;;
        spark)
            run "$id" env SPARK_LOCAL_IP=127.0.0.1 "$venv/bin/python" "$bench_dir/tpch_spark.py" \
                --engine spark --data "$data" "${queries[@]}"
            ;;
        sail)
            run "$id" "$sail_venv/bin/python" "$bench_dir/tpch_spark.py" \
                --engine sail --data "$data" "${queries[@]}"
            ;;
        esac
    done
done

# ---- per query: name, cold s, warm s, rows; one file per run.
query_names=$(printf '%s\n' "${queries[@]##*/}" | sed 's/\.sql$//')
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        case $engine in
        ember*)
            # Every statement logs "Time taken: S seconds, Fetched N rows"; the views come first.
            sed -n 's/^Time taken: \([0-9.]*\) seconds, Fetched \([0-9]*\) rows\{0,1\}$/\1\t\2/p' \
                "$results/$id.log" | tail -n +9 | paste - - |
                awk -F'\t' -v names="$query_names" '
                    BEGIN { split(names, name, "\n") }
                    { printf "%s\t%s\t%s\t%s\n", name[NR], $1, $3, $2 }'
            ;;
        *) grep -P '^q\d\d\t' "$results/$id.log" ;;
        esac >"$results/$id.queries"
        (($(wc -l <"$results/$id.queries") == 22)) || die "$id: not 22 query times (see $results/$id.log)"
    done
done

# Each engine's queries, the warm time the median of its runs: name, cold s, warm s, rows
# (cold s and rows from the first run).
for engine in "${engines[@]}"; do
    ((BENCH_RUNS > 1)) || continue
    for ((r = 1; r <= BENCH_RUNS; r++)); do
        cut -f1,3 "$results/$(run_id "$engine" "$r").queries"
    done | sort -t $'\t' -k1,1 -k2,2g | awk -F'\t' -v runs="$BENCH_RUNS" '
        { warm[$1, ++n[$1]] = $2 }
        END { for (q in n) print q "\t" warm[q, int((runs + 1) / 2)] }' | sort >"$results/$engine.median"
    first=$results/$(run_id "$engine" 1).queries
    join -t $'\t' <(sort "$first") "$results/$engine.median" |
        awk -F'\t' '{ print $1 "\t" $2 "\t" $5 "\t" $4 }' >"$results/$engine.queries"
done

# Every engine fetched the same number of rows for each query.
reference=$(run_id "${engines[0]}" 1)
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for engine in "${engines[@]}"; do
        id=$(run_id "$engine" "$r")
        cut -f1,4 "$results/$id.queries" >"$results/$id.rows"
        cmp -s "$results/$reference.rows" "$results/$id.rows" ||
            die "ROW COUNTS DIFFER: $reference and $id (see $results/*.rows)"
    done
done

figures "${engines[@]}" >"$results/figures.tsv"
summary=$results/summary.txt
{
    echo "ember TPC-H benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "data:     $data (scale factor $BENCH_SF, Parquet from tpchgen-cli $TPCHGEN_VERSION)"
    echo "engines:  ${engines[*]} (Sail: pysail $PYSAIL_VERSION, client pyspark-client $SAIL_CLIENT_VERSION)"
    describe_machine
    echo
    if ((BENCH_RUNS == 1)); then
        echo "warm seconds per query (second of two runs in one session):"
    else
        echo "warm seconds per query (second of two runs in one session; median of $BENCH_RUNS sessions):"
    fi
    header=query
    files=()
    for engine in "${engines[@]}"; do
        header+=$'\t'$engine
        files+=("$results/$engine.queries")
    done
    {
        echo "$header"
        # Join the engines' warm times by query.
        paste "${files[@]}" | awk -F'\t' -v n="${#engines[@]}" '{
            line = $1
            for (i = 0; i < n; i++) line = line "\t" $(4 * i + 3)
            print line
        }'
    } | awk -F'\t' '
        NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; cols = NF }
        { printf "%-8s", $1; for (i = 2; i <= NF; i++) printf " %13s", $i; print "" }
        NR > 1 { for (i = 2; i <= NF; i++) total[i] += $i }
        END {
            printf "%-8s", "total"
            for (i = 2; i <= cols; i++) printf " %13.2f", total[i]
            print ""
        }' | tee "$results/warm.txt"
    echo
    awk -F'\t' '{ printf "%-14s peak RSS %6.0f MiB, tree RSS %6.0f MiB, whole run %.1f s\n", $1, $3 / 1024, $4 / 1024, $2 }' \
        "$results/figures.tsv"
    echo
    # The issue's targets, from the totals line and the memory figures.
    awk -v engines="${engines[*]}" '
        BEGIN { n = split(engines, e, " ") }
        FNR == NR && /^total/ { for (i = 1; i <= n; i++) total[e[i]] = $(i + 1); next }
        FNR != NR { tree[$1] = $4 }
        END {
            if (("ember" in total) && ("sail" in total))
                printf "ember / Sail total: %.2fx (target <= 1): %s\n", total["ember"] / total["sail"],
                    (total["ember"] <= total["sail"] ? "met" : "MISSED")
            if (("ember" in total) && ("spark" in total))
                printf "Spark / ember total: %.2fx (target >= 7): %s\n", total["spark"] / total["ember"],
                    (total["spark"] >= 7 * total["ember"] ? "met" : "MISSED")
            if (("ember-stages" in total) && ("ember" in total))
                printf "ember stages / in-process (raw DataFusion): %.2fx (target <= 1.2): %s\n",
                    total["ember-stages"] / total["ember"],
                    (total["ember-stages"] <= 1.2 * total["ember"] ? "met" : "MISSED")
            if (("ember" in tree) && ("sail" in tree))
                printf "ember / Sail tree RSS: %.2fx (target <= 1): %s\n", tree["ember"] / tree["sail"],
                    (tree["ember"] <= tree["sail"] ? "met" : "MISSED")
        }' "$results/warm.txt" FS='\t' "$results/figures.tsv"
    echo
    explain_columns
} >"$summary"

echo
cat "$summary"
exit
}
