#!/usr/bin/env python3
"""fp16 and TF32 masks against fp32 masks of the CUDA backend on real B-mode frames; prints JSON.

    python3 benchmarks/cuda/dice_real.py LIBVENSEG MODEL [--backend cuda] [--max-images N]

LIBVENSEG is run through the cffi binding (venseg._native), built for exactly that library
into a temporary folder (bindings/python/venseg_build.py binding_for; needs cffi and a C
compiler). Frames: examples/data/*.png, then ../shared/data/usgra-seg/images/* when present
(up to --max-images in all), read by venseg.toolkit.data.read_frame. Each frame is segmented
(Session.segment: venseg_segment, the whole pipeline) with fp32, fp16 and fp32 + the
experimental allow_tf32 option; the label masks are pooled over the frames and Dice per
class is computed against the fp32 masks (classes with fewer than 200 px in fp32 are
reported, not judged). Limit of the issue: Dice >= 0.99. --backend onednn with bf16 in place
of fp16 checks the script itself on a CPU. Needs numpy, cffi and Pillow (Debian python3).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))


def frames(limit):
    from venseg.toolkit.data import read_frame

    paths = sorted(p for p in (ROOT / "examples" / "data").glob("*.png") if not p.stem.endswith("_label"))
    extra = ROOT.parent / "shared" / "data" / "usgra-seg" / "images"
    if extra.is_dir():
        paths += sorted(p for p in extra.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for p in paths[:limit]:
        img = read_frame(str(p))
        if img.dtype != np.uint8:  # 16-bit grey: scaled to 0..255 as before
            img = (img / max(1, img.max()) * 255).astype(np.uint8)
        yield p, img


def binding(library):
    """venseg._native for this very library, built quietly (stdout carries only the JSON)."""
    import venseg_build

    tmp = tempfile.mkdtemp(prefix="venseg-dice-real-")
    out = os.dup(1)
    os.dup2(2, 1)  # the compiler's chatter goes to stderr
    try:
        return venseg_build.binding_for(library, tmp)
    except Exception as e:  # noqa: BLE001 - cffi's errors are no RuntimeError: a JSON answer all the same
        raise RuntimeError(f"the binding for {library}: {type(e).__name__}: {e}") from e
    finally:
        sys.stdout.flush()
        os.dup2(out, 1)
        os.close(out)
        shutil.rmtree(tmp, ignore_errors=True)  # the extension stays loaded


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("library")
    ap.add_argument("model")
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--max-images", type=int, default=60)
    ap.add_argument("--half", default="fp16", help="the reduced precision (bf16 for --backend onednn)")
    a = ap.parse_args()
    vn = binding(a.library)
    model = vn.Model(a.model)
    variants = {"fp32": ("fp32", 0), a.half: (a.half, 0)}
    if a.backend == "cuda":
        variants["tf32"] = ("fp32", 1)
    sessions = {}
    for k, (p, t) in variants.items():
        try:
            sessions[k] = vn.Session(model, options={"backend": a.backend, "precision": p, "allow_tf32": t})
        except vn.VensegError as e:
            raise RuntimeError(f"session {a.backend} {p} tf32={t}: {e}") from e
    inter = {k: np.zeros(3, np.int64) for k in variants}
    total = {k: np.zeros(3, np.int64) for k in variants}
    n = 0
    for path, img in frames(a.max_images):
        ref = sessions["fp32"].segment(img)
        n += 1
        for k, s in sessions.items():
            m = ref if k == "fp32" else s.segment(img)
            for c in (1, 2):
                inter[k][c] += int(np.sum((m == c) & (ref == c)))
                total[k][c] += int(np.sum(m == c) + np.sum(ref == c))
    out = {"frames": n, "backend": a.backend,
           "sessions": {k: s.describe() for k, s in sessions.items()}, "dice_vs_fp32": []}
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
        s.close()
    model.close()
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, ImportError) as e:  # no library, binding or device: a JSON answer all the same
        print(json.dumps({"error": str(e), "pass": False}))
        sys.exit(1)
