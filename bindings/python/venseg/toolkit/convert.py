"""Convert PyTorch checkpoints to the libvenseg weights file (.vseg).

Run as ``python -m venseg.toolkit.convert --help``. Inputs:

(a) a segmentation_models_pytorch ``Unet`` with a ResNet18/34/50 encoder: either its
    ``state_dict()`` (optionally wrapped as ``{"state_dict": ...}`` or ``{"model": ...}``,
    keys optionally prefixed ``module.`` / ``model.``) or a whole pickled model
    (``torch.save(model)``). The encoder is detected from the tensor shapes
    (``--encoder`` overrides); ``decoder.channels``, the class count, the input channels
    and the head kernel are read from the shapes too.

(b) the project's own training checkpoint: a ``torch.save``'d dict ::

        {"format": "venseg-checkpoint-1",          # optional marker
         "metadata": {<.vseg metadata keys>},      # at least the architecture keys
                                                   # (general.architecture, encoder.* /
                                                   # decoder.* / head.* or plain_unet.*),
                                                   # input.channels and output.classes;
                                                   # may hold any other key (input.*, ...)
         "state_dict": {<tensor name>: tensor}}    # names as in docs/weights-format.md

    ``save_checkpoint(path, model, metadata)`` writes one from a ``venseg.toolkit.reference``
    model. Command-line options override the checkpoint's metadata.

(c) ``--random ARCH --seed N``: a seeded random model for parity tests and demos
    (``provenance.trained`` = 0). ARCH is ``plain-unet`` or
    ``{smp|tv|keras}-resnet{18|34|50}[-upsample|-transpose]``: ``smp`` = smp.Unet itself
    (upsample decoder only), ``tv`` = venseg.toolkit.reference torchvision-style encoder,
    ``keras`` = pre-activation classification_models encoder. Weights are drawn from a
    numpy PCG64 generator (independent of torch's RNG): conv weights U(+-sqrt(3/fan_in)),
    conv biases U(+-0.1), BN gamma U(0.5, 1.5), beta U(+-0.2); then the BN running
    statistics are set to the batch statistics of one train-mode forward pass over a
    seeded N(0, 1) batch, so activations stay O(1) and output probabilities are not
    saturated.

BN handling: the file holds the unfolded BN tensors (the loader folds them) unless
``--fold-bn`` folds every conv -> BN pair of the format document into the conv
(weight and bias); standalone pre-activation BNs always stay. ``num_batches_tracked``
buffers are dropped. Every tensor the architecture needs must be present with the right
shape, and no other tensor may be present (the error names them).

Storage ``--dtype f16|bf16|q8`` applies to convolution weights (4-D tensors) only;
biases and BN tensors stay f32 (see venseg.toolkit.weights).

ONNX (venseg.toolkit.onnx_io, docs/onnx.md; also ``python -m venseg.convert``):
``--to-onnx MODEL.vseg OUT.onnx [--opset N] [--logits]`` writes any .vseg model as an ONNX
graph; ``--from-onnx IN.onnx OUT.vseg`` converts a graph of the UNet family (our export,
a torch.onnx export of smp.Unet or of a venseg.toolkit.reference model) to .vseg, with the
metadata options above (--name, --classes, --scale, --mean, --std, --input-size, ...)
applied over what the graph's metadata_props hold.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import arch as A
from .weights import build_vseg

CHECKPOINT_FORMAT = "venseg-checkpoint-1"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
_ARCH_RE = re.compile(r"^(smp|tv|keras)-(resnet18|resnet34|resnet50)(?:-(upsample|transpose))?$")


class ConvertError(ValueError):
    pass


# ------------------------------------------------------------ random models

def build_model(arch: str, in_channels: Optional[int] = None, classes: int = 2,
                base_channels: int = 16, depth: int = 4,
                decoder_channels: Sequence[int] = A.DEFAULT_DECODER_CHANNELS,
                head_kernel_size: int = 3, convs_per_block: Optional[int] = None):
    """An untrained torch model for an ARCH name; returns (model, architecture metadata)."""
    from . import reference as R

    if arch == "plain-unet":
        m = R.PlainUnet(in_channels or 1, classes, base_channels, depth)
        return m, m.vseg_metadata()
    mt = _ARCH_RE.match(arch)
    if not mt:
        raise ConvertError(f"unknown architecture {arch!r}")
    kind, enc, block = mt.group(1), mt.group(2), mt.group(3) or "upsample"
    cin = in_channels or 3
    if kind == "smp":
        if block != "upsample" or convs_per_block not in (None, 2):
            raise ConvertError("smp.Unet has only the upsample decoder with 2 convs")
        import segmentation_models_pytorch as smp

        m = smp.Unet(encoder_name=enc, encoder_weights=None, in_channels=cin, classes=classes,
                     decoder_channels=list(decoder_channels))
        if head_kernel_size != 3:
            raise ConvertError("smp.Unet's head is 3x3")
        return m, R.smp_unet_metadata(m, enc)
    m = R.ResNetUnet(enc, "torchvision" if kind == "tv" else "keras", block, decoder_channels,
                     convs_per_block, classes, cin, head_kernel_size=head_kernel_size)
    return m, m.vseg_metadata()


def randomize(model, seed: int) -> None:
    """Seeded numpy init of every conv / BN parameter (see module docstring)."""
    import torch
    import torch.nn as nn

    rng = np.random.default_rng(seed)

    def put(p, arr):
        with torch.no_grad():
            p.copy_(torch.as_tensor(np.asarray(arr, np.float32)).reshape(p.shape))

    for _, mod in model.named_modules():
        if isinstance(mod, nn.ConvTranspose2d):
            w = mod.weight
            fan = w.shape[0] * w.shape[2] * w.shape[3] / (mod.stride[0] * mod.stride[1])
            b = float(np.sqrt(3.0 / fan))
            put(w, rng.uniform(-b, b, w.shape))
            if mod.bias is not None:
                put(mod.bias, rng.uniform(-0.1, 0.1, mod.bias.shape))
        elif isinstance(mod, nn.Conv2d):
            w = mod.weight
            b = float(np.sqrt(3.0 / (w.shape[1] * w.shape[2] * w.shape[3])))
            put(w, rng.uniform(-b, b, w.shape))
            if mod.bias is not None:
                put(mod.bias, rng.uniform(-0.1, 0.1, mod.bias.shape))
        elif isinstance(mod, nn.BatchNorm2d):
            if mod.weight is not None:
                put(mod.weight, rng.uniform(0.5, 1.5, mod.weight.shape))
            put(mod.bias, rng.uniform(-0.2, 0.2, mod.bias.shape))


def calibrate_bn(model, seed: int, in_channels: int, size: Tuple[int, int] = (128, 128),
                 batch: int = 2) -> None:
    """Set BN running stats to the statistics of one seeded train-mode batch; eval()."""
    import torch
    import torch.nn as nn

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch = the batch statistics
    x = np.random.default_rng(seed + 1_000_003).standard_normal(
        (batch, in_channels, size[1], size[0])).astype(np.float32)
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(x))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def random_model(arch: str, seed: int = 0, in_channels: Optional[int] = None, classes: int = 2,
                 calib_size: Tuple[int, int] = (128, 128), **kw):
    """Seeded random model in eval mode: (model, architecture metadata)."""
    import torch

    model, meta = build_model(arch, in_channels, classes, **kw)
    torch.manual_seed(seed)  # only for anything our init does not touch
    randomize(model, seed)
    cin = in_channels or (1 if arch == "plain-unet" else 3)
    calibrate_bn(model, seed, cin, calib_size)
    return model, meta


# ------------------------------------------------------------- checkpoints

def _strip_prefixes(sd: Dict[str, Any]) -> Dict[str, Any]:
    for pre in ("module.", "model."):
        if sd and all(k.startswith(pre) for k in sd):
            sd = OrderedDict((k[len(pre):], v) for k, v in sd.items())
    return sd


def _to_numpy(sd) -> "OrderedDict[str, np.ndarray]":
    out = OrderedDict()
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        if hasattr(v, "detach"):
            v = v.detach().cpu().float().numpy()
        out[k] = np.asarray(v, dtype=np.float32)
    return out


def detect_smp_encoder(sd: Dict[str, np.ndarray]) -> str:
    if "encoder.layer1.0.conv3.weight" in sd:
        n3 = len({k.split(".")[2] for k in sd if k.startswith("encoder.layer3.")})
        if n3 == 6:
            return "resnet50"
        raise ConvertError(f"bottleneck ResNet with {n3} layer3 units is not supported")
    n3 = len({k.split(".")[2] for k in sd if k.startswith("encoder.layer3.")})
    if n3 == 2:
        return "resnet18"
    if n3 == 6:
        return "resnet34"
    raise ConvertError(f"cannot detect the encoder (layer3 has {n3} units); use --encoder")


def smp_metadata_from_state(sd: Dict[str, np.ndarray], encoder: Optional[str]) -> Dict[str, Any]:
    enc = encoder or detect_smp_encoder(sd)
    ch = []
    for i in range(5):
        k = f"decoder.blocks.{i}.conv1.0.weight"
        if k not in sd:
            raise ConvertError(f"not an smp Unet state dict: {k} missing")
        ch.append(int(sd[k].shape[0]))
    head = sd.get("segmentation_head.0.weight")
    if head is None:
        raise ConvertError("segmentation_head.0.weight missing")
    return {
        "general.architecture": "resnet_unet", "encoder.name": enc,
        "encoder.style": "torchvision", "encoder.bn_eps": 1e-5, "decoder.block": "upsample",
        "decoder.channels": ch, "decoder.convs_per_block": 2, "decoder.bn_eps": 1e-5,
        "head.kernel_size": int(head.shape[2]),
        "input.channels": int(sd["encoder.conv1.weight"].shape[1]),
        "output.n_classes": int(head.shape[0]),
    }


def load_checkpoint(path: str, encoder: Optional[str] = None):
    """(metadata dict, numpy state dict) from an smp or venseg checkpoint file."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "metadata" in obj and "state_dict" in obj:
        if obj.get("format", CHECKPOINT_FORMAT) != CHECKPOINT_FORMAT:
            raise ConvertError(f"unknown checkpoint format {obj.get('format')!r}")
        return dict(obj["metadata"]), _to_numpy(_strip_prefixes(dict(obj["state_dict"])))
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
        sd = _to_numpy(_strip_prefixes(dict(obj)))
        return smp_metadata_from_state(sd, encoder), sd
    raise ConvertError(f"{path}: not a state dict, model or venseg checkpoint")


