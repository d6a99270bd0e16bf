"""Metrics through the cffi binding, against hand-computed values and a brute-force
numpy implementation of the MONAI surface-distance definition."""

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding, status_of as _status  # noqa: E402

vn = binding()


PRED = np.array([[1, 1, 0, 2],
                 [0, 2, 2, 0],
                 [1, 0, 0, 3]], np.uint8)
TRUTH = np.array([[1, 0, 0, 2],
                  [1, 2, 4, 4],
                  [1, 1, 0, 3]], np.uint8)


def test_overlap_counts_by_hand():
    # artery (1): pred at (0,0) (0,1) (2,0); truth at (0,0) (1,0) (2,0) (2,1)
    assert vn.overlap_counts(PRED, vn.label_bit(1), TRUTH, vn.label_bit(1)) == [2, 1, 2]
    # vein (2): pred (0,3) (1,1) (1,2); truth (0,3) (1,1); (1,2) is truth 4
    assert vn.overlap_counts(PRED, 1 << 2, TRUTH, 1 << 2) == [2, 1, 0]
    assert vn.overlap_counts(PRED, 1 << 2, TRUTH, 1 << 2, ignore_labels=1 << 4) == [2, 0, 0]
    # vessel = 1 | 2 | 3 in both: tp (0,0) (0,3) (1,1) (2,0) (2,3); fp (0,1) (1,2); fn (1,0) (2,1)
    v = (1 << 1) | (1 << 2) | (1 << 3)
    assert vn.overlap_counts(PRED, v, TRUTH, v) == [5, 2, 2]
    # strided rows (every other row of a taller array) and a column-strided view agree
    tall = np.zeros((6, 4), np.uint8)
    tall[::2] = PRED
    wide = np.zeros((3, 8), np.uint8)
    wide[:, ::2] = TRUTH
    assert vn.overlap_counts(tall[::2], 2, wide[:, ::2], 2) == [2, 1, 2]
    assert _status(vn.overlap_counts, PRED, 2, TRUTH[:2], 2) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.overlap_counts, np.zeros((0, 4)), 2, np.zeros((0, 4)), 2) == "VENSEG_E_INVALID_ARGUMENT"


def test_overlap_counts_prob_thresholds_strictly():
    prob = np.array([[0.9, 0.5, 0.2],
                     [0.51, 0.0, 1.0]], np.float32)
    truth = np.array([[1, 1, 0],
                      [0, 1, 1]], np.uint8)
    # positive: 0.9, 0.51, 1.0 (0.5 is not > 0.5)
    assert vn.overlap_counts_prob(prob, 0.5, truth, 2) == [2, 1, 2]
    # > 0: all but (1,1); tp (0,0) (0,1) (1,2); fp (0,2) (1,0); fn (1,1)
    assert vn.overlap_counts_prob(prob, 0.0, truth, 2) == [3, 2, 1]
    assert _status(vn.overlap_counts_prob, prob, float("nan"), truth, 2) == "VENSEG_E_INVALID_ARGUMENT"


def test_dice_and_jaccard_by_hand():
    assert vn.dice([3, 1, 2]) == pytest.approx(6 / 9)
    assert vn.jaccard([3, 1, 2]) == pytest.approx(3 / 6)
    assert math.isnan(vn.dice([0, 0, 0])) and math.isnan(vn.jaccard([0, 2, 0], "nan"))
    assert vn.dice([0, 0, 0], vn.EMPTY_MONAI) == 1.0 and vn.dice([0, 2, 0], "monai") == 0.0
    assert vn.jaccard([0, 0, 0], vn.EmptyRule.MONAI) == 1.0
    s = 1e-5
    assert vn.dice([0, 2, 0], "smooth", s) == pytest.approx(s / (2 + s))
    assert vn.jaccard([1, 1, 1], "smooth", s) == pytest.approx((1 + s) / (3 + s))
    assert _status(vn.dice, [1, 0, 0], "nan", 0.1) == "VENSEG_E_INVALID_ARGUMENT"  # smooth only with SMOOTH
    assert _status(vn.jaccard, [0, 0, 0], "smooth", 0.0) == "VENSEG_E_UNDEFINED"
    assert _status(vn.dice, [-1, 0, 0]) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.jaccard, [1, 0, 0], 7) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.dice, [1, 2]) == "VENSEG_E_INVALID_ARGUMENT"


def test_ssim_of_constant_images_by_hand():
    # constants a, b: means a, b, no variance: SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 L)^2
    a, b, L = 0.2, 0.6, 1.0
    c1 = (0.01 * L) ** 2
    x, y = np.full((20, 24), a, np.float32), np.full((20, 24), b, np.float32)
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    for window in (vn.SSIM_UNIFORM, "gaussian"):
        m, smap = vn.ssim(x, y, window=window, data_range=L, full=True)
        assert m == pytest.approx(expected, rel=1e-5)
        assert smap.shape == x.shape and np.allclose(smap, expected, rtol=1e-4)
    rng = np.random.default_rng(1)
    z = rng.random((32, 32), dtype=np.float32)
    assert vn.ssim(z, z, "uniform", 7, True, 1.0) == pytest.approx(1.0)
    assert _status(vn.ssim, z, z, "uniform", 4) == "VENSEG_E_INVALID_ARGUMENT"  # even window
    assert _status(vn.ssim, z, z, data_range=0.0) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.ssim, z, z[:30]) == "VENSEG_E_INVALID_ARGUMENT"


def _boundary(m):
    p = np.pad(m, 1)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return np.argwhere(m & ~inner)


def _directed(a, b, sx, sy):
    d = np.hypot((a[:, None, 1] - b[None, :, 1]) * sx, (a[:, None, 0] - b[None, :, 0]) * sy)
    return d.min(axis=1)


def test_surface_distance_against_brute_force():
    pred = np.zeros((24, 30), np.uint8)
    truth = np.zeros((24, 30), np.uint8)
    pred[4:14, 3:12] = 1
    truth[6:18, 7:20] = 1
    truth[20, 25] = 1
    for spacing, pct in (((1.0, 1.0), 95.0), ((0.5, 0.25), 100.0), ((1.0, 1.0), 50.0)):
        bp, bt = _boundary(pred == 1), _boundary(truth == 1)
        d1, d2 = _directed(bp, bt, *spacing), _directed(bt, bp, *spacing)
        hd = max(np.percentile(d1, pct), np.percentile(d2, pct))
        got = vn.surface_distance(pred, 2, truth, 2, spacing, pct)
        assert got == pytest.approx((hd, d1.mean(), np.concatenate([d1, d2]).mean()))
    empty = np.zeros_like(pred)
    assert all(math.isnan(v) for v in vn.surface_distance(empty, 2, empty, 2))
    assert all(math.isinf(v) for v in vn.surface_distance(pred, 2, empty, 2))
    assert _status(vn.surface_distance, pred, 2, truth, 2, (1, 1), 101.0) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.surface_distance, pred, 2, truth, 2, (0, 1)) == "VENSEG_E_INVALID_ARGUMENT"


def test_compressibility_by_hand():
    assert vn.compressibility(10.0, 2.5) == pytest.approx(75.0)
    assert vn.compressibility(4.0, 4.0) == 0.0
    assert _status(vn.compressibility, 0.0, 0.0) == "VENSEG_E_UNDEFINED"
    assert _status(vn.compressibility, -1.0, 0.0) == "VENSEG_E_INVALID_ARGUMENT"
