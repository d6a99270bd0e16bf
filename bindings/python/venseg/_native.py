"""Small ctypes binding of libvenseg (the C library), for ``venseg.evaluate``.

Interim: a cffi binding will replace it; until then this module stays self-contained
(numpy + ctypes only). The library is found via the environment variable
``VENSEG_LIBRARY`` (a path), else a ``libvenseg.so*`` next to this package, else
``ctypes.util.find_library('venseg')``.

    from venseg import _native as vn
    model = vn.Model("model.vseg")
    with vn.Session(model, threads=1) as s:
        mask = s.segment(frame)          # uint8 HxW (gray8/gray16/float32) or HxWx3 (RGB8)
    counts = vn.overlap_counts(pred, 1 << 1, truth, 1 << 1)
    vn.dice(counts)

Every failing call raises ``VensegError(status_name, detail)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os

import numpy as np

__all__ = [
    "VensegError", "Model", "Session", "library", "version", "overlap_counts", "dice",
    "jaccard", "ssim", "surface_distance", "compressibility", "label_bit",
    "EMPTY_NAN", "EMPTY_MONAI", "EMPTY_SMOOTH", "SSIM_UNIFORM", "SSIM_GAUSSIAN",
]

# Values pinned by include/venseg/venseg.h.
PIXEL_GRAY8, PIXEL_RGB8, PIXEL_BGR8, PIXEL_GRAY16, PIXEL_FLOAT32 = 1, 2, 3, 4, 5
OPT_BACKEND, OPT_NUM_THREADS, OPT_PRECISION = 100, 101, 102
OPT_MIN_INSTANCE_AREA, OPT_THRESHOLD_PERMILLE = 104, 105
EMPTY_NAN, EMPTY_MONAI, EMPTY_SMOOTH = 0, 1, 2
SSIM_UNIFORM, SSIM_GAUSSIAN = 0, 1


class VensegError(RuntimeError):
    """A libvenseg call failed: ``status`` is e.g. 'VENSEG_E_IO', ``detail`` the message."""

    def __init__(self, status: str, detail: str = ""):
        super().__init__(f"{status}: {detail}" if detail else status)
        self.status = status
        self.detail = detail


def label_bit(value: int) -> int:
    """VENSEG_LABEL_BIT: the bit of label value 0..31 in a label set."""
    return 1 << value


_lib = None
_c_i32p = ctypes.POINTER(ctypes.c_int32)
_c_i64p = ctypes.POINTER(ctypes.c_int64)
_c_dp = ctypes.POINTER(ctypes.c_double)
_vp = ctypes.c_void_p


def _find_library() -> str:
    env = os.environ.get("VENSEG_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for pattern in ("libvenseg.so", "libvenseg.so.*", "libvenseg.dylib", "venseg.dll"):
        hits = sorted(glob.glob(os.path.join(here, pattern)))
        if hits:
            return hits[0]
    found = ctypes.util.find_library("venseg")
    if found:
        return found
    raise VensegError("VENSEG_E_IO", "libvenseg not found: set VENSEG_LIBRARY to the path of libvenseg.so")


def library() -> ctypes.CDLL:
    """The loaded libvenseg (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(_find_library())
    sig = {
        "venseg_version_string": (ctypes.c_char_p, []),
        "venseg_build_info": (ctypes.c_char_p, []),
        "venseg_status_name": (ctypes.c_char_p, [ctypes.c_int]),
        "venseg_last_error": (ctypes.c_char_p, []),
        "venseg_options_create": (ctypes.c_int, [ctypes.POINTER(_vp)]),
        "venseg_options_free": (None, [_vp]),
        "venseg_options_set": (ctypes.c_int, [_vp, ctypes.c_int, ctypes.c_int64]),
        "venseg_model_load_file": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_vp)]),
        "venseg_model_free": (None, [_vp]),
        "venseg_model_input_size": (ctypes.c_int, [_vp, _c_i32p, _c_i32p, _c_i32p]),
        "venseg_model_num_classes": (ctypes.c_int, [_vp, _c_i32p]),
        "venseg_model_class_name": (ctypes.c_int, [_vp, ctypes.c_int32, ctypes.POINTER(ctypes.c_char_p)]),
        "venseg_model_meta_int": (ctypes.c_int, [_vp, ctypes.c_char_p, _c_i64p]),
        "venseg_model_meta_string": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]),
        "venseg_session_create": (ctypes.c_int, [_vp, _vp, ctypes.POINTER(_vp)]),
        "venseg_session_free": (None, [_vp]),
        "venseg_session_describe": (ctypes.c_char_p, [_vp]),
        "venseg_session_set_roi": (ctypes.c_int, [_vp, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
                                                  ctypes.c_int32]),
        "venseg_session_set_pixel_spacing": (ctypes.c_int, [_vp, ctypes.c_double, ctypes.c_double]),
        "venseg_segment": (ctypes.c_int, [_vp, _vp, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64,
                                          _vp, ctypes.c_int64, _vp, ctypes.c_int64]),
        "venseg_overlap_counts": (ctypes.c_int, [_vp, ctypes.c_int64, ctypes.c_uint32, _vp, ctypes.c_int64,
                                                 ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int32, ctypes.c_int32,
                                                 _c_i64p]),
        "venseg_dice": (ctypes.c_int, [_c_i64p, ctypes.c_int, ctypes.c_double, _c_dp]),
        "venseg_jaccard": (ctypes.c_int, [_c_i64p, ctypes.c_int, ctypes.c_double, _c_dp]),
        "venseg_ssim": (ctypes.c_int, [_vp, ctypes.c_int64, _vp, ctypes.c_int64, ctypes.c_int32, ctypes.c_int32,
                                       ctypes.c_int, ctypes.c_int32, ctypes.c_int, ctypes.c_double, _c_dp, _vp,
                                       ctypes.c_int64]),
        "venseg_surface_distance": (ctypes.c_int, [_vp, ctypes.c_int64, ctypes.c_uint32, _vp, ctypes.c_int64,
                                                   ctypes.c_uint32, ctypes.c_int32, ctypes.c_int32, ctypes.c_double,
                                                   ctypes.c_double, ctypes.c_double, _c_dp, _c_dp, _c_dp]),
        "venseg_compressibility": (ctypes.c_int, [ctypes.c_double, ctypes.c_double, _c_dp]),
        "venseg_phantom_config_create": (ctypes.c_int, [ctypes.POINTER(_vp)]),
        "venseg_phantom_config_free": (None, [_vp]),
        "venseg_phantom_config_set": (ctypes.c_int, [_vp, ctypes.c_int, ctypes.c_double]),
        "venseg_phantom_create": (ctypes.c_int, [_vp, ctypes.POINTER(_vp)]),
        "venseg_phantom_free": (None, [_vp]),
        "venseg_phantom_frame": (ctypes.c_int, [_vp, ctypes.c_int32, _vp, ctypes.c_int64, _vp, ctypes.c_int64]),
        "venseg_phantom_truth_get": (ctypes.c_int, [_vp, ctypes.c_int32, _vp]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def _check(status: int) -> None:
    if status != 0:
        lib = library()
        detail = (lib.venseg_last_error() or b"").decode("utf-8", "replace")
        raise VensegError(lib.venseg_status_name(status).decode(), detail)


def version() -> str:
    return library().venseg_version_string().decode()


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


# ------------------------------------------------------------------ model, session

class Model:
    """A loaded .vseg model (immutable, shareable)."""

    def __init__(self, path):
        lib = library()
        h = _vp()
        _check(lib.venseg_model_load_file(os.fsencode(os.fspath(path)), ctypes.byref(h)))
        self._h = h
        self.path = os.fspath(path)

    def close(self) -> None:
        if getattr(self, "_h", None):
            library().venseg_model_free(self._h)
            self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def handle(self):
        if not self._h:
            raise VensegError("VENSEG_E_BAD_STATE", "the model is closed")
        return self._h

    @property
    def input_size(self):
        w, h, c = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        _check(library().venseg_model_input_size(self.handle, ctypes.byref(w), ctypes.byref(h), ctypes.byref(c)))
        return w.value, h.value, c.value

    @property
    def class_names(self):
        lib = library()
        n = ctypes.c_int32()
        _check(lib.venseg_model_num_classes(self.handle, ctypes.byref(n)))
        names = []
        for i in range(n.value):
            s = ctypes.c_char_p()
            _check(lib.venseg_model_class_name(self.handle, i, ctypes.byref(s)))
            names.append(s.value.decode())
        return names

    def meta_int(self, key: str):
        v = ctypes.c_int64()
        _check(library().venseg_model_meta_int(self.handle, key.encode(), ctypes.byref(v)))
        return v.value

    def meta_string(self, key: str):
        v = ctypes.c_char_p()
        _check(library().venseg_model_meta_string(self.handle, key.encode(), ctypes.byref(v)))
        return v.value.decode()


class Session:
    """A per-thread executor of a Model. ``options``: {option key: value} (venseg_option)."""

    def __init__(self, model: Model, threads: int = 0, options=None):
        lib = library()
        opts = _vp()
        _check(lib.venseg_options_create(ctypes.byref(opts)))
        try:
            _check(lib.venseg_options_set(opts, OPT_NUM_THREADS, int(threads)))
            for k, v in (options or {}).items():
                _check(lib.venseg_options_set(opts, int(k), int(v)))
            h = _vp()
            _check(lib.venseg_session_create(model.handle, opts, ctypes.byref(h)))
        finally:
            lib.venseg_options_free(opts)
        self._h = h
        self.model = model  # keeps the Python object alive (the C model is refcounted anyway)

    def close(self) -> None:
        if getattr(self, "_h", None):
            library().venseg_session_free(self._h)
            self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self) -> str:
        return library().venseg_session_describe(self._h).decode()

    def set_roi(self, x: int = 0, y: int = 0, width: int = 0, height: int = 0) -> None:
        _check(library().venseg_session_set_roi(self._h, x, y, width, height))

    def set_pixel_spacing(self, mm_x: float = 0.0, mm_y: float = 0.0) -> None:
        _check(library().venseg_session_set_pixel_spacing(self._h, mm_x, mm_y))

    def segment(self, frame: np.ndarray, bgr: bool = False, probabilities: bool = False):
        """Label mask (uint8 HxW) of a frame: uint8 HxW (grey), uint8 HxWx3 (RGB, or BGR),
        uint16 HxW, float32 HxW (0..1). Rows may be strided (any positive row stride, e.g.
        a crop of a larger array); pixels within a row must be contiguous, else a copy is
        made. With probabilities=True, returns (mask, probs [n_classes, H, W] float32)."""
        a = np.asarray(frame)
        if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
            fmt, px = (PIXEL_BGR8 if bgr else PIXEL_RGB8), 3
        elif a.ndim == 2 and a.dtype == np.uint8:
            fmt, px = PIXEL_GRAY8, 1
        elif a.ndim == 2 and a.dtype == np.uint16:
            fmt, px = PIXEL_GRAY16, 2
        elif a.ndim == 2 and a.dtype == np.float32:
            fmt, px = PIXEL_FLOAT32, 4
        else:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT",
                              f"unsupported frame {a.dtype} {a.shape}: uint8 HxW or HxWx3, uint16 HxW, float32 HxW")
        if a.dtype.byteorder not in ("=", "|") and a.dtype.itemsize > 1:
            a = a.astype(a.dtype.newbyteorder("="))
        inner_ok = (a.strides[1] == (3 if a.ndim == 3 else px)) and (a.ndim == 2 or a.strides[2] == 1)
        if not inner_ok or a.strides[0] <= 0 or a.strides[0] < a.shape[1] * (3 if a.ndim == 3 else px):
            a = np.ascontiguousarray(a)
        h, w = a.shape[:2]
        mask = np.empty((h, w), np.uint8)
        probs_arr = None
        if probabilities:
            n = ctypes.c_int32()
            _check(library().venseg_model_num_classes(self.model.handle, ctypes.byref(n)))
            probs_arr = np.empty((n.value, h, w), np.float32)
        _check(library().venseg_segment(self._h, _ptr(a), fmt, w, h, a.strides[0], _ptr(mask), w,
                                        _ptr(probs_arr) if probs_arr is not None else None, w))
        return (mask, probs_arr) if probabilities else mask


