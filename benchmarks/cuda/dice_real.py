#!/usr/bin/env python3
"""fp16 and TF32 masks against fp32 masks of the CUDA backend on real B-mode frames; prints JSON.

    python3 benchmarks/cuda/dice_real.py LIBVENSEG MODEL [--backend cuda] [--max-images N]

Frames: examples/data/*.png, then ../shared/data/usgra-seg/images/* when present (up to
--max-images in all). Each frame is segmented (venseg_segment, the whole pipeline) with fp32,
fp16 and fp32 + VENSEG_OPT_ALLOW_TF32; the label masks are pooled over the frames and Dice
per class is computed against the fp32 masks (classes with fewer than 200 px in fp32 are
reported, not judged). Limit of the issue: Dice >= 0.99. --backend onednn with bf16 in place
of fp16 checks the script itself on a CPU. Needs numpy and scikit-image (Debian python3).
"""
import argparse
import ctypes
import json
import sys
from pathlib import Path

import numpy as np
from skimage import io

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = {"auto": 0, "reference": 1, "onednn": 2, "cuda": 3}
PRECISIONS = {"fp32": 0, "bf16": 1, "fp16": 3}
OPT_BACKEND, OPT_PRECISION, OPT_ALLOW_TF32 = 100, 102, 1000
GRAY8, RGB8 = 1, 2


def library(path):
    L = ctypes.CDLL(path)
    vp, pvp, i64 = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int64
    for name, res, args in [
        ("venseg_last_error", ctypes.c_char_p, []),
        ("venseg_model_load_file", ctypes.c_int, [ctypes.c_char_p, pvp]),
        ("venseg_options_create", ctypes.c_int, [pvp]),
        ("venseg_options_set", ctypes.c_int, [vp, ctypes.c_int, i64]),
        ("venseg_options_free", None, [vp]),
        ("venseg_session_create", ctypes.c_int, [vp, vp, pvp]),
        ("venseg_session_describe", ctypes.c_char_p, [vp]),
        ("venseg_session_free", None, [vp]),
        ("venseg_segment", ctypes.c_int, [vp, vp, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, i64, vp, i64, vp, i64]),
    ]:
        f = getattr(L, name)
        f.restype, f.argtypes = res, args
    return L


def check(L, st, what):
    if st != 0:
        raise RuntimeError(f"{what}: status {st}: {L.venseg_last_error().decode()}")


def session(L, model, backend, precision, tf32):
    o, s = ctypes.c_void_p(), ctypes.c_void_p()
    check(L, L.venseg_options_create(ctypes.byref(o)), "options")
    for k, v in ((OPT_BACKEND, BACKENDS[backend]), (OPT_PRECISION, PRECISIONS[precision]), (OPT_ALLOW_TF32, tf32)):
        check(L, L.venseg_options_set(o, k, v), "option")
    st = L.venseg_session_create(model, o, ctypes.byref(s))
    L.venseg_options_free(o)
    check(L, st, f"session {backend} {precision} tf32={tf32}")
    return s


def frames(limit):
    paths = sorted(p for p in (ROOT / "examples" / "data").glob("*.png") if not p.stem.endswith("_label"))
    extra = ROOT.parent / "shared" / "data" / "usgra-seg" / "images"
    if extra.is_dir():
        paths += sorted(p for p in extra.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for p in paths[:limit]:
        img = io.imread(p)
        if img.ndim == 3:
            img = img[..., :3]
        if img.dtype != np.uint8:
            img = (img / max(1, img.max()) * 255).astype(np.uint8)
        yield p, np.ascontiguousarray(img)


def segment(L, s, img):
    h, w = img.shape[:2]
    rgb = img.ndim == 3
    mask = np.zeros((h, w), np.uint8)
    check(L, L.venseg_segment(s, img.ctypes.data, RGB8 if rgb else GRAY8, w, h, w * (3 if rgb else 1),
                              mask.ctypes.data, w, None, 0), "venseg_segment")
    return mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library")
    ap.add_argument("model")
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--max-images", type=int, default=60)
    ap.add_argument("--half", default="fp16", help="the reduced precision (bf16 for --backend onednn)")
    a = ap.parse_args()
    L = library(a.library)
    model = ctypes.c_void_p()
    check(L, L.venseg_model_load_file(a.model.encode(), ctypes.byref(model)), "model")
    variants = {"fp32": ("fp32", 0), a.half: (a.half, 0)}
    if a.backend == "cuda":
        variants["tf32"] = ("fp32", 1)
    sessions = {k: session(L, model, a.backend, p, t) for k, (p, t) in variants.items()}
    inter = {k: np.zeros(3, np.int64) for k in variants}
    total = {k: np.zeros(3, np.int64) for k in variants}
    n = 0
    for path, img in frames(a.max_images):
        ref = segment(L, sessions["fp32"], img)
        n += 1
        for k, s in sessions.items():
            m = ref if k == "fp32" else segment(L, s, img)
            for c in (1, 2):
                inter[k][c] += int(np.sum((m == c) & (ref == c)))
                total[k][c] += int(np.sum(m == c) + np.sum(ref == c))
    out = {"frames": n, "backend": a.backend,
           "sessions": {k: L.venseg_session_describe(s).decode() for k, s in sessions.items()}, "dice_vs_fp32": []}
    ok = True
    for k in variants:
        if k == "fp32":
            continue
        for c in (1, 2):
            px = int(total["fp32"][c] // 2)
            d = 2 * inter[k][c] / total[k][c] if total[k][c] else None
            judged = px >= 200
            ok &= (not judged) or (d is not None and d >= 0.99)
            out["dice_vs_fp32"].append({"precision": k, "class": c, "dice": d, "fp32_px": px, "judged": judged})
    out["pass"] = bool(ok)
    for s in sessions.values():
        L.venseg_session_free(s)
    L.venseg_model_free.argtypes = [ctypes.c_void_p]
    L.venseg_model_free(model)
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError) as e:  # no library, no device: a JSON answer all the same
        print(json.dumps({"error": str(e), "pass": False}))
        sys.exit(1)
