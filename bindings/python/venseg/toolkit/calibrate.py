"""Store int8 activation ranges in a .vseg model, calibrated on training frames.

    python -m venseg.toolkit.calibrate MODEL.vseg --out OUT.vseg [--frames 96]
        [--data-root ../shared/data] [--split weights/validation-split.json]

A session of precision int8 quantises each layer's input with the largest |activation|
seen there. ``venseg_calibration_*`` (venseg_experimental.h) measures them with the fp32
reference network; this tool runs it over frames of the split's **training** part only
(never validation frames, so the model card's int8 numbers stay honest), spread evenly
over the data sets, and writes them into the file as ``int8.activation_names`` /
``int8.activation_max`` (docs/weights-format.md). Every tensor keeps its stored dtype and
bytes' meaning: segmentations at fp32 / bf16 do not change. Needs libvenseg and
../shared/data.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List

import numpy as np

from .data import read_frame, to_grey
from .modelcard import DEFAULT_DATA, DEFAULT_SPLIT, EVAL_PLAN, _find_image
from .weights import Typed, read_vseg, write_vseg

NAMES_KEY, MAX_KEY = "int8.activation_names", "int8.activation_max"


def training_frames(split: str, data_root: str, count: int) -> List[str]:
    """``count`` image paths of the split's training part, the same share from each data
    set, evenly spaced in name order (deterministic)."""
    with open(split) as fh:
        names = json.load(fh)["train"]
    by_ds = {}
    for name in sorted(names):
        ds, stem = name.split("/", 1)
        if ds in EVAL_PLAN:
            by_ds.setdefault(ds, []).append(stem)
    if not by_ds:
        raise SystemExit(f"venseg.toolkit.calibrate: no training frames of a known data set in {split}")
    per = max(1, count // len(by_ds))
    out = []
    for ds, stems in sorted(by_ds.items()):
        step = max(1, len(stems) // per)
        img_dir = os.path.join(data_root, EVAL_PLAN[ds][0])
        out += [_find_image(img_dir, s) for s in stems[::step][:per]]
    return out


def calibrate(model_path: str, frames: List[str]):
    """[(layer name, max |activation|)] over the frames, through libvenseg."""
    import venseg as vn

    m = vn.Model(model_path)
    try:
        cal = vn.Calibration(m)
        for path in frames:
            grey = np.clip(np.rint(to_grey(read_frame(path))), 0, 255).astype(np.uint8)
            cal.add_frame(grey)
        return [cal.entry(i) for i in range(len(cal))]
    finally:
        m.close()


def store_ranges(src: str, dest: str, entries) -> int:
    """Rewrite src with the ranges; every other key, tensor and dtype as it was."""
    f = read_vseg(src)
    meta = {k: Typed(f.meta_types[k], v) for k, v in f.metadata.items() if k not in (NAMES_KEY, MAX_KEY)}
    meta[NAMES_KEY] = [name for name, _ in entries]
    meta[MAX_KEY] = [float(v) for _, v in entries]
    return write_vseg(dest, meta, f.tensors, deflate=bool(f.flags & 1), alignment=f.alignment,
                      tensor_dtypes=f.dtypes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m venseg.toolkit.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--out", required=True, help="the calibrated model (may equal MODEL)")
    p.add_argument("--frames", type=int, default=96, help="training frames to calibrate on (default 96)")
    p.add_argument("--data-root", default=DEFAULT_DATA)
    p.add_argument("--split", default=DEFAULT_SPLIT)
    a = p.parse_args(argv)
    frames = training_frames(a.split, a.data_root, a.frames)
    entries = calibrate(a.model, frames)
    n = store_ranges(a.model, a.out, entries)
    print(f"{a.out}: int8 ranges of {len(entries)} layers from {len(frames)} training frames; {n} bytes",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
