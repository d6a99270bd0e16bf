"""Seeded weights for the real Keras ``segmentation_models.Unet`` (numpy only, no TF).

Shared by ``tests/data/make_keras_golden.py`` (which builds the Keras model with
TensorFlow, loads these weights with ``layer.set_weights`` and writes the golden
probabilities) and ``tests/python/test_keras_golden.py`` (which regenerates the same
weights without TensorFlow, writes them as a .vseg file and runs the C library).

The Keras layers, their weight shapes (in Keras layout) and the order in which the
weights are drawn are all derived from ``venseg.toolkit.arch.expected_tensors`` (the .vseg tensor
list of docs/weights-format.md), mapped to the Keras layer names of qubvel's
``segmentation_models`` 1.0.1 / ``classification_models`` 1.0.0:

=========================================  ==========================================
.vseg tensor prefix                        Keras layer
=========================================  ==========================================
``encoder.<name>``                          ``<name>`` (bn_data, conv0, bn0,
                                            stage{S}_unit{U}_{bn1,conv1,...,sc}, bn1)
``decoder.blocks.{i}.up.0`` / ``.up.1``     ``decoder_stage{i}a_transpose`` / ``a_bn``
``decoder.blocks.{i}.conv1.0`` / ``.1``     ``decoder_stage{i}a_conv`` / ``a_bn``
                                            (transpose: ``decoder_stage{i}b_conv/_bn``)
``decoder.blocks.{i}.conv2.0`` / ``.1``     ``decoder_stage{i}b_conv`` / ``b_bn``
``segmentation_head.0``                     ``final_conv`` (kernel + bias)
=========================================  ==========================================

Layouts: Conv2D kernel [kh, kw, cin, cout] -> file [cout, cin, kh, kw];
Conv2DTranspose kernel [kh, kw, cout, cin] -> file [cin, cout, kh, kw];
BatchNormalization [gamma, beta, moving_mean, moving_variance] -> .weight, .bias,
.running_mean, .running_var (``bn_data`` has scale=False: no gamma / .weight).

Every value comes from one numpy PCG64 generator (``np.random.default_rng(seed)``),
drawn in float64 and rounded to float32, layer by layer in the order above.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "bindings", "python"))

from venseg.toolkit import arch as A  # noqa: E402

CLASSES = ["artery", "vein"]

# case id -> (backbone, sm decoder_block_type, (height, width), seed)
CASES: "OrderedDict[str, Tuple[str, str, Tuple[int, int], int]]" = OrderedDict([
    ("keras-resnet34-upsampling", ("resnet34", "upsampling", (64, 64), 3401)),
    ("keras-resnet34-transpose", ("resnet34", "transpose", (64, 64), 3402)),
    ("keras-resnet18-upsampling", ("resnet18", "upsampling", (64, 64), 1801)),
    ("keras-resnet50-upsampling", ("resnet50", "upsampling", (64, 64), 5001)),
    ("keras-resnet34-upsampling-64x96", ("resnet34", "upsampling", (64, 96), 3403)),
])

# Scale of the last conv of every residual branch (conv2 basic / conv3 bottleneck),
# relative to He: keeps the pre-activation residual stream O(1) through 16 units.
RESIDUAL_GAIN = 0.5
# Scale of the head (final_conv) kernel relative to LeCun (sqrt(1 / fan_in)).
HEAD_GAIN = 0.5


def metadata(case: str) -> "OrderedDict[str, object]":
    """Complete .vseg metadata for a case (raw 0..255 input: scale 1, mean 0, std 1)."""
    backbone, block, (h, w), _ = CASES[case]
    blk = "upsample" if block == "upsampling" else "transpose"
    return OrderedDict([
        ("general.architecture", "resnet_unet"),
        ("general.name", case),
        ("input.channels", 3),
        ("input.width", w),
        ("input.height", h),
        ("input.scale", 1.0),
        ("input.mean", [0.0, 0.0, 0.0]),
        ("input.std", [1.0, 1.0, 1.0]),
        ("input.resize", "stretch"),
        ("output.classes", list(CLASSES)),
        ("output.activation", "sigmoid"),
        ("output.threshold", 0.5),
        ("provenance.trained", 0),
        ("encoder.name", backbone),
        ("encoder.style", "keras"),
        ("encoder.bn_eps", 2e-5),
        ("decoder.block", blk),
        ("decoder.channels", list(A.DEFAULT_DECODER_CHANNELS)),
        ("decoder.convs_per_block", 2 if blk == "upsample" else 1),
        ("decoder.bn_eps", 1e-3),
        ("head.kernel_size", 3),
    ])


def keras_name(prefix: str, meta) -> str:
    """Keras layer name of a .vseg tensor prefix (e.g. 'decoder.blocks.0.conv1.0')."""
    if prefix.startswith("encoder."):
        return prefix[len("encoder."):]
    if prefix == "segmentation_head.0":
        return "final_conv"
    parts = prefix.split(".")  # decoder blocks i {up|conv1|conv2} {0|1}
    assert parts[:2] == ["decoder", "blocks"] and len(parts) == 5, prefix
    i, unit, k = parts[2], parts[3], parts[4]
    transpose = A.resnet_meta(meta)["block"] == "transpose"
    if unit == "up":
        return f"decoder_stage{i}a_" + ("transpose" if k == "0" else "bn")
    letter = {"conv1": "b" if transpose else "a", "conv2": "b"}[unit]
    return f"decoder_stage{i}{letter}_" + ("conv" if k == "0" else "bn")


def layers(meta) -> "OrderedDict[str, Dict[str, object]]":
    """Keras layer name -> {kind: conv|tconv|bn, prefix, shapes (Keras layout), ...}."""
    exp = A.expected_tensors(meta)
    out: "OrderedDict[str, Dict[str, object]]" = OrderedDict()
    for name, shape in exp.items():
        prefix, _, leaf = name.rpartition(".")
        kn = keras_name(prefix, meta)
        if kn not in out:
            out[kn] = dict(prefix=prefix, leaves=[], file_shapes=[])
        out[kn]["leaves"].append(leaf)
        out[kn]["file_shapes"].append(tuple(shape))
    for kn, d in out.items():
        leaves, fs = d["leaves"], d["file_shapes"]
        if "running_mean" in leaves:
            d["kind"] = "bn"
            d["shapes"] = fs
        elif kn.endswith("_transpose"):
            cin, cout, kh, kw = fs[0]
            d["kind"] = "tconv"
            d["shapes"] = [(kh, kw, cout, cin)] + fs[1:]
        else:
            cout, cin, kh, kw = fs[0]
            d["kind"] = "conv"
            d["shapes"] = [(kh, kw, cin, cout)] + fs[1:]
    return out


def _is_residual_last(kn: str, bottleneck: bool) -> bool:
    return kn.startswith("stage") and kn.endswith("_conv3" if bottleneck else "_conv2")


def keras_weights(case: str) -> "OrderedDict[str, List[np.ndarray]]":
    """Keras layer name -> list of float32 arrays in ``layer.get_weights()`` order/layout."""
    meta = metadata(case)
    seed = CASES[case][3]
    rng = np.random.default_rng(seed)
    bottleneck = A.BOTTLENECK[CASES[case][0]]
    out: "OrderedDict[str, List[np.ndarray]]" = OrderedDict()
    for kn, d in layers(meta).items():
        ws: List[np.ndarray] = []
        if d["kind"] == "bn":
            c = d["shapes"][0][0]
            if kn == "bn_data":  # input 0..255: realistic image statistics, no gamma
                ws.append(rng.uniform(-0.1, 0.1, c))           # beta
                ws.append(rng.uniform(100.0, 150.0, c))        # moving_mean
                ws.append(rng.uniform(3000.0, 5000.0, c))      # moving_variance
            else:
                ws.append(rng.uniform(0.5, 1.5, c))            # gamma
                ws.append(rng.uniform(-0.2, 0.2, c))           # beta
                ws.append(rng.uniform(-0.2, 0.2, c))           # moving_mean
                ws.append(rng.uniform(0.5, 1.5, c))            # moving_variance
        elif d["kind"] == "conv":
            kh, kw, cin, cout = d["shapes"][0]
            std = np.sqrt(2.0 / (kh * kw * cin))
            if _is_residual_last(kn, bottleneck):
                std *= RESIDUAL_GAIN
            if kn == "final_conv":  # logits O(1): probabilities mostly unsaturated
                std = HEAD_GAIN * np.sqrt(1.0 / (kh * kw * cin))
            ws.append(rng.standard_normal((kh, kw, cin, cout)) * std)
            if len(d["shapes"]) > 1:                           # final_conv bias
                ws.append(rng.uniform(-0.1, 0.1, d["shapes"][1][0]))
        else:  # tconv 4x4 stride 2: every output pixel sees 2x2 taps of cin channels
            kh, kw, cout, cin = d["shapes"][0]
            std = np.sqrt(2.0 / (4 * cin))
            ws.append(rng.standard_normal((kh, kw, cout, cin)) * std)
        for w, s in zip(ws, d["shapes"]):
            assert w.shape == tuple(s), (kn, w.shape, s)
        out[kn] = [np.asarray(w, np.float32) for w in ws]
    return out


def file_tensors(case: str, kw: "Dict[str, List[np.ndarray]]" = None
                 ) -> "OrderedDict[str, np.ndarray]":
    """The .vseg tensors (unfolded, float32) of a case, in expected_tensors order."""
    meta = metadata(case)
    kw = keras_weights(case) if kw is None else kw
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for kn, d in layers(meta).items():
        ws = kw[kn]
        p = d["prefix"]
        if d["kind"] == "bn":
            if "weight" in d["leaves"]:
                g, b, m, v = ws
                out[p + ".weight"] = g
            else:
                b, m, v = ws
            out[p + ".bias"] = b
            out[p + ".running_mean"] = m
            out[p + ".running_var"] = v
        elif d["kind"] == "conv":
            out[p + ".weight"] = np.ascontiguousarray(ws[0].transpose(3, 2, 0, 1))
            if len(ws) > 1:
                out[p + ".bias"] = ws[1]
        else:
            out[p + ".weight"] = np.ascontiguousarray(ws[0].transpose(3, 2, 0, 1))
    exp = A.expected_tensors(meta)
    A.validate_tensors(meta, out)
    return OrderedDict((k, out[k]) for k in exp)


def input_nhwc(case: str) -> np.ndarray:
    """Seeded 8-bit-like image, float32 NHWC [1, h, w, 3] with integer values 0..255:
    a smooth gradient plus a blob plus uniform noise, so features vary spatially."""
    _, _, (h, w), _ = CASES[case]
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    blob = 120.0 * np.exp(-(((yy - cy) / (0.2 * h)) ** 2 + ((xx - cx) / (0.2 * w)) ** 2))
    base = 60.0 + 80.0 * (xx / w) + 40.0 * (yy / h)
    img = np.empty((1, h, w, 3))
    for c in range(3):
        img[0, :, :, c] = base + blob * (0.6 + 0.2 * c) + rng.integers(-40, 41, (h, w))
    return np.clip(np.round(img), 0, 255).astype(np.float32)


def golden_path(data_dir: str, case: str) -> str:
    return os.path.join(data_dir, f"{case}_golden.bin")
