"""ONNX export and import of .vseg models (docs/onnx.md). numpy + onnx only, no torch.

Export (``vseg_to_onnx``): the graph is written node by node with ``onnx.helper`` from the
file's metadata, mirroring ``venseg.toolkit.reference`` operation for operation, so no
exporter rounding enters: initializers are the file's tensors (dequantised to f32) under
their .vseg names, a conv -> BN pair stored unfolded stays Conv + BatchNormalization, a
folded one is a Conv with bias. Input ``input`` [batch, C, height, width] is the
normalised tensor (preprocessing in docs/onnx.md); output ``probabilities`` (sigmoid per
class or softmax over classes, as libvenseg) or ``logits``. Every .vseg metadata key is
stored in ``metadata_props`` as JSON, so an import restores the file's metadata.

Import (``onnx_to_state``): walks the graph back from its output and matches it with the
UNet family of docs/weights-format.md (ResNet18/34/50 encoder in torchvision or keras
style with an upsample or transpose decoder, or the plain UNet), accepting BN as separate
BatchNormalization nodes or folded into the convs, explicit Pad nodes before a Conv or
MaxPool, Identity nodes, and Resize sizes computed from shapes (torch.onnx exports of
smp.Unet; tf2onnx exports of Keras segmentation_models with NCHW input and output). The
first node on the data path whose operator is not supported, or the node
where the structure departs from the family, is named in an ``OnnxImportError``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import arch as A
from .weights import VsegFile, read_vseg

DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_PROBS = "probabilities"
OUTPUT_LOGITS = "logits"
FORMAT_KEY = "venseg.onnx"  # metadata_props marker written by the export
FORMAT_VERSION = "1"


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - onnx is in tests/ci/setup.sh
        raise ImportError("ONNX export/import needs the 'onnx' package (pip install onnx)") from exc
    return onnx


# =================================================================== export

class _Builder:
    def __init__(self, tensors: Dict[str, np.ndarray]):
        onnx = _onnx()
        self.h, self.nh = onnx.helper, onnx.numpy_helper
        self.t = tensors
        self.nodes: list = []
        self.inits: "OrderedDict[str, Any]" = OrderedDict()
        self.names: set = set()

    def _name(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def init(self, name: str, a) -> str:
        if name not in self.inits:
            self.inits[name] = self.nh.from_array(np.ascontiguousarray(a, np.float32), name)
        return name

    def node(self, op: str, inputs: List[str], name: str, **attrs) -> str:
        name = self._name(name)
        self.nodes.append(self.h.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def relu(self, x: str, name: str) -> str:
        return self.node("Relu", [x], name + ".relu")

    def bn(self, x: str, bn: str, eps: float, relu: bool = False) -> str:
        c = self.t[bn + ".bias"].shape[0]
        gamma = self.t.get(bn + ".weight")
        scale = self.init(bn + ".weight", gamma if gamma is not None else np.ones(c, np.float32))
        y = self.node("BatchNormalization", [x, scale, self.init(bn + ".bias", self.t[bn + ".bias"]),
                                             self.init(bn + ".running_mean", self.t[bn + ".running_mean"]),
                                             self.init(bn + ".running_var", self.t[bn + ".running_var"])],
                      bn, epsilon=float(eps))
        return self.relu(y, bn) if relu else y

    def conv(self, x: str, conv: str, bn: Optional[str], k: int, stride: int, pad: int, relu: bool,
             eps: float = 1e-5, transpose: bool = False) -> str:
        """Conv / ConvTranspose, then BN when the file holds it unfolded, then ReLU."""
        ins = [x, self.init(conv + ".weight", self.t[conv + ".weight"])]
        if conv + ".bias" in self.t:
            ins.append(self.init(conv + ".bias", self.t[conv + ".bias"]))
        y = self.node("ConvTranspose" if transpose else "Conv", ins, conv, kernel_shape=[k, k],
                      strides=[stride, stride], pads=[pad] * 4)
        if bn is not None and bn + ".running_mean" in self.t:
            y = self.bn(y, bn, eps)
        return self.relu(y, bn or conv) if relu else y

    def maxpool(self, x: str, k: int, stride: int, pad: int, name: str) -> str:
        return self.node("MaxPool", [x], name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def up2(self, x: str, name: str) -> str:
        scales = self.init("venseg.up2_scales", np.array([1, 1, 2, 2], np.float32))
        return self.node("Resize", [x, "", scales], name, mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def _torchvision_encoder(b: _Builder, x: str, r: Dict[str, Any]) -> List[str]:
    eps, bott = r["encoder_eps"], A.BOTTLENECK[r["name"]]
    x = b.conv(x, "encoder.conv1", "encoder.bn1", 7, 2, 3, True, eps)
    feats = [x]
    x = b.maxpool(x, 3, 2, 1, "encoder.maxpool")
    for L, units in enumerate(A.RESNET_UNITS[r["name"]], 1):
        for u in range(units):
            p = f"encoder.layer{L}.{u}"
            s = 2 if (u == 0 and L > 1) else 1
            if bott:
                y = b.conv(x, p + ".conv1", p + ".bn1", 1, 1, 0, True, eps)
                y = b.conv(y, p + ".conv2", p + ".bn2", 3, s, 1, True, eps)
                y = b.conv(y, p + ".conv3", p + ".bn3", 1, 1, 0, False, eps)
            else:
                y = b.conv(x, p + ".conv1", p + ".bn1", 3, s, 1, True, eps)
                y = b.conv(y, p + ".conv2", p + ".bn2", 3, 1, 1, False, eps)
            sc = x
            if p + ".downsample.0.weight" in b.t:
                sc = b.conv(x, p + ".downsample.0", p + ".downsample.1", 1, s, 0, False, eps)
            x = b.relu(b.node("Add", [y, sc], p + ".add"), p)
        feats.append(x)
    return feats


def _keras_encoder(b: _Builder, x: str, r: Dict[str, Any]) -> List[str]:
    eps, bott = r["encoder_eps"], A.BOTTLENECK[r["name"]]
    x = b.bn(x, "encoder.bn_data", eps)
    x = b.conv(x, "encoder.conv0", "encoder.bn0", 7, 2, 3, True, eps)
    feats = [x]
    # Keras pads with zeros before the pool; x >= 0 after the ReLU, so MaxPool's own
    # padding gives the same maxima
    x = b.maxpool(x, 3, 2, 1, "encoder.pooling0")
    for S, units in enumerate(A.RESNET_UNITS[r["name"]], 1):
        for U in range(1, units + 1):
            p = f"encoder.stage{S}_unit{U}_"
            s = 2 if (U == 1 and S > 1) else 1
            t = b.bn(x, p + "bn1", eps, relu=True)
            sc = b.conv(t, p + "sc", None, 1, s, 0, False) if U == 1 else x
            if bott:
                y = b.conv(t, p + "conv1", p + "bn2", 1, 1, 0, True, eps)
                y = b.conv(y, p + "conv2", p + "bn3", 3, s, 1, True, eps)
                y = b.conv(y, p + "conv3", None, 1, 1, 0, False)
            else:
                y = b.conv(t, p + "conv1", p + "bn2", 3, s, 1, True, eps)
                y = b.conv(y, p + "conv2", None, 3, 1, 1, False)
            x = b.node("Add", [y, sc], p + "add")
            if U == 1 and S > 1:
                feats.append(t)
    feats.append(b.bn(x, "encoder.bn1", eps, relu=True))
    return feats


def _resnet_unet(b: _Builder, x: str, meta: Dict[str, Any]) -> str:
    r = A.resnet_meta(meta)
    enc = _torchvision_encoder if r["style"] == "torchvision" else _keras_encoder
    f = enc(b, x, r)
    x, skips, eps = f[4], [f[3], f[2], f[1], f[0], None], r["decoder_eps"]
    for i in range(5):
        p = f"decoder.blocks.{i}"
        if r["block"] == "transpose":
            x = b.conv(x, p + ".up.0", p + ".up.1", 4, 2, 1, True, eps, transpose=True)
        else:
            x = b.up2(x, p + ".up")
        if skips[i] is not None:
            x = b.node("Concat", [x, skips[i]], p + ".concat", axis=1)
        x = b.conv(x, p + ".conv1.0", p + ".conv1.1", 3, 1, 1, True, eps)
        if r["convs"] == 2:
            x = b.conv(x, p + ".conv2.0", p + ".conv2.1", 3, 1, 1, True, eps)
    k = r["head_kernel"]
    return b.conv(x, "segmentation_head.0", None, k, 1, k // 2, False)


def _plain_unet(b: _Builder, x: str, meta: Dict[str, Any]) -> str:
    p = A.plain_meta(meta)
    skips = []
    for d in range(p["depth"] + 1):
        if d > 0:
            x = b.maxpool(x, 2, 2, 0, f"enc{d}.pool")
        x = b.conv(x, f"enc{d}.conv1", f"enc{d}.bn1", 3, 1, 1, True, p["eps"])
        x = b.conv(x, f"enc{d}.conv2", f"enc{d}.bn2", 3, 1, 1, True, p["eps"])
        skips.append(x)
    for d in range(p["depth"] - 1, -1, -1):
        x = b.conv(x, f"up{d}", None, 2, 2, 0, False, transpose=True)
        x = b.node("Concat", [x, skips[d]], f"dec{d}.concat", axis=1)
        x = b.conv(x, f"dec{d}.conv1", f"dec{d}.bn1", 3, 1, 1, True, p["eps"])
        x = b.conv(x, f"dec{d}.conv2", f"dec{d}.bn2", 3, 1, 1, True, p["eps"])
    return b.conv(x, "head", None, 1, 1, 0, False)


def _load(src) -> VsegFile:
    return src if isinstance(src, VsegFile) else read_vseg(src)


def preprocessing_text(meta: Dict[str, Any]) -> str:
    """One paragraph: how a frame becomes the graph's input (docs/onnx.md has the details)."""
    c = int(meta["input.channels"])
    return (f"input: float32 [batch, {c}, height, width], {'grey (BT.601 luma of colour frames)' if c == 1 else 'RGB (grey frames replicated)'}; "
            f"frame resized ({meta.get('input.resize', 'stretch')}, bilinear, pixel centres) to "
            f"{meta['input.width']} x {meta['input.height']} (native size; any multiple of "
            f"{A.input_multiple(meta)} runs); value = (v * {meta['input.scale']!r} - mean[c]) / std[c] "
            f"with v in 0..255, mean {list(meta['input.mean'])}, std {list(meta['input.std'])}")


