#!/usr/bin/env bash
# Builds the libFuzzer targets (VENSEG_FUZZ=ON, Clang, ASan + UBSan, reference backend
# without OpenMP) and runs each for a bounded time, starting from its seed corpus in
# tests/fuzz/corpus/<target>/. A crash, leak, sanitizer report, timeout or OOM fails
# that target; the input is kept under $build/artifacts/ (copy it into
# tests/fuzz/regressions/<target>/ to make it a ctest regression case, then fix it).
#
#   bash tests/fuzz/run_fuzzers.sh [target...]      (default: all three)
#
# Environment: VENSEG_FUZZ_SECONDS (per target, default 40), VENSEG_FUZZ_BUILD
# (default build/fuzz), CC/CXX (default clang-14/clang++-14, else clang/clang++).
# Prints per-target executions and a closing "N% tests passed, F tests failed out of N".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds=${VENSEG_FUZZ_SECONDS:-40}
build=${VENSEG_FUZZ_BUILD:-build/fuzz}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(model_load segment tracker)
cc=${CC:-$(command -v clang-14 || command -v clang)}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++)}
if [[ -z $cc || -z $cxx ]]; then
    echo "run_fuzzers: no clang found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 1
fi

# oneDNN and OpenMP stay out: neither is instrumented, and thread pools make runs irreproducible.
# No -Werror: warnings are the GCC stages' business, and a Clang-only one must not stop fuzzing.
if ! CC=$cc CXX=$cxx cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVENSEG_FUZZ=ON \
        -DVENSEG_BUILD_TESTS=OFF -DVENSEG_BUILD_BENCHMARKS=OFF -DVENSEG_BUILD_EXAMPLES=OFF -DVENSEG_BUILD_PROGRAM=OFF \
        -DVENSEG_BUILD_SHARED=OFF -DVENSEG_WITH_OPENMP=OFF -DVENSEG_WITH_ONEDNN=OFF -DVENSEG_WITH_CUDA=OFF \
        -DVENSEG_WERROR=OFF >/dev/null ||
    ! cmake --build "$build" --parallel "${JOBS:-2}" --target "${targets[@]/#/fuzz_}"; then
    echo "run_fuzzers: the fuzz build failed"
    echo "0% tests passed, ${#targets[@]} tests failed out of ${#targets[@]}"
    exit 1
fi

failed=0
total_runs=0
for t in "${targets[@]}"; do
    work="$build/corpus/$t" artifacts="$build/artifacts/$t"
    mkdir -p "$work" "$artifacts"
    log="$build/fuzz_$t.log"
    # -timeout: one input taking > 10 s is a finding; -rss_limit_mb/-malloc_limit_mb: so is asking for > 2 GiB
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
        "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)
    runs=${runs:-0}
    total_runs=$((total_runs + runs))
    if [[ $rc -eq 0 ]]; then
        printf 'fuzz_%-10s passed: %s runs in %s s, corpus %s inputs\n' "$t" "$runs" "$seconds" "$(ls "$work" | wc -l)"
    else
        failed=$((failed + 1))
        printf 'fuzz_%-10s FAILED (status %d) after %s runs; input(s): %s\n' "$t" "$rc" "$runs" \
            "$(ls "$artifacts" | sed "s|^|$artifacts/|" | tr '\n' ' ')"
        grep -E 'ERROR|SUMMARY|check failed|runtime error' "$log" | head -n 5 | sed 's/^/    /'
    fi
done
n=${#targets[@]}
echo "fuzzing: $total_runs executions in all"
echo "$((100 * (n - failed) / n))% tests passed, $failed tests failed out of $n"
[[ $failed -eq 0 ]]
