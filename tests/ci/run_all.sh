#!/usr/bin/env bash
# The whole libvenseg test suite, as CI runs it (.ci/run):
#
#   bash tests/ci/run_all.sh
#
# As root on a fresh Debian 12 it first installs the Debian packages it needs and
# makes build/venv (PyPI: segmentation-models-pytorch); on later runs both steps
# find everything in place and take a second. Then:
#   1. release preset, -Werror: every GoogleTest test, the C99 header tests, the
#      install + find_package/pkg-config consumer test, the example, and the
#      PyTorch parity tests (pytest tests/python); with the CUDA backend module
#      (libvenseg_cuda, ~1 min more) when nvcc and cuDNN are installed: its CPU-side
#      tests and test_cuda_emulated run, its GPU tests skip without a device;
#   2. asan-ubsan preset, -Werror: the same minus the tests that load the library
#      into an uninstrumented process (install consumer, Python);
#   3. tsan: tests/test_threads.cpp, the packed-weights store and the model's weights under ThreadSanitizer (build/tsan);
#   4. fuzz: tests/fuzz/run_fuzzers.sh, each libFuzzer target for 40 s (build/fuzz).
# Exits non-zero if anything fails. Environment: VENSEG_SKIP_APT=1 (no apt),
# VENSEG_NO_PYTHON=1 (no venv, no parity test), VENSEG_SKIP_ASAN=1, VENSEG_SKIP_TSAN=1,
# VENSEG_SKIP_FUZZ=1, VENSEG_FUZZ_SECONDS=N, VENSEG_NO_CUDA=1 (no CUDA module), JOBS=N.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/ci/setup.sh

start=$SECONDS
jobs=${JOBS:-$(nproc)}
logs=build/logs
status=0
summary=()
total_tests=0
total_failed=0

venseg_setup_packages
python_args=()
if [[ ${VENSEG_NO_PYTHON:-0} == 1 ]]; then
    venseg_log "VENSEG_NO_PYTHON=1: no Python parity test"
    python_args=(-DVENSEG_PYTHON=)
else
    venseg_setup_venv
    python_args=(-DVENSEG_PYTHON="$VENSEG_VENV_PYTHON")
fi
mkdir -p "$logs"

# stage PRESET [extra configure args...]
stage() {
    local preset=$1
    shift
    local log="$logs/ctest-$preset.log"
    venseg_log "[$preset] configure"
    if ! cmake --preset "$preset" -DVENSEG_WERROR=ON "$@"; then
        summary+=("$preset: FAILED to configure")
        return 1
    fi
    venseg_log "[$preset] build"
    if ! cmake --build --preset "$preset" --parallel "$jobs"; then
        summary+=("$preset: FAILED to build")
        return 1
    fi
    venseg_log "[$preset] test"
    local rc=0
    ctest --preset "$preset" --parallel "$jobs" 2>&1 | tee "$log" || rc=$?
    count_results "$preset" "$log" "$rc"
}

# count_results NAME LOG STATUS: the stage's "N% tests passed, F tests failed out of N"
# line of LOG goes into the summary and the totals; returns STATUS (1 if no such line).
count_results() {
    local name=$1 log=$2 rc=$3 line
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [[ -z $line ]]; then
        summary+=("$name: did not finish (status $rc)")
        return 1
    fi
    summary+=("$name: $line")
    local n f
    n=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    total_tests=$((total_tests + n))
    total_failed=$((total_failed + f))
    return "$rc"
}

# tsan: tests/test_threads.cpp, test_internal_packed.cpp (the packed-weights store that
# sessions share) and test_internal_weights.cpp (sessions made from threads on one model)
# under ThreadSanitizer, building only those tests. OpenMP and oneDNN are off: libgomp
# is not TSan-instrumented (its barriers would read as races).
tsan_stage() {
    local dir=build/tsan log=$logs/ctest-tsan.log rc=0
    venseg_log "[tsan] configure + build test_threads test_internal_packed test_internal_weights"
    if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVENSEG_WERROR=ON -DVENSEG_SANITIZE=thread \
            -DVENSEG_WITH_OPENMP=OFF -DVENSEG_WITH_ONEDNN=OFF -DVENSEG_BUILD_EXAMPLES=OFF -DVENSEG_BUILD_PROGRAM=OFF \
            -DVENSEG_BUILD_BENCHMARKS=OFF -DVENSEG_PYTHON= ||
        ! cmake --build "$dir" --parallel "$jobs" --target test_threads test_internal_packed test_internal_weights; then
        summary+=("tsan: FAILED to build")
        return 1
    fi
    venseg_log "[tsan] test"
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir "$dir" -R '^(Threads|PackedStore|PackedWeights|ModelWeights)\.' --output-on-failure 2>&1 | tee "$log" || rc=$?
    count_results tsan "$log" "$rc"
}

# fuzz: each libFuzzer target for VENSEG_FUZZ_SECONDS (default 40) from its seed corpus.
fuzz_stage() {
    local log=$logs/fuzz.log rc=0
    venseg_log "[fuzz] libFuzzer targets, ${VENSEG_FUZZ_SECONDS:-40} s each"
    JOBS=$jobs bash tests/fuzz/run_fuzzers.sh 2>&1 | tee "$log" || rc=$?
    count_results fuzz "$log" "$rc"
}

cuda_args=(-DVENSEG_WITH_CUDA=OFF)
nvcc=$(command -v nvcc || true)
if [[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]]; then nvcc=/usr/local/cuda/bin/nvcc; fi
have_cudnn=0
for f in "$(dirname "${nvcc:-/}")"/../include/cudnn_version.h /usr/include/cudnn_version.h \
    /usr/include/*-linux-gnu/cudnn_version.h; do
    if [[ -f $f ]]; then have_cudnn=1; fi
done
if [[ ${VENSEG_NO_CUDA:-0} != 1 && -n $nvcc && $have_cudnn == 1 ]]; then
    cuda_args=(-DVENSEG_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc")
else
    venseg_log "no nvcc + cuDNN (or VENSEG_NO_CUDA=1): the CUDA backend module is not built"
fi
stage release "${python_args[@]}" "${cuda_args[@]}" || status=1
if [[ ${VENSEG_SKIP_ASAN:-0} == 1 ]]; then
    summary+=("asan-ubsan: skipped (VENSEG_SKIP_ASAN=1)")
else
    stage asan-ubsan || status=1
fi
if [[ ${VENSEG_SKIP_TSAN:-0} == 1 ]]; then
    summary+=("tsan: skipped (VENSEG_SKIP_TSAN=1)")
else
    tsan_stage || status=1
fi
if [[ ${VENSEG_SKIP_FUZZ:-0} == 1 ]]; then
    summary+=("fuzz: skipped (VENSEG_SKIP_FUZZ=1)")
else
    fuzz_stage || status=1
fi

venseg_log "summary ($((SECONDS - start)) s)"
printf '   %s\n' "${summary[@]}"
if [[ $status -ne 0 ]]; then
    echo "FAILED: see the output above (ctest logs in $logs/)"
fi
if [[ $total_tests -gt 0 ]]; then
    passed=$((total_tests - total_failed))
    echo
    echo "$((100 * passed / total_tests))% tests passed, $total_failed tests failed out of $total_tests"
fi
exit "$status"
