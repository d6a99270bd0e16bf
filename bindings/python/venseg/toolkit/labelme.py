"""LabelMe JSON (the annotation tool of Chen et al.): the one LabelMe rasteriser of the package.

``load_labelme(path)`` returns ``(grey image float32 HxW 0..255, labels uint8 HxW)`` with
labels 0 background, 1 artery, 2 vein, 3 vessel of unknown class, 255 ignore (training
data); ``rasterize(doc, h, w, classify, kinds)`` draws a document's shapes with any class
rule (venseg.toolkit.evaluate draws the venseg program's subset with its label map).
numpy + Pillow.

The JSON (LabelMe 3.x - 5.x)::

    {"shapes": [{"label": "artery", "points": [[x, y], ...], "shape_type": "polygon"}, ...],
     "imagePath": "frame.png", "imageData": "<base64 PNG/JPEG>" or null,
     "imageHeight": H, "imageWidth": W}

* The image comes from ``imageData`` when present, else from ``imagePath`` relative to the
  JSON file (read by ``venseg.toolkit.data.read_image``). ``imageHeight`` / ``imageWidth``
  must match it.
* Shapes are rasterised as LabelMe's own ``shape_to_mask`` does (Pillow ``ImageDraw``:
  polygon filled with its outline; ``rectangle`` from two corners; ``circle`` from the
  centre and a point on the circle), in file order, later shapes over earlier ones.
  ``line``, ``linestrip`` and ``point`` shapes mark no area and are skipped; ``mask``
  shapes (LabelMe 5.3+: a base64 PNG over the box given by two points) are pasted.
* Class of a label: ``label_map`` if given - a label-map text or ``LabelMap``
  (venseg.toolkit.labelmap; labels it does not name are not drawn), or a dict label ->
  0/1/2/3/255 (case-insensitive) - else by name (``labelmap.guess_code``: containing
  "arter" -> artery, "vein" / "vena" / "vene" -> vein, "vessel" -> vessel of unknown
  class, "ignore" / "unsure" / "unknown" -> ignore, anything else -> background). A
  ``group_id`` is ignored.
"""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

import numpy as np

from . import labelmap as LMAP

BACKGROUND, ARTERY, VEIN, VESSEL, IGNORE = 0, 1, 2, 3, 255
#: label value of each label-map class code (IGNORE is 255 in training labels)
CODE_VALUES = (BACKGROUND, ARTERY, VEIN, VESSEL, IGNORE)
#: every shape kind with an area
AREA_KINDS = ("polygon", "rectangle", "circle", "mask")

LabelMapArg = Union[None, str, LMAP.LabelMap, Dict[str, int]]


class LabelMeError(ValueError):
    pass


def label_class(label: str, label_map: LabelMapArg = None) -> Optional[int]:
    """Label value (0/1/2/3/255) of a LabelMe label; None for one a LabelMap does not name."""
    if isinstance(label_map, dict):
        for k, v in label_map.items():
            if k.lower() == label.strip().lower():
                return int(v)
    elif label_map is not None:
        lm = label_map if isinstance(label_map, LMAP.LabelMap) else LMAP.LabelMap(label_map)
        code = lm.name_code(label)
        return None if code is None else CODE_VALUES[code]
    return CODE_VALUES[LMAP.guess_code(label)]


def _kind(shape: dict) -> str:
    kind = shape.get("shape_type")
    return kind if isinstance(kind, str) and kind else "polygon"


def _points(shape: dict, label: str):
    try:
        return [(float(p[0]), float(p[1])) for p in shape.get("points")]
    except (TypeError, ValueError, IndexError, KeyError):
        raise LabelMeError(f"shape '{label}': malformed \"points\"") from None


def shape_mask(shape: dict, height: int, width: int) -> Optional[np.ndarray]:
    """bool HxW area of one shape (None for shapes without area)."""
    from PIL import Image, ImageDraw

    kind = _kind(shape)
    pts = _points(shape, str(shape.get("label", "")))
    m = Image.new("L", (width, height), 0)
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
        from .data import read_label

        sub = read_label(io.BytesIO(base64.b64decode(shape["mask"]))) > 0
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
              classify: Union[LabelMapArg, Callable[[str], Optional[int]]] = None,
              kinds: Iterable[str] = AREA_KINDS) -> Tuple[np.ndarray, Dict[str, int]]:
    """(uint8 HxW labels, stats) of a LabelMe document's shapes, in file order.

    ``classify``: a callable label -> value (None: the label is unknown, its shape is not
    drawn), or a ``label_map`` for ``label_class``. Shapes of a kind not in ``kinds``, and
    shapes without area, are not drawn. stats: ``drawn``, ``unknown_label``,
    ``unsupported`` (shapes of another kind or without area) counts."""
    shapes = doc.get("shapes") if isinstance(doc, dict) else None
    if not isinstance(shapes, list):
        raise LabelMeError('not a LabelMe file (no "shapes" list)')
    rule = classify if callable(classify) else (lambda s: label_class(s, classify))
    kinds = tuple(kinds)
    out = np.zeros((height, width), np.uint8)
    stats = {"drawn": 0, "unknown_label": 0, "unsupported": 0}
    for shape in shapes:
        label = shape.get("label") if isinstance(shape, dict) else None
        if not isinstance(label, str):
            raise LabelMeError('a shape without a "label" string')
        value = rule(label)
        if value is None:
            stats["unknown_label"] += 1
            continue
        m = shape_mask(shape, height, width) if _kind(shape) in kinds else None
        if m is None:
            stats["unsupported"] += 1
            continue
        out[m] = value
        stats["drawn"] += 1
    return out, stats


def _image_of(doc: dict, json_path: str) -> np.ndarray:
    from .data import read_image

    if doc.get("imageData"):
        try:
            return read_image(io.BytesIO(base64.b64decode(doc["imageData"])))
        except Exception as exc:  # noqa: BLE001 - any decoder error is a bad file
            raise LabelMeError(f"{json_path}: imageData does not decode: {exc}") from exc
    rel = doc.get("imagePath")
    if not rel:
        raise LabelMeError(f"{json_path}: neither imageData nor imagePath")
    p = os.path.join(os.path.dirname(os.path.abspath(json_path)), rel.replace("\\", "/"))
    if not os.path.exists(p):
        raise LabelMeError(f"{json_path}: image {p} not found")
    return read_image(p)


def load_labelme(path: str, label_map: LabelMapArg = None) -> Tuple[np.ndarray, np.ndarray]:
    """(grey float32 image 0..255, uint8 labels 0/1/2/3/255) of one LabelMe JSON file."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelMeError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise LabelMeError(f"{path}: not a LabelMe file (no 'shapes' list)")
    if label_map is not None and not isinstance(label_map, (dict, LMAP.LabelMap)):
        label_map = LMAP.LabelMap(label_map)  # parsed once, not per shape
    img = _image_of(doc, path)
    h, w = img.shape
    dh, dw = doc.get("imageHeight"), doc.get("imageWidth")
    if (dh is not None and int(dh) != h) or (dw is not None and int(dw) != w):
        raise LabelMeError(f"{path}: imageHeight/Width {dh}x{dw} != image {h}x{w}")
    try:
        labels, _ = rasterize(doc, h, w, label_map)
    except LabelMeError as exc:
        raise LabelMeError(f"{path}: {exc}") from exc
    return img, labels
