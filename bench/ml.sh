#!/usr/bin/env bash
# Machine-learning benchmark: logistic regression (5 M rows x 30 features, 20 iterations),
# linear regression (the same rows, least squares) and k-means (5 M x 10, k = 10,
# 20 iterations) on the same generated Parquet, ember on local[2]
# against Apache Spark MLlib on local[2] (PySpark 4.3.0) and scikit-learn on the same two
# cores, in one run: wall time, fit time and peak memory, as ratios. Every engine's training
# accuracy (logistic regression), RMSE (linear regression) and cost (k-means) must agree. See bench/README.md.
#
#   bench/ml.sh                                      # every algorithm and engine
#   BENCH_ROWS=500000 bench/ml.sh                    # a quick run on a tenth of the rows
#   BENCH_ENGINES="ember scikit-learn" BENCH_ALGORITHMS=kmeans bench/ml.sh
#
# Environment:
#   BENCH_ROWS        rows of each data set (default 5000000)
#   BENCH_SEED        seed of the generator (default 42)
#   BENCH_ALGORITHMS  from: logistic-regression linear-regression kmeans (default: all)
#   BENCH_ENGINES     from: ember spark scikit-learn (default: all)
#   BENCH_RUNS        runs of each engine, interleaved; the median by wall time is shown
#                     (default 1)
#   CARGO_TARGET_DIR  where cargo puts the binaries (default: target)
set -euo pipefail

# Read in full before it starts, like wordcount.sh.
{

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$bench_dir/.." && pwd)
cd "$root"

BENCH_ROWS=${BENCH_ROWS:-5000000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ALGORITHMS=${BENCH_ALGORITHMS:-"logistic-regression linear-regression kmeans"}
BENCH_ENGINES=${BENCH_ENGINES:-"ember spark scikit-learn"}
BENCH_RUNS=${BENCH_RUNS:-1}
MASTER='local[2]'
SKLEARN_VERSION=1.9.1
PYARROW_VERSION=26.0.1
# shellcheck source=bench/common.sh
source "$bench_dir/common.sh"

[[ $BENCH_ROWS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROWS must be a positive integer"
[[ $BENCH_SEED =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a non-negative integer"
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
read -r -a algorithms <<<"$BENCH_ALGORITHMS"
read -r -a engines <<<"$BENCH_ENGINES"
for a in "${algorithms[@]}"; do
    [[ $a == logistic-regression || $a == linear-regression || $a == kmeans ]] ||
        die "unknown algorithm '$a' in BENCH_ALGORITHMS"
done
for e in "${engines[@]}"; do
    [[ $e == ember || $e == spark || $e == scikit-learn ]] || die "unknown engine '$e' in BENCH_ENGINES"
done
[[ -x /usr/bin/time ]] || die "needs GNU time at /usr/bin/time (apt-get install time)"
bin=$(release_dir)

ensure_pyspark
if ! "$venv/bin/python" -c "import sys, sklearn, pyarrow
sys.exit(sklearn.__version__ != '$SKLEARN_VERSION' or pyarrow.__version__ != '$PYARROW_VERSION')" 2>/dev/null; then
    step "installing scikit-learn==$SKLEARN_VERSION pyarrow==$PYARROW_VERSION into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
        "scikit-learn==$SKLEARN_VERSION" "pyarrow==$PYARROW_VERSION"
fi

step "cargo build --release -p ember-bench --bin ml --bin measure"
cargo build --release -p ember-bench --bin ml --bin measure

# ---- the data, generated once per size and seed --------------------------------------------
# data_dir ALGORITHM: where its Parquet is; generated unless there.
data_dir() {
    local kind features
    case $1 in
    logistic-regression | linear-regression) kind=logistic features=30 ;;
    kmeans) kind=blobs features=10 ;;
    esac
    local dir=$bench_dir/data/ml-$kind-$BENCH_ROWS-$features-$BENCH_SEED
    if [[ ! -f $dir/_SUCCESS ]]; then
        step "generating $dir"
        "$bin/ml" --master "$MASTER" gen --kind "$kind" --rows "$BENCH_ROWS" --features "$features" \
            --seed "$BENCH_SEED" --out "$dir" >&2
    fi
    echo "$dir"
}

make_results_dir

for algorithm in "${algorithms[@]}"; do
    input=$(data_dir "$algorithm")
    for ((r = 1; r <= BENCH_RUNS; r++)); do
        for engine in "${engines[@]}"; do
            id=$(run_id "$algorithm-$engine" "$r")
            case $engine in
            ember) run "$id" "$bin/ml" --master "$MASTER" "$algorithm" --input "$input" ;;
            spark)
                run "$id" env PYTHONPATH="$bench_dir" "$venv/bin/python" "$bench_dir/pyspark_ml.py" \
                    --master "$MASTER" "$algorithm" --input "$input"
                ;;
            scikit-learn)
                run "$id" env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 \
                    "$venv/bin/python" "$bench_dir/sklearn_ml.py" "$algorithm" --input "$input"
                ;;
            esac
        done
    done
done

# ---- the engines must have fitted the same models ------------------------------------------
# figure ID: the figure a run printed (accuracy or cost).
figure() { sed -n 's/^ml (.*): .* fit [0-9.]* s; [a-z]*=\(.*\)$/\1/p' "$results/$1.log"; }
notes=()
for algorithm in "${algorithms[@]}"; do
    first=$(figure "$(run_id "$algorithm-${engines[0]}" 1)")
    best=$first
    for engine in "${engines[@]}"; do
        for ((r = 1; r <= BENCH_RUNS; r++)); do
            got=$(figure "$(run_id "$algorithm-$engine" "$r")")
            [[ -n $got ]] || die "$algorithm-$engine printed no figure (see $results/)"
            best=$(awk -v a="$got" -v b="$best" 'BEGIN { print (a < b ? a : b) }')
        done
    done
    for engine in "${engines[@]}"; do
        for ((r = 1; r <= BENCH_RUNS; r++)); do
            id=$(run_id "$algorithm-$engine" "$r")
            got=$(figure "$id")
            if [[ $algorithm == kmeans ]]; then
                # Engines start from different centers and may stop in a worse local optimum:
                # ember's cost must be within 5% of the best; another engine's worse one is
                # reported.
                awk -v a="$got" -v b="$best" 'BEGIN { exit !(a <= 1.05 * b) }' && continue
                [[ $engine != ember ]] || die "MISMATCH: $id costs $got, the best engine $best"
                notes+=("$id stopped in a worse local optimum: cost $got against the best $best")
                continue
            fi
            # Accuracy within a point; RMSE within 0.1% (one least-squares solution).
            awk -v a="$got" -v b="$first" -v alg="$algorithm" 'BEGIN {
                d = a - b; if (d < 0) d = -d
                exit !(alg == "linear-regression" ? d <= 0.001 * b : d <= 0.01)
            }' || die "MISMATCH: $id gives $got, ${engines[0]} gave $first"
        done
    done
