"""Segments an image with libvenseg and prints the area of each class.

    python examples/python/segment_image.py weights/resunet34.vseg examples/data/<image>.png [mm_per_px]

Needs the venseg package with Pillow: pip install './bindings/python[apps]'.
"""
import sys

import numpy as np

try:
    from PIL import Image
except ImportError:
    sys.exit("segment_image.py needs Pillow, which is not installed: install the venseg 'apps' extra "
             "(pip install './bindings/python[apps]') or Pillow itself (Debian: python3-pil)")

import venseg

model_path, image_path = sys.argv[1], sys.argv[2]
spacing = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
frame = np.asarray(Image.open(image_path).convert("L"))  # grey uint8, H x W
with venseg.Model(model_path) as model, venseg.Session(model) as session:
    session.set_pixel_spacing(spacing, spacing)
    mask = session.segment(frame)
    areas = np.bincount(mask.ravel(), minlength=model.num_classes + 1)
    for i, name in enumerate(model.class_names):
        mm2 = f", {areas[i + 1] * spacing * spacing:.2f} mm2" if spacing else ""
        print(f"{name}: {areas[i + 1]} px{mm2} in {sum(x.label == i + 1 for x in session.instances)} region(s)")
