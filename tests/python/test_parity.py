"""Parity of the C library (venseg_session_run_tensor, through the binding's
Session.run_tensor) with PyTorch.

    ctest --test-dir build/release -R python_parity       (or, with the binding built:)
    PYTHONPATH=build/release/tests/python:bindings/python [VENSEG_PARITY_REPORT=parity.md] \\
        python -m pytest tests/python/test_parity.py -v -s

Without the binding (venseg._native) the tests are skipped, or fail when CI=true.

Every variant is a seeded random model (venseg.toolkit.convert.random_model: numpy-drawn weights,
BN running statistics from one seeded batch, so probabilities are not saturated). The
reference is PyTorch in float64 on the float32 weights as stored in the file (for f16 /
bf16 / q8 files: the dequantised weights read back by venseg.toolkit.weights.read_vseg), so the
measured error is the C library's. Criterion: max |prob_C - prob_torch| <= 1e-4 over all
classes and pixels, and std(prob_torch) > 0.02 (not saturated). Storages: "f32" (BN
unfolded: the loader folds), "f32-fold" (--fold-bn), "f16", "bf16", "q8".
"""

import functools
import json
import os
import sys
import time
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from vslib import binding, run_tensor  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))

torch = pytest.importorskip("torch")

from venseg.toolkit.convert import make_metadata, random_model  # noqa: E402
from venseg.toolkit.reference import load_numpy_state, state_dict_numpy  # noqa: E402
from venseg.toolkit.weights import build_vseg, read_vseg  # noqa: E402
from venseg.toolkit import arch as A  # noqa: E402

TOL = 1e-4
MIN_STD = 0.02
SEED = 1234

# variant id -> (ARCH for random_model, kwargs)
VARIANTS = {
    "smp-resnet18": ("smp-resnet18", {}),
    "smp-resnet34": ("smp-resnet34", {}),
    "smp-resnet50": ("smp-resnet50", {}),
    "keras-resnet34-upsample": ("keras-resnet34-upsample", {}),
    "keras-resnet34-transpose": ("keras-resnet34-transpose", {}),
    "plain-unet-b16-d4": ("plain-unet", {"base_channels": 16, "depth": 4, "in_channels": 1}),
    "keras-resnet18-upsample": ("keras-resnet18-upsample", {}),
    "keras-resnet50-upsample": ("keras-resnet50-upsample", {}),
    "tv-resnet34-transpose": ("tv-resnet34-transpose", {}),
    "smp-resnet34-1ch": ("smp-resnet34", {"in_channels": 1}),
}

# (variant, storage, (n, h, w))
CASES = []
for _v in VARIANTS:
    for _st in ("f32", "f32-fold"):
        for _shape in ((1, 64, 64), (1, 96, 128)):
            CASES.append((_v, _st, _shape))
CASES += [("smp-resnet34", "f32", (2, 64, 64)), ("plain-unet-b16-d4", "f32", (2, 96, 128)),
          ("keras-resnet34-transpose", "f32-fold", (2, 64, 96))]
for _v in ("smp-resnet34", "keras-resnet34-upsample", "keras-resnet34-transpose",
           "plain-unet-b16-d4"):
    for _st in ("f16", "bf16", "q8"):
        CASES.append((_v, _st, (1, 64, 96)))

RESULTS = []


# ------------------------------------------------------------------ library

@pytest.fixture(scope="module")
def vn():
    return binding()


def available_backends(vn):
    """Backends compiled into the library (from venseg_build_info)."""
    names = vn.build_info().get("backends", "").split(",")
    return [b for b in ("reference", "onednn") if b in names]


# ------------------------------------------------------------------- models

@functools.lru_cache(maxsize=2)
def _variant(vid):
    arch_name, kw = VARIANTS[vid]
    kw = dict(kw)
    cin = kw.pop("in_channels", None)
    model, arch_meta = random_model(arch_name, SEED, in_channels=cin, classes=2,
                                    calib_size=(128, 128), **kw)
    channels = cin or 3
    meta = make_metadata(arch_meta, channels, ["artery", "vein"], 256, 256, trained=0)
    return model, meta, state_dict_numpy(model)


def _file_bytes(meta, sd, storage):
    if storage == "f32-fold":
        return build_vseg(meta, A.fold_bn(meta, sd))
    return build_vseg(meta, sd, dtype=storage)


def _torch_probs(model, tensors, x):
    import copy

    m = copy.deepcopy(model)
    load_numpy_state(m, tensors)
    m = m.double().eval()
    with torch.no_grad():
        logits = m(torch.from_numpy(x.astype(np.float64)))
    return torch.sigmoid(logits).numpy(), logits.numpy()


@pytest.fixture(scope="session", autouse=True)
def _report():
    yield
    path = os.environ.get("VENSEG_PARITY_REPORT")
    if path and RESULTS:
        if path.endswith(".json"):
            with open(path, "w") as fh:
                json.dump(RESULTS, fh, indent=1)
        else:
            with open(path, "w") as fh:
                fh.write(f"# PyTorch parity (tolerance max |dprob| <= {TOL})\n\n")
                fh.write("| variant | storage | input n x h x w | backend | max dprob | max dlogit "
                         "| vs reference backend | prob std | C time s | ok |\n"
                         "|---|---|---|---|---|---|---|---|---|---|\n")
                for r in RESULTS:
                    fh.write(f"| {r['variant']} | {r['storage']} | {r['shape']} | {r['backend']} | "
                             f"{r['max_dprob']:.3g} | {r['max_dlogit']:.3g} | {r['vs_reference']:.3g} | "
                             f"{r['prob_std']:.3f} | {r['c_seconds']:.2f} | "
                             f"{'yes' if r['ok'] else 'NO'} |\n")


