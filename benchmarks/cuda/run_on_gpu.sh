#!/usr/bin/env bash
# The one device check of the CUDA backend, for a machine with an NVIDIA GPU (< 8 min):
#
#   bash benchmarks/cuda/run_on_gpu.sh
#
#   1. builds libvenseg + the module with -DVENSEG_WITH_CUDA=ON (-Werror) in build/gpu
#      ($VENSEG_GPU_BUILD),
#      for the GPU's own architecture;
#   2. checks that libvenseg.so needs no CUDA library (readelf);
#   3. runs tests/test_cuda (fp32 logits vs the reference backend <= 1e-3 on the tiny and
#      the shipped model, fp16 and TF32 masks vs fp32 Dice >= 0.99, batch, CUDA-graph
#      replay, device selection), benchmarks/cuda/dice_real.py (fp16 and TF32 masks against
#      fp32 on real frames, Dice >= 0.99 per class) and tests/test_api;
#   4. benchmarks the shipped ResUNet-34 at 256 x 256 (bench_cuda): batch-1 latency and
#      batch-64 throughput in fp32, TF32 and fp16, and PyTorch on the same GPU when the
#      Python there has torch with CUDA (benchmarks/cuda/torch_cuda.py);
#   5. writes everything to $OUT (when set) or benchmarks/results/: cuda-<gpu>.json (all
#      numbers, the device named), cuda-<gpu>.md (table) and the raw outputs in cuda-<gpu>/;
#   6. if time is left (started before 4 min): builds everything and runs the whole GoogleTest
#      suite, where AUTO now picks the GPU (python, install, memcheck and fuzz tests left out).
# Prints everything; exits non-zero when a build step or a test fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
start=$SECONDS
log() { printf '\n=== [%3ds] %s\n' $((SECONDS - start)) "$*"; }
status=0
b=${VENSEG_GPU_BUILD:-build/gpu} # build directory

log "device"
nvidia-smi || echo "nvidia-smi failed"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
slug=$(tr '[:upper:]' '[:lower:]' <<<"${gpu:-unknown-gpu}" | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
res=${OUT:-benchmarks/results}
raw=$res/cuda-$slug
mkdir -p "$raw"
echo "gpu: ${gpu:-?} (compute capability ${cap:-?}); results: $res"
nvcc --version | tail -n 2 || true
# the static CUDA runtime needs a driver of at least its own major version
drv_cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\)\..*/\1/p' | head -n 1)
nvcc_major=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -n 1)
if [[ -n $drv_cuda && -n $nvcc_major && $drv_cuda -lt $nvcc_major ]]; then
    echo "WARNING: the driver supports CUDA $drv_cuda, the toolkit is CUDA $nvcc_major: the module will report"
    echo "         cudaErrorInsufficientDriver; build with a CUDA $drv_cuda toolkit (CUDACXX=...) instead"
fi

log "configure + build ($b)"
archs=()
[[ $cap =~ ^[0-9]+$ ]] && archs=(-DCMAKE_CUDA_ARCHITECTURES="$cap")
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if ! cmake -S . -B "$b" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DVENSEG_WITH_CUDA=ON -DVENSEG_WERROR=ON \
        -DVENSEG_BUILD_TESTS=ON -DVENSEG_BUILD_EXAMPLES=OFF -DVENSEG_BUILD_PROGRAM=OFF -DVENSEG_BUILD_BENCHMARKS=ON "${archs[@]}" \
        >"$raw/configure.log" 2>&1; then
    cat "$raw/configure.log"
    echo "FAILED: configure"
    exit 1
fi
tail -n 3 "$raw/configure.log"
if ! timeout 300 cmake --build "$b" --parallel "$(nproc)" --target venseg venseg_cuda test_cuda test_api bench_cuda \
        >"$raw/build.log" 2>&1; then
    tail -n 60 "$raw/build.log"
    echo "FAILED: build"
    exit 1
fi
echo "built in $((SECONDS - start)) s"

log "libvenseg.so needs no CUDA library"
readelf -d "$b"/libvenseg.so.1 | grep NEEDED | tee "$raw/needed.txt"
if grep -Eq 'cudart|cudnn|libcuda|cublas' "$raw/needed.txt"; then
    echo "FAILED: libvenseg.so links a CUDA library"
    status=1
fi
readelf -d "$b"/libvenseg_cuda.so.1 | grep NEEDED

log "tests/test_cuda"
timeout 240 "$b"/tests/test_cuda --gtest_output=json:"$raw/test_cuda.json" 2>&1 | tee "$raw/test_cuda.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
log "fp16 / TF32 masks against fp32 on real frames (benchmarks/cuda/dice_real.py)"
py=/usr/bin/python3
[[ -x $py ]] || py=python3
timeout 150 "$py" benchmarks/cuda/dice_real.py "$b"/libvenseg.so.1 weights/resunet34.vseg --max-images 60 \
    | tee "$raw/dice_real.json"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
log "tests/test_api"
(cd "$b"/tests && timeout 60 ./test_api --gtest_brief=1) 2>&1 | tail -n 20 | tee "$raw/test_api.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1

log "bench_cuda: shipped ResUNet-34, 256 x 256"
model=weights/resunet34.vseg
for prec in fp32 tf32 fp16; do
    timeout 60 "$b"/benchmarks/bench_cuda "$model" --precision "$prec" --batch 1 --iters 200 --warmup 20 \
        | tee "$raw/bench-$prec-b1.json"
    timeout 90 "$b"/benchmarks/bench_cuda "$model" --precision "$prec" --batch 64 --iters 20 --warmup 3 \
        | tee "$raw/bench-$prec-b64.json"
done

log "PyTorch on the same GPU"
timeout 150 "$py" benchmarks/cuda/torch_cuda.py "$model" --iters 30 | tee "$raw/torch.json" \
    || echo '{"skipped": "torch_cuda.py failed or timed out"}' >"$raw/torch.json"

log "summary"
python3 benchmarks/cuda/summarize.py "$raw" "$res/cuda-$slug" --gpu "${gpu:-unknown}" || status=1

if ((SECONDS - start < 240)); then
    log "whole suite with AUTO on the GPU"
    if timeout 90 cmake --build "$b" --parallel "$(nproc)" >"$raw/build-all.log" 2>&1; then
        (cd "$b" && timeout 110 ctest --parallel 4 -LE 'python|install|memcheck|fuzz' 2>&1) | tail -n 25 |
            tee "$raw/ctest.log"
    else
        tail -n 30 "$raw/build-all.log"
        echo "(whole-suite build failed or ran out of time: not counted)"
    fi
else
    log "no time left for the whole suite"
fi
log "done (status $status)"
exit "$status"
