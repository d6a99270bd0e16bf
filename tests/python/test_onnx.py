"""ONNX export and import (venseg.toolkit.onnx_io, docs/onnx.md) against libvenseg.

    PYTHONPATH=build/release/tests/python:bindings/python [VENSEG_ONNX_REPORT=onnx.md] \\
        python -m pytest tests/python/test_onnx.py -v -s

Models are seeded random ones (venseg.toolkit.convert.random_model, as test_parity.py), so
the probabilities are not saturated (std > 0.02 is checked). Criterion: max |prob| of
ONNX Runtime (CPU) on the exported graph vs libvenseg's venseg_session_run_tensor (through
the cffi binding) <= 1e-4, over every architecture variant and stored dtype (where the two
float32 engines' rounding adds past 1e-4, as for the deep keras ResNet50, ORT must be within
1e-4 of float64 PyTorch on the file's tensors and within 2e-4 of libvenseg); smp.Unet and
reference modules exported by torch.onnx import to .vseg files whose libvenseg output
matches ONNX Runtime on the original graph to 1e-4; vseg -> ONNX -> vseg keeps every
tensor and metadata value; graphs outside the family are refused naming the node.
"""

import functools
import io
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from vslib import binding, run_tensor  # noqa: E402

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python")
sys.path.insert(0, PKG)

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from venseg.toolkit import arch as A  # noqa: E402
from venseg.toolkit import convert as C  # noqa: E402
from venseg.toolkit import onnx_io as O  # noqa: E402
from venseg.toolkit.reference import state_dict_numpy  # noqa: E402
from venseg.toolkit.weights import build_vseg, read_vseg  # noqa: E402

TOL = 1e-4
MIN_STD = 0.02
SEED = 4321
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# id -> (ARCH of random_model, build kwargs, classes, metadata overrides)
VARIANTS = {
    "plain-unet-b8-d3": ("plain-unet", {"base_channels": 8, "depth": 3, "in_channels": 1}, 2, {}),
    "smp-resnet18": ("smp-resnet18", {}, 2, {}),
    "smp-resnet34": ("smp-resnet34", {}, 2, {}),
    "smp-resnet50": ("smp-resnet50", {}, 2, {}),
    "smp-resnet34-1ch": ("smp-resnet34", {"in_channels": 1}, 2, {}),
    "tv-resnet34-transpose": ("tv-resnet34-transpose", {}, 2, {}),
    "tv-resnet18-transpose-2conv-k1": ("tv-resnet18-transpose",
                                       {"convs_per_block": 2, "head_kernel_size": 1}, 2, {}),
    "keras-resnet18-upsample": ("keras-resnet18-upsample", {}, 2, {}),
    "keras-resnet34-upsample": ("keras-resnet34-upsample", {}, 2, {}),
    "keras-resnet50-upsample": ("keras-resnet50-upsample", {}, 2, {}),
    "keras-resnet34-transpose": ("keras-resnet34-transpose", {}, 2, {}),
    "keras-resnet18-1conv-softmax3": ("keras-resnet18-upsample",
                                      {"convs_per_block": 1, "in_channels": 1}, 3,
                                      {"output_activation": "softmax"}),
}

# (variant, storage); storage: f32 (BN unfolded), fold (--fold-bn), f16, bf16, q8
CASES = [(v, "f32") for v in VARIANTS]
CASES += [(v, "fold") for v in ("plain-unet-b8-d3", "smp-resnet18", "tv-resnet18-transpose-2conv-k1",
                                "keras-resnet18-upsample", "keras-resnet34-transpose",
                                "keras-resnet18-1conv-softmax3")]
CASES += [(v, d) for v in ("plain-unet-b8-d3", "tv-resnet18-transpose-2conv-k1") for d in ("f16", "bf16", "q8")]
RESULTS = []


@pytest.fixture(scope="module")
def vn():
    return binding()


@functools.lru_cache(maxsize=3)
def _variant(vid):
    arch_name, kw, classes, over = VARIANTS[vid]
    kw = dict(kw)
    cin = kw.pop("in_channels", None)
    model, arch_meta = C.random_model(arch_name, SEED, in_channels=cin, classes=classes,
                                      calib_size=(64, 64), **kw)
    names = ["artery", "vein"] if classes == 2 else ["artery", "vein", "nerve"]
    meta = C.make_metadata(arch_meta, cin or (1 if arch_name == "plain-unet" else 3), names,
                           256, 192, trained=0, **over)
    return model, meta, state_dict_numpy(model)


