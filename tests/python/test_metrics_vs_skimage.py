"""The C library's metrics against the libraries whose conventions they follow, live.

    PYTHONPATH=build/release/tests/python:bindings/python python -m pytest tests/python/test_metrics_vs_skimage.py -v

The C functions are called through the binding (venseg.ssim, overlap_counts, dice, ...);
without it the tests are skipped, or fail when CI=true (as test_parity.py).

Seeded random cases (sizes incl. non-square 37x53 / 53x37 and 64x64; speckle images; blob
masks from thresholded smoothed noise) compared with:
  * SSIM: skimage.metrics.structural_similarity (Debian scikit-image 0.19.3), data_range
    given, uniform windows 7 (default) / 3 / 5 / 9, Gaussian with and without sample
    covariance, and the full=True maps;
  * surface distances: a SciPy implementation of MONAI's algorithm (edges = mask XOR
    binary_erosion(mask), border 0, default cross; exact EDT with sampling (sy, sx) of the
    other mask's non-edges sampled at the own edges; percentile = numpy.quantile linear,
    as torch.quantile); and, when MONAI is installed (optional, not a CI requirement),
    monai.metrics itself;
  * overlap counts, Dice and Jaccard: numpy (and MONAI's compute_dice / compute_iou).
Tolerance: 1e-6 absolute (SSIM, maps), 1e-9 (distances), exact (counts); against MONAI,
whose distances are float32, 1e-6 relative.
"""

import importlib
import os
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from vslib import binding, raised  # noqa: E402

def _require(module):
    """Skip without the module, or fail when CI=true (tests/ci/setup.sh installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{module} is missing and CI=true: {e}", pytrace=False)
        pytest.skip(f"{module} is not installed", allow_module_level=True)


ndi = _require("scipy.ndimage")
skimage_metrics = _require("skimage.metrics")

SSIM_TOL = 1e-6
DIST_TOL = 1e-9
SEED = 20240611

vn = binding()
UNIFORM, GAUSSIAN = vn.SSIM_UNIFORM, vn.SSIM_GAUSSIAN
EMPTY_NAN, EMPTY_MONAI, EMPTY_SMOOTH = vn.EMPTY_NAN, vn.EMPTY_MONAI, vn.EMPTY_SMOOTH

SIZES = [(37, 53), (53, 37), (64, 64), (24, 32), (13, 11)]  # (height, width)


# ------------------------------------------------------------------ library (through the binding)

def _rows(a):
    """Row stride of a 2-D array in elements (C-contiguous rows, any row pitch)."""
    assert a.strides[1] == a.itemsize and a.strides[0] % a.itemsize == 0
    return a.strides[0] // a.itemsize


def _bits(labels):
    return sum(vn.label_bit(v) for v in labels)


def c_ssim(x, y, window=UNIFORM, win_size=0, sample_cov=True, data_range=1.0, want_map=False):
    return vn.ssim(x, y, window, win_size, sample_cov, float(data_range), full=want_map)


def c_counts(pred, pl, truth, tl, ignore=0):
    return np.array(vn.overlap_counts(pred, pl, truth, tl, ignore), np.int64)


def c_counts_prob(prob, thr, truth, tl, ignore=0):
    return np.array(vn.overlap_counts_prob(prob, thr, truth, tl, ignore), np.int64)


def c_score(fn, counts, rule, smooth=0.0):
    return {"venseg_dice": vn.dice, "venseg_jaccard": vn.jaccard}[fn](counts, rule, smooth)


def c_surface(pred, pl, truth, tl, sx=1.0, sy=1.0, pct=100.0):
    return vn.surface_distance(pred, pl, truth, tl, (sx, sy), pct)


# ------------------------------------------------------------------ data

def speckle_image(rng, shape, scale=255.0):
    """A B-mode-like image: smooth tissue structure times Rayleigh speckle, float32."""
    tissue = ndi.gaussian_filter(rng.normal(size=shape), sigma=max(shape) / 10)
    tissue = (tissue - tissue.min()) / (np.ptp(tissue) + 1e-12)
    img = (0.2 + 0.8 * tissue) * rng.rayleigh(0.5, size=shape)
    return np.clip(img * scale, 0, scale).astype(np.float32)


def degraded(rng, x, scale=255.0):
    """x blurred, noisy and offset: a plausible second image, float32."""
    y = ndi.gaussian_filter(x.astype(np.float64), 1.0) + rng.normal(0, 0.05 * scale, size=x.shape) + 0.02 * scale
    return np.clip(y, 0, scale).astype(np.float32)


def blob_mask(rng, shape, sigma=None, fill=0.3):
    """Random blobs: smoothed noise above its (1 - fill) quantile."""
    sigma = sigma or max(2.0, min(shape) / 8)
    n = ndi.gaussian_filter(rng.normal(size=shape), sigma)
    return n > np.quantile(n, 1 - fill)


def label_image(rng, shape):
    """Labels 0..4: artery 1, vein 2, vessel of unknown class 3, label 4 elsewhere."""
    a, v, u, z = (blob_mask(rng, shape, fill=f) for f in (0.15, 0.2, 0.1, 0.05))
    lab = np.zeros(shape, np.uint8)
    lab[z] = 4
    lab[u] = 3
    lab[v] = 2
    lab[a] = 1
    return lab


def padded(a, extra, fill):
    """a in a buffer with `extra` more elements per row, the padding set to `fill`."""
    h, w = a.shape
    buf = np.full((h, w + extra), fill, a.dtype)
    buf[:, :w] = a
    return buf[:, :w]


# ------------------------------------------------------------------ references

def sk_ssim(x, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skimage_metrics.structural_similarity(x.astype(np.float64), y.astype(np.float64), **kw)


def edges(mask):
    return mask ^ ndi.binary_erosion(mask)


def ref_surface(pred, truth, sx, sy, pct):
    """MONAI's HD (percentile), ASD (pred -> truth) and symmetric ASD, with SciPy."""
    ep, eg = edges(pred), edges(truth)
    if not ep.any() and not eg.any():
        return np.nan, np.nan, np.nan
    if not ep.any() or not eg.any():
        return np.inf, np.inf, np.inf
    d_pg = ndi.distance_transform_edt(~eg, sampling=(sy, sx))[ep]
    d_gp = ndi.distance_transform_edt(~ep, sampling=(sy, sx))[eg]
    hd = max(np.quantile(d_pg, pct / 100.0), np.quantile(d_gp, pct / 100.0))
    return hd, d_pg.mean(), np.concatenate([d_pg, d_gp]).mean()


