#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, ASan and UBSan in
# build-fuzz/, then runs each for BULWARK_FUZZ_SECONDS seconds (default 60),
# starting from its committed seeds in fuzz/corpus/<target>/ and growing a
# working corpus in build-fuzz/fuzz/corpus/<target>/ (never in the source
# tree). Exits non-zero when any target crashes, leaks, times out or trips a
# sanitizer, and says where the crashing input was written and how to replay
# it.
#
#   fuzz/run.sh                 every target
#   fuzz/run.sh fuzz_jwt        some targets
#   BULWARK_FUZZ_SECONDS=10 fuzz/run.sh    a short run
#   BULWARK_FUZZ_RUNS=20000 fuzz/run.sh     a reproducible one (CI's smoke run)
#
# Needs clang and libFuzzer: Debian 12 packages clang-14 (or clang) and
# libclang-rt-14-dev.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
. "$root/deploy/local/lib.sh"
bw_deps_ensure "${BW_DEPS[@]}" clang libclang-rt-14-dev
build=${BULWARK_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${BULWARK_FUZZ_SECONDS:-60}
jobs=${BULWARK_FUZZ_JOBS:-2}
cc=${BULWARK_FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}

if [[ -z "$cc" ]]; then
    echo "fuzz: clang not found; install clang-14 and libclang-rt-14-dev" >&2
    exit 2
fi

# -O1 and asserts on: fast enough to fuzz, still debuggable.
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS=-O1 -DBULWARK_SANITIZE=ON -DBULWARK_FUZZ=ON >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 2; }
cmake --build "$build" --target bw_fuzz -j"$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
passed=0
failed=0
while read -r name max_len; do
    [[ -n "$name" ]] || continue
    if [[ $# -gt 0 && " $* " != *" $name "* ]]; then
        continue
    fi
    work="$build/fuzz/corpus/$name"
    artifacts="$build/fuzz/artifacts/$name"
    log="$build/fuzz/logs/$name.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    dict=()
    if [[ -f "$root/fuzz/$name.dict" ]]; then
        dict=(-dict="$root/fuzz/$name.dict")
    fi
    if [[ -n ${BULWARK_FUZZ_RUNS:-} ]]; then
        echo "fuzz: $name for $BULWARK_FUZZ_RUNS inputs (max_len $max_len)"
    else
        echo "fuzz: $name for ${seconds}s (max_len $max_len)"
    fi
    # BULWARK_FUZZ_RUNS makes a run reproducible (a fixed number of inputs
    # from a fixed seed), as CI wants; otherwise it runs for a time.
    if [[ -n ${BULWARK_FUZZ_RUNS:-} ]]; then
        budget=(-runs="$BULWARK_FUZZ_RUNS" -seed=1)
    else
        budget=(-max_total_time="$seconds")
    fi
    if "$build/fuzz/$name" "${budget[@]}" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
        "$work" "$root/fuzz/corpus/$name" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $name: ok, ${runs:-?} runs, corpus $(find "$work" -type f | wc -l) inputs"
        passed=$((passed + 1))
    else
        status=1
        failed=$((failed + 1))
        echo "fuzz: $name: FAILED; the end of $log:" >&2
        tail -n 40 "$log" >&2
        input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        if [[ -n "$input" ]]; then
            echo "fuzz: $name: crashing input: $input" >&2
            echo "fuzz: replay with: $build/fuzz/$name $input" >&2
        fi
    fi
done <"$build/fuzz/targets.txt"
echo "fuzz: $passed passed, $failed failed"
exit $status
