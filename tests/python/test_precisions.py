"""bf16 and int8 against fp32 on real images (issue: oneDNN backend accuracy).

For the shipped ResUNet-34 (weights/resunet34*.vseg), on real frames of ../shared/data:
masks of the oneDNN fp32, bf16 and int8 sessions; per class, the Dice of the bf16 / int8
masks against the fp32 masks (pooled over all pixels of all frames) must be >= 0.99.
int8 is calibrated on frames that are not scored. The measured Dice loss is printed.
Skipped, saying why, without the oneDNN backend, the shipped weights or ../shared/data.
"""

import ctypes
import glob
import os

import numpy as np
import pytest

from venseg import _native as N

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DATA = os.environ.get("VENSEG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

OPT_BACKEND, OPT_PRECISION, OPT_THREADS = 100, 102, 101
ONEDNN = 2
FP32, BF16, INT8 = 0, 1, 2
MIN_DICE = 0.99


def _frames(folder, n, offset=0):
    files = sorted(glob.glob(os.path.join(DATA, folder, "*.png")))[offset:offset + n]
    return [np.ascontiguousarray(np.array(Image.open(f).convert("L"))) for f in files]


@pytest.fixture(scope="module")
def setup():
    try:
        lib = N.library()
    except Exception as exc:
        pytest.skip(f"libvenseg not loadable: {exc}")
    if "onednn" not in lib.venseg_build_info().decode():
        pytest.skip("the oneDNN backend is not built in")
    weights = sorted(glob.glob(os.path.join(ROOT, "weights", "resunet34*.vseg")))
    if not weights:
        pytest.skip("no shipped ResUNet-34 in weights/")
    if not os.path.isdir(os.path.join(DATA, "usgra-seg")):
        pytest.skip(f"{DATA} is absent: the real-image accuracy test needs ../shared/data")
    vp = ctypes.c_void_p
    lib.venseg_calibration_create.argtypes = [vp, ctypes.POINTER(vp)]
    lib.venseg_calibration_free.argtypes = [vp]
    lib.venseg_calibration_free.restype = None
    lib.venseg_calibration_add_frame.argtypes = [vp, vp, ctypes.c_int, ctypes.c_int32, ctypes.c_int32,
                                                 ctypes.c_int64]
    lib.venseg_session_create_calibrated.argtypes = [vp, vp, vp, ctypes.POINTER(vp)]
    return lib, N.Model(weights[0])


def _session(lib, model, precision, calibration=None):
    opts = ctypes.c_void_p()
    N._check(lib.venseg_options_create(ctypes.byref(opts)))
    for k, v in ((OPT_BACKEND, ONEDNN), (OPT_PRECISION, precision), (OPT_THREADS, 2)):
        N._check(lib.venseg_options_set(opts, k, v))
    h = ctypes.c_void_p()
    try:
        if calibration is not None:
            st = lib.venseg_session_create_calibrated(model.handle, opts, calibration, ctypes.byref(h))
        else:
            st = lib.venseg_session_create(model.handle, opts, ctypes.byref(h))
    finally:
        lib.venseg_options_free(opts)
    if st == 7:  # VENSEG_E_UNSUPPORTED, e.g. bf16 without AVX-512
        pytest.skip(lib.venseg_last_error().decode())
    N._check(st)
    s = N.Session.__new__(N.Session)
    s._h, s.model = h, model
    return s


def test_bf16_and_int8_masks_match_fp32(setup):
    lib, model = setup
    calib = _frames("usgra-seg/images", 8) + _frames("cca-momot/images", 4)
    scored = _frames("usgra-seg/images", 24, offset=100) + _frames("cca-momot/images", 12, offset=100)
    cal = ctypes.c_void_p()
    N._check(lib.venseg_calibration_create(model.handle, ctypes.byref(cal)))
    try:
        for im in calib:
            N._check(lib.venseg_calibration_add_frame(cal, im.ctypes.data, 1, im.shape[1], im.shape[0], im.shape[1]))
        sessions = {"fp32": _session(lib, model, FP32), "bf16": _session(lib, model, BF16),
                    "int8": _session(lib, model, INT8, cal)}
    finally:
        lib.venseg_calibration_free(cal)
    masks = {k: [s.segment(im) for im in scored] for k, s in sessions.items()}
    failures = []
    for prec in ("bf16", "int8"):
        for label, name in ((1, "artery"), (2, "vein")):
            a = np.concatenate([(m == label).ravel() for m in masks["fp32"]])
            b = np.concatenate([(m == label).ravel() for m in masks[prec]])
            denom = a.sum() + b.sum()
            dice = 1.0 if denom == 0 else 2.0 * (a & b).sum() / denom
            print(f"\n{prec} vs fp32, {name}: Dice {dice:.4f} (loss {1 - dice:.4f}) over {len(scored)} real frames "
                  f"[{sessions[prec].describe()}]")
            if dice < MIN_DICE:
                failures.append(f"{prec} {name} Dice {dice:.4f}")
    assert not failures, "; ".join(failures)