def _mapping(meta: Dict[str, Any], rw: int, rh: int):
    nw, nh = int(meta["input.width"]), int(meta["input.height"])
    sx, sy, ox, oy = nw / rw, nh / rh, 0.0, 0.0
    if meta.get("input.resize", "stretch") == "letterbox":
        sx = sy = min(sx, sy)
        ox, oy = (nw - rw * sx) / 2.0, (nh - rh * sy) / 2.0
    return nw, nh, sx, sy, ox, oy


def _taps(d: np.ndarray, n: int):
    """Bilinear taps of source coordinates d (pixel units, centres at i + 0.5 - 0.5)."""
    d = np.clip(d, 0, n - 1)
    i0 = d.astype(np.int64)
    return i0, np.minimum(i0 + 1, n - 1), (d - i0).astype(np.float32)


def _bilinear(img: np.ndarray, y, x) -> np.ndarray:
    (y0, y1, ty), (x0, x1, tx) = y, x
    a, b = img[..., y0[:, None], x0[None, :]], img[..., y0[:, None], x1[None, :]]
    d, e = img[..., y1[:, None], x0[None, :]], img[..., y1[:, None], x1[None, :]]
    top, bottom = a + (b - a) * tx[None, :], d + (e - d) * tx[None, :]
    return top + (bottom - top) * ty[:, None]


def preprocess(frame: np.ndarray, meta: Dict[str, Any]) -> np.ndarray:
    """The graph input [1, C, input.height, input.width] for a uint8 frame (H x W grey or
    H x W x 3 RGB), as venseg_segment prepares it (docs/onnx.md); numpy reference."""
    f = np.asarray(frame, np.float32)
    c = int(meta["input.channels"])
    if f.ndim == 3 and c == 1:
        f = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]  # BT.601 luma
    planes = f[None] if f.ndim == 2 else np.moveaxis(f, 2, 0)
    if planes.shape[0] != c:
        planes = np.repeat(planes[:1], c, axis=0)  # grey frame, 3-channel model
    rh, rw = f.shape[:2]
    nw, nh, sx, sy, ox, oy = _mapping(meta, rw, rh)
    fy, fx = (np.arange(nh) + 0.5 - oy) / sy, (np.arange(nw) + 0.5 - ox) / sx
    v = _bilinear(planes, _taps(fy - 0.5, rh), _taps(fx - 0.5, rw))
    inside = ((fy >= 0) & (fy <= rh))[:, None] & ((fx >= 0) & (fx <= rw))[None, :]
    v = np.where(inside[None], v, 0.0)
    mean = np.asarray(meta["input.mean"], np.float64)[:, None, None]
    std = np.asarray(meta["input.std"], np.float64)[:, None, None]
    return ((v * float(meta["input.scale"]) - mean) / std).astype(np.float32)[None]