def ref_counts(pred_pos, truth_pos, keep):
    return np.array([(pred_pos & truth_pos & keep).sum(), (pred_pos & ~truth_pos & keep).sum(),
                     (~pred_pos & truth_pos & keep).sum()], np.int64)


def ref_score(counts, rule, k, smooth=0.0):
    tp, fp, fn = (float(v) for v in counts)
    if rule == EMPTY_SMOOTH:
        return (k * tp + smooth) / (k * tp + fp + fn + smooth)
    if tp + fn == 0:
        return np.nan if rule == EMPTY_NAN else (1.0 if fp == 0 else 0.0)
    return k * tp / (k * tp + fp + fn)


def _same(a, b, tol):
    if np.isnan(b):
        return np.isnan(a)
    if np.isinf(b):
        return a == b
    return abs(a - b) <= tol


# ------------------------------------------------------------------ SSIM

SSIM_VARIANTS = [
    # (id, C window, C win_size, C sample_cov, skimage kwargs)
    ("uniform7", UNIFORM, 0, True, {}),
    ("uniform3", UNIFORM, 3, True, {"win_size": 3}),
    ("uniform5", UNIFORM, 5, True, {"win_size": 5}),
    ("uniform9", UNIFORM, 9, True, {"win_size": 9}),
    ("uniform7-population", UNIFORM, 7, False, {"use_sample_covariance": False}),
    ("gaussian-wang", GAUSSIAN, 0, False, {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}),
    ("gaussian-sample", GAUSSIAN, 0, True, {"gaussian_weights": True, "sigma": 1.5}),
]


