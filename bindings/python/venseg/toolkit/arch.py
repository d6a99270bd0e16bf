"""Architecture descriptions from .vseg metadata (numpy only, no torch).

``expected_tensors(meta)`` lists every tensor an *unfolded* file of that architecture
holds (name -> shape), exactly as docs/weights-format.md names them;
``fold_pairs(meta)`` lists the (conv, BN) pairs a writer may fold; ``bn_eps(meta, bn)``
gives the epsilon of a BN layer. Metadata defaults follow the format document.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np

RESNET_UNITS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3), "resnet50": (3, 4, 6, 3)}
BOTTLENECK = {"resnet18": False, "resnet34": False, "resnet50": True}
DEFAULT_DECODER_CHANNELS = (256, 128, 64, 32, 16)


class ArchError(ValueError):
    pass


def resnet_meta(meta: Mapping[str, Any]) -> Dict[str, Any]:
    """Resolved resnet_unet parameters (defaults filled in)."""
    name = meta.get("encoder.name")
    if name not in RESNET_UNITS:
        raise ArchError(f"encoder.name {name!r} not in {sorted(RESNET_UNITS)}")
    style = meta.get("encoder.style")
    if style not in ("torchvision", "keras"):
        raise ArchError(f"encoder.style {style!r} not in ('torchvision', 'keras')")
    block = meta.get("decoder.block", "upsample")
    if block not in ("upsample", "transpose"):
        raise ArchError(f"decoder.block {block!r} not in ('upsample', 'transpose')")
    ch = tuple(int(c) for c in meta.get("decoder.channels", DEFAULT_DECODER_CHANNELS))
    if len(ch) != 5:
        raise ArchError("decoder.channels must have 5 entries")
    n = int(meta.get("decoder.convs_per_block", 2 if block == "upsample" else 1))
    if n not in (1, 2):
        raise ArchError("decoder.convs_per_block must be 1 or 2")
    k = int(meta.get("head.kernel_size", 3))
    if k not in (1, 3):
        raise ArchError("head.kernel_size must be 1 or 3")
    return dict(
        name=name, style=style, block=block, channels=ch, convs=n, head_kernel=k,
        encoder_eps=float(meta.get("encoder.bn_eps", 1e-5 if style == "torchvision" else 2e-5)),
        decoder_eps=float(meta.get("decoder.bn_eps", 1e-5 if style == "torchvision" else 1e-3)),
    )


def plain_meta(meta: Mapping[str, Any]) -> Dict[str, Any]:
    base = int(meta["plain_unet.base_channels"])
    depth = int(meta["plain_unet.depth"])
    if not 1 <= depth <= 6:
        raise ArchError("plain_unet.depth must be 1..6")
    if base < 1:
        raise ArchError("plain_unet.base_channels must be >= 1")
    return dict(base=base, depth=depth, eps=float(meta.get("plain_unet.bn_eps", 1e-5)))


def input_multiple(meta: Mapping[str, Any]) -> int:
    if meta["general.architecture"] == "resnet_unet":
        return 32
    return 2 ** plain_meta(meta)["depth"]


def encoder_channels(name: str) -> List[int]:
    """[stride-2 skip, x4, x8, x16, x32 (decoder input)] channels."""
    e = 4 if BOTTLENECK[name] else 1
    return [64, 64 * e, 128 * e, 256 * e, 512 * e]


def _bn(out: "OrderedDict[str, tuple]", name: str, c: int, gamma: bool = True) -> None:
    if gamma:
        out[name + ".weight"] = (c,)
    out[name + ".bias"] = (c,)
    out[name + ".running_mean"] = (c,)
    out[name + ".running_var"] = (c,)


def _conv(out, name: str, cout: int, cin: int, k: int, bias: bool = False) -> None:
    out[name + ".weight"] = (cout, cin, k, k)
    if bias:
        out[name + ".bias"] = (cout,)


def _structure(meta: Mapping[str, Any]):
    """(ordered name -> shape, fold pairs [(conv, bn, transposed)])."""
    arch = meta.get("general.architecture")
    cin = int(meta["input.channels"])
    classes = len(meta["output.classes"])
    t: "OrderedDict[str, tuple]" = OrderedDict()
    pairs: List[Tuple[str, str, bool]] = []

    def conv_bn(conv, bn, cout, ci, k):
        _conv(t, conv, cout, ci, k)
        _bn(t, bn, cout)
        pairs.append((conv, bn, False))

    if arch == "plain_unet":
        p = plain_meta(meta)
        c = [p["base"] * 2 ** d for d in range(p["depth"] + 1)]
        for d in range(p["depth"] + 1):
            conv_bn(f"enc{d}.conv1", f"enc{d}.bn1", c[d], cin if d == 0 else c[d - 1], 3)
            conv_bn(f"enc{d}.conv2", f"enc{d}.bn2", c[d], c[d], 3)
        for d in range(p["depth"] - 1, -1, -1):
            t[f"up{d}.weight"] = (c[d + 1], c[d], 2, 2)
            t[f"up{d}.bias"] = (c[d],)
            conv_bn(f"dec{d}.conv1", f"dec{d}.bn1", c[d], 2 * c[d], 3)
            conv_bn(f"dec{d}.conv2", f"dec{d}.bn2", c[d], c[d], 3)
        _conv(t, "head", classes, c[0], 1, bias=True)
        return t, pairs

    if arch != "resnet_unet":
        raise ArchError(f"general.architecture {arch!r} not in ('resnet_unet', 'plain_unet')")
    r = resnet_meta(meta)
    units = RESNET_UNITS[r["name"]]
    bott = BOTTLENECK[r["name"]]
    e = 4 if bott else 1
    if r["style"] == "torchvision":
        conv_bn("encoder.conv1", "encoder.bn1", 64, cin, 7)
        inplanes = 64
        for L in range(1, 5):
            planes = 64 * 2 ** (L - 1)
            for b in range(units[L - 1]):
                p = f"encoder.layer{L}.{b}"
                if bott:
                    conv_bn(p + ".conv1", p + ".bn1", planes, inplanes, 1)
                    conv_bn(p + ".conv2", p + ".bn2", planes, planes, 3)
                    conv_bn(p + ".conv3", p + ".bn3", planes * e, planes, 1)
                else:
                    conv_bn(p + ".conv1", p + ".bn1", planes, inplanes, 3)
                    conv_bn(p + ".conv2", p + ".bn2", planes, planes, 3)
                if b == 0 and (L > 1 or inplanes != planes * e):
                    conv_bn(p + ".downsample.0", p + ".downsample.1", planes * e, inplanes, 1)
                inplanes = planes * e
    else:
        _bn(t, "encoder.bn_data", cin, gamma=False)
        conv_bn("encoder.conv0", "encoder.bn0", 64, cin, 7)
        inplanes = 64
        for S in range(1, 5):
            f = 64 * 2 ** (S - 1)
            for U in range(1, units[S - 1] + 1):
                p = f"encoder.stage{S}_unit{U}_"
                _bn(t, p + "bn1", inplanes)
                if bott:
                    conv_bn(p + "conv1", p + "bn2", f, inplanes, 1)
                    conv_bn(p + "conv2", p + "bn3", f, f, 3)
                    _conv(t, p + "conv3", f * e, f, 1)
                else:
                    conv_bn(p + "conv1", p + "bn2", f, inplanes, 3)
                    _conv(t, p + "conv2", f, f, 3)
                if U == 1:
                    _conv(t, p + "sc", f * e, inplanes, 1)
                inplanes = f * e
        _bn(t, "encoder.bn1", inplanes)
    enc = encoder_channels(r["name"])
    skips = [enc[3], enc[2], enc[1], enc[0], 0]
    prev = enc[4]
    for i, f in enumerate(r["channels"]):
        p = f"decoder.blocks.{i}"
        if r["block"] == "transpose":
            t[p + ".up.0.weight"] = (prev, f, 4, 4)
            _bn(t, p + ".up.1", f)
            pairs.append((p + ".up.0", p + ".up.1", True))
            prev = f
        conv_bn(p + ".conv1.0", p + ".conv1.1", f, prev + skips[i], 3)
        if r["convs"] == 2:
            conv_bn(p + ".conv2.0", p + ".conv2.1", f, f, 3)
        prev = f
    k = r["head_kernel"]
    _conv(t, "segmentation_head.0", classes, prev, k, bias=True)
    return t, pairs


def expected_tensors(meta: Mapping[str, Any], folded: bool = False) -> "OrderedDict[str, tuple]":
    """name -> shape of every tensor of the architecture. ``folded``: the layout after
    folding every pair of fold_pairs() (BN tensors gone, conv gets a bias)."""
    t, pairs = _structure(meta)
    if not folded:
        return t
    out: "OrderedDict[str, tuple]" = OrderedDict()
    conv_of = {bn: (conv, tr) for conv, bn, tr in pairs}
    bias_for = {conv: (bn, tr) for conv, bn, tr in pairs}
    for name, shape in t.items():
        base, _, leaf = name.rpartition(".")
        if base in conv_of:
            continue
        out[name] = shape
        if base in bias_for and leaf == "weight":
            out[base + ".bias"] = (shape[1] if bias_for[base][1] else shape[0],)
    return out


def fold_pairs(meta: Mapping[str, Any]) -> List[Tuple[str, str, bool]]:
    """[(conv prefix, bn prefix, conv is transposed)] in network order."""
    return _structure(meta)[1]


def bn_eps(meta: Mapping[str, Any], bn: str) -> float:
    arch = meta.get("general.architecture")
    if arch == "plain_unet":
        return plain_meta(meta)["eps"]
    r = resnet_meta(meta)
    return r["encoder_eps"] if bn.startswith("encoder.") else r["decoder_eps"]


def fold_bn(meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> "OrderedDict[str, np.ndarray]":
    """Fold every conv -> BN pair into conv weight + bias (float64 math, f32 result).

    Standalone (pre-activation) BNs stay. Tensor order is kept (bias after weight)."""
    pairs = {conv: (bn, tr) for conv, bn, tr in fold_pairs(meta)}
    bns = {bn for bn, _ in pairs.values()}
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name, a in tensors.items():
        base, _, leaf = name.rpartition(".")
        if base in bns:
            continue
        if base in pairs and leaf == "weight":
            bn, tr = pairs[base]
            eps = bn_eps(meta, bn)
            c = a.shape[1] if tr else a.shape[0]
            gamma = np.asarray(tensors.get(bn + ".weight", np.ones(c)), np.float64)
            beta = np.asarray(tensors[bn + ".bias"], np.float64)
            mean = np.asarray(tensors[bn + ".running_mean"], np.float64)
            var = np.asarray(tensors[bn + ".running_var"], np.float64)
            s = gamma / np.sqrt(var + eps)
            w = np.asarray(a, np.float64)
            w = w * (s[None, :, None, None] if tr else s[:, None, None, None])
            b0 = np.asarray(tensors.get(base + ".bias", np.zeros(c)), np.float64)
            out[name] = w.astype(np.float32)
            out[base + ".bias"] = ((b0 - mean) * s + beta).astype(np.float32)
            continue
        if base in pairs and leaf == "bias":
            continue  # already folded above
        out[name] = np.asarray(a, np.float32)
    return out


def validate_tensors(meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
                     folded: bool = False) -> None:
    """Raise ArchError naming every missing, unexpected or mis-shaped tensor."""
    exp = expected_tensors(meta, folded=folded)
    missing = [n for n in exp if n not in tensors]
    extra = [n for n in tensors if n not in exp]
    bad = [f"{n} {tuple(np.shape(tensors[n]))} != {exp[n]}" for n in exp
           if n in tensors and tuple(np.shape(tensors[n])) != tuple(exp[n])]
    msgs = []
    if missing:
        msgs.append("missing: " + ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else ""))
    if extra:
        msgs.append("unexpected: " + ", ".join(extra[:20]) + (" ..." if len(extra) > 20 else ""))
    if bad:
        msgs.append("bad shape: " + "; ".join(bad[:20]))
    if msgs:
        raise ArchError("tensors do not match the architecture: " + " | ".join(msgs))


def parameter_count(meta: Mapping[str, Any]) -> int:
    """Values of all tensors of the unfolded layout (incl. BN running stats)."""
    return int(sum(int(np.prod(s)) for s in expected_tensors(meta).values()))