def save_checkpoint(path: str, model, metadata: Dict[str, Any]) -> None:
    """Write the project's own training checkpoint (format (b) above)."""
    import torch

    meta = dict(metadata)
    if hasattr(model, "vseg_metadata"):
        meta = {**model.vseg_metadata(), **meta}
    torch.save({"format": CHECKPOINT_FORMAT, "metadata": meta,
                "state_dict": model.state_dict()}, path)


# ---------------------------------------------------------------- metadata

def input_defaults(arch_meta: Dict[str, Any], channels: int) -> Dict[str, Any]:
    """Default input normalisation for an architecture."""
    if arch_meta.get("encoder.style") == "keras":
        return {"input.scale": 1.0, "input.mean": [0.0] * channels, "input.std": [1.0] * channels}
    if arch_meta.get("general.architecture") == "resnet_unet":
        if channels == 3:
            return {"input.scale": 1 / 255, "input.mean": IMAGENET_MEAN, "input.std": IMAGENET_STD}
        return {"input.scale": 1 / 255, "input.mean": [0.449], "input.std": [0.226]}
    return {"input.scale": 1 / 255, "input.mean": [0.0] * channels, "input.std": [1.0] * channels}


_KEY_ORDER = ["general.architecture", "general.name", "general.description", "general.license",
              "input.channels", "input.width", "input.height", "input.scale", "input.mean",
              "input.std", "input.resize", "output.classes", "output.activation",
              "output.threshold", "provenance.trained", "provenance.data", "provenance.commit",
              "provenance.metrics", "provenance.recipe"]


