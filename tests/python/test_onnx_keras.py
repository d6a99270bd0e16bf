"""ONNX import of Keras segmentation_models Unets exported by tf2onnx (docs/onnx.md).

Needs tensorflow, tf-keras, segmentation-models and tf2onnx, which the CI environment does
not install (several hundred MB for this one check): skipped there with a message. Run it in
an environment that has them, with the binding built:

    python -m venv venv-tf && venv-tf/bin/pip install tensorflow-cpu tf-keras \\
        segmentation-models tf2onnx onnxruntime cffi pytest
    PYTHONPATH=build/release/tests/python:bindings/python \\
        venv-tf/bin/python -m pytest tests/python/test_onnx_keras.py -v -s

A seeded random sm.Unet('resnet18', decoder_block_type='upsampling') with a sigmoid head
(BN statistics from one seeded batch, so probabilities are not saturated), exported by
tf2onnx with NCHW input and output, converts to .vseg; libvenseg's probabilities match
ONNX Runtime on that graph and Keras itself to 1e-4. The 'transpose' decoder, whose Keras
"same" Conv2DTranspose tf2onnx writes as a ConvTranspose cropped by a shape-computed Slice,
is refused naming that node.
"""

import os
import sys

import numpy as np
import pytest

os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # segmentation_models needs the Keras 2 API
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(__file__))
from vslib import run_tensor  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))

for _mod in ("tensorflow", "tf_keras", "segmentation_models", "tf2onnx", "onnxruntime"):
    pytest.importorskip(_mod, reason=f"{_mod} is not installed (see this file's docstring)")

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import segmentation_models as sm  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

from venseg.toolkit import convert as C  # noqa: E402
from venseg.toolkit import onnx_io as O  # noqa: E402
from venseg.toolkit.weights import read_vseg  # noqa: E402

from vslib import binding  # noqa: E402

TOL = 1e-4
SEED = 11


def _keras_unet(block):
    model = sm.Unet("resnet18", encoder_weights=None, classes=2, activation="sigmoid",
                    input_shape=(None, None, 3), decoder_block_type=block)
    rng = np.random.default_rng(SEED)
    for layer in model.layers:  # as convert.randomize: numpy draws, fan-in scaled convs
        new = []
        for w, v in zip(layer.weights, layer.get_weights()):
            if "gamma" in w.name:
                v = rng.uniform(0.5, 1.5, v.shape)
            elif "beta" in w.name or "bias" in w.name:
                v = rng.uniform(-0.1, 0.1, v.shape)
            elif v.ndim == 4:
                b = np.sqrt(3.0 / (v.shape[0] * v.shape[1] * v.shape[2]))
                v = rng.uniform(-b, b, v.shape)
            new.append(np.asarray(v, np.float32))
        if new:
            layer.set_weights(new)
    # BN running statistics = the statistics of one seeded batch (momentum 0, training call)
    bns = [la for la in model.layers if isinstance(la, tf.keras.layers.BatchNormalization)]
    for la in bns:
        la.momentum = 0.0
    model(rng.standard_normal((2, 96, 96, 3)).astype(np.float32), training=True)
    return model


def _export(model, path):
    spec = (tf.TensorSpec((None, None, None, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path),
                               inputs_as_nchw=["input"], outputs_as_nchw=[model.output_names[0]])
    return onnx.load(str(path))


def test_keras_unet_upsampling(tmp_path):
    vn = binding()
    model = _keras_unet("upsampling")
    graph = _export(model, tmp_path / "k.onnx")
    out = tmp_path / "k.vseg"
    assert C.main(["--from-onnx", str(tmp_path / "k.onnx"), str(out), "--name", "keras"]) == 0
    m = read_vseg(str(out)).metadata
    assert (m["encoder.name"], m["encoder.style"], m["decoder.block"]) == ("resnet18", "keras", "upsample")
    assert m["output.activation"] == "sigmoid" and m["encoder.bn_eps"] == 2e-5
    sess = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(SEED + 1)
    for h, w in ((64, 64), (96, 128)):
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        p_ort = sess.run(None, {"input": x})[0]
        p_keras = np.asarray(model.predict(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), verbose=0))
        p_keras = p_keras.transpose(0, 3, 1, 2)
        with vn.Model(out.read_bytes()) as mm, vn.Session(mm) as s:
            p_c = run_tensor(s, x)
        e_ort, e_keras, std = (float(np.abs(p_c - p_ort).max()), float(np.abs(p_c - p_keras).max()),
                               float(p_c.std()))
        print(f"\nONNX import keras sm.Unet(resnet18, upsampling) tf2onnx 1x3x{h}x{w}: "
              f"max|dprob| vs ORT {e_ort:.3g}, vs Keras {e_keras:.3g} (prob std {std:.3f})")
        assert std > 0.02 and e_ort <= TOL and e_keras <= TOL


def test_keras_unet_transpose_refused(tmp_path):
    graph = _export(_keras_unet("transpose"), tmp_path / "t.onnx")
    with pytest.raises(O.OnnxImportError) as e:
        O.onnx_to_state(graph)
    print(f"\nONNX import keras sm.Unet(resnet18, transpose): {e.value}")
    assert e.value.op_type == "Slice"