# ------------------------------------------------------------------ metrics

def _mask_arg(m: np.ndarray, dtype=np.uint8, what="mask"):
    m = np.asarray(m)
    if m.ndim != 2:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{what} must be 2-D, not {m.shape}")
    if m.dtype != dtype:
        m = m.astype(dtype)
    if m.strides[1] != m.dtype.itemsize or m.strides[0] <= 0:
        m = np.ascontiguousarray(m)
    return m


def overlap_counts(pred, pred_labels: int, truth, truth_labels: int, ignore_labels: int = 0):
    """[tp, fp, fn] of a class: label sets as bit masks (label_bit(v) | ...)."""
    p, t = _mask_arg(pred, what="pred"), _mask_arg(truth, what="truth")
    if p.shape != t.shape:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"shapes differ: {p.shape} vs {t.shape}")
    counts = (ctypes.c_int64 * 3)()
    _check(library().venseg_overlap_counts(_ptr(p), p.strides[0], pred_labels, _ptr(t), t.strides[0], truth_labels,
                                           ignore_labels, p.shape[1], p.shape[0], counts))
    return [counts[0], counts[1], counts[2]]


def _counts_arg(counts):
    c = (ctypes.c_int64 * 3)(*[int(v) for v in counts])
    return c


def dice(counts, empty: int = EMPTY_NAN, smooth: float = 0.0) -> float:
    out = ctypes.c_double()
    _check(library().venseg_dice(_counts_arg(counts), empty, smooth, ctypes.byref(out)))
    return out.value