def make_metadata(arch_meta: Dict[str, Any], channels: int, classes: Sequence[str],
                  width: int = 256, height: int = 256, trained: int = 0,
                  **overrides: Any) -> "OrderedDict[str, Any]":
    """Complete, ordered metadata. ``overrides`` use keys with '_' for '.', e.g.
    input_scale=1/255, output_activation='sigmoid', provenance_data='...' (None = skip)."""
    m: Dict[str, Any] = {"input.channels": int(channels), "input.width": int(width),
                         "input.height": int(height), "input.resize": "stretch",
                         "output.classes": list(classes), "output.activation": "sigmoid",
                         "output.threshold": 0.5, "provenance.trained": int(trained)}
    m.update(input_defaults(arch_meta, channels))
    m.update({k: v for k, v in arch_meta.items() if k != "output.n_classes"})
    for k, v in overrides.items():
        if v is not None:
            m[k.replace("_", ".", 1) if "." not in k else k] = v
    out = OrderedDict((k, m[k]) for k in _KEY_ORDER if k in m)
    out.update((k, v) for k, v in m.items() if k not in out)
    check_metadata(out)
    return out


def check_metadata(m: Dict[str, Any]) -> None:
    c = int(m["input.channels"])
    if c not in (1, 3):
        raise ConvertError("input.channels must be 1 or 3")
    for k in ("input.mean", "input.std"):
        if len(m[k]) != c:
            raise ConvertError(f"{k} needs {c} values, got {len(m[k])}")
    if any(float(s) <= 0 for s in m["input.std"]):
        raise ConvertError("input.std must be > 0")
    mult = A.input_multiple(m)
    for k in ("input.width", "input.height"):
        if int(m[k]) < mult or int(m[k]) % mult:
            raise ConvertError(f"{k} = {m[k]} is not a positive multiple of {mult}")
    if m.get("input.resize", "stretch") not in ("stretch", "letterbox"):
        raise ConvertError("input.resize must be stretch or letterbox")
    if m.get("output.activation", "sigmoid") not in ("sigmoid", "softmax"):
        raise ConvertError("output.activation must be sigmoid or softmax")
    if not m["output.classes"]:
        raise ConvertError("output.classes is empty")


