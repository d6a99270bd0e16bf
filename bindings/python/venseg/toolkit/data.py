"""Training data for ``venseg.toolkit.train``: loaders, partial-label supervision codes, splits.

numpy + Pillow only (no torch). Every sample is a grey frame (float32, 0..255, BT.601 luma of
colour frames, as libvenseg converts them for a 1-channel model) and a *supervision code*
map (uint8, same size) that says, per pixel, what is known about each output channel:

    code = a + 3 * v      a, v in {NEG 0, POS 1, UNK 2}  (artery, vein channel)
    code = VESSEL (9)     a vessel of unknown class: artery OR vein (noisy-OR target)

    code = LOW_ARTERY (10), LOW_VEIN (11)   an artery / vein called with low confidence
    code = THROMBUS (12)  vein (not artery) whose lumen holds thrombus (phantom truth)

so ``0`` is "neither artery nor vein", ``1`` artery, ``3`` vein, ``6`` "not artery, vein
unknown" (cca-momot background: the jugular vein is in view but unlabelled), ``8`` nothing
known. The loss (``venseg.toolkit.train``) reads per-pixel targets and weights from the
tables of ``code_tables(low_weight)``: a low-confidence call teaches its class with weight
``low_weight`` and "vessel" (artery or vein) with ``1 - low_weight``, so an uncertain
artery/vein call mostly teaches that a vessel is there; thrombus pixels (the phantom's, the
only ones whose truth is known) weigh ``thrombus_weight``, since real training frames show
no thrombus and teach that echogenic content is tissue. Codes survive nearest-neighbour
resampling, so augmentation warps them like labels.

Sources:

* ``load_manifest(root, names)``: the data sets of ``../shared/data`` through the JSON
  manifest in its README.md (``images``, ``labels``, ``values``, ``supervises``,
  ``split_key``). usgra-seg: artery / vein / vessel-of-unknown-class; nerve = background.
  cca-momot: the artery channel only (its background is not "no vein"; artery pixels are).
  femoral-nerve-block (the groin): artery / vein / vessel outlines with a per-vessel
  confidence and a look-alike ``group`` per frame (``confidence``: labels.jsonl); the split
  keeps each group whole.
* ``load_label_png_dir(images, labels)``: image + label-PNG folders (same file stem;
  values 0 background, 1 artery, 2 vein, 3 vessel of unknown class, 255 ignore).
* ``load_labelme_dir(dir)``: LabelMe JSON files (``venseg.toolkit.labelme``).

Every sample has a ``group``: the validation split (``split_by_group``) keeps groups whole.
cca-momot groups are recording series (file-name prefix before ``_slice_``); usgra-seg has no
subject ids, so near-duplicate frames are grouped by thumbnail correlation
(``group_near_duplicates``); user folders take ``group_regex`` (default: the file stem with a
trailing frame number removed, so ``clip3_0001.png`` and ``clip3_0002.png`` share a group).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

NEG, POS, UNK = 0, 1, 2
VESSEL = 9
LOW_ARTERY, LOW_VEIN = 10, 11
THROMBUS = 12
N_CODES = 13
DEFAULT_LOW_WEIGHT = 0.25


def code(a: int, v: int) -> int:
    return a + 3 * v


IGNORE = code(UNK, UNK)  # 8


# per code: target and supervision weight of the artery and vein channels, and the weight of
# the vessel (noisy-OR) term; codes 10-11 are the low-confidence calls and 12 thrombus, at weight 1
CODE_TARGET_A = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0], np.float32)
CODE_MASK_A = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1], np.float32)
CODE_TARGET_V = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1], np.float32)
CODE_MASK_V = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1], np.float32)
CODE_VESSEL = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], np.float32)
VEIN_CODES = (code(NEG, POS), LOW_VEIN, THROMBUS)


def code_tables(low_weight: float = DEFAULT_LOW_WEIGHT, thrombus_weight: float = 1.0) -> Dict[str, np.ndarray]:
    """The CODE_* tables with the low-confidence codes weighted: class channels by
    ``low_weight``, the vessel term by ``1 - low_weight``; thrombus pixels' class channels
    by ``thrombus_weight``."""
    if not 0.0 <= low_weight <= 1.0:
        raise ValueError(f"low-confidence weight {low_weight} is not in [0, 1]")
    if not 0.0 < thrombus_weight <= 100.0:
        raise ValueError(f"thrombus weight {thrombus_weight} is not in (0, 100]")
    t = {"CODE_TARGET_A": CODE_TARGET_A.copy(), "CODE_MASK_A": CODE_MASK_A.copy(),
         "CODE_TARGET_V": CODE_TARGET_V.copy(), "CODE_MASK_V": CODE_MASK_V.copy(),
         "CODE_VESSEL": CODE_VESSEL.copy()}
    for c in (LOW_ARTERY, LOW_VEIN):
        t["CODE_MASK_A"][c] = t["CODE_MASK_V"][c] = low_weight
        t["CODE_VESSEL"][c] = 1.0 - low_weight
    t["CODE_MASK_A"][THROMBUS] = t["CODE_MASK_V"][THROMBUS] = thrombus_weight
    return t

CLASS_NAMES = ("artery", "vein")
BT601 = (0.299, 0.587, 0.114)


@dataclass
class Sample:
    name: str                 # unique id, e.g. "usgra-seg/0018"
    dataset: str
    group: str                # split key: groups never straddle train / validation
    image: np.ndarray         # float32 HxW, 0..255 grey
    codes: np.ndarray         # uint8 HxW supervision codes
    image_path: str = ""
    label_path: str = ""
    truth: Optional[np.ndarray] = None  # uint8 HxW evaluation labels (0 bg, 1 a, 2 v, 3 vessel)
    evaluates: Tuple[str, ...] = ()     # which of artery, vein, vessel the truth can score
    meta: Dict[str, object] = field(default_factory=dict)


# ------------------------------------------------------------------ images

def to_grey(arr: np.ndarray) -> np.ndarray:
    """uint8 grey / RGB / RGBA array (or uint16 grey, scaled by 1/257 as libvenseg's GRAY16)
    -> float32 grey 0..255 (BT.601 luma, as libvenseg)."""
    a = np.asarray(arr)
    if a.ndim == 2 and a.dtype == np.uint16:
        return (a.astype(np.float64) / 257.0).astype(np.float32)
    if a.ndim == 2:
        return a.astype(np.float32)
    if a.ndim == 3 and a.shape[2] >= 3:
        a = a[..., :3].astype(np.float32)
        return (BT601[0] * a[..., 0] + BT601[1] * a[..., 1] + BT601[2] * a[..., 2]).astype(np.float32)
    if a.ndim == 3 and a.shape[2] in (1, 2):
        return a[..., 0].astype(np.float32)
    raise ValueError(f"unsupported image shape {a.shape}")


_MODES_16 = ("I;16", "I;16B", "I;16L", "I")


def _open(src, png_only: bool):
    """A loaded Pillow image of a path or binary file object; png_only: as the venseg program
    (examples/venseg), which reads PNG files only."""
    from PIL import Image

    im = Image.open(src)
    try:
        if png_only and im.format != "PNG":
            raise ValueError("not a PNG file")
        im.load()
    except BaseException:
        im.close()
        raise
    return im


def read_frame(src, png_only: bool = False) -> np.ndarray:
    """A frame as libvenseg takes it and the venseg program reads it: grey uint8 or uint16 HxW
    (8-bit / 16-bit grey, grey + alpha, bilevel), else RGB uint8 HxWx3 (palette and other
    modes converted, alpha dropped). ``src``: a path or a binary file object."""
    with _open(src, png_only) as im:
        if im.mode in _MODES_16:
            return np.array(im).astype(np.uint16)
        if im.mode in ("L", "LA", "1"):
            return np.array(im.convert("L"))
        return np.array(im.convert("RGB"))


def read_image(src, png_only: bool = False) -> np.ndarray:
    """Grey float32 image 0..255 of read_frame (colour: BT.601 luma; 16-bit scaled to 0..255
    as libvenseg's GRAY16)."""
    return to_grey(read_frame(src, png_only))


def read_label(src, png_only: bool = False) -> np.ndarray:
    """Label image as uint8 values, as the venseg program reads label PNGs: palette indices
    (not colours), grey values (16-bit ones up to 255; grey + alpha: the grey), the R of a
    grey RGB(A) image. Colour (non-grey) RGB labels and 16-bit values > 255 are refused."""
    with _open(src, png_only) as im:
        mode = im.mode
        if mode == "P":
            return np.array(im).astype(np.uint8)
        if mode in _MODES_16:
            a = np.array(im)
            if a.size and a.max() > 255:
                raise ValueError(f"16-bit label value {int(a.max())} > 255")
            return a.astype(np.uint8)
        if mode in ("L", "1"):
            return np.array(im.convert("L"))
        if mode == "LA":
            return np.array(im)[..., 0].copy()
        a = np.array(im.convert("RGB"))
        if not ((a[..., 0] == a[..., 1]) & (a[..., 0] == a[..., 2])).all():
            raise ValueError("colour label image: labels must be grey or palette values")
        return a[..., 0].copy()


# --------------------------------------------------------------- label maps

def codes_from_labels(labels: np.ndarray, values: Dict[int, str],
                      supervises: Sequence[str]) -> np.ndarray:
    """Supervision codes for a label image whose value -> class-name map is ``values``.

    Class names: ``artery`` and ``vein`` (the pixel is that class and not the other),
    ``vessel`` (artery or vein, class unknown), ``ignore``; any other name (background,
    nerve, "not artery", ...) is negative for the supervised channels among artery / vein
    and unknown for the others. Values missing from ``values`` are ignored."""
    sup = set(supervises)
    neg = code(NEG if "artery" in sup else UNK, NEG if "vein" in sup else UNK)
    lut = np.full(256, IGNORE, np.uint8)
    for val, name in values.items():
        n = name.strip().lower()
        if n == "artery":
            c = code(POS, NEG)
        elif n == "vein":
            c = code(NEG, POS)
        elif n == "vessel":
            c = VESSEL
        elif n == "ignore":
            c = IGNORE
        else:
            c = neg
        lut[int(val)] = c
    return lut[np.asarray(labels, np.uint8)]


def truth_from_labels(labels: np.ndarray, values: Dict[int, str]) -> np.ndarray:
    """Evaluation label image: 0 background, 1 artery, 2 vein, 3 vessel of unknown class,
    255 ignore."""
    lut = np.zeros(256, np.uint8)
    for val, name in values.items():
        n = name.strip().lower()
        lut[int(val)] = {"artery": 1, "vein": 2, "vessel": 3, "ignore": 255}.get(n, 0)
    return lut[np.asarray(labels, np.uint8)]


def evaluable(supervises: Sequence[str]) -> Tuple[str, ...]:
    """Which metrics a data set's truth can score: artery / vein need that class labelled;
    vessel (artery or vein) needs both."""
    s = set(supervises)
    out = [c for c in ("artery", "vein") if c in s]
    if "artery" in s and "vein" in s:
        out.append("vessel")
    return tuple(out)


# ---------------------------------------------------------------- manifest

def read_manifest(data_root: str) -> Dict[str, dict]:
    """The JSON block of ``<data_root>/README.md`` (the machine-readable summary)."""
    with open(os.path.join(data_root, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"```json\s*\n(.*?)\n```", text, re.S)
    if not m:
        raise ValueError(f"{data_root}/README.md has no ```json manifest block")
    return json.loads(m.group(1))


def _series_group(stem: str, split_key: Optional[str]) -> str:
    if split_key and "_slice_" in split_key and "_slice_" in stem:
        return stem.split("_slice_")[0]
    return default_group(stem)


def default_group(stem: str) -> str:
    """File stem without a trailing frame number (``clip3_0007`` -> ``clip3``); a stem that
    is only a number stays itself."""
    g = re.sub(r"[_\-. ]*\d+$", "", stem)
    return g if g else stem


def load_manifest(data_root: str, names: Sequence[str] = ("usgra-seg", "cca-momot"),
                  dup_threshold: float = 0.85, limit: Optional[int] = None) -> List[Sample]:
    """Samples of the named manifest data sets (those with ``labels`` and ``supervises``)."""
    man = read_manifest(data_root)
    out: List[Sample] = []
    for name in names:
        if name not in man:
            raise ValueError(f"data set {name!r} not in the manifest ({sorted(man)})")
        d = man[name]
        if not d.get("supervises") or "labels" not in d:
            raise ValueError(f"data set {name!r} has no vessel labels")
        values = {int(k): v for k, v in d["values"].items()}
        img_dir = os.path.join(data_root, d["images"])
        lab_dir = os.path.join(data_root, d["labels"])
        files = sorted(f for f in os.listdir(img_dir)
                       if f.lower().endswith((".png", ".jpg", ".jpeg")))
        if limit:
            files = files[:limit]
        confidence = (read_confidence(os.path.join(data_root, d["confidence"]))
                      if d.get("confidence") else None)
        samples = []
        for f in files:
            stem = os.path.splitext(f)[0]
            lp = os.path.join(lab_dir, stem + ".png")
            if not os.path.exists(lp):
                continue
            lab = read_label(lp)
            img = read_image(os.path.join(img_dir, f))
            if img.shape != lab.shape:
                raise ValueError(f"{lp}: label {lab.shape} != image {img.shape}")
            codes = codes_from_labels(lab, values, d["supervises"])
            group = f"{name}/{_series_group(stem, d.get('split_key'))}"
            meta: Dict[str, object] = {}
            if confidence is not None:
                entry = confidence.get(f)
                if entry is None:
                    raise ValueError(f"{d['confidence']}: no entry for {f}")
                mark_low_confidence(codes, lab, entry["vessels"])
                group = f"{name}/group-{entry['group']}"
                meta["vessels"] = entry["vessels"]
            samples.append(Sample(
                name=f"{name}/{stem}", dataset=name, group=group, image=img, codes=codes,
                image_path=os.path.join(img_dir, f), label_path=lp,
                truth=truth_from_labels(lab, values), evaluates=evaluable(d["supervises"]),
                meta=meta))
        if not d.get("split_key") and confidence is None:
            group_near_duplicates(samples, dup_threshold, prefix=name)
        out.extend(samples)
    return out


# ------------------------------------------------------- per-vessel confidence

def read_confidence(path: str) -> Dict[str, dict]:
    """labels.jsonl of a vessel-labels folder: file name -> {"vessels": [...], "group": g}."""
    out: Dict[str, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                out[e["file"]] = {"vessels": list(e.get("vessels", [])), "group": e["group"]}
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{n}: not a vessel-label line ({exc})") from exc
    return out


def shape_mask(shape: Tuple[int, int], vessel: dict, grow: float = 1.3) -> np.ndarray:
    """Where one outlined vessel may have been rendered: its ellipse grown by ``grow`` (the
    renderer snaps ellipses to the lumen within 1.3x) or its polygon's bounding ellipse."""
    h, w = shape
    if "ellipse" in vessel:
        cx, cy, rx, ry, ang = (float(v) for v in vessel["ellipse"])
    else:
        pts = np.asarray(vessel["polygon"], np.float64)
        cx, cy = pts.mean(axis=0)
        rx = max(1.0, float(np.abs(pts[:, 0] - cx).max()))
        ry = max(1.0, float(np.abs(pts[:, 1] - cy).max()))
        ang, grow = 0.0, max(grow, 1.45)  # the bounding ellipse of a polygon reaches ~sqrt 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.radians(ang)
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(a) + dy * np.sin(a)
    v = -dx * np.sin(a) + dy * np.cos(a)
    return (u / (rx * grow)) ** 2 + (v / (ry * grow)) ** 2 <= 1.0


def mark_low_confidence(codes: np.ndarray, labels: np.ndarray, vessels: Sequence[dict]) -> None:
    """Re-code the pixels of each low-confidence artery / vein call (in place)."""
    for v in vessels:
        if v.get("confidence", "high") != "low" or v.get("class") not in ("artery", "vein"):
            continue
        value, low = (1, LOW_ARTERY) if v["class"] == "artery" else (2, LOW_VEIN)
        codes[shape_mask(labels.shape, v) & (labels == value)] = low


# -------------------------------------------------------------- user folders

def load_label_png_dir(image_dir: str, label_dir: str, dataset: str = "labelpng",
                       values: Optional[Dict[int, str]] = None,
                       supervises: Sequence[str] = ("artery", "vein"),
                       group_regex: Optional[str] = None) -> List[Sample]:
    """Image + label-PNG folders: ``label_dir/<stem>.png`` for each image
    (``.png .jpg .jpeg .bmp .tif .tiff``). Default values: 0 background, 1 artery, 2 vein,
    3 vessel of unknown class, 255 ignore."""
    values = values or {0: "background", 1: "artery", 2: "vein", 3: "vessel", 255: "ignore"}
    out = []
    for p in sorted(glob.glob(os.path.join(image_dir, "*"))):
        stem, ext = os.path.splitext(os.path.basename(p))
        if ext.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"):
            continue
        lp = os.path.join(label_dir, stem + ".png")
        if not os.path.exists(lp):
            continue
        lab = read_label(lp)
        img = read_image(p)
        if img.shape != lab.shape:
            raise ValueError(f"{lp}: label {lab.shape} != image {img.shape}")
        out.append(labelled_sample(dataset, stem, group_regex, img, lab, values, supervises, p, lp))
    if not out:
        raise ValueError(f"no image/label pairs in {image_dir} + {label_dir}")
    return out


def labelled_sample(dataset: str, stem: str, group_regex: Optional[str], image: np.ndarray,
                    labels: np.ndarray, values: Dict[int, str], supervises: Sequence[str],
                    image_path: str, label_path: str) -> Sample:
    """A user folder's frame with its label image (group from the stem)."""
    return Sample(f"{dataset}/{stem}", dataset, f"{dataset}/{_group(stem, group_regex)}", image,
                  codes_from_labels(labels, values, supervises), image_path, label_path,
                  truth_from_labels(labels, values), evaluable(supervises))


def load_labelme_dir(path: str, dataset: str = "labelme", group_regex: Optional[str] = None,
                     supervises: Sequence[str] = ("artery", "vein")) -> List[Sample]:
    """LabelMe JSON files in a folder (or one file); see ``venseg.toolkit.labelme``."""
    from .labelme import load_labelme

    files = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "*.json")))
    out = []
    for jp in files:
        img, truth = load_labelme(jp)
        stem = os.path.splitext(os.path.basename(jp))[0]
        values = {0: "background", 1: "artery", 2: "vein", 3: "vessel", 255: "ignore"}
        out.append(labelled_sample(dataset, stem, group_regex, img, truth, values, supervises,
                                   jp, jp))
    if not out:
        raise ValueError(f"no LabelMe .json files in {path}")
    return out


def _group(stem: str, group_regex: Optional[str]) -> str:
    if group_regex:
        m = re.search(group_regex, stem)
        if m:
            return m.group(1) if m.groups() else m.group(0)
    return default_group(stem)


# ------------------------------------------------------------------ splits

def thumbnail(img: np.ndarray, size: int = 48) -> np.ndarray:
    from PIL import Image

    t = np.asarray(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).resize(
        (size, size), Image.BILINEAR), np.float64).ravel()
    return (t - t.mean()) / (t.std() + 1e-9)