def postprocess(maps: np.ndarray, meta: Dict[str, Any], height: int, width: int) -> np.ndarray:
    """Graph output [classes, input.height, input.width] mapped back onto a height x width
    frame (bilinear, as venseg_segment's probabilities)."""
    nw, nh, sx, sy, ox, oy = _mapping(meta, width, height)
    y = _taps((np.arange(height) + 0.5) * sy + oy - 0.5, nh)
    x = _taps((np.arange(width) + 0.5) * sx + ox - 0.5, nw)
    return _bilinear(np.asarray(maps, np.float32), y, x)


def vseg_to_onnx(src, dst=None, opset: int = DEFAULT_OPSET, logits: bool = False,
                 input_shape: Optional[Tuple[int, int, int]] = None):
    """ONNX ModelProto of a .vseg model (path, bytes or VsegFile); written to ``dst`` if given.

    Output ``probabilities`` [batch, classes, height, width] after the model's activation
    (sigmoid or softmax over classes), or raw ``logits`` with ``logits=True``. Batch,
    height and width are dynamic unless ``input_shape`` = (batch, height, width) fixes them."""
    onnx = _onnx()
    h = onnx.helper
    f = _load(src)
    meta = dict(f.metadata)
    if opset < 13:
        raise ValueError("opset must be >= 13 (Resize with scales, Softmax over one axis)")
    arch = meta.get("general.architecture")
    t = {k: np.asarray(v, np.float32) for k, v in f.tensors.items()}
    b = _Builder(t)
    if arch == "resnet_unet":
        y = _resnet_unet(b, INPUT_NAME, meta)
    elif arch == "plain_unet":
        y = _plain_unet(b, INPUT_NAME, meta)
    else:
        raise A.ArchError(f"general.architecture {arch!r} not in ('resnet_unet', 'plain_unet')")
    unused = sorted(set(t) - set(b.inits))
    if unused:
        raise A.ArchError("tensors the architecture does not use: " + ", ".join(unused[:10]))
    act = meta.get("output.activation", "sigmoid")
    out = OUTPUT_LOGITS if logits else OUTPUT_PROBS
    if logits:
        b.nodes.append(h.make_node("Identity", [y], [out], name="output"))
    elif act == "softmax":
        b.nodes.append(h.make_node("Softmax", [y], [out], name="softmax", axis=1))
    else:
        b.nodes.append(h.make_node("Sigmoid", [y], [out], name="sigmoid"))
    c, k = int(meta["input.channels"]), len(meta["output.classes"])
    n, hh, ww = input_shape or ("batch", "height", "width")
    if input_shape is not None:
        mult = A.input_multiple(meta)
        if n < 1 or hh < mult or ww < mult or hh % mult or ww % mult:
            raise ValueError(f"input_shape {input_shape}: height and width must be multiples of {mult}")
    fl = onnx.TensorProto.FLOAT
    graph = h.make_graph(
        b.nodes, str(meta.get("general.name") or arch),
        [h.make_tensor_value_info(INPUT_NAME, fl, [n, c, hh, ww])],
        [h.make_tensor_value_info(out, fl, [n, k, hh, ww])],
        initializer=list(b.inits.values()))
    from .. import __version__

    model = h.make_model(graph, producer_name="libvenseg", producer_version=__version__,
                         opset_imports=[h.make_opsetid("", int(opset))])
    # the oldest IR that carries this opset, for older runtimes
    model.ir_version = h.find_min_ir_version_for(list(model.opset_import))
    desc = (f"{preprocessing_text(meta)}. output {out}: float32 [batch, {k}, height, width], "
            + ("logits (no activation)" if logits else
               "softmax over the classes" if act == "softmax" else "sigmoid per class")
            + f"; classes {list(meta['output.classes'])}, class i is label i + 1.")
    model.doc_string = desc
    props = {FORMAT_KEY: FORMAT_VERSION, "venseg.output": "logits" if logits else "probabilities",
             "venseg.preprocessing": preprocessing_text(meta)}
    props.update({k: json.dumps(v) for k, v in meta.items()})
    h.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    if dst is not None:
        onnx.save(model, str(dst))
    return model


# =================================================================== import

class OnnxImportError(ValueError):
    """The graph is not one of the supported architectures; names the node where it departs."""

    def __init__(self, message: str, index: Optional[int] = None, node=None):
        self.index, self.node_name = index, (node.name if node is not None else None)
        self.op_type = node.op_type if node is not None else None
        if node is not None:
            message = f"node #{index} {node.name or '(unnamed)'!r} ({node.op_type}): {message}"
        super().__init__(message)


DATA_OPS = {"Conv", "ConvTranspose", "BatchNormalization", "Relu", "MaxPool", "Add", "Concat",
            "Resize", "Upsample", "Pad", "Sigmoid", "Softmax", "Identity"}
# small operators on constants that the import evaluates (shape arithmetic of exporters)
_FOLDABLE = {"Cast", "Reshape", "Transpose", "Slice", "Concat", "ConstantOfShape", "Unsqueeze",
             "Squeeze", "Gather", "Mul", "Add", "Sub", "Div", "Neg", "Range", "Expand", "Floor",
             "Ceil"}
# inputs that are sizes / pads / scales, not feature maps
_PARAM_INPUTS = {"Resize": (1, 2, 3), "Upsample": (1,), "Pad": (1, 2, 3), "Slice": (1, 2, 3, 4)}


@dataclass
class _BN:
    index: int
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float
    input: str


@dataclass
class _Conv:
    index: int
    w: np.ndarray
    b: Optional[np.ndarray]
    bn: Optional[_BN]
    k: int
    stride: int
    pad: int
    transpose: bool
    input: str

    @property
    def cout(self) -> int:
        return int(self.w.shape[1] if self.transpose else self.w.shape[0])


def _attrs(node) -> Dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _nearest_is_x2(ctm: str, mode: str) -> bool:
    """Whether ONNX Resize nearest with this coordinate transform / rounding maps output
    pixel i of a x2 upsampling to input pixel i // 2 (checked on 16 outputs)."""
    for i in range(16):
        if ctm == "asymmetric":
            x = i / 2
        elif ctm in ("half_pixel", "pytorch_half_pixel"):
            x = (i + 0.5) / 2 - 0.5
        elif ctm == "tf_half_pixel_for_nn":
            x = (i + 0.5) / 2
        else:
            return False
        frac = x - np.floor(x)
        if mode == "floor":
            j = np.floor(x)
        elif mode == "ceil":
            j = np.ceil(x)
        elif mode == "round_prefer_floor":
            j = np.floor(x) if frac <= 0.5 else np.ceil(x)
        elif mode == "round_prefer_ceil":
            j = np.floor(x) if frac < 0.5 else np.ceil(x)
        else:
            return False
        if min(max(int(j), 0), 7) != i // 2:
            return False
    return True