def file_tensors(meta: Dict[str, Any], state: Dict[str, np.ndarray],
                 fold_bn: bool = False) -> "OrderedDict[str, np.ndarray]":
    """Validate a state dict (unfolded, or with every conv -> BN pair already folded)
    against the architecture; optionally fold BN."""
    state = OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    pairs = A.fold_pairs(meta)
    folded = bool(pairs) and all(bn + ".running_mean" not in state for _, bn, _ in pairs)
    A.validate_tensors(meta, state, folded=folded)
    exp = A.expected_tensors(meta, folded=folded)
    ordered = OrderedDict((k, np.asarray(state[k], np.float32)) for k in exp)
    return A.fold_bn(meta, ordered) if fold_bn and not folded else ordered


def model_to_vseg(model, arch_meta: Dict[str, Any], dtype: str = "f32", deflate: bool = False,
                  fold_bn: bool = False, classes: Sequence[str] = ("artery", "vein"),
                  channels: Optional[int] = None, **meta_kw) -> bytes:
    """Bytes of a .vseg file for a torch model (reference or smp.Unet)."""
    from .reference import state_dict_numpy

    sd = state_dict_numpy(model)
    if channels is None:
        first = "enc0.conv1.weight" if "enc0.conv1.weight" in sd else (
            "encoder.conv0.weight" if "encoder.conv0.weight" in sd else "encoder.conv1.weight")
        channels = int(sd[first].shape[1])
    meta = make_metadata(arch_meta, channels, classes, **meta_kw)
    return build_vseg(meta, file_tensors(meta, sd, fold_bn), dtype=dtype, deflate=deflate)


