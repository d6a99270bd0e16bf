#!/usr/bin/env python3
"""Regenerate the seed corpora of tests/fuzz/corpus/ (deterministic; numpy only).

    PYTHONPATH=bindings/python /usr/bin/python3 tests/fuzz/make_seeds.py

model_load: one mode byte (bit 0: the harness recomputes the CRCs) + a .vseg image of a
  minimal plain UNet (base 1, depth 1, 16x16, numpy-random weights) in every dtype,
  deflated, 3-channel letterbox softmax, and a resnet_unet header without tensors;
segment, tracker: seeded random byte strings (the harnesses read any bytes as arguments).
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
from venseg.toolkit.weights import build_vseg  # noqa: E402


def plain_unet(rng, channels=1, classes=1):
    t = {}

    def conv_bn(name, bn, cout, cin):
        t[f"{name}.weight"] = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32) * 0.3
        t[f"{bn}.weight"] = np.ones(cout, np.float32)
        t[f"{bn}.bias"] = np.zeros(cout, np.float32)
        t[f"{bn}.running_mean"] = np.zeros(cout, np.float32)
        t[f"{bn}.running_var"] = np.ones(cout, np.float32)

    conv_bn("enc0.conv1", "enc0.bn1", 1, channels)
    conv_bn("enc0.conv2", "enc0.bn2", 1, 1)
    conv_bn("enc1.conv1", "enc1.bn1", 2, 1)
    conv_bn("enc1.conv2", "enc1.bn2", 2, 2)
    t["up0.weight"] = rng.standard_normal((2, 1, 2, 2)).astype(np.float32)
    t["up0.bias"] = np.zeros(1, np.float32)
    conv_bn("dec0.conv1", "dec0.bn1", 1, 2)
    conv_bn("dec0.conv2", "dec0.bn2", 1, 1)
    t["head.weight"] = rng.standard_normal((classes, 1, 1, 1)).astype(np.float32)
    t["head.bias"] = np.zeros(classes, np.float32)
    return t


def meta(channels=1, classes=("vein",), **extra):
    m = {"general.architecture": "plain_unet", "plain_unet.base_channels": 1, "plain_unet.depth": 1,
         "input.channels": channels, "input.width": 16, "input.height": 16, "input.scale": 1 / 255,
         "output.classes": list(classes)}
    m.update(extra)
    return m


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    rng = np.random.default_rng(20261126)
    tensors = plain_unet(rng)
    for dtype in ("f32", "f16", "bf16", "q8"):
        write("model_load", f"plain_{dtype}", b"\x01" + build_vseg(meta(), tensors, dtype=dtype, alignment=16))
    write("model_load", "plain_deflate", b"\x01" + build_vseg(meta(), tensors, deflate=True, alignment=16))
    rgb = meta(3, ("artery", "vein"), **{"input.resize": "letterbox", "output.activation": "softmax",
                                         "input.mean": [0.1, 0.2, 0.3], "input.std": [1.0, 2.0, 3.0]})
    write("model_load", "plain_rgb_softmax", b"\x01" + build_vseg(rgb, plain_unet(rng, 3, 2), alignment=16))
    resnet = {"general.architecture": "resnet_unet", "encoder.name": "resnet18", "encoder.style": "keras",
              "decoder.block": "transpose", "decoder.channels": [8, 8, 8, 8, 8], "input.channels": 1,
              "input.width": 32, "input.height": 32, "output.classes": ["artery", "vein"]}
    write("model_load", "resnet_no_tensors", b"\x01" + build_vseg(resnet, {}, alignment=16))
    write("model_load", "plain_bad_crc", b"\x00" + build_vseg(meta(), tensors, alignment=16)[:-1] + b"\x7f")
    for target, sizes in (("segment", (16, 48, 200, 600, 1500, 4000)), ("tracker", (24, 80, 300, 1200, 3000, 6000))):
        for i, n in enumerate(sizes):
            write(target, f"random_{i}", rng.integers(0, 256, n, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    main()