@pytest.mark.parametrize("vid,storage,shape", CASES,
                         ids=[f"{v}-{s}-{n}x{h}x{w}" for v, s, (n, h, w) in CASES])
def test_parity(vn, vid, storage, shape):
    model, meta, sd = _variant(vid)
    data = _file_bytes(meta, sd, storage)
    stored = read_vseg(data).tensors
    # the reference uses the unfolded tensors as stored (dequantised for f16/bf16/q8)
    ref_tensors = sd if storage == "f32-fold" else stored
    n, h, w = shape
    c = int(meta["input.channels"])
    x = np.random.default_rng(zlib.crc32(f"{vid}{shape}".encode())).standard_normal(
        (n, c, h, w)).astype(np.float32)
    p_ref, l_ref = _torch_probs(model, ref_tensors, x)
    std = float(p_ref.std())
    assert std > MIN_STD, f"reference probabilities saturated (std {std:.4f})"
    outputs = {}
    for backend in available_backends(vn):  # every backend against PyTorch, and each other
        with vn.Model(data) as m, vn.Session(m, backend=backend) as s:
            t0 = time.perf_counter()
            p_c = run_tensor(s, x, activation=True)
            dt = time.perf_counter() - t0
            l_c = run_tensor(s, x, activation=False)
            desc = s.describe()
        outputs[backend] = p_c
        err = float(np.max(np.abs(p_c.astype(np.float64) - p_ref)))
        lerr = float(np.max(np.abs(l_c.astype(np.float64) - l_ref)))
        vs_ref = float(np.max(np.abs(p_c - outputs["reference"]))) if "reference" in outputs else 0.0
        ok = bool(err <= TOL and vs_ref <= TOL and np.isfinite(p_c).all())
        RESULTS.append(dict(variant=vid, storage=storage, shape=f"{n}x{h}x{w}", backend=backend,
                            max_dprob=err, max_dlogit=lerr, vs_reference=vs_ref, prob_std=std,
                            c_seconds=dt, ok=ok, session=desc))
        print(f"\nPARITY {vid} {storage} {n}x{h}x{w} [{backend}]: max|dprob|={err:.3g} "
              f"max|dlogit|={lerr:.3g} vs reference backend {vs_ref:.3g} prob std={std:.3f} "
              f"C {dt:.2f}s ({desc})")
        assert np.isfinite(p_c).all(), f"{backend}: non-finite C output"
        assert err <= TOL, f"{backend}: max |dprob| {err:.3g} > {TOL} (max |dlogit| {lerr:.3g})"
        assert vs_ref <= TOL, f"{backend}: max |dprob| vs the reference backend {vs_ref:.3g} > {TOL}"


def test_fixture_golden(vn):
    """The committed tests/data fixtures agree with the C library."""
    d = os.path.join(os.path.dirname(__file__), "..", "data")
    x = np.fromfile(os.path.join(d, "tiny_plain_unet_input.bin"), "<f4").reshape(1, 1, 32, 32)
    g = np.fromfile(os.path.join(d, "tiny_plain_unet_golden.bin"), "<f4").reshape(1, 2, 32, 32)
    for name, tol in (("tiny_plain_unet.vseg", TOL), ("tiny_plain_unet_deflate.vseg", TOL),
                      ("tiny_plain_unet_q8.vseg", 1e-2)):
        with open(os.path.join(d, name), "rb") as fh, vn.Model(fh.read()) as m, vn.Session(m) as s:
            p = run_tensor(s, x)
        err = float(np.abs(p - g).max())
        print(f"\nFIXTURE {name}: max|dprob| vs golden = {err:.3g}")
        assert err <= tol, f"{name}: {err}"


def test_c_rejects_bad_files(vn):
    """Files written by the Python writer and then damaged are refused with the right status."""
    import struct

    d = os.path.join(os.path.dirname(__file__), "..", "data")
    with open(os.path.join(d, "tiny_plain_unet.vseg"), "rb") as fh:
        good = fh.read()
    f = read_vseg(good)

    def status(data):
        """(status code, detail) of venseg_model_load_memory on data."""
        try:
            vn.Model(bytes(data)).close()
        except vn.VensegError as e:
            return e.code, e.detail
        return 0, ""

    assert status(good)[0] == 0
    bad = bytearray(good)
    bad[-5] ^= 1  # data CRC
    assert status(bad)[0] == 4
    bad = bytearray(good)
    bad[100] ^= 1  # metadata CRC
    assert status(bad)[0] == 4
    bad = bytearray(good)
    bad[4:8] = struct.pack("<I", 2)
    assert status(bad)[0] == 5
    assert status(good[:-1])[0] == 4
    tensors = dict(f.tensors)
    del tensors["dec0.conv2.weight"]
    s, msg = status(build_vseg(f.metadata, tensors))
    assert s == 6 and "dec0.conv2.weight" in msg, (s, msg)
    tensors = dict(f.tensors)
    tensors["head.weight"] = np.zeros((3, 4, 1, 1), np.float32)
    s, msg = status(build_vseg(f.metadata, tensors))
    assert s == 6 and "head.weight" in msg, (s, msg)