def _fits(shape, window, win_size):
    need = 11 if window == GAUSSIAN else (win_size or 7)
    return min(shape) >= need


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("variant", SSIM_VARIANTS, ids=lambda v: v[0])
def test_ssim_speckle_vs_skimage(shape, variant):
    _, window, win_size, sample_cov, kw = variant
    if not _fits(shape, window, win_size):
        pytest.skip("window larger than the image")
    rng = np.random.default_rng([SEED, *shape])
    for scale in (255.0, 1.0):
        x = speckle_image(rng, shape, scale)
        y = degraded(rng, x, scale)
        for data_range in (scale, 2 * scale):
            ref, ref_map = sk_ssim(x, y, data_range=data_range, full=True, **kw)
            got, got_map = c_ssim(x, y, window, win_size, sample_cov, data_range, want_map=True)
            assert abs(got - ref) <= SSIM_TOL, (scale, data_range, got, ref)
            err = np.abs(got_map.astype(np.float64) - ref_map)
            assert err.max() <= SSIM_TOL, (scale, data_range, err.max(), np.unravel_index(err.argmax(), err.shape))


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("variant", [v for v in SSIM_VARIANTS if v[0] in ("uniform7", "gaussian-wang")],
                         ids=lambda v: v[0])
def test_ssim_masks_vs_skimage(shape, variant):
    """SSIM between two binary masks (float 0 / 1, data_range 1), as used for segmentations."""
    _, window, win_size, sample_cov, kw = variant
    if not _fits(shape, window, win_size):
        pytest.skip("window larger than the image")
    rng = np.random.default_rng([SEED, 1, *shape])
    for _ in range(3):
        a = blob_mask(rng, shape).astype(np.float32)
        b = blob_mask(rng, shape).astype(np.float32)
        ref = sk_ssim(a, b, data_range=1.0, **kw)
        assert abs(c_ssim(a, b, window, win_size, sample_cov, 1.0) - ref) <= SSIM_TOL


def test_ssim_strided_inputs():
    rng = np.random.default_rng([SEED, 2])
    x = speckle_image(rng, (37, 53))
    y = degraded(rng, x)
    ref = sk_ssim(x, y, data_range=255.0)
    xs, ys = padded(x, 11, np.nan), padded(y, 3, np.inf)  # garbage in the row padding
    assert _rows(xs) == 64 and _rows(ys) == 56
    assert abs(c_ssim(xs, ys, data_range=255.0) - ref) <= SSIM_TOL


# ------------------------------------------------------------------ surface distances

SPACINGS = [(1.0, 1.0), (0.1, 0.1), (0.2, 0.3), (0.25, 0.1), (0.07, 0.13)]  # (sx, sy)


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_surface_distance_vs_scipy_monai_algorithm(shape):
    rng = np.random.default_rng([SEED, 3, *shape])
    for trial in range(4):
        pl, tl = label_image(rng, shape), label_image(rng, shape)
        pred_set, truth_set = ((1, 2), (1, 2, 3)) if trial % 2 else ((2,), (2,))
        pred = np.isin(pl, pred_set)
        truth = np.isin(tl, truth_set)
        for sx, sy in SPACINGS:
            for pct in (100.0, 95.0, 50.0, float(rng.uniform(0, 100))):
                ref = ref_surface(pred, truth, sx, sy, pct)
                got = c_surface(pl, _bits(pred_set), tl, _bits(truth_set), sx, sy, pct)
                for name, g, r in zip(("hausdorff", "mean", "symmetric"), got, ref):
                    assert _same(g, r, DIST_TOL), (trial, sx, sy, pct, name, g, r)


def test_surface_distance_touching_border_and_strided():
    rng = np.random.default_rng([SEED, 4])
    shape = (37, 53)
    pred = blob_mask(rng, shape, fill=0.6)  # large regions: many touch the image border
    truth = blob_mask(rng, shape, fill=0.5)
    assert pred[0].any() or pred[-1].any() or pred[:, 0].any() or pred[:, -1].any()
    pl = padded(pred.astype(np.uint8), 7, 1)  # padding "in the class": must not be read
    tl = padded(truth.astype(np.uint8) * 3, 12, 3)
    for sx, sy in SPACINGS:
        ref = ref_surface(pred, truth, sx, sy, 95.0)
        got = c_surface(pl, _bits([1]), tl, _bits([3]), sx, sy, 95.0)
        assert all(_same(g, r, DIST_TOL) for g, r in zip(got, ref)), (sx, sy, got, ref)