def jaccard(counts, empty: int = EMPTY_NAN, smooth: float = 0.0) -> float:
    out = ctypes.c_double()
    _check(library().venseg_jaccard(_counts_arg(counts), empty, smooth, ctypes.byref(out)))
    return out.value


def ssim(x, y, window: int = SSIM_GAUSSIAN, win_size: int = 0, sample_covariance: bool = False,
         data_range: float = 1.0, full: bool = False):
    """Mean SSIM of two float images (scikit-image's structural_similarity); with
    full=True, (mssim, map)."""
    a, b = _mask_arg(x, np.float32, "x"), _mask_arg(y, np.float32, "y")
    if a.shape != b.shape:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"shapes differ: {a.shape} vs {b.shape}")
    out = ctypes.c_double()
    smap = np.empty(a.shape, np.float32) if full else None
    _check(library().venseg_ssim(_ptr(a), a.strides[0] // 4, _ptr(b), b.strides[0] // 4, a.shape[1], a.shape[0],
                                 window, win_size, int(bool(sample_covariance)), data_range, ctypes.byref(out),
                                 _ptr(smap) if full else None, a.shape[1] if full else 0))
    return (out.value, smap) if full else out.value


def surface_distance(pred, pred_labels: int, truth, truth_labels: int, spacing=(1.0, 1.0),
                     percentile: float = 95.0):
    """(hausdorff at percentile, mean pred->truth distance, symmetric mean) as MONAI."""
    p, t = _mask_arg(pred, what="pred"), _mask_arg(truth, what="truth")
    if p.shape != t.shape:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"shapes differ: {p.shape} vs {t.shape}")
    hd, md, sm = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    _check(library().venseg_surface_distance(_ptr(p), p.strides[0], pred_labels, _ptr(t), t.strides[0],
                                             truth_labels, p.shape[1], p.shape[0], float(spacing[0]),
                                             float(spacing[1]), percentile, ctypes.byref(hd), ctypes.byref(md),
                                             ctypes.byref(sm)))
    return hd.value, md.value, sm.value