# -------------------------------------------------------------------- CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m venseg.toolkit.convert",
        description="Convert an smp Unet / venseg checkpoint, or make a seeded random model, "
                    "to a libvenseg .vseg weights file (docs/weights-format.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("checkpoint", nargs="?",
                     help="input .pt/.pth: an smp Unet state_dict or pickled model, or a "
                          "venseg checkpoint {'metadata', 'state_dict'}")
    src.add_argument("--random", metavar="ARCH",
                     help="make a seeded random model instead: plain-unet or "
                          "{smp|tv|keras}-resnet{18|34|50}[-upsample|-transpose]")
    src.add_argument("--to-onnx", nargs=2, metavar=("MODEL.vseg", "OUT.onnx"),
                     help="write a .vseg model as ONNX (docs/onnx.md)")
    src.add_argument("--from-onnx", nargs=2, metavar=("IN.onnx", "OUT.vseg"),
                     help="convert an ONNX UNet (our export, smp, reference) to .vseg")
    p.add_argument("-o", "--output", help="output .vseg path (checkpoint / --random)")
    p.add_argument("--seed", type=int, default=0, help="seed for --random")
    p.add_argument("--encoder", choices=sorted(A.RESNET_UNITS),
                   help="smp checkpoint encoder (default: detected from tensor shapes)")
    p.add_argument("--fold-bn", action="store_true",
                   help="fold conv->BN pairs into conv weight+bias (pre-activation BNs stay)")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16", "q8"], default="f32",
                   help="storage of conv weights (4-D tensors); biases and BN stay f32")
    p.add_argument("--deflate", action="store_true", help="zlib-compress the data blob")
    g = p.add_argument_group("input specification (metadata input.*)")
    g.add_argument("--input-size", nargs=2, type=int, metavar=("W", "H"),
                   help="native input width and height (default: checkpoint's, else 256 256)")
    g.add_argument("--channels", type=int, choices=[1, 3],
                   help="input channels (--random: the model's; checkpoint: must match)")
    g.add_argument("--scale", type=float,
                   help="multiplier for 0..255 intensities (default 1/255; keras style 1)")
    g.add_argument("--mean", type=float, nargs="+",
                   help="per-channel mean after scaling (default ImageNet for torchvision "
                        "RGB, 0.449 grey; 0 for keras and plain)")
    g.add_argument("--std", type=float, nargs="+",
                   help="per-channel std after scaling (default ImageNet / 0.226; 1 otherwise)")
    g.add_argument("--resize", choices=["stretch", "letterbox"], help="frame resize mode "
                   "(default stretch)")
    o = p.add_argument_group("output")
    o.add_argument("--classes", nargs="+", metavar="NAME",
                   help="class names in channel order (default: artery vein)")
    o.add_argument("--activation", choices=["sigmoid", "softmax"], help="default sigmoid")
    o.add_argument("--threshold", type=float, help="probability threshold (default 0.5)")
    a = p.add_argument_group("architecture of --random models")
    a.add_argument("--base-channels", type=int, default=16, help="plain-unet base channels")
    a.add_argument("--depth", type=int, default=4, help="plain-unet depth (max-pool steps)")
    a.add_argument("--decoder-channels", type=int, nargs=5,
                   default=list(A.DEFAULT_DECODER_CHANNELS), help="resnet decoder channels")
    a.add_argument("--convs-per-block", type=int, choices=[1, 2],
                   help="decoder convs after the concat (default 2 upsample, 1 transpose)")
    a.add_argument("--head-kernel", type=int, choices=[1, 3], default=3, help="head kernel size")
    a.add_argument("--calib-size", type=int, nargs=2, metavar=("W", "H"), default=[128, 128],
                   help="size of the seeded batch that sets the BN running statistics")
    x = p.add_argument_group("ONNX export (--to-onnx)")
    x.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 13)")
    x.add_argument("--logits", action="store_true",
                   help="output raw logits instead of probabilities")
    v = p.add_argument_group("general and provenance")
    v.add_argument("--name", help="general.name")
    v.add_argument("--description", help="general.description")
    v.add_argument("--license", help="general.license")
    v.add_argument("--trained", type=int, choices=[0, 1],
                   help="provenance.trained (default 0 for --random, else 1)")
    v.add_argument("--data", help="provenance.data: training data description")
    v.add_argument("--commit", help="provenance.commit: training code commit")
    v.add_argument("--metrics", help="provenance.metrics: validation metrics")
    v.add_argument("--recipe", help="provenance.recipe: training recipe")
    return p


