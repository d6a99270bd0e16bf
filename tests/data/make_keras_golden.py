"""Golden outputs of the REAL Keras segmentation_models.Unet for tests/python/test_keras_golden.py.

    SM_FRAMEWORK=tf.keras TF_ENABLE_ONEDNN_OPTS=0 \\
        /tmp/tfvenv/bin/python tests/data/make_keras_golden.py [--out tests/data] [CASE ...]

Needs tensorflow-cpu 2.15.1 (Keras 2 / tf.keras), segmentation-models 1.0.1,
image-classifiers 1.0.0, efficientnet 1.0.0 and numpy (see tests/data/README.md).
Run from the repository root.

For every case of tests/python/keras_weights.py it builds
``sm.Unet(backbone, classes=2, activation='sigmoid', encoder_weights=None,
input_shape=(None, None, 3), decoder_block_type=...)`` in float64 (``floatx``), checks
that its weighted layers are exactly the ones keras_weights derives from venseg.toolkit.arch (names
and shapes), loads the seeded weights (float32 values) with ``set_weights``, runs it on the
seeded 0..255 input and writes ``<case>_golden.bin``: sigmoid probabilities, float32
little-endian, NCHW [1, 2, h, w].

``--lib PATH`` additionally runs the C library (libvenseg.so) on the same weights and
prints max |dprob| (a convenience; the committed test does this without TensorFlow).
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

import keras_weights as KW  # noqa: E402


def build_keras(case):
    import segmentation_models as sm

    backbone, block, _, _ = KW.CASES[case]
    return sm.Unet(backbone, classes=len(KW.CLASSES), activation="sigmoid",
                   encoder_weights=None, input_shape=(None, None, 3),
                   decoder_block_type=block)


def load_weights(model, case):
    meta = KW.metadata(case)
    spec = KW.layers(meta)
    weights = KW.keras_weights(case)
    seen = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in spec:
            raise SystemExit(f"{case}: Keras layer {layer.name} has no .vseg counterpart")
        got = [tuple(w.shape) for w in layer.weights]
        want = [tuple(s) for s in spec[layer.name]["shapes"]]
        if got != want:
            raise SystemExit(f"{case}: {layer.name} shapes {got} != {want}")
        layer.set_weights(weights[layer.name])
        seen.add(layer.name)
    missing = [k for k in spec if k not in seen]
    if missing:
        raise SystemExit(f"{case}: layers missing in Keras: {missing}")
    return weights


def run_c(lib_path, case, x_nhwc):
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    from test_keras_golden import CModel, load_library  # noqa: E402
    from venseg.toolkit.weights import build_vseg

    data = build_vseg(KW.metadata(case), KW.file_tensors(case))
    cm = CModel(load_library(lib_path), data)
    try:
        return cm.run(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)), len(KW.CLASSES))
    finally:
        cm.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help=f"default: all of {list(KW.CASES)}")
    ap.add_argument("--out", default=HERE, help="output directory (default tests/data)")
    ap.add_argument("--lib", help="also compare with this libvenseg.so")
    ap.add_argument("--float32", action="store_true", help="run Keras in float32")
    a = ap.parse_args(argv)

    import tensorflow as tf
    import segmentation_models as sm

    tf.keras.backend.set_floatx("float32" if a.float32 else "float64")
    from importlib.metadata import version

    print(f"tensorflow {tf.__version__}, keras {version('keras')}, segmentation_models "
          f"{sm.__version__}, image-classifiers {version('image-classifiers')}, "
          f"numpy {np.__version__}, floatx {tf.keras.backend.floatx()}")
    for case in a.cases or list(KW.CASES):
        tf.keras.backend.clear_session()
        model = build_keras(case)
        load_weights(model, case)
        x = KW.input_nhwc(case)
        y = model(x.astype(tf.keras.backend.floatx()), training=False).numpy()
        p = np.ascontiguousarray(y.transpose(0, 3, 1, 2)).astype("<f4")
        path = KW.golden_path(a.out, case)
        p.tofile(path)
        frac = float(np.mean((p > 0.02) & (p < 0.98)))
        msg = (f"{case}: {path} {list(p.shape)} prob min {p.min():.4f} max {p.max():.4f} "
               f"std {p.std():.4f} unsaturated {frac:.3f}")
        if a.lib:
            pc = run_c(a.lib, case, x)
            msg += f" | C max|dprob| {np.abs(pc.astype(np.float64) - y.transpose(0, 3, 1, 2)).max():.3g}"
        print(msg, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