def group_near_duplicates(samples: List[Sample], threshold: float = 0.85,
                          prefix: str = "") -> None:
    """Merge the groups of samples whose 48x48 thumbnails (any frame size) correlate at
    >= threshold (single linkage). usgra-seg's known near-duplicates (0018/0099: 0.93,
    0038/0151: 0.95) sit well above the median best match of 0.79."""
    n = len(samples)
    if n < 2:
        return
    th = np.stack([thumbnail(s.image) for s in samples])
    corr = th @ th.T / th.shape[1]
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if corr[i, j] >= threshold:
                parent[find(i)] = find(j)
    # the root's own group name keeps the group stable under re-ordering of files
    roots: Dict[int, List[int]] = {}
    for i in range(n):
        roots.setdefault(find(i), []).append(i)
    for members in roots.values():
        name = min(samples[i].name for i in members).split("/")[-1]
        for i in members:
            samples[i].group = f"{prefix}/dup-{name}" if prefix else f"dup-{name}"


def split_by_group(samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0,
                   val_groups: Optional[Iterable[str]] = None) -> Tuple[List[Sample], List[Sample]]:
    """(train, validation): whole groups, about ``val_fraction`` of each data set's samples,
    chosen by a hash of (seed, group) so the split does not depend on file order.
    ``val_groups`` fixes the validation groups instead."""
    if val_groups is not None:
        vg = set(val_groups)
        return [s for s in samples if s.group not in vg], [s for s in samples if s.group in vg]
    by_ds: Dict[str, Dict[str, List[Sample]]] = {}
    for s in samples:
        by_ds.setdefault(s.dataset, {}).setdefault(s.group, []).append(s)
    val: set = set()
    for ds, groups in by_ds.items():
        total = sum(len(v) for v in groups.values())
        order = sorted(groups, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
        taken = 0
        for g in order:
            if taken >= val_fraction * total or len(groups) < 2:
                break
            if taken + len(groups[g]) > 1.5 * val_fraction * total and taken > 0:
                continue  # a huge group would overshoot; try the next
            val.add(g)
            taken += len(groups[g])
    return [s for s in samples if s.group not in val], [s for s in samples if s.group in val]


def split_summary(train: Sequence[Sample], val: Sequence[Sample]) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for which, ss in (("train", train), ("val", val)):
        for s in ss:
            d = out.setdefault(s.dataset, {"train": 0, "val": 0, "train_groups": set(),
                                           "val_groups": set()})
            d[which] += 1
            d[which + "_groups"].add(s.group)
    return {k: {"train": v["train"], "val": v["val"], "train_groups": len(v["train_groups"]),
                "val_groups": len(v["val_groups"])} for k, v in out.items()}


# ------------------------------------------------------------------ phantom

def _phantom_clot(vein: np.ndarray, pix: np.ndarray, twin: np.ndarray) -> np.ndarray:
    """The phantom's clot fills each vein below a level (docs/phantom.md), and only the clot's
    echo differs between an acute and a chronic render of one frame: per vein, every pixel
    from the first row where most pixels differ clearly (the point-spread function carries
    the thicker chronic wall a little into the lumen) down."""
    from scipy import ndimage

    differs = np.abs(pix.astype(np.int16) - twin.astype(np.int16)) > 6
    comp, n = ndimage.label(vein)
    clot = np.zeros_like(vein)
    for c in range(1, n + 1):
        part = comp == c
        width = part.sum(1)
        frac = (part & differs).sum(1) / np.maximum(width, 1)
        rows = np.nonzero((width > 0) & (frac > 0.5))[0]
        if len(rows):
            clot[rows.min():] |= part[rows.min():]
    return clot


def load_phantom(sequences: int, frames_per_sequence: int = 6, seed: int = 0,
                 size: Tuple[int, int] = (256, 256), frames: int = 90, exam: bool = False) -> List[Sample]:
    """Synthetic compression sequences of libvenseg's phantom (``venseg_phantom_*``, the
    tracking issue's transverse-leg model) as fully labelled extra supervision: per
    sequence (one split group each) ``frames_per_sequence`` frames spread over the
    compression, with seeded random thrombus state, compression, probe motion, gain and
    noise (``exam``: also thrombus age, vein side and size, pulse, breathing, speckle
    decorrelation, tilt and attenuation). Seeds are drawn from 1..2**31-1, so studies use
    seeds >= 2**31. Labels: 1 artery lumen, 2 vein lumen (incl. thrombus); thrombus pixels
    get the THROMBUS code. Needs libvenseg."""
    import venseg as vn

    rng = np.random.default_rng([seed, 0xFA17])
    w, h = int(size[0]), int(size[1])
    values = {0: "background", 1: "artery", 2: "vein"}
    out: List[Sample] = []
    for q in range(sequences):
        keys = dict(seed=int(rng.integers(1, 2**31)), width=w, height=h, frames=frames,
                    thrombus=int(rng.choice([0, 0, 1, 2])),
                    compression=float(rng.uniform(0.5, 1.2)),
                    probe_motion=float(rng.uniform(0, 4)), gain_db=float(rng.uniform(-6, 6)),
                    noise=float(rng.uniform(0.02, 0.15)),
                    pixel_spacing=float(rng.uniform(0.1, 0.2)),
                    vessels=int(rng.choice([1, 1, 1, 2])))
        if exam:  # the exam-like phantom (docs/phantom.md): the look of real exams varies too
            keys.update(thrombus_age=int(rng.integers(0, 2)), vein_side=int(rng.integers(1, 3)),
                        vein_to_artery=float(rng.uniform(0.8, 1.8)),
                        heart_rate=float(rng.uniform(50, 110)),
                        pulse_amplitude=float(rng.uniform(0.03, 0.10)),
                        respiration=float(rng.uniform(0, 0.15)),
                        decorrelation=float(rng.uniform(0, 0.5)),
                        probe_tilt=float(rng.uniform(0, 8)),
                        attenuation=float(rng.uniform(0.5, 1.0)))
        ph = vn.Phantom(**keys)
        # the thrombus is where the same frame differs between an acute and a chronic clot
        # (only the clot's echo depends on its age)
        twin = None
        if keys["thrombus"]:
            twin = vn.Phantom(**{**keys, "thrombus_age": 1 - int(keys.get("thrombus_age", 0))})
        try:
            for k in range(frames_per_sequence):
                idx = int(round(k * (frames - 1) / max(1, frames_per_sequence - 1)))
                pix, lab = ph.frame(idx)
                codes = codes_from_labels(lab, values, ("artery", "vein"))
                if twin is not None:
                    codes[_phantom_clot(lab == 2, pix, twin.frame(idx)[0])] = THROMBUS
                out.append(Sample(f"phantom/{q:04d}_{idx:03d}", "phantom", f"phantom/{q:04d}",
                                  pix.astype(np.float32), codes,
                                  truth=truth_from_labels(lab, values),
                                  evaluates=("artery", "vein", "vessel")))
        finally:
            ph.close()
            if twin is not None:
                twin.close()
    return out