def test_surface_distance_empty():
    z = np.zeros((37, 53), np.uint8)
    m = blob_mask(np.random.default_rng([SEED, 5]), z.shape).astype(np.uint8)
    assert all(np.isnan(v) for v in c_surface(z, 2, z, 2))
    assert c_surface(z, 2, m, 2, 0.1, 0.1, 95.0) == (np.inf, np.inf, np.inf)
    assert c_surface(m, 2, z, 2, 0.1, 0.1, 95.0) == (np.inf, np.inf, np.inf)


# ------------------------------------------------------------------ overlap, Dice, Jaccard

@pytest.mark.parametrize("shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overlap_dice_jaccard_vs_numpy(shape):
    rng = np.random.default_rng([SEED, 6, *shape])
    cases = [((1,), (1,), ()), ((2,), (2,), (4,)), ((1, 2), (1, 2, 3), ()), ((1, 2), (1, 2, 3), (4,)),
             ((3,), (4,), (1, 2))]
    for _ in range(3):
        pl, tl = label_image(rng, shape), label_image(rng, shape)
        pl, tl = padded(pl, 5, 1), padded(tl, 9, 2)
        for pred_set, truth_set, ignore in cases:
            keep = ~np.isin(tl, ignore)
            ref = ref_counts(np.isin(pl, pred_set), np.isin(tl, truth_set), keep)
            got = c_counts(pl, _bits(pred_set), tl, _bits(truth_set), _bits(ignore))
            np.testing.assert_array_equal(got, ref, err_msg=f"{pred_set} {truth_set} {ignore}")
            for fn, k in (("venseg_dice", 2), ("venseg_jaccard", 1)):
                for rule, s in ((EMPTY_NAN, 0.0), (EMPTY_MONAI, 0.0), (EMPTY_SMOOTH, 1e-5), (EMPTY_SMOOTH, 1.0)):
                    assert _same(c_score(fn, got, rule, s), ref_score(ref, rule, k, s), 1e-12), (fn, rule, s)
    # empty cases through all rules
    for counts in ([0, 0, 0], [0, 4, 0], [0, 0, 4], [1, 0, 0], [0, 1, 1]):
        for fn, k in (("venseg_dice", 2), ("venseg_jaccard", 1)):
            for rule, s in ((EMPTY_NAN, 0.0), (EMPTY_MONAI, 0.0), (EMPTY_SMOOTH, 1e-5)):
                assert _same(c_score(fn, counts, rule, s), ref_score(counts, rule, k, s), 1e-12), \
                    (counts, fn, rule)


def test_overlap_counts_prob_vs_numpy():
    rng = np.random.default_rng([SEED, 7])
    shape = (37, 53)
    tl = label_image(rng, shape)
    prob = rng.random(shape).astype(np.float32)
    prob[::7, ::5] = 0.5  # exactly at the threshold: negative (strict >)
    probs = padded(prob, 6, 1.0)
    for thr in (np.float32(0.5), prob[3, 4], np.float32(0.0), np.float32(0.9)):
        for truth_set, ignore in (((2,), ()), ((1, 2, 3), (4,))):
            ref = ref_counts(prob > thr, np.isin(tl, truth_set), ~np.isin(tl, ignore))
            got = c_counts_prob(probs, float(thr), tl, _bits(truth_set), _bits(ignore))
            np.testing.assert_array_equal(got, ref, err_msg=f"threshold {thr}")


def test_error_paths_set_last_error():
    x = np.zeros((8, 8), np.float32)
    e = raised(vn.ssim, x, x, UNIFORM, 4, True, 1.0)  # an even window
    assert e.status == "VENSEG_E_INVALID_ARGUMENT" and e.detail
    z = np.zeros((8, 8), np.uint8)
    e = raised(vn.surface_distance, z, 2, z, 2, (1.0, 1.0), 101.0)  # percentile > 100
    assert e.status == "VENSEG_E_INVALID_ARGUMENT" and e.detail


# ------------------------------------------------------------------ MONAI itself (optional)

@pytest.fixture(scope="module")
def monai_metrics():
    pytest.importorskip("torch")
    return pytest.importorskip("monai.metrics")


def _monai_close(got, ref):
    if np.isnan(ref):
        return np.isnan(got)
    if np.isinf(ref):
        return got == ref
    return abs(got - ref) <= 1e-6 * max(1.0, abs(ref))  # MONAI returns float32 distances


@pytest.mark.parametrize("shape", [(37, 53), (64, 64)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_vs_monai(monai_metrics, shape):
    import torch
    M = monai_metrics
    rng = np.random.default_rng([SEED, 8, *shape])
    for trial in range(4):
        pl, tl = label_image(rng, shape), label_image(rng, shape)
        pred_set, truth_set = ((1, 2), (1, 2, 3))
        pred, truth = np.isin(pl, pred_set), np.isin(tl, truth_set)
        if trial == 3:
            pred[:] = False  # empty prediction
        P = torch.from_numpy(pred)[None, None]
        G = torch.from_numpy(truth)[None, None]
        for sx, sy in ((1.0, 1.0), (0.2, 0.3)):
            sp = (sy, sx)  # MONAI spacing follows the array axes (rows, columns)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hd = M.compute_hausdorff_distance(P, G, include_background=True, spacing=sp).item()
                hd95 = M.compute_hausdorff_distance(P, G, include_background=True, percentile=95, spacing=sp).item()
                asd = M.compute_average_surface_distance(P, G, include_background=True, spacing=sp).item()
                assd = M.compute_average_surface_distance(P, G, include_background=True, symmetric=True,
                                                          spacing=sp).item()
            got = c_surface(pl if trial < 3 else np.zeros_like(pl), _bits(pred_set), tl, _bits(truth_set),
                            sx, sy, 100.0)
            got95 = c_surface(pl if trial < 3 else np.zeros_like(pl), _bits(pred_set), tl, _bits(truth_set),
                              sx, sy, 95.0)
            assert _monai_close(got[0], hd), (trial, sp, got[0], hd)
            assert _monai_close(got[1], asd), (trial, sp, got[1], asd)
            assert _monai_close(got[2], assd), (trial, sp, got[2], assd)
            if trial < 3:  # MONAI 1.3 gives NaN for a percentile of an all-inf set; the C API says inf
                assert _monai_close(got95[0], hd95), (trial, sp, got95[0], hd95)
        counts = c_counts(pl if trial < 3 else np.zeros_like(pl), _bits(pred_set), tl, _bits(truth_set))
        Pf, Gf = P.double(), G.double()
        for ignore_empty, rule in ((True, EMPTY_NAN), (False, EMPTY_MONAI)):
            dice = M.compute_dice(Pf, Gf, include_background=True, ignore_empty=ignore_empty).item()
            iou = M.compute_iou(Pf, Gf, include_background=True, ignore_empty=ignore_empty).item()
            assert _same(c_score("venseg_dice", counts, rule), dice, 1e-6), (trial, dice)
            assert _same(c_score("venseg_jaccard", counts, rule), iou, 1e-6), (trial, iou)


def test_vs_monai_empty_truth(monai_metrics):
    import torch
    M = monai_metrics
    z = np.zeros((37, 53), np.uint8)
    m = blob_mask(np.random.default_rng([SEED, 9]), z.shape).astype(np.uint8)
    for pred in (z, m):
        P = torch.from_numpy(pred.astype(np.float64))[None, None]
        G = torch.from_numpy(z.astype(np.float64))[None, None]
        counts = c_counts(pred, 2, z, 2)
        for ignore_empty, rule in ((True, EMPTY_NAN), (False, EMPTY_MONAI)):
            dice = M.compute_dice(P, G, include_background=True, ignore_empty=ignore_empty).item()
            iou = M.compute_iou(P, G, include_background=True, ignore_empty=ignore_empty).item()
            assert _same(c_score("venseg_dice", counts, rule), dice, 0), (pred.any(), ignore_empty, dice)
            assert _same(c_score("venseg_jaccard", counts, rule), iou, 0), (pred.any(), ignore_empty, iou)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hd = M.compute_hausdorff_distance(P, G, include_background=True).item()
            asd = M.compute_average_surface_distance(P, G, include_background=True).item()
        got = c_surface(pred, 2, z, 2)
        assert _same(got[0], hd, 0) and _same(got[1], asd, 0), (pred.any(), got, hd, asd)