def _vseg_bytes(vid, storage):
    _, meta, sd = _variant(vid)
    if storage == "fold":
        return build_vseg(meta, A.fold_bn(meta, sd))
    return build_vseg(meta, sd, dtype=storage)


def _ort(model_or_bytes):
    data = model_or_bytes if isinstance(model_or_bytes, bytes) else model_or_bytes.SerializeToString()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def _input(tag, n, c, h, w):
    return np.random.default_rng(zlib.crc32(tag.encode())).standard_normal((n, c, h, w)).astype(np.float32)


def _venseg(vn, data, x, activation=True):
    with vn.Model(data) as m, vn.Session(m) as s:
        return run_tensor(s, x, activation=activation)


def _record(kind, vid, storage, shape, err, std, note=""):
    RESULTS.append(dict(kind=kind, variant=vid, storage=storage, shape=shape, err=err, std=std,
                        note=note))
    print(f"\nONNX {kind} {vid} {storage} {shape}: max|dprob| = {err:.3g} (prob std {std:.3f}){note}")


@pytest.fixture(scope="session", autouse=True)
def _report():
    yield
    path = os.environ.get("VENSEG_ONNX_REPORT")
    if path and RESULTS:
        with open(path, "w") as fh:
            fh.write("| check | variant | storage | input | max abs dprob | prob std | note |\n"
                     "|---|---|---|---|---|---|---|\n")
            for r in RESULTS:
                fh.write(f"| {r['kind']} | {r['variant']} | {r['storage']} | {r['shape']} | "
                         f"{r['err']:.2g} | {r['std']:.3f} | {r['note'].lstrip('; ')} |\n")


# ------------------------------------------------------------------ export

@pytest.mark.parametrize("vid,storage", CASES, ids=[f"{v}-{s}" for v, s in CASES])
def test_export_matches_libvenseg(vn, vid, storage):
    data = _vseg_bytes(vid, storage)
    model = O.vseg_to_onnx(data)  # runs onnx.checker (full check) itself
    meta = read_vseg(data).metadata
    assert model.opset_import[0].version >= 17
    props = {p.key: p.value for p in model.metadata_props}
    assert props["output.classes"] == str(meta["output.classes"]).replace("'", '"')
    c = int(meta["input.channels"])
    shapes = [(1, 64, 64)] + ([(2, 96, 128)] if storage == "f32" and vid in (
        "plain-unet-b8-d3", "smp-resnet34", "keras-resnet34-transpose") else [])
    sess = _ort(model)
    for n, h, w in shapes:  # dynamic batch / height / width
        x = _input(f"{vid}{storage}{h}", n, c, h, w)
        p_ort = sess.run(None, {"input": x})[0]
        p_c = _venseg(vn, data, x)
        assert p_ort.shape == p_c.shape == (n, len(meta["output.classes"]), h, w)
        err, std = float(np.abs(p_ort - p_c).max()), float(p_c.std())
        ref = ""
        if err > TOL:  # two float32 engines: is each within TOL of float64 PyTorch?
            p64 = _torch64(data, x, meta)
            e_ort, e_c = float(np.abs(p_ort - p64).max()), float(np.abs(p_c - p64).max())
            ref = f"; vs float64 PyTorch: ORT {e_ort:.3g}, libvenseg {e_c:.3g}"
        _record("export", vid, storage, f"{n}x{c}x{h}x{w}", err, std, ref)
        assert std > MIN_STD, f"probabilities saturated (std {std:.4f})"
        # past TOL only where both float32 engines' rounding adds up (keras-resnet50): then
        # the graph itself must be within TOL of float64 PyTorch
        assert err <= TOL or (e_ort <= TOL and err <= 2 * TOL), f"max |dprob| {err:.3g} > {TOL}{ref}"


