# Sourced by tests/ci/run_all.sh and examples/demo.sh (bash): installs what the
# build, the tests and the demo need on Debian 12, and makes the Python venv.
#
#   venseg_setup_packages   apt-get installs the Debian packages that are missing
#                           (nothing to do, and no network, when all are present);
#                           VENSEG_SKIP_APT=1 skips the check entirely.
#   venseg_setup_venv       build/venv: /usr/bin/python3 with the system site
#                           packages (Debian's torch, numpy, scipy, skimage, pytest)
#                           plus segmentation-models-pytorch from PyPI; sets
#                           VENSEG_VENV_PYTHON. Debian's torch/torchvision/numpy are
#                           pinned so pip never replaces them.

VENSEG_APT_PACKAGES=(
    # build and C/C++ tests
    cmake ninja-build gcc g++ binutils pkg-config libgtest-dev zlib1g-dev libpng-dev
    # the venseg program (examples/venseg): LabelMe JSON labels; video in and MP4 out (FFmpeg),
    # animated GIFs (giflib)
    libcjson-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libgif-dev
    # examples/venseg/tests, examples/viewer: the HTML report in headless Chromium; the Tkinter viewer under Xvfb
    # (through the cffi Python binding, whose packages are on the Python line below)
    chromium fonts-dejavu-core xvfb xauth python3-tk
    # the tracker test on the real FloWave cine decodes it with the ffmpeg tool
    ffmpeg
    # oneDNN backend (Debian's dnnl-config.cmake needs the OpenCL development files)
    libdnnl-dev ocl-icd-opencl-dev
    # Python bindings, converter, parity tests
    ca-certificates python3 python3-venv python3-numpy python3-torch python3-torchvision python3-cffi python3-dev python3-wheel
    python3-pytest python3-scipy python3-skimage python3-pil
    # venseg.toolkit.evaluate plots
    python3-matplotlib
    # SWIG Java and C# bindings (bindings/swig); System.Drawing + libgdiplus decode PNGs in the C# example
    swig openjdk-17-jdk-headless mono-mcs libmono-system-drawing4.0-cil libgdiplus
    # hardening: libFuzzer targets (Clang and its fuzzer/sanitizer runtimes), valgrind memcheck
    clang-14 libclang-rt-14-dev valgrind
    # DICOM cine input: DCMTK for the venseg program (and its img2dcm/dcmcjpeg tools in the tests),
    # pydicom for venseg.io; Dask distributed for venseg.batch over archives
    dcmtk libdcmtk-dev python3-pydicom python3-dask python3-distributed
)
# PyPI packages the tests need beyond Debian's (import name=pip requirement)
# (pydicom_data: real ultrasound DICOM files, MIT, for tests/python/test_dicom.py)
VENSEG_PIP_PACKAGES=(onnx=onnx onnxruntime=onnxruntime data_store=pydicom-data)
VENSEG_SMP_VERSION=${VENSEG_SMP_VERSION:-0.6.0}
VENSEG_VENV=${VENSEG_VENV:-build/venv}

venseg_log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

venseg_setup_packages() {
    if [[ ${VENSEG_SKIP_APT:-0} == 1 ]]; then
        venseg_log "VENSEG_SKIP_APT=1: not checking Debian packages"
        return 0
    fi
    local missing=() pkg status
    for pkg in "${VENSEG_APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        venseg_log "Debian packages: all ${#VENSEG_APT_PACKAGES[@]} present"
        return 0
    fi
    venseg_log "Debian packages: installing ${missing[*]}"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "error: missing Debian packages (${missing[*]}); run as root or install them" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

venseg_setup_venv() {
    local py="$VENSEG_VENV/bin/python"
    if [[ ! -x $py ]] || ! "$py" -c 'import sys' 2>/dev/null; then
        venseg_log "Python venv: creating $VENSEG_VENV (with the system site packages)"
        rm -rf "$VENSEG_VENV"
        /usr/bin/python3 -m venv --system-site-packages "$VENSEG_VENV"
    fi
    if ! "$py" -c "import segmentation_models_pytorch, pytest, torch, numpy" 2>/dev/null; then
        venseg_log "Python venv: pip install segmentation-models-pytorch==$VENSEG_SMP_VERSION"
        local constraints="$VENSEG_VENV/debian-constraints.txt"
        "$py" - >"$constraints" <<'EOF'
import importlib.metadata as md
for name in ("torch", "torchvision", "numpy", "scipy", "scikit-image", "Pillow"):
    try:
        print(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        pass
EOF
        "$py" -m pip install -q -c "$constraints" "segmentation-models-pytorch==$VENSEG_SMP_VERSION"
        "$py" -c "import pytest" 2>/dev/null || "$py" -m pip install -q -c "$constraints" pytest
    fi
    local entry missing_pip=()
    for entry in "${VENSEG_PIP_PACKAGES[@]}"; do
        "$py" -c "import ${entry%%=*}" 2>/dev/null || missing_pip+=("${entry#*=}")
    done
    if [[ ${#missing_pip[@]} -gt 0 ]]; then
        venseg_log "Python venv: pip install ${missing_pip[*]}"
        local pins=()
        [[ -f $VENSEG_VENV/debian-constraints.txt ]] && pins=(-c "$VENSEG_VENV/debian-constraints.txt")
        "$py" -m pip install -q "${pins[@]}" "${missing_pip[@]}"
    fi
    VENSEG_VENV_PYTHON=$(cd "$(dirname "$py")" && pwd)/python
    export VENSEG_VENV_PYTHON
    "$VENSEG_VENV_PYTHON" -c "import torch, segmentation_models_pytorch as smp, pytest; \
print('   torch', torch.__version__, '| smp', smp.__version__, '| pytest', pytest.__version__)"
}