def compressibility(area_pre: float, area_compressed: float) -> float:
    out = ctypes.c_double()
    _check(library().venseg_compressibility(area_pre, area_compressed, ctypes.byref(out)))
    return out.value




# ------------------------------------------------------------------ phantom

PHANTOM_KEYS = {"seed": 1, "width": 2, "height": 3, "frames": 4, "frame_rate": 5, "heart_rate": 6,
                "thrombus": 7, "compression": 8, "probe_motion": 9, "gain_db": 10, "noise": 11,
                "pixel_spacing": 12, "vessels": 13}
THROMBUS = {"none": 0, "partial": 1, "full": 2}


class _PhantomTruth(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("vein_area_px", ctypes.c_int64),
                ("artery_area_px", ctypes.c_int64), ("vein_area_mm2", ctypes.c_double),
                ("artery_area_mm2", ctypes.c_double), ("pressure", ctypes.c_double),
                ("true_compressibility_percent", ctypes.c_double), ("rest_vein_area_px", ctypes.c_double),
                ("min_vein_area_px", ctypes.c_double), ("thrombus", ctypes.c_int32)]


class Phantom:
    """A seeded synthetic compression sequence (venseg_phantom_*): B-mode frames of a
    transverse leg with ground-truth labels (1 artery, 2 vein) and true areas.

    Keyword options are the phantom keys: seed, width, height, frames, frame_rate,
    heart_rate, thrombus ("none" | "partial" | "full" or 0..2), compression,
    probe_motion, gain_db, noise, pixel_spacing, vessels (0 none, 1 artery + vein,
    2 artery only). Frames depend only on (options, index)."""

    def __init__(self, **options):
        lib = library()
        cfg = _vp()
        _check(lib.venseg_phantom_config_create(ctypes.byref(cfg)))
        try:
            for key, value in options.items():
                if key not in PHANTOM_KEYS:
                    raise ValueError(f"unknown phantom option {key!r} (known: {', '.join(PHANTOM_KEYS)})")
                if key == "thrombus" and isinstance(value, str):
                    value = THROMBUS[value]
                _check(lib.venseg_phantom_config_set(cfg, PHANTOM_KEYS[key], float(value)))
            self._h = _vp()
            _check(lib.venseg_phantom_create(cfg, ctypes.byref(self._h)))
        finally:
            lib.venseg_phantom_config_free(cfg)
        self.width = int(options.get("width", 256))
        self.height = int(options.get("height", 256))
        self.frames = int(options.get("frames", 90))

    def close(self) -> None:
        if getattr(self, "_h", None):
            library().venseg_phantom_free(self._h)
            self._h = None

    __del__ = close

    def __len__(self) -> int:
        return self.frames

    def frame(self, index: int):
        """(pixels uint8 [H, W], labels uint8 [H, W]) of frame `index`."""
        px = np.zeros((self.height, self.width), np.uint8)
        lab = np.zeros((self.height, self.width), np.uint8)
        _check(library().venseg_phantom_frame(self._h, index, _ptr(px), px.strides[0], _ptr(lab), lab.strides[0]))
        return px, lab

    def truth(self, index: int) -> dict:
        """Ground truth of frame `index`: areas, pressure, the sequence's true compressibility."""
        t = _PhantomTruth()
        t.struct_size = ctypes.sizeof(t)
        _check(library().venseg_phantom_truth_get(self._h, index, ctypes.addressof(t)))
        return {name: getattr(t, name) for name, _ in _PhantomTruth._fields_ if name != "struct_size"}
