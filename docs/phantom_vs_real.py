"""Side-by-side comparison of a libvenseg phantom frame with a real femoral B-mode image.

    /tmp/venv/bin/python docs/phantom_vs_real.py BUILD_DIR/libvenseg.so [out.png]

Needs numpy, PIL and matplotlib. The real image is usgra-seg 0032 (T. M. K.,
github.com/tmkand/usgra-seg, CC BY 4.0), cropped to its B-mode area.
"""
import ctypes as C
import os
import sys

import numpy as np
from PIL import Image
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "..", "..", "shared", "data", "usgra-seg", "images", "0032.png")
KEYS = dict(SEED=1, WIDTH=2, HEIGHT=3, FRAMES=4, FRAME_RATE=5, HEART_RATE=6, THROMBUS=7, COMPRESSION=8,
            PROBE_MOTION=9, GAIN_DB=10, NOISE=11, PIXEL_SPACING=12, VESSELS=13)


def phantom(lib, index, **cfg):
    c = C.c_void_p()
    assert lib.venseg_phantom_config_create(C.byref(c)) == 0
    for k, v in cfg.items():
        assert lib.venseg_phantom_config_set(c, KEYS[k], C.c_double(v)) == 0, k
    p = C.c_void_p()
    assert lib.venseg_phantom_create(c, C.byref(p)) == 0
    lib.venseg_phantom_config_free(c)
    w, h = int(cfg.get("WIDTH", 256)), int(cfg.get("HEIGHT", 256))
    px = np.zeros((h, w), np.uint8)
    lab = np.zeros((h, w), np.uint8)
    st = lib.venseg_phantom_frame(p, index, px.ctypes.data_as(C.c_void_p), C.c_int64(w),
                                  lab.ctypes.data_as(C.c_void_p), C.c_int64(w))
    assert st == 0
    lib.venseg_phantom_free(p)
    return px, lab


def main():
    lib = C.CDLL(sys.argv[1])
    lib.venseg_phantom_config_set.argtypes = [C.c_void_p, C.c_int, C.c_double]
    lib.venseg_phantom_create.argtypes = [C.c_void_p, C.c_void_p]
    lib.venseg_phantom_frame.argtypes = [C.c_void_p, C.c_int32, C.c_void_p, C.c_int64, C.c_void_p, C.c_int64]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "images", "phantom_vs_real.png")
    real = np.asarray(Image.open(REAL).convert("L"))[70:400, :]  # the B-mode area of the 512 x 512 frame
    # the real field of view is ~40 mm wide: match it (512 px x 0.078 mm)
    geo = dict(WIDTH=512, HEIGHT=330, PIXEL_SPACING=0.078, FRAMES=90, SEED=7)
    rest, lab_rest = phantom(lib, 5, **geo)
    press, lab_press = phantom(lib, 50, **geo)
    thromb, lab_thromb = phantom(lib, 50, THROMBUS=2, **geo)
    fig, ax = plt.subplots(2, 2, figsize=(10, 6.8), dpi=80)
    panels = [(real, "real: usgra-seg 0032 (groin, Mindray TE7)"),
              (rest, "phantom seed 7, frame 5: at rest"),
              (press, "phantom seed 7, frame 50: probe pressed, normal vein collapsed"),
              (thromb, "phantom seed 7, frame 50: occlusive thrombus, vein stays open")]
    for a, (img, title) in zip(ax.ravel(), panels):
        a.imshow(img, cmap="gray", vmin=0, vmax=255)
        a.set_title(title, fontsize=9)
        a.axis("off")
    for a, lab in zip(ax.ravel()[1:], (lab_rest, lab_press, lab_thromb)):
        a.contour(lab == 1, levels=[0.5], colors="r", linewidths=0.4)
        a.contour(lab == 2, levels=[0.5], colors="c", linewidths=0.4)
    fig.text(0.5, 0.01, "contours: ground-truth artery (red) and vein (cyan) labels of the phantom", ha="center",
             fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out)
    # keep it small: palette PNG
    Image.open(out).convert("RGB").quantize(128).save(out, optimize=True)
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
