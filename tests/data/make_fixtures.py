#!/usr/bin/env python3
"""Regenerate the small committed fixtures of tests/data/ (see README.md there).

    PYTHONPATH=bindings/python python tests/data/make_fixtures.py [--out tests/data]

Needs numpy and torch. Deterministic: the weights come from numpy's PCG64 generator
(venseg.toolkit.convert.randomize, seed 20240601) and the BN statistics from one seeded batch;
the golden output is computed by PyTorch in float64 from the float32 weights of
tiny_plain_unet.vseg and then rounded to float32. (The q8 file's own output differs from
it by the printed "q8 model vs golden" amount, about 3e-3; no separate q8 golden is kept
to stay under the 100 KB fixture budget.)
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

from venseg.toolkit.convert import make_metadata, random_model  # noqa: E402
from venseg.toolkit.reference import load_numpy_state, state_dict_numpy  # noqa: E402
from venseg.toolkit.weights import build_vseg, read_vseg  # noqa: E402

SEED = 20240601
W = H = 32


def fixture_input() -> np.ndarray:
    """[1, 1, 32, 32] float32: x[0][0][y][x] = sin(0.1 * (y * 32 + x))."""
    y, x = np.mgrid[0:H, 0:W]
    return np.sin(0.1 * (y * W + x)).astype(np.float32).reshape(1, 1, H, W)


def golden(model, tensors, x: np.ndarray) -> np.ndarray:
    import torch

    load_numpy_state(model, tensors)
    m = model.double().eval()
    with torch.no_grad():
        p = torch.sigmoid(m(torch.from_numpy(x.astype(np.float64))))
    model.float()
    return p.numpy().astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    model, arch_meta = random_model("plain-unet", SEED, in_channels=1, classes=2,
                                    base_channels=4, depth=2, calib_size=(W, H))
    meta = make_metadata(arch_meta, 1, ["artery", "vein"], W, H, trained=0,
                         general_name="tiny_plain_unet",
                         general_description="libvenseg test fixture: random plain UNet, "
                                             "base 4, depth 2, 1x32x32 input",
                         provenance_recipe=f"tests/data/make_fixtures.py seed {SEED}")
    sd = state_dict_numpy(model)
    files = {
        "tiny_plain_unet.vseg": build_vseg(meta, sd),
        "tiny_plain_unet_deflate.vseg": build_vseg(meta, sd, deflate=True),
        "tiny_plain_unet_q8.vseg": build_vseg(meta, sd, dtype="q8"),
    }
    x = fixture_input()
    out = {
        "tiny_plain_unet_input.bin": x.astype("<f4").tobytes(),
        "tiny_plain_unet_golden.bin": golden(
            model, read_vseg(files["tiny_plain_unet.vseg"]).tensors, x).astype("<f4").tobytes(),
    }
    out.update(files)
    total = 0
    for name, data in out.items():
        with open(os.path.join(args.out, name), "wb") as fh:
            fh.write(data)
        total += len(data)
        print(f"{name}: {len(data)} bytes")
    g = np.frombuffer(out["tiny_plain_unet_golden.bin"], "<f4")
    gq = golden(model, read_vseg(files["tiny_plain_unet_q8.vseg"]).tensors, x).reshape(-1)
    print(f"total {total} bytes; golden prob min {g.min():.4f} max {g.max():.4f} "
          f"std {g.std():.4f}; q8 model vs golden max |diff| {np.abs(gq - g).max():.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
