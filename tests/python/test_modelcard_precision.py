"""The model card's precision section (venseg.toolkit.modelcard precision, issue 18.1) without
running a network: the per-frame mask agreement against Dice counted by hand, the section's
numbers and verdict, and where the section goes in a card (replaced in place on a rerun).
The study itself (the validation split at fp32, bf16 and int8) is CPU-heavy and run by hand:
docs/precision.md. Under a second.
"""

import math

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from venseg.toolkit import modelcard as mc  # noqa: E402


def _png(path, a):
    Image.fromarray(a.astype(np.uint8), mode="L").save(path)


def test_mask_agreement_is_dice_per_frame_and_class(tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir(), b_dir.mkdir()
    a = np.zeros((8, 8), np.uint8)
    b = a.copy()
    a[0:4, 0:4] = 1  # artery: 16 px against 8 px, 8 shared -> 2*8/24
    b[0:2, 0:4] = 1
    a[6:8, 6:8] = 2  # vein: identical
    b[6:8, 6:8] = 2
    _png(a_dir / "f1.png", a), _png(b_dir / "f1.png", b)
    _png(a_dir / "f2.png", np.zeros((8, 8))), _png(b_dir / "f2.png", np.zeros((8, 8)))  # neither: left out
    c = np.zeros((8, 8), np.uint8)
    c[0, 0] = 2  # vein only in the first: 0
    _png(a_dir / "f3.png", c), _png(b_dir / "f3.png", np.zeros((8, 8)))
    got = mc.mask_agreement(str(a_dir), str(b_dir))
    assert got["artery"] == pytest.approx([16 / 24])
    assert got["vein"] == pytest.approx([1.0, 0.0])


def _study(int8_drop):
    keys = ["usgra-seg/artery", "usgra-seg/vein"]
    dice = {"fp32": {keys[0]: 0.80, keys[1]: 0.60}, "bf16": {keys[0]: 0.80, keys[1]: 0.601},
            "int8": {keys[0]: 0.81, keys[1]: 0.60 - int8_drop}}
    agree = {"artery": {"mean": 0.99, "min": 0.95, "frames": 3}, "vein": {"mean": math.nan, "min": math.nan,
                                                                           "frames": 0},
             "all": {"mean": 0.99, "min": 0.95, "frames": 3}}
    return {"model": "m.vseg", "split": "s.json", "threads": 2, "cpu": "Test CPU",
            "sessions": {p: f"onednn: {p}" for p in dice}, "images": {k: 5 for k in keys}, "dice": dice,
            "delta": {p: {k: dice[p][k] - dice["fp32"][k] for k in keys} for p in ("bf16", "int8")},
            "cost": {"bf16": 0.0, "int8": max(0.0, int8_drop)}, "agreement": {"bf16": agree, "int8": agree},
            "max_default_cost": mc.MAX_DEFAULT_COST}


def test_block_states_each_precision_and_its_cost():
    block = mc.precision_block(_study(0.02))
    assert block.startswith(mc.PBEGIN) and block.endswith(mc.PEND)
    assert "| usgra-seg/vein | 5 | 0.6000 | 0.6010 | +0.0010 | 0.5800 | -0.0200 |" in block
    assert "| int8 | 0.9900 (0.950; 3) | n/a (n/a; 0) | 0.9900 (0.950; 3) |" in block
    assert "int8: largest drop of a mean Dice against fp32 0.0200 (over the 0.005" in block
    assert "bf16: largest drop of a mean Dice against fp32 0.0000 (within the 0.005" in block
    assert "Test CPU, 2 threads" in block


def test_section_goes_before_storage_and_is_replaced_on_a_rerun():
    card = "# m\n\n## Validation\n\ntext\n\n## Storage\n\nbytes\n"
    once = mc.put_precision_block(card, mc.precision_block(_study(0.02)))
    assert once.index(mc.PRECISION_HEADING) < once.index("## Storage")
    assert "python3 -m venseg.toolkit.modelcard precision" in once
    twice = mc.put_precision_block(once, mc.precision_block(_study(0.001)))
    assert twice.count(mc.PBEGIN) == 1 and twice.count(mc.PRECISION_HEADING) == 1
    assert "0.0010 (within" in twice and "0.0200" not in twice
    assert mc.put_precision_block("# bare\n", "B").endswith("B\n\n")