def _to_onnx(args) -> int:
    from .onnx_io import vseg_to_onnx

    src, dst = args.to_onnx
    try:
        model = vseg_to_onnx(src, dst, opset=args.opset, logits=args.logits)
    except (A.ArchError, ValueError, OSError) as exc:
        print(f"venseg.toolkit.convert: error: {exc}", file=sys.stderr)
        return 2
    out = model.graph.output[0]
    print(f"{dst}: ONNX opset {args.opset}, {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers, input {model.graph.input[0].name!r} "
          f"-> {out.name!r}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.to_onnx:
        return _to_onnx(args)
    if args.from_onnx:
        args.output = args.from_onnx[1]
    elif not args.output:
        parser.error("-o/--output is required")
    try:
        if args.from_onnx:
            from .onnx_io import OnnxImportError, onnx_to_state

            try:
                base_meta, state, info = onnx_to_state(args.from_onnx[0])
            except OnnxImportError as exc:
                raise ConvertError(f"{args.from_onnx[0]}: {exc}") from None
            if (args.activation and info["activation"]
                    and args.activation != info["activation"]):
                raise ConvertError(f"--activation {args.activation} but the graph ends in "
                                   f"{info['activation']}")
            trained = args.trained if args.trained is not None else int(
                base_meta.get("provenance.trained", 1))
            recipe = args.recipe
        elif args.random:
            model, arch_meta = random_model(
                args.random, args.seed, args.channels, len(args.classes or ["a", "v"]),
                calib_size=tuple(args.calib_size), base_channels=args.base_channels,
                depth=args.depth, decoder_channels=args.decoder_channels,
                head_kernel_size=args.head_kernel, convs_per_block=args.convs_per_block)
            from .reference import state_dict_numpy

            state = state_dict_numpy(model)
            base_meta: Dict[str, Any] = dict(arch_meta)
            trained = 0 if args.trained is None else args.trained
            recipe = args.recipe or f"random {args.random} seed {args.seed}"
        else:
            base_meta, state = load_checkpoint(args.checkpoint, args.encoder)
            trained = args.trained if args.trained is not None else int(
                base_meta.get("provenance.trained", 1))
            recipe = args.recipe
        first = next(k for k in ("enc0.conv1.weight", "encoder.conv0.weight",
                                 "encoder.conv1.weight") if k in state)
        channels = int(state[first].shape[1])
        if args.channels is not None and args.channels != channels:
            raise ConvertError(f"--channels {args.channels} but the model takes {channels}")
        n_out = int(state["head.weight" if "head.weight" in state
                          else "segmentation_head.0.weight"].shape[0])
        classes = args.classes or base_meta.get("output.classes") or (
            ["artery", "vein"] if n_out == 2 else [f"class{i}" for i in range(n_out)])
        if len(classes) != n_out:
            raise ConvertError(f"{len(classes)} class names for a {n_out}-class head")
        w, h = args.input_size or (base_meta.get("input.width", 256), base_meta.get("input.height", 256))
        extra = {k: v for k, v in base_meta.items() if k != "output.n_classes"}
        arch_meta = {k: v for k, v in extra.items()
                     if not k.startswith(("input.", "output.", "provenance.", "general.name",
                                          "general.description", "general.license"))}
        kept = {k: v for k, v in extra.items() if k not in arch_meta
                and k not in ("input.channels", "input.width", "input.height", "output.classes",
                              "provenance.trained")}
        if args.channels is None and "input.mean" in kept and len(kept["input.mean"]) != channels:
            kept.pop("input.mean"), kept.pop("input.std", None)
        overrides = {**kept}
        for key, val in (("input.scale", args.scale), ("input.mean", args.mean),
                         ("input.std", args.std), ("input.resize", args.resize),
                         ("output.activation", args.activation),
                         ("output.threshold", args.threshold), ("general.name", args.name),
                         ("general.description", args.description),
                         ("general.license", args.license), ("provenance.data", args.data),
                         ("provenance.commit", args.commit),
                         ("provenance.metrics", args.metrics), ("provenance.recipe", recipe)):
            if val is not None:
                overrides[key] = val
        meta = make_metadata(arch_meta, channels, classes, w, h, trained, **overrides)
        tensors = file_tensors(meta, state, args.fold_bn)
        data = build_vseg(meta, tensors, dtype=args.dtype, deflate=args.deflate)
    except (ConvertError, A.ArchError, KeyError, OSError) as exc:
        print(f"venseg.toolkit.convert: error: {exc}", file=sys.stderr)
        return 2
    with open(args.output, "wb") as fh:
        fh.write(data)
    n_params = sum(int(v.size) for v in state.values())
    print(f"{args.output}: {meta['general.architecture']}"
          + (f" {meta.get('encoder.style')}-{meta.get('encoder.name')}-{meta.get('decoder.block')}"
             if meta["general.architecture"] == "resnet_unet" else
             f" base {meta['plain_unet.base_channels']} depth {meta['plain_unet.depth']}")
          + f", {n_params:,} params, {len(tensors)} tensors, {args.dtype}"
          + (", BN folded" if args.fold_bn else "") + (", deflated" if args.deflate else "")
          + f", {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