class _Graph:
    def __init__(self, model):
        onnx = _onnx()
        g = model.graph
        self.nodes = list(g.node)
        self.const: Dict[str, np.ndarray] = {
            t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
        self.prod: Dict[str, int] = {}
        for i, n in enumerate(self.nodes):
            for o in n.output:
                self.prod[o] = i
            a = _attrs(n)
            if n.op_type == "Constant":
                for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
                    if key in a:
                        v = a[key]
                        self.const[n.output[0]] = (onnx.numpy_helper.to_array(v)
                                                   if key == "value" else np.asarray(v))
            elif n.op_type == "Identity" and n.input[0] in self.const:
                self.const[n.output[0]] = self.const[n.input[0]]
            elif n.op_type in _FOLDABLE and all(not x or x in self.const for x in n.input):
                # e.g. torch.onnx's Pad amounts: Concat/Reshape/Slice/Transpose of constants
                from onnx.reference import ReferenceEvaluator

                feeds = {x: self.const[x] for x in n.input if x}
                vals = ReferenceEvaluator(n).run(None, feeds)
                self.const.update((o, np.asarray(v)) for o, v in zip(n.output, vals) if o)
        self.inputs = [i.name for i in g.input if i.name not in self.const]
        if len(self.inputs) != 1 or len(g.output) != 1:
            raise OnnxImportError(f"the graph needs one input and one output, it has "
                                  f"{len(self.inputs)} inputs and {len(g.output)} outputs")
        self.input, self.output = self.inputs[0], g.output[0].name
        self.opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.uses: Dict[str, int] = {}
        for n in self.nodes:
            for x in n.input:
                self.uses[x] = self.uses.get(x, 0) + 1
        self._check_ops()

    def _check_ops(self) -> None:
        """Every node the output depends on through feature maps has a supported op."""
        seen, todo = set(), [self.output]
        while todo:
            t = todo.pop()
            i = self.prod.get(t)
            if i is None or i in seen or t in self.const:
                continue
            seen.add(i)
            n = self.nodes[i]
            skip = _PARAM_INPUTS.get(n.op_type, ())
            todo.extend(x for j, x in enumerate(n.input) if x and j not in skip)
        for i in sorted(seen):
            n = self.nodes[i]
            if n.op_type not in DATA_OPS or (n.domain or "") not in ("", "ai.onnx"):
                raise OnnxImportError("unsupported operator on the data path (supported: "
                                      + ", ".join(sorted(DATA_OPS)) + ")", i, n)

    # ------------------------------------------------------------ helpers
    def err(self, i: Optional[int], msg: str) -> OnnxImportError:
        if i is None:
            return OnnxImportError(f"the graph input {self.input!r}: {msg}")
        return OnnxImportError(msg, i, self.nodes[i])

    def at(self, t: str) -> Optional[int]:
        """Producer of feature map t, through Identity nodes (None: the graph input)."""
        i = self.prod.get(t)
        while i is not None and self.nodes[i].op_type == "Identity":
            i = self.prod.get(self.nodes[i].input[0])
        return i

    def op(self, t: str) -> Optional[str]:
        i = self.at(t)
        return None if i is None else self.nodes[i].op_type

    def expect(self, t: str, ops: Tuple[str, ...], what: str) -> Tuple[int, Any]:
        i = self.at(t)
        if i is None or self.nodes[i].op_type not in ops:
            raise self.err(i, f"expected {' or '.join(ops)} ({what})")
        return i, self.nodes[i]

    def cval(self, i: int, name: str, what: str) -> np.ndarray:
        if name not in self.const:
            raise self.err(i, f"{what} {name!r} is not a constant")
        return np.asarray(self.const[name])

    def data_input(self, i: int) -> str:
        return self.nodes[i].input[0]

    # ------------------------------------------------------------- layers
    def bn(self, t: str) -> Optional[_BN]:
        i = self.at(t)
        if i is None or self.nodes[i].op_type != "BatchNormalization":
            return None
        n = self.nodes[i]
        a = _attrs(n)
        if a.get("training_mode", 0):
            raise self.err(i, "training_mode BatchNormalization")
        if len(n.output) > 1 and any(n.output[1:]):
            raise self.err(i, "BatchNormalization with running-statistics outputs (training graph)")
        g, b_, m, v = (self.cval(i, n.input[j], "BN parameter").astype(np.float64) for j in range(1, 5))
        # the attribute is float32: take its shortest decimal (1e-05, not 9.99999975e-06)
        eps = float(str(np.float32(a.get("epsilon", 1e-5))))
        return _BN(i, g, b_, m, v, eps, n.input[0])

    def pad_before(self, x: str) -> Tuple[int, str]:
        """(spatial zero padding, tensor under it) of a constant Pad producing x, else (0, x)."""
        i = self.at(x)
        if i is None or self.nodes[i].op_type != "Pad":
            return 0, x
        n = self.nodes[i]
        a = _attrs(n)
        if _s(a.get("mode", "constant")) != "constant":
            raise self.err(i, "only constant (zero) padding is supported")
        pads = a.get("pads")
        if pads is None:
            pads = self.cval(i, n.input[1], "pads")
        pads = [int(p) for p in np.ravel(pads)]
        if len(n.input) > 3 and n.input[3]:
            axes = [int(v) % 4 for v in self.cval(i, n.input[3], "axes")]
            full = [0] * 8
            for j, ax in enumerate(axes):
                full[ax], full[ax + 4] = pads[j], pads[j + len(axes)]
            pads = full
        value = 0.0
        if len(n.input) > 2 and n.input[2]:
            value = float(np.ravel(self.cval(i, n.input[2], "pad value"))[0])
        value = float(a.get("value", value))
        if (len(pads) != 8 or value != 0.0 or any(pads[j] for j in (0, 1, 4, 5))
                or len(set(pads[2:4] + pads[6:8])) != 1):
            raise self.err(i, f"expected a symmetric spatial zero padding, got pads {pads} value {value}")
        return pads[2], n.input[0]

    def conv(self, t: str) -> Optional[_Conv]:
        """The convolution (optionally followed by a BatchNormalization) producing t."""
        bn = self.bn(t)
        i = self.at(bn.input if bn else t)
        if i is None or self.nodes[i].op_type not in ("Conv", "ConvTranspose"):
            return None
        n = self.nodes[i]
        if bn is not None and self.uses.get(n.output[0], 0) != 1:
            raise self.err(i, "convolution output used besides its BatchNormalization")
        a = _attrs(n)
        w = self.cval(i, n.input[1], "weight").astype(np.float32)
        b = self.cval(i, n.input[2], "bias").astype(np.float32) if len(n.input) > 2 and n.input[2] else None
        tr = n.op_type == "ConvTranspose"
        if w.ndim != 4 or w.shape[2] != w.shape[3]:
            raise self.err(i, f"expected a square 2-D kernel, weight shape {w.shape}")
        k = int(w.shape[2])
        if int(a.get("group", 1)) != 1 or any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            raise self.err(i, "grouped or dilated convolutions are not supported")
        if tr and (any(int(v) for v in a.get("output_padding", [0, 0])) or "output_shape" in a):
            raise self.err(i, "ConvTranspose output_padding / output_shape is not supported")
        strides = [int(s) for s in a.get("strides", [1, 1])]
        pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
        auto = _s(a.get("auto_pad", "NOTSET"))
        if auto == "VALID":
            pads = [0] * 4
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            # symmetric only where the total padding is even: stride-1 odd kernels, and
            # transposed k - stride even (Keras "same")
            total = (k - strides[0]) if tr else (k - 1 if strides == [1, 1] else -1)
            if total < 0 or total % 2:
                raise self.err(i, f"auto_pad {auto} pads asymmetrically here (kernel {k}, "
                                  f"stride {strides[0]})")
            pads = [total // 2] * 4
        elif auto != "NOTSET":
            raise self.err(i, f"auto_pad {auto} is not supported")
        if strides[0] != strides[1] or len(set(pads)) != 1:
            raise self.err(i, f"expected equal strides and symmetric pads, got {strides}, {pads}")
        x, pad = n.input[0], pads[0]
        if not tr:
            extra, x = self.pad_before(x)
            pad += extra
        return _Conv(i, w, b, bn, k, strides[0], pad, tr, x)

    def expect_conv(self, t: str, what: str, k=None, stride=None, pad=None, transpose=False) -> _Conv:
        c = self.conv(t)
        if c is None:
            raise self.err(self.at(t), f"expected {'ConvTranspose' if transpose else 'Conv'} ({what})")
        got = (c.k, c.stride, c.pad, c.transpose)
        want = (k if k is not None else c.k, stride if stride is not None else c.stride,
                pad if pad is not None else c.pad, transpose)
        if got != want:
            raise self.err(c.index, f"{what}: kernel/stride/pad/transposed {got}, expected {want}")
        return c

    def relu_conv(self, t: str) -> Optional[_Conv]:
        """conv (+BN) under a ReLU producing t, else None."""
        i = self.at(t)
        if i is None or self.nodes[i].op_type != "Relu":
            return None
        return self.conv(self.data_input(i))

    def maxpool(self, t: str, k: int, stride: int, pad: int, what: str) -> str:
        i, n = self.expect(t, ("MaxPool",), what)
        a = _attrs(n)
        ks, st = [int(v) for v in a.get("kernel_shape", [])], [int(v) for v in a.get("strides", [1, 1])]
        pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        if int(a.get("ceil_mode", 0)) or any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            raise self.err(i, f"{what}: ceil_mode / dilations are not supported")
        extra, x = self.pad_before(n.input[0])
        if extra and self.op(x) != "Relu":
            raise self.err(i, f"{what}: zero padding before a max-pool only of a ReLU output")
        if ks != [k, k] or st != [stride, stride] or len(set(pads)) != 1 or pads[0] + extra != pad:
            raise self.err(i, f"{what}: expected kernel {k}, stride {stride}, pad {pad}; got "
                              f"kernel {ks}, strides {st}, pads {pads} (+{extra})")
        return x

    def chain(self, t: str) -> Tuple[List[_Conv], str]:
        """convs [first..last] of conv(+BN) units joined by ReLUs that end at t, and the
        tensor feeding the first."""
        convs: List[_Conv] = []
        c = self.conv(t)
        while c is not None:
            convs.insert(0, c)
            t = c.input
            c = self.relu_conv(t)
            if c is not None:
                t = self.data_input(self.at(t))
                c = self.conv(t)
        return convs, t


def _bn_tensors(out, prefix: str, bn: _BN, eps: float, gamma: bool = True, conv_bias=None) -> None:
    """BN tensors with epsilon ``eps`` (running_var moved by the difference; a conv bias
    before the BN moved into running_mean; a gamma the format lacks folded into var)."""
    g, mean, var = bn.gamma, bn.mean.copy(), bn.var + (bn.eps - eps)
    if conv_bias is not None:
        mean -= conv_bias
    if not gamma and not np.all(g == 1):
        if np.any(g <= 0):
            raise OnnxImportError(f"{prefix}: BN without scale in the format has scale <= 0")
        var = (var + eps) / g ** 2 - eps
    if gamma:
        out[prefix + ".weight"] = g
    out[prefix + ".bias"] = bn.beta
    out[prefix + ".running_mean"] = mean
    out[prefix + ".running_var"] = var


class _Assign:
    """Collects .vseg tensors from matched layers (float64 until the end)."""

    def __init__(self):
        self.t: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.pairs: List[Tuple[str, Optional[str], _Conv]] = []  # (conv, bn, layer)
        self.standalone: List[Tuple[str, _BN, bool]] = []
        self.eps: Dict[str, List[float]] = {}

    def conv(self, prefix: str, c: _Conv, bn: Optional[str] = None) -> None:
        """Convolution ``prefix``, with ``bn`` the BN the format pairs with it (if any)."""
        if bn is None and c.bn is not None:
            raise OnnxImportError(f"{prefix}: a BatchNormalization follows this convolution, "
                                  "which the architecture does not have")
        self.pairs.append((prefix, bn, c))
        if bn is not None and c.bn is not None:
            self.eps.setdefault(self.group(bn), []).append(c.bn.eps)

    def bn(self, prefix: str, bn: _BN, gamma: bool = True) -> None:
        self.standalone.append((prefix, bn, gamma))
        self.eps.setdefault(self.group(prefix), []).append(bn.eps)

    @staticmethod
    def group(name: str) -> str:
        return "encoder" if name.startswith("encoder.") else "decoder"

    def tensors(self, eps: Dict[str, float], fold: bool):
        """(name -> f32 array, folded). fold: every conv -> BN pair folded."""
        out: "OrderedDict[str, np.ndarray]" = OrderedDict()
        for prefix, bn, c in self.pairs:
            w = c.w.astype(np.float64)
            b = None if c.b is None else c.b.astype(np.float64)
            if bn is None:
                out[prefix + ".weight"] = w
                if prefix.endswith(("segmentation_head.0", "head")) or prefix.startswith("up"):
                    out[prefix + ".bias"] = b if b is not None else np.zeros(c.cout)
                elif b is not None and np.any(b != 0):
                    raise OnnxImportError(f"{prefix}: this convolution has no bias in the "
                                          "architecture, but the graph gives a non-zero one")
            elif c.bn is None or fold:
                if c.bn is not None:  # fold here in float64
                    s = c.bn.gamma / np.sqrt(c.bn.var + c.bn.eps)
                    w = w * (s[None, :, None, None] if c.transpose else s[:, None, None, None])
                    b = ((b if b is not None else 0.0) - c.bn.mean) * s + c.bn.beta
                out[prefix + ".weight"] = w
                out[prefix + ".bias"] = b if b is not None else np.zeros(c.cout)
            else:
                out[prefix + ".weight"] = w
                _bn_tensors(out, bn, c.bn, eps[self.group(bn)], conv_bias=b)
        for prefix, bn, gamma in self.standalone:
            _bn_tensors(out, prefix, bn, eps[self.group(prefix)], gamma=gamma)
        return OrderedDict((k, np.asarray(v, np.float32)) for k, v in out.items())


def _parse_head(G: _Graph) -> Tuple[Optional[str], _Conv]:
    act = None
    i = G.at(G.output)
    if i is not None and G.nodes[i].op_type in ("Sigmoid", "Softmax"):
        n = G.nodes[i]
        if n.op_type == "Softmax":
            axis = int(_attrs(n).get("axis", 1 if G.opset < 13 else -1))
            if G.opset < 13:  # before opset 13 Softmax flattens [N, C*H*W]
                raise G.err(i, f"Softmax of opset {G.opset} normalises over C*H*W, not the classes")
            if axis not in (1, -3):
                raise G.err(i, f"Softmax over axis {axis}; only the class axis 1 is supported")
        act = n.op_type.lower()
        t = n.input[0]
    else:
        t = G.output
    head = G.expect_conv(t, "the segmentation head", stride=1)
    if head.k not in (1, 3) or head.pad != head.k // 2:
        raise G.err(head.index, f"head kernel {head.k} pad {head.pad}; expected 1x1 or 3x3 'same'")
    return act, head


def _parse_decoder(G: _Graph, x: str):
    """Decoder blocks (deepest first) back from the head input; each
    dict(up=kind, up_conv, skip, skip_node, convs); and the tensor feeding the first."""
    blocks = []
    while True:
        convs, t = [], x
        c = G.relu_conv(t)
        while c is not None and not c.transpose:
            convs.insert(0, c)
            t = c.input
            c = G.relu_conv(t)
        i = G.at(t)
        op = None if i is None else G.nodes[i].op_type
        skip = skip_node = None
        up_t = t
        if op == "Concat":
            n = G.nodes[i]
            if len(n.input) != 2 or int(_attrs(n).get("axis", 0)) not in (1, -3):
                raise G.err(i, "expected the concatenation of [upsampled, skip] over channels")
            up_t, skip, skip_node = n.input[0], n.input[1], i
        up = _parse_up(G, up_t)
        if up is None:
            if op == "Concat":
                raise G.err(G.at(up_t), "expected the decoder's up-sampling (Resize nearest x2 or "
                                        "ConvTranspose) as the first input of the skip concatenation")
            if not blocks:
                raise G.err(i, "expected a decoder block (up-sampling, skip concatenation, "
                               "conv-BN-ReLU) before the segmentation head")
            return blocks[::-1], x
        if not convs:
            raise G.err(G.at(x), "expected conv-BN-ReLU units after the decoder's up-sampling")
        kind, up_conv, src = up
        blocks.append(dict(up=kind, up_conv=up_conv, skip=skip, skip_node=skip_node, convs=convs,
                           concat=i if op == "Concat" else None))
        x = src


def _parse_up(G: _Graph, t: str):
    """(kind, conv or None, input) of an up-sampling producing t, or None."""
    i = G.at(t)
    if i is None:
        return None
    n = G.nodes[i]
    if n.op_type in ("Resize", "Upsample"):
        a = _attrs(n)
        if _s(a.get("mode", "nearest")) != "nearest":
            raise G.err(i, f"Resize mode {_s(a.get('mode'))!r}; only nearest x2 is supported")
        scales_in = 1 if n.op_type == "Upsample" else 2
        ctm = _s(a.get("coordinate_transformation_mode", "half_pixel" if n.op_type == "Resize" else "asymmetric"))
        nm = _s(a.get("nearest_mode", "round_prefer_floor" if n.op_type == "Resize" else "floor"))
        if n.op_type == "Upsample":
            ctm, nm = "asymmetric", "floor"
        if not _nearest_is_x2(ctm, nm):
            raise G.err(i, f"nearest Resize with {ctm} / {nm} is not a x2 pixel replication")
        if "scales" in a or (len(n.input) > scales_in and n.input[scales_in] and (
                len(n.input) <= 3 or not n.input[3])):
            sc = np.ravel(a["scales"] if "scales" in a else G.cval(i, n.input[scales_in], "scales"))
            if list(sc) != [1, 1, 2, 2]:
                raise G.err(i, f"scales {list(sc)}; expected [1, 1, 2, 2]")
        elif not (len(n.input) > 3 and n.input[3]):
            raise G.err(i, "Resize without scales or sizes")
        # sizes (computed from shapes in torch exports): x2, as the skip concatenation
        # and the output size require
        return "upsample", None, n.input[0]
    if n.op_type == "Relu":
        c = G.conv(G.data_input(i))
        if c is not None and c.transpose:
            if (c.k, c.stride, c.pad) != (4, 2, 1):
                raise G.err(c.index, "transpose decoder up-sampling must be 4x4, stride 2, pad 1")
            return "transpose", c, c.input
        return None
    if n.op_type == "ConvTranspose":
        c = G.conv(t)
        if (c.k, c.stride, c.pad) != (2, 2, 0):
            raise G.err(i, "plain UNet up-sampling must be ConvTranspose 2x2 stride 2")
        return "plain", c, c.input
    return None


def _parse_torchvision_units(G: _Graph, x: str):
    units = []
    while G.op(x) != "MaxPool":
        i, relu = G.expect(x, ("Relu",), "the ReLU after a residual unit's addition")
        units.insert(0, _residual(G, G.data_input(i), "torchvision"))
        x = units[0]["input"]
        units[0]["output"] = G.nodes[i].output[0]
    return units, x


def _parse_keras_units(G: _Graph, x: str):
    units = []
    while G.op(x) != "MaxPool":
        units.insert(0, _residual(G, x, "keras"))
        x = units[0]["input"]
    return units, x


def _residual(G: _Graph, t: str, style: str) -> Dict[str, Any]:
    i, add = G.expect(t, ("Add",), "a residual unit's addition")
    (ca, ta), (cb, tb) = G.chain(add.input[0]), G.chain(add.input[1])
    if len(cb) > len(ca):
        (ca, ta), (cb, tb) = (cb, tb), (ca, ta)
    if len(ca) not in (2, 3) or len(cb) > 1:
        raise G.err(i, f"residual unit with {len(ca)} and {len(cb)} convolutions on its two "
                       "branches; expected 2 (basic) or 3 (bottleneck) and 0 or 1 (shortcut)")
    u = dict(add=i, path=ca, sc=cb[0] if cb else None, output=add.output[0])
    if style == "torchvision":
        if ta != tb:
            raise G.err(i, "the residual branch and the shortcut start from different tensors")
        u["input"] = ta
        return u
    j, _ = G.expect(ta, ("Relu",), "the pre-activation ReLU of a keras residual unit")
    bn = G.bn(G.data_input(j))
    if bn is None:
        raise G.err(G.at(G.data_input(j)), "expected the pre-activation BatchNormalization")
    if tb != (ta if cb else bn.input):
        raise G.err(i, "keras unit: the shortcut is neither the pre-activated tensor (through "
                       "a 1x1 conv) nor the unit input")
    u.update(bn1=bn, t=ta, input=bn.input)
    return u


def _stages(G: _Graph, units) -> List[List[Dict[str, Any]]]:
    stages: List[List[Dict[str, Any]]] = []
    for u in units:
        if not stages or max(c.stride for c in u["path"]) == 2:
            stages.append([])
        stages[-1].append(u)
    if len(stages) != 4:
        raise G.err(units[0]["add"] if units else None,
                    f"{len(stages)} encoder stages; a ResNet has 4")
    return stages


def _resnet_name(G: _Graph, units, stages) -> str:
    counts = tuple(len(s) for s in stages)
    bott = {len(u["path"]) == 3 for u in units}
    if len(bott) != 1:
        raise G.err(units[0]["add"], "mixed basic and bottleneck residual units")
    bott = bott.pop()
    for name, c in A.RESNET_UNITS.items():
        if c == counts and A.BOTTLENECK[name] == bott:
            return name
    raise G.err(units[0]["add"], f"ResNet with {counts} {'bottleneck' if bott else 'basic'} "
                                 f"units per stage is not resnet18/34/50")


def onnx_to_state(src) -> Tuple[Dict[str, Any], "OrderedDict[str, np.ndarray]", Dict[str, Any]]:
    """Match an ONNX model (path, bytes or ModelProto) with the supported architectures.

    Returns (metadata, tensors, info): the architecture keys plus input.channels,
    output.classes (from the export's metadata_props, else ``class{i}`` / artery, vein),
    output.activation when the graph ends in Sigmoid / Softmax, and every other key the
    export stored; tensors in the file's order (folded layout when the graph's BNs are
    folded); info = dict(activation, folded, stored (metadata_props found))."""
    onnx = _onnx()
    if isinstance(src, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(src))
    elif hasattr(src, "graph"):
        model = src
    else:
        model = onnx.load(str(src))
    G = _Graph(model)
    act, head = _parse_head(G)
    blocks, x = _parse_decoder(G, head.input)
    kinds = {b["up"] for b in blocks}
    if len(kinds) != 1:
        raise G.err(blocks[0]["concat"], f"mixed decoder up-sampling kinds {sorted(kinds)}")
    kind = kinds.pop()
    asg = _Assign()
    meta: Dict[str, Any] = {}
    if kind == "plain":
        cin = _match_plain(G, asg, meta, blocks, x, head)
    else:
        cin = _match_resnet(G, asg, meta, blocks, x, head, kind)
    classes = head.cout
    # epsilons: the first of each group; unfolded pair BNs and standalone BNs share it
    eps = {g: v[0] for g, v in asg.eps.items()}
    default = 1e-5
    if meta["general.architecture"] == "resnet_unet":
        tv = meta["encoder.style"] == "torchvision"
        eps.setdefault("encoder", 1e-5 if tv else 2e-5)
        eps.setdefault("decoder", 1e-5 if tv else 1e-3)
        meta["encoder.bn_eps"], meta["decoder.bn_eps"] = eps["encoder"], eps["decoder"]
    else:
        eps["decoder"] = eps["encoder"] = eps.get("decoder", eps.get("encoder", default))
        meta["plain_unet.bn_eps"] = eps["decoder"]
    unfolded = [c.bn is not None for _, bn, c in asg.pairs if bn is not None]
    fold = not all(unfolded)
    stored = _stored_metadata(model)
    full = dict(stored)
    full.update(meta)
    full["input.channels"] = cin
    if act is not None:
        full["output.activation"] = act
    if len(full.get("output.classes", [])) != classes:
        full["output.classes"] = (["artery", "vein"] if classes == 2
                                  else [f"class{i}" for i in range(classes)])
    check = dict(full)
    check.setdefault("input.width", 256)
    check.setdefault("input.height", 256)
    tensors = asg.tensors(eps, fold)
    A.validate_tensors(check, tensors, folded=fold)
    order = A.expected_tensors(check, folded=fold)
    tensors = OrderedDict((k, tensors[k]) for k in order)
    return full, tensors, dict(activation=act, folded=fold, stored=bool(stored))


def _stored_metadata(model) -> Dict[str, Any]:
    props = {p.key: p.value for p in model.metadata_props}
    if FORMAT_KEY not in props:
        return {}
    out = {}
    for k, v in props.items():
        if k.startswith("venseg."):
            continue
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def _match_plain(G: _Graph, asg: _Assign, meta, blocks, x: str, head: _Conv) -> int:
    depth = len(blocks)
    if head.k != 1:
        raise G.err(head.index, "plain UNet head must be 1x1")
    # encoder, deepest level first
    levels = []
    for d in range(depth, -1, -1):
        c2 = G.relu_conv(x)
        c1 = G.relu_conv(c2.input) if c2 else None
        if c1 is None:
            raise G.err(G.at(x), f"expected two conv-BN-ReLU units of encoder level {d}")
        levels.insert(0, (c1, c2, x))
        x = c1.input
        if d > 0:
            x = G.maxpool(x, 2, 2, 0, f"the 2x2 max-pool before encoder level {d}")
    if x != G.input:
        raise G.err(G.at(x), "expected the graph input before encoder level 0")
    for d, (c1, c2, _) in enumerate(levels):
        for c in (c1, c2):
            if (c.k, c.stride, c.pad) != (3, 1, 1):
                raise G.err(c.index, "plain UNet convs are 3x3 stride 1 pad 1")
        asg.conv(f"enc{d}.conv1", c1, f"enc{d}.bn1")
        asg.conv(f"enc{d}.conv2", c2, f"enc{d}.bn2")
    for j, b in enumerate(blocks):
        d = depth - 1 - j
        if b["skip"] != levels[d][2]:
            raise G.err(b["skip_node"], f"decoder level {d}'s skip is not encoder level {d}'s output")
        if len(b["convs"]) != 2:
            raise G.err(b["convs"][0].index, f"plain UNet decoder level {d} needs 2 convs")
        asg.conv(f"up{d}", b["up_conv"])
        asg.conv(f"dec{d}.conv1", b["convs"][0], f"dec{d}.bn1")
        asg.conv(f"dec{d}.conv2", b["convs"][1], f"dec{d}.bn2")
    asg.conv("head", head)
    meta.update({"general.architecture": "plain_unet",
                 "plain_unet.base_channels": levels[0][0].cout, "plain_unet.depth": depth})
    return int(levels[0][0].w.shape[1])


def _match_resnet(G: _Graph, asg: _Assign, meta, blocks, x: str, head: _Conv, kind: str) -> int:
    if len(blocks) != 5:
        raise G.err(blocks[0]["concat"] or blocks[0]["convs"][0].index,
                    f"{len(blocks)} decoder blocks; the ResNet UNet has 5")
    if any(b["skip"] is None for b in blocks[:4]) or blocks[4]["skip"] is not None:
        bad = next(b for b in blocks[:4] if b["skip"] is None) if any(
            b["skip"] is None for b in blocks[:4]) else blocks[4]
        raise G.err(bad["convs"][0].index, "decoder blocks 0-3 concatenate a skip and block 4 "
                                           "none; a skip is missing or extra here")
    convs = {len(b["convs"]) for b in blocks}
    if len(convs) != 1 or not convs <= {1, 2}:
        raise G.err(blocks[0]["convs"][0].index, f"decoder blocks with {sorted(convs)} convs; "
                                                 "expected 1 or 2 in every block")
    n_convs = convs.pop()
    # encoder
    i, _ = G.expect(x, ("Relu",), "the encoder's final ReLU")
    inner = G.at(G.data_input(i))
    if inner is not None and G.nodes[inner].op_type == "BatchNormalization":
        style = "keras"
        final_bn = G.bn(G.data_input(i))
        units, x = _parse_keras_units(G, final_bn.input)
    else:
        style = "torchvision"
        units, x = _parse_torchvision_units(G, x)
    stages = _stages(G, units)
    name = _resnet_name(G, units, stages)
    # stem
    if style == "torchvision":
        f0 = G.maxpool(x, 3, 2, 1, "the stem max-pool 3x3/2")
        conv1 = G.relu_conv(f0)
        if conv1 is None or (conv1.k, conv1.stride, conv1.pad) != (7, 2, 3):
            raise G.err(G.at(f0), "expected the stem: 7x7/2 conv (+BN) + ReLU")
        if conv1.input != G.input:
            raise G.err(G.at(conv1.input), "expected the graph input before the stem conv")
        asg.conv("encoder.conv1", conv1, "encoder.bn1")
        cin = int(conv1.w.shape[1])
        feats = [f0] + [s[-1]["output"] for s in stages]
    else:
        f0 = G.maxpool(x, 3, 2, 1, "the stem max-pool 3x3/2")
        conv0 = G.relu_conv(f0)
        if conv0 is None or (conv0.k, conv0.stride, conv0.pad) != (7, 2, 3):
            raise G.err(G.at(f0), "expected the stem: 7x7/2 conv0 (+BN) + ReLU")
        bn_data = G.bn(conv0.input)
        if bn_data is None or bn_data.input != G.input:
            raise G.err(G.at(conv0.input), "expected the input BatchNormalization (bn_data) "
                                           "on the graph input")
        asg.bn("encoder.bn_data", bn_data, gamma=False)
        asg.conv("encoder.conv0", conv0, "encoder.bn0")
        cin = int(conv0.w.shape[1])
        feats = [f0] + [s[0]["t"] for s in stages[1:]] + [G.nodes[i].output[0]]
    for S, stage in enumerate(stages, 1):
        for U, u in enumerate(stage, 1):
            _assign_unit(G, asg, style, name, S, U, u)
    if style == "keras":
        asg.bn("encoder.bn1", final_bn)
    # decoder
    want = [feats[3], feats[2], feats[1], feats[0]]
    for j, b in enumerate(blocks):
        p = f"decoder.blocks.{j}"
        if j < 4 and b["skip"] != want[j]:
            raise G.err(b["skip_node"], f"decoder block {j}'s skip is not the encoder's "
                                        f"stride-{2 ** (4 - j)} feature map")
        if kind == "transpose":
            asg.conv(p + ".up.0", b["up_conv"], p + ".up.1")
        for n, c in enumerate(b["convs"], 1):
            if (c.k, c.stride, c.pad) != (3, 1, 1):
                raise G.err(c.index, "decoder convs are 3x3 stride 1 pad 1")
            asg.conv(f"{p}.conv{n}.0", c, f"{p}.conv{n}.1")
    asg.conv("segmentation_head.0", head)
    meta.update({"general.architecture": "resnet_unet", "encoder.name": name,
                 "encoder.style": style, "decoder.block": kind,
                 "decoder.channels": [b["convs"][-1].cout for b in blocks],
                 "decoder.convs_per_block": n_convs, "head.kernel_size": head.k})
    return cin


def _assign_unit(G: _Graph, asg: _Assign, style: str, name: str, S: int, U: int, u) -> None:
    bott = A.BOTTLENECK[name]
    s = 2 if (U == 1 and S > 1) else 1
    shapes = [(1, 1, 0), (3, s, 1), (1, 1, 0)] if bott else [(3, s, 1), (3, 1, 1)]
    for c, want in zip(u["path"], shapes):
        if (c.k, c.stride, c.pad) != want:
            raise G.err(c.index, f"stage {S} unit {U}: kernel/stride/pad {(c.k, c.stride, c.pad)}, "
                                 f"expected {want}")
    sc = u["sc"]
    needs_sc = U == 1 and (S > 1 or bott or style == "keras")
    if (sc is not None) != needs_sc:
        raise G.err(u["add"], f"stage {S} unit {U}: {'missing' if needs_sc else 'unexpected'} "
                              "shortcut convolution")
    if sc is not None and (sc.k, sc.stride, sc.pad) != (1, s, 0):
        raise G.err(sc.index, f"stage {S} unit {U}: shortcut must be 1x1 stride {s}")
    if style == "torchvision":
        p = f"encoder.layer{S}.{U - 1}"
        for n, c in enumerate(u["path"], 1):
            asg.conv(f"{p}.conv{n}", c, f"{p}.bn{n}")
        if sc is not None:
            asg.conv(p + ".downsample.0", sc, p + ".downsample.1")
        return
    p = f"encoder.stage{S}_unit{U}_"
    asg.bn(p + "bn1", u["bn1"])
    for n, c in enumerate(u["path"], 1):
        last = n == len(u["path"])
        asg.conv(f"{p}conv{n}", c, None if last else f"{p}bn{n + 1}")
    if sc is not None:
        asg.conv(p + "sc", sc)