done
step "the engines' models agree"

# ---- report --------------------------------------------------------------------------------
figures=$results/figures.tsv
for algorithm in "${algorithms[@]}"; do
    ids=()
    for engine in "${engines[@]}"; do ids+=("$algorithm-$engine"); done
    figures "${ids[@]}" | while IFS=$'\t' read -r name wall rss tree other other_s id; do
        fit=$(sed -n 's/^ml (.*): .* fit \([0-9.]*\) s;.*/\1/p' "$results/$id.log")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$fit" "$rss" "$tree" "$other" "$(figure "$id")"
    done
done >"$figures"

summary=$results/summary.txt
{
    echo "ember machine-learning benchmark, $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "data:     $BENCH_ROWS rows; logistic and linear regression 30 features, k-means 10 features (k = 10); seed $BENCH_SEED"
    echo "masters:  ember and Spark $MASTER; scikit-learn $SKLEARN_VERSION with 2 BLAS/OpenMP threads"
    describe_machine
    echo
    awk -F'\t' '
        { name[NR] = $1; wall[NR] = $2; fit[NR] = $3; tree[NR] = $5 / 1024; other[NR] = $6; fig[NR] = $7
          alg[NR] = ($1 ~ /^kmeans/) ? "kmeans" : ($1 ~ /^linear/) ? "linear-regression" : "logistic-regression"
          if ($1 ~ /-ember$/) ember[alg[NR]] = NR }
        function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
        END {
            fmt = "%-34s %8s %8s %9s %9s %9s %10s %6s  %s\n"
            printf fmt, "run", "wall s", "fit s", "tree RSS", "wall vs", "fit vs", "RSS vs", "other", "figure"
            printf fmt, "", "", "", "MiB", "ember", "ember", "ember", "CPU %", ""
            for (i = 1; i <= NR; i++) {
                e = ember[alg[i]]
                printf fmt, name[i], sprintf("%.2f", wall[i]), sprintf("%.2f", fit[i]),
                    sprintf("%.0f", tree[i]), e ? ratio(wall[i], wall[e]) : "-",
                    e ? ratio(fit[i], fit[e]) : "-", e ? ratio(tree[i], tree[e]) : "-",
                    sprintf("%.1f", other[i]), fig[i]
                if (other[i] > 5) busy = busy " " name[i]
            }
            if (busy != "")
                printf "\nWARNING: other work used over 5%% of the CPUs during:%s; those figures are skewed.\n", busy
        }' "$figures"
    echo
    explain_columns
    for note in "${notes[@]}"; do echo "NOTE: $note"; done
    echo "fit s: the fit alone, as each program times it (data read and assembled before it)."
    echo "figure: training accuracy (logistic regression), RMSE (linear regression) or cost (k-means), which must agree."
} >"$summary"

echo
cat "$summary"
exit
}
