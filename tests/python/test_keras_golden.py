"""The C library against golden outputs of the REAL Keras segmentation_models.Unet.

    PYTHONPATH=build/release/tests/python:bindings/python python -m pytest tests/python/test_keras_golden.py -v -s

Needs numpy and the binding (venseg._native; no TensorFlow, no torch). Without the binding
the library tests are skipped, or fail when CI=true.

The C implementation of the Keras-style (pre-activation classification_models ResNet)
UNet and our PyTorch reference were both written from the same spec, so their parity can't
catch a shared misreading. Here the reference is qubvel's Keras ``segmentation_models``
1.0.1 itself: tests/data/make_keras_golden.py built ``sm.Unet(...)`` with TensorFlow 2.15,
filled every layer from a numpy seed (tests/python/keras_weights.py), ran it in float64 on
a seeded 0..255 input and stored the sigmoid probabilities (``tests/data/<case>_golden.bin``,
float32 NCHW [1, 2, h, w]). This test regenerates the same weights from the same seed with
numpy, maps them to .vseg tensor names (Keras kernels [kh, kw, cin, cout] -> [cout, cin,
kh, kw], Conv2DTranspose [kh, kw, cout, cin] -> [cin, cout, kh, kw], BN gamma / beta /
moving stats -> weight / bias / running_*), writes the file with venseg.toolkit.weights, runs
``venseg_session_run_tensor`` (Session.run_tensor) and requires max |prob_C - prob_keras| <= 1e-4. The file is
written both unfolded (the loader folds BN) and with ``venseg.toolkit.arch.fold_bn``.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from vslib import binding, run_tensor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import keras_weights as KW  # noqa: E402
from venseg.toolkit import arch as A  # noqa: E402
from venseg.toolkit.weights import build_vseg  # noqa: E402

TOL = 1e-4
MIN_STD = 0.05
DATA = os.environ.get("VENSEG_TEST_DATA_DIR") or os.path.join(HERE, "..", "data")


@pytest.fixture(scope="module")
def vn():
    return binding()


def _golden(case):
    _, _, (h, w), _ = KW.CASES[case]
    path = KW.golden_path(DATA, case)
    g = np.fromfile(path, "<f4")
    assert g.size == len(KW.CLASSES) * h * w, f"{path}: {g.size} values"
    return g.reshape(1, len(KW.CLASSES), h, w)


CASES = [(c, fold) for c in KW.CASES for fold in (False, True)]


@pytest.mark.parametrize("case,fold", CASES,
                         ids=[f"{c}-{'fold' if f else 'f32'}" for c, f in CASES])
def test_keras_golden(vn, case, fold):
    meta = KW.metadata(case)
    tensors = KW.file_tensors(case)
    if fold:
        tensors = A.fold_bn(meta, tensors)
    data = build_vseg(meta, tensors)
    x = np.ascontiguousarray(KW.input_nhwc(case).transpose(0, 3, 1, 2))  # NCHW, 0..255
    g = _golden(case)
    with vn.Model(data) as m, vn.Session(m) as s:
        assert m.num_classes == len(KW.CLASSES)
        p = run_tensor(s, x)
    err = float(np.abs(p.astype(np.float64) - g).max())
    std = float(g.std())
    print(f"\nKERAS {case} {'fold' if fold else 'f32'}: max|dprob|={err:.3g} golden std={std:.3f}")
    assert std > MIN_STD, f"golden probabilities saturated (std {std:.4f})"
    assert np.isfinite(p).all(), "non-finite C output"
    assert err <= TOL, f"max |dprob| {err:.3g} > {TOL}"


def test_weights_deterministic():
    """The seeded weights don't depend on anything but the seed (spot values pinned)."""
    kw = KW.keras_weights("keras-resnet34-upsampling")
    assert kw["bn_data"][1].shape == (3,)
    assert kw["conv0"][0].shape == (7, 7, 3, 64)
    assert kw["final_conv"][0].shape == (3, 3, 16, 2)
    again = KW.keras_weights("keras-resnet34-upsampling")
    assert all(np.array_equal(a, b) for k in kw for a, b in zip(kw[k], again[k]))


@pytest.mark.parametrize("case", list(KW.CASES))
def test_torch_reference_matches_keras(case):
    """venseg.toolkit.reference's Keras-style ResNetUnet (PyTorch, float64) against the same golden
    (skipped without torch; needs no library)."""
    torch = pytest.importorskip("torch")
    from venseg.toolkit.reference import ResNetUnet, load_numpy_state

    backbone, block, _, _ = KW.CASES[case]
    meta = KW.metadata(case)
    m = ResNetUnet(backbone, "keras", meta["decoder.block"],
                   convs_per_block=meta["decoder.convs_per_block"],
                   classes=len(KW.CLASSES), in_channels=3)
    load_numpy_state(m, KW.file_tensors(case))
    m = m.double().eval()
    x = torch.from_numpy(KW.input_nhwc(case).transpose(0, 3, 1, 2).astype(np.float64))
    with torch.no_grad():
        p = torch.sigmoid(m(x)).numpy()
    err = float(np.abs(p - _golden(case)).max())
    print(f"\nKERAS-TORCH {case}: max|dprob|={err:.3g}")
    assert err <= 1e-6, f"max |dprob| {err:.3g}"
