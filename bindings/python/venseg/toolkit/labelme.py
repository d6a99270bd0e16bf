"""LabelMe JSON import (the annotation tool of Chen et al.): polygons labelled artery / vein.

``load_labelme(path)`` returns ``(grey image float32 HxW 0..255, labels uint8 HxW)`` with
labels 0 background, 1 artery, 2 vein, 3 vessel of unknown class, 255 ignore. numpy + Pillow.

The JSON (LabelMe 3.x - 5.x)::

    {"shapes": [{"label": "artery", "points": [[x, y], ...], "shape_type": "polygon"}, ...],
     "imagePath": "frame.png", "imageData": "<base64 PNG/JPEG>" or null,
     "imageHeight": H, "imageWidth": W}

* The image comes from ``imageData`` when present, else from ``imagePath`` relative to the
  JSON file. ``imageHeight`` / ``imageWidth`` must match it.
* Shapes are rasterised as LabelMe's own ``shape_to_mask`` does (Pillow ``ImageDraw``:
  polygon filled with its outline; ``rectangle`` from two corners; ``circle`` from the
  centre and a point on the circle), in file order, later shapes over earlier ones.
  ``line``, ``linestrip`` and ``point`` shapes mark no area and are skipped; ``mask``
  shapes (LabelMe 5.3+: a base64 PNG over the box given by two points) are pasted.
* Class of a label (case-insensitive): ``label_map`` if given (label -> 0/1/2/3/255),
  else by name: containing "arter" -> artery, "vein" / "vena" / "vene" -> vein,
  "vessel" -> vessel of unknown class, "ignore" / "unsure" / "unknown" -> ignore, anything
  else (nerve, muscle, ...) -> background. A ``group_id`` is ignored.
"""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Dict, Optional, Tuple

import numpy as np

BACKGROUND, ARTERY, VEIN, VESSEL, IGNORE = 0, 1, 2, 3, 255


class LabelMeError(ValueError):
    pass


def label_class(label: str, label_map: Optional[Dict[str, int]] = None) -> int:
    if label_map is not None:
        for k, v in label_map.items():
            if k.lower() == label.strip().lower():
                return int(v)
    s = label.strip().lower()
    if "arter" in s:
        return ARTERY
    if "vein" in s or "vena" in s or "vene" in s:
        return VEIN
    if "vessel" in s:
        return VESSEL
    if s in ("ignore", "unsure", "unknown", "__ignore__"):
        return IGNORE
    return BACKGROUND


def _decode_image(data: bytes):
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _image_of(doc: dict, json_path: str):
    from PIL import Image

    if doc.get("imageData"):
        try:
            return _decode_image(base64.b64decode(doc["imageData"]))
        except Exception as exc:  # noqa: BLE001 - any decoder error is a bad file
            raise LabelMeError(f"{json_path}: imageData does not decode: {exc}") from exc
    rel = doc.get("imagePath")
    if not rel:
        raise LabelMeError(f"{json_path}: neither imageData nor imagePath")
    p = os.path.join(os.path.dirname(os.path.abspath(json_path)), rel.replace("\\", "/"))
    if not os.path.exists(p):
        raise LabelMeError(f"{json_path}: image {p} not found")
    im = Image.open(p)
    im.load()
    return im


def shape_mask(shape: dict, height: int, width: int) -> Optional[np.ndarray]:
    """bool HxW area of one shape (None for shapes without area)."""
    from PIL import Image, ImageDraw

    kind = shape.get("shape_type") or "polygon"
    pts = [tuple(float(c) for c in p) for p in shape.get("points", [])]
    m = Image.new("1", (width, height), 0)
    d = ImageDraw.Draw(m)
    if kind == "polygon":
        if len(pts) < 3:
            return None
        d.polygon(pts, outline=1, fill=1)
    elif kind == "rectangle":
        if len(pts) != 2:
            return None
        (x0, y0), (x1, y1) = pts
        d.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif kind == "circle":
        if len(pts) != 2:
            return None
        (cx, cy), (px, py) = pts
        r = float(np.hypot(cx - px, cy - py))
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif kind == "mask":
        if len(pts) != 2 or not shape.get("mask"):
            return None
        sub = np.asarray(_decode_image(base64.b64decode(shape["mask"])).convert("L")) > 0
        x0, y0 = int(round(min(pts[0][0], pts[1][0]))), int(round(min(pts[0][1], pts[1][1])))
        out = np.zeros((height, width), bool)
        h, w = sub.shape
        ys, xs = slice(max(y0, 0), min(y0 + h, height)), slice(max(x0, 0), min(x0 + w, width))
        out[ys, xs] = sub[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
        return out
    else:  # line, linestrip, point, ...: no area
        return None
    return np.asarray(m, bool)


def rasterize(doc: dict, height: int, width: int,
              label_map: Optional[Dict[str, int]] = None) -> np.ndarray:
    """uint8 HxW labels of a LabelMe document's shapes."""
    out = np.zeros((height, width), np.uint8)
    for shape in doc.get("shapes", []):
        m = shape_mask(shape, height, width)
        if m is not None:
            out[m] = label_class(str(shape.get("label", "")), label_map)
    return out


def load_labelme(path: str, label_map: Optional[Dict[str, int]] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """(grey float32 image 0..255, uint8 labels) of one LabelMe JSON file."""
    from .data import to_grey

    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelMeError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise LabelMeError(f"{path}: not a LabelMe file (no 'shapes' list)")
    im = _image_of(doc, path)
    if im.mode == "P":
        im = im.convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = (np.asarray(im, np.float64) / 257.0).astype(np.float32)
    else:
        img = to_grey(np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB", "RGBA") else im))
    h, w = img.shape
    dh, dw = doc.get("imageHeight"), doc.get("imageWidth")
    if (dh is not None and int(dh) != h) or (dw is not None and int(dw) != w):
        raise LabelMeError(f"{path}: imageHeight/Width {dh}x{dw} != image {h}x{w}")
    return img, rasterize(doc, h, w, label_map)
