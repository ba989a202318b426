# Helpers shared by the benchmark scripts; sourced, not run. Expects $bench_dir, $root and
# BENCH_RUNS to be set by the script that sources it.

PYSPARK_VERSION=4.3.0

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}
step() { echo "==> $*" >&2; }

# check_settings KNOWN...: validates BENCH_BYTES, BENCH_SEED, BENCH_RUNS and BENCH_ENGINES
# (each engine one of KNOWN); sets the array $engines.
check_settings() {
    local known=" $* " engine
    [[ $BENCH_BYTES =~ ^[1-9][0-9]*$ ]] || die "BENCH_BYTES must be a positive integer"
    [[ $BENCH_SEED =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a non-negative integer"
    [[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
    read -r -a engines <<<"$BENCH_ENGINES"
    ((${#engines[@]} > 0)) || die "BENCH_ENGINES is empty"
    for engine in "${engines[@]}"; do
        [[ $known == *" $engine "* ]] || die "unknown engine '$engine' in BENCH_ENGINES (known:$known)"
    done
    [[ -x /usr/bin/time ]] || die "needs GNU time at /usr/bin/time (apt-get install time)"
}

# Where cargo puts release binaries.
release_dir() {
    local target=${CARGO_TARGET_DIR:-target}
    [[ $target == /* ]] || target=$root/$target
    echo "$target/release"
}

# Installs pyspark $PYSPARK_VERSION into bench/.venv unless it is there; sets $venv.
ensure_pyspark() {
    venv=$bench_dir/.venv
    command -v java >/dev/null || die "Spark needs Java 17 or later on PATH"
    if ! "$venv/bin/python" -c "import sys, pyspark; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" 2>/dev/null; then
        step "installing pyspark==$PYSPARK_VERSION into $venv"
        [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
    fi
}

# A new directory for this run's results, under bench/results/; sets $results.
make_results_dir() {
    local stamp n=1
    stamp=$(date +%Y%m%d-%H%M%S)
    results=$bench_dir/results/$stamp
    while [[ -e $results ]]; do
        n=$((n + 1))
        results=$bench_dir/results/$stamp-$n
    done
    mkdir -p "$results"
    step "results in $results"
}

# run NAME COMMAND...: runs COMMAND, its output directory being $results/NAME.
# Leaves NAME.log (the command's output), NAME.time (/usr/bin/time -v) and
# NAME.run (wall time, process-tree memory and CPU figures from `measure`).
run() {
    local name=$1
    shift
    step "$name: $*"
    local status=0
    /usr/bin/time -v -o "$results/$name.time" \
        "$bin/measure" --report "$results/$name.run" -- "$@" \
        >"$results/$name.log" 2>&1 || status=$?
    if ((status != 0)); then
        echo "---- last lines of $results/$name.log" >&2
        tail -n 30 "$results/$name.log" >&2
        die "$name failed with exit status $status"
    fi
}

# The name of run R of an engine: the engine's own name when there is one run.
run_id() {
    if ((BENCH_RUNS == 1)); then echo "$1"; else echo "$1.run$2"; fi
}

# figures ENGINE...: one line per engine, from its median run by wall time: name, wall
# seconds, peak RSS KiB (time -v), process-tree peak KiB, share of the CPUs and CPU seconds
# used by other work during the run, and the run's id (for figures of a script's own).
figures() {
    local engine r id wall tree other other_s rss
    for engine in "$@"; do
        for ((r = 1; r <= BENCH_RUNS; r++)); do
            id=$(run_id "$engine" "$r")
            wall=$(sed -n 's/^wall_seconds=//p' "$results/$id.run")
            tree=$(sed -n 's/^tree_peak_kib=//p' "$results/$id.run")
            other=$(sed -n 's/^other_cpu_percent=//p' "$results/$id.run")
            other_s=$(sed -n 's/^other_cpu_seconds=//p' "$results/$id.run")
            rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$results/$id.time")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$engine" "$wall" "$rss" "$tree" "$other" "$other_s" "$id"
        done | sort -t $'\t' -k2,2g | sed -n "$(((BENCH_RUNS + 1) / 2))p"
    done
}

# The machine and tool versions, for a summary's header.
describe_machine() {
    echo "machine:  $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "project:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
    echo "rustc:    $(rustc --version 2>/dev/null || echo unknown)"
    if [[ -n ${venv:-} ]]; then
        echo "pyspark:  $PYSPARK_VERSION"
        echo "java:     $(java -version 2>&1 | head -n 1)"
    fi
}

# The closing notes every summary shares.
explain_columns() {
    if ((BENCH_RUNS == 1)); then
        echo "wall s: whole command, start-up and shutdown included (one run each)."
    else
        echo "wall s: whole command, start-up and shutdown included; each engine's median of $BENCH_RUNS runs,"
        echo "whose other figures are shown too."
    fi
    echo "peak RSS: largest single process (/usr/bin/time -v); tree RSS: peak of the summed"
    echo "RSS of the command's whole process tree (JVM plus Python workers, ember's executor"
    echo "processes), sampled every 50 ms;"
    echo "other CPU %: share of all cores used by other processes during the run."
}

# Sets $input (and $label) to bench/data/words-<size>[-seed<seed>].txt, generating
# BENCH_BYTES of text with BENCH_SEED there with gen-text unless it exists. While it is being
# written it is $partial, which the caller's clean-up removes if the script is stopped.
generate_text_input() {
    if ((BENCH_BYTES % 1000000 == 0)); then
        label="$((BENCH_BYTES / 1000000))MB"
    else
        label="${BENCH_BYTES}B"
    fi
    [[ $BENCH_SEED == 42 ]] || label="$label-seed$BENCH_SEED"
    input=$bench_dir/data/words-$label.txt
    if [[ ! -s $input ]]; then
        step "generating $input"
        mkdir -p "$bench_dir/data"
        partial=$input.partial.$$
        "$bin/gen-text" --bytes "$BENCH_BYTES" --seed "$BENCH_SEED" "$partial"
        mv "$partial" "$input"
        partial=
    fi
}