def _torch64(data, x, meta):
    """Float64 PyTorch probabilities of a .vseg file's own (dequantised, possibly folded)
    tensors, through benchmarks/compare.py's module builder."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from compare import torch_model_from_vseg

    m = torch_model_from_vseg(data)[0].double()
    with torch.no_grad():
        y = m(torch.from_numpy(x.astype(np.float64)))
        y = torch.softmax(y, 1) if meta["output.activation"] == "softmax" else torch.sigmoid(y)
    return y.numpy()


def test_export_logits_and_metadata(vn):
    data = _vseg_bytes("keras-resnet18-1conv-softmax3", "f32")
    meta = read_vseg(data).metadata
    model = O.vseg_to_onnx(data, logits=True, opset=18)
    assert model.graph.output[0].name == "logits" and model.opset_import[0].version == 18
    props = {p.key: p.value for p in model.metadata_props}
    assert props["venseg.output"] == "logits"
    for k in ("input.channels", "input.width", "input.height", "input.scale", "input.mean",
              "input.std", "input.resize", "output.activation", "output.classes"):
        assert k in props, k
    assert "(v * " in props["venseg.preprocessing"]
    x = _input("logits", 1, 1, 64, 96)
    l_ort = _ort(model).run(None, {"input": x})[0]
    l_c = _venseg(vn, data, x, activation=False)
    assert float(np.abs(l_ort - l_c).max()) <= 1e-3 * max(1.0, float(np.abs(l_c).max()))
    assert meta["output.activation"] == "softmax"


@pytest.mark.parametrize("model,colour", [("weights/resunet34.vseg", "grey"),
                                          ("weights/resunet34.vseg", "rgb"),
                                          ("plain-unet-3ch", "rgb"), ("plain-unet-3ch", "grey")])
def test_frame_contract(vn, model, colour):
    """The documented preprocessing (onnx_io.preprocess: resize, letterbox, luma / grey
    replication, scale, mean, std) + ORT + the documented mapping back equal
    venseg_segment's probabilities on a phantom frame of another size and aspect."""
    if model.startswith("weights/"):
        path = os.path.join(ROOT, model)
        if not os.path.exists(path):
            pytest.skip(f"{model} is absent")
        with open(path, "rb") as fh:
            data = fh.read()
    else:  # RGB model with per-channel mean / std, stretched to 128 x 96
        net, am = C.random_model("plain-unet", SEED, in_channels=3, base_channels=8, depth=3,
                                 calib_size=(64, 64))
        meta = C.make_metadata(am, 3, ["artery", "vein"], 128, 96, input_mean=C.IMAGENET_MEAN,
                               input_std=C.IMAGENET_STD, input_resize="stretch")
        data = build_vseg(meta, A.fold_bn(meta, state_dict_numpy(net)))
    meta = read_vseg(data).metadata
    px, _ = vn.Phantom().frame(12)
    frame = np.ascontiguousarray(px[30:230, :])  # 200 x 256: letterbox bars, stretch aspect change
    if colour == "rgb":
        frame = np.ascontiguousarray(np.stack([frame, frame[:, ::-1], frame // 2 + 60], axis=2))
    x = O.preprocess(frame, meta)
    p = O.postprocess(_ort(O.vseg_to_onnx(data)).run(None, {"input": x})[0][0], meta, *frame.shape[:2])
    with vn.Model(data) as m, vn.Session(m) as s:
        _, p_c = s.segment(frame, probabilities=True)
    err, std = float(np.abs(p - p_c).max()), float(p_c.std())
    _record("frame", model, f"{colour} 200x256 {meta.get('input.resize')}",
            f"-> 1x{meta['input.channels']}x{meta['input.height']}x{meta['input.width']}", err, std)
    assert std > MIN_STD, f"probabilities saturated (std {std:.4f})"
    assert err <= TOL


# --------------------------------------------------------------- round trip

@pytest.mark.parametrize("vid,storage", [("plain-unet-b8-d3", "f32"), ("smp-resnet18", "fold"),
                                         ("keras-resnet18-1conv-softmax3", "f32"),
                                         ("tv-resnet18-transpose-2conv-k1", "q8")])
def test_round_trip(vid, storage, tmp_path):
    data = _vseg_bytes(vid, storage)
    src = tmp_path / "a.vseg"
    src.write_bytes(data)
    onnx_path, back = tmp_path / "a.onnx", tmp_path / "b.vseg"
    assert C.main(["--to-onnx", str(src), str(onnx_path)]) == 0
    assert C.main(["--from-onnx", str(onnx_path), str(back)]) == 0
    a, b = read_vseg(data), read_vseg(str(back))
    assert list(a.tensors) == list(b.tensors)
    for k, v in a.tensors.items():
        np.testing.assert_array_equal(b.tensors[k], v, err_msg=k)
    assert a.metadata == b.metadata


def test_cli_entry_points(tmp_path):
    """python -m venseg.convert forwards to the toolkit; import venseg pulls in neither
    torch nor onnx."""
    src = tmp_path / "p.vseg"
    src.write_bytes(_vseg_bytes("plain-unet-b8-d3", "fold"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.abspath(PKG)] + sys.path))
    r = subprocess.run([sys.executable, "-m", "venseg.convert", "--to-onnx", str(src),
                        str(tmp_path / "p.onnx")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "opset 17" in r.stdout
    onnx.checker.check_model(str(tmp_path / "p.onnx"))
    r = subprocess.run([sys.executable, "-m", "venseg.convert", "--from-onnx",
                        str(tmp_path / "missing.onnx"), str(tmp_path / "x.vseg")],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "missing.onnx" in r.stderr
    r = subprocess.run([sys.executable, "-c", "import sys, venseg, venseg.convert; "
                        "print(sorted(m for m in ('torch', 'onnx') if m in sys.modules))"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)


# ------------------------------------------------------------------ import

def _torch_onnx(module, c, h=64, w=64, dynamic=True):
    buf = io.BytesIO()
    axes = {"input": {0: "n", 2: "h", 3: "w"}, "out": {0: "n", 2: "h", 3: "w"}} if dynamic else None
    with torch.no_grad():
        torch.onnx.export(module.eval(), torch.zeros(1, c, h, w), buf, opset_version=17,
                          input_names=["input"], output_names=["out"], dynamic_axes=axes,
                          do_constant_folding=True)
    return buf.getvalue()


def _import_and_compare(vn, tmp_path, graph, vid, extra=(), sigmoid_in_graph=False, c=3):
    src, out = tmp_path / "in.onnx", tmp_path / "out.vseg"
    src.write_bytes(graph)
    assert C.main(["--from-onnx", str(src), str(out), "--name", vid, *extra]) == 0
    f = read_vseg(str(out))
    sess = _ort(graph)
    for n, h, w in ((1, 64, 64), (1, 96, 128)):
        x = _input(f"import{vid}{h}", n, c, h, w)
        y = sess.run(None, {"input": x})[0]
        p_ort = y if sigmoid_in_graph else 1 / (1 + np.exp(-y.astype(np.float64)))
        p_c = _venseg(vn, out.read_bytes(), x)
        err, std = float(np.abs(p_ort - p_c).max()), float(p_c.std())
        _record("import", vid, "torch.onnx", f"{n}x{c}x{h}x{w}", err, std)
        assert std > MIN_STD and err <= TOL, (err, std)
    return f


def test_import_smp(vn, tmp_path):
    """smp.Unet('resnet34', classes=3) with a sigmoid head, torch.onnx-exported with dynamic
    axes (BN folded into the convs, Resize sizes computed from shapes)."""
    from segmentation_models_pytorch.base.modules import Activation

    model, _ = C.random_model("smp-resnet34", SEED + 1, classes=3, calib_size=(64, 64))
    model.segmentation_head[2] = Activation("sigmoid")
    graph = _torch_onnx(model, 3)
    ops = {n.op_type for n in onnx.load_from_string(graph).graph.node}
    assert "BatchNormalization" not in ops and "Sigmoid" in ops
    f = _import_and_compare(vn, tmp_path, graph, "smp.Unet(resnet34, classes=3)",
                            ("--classes", "artery", "vein", "nerve"), sigmoid_in_graph=True)
    m = f.metadata
    assert (m["encoder.name"], m["encoder.style"], m["decoder.block"]) == ("resnet34", "torchvision", "upsample")
    assert m["output.classes"] == ["artery", "vein", "nerve"] and m["general.name"].startswith("smp")
    assert m["input.mean"] == C.IMAGENET_MEAN and m["output.activation"] == "sigmoid"
    A.validate_tensors(m, f.tensors, folded=True)


@pytest.mark.parametrize("arch,kw", [("keras-resnet18-transpose", {}),
                                     ("plain-unet", {"base_channels": 8, "depth": 3, "in_channels": 1})])
def test_import_torch_reference(vn, tmp_path, arch, kw):
    """torch.onnx exports of the reference modules: explicit Pad nodes (keras), standalone
    BNs, ConvTranspose with folded BN, static shapes for the plain UNet."""
    kw = dict(kw)
    cin = kw.pop("in_channels", 3)
    model, _ = C.random_model(arch, SEED + 2, in_channels=cin, calib_size=(64, 64), **kw)
    graph = _torch_onnx(model, cin, dynamic=arch != "plain-unet")
    if arch == "plain-unet":  # static graph: compare at its one size
        src, out = tmp_path / "in.onnx", tmp_path / "out.vseg"
        src.write_bytes(graph)
        assert C.main(["--from-onnx", str(src), str(out)]) == 0
        x = _input("plain-static", 1, cin, 64, 64)
        y = _ort(graph).run(None, {"input": x})[0]
        p_c = _venseg(vn, out.read_bytes(), x)
        err = float(np.abs(1 / (1 + np.exp(-y.astype(np.float64))) - p_c).max())
        _record("import", f"reference {arch}", "torch.onnx static", f"1x{cin}x64x64", err, float(p_c.std()))
        assert err <= TOL and read_vseg(str(out)).metadata["plain_unet.depth"] == 3
        return
    ops = {n.op_type for n in onnx.load_from_string(graph).graph.node}
    assert "Pad" in ops and "BatchNormalization" in ops
    f = _import_and_compare(vn, tmp_path, graph, f"reference {arch}", c=cin)
    assert f.metadata["encoder.style"] == "keras" and f.metadata["decoder.block"] == "transpose"


# ------------------------------------------------------------------ refusals

def _graph_of(vid, storage="fold"):
    return O.vseg_to_onnx(_vseg_bytes(vid, storage))


def _consumers(g, name):
    return [(n, j) for n in g.node for j, x in enumerate(n.input) if x == name]


def test_refuses_unknown_operator():
    m = _graph_of("plain-unet-b8-d3")
    g = m.graph
    relu = next(n for n in g.node if n.name == "dec1.bn1.relu")
    gelu = onnx.helper.make_node("Gelu", [relu.output[0]], ["gelu_out"], name="inserted_gelu")
    for n, j in _consumers(g, relu.output[0]):
        n.input[j] = "gelu_out"
    idx = list(g.node).index(relu) + 1
    g.node.insert(idx, gelu)
    with pytest.raises(O.OnnxImportError) as e:
        O.onnx_to_state(m)
    assert e.value.op_type == "Gelu" and e.value.node_name == "inserted_gelu" and e.value.index == idx
    assert f"node #{idx} 'inserted_gelu' (Gelu): unsupported operator" in str(e.value)


def test_refuses_missing_skip():
    m = _graph_of("smp-resnet18")
    g = m.graph
    cat = next(n for n in g.node if n.name == "decoder.blocks.1.concat")
    for n, j in _consumers(g, cat.output[0]):
        n.input[j] = cat.input[0]
    g.node.remove(cat)
    with pytest.raises(O.OnnxImportError) as e:
        O.onnx_to_state(m)
    assert e.value.node_name == "decoder.blocks.1.conv1.0" and "skip is missing" in str(e.value)


def test_refuses_bilinear_upsampling_and_cli_reports_it(tmp_path, capsys):
    m = _graph_of("keras-resnet18-upsample")
    rs = next(n for n in m.graph.node if n.name == "decoder.blocks.2.up")
    for a in rs.attribute:
        if a.name == "mode":
            a.s = b"linear"
    with pytest.raises(O.OnnxImportError) as e:
        O.onnx_to_state(m)
    assert e.value.node_name == "decoder.blocks.2.up" and "nearest" in str(e.value)
    p = tmp_path / "bad.onnx"
    onnx.save(m, str(p))
    assert C.main(["--from-onnx", str(p), str(tmp_path / "x.vseg")]) == 2
    assert "'decoder.blocks.2.up' (Resize)" in capsys.readouterr().err


def test_import_mixed_bn_folds_every_pair(vn):
    """A graph with one conv -> BN pair folded and the others separate is written folded
    (the separate ones folded in float64 by the import) and still matches ORT."""
    nh = onnx.numpy_helper
    m = _graph_of("plain-unet-b8-d3", "f32")
    g = m.graph
    bn = next(n for n in g.node if n.name == "enc0.bn1")
    conv = next(n for n in g.node if n.name == "enc0.conv1")
    inits = {t.name: t for t in g.initializer}
    gamma, beta, mean, var = (nh.to_array(inits[x]).astype(np.float64) for x in bn.input[1:])
    eps = next(a.f for a in bn.attribute if a.name == "epsilon")
    s = gamma / np.sqrt(var + eps)
    w = nh.to_array(inits[conv.input[1]]).astype(np.float64) * s[:, None, None, None]
    inits[conv.input[1]].CopyFrom(nh.from_array(w.astype(np.float32), conv.input[1]))
    g.initializer.append(nh.from_array((beta - mean * s).astype(np.float32), "enc0.conv1.bias"))
    conv.input.append("enc0.conv1.bias")
    for n, j in _consumers(g, bn.output[0]):
        n.input[j] = conv.output[0]
    g.node.remove(bn)
    meta, tensors, info = O.onnx_to_state(m)
    assert info["folded"] and "enc0.bn2.running_mean" not in tensors and "dec0.conv2.bias" in tensors
    x = _input("mixed", 1, 1, 64, 64)
    p_ort = _ort(m).run(None, {"input": x})[0]
    p_c = _venseg(vn, build_vseg(meta, tensors), x)
    err = float(np.abs(p_ort - p_c).max())
    _record("import", "plain-unet-b8-d3, one pair folded by hand", "mixed BN", "1x1x64x64", err,
            float(p_c.std()))
    assert err <= TOL
