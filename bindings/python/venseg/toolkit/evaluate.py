"""Evaluate a model on labelled images: ``python -m venseg.toolkit.evaluate`` and ``evaluate()``.

The Python twin of ``venseg eval`` (examples/venseg/eval_cmd.c): same options, same file
matching, same label handling, and every metric computed through libvenseg
(``venseg._native``), so that both give identical values (tests/python/test_evaluate.py).
Images and label PNGs are read by ``venseg.toolkit.data`` (read_frame, read_label), label
maps parsed by ``venseg.toolkit.labelmap``, LabelMe JSONs drawn by ``venseg.toolkit.labelme``
(Pillow's ImageDraw, as LabelMe does). Plots (matplotlib, Agg): ``--plots DIR`` writes
``ssim_hist.png`` (SSIM histogram per class) and ``dice_box.png`` (Dice box plot per
class); ``--plot-only results.csv --plots DIR`` plots a CSV of either tool.

    rows, summary = evaluate("model.vseg", "usgra-seg/images", "usgra-seg/labels",
                             label_map="artery=1,vein=2,vessel=3,ignore=4")
    print(summary["markdown"])
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np

import venseg as vn  # the binding's names, loaded on first use (the pure helpers work without it)

from . import labelme
from .data import read_frame, read_label
from .labelmap import ARTERY, BACKGROUND as BG, CODE_NAMES, IGNORE, VEIN, VESSEL, LabelMap  # noqa: F401

#: the shape kinds the venseg program draws (examples/venseg/util/labelme.h)
CLI_SHAPE_KINDS = ("polygon", "rectangle")
CSV_COLUMNS = ("file", "class", "dice", "jaccard", "ssim", "hd95_px", "hd95_mm", "asd_px", "area_pred_px",
               "area_truth_px", "tp", "fp", "fn", "ms")
FLOAT_COLUMNS = ("dice", "jaccard", "ssim", "hd95_px", "hd95_mm", "asd_px")
INT_COLUMNS = ("area_pred_px", "area_truth_px", "tp", "fp", "fn")
SUMMARY_NOTE = ("mean ± sd (sample sd) over the finite values; NaN (empty truth, or both empty) and inf (one side "
                "empty) are left out and counted as excl.")


class EvalError(Exception):
    """Bad options or inputs (the CLI's exit status 1/2)."""


# ------------------------------------------------------------------ labels

def rasterize_labelme(data: dict, label_map: LabelMap, width: int, height: int):
    """Class codes of a LabelMe annotation as the venseg program draws them (venseg.toolkit.labelme
    with the label map's names; polygons and rectangles only). Returns (codes uint8 HxW, stats)."""
    return labelme.rasterize(data, height, width, label_map.name_code, kinds=CLI_SHAPE_KINDS)


def read_labels(path: str, label_map: LabelMap, width: int, height: int) -> np.ndarray:
    """Class codes of a label file as `venseg eval` reads it: a LabelMe JSON drawn at the
    image size, or a label PNG through the label map."""
    if path.lower().endswith(".json"):
        with open(path, "rb") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise EvalError("not a LabelMe file (the JSON is not an object)")
        return rasterize_labelme(data, label_map, width, height)[0]
    raw = read_label(path, png_only=True)
    if raw.shape != (height, width):
        raise EvalError(f"size mismatch, label {raw.shape[1]}x{raw.shape[0]}, image {width}x{height}")
    return label_map.codes(raw)


def _stem(name):
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    i = base.rfind(".")
    return base[:i] if i > 0 else base


def _listdir(d, exts):
    names, other = [], []
    for n in os.listdir(d):
        if n.startswith(".") or not os.path.isfile(os.path.join(d, n)):
            continue
        (names if n.lower().endswith(exts) else other).append(n)
    return sorted(names, key=lambda s: s.encode()), sorted(other, key=lambda s: s.encode())


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def match_files(images_dir, labels_dir):
    """[(image name, label name or None)] in the C CLI's order and rules, plus the
    unused label files and the non-PNG files of images_dir."""
    images, other = _listdir(images_dir, (".png",))
    labels, _ = _listdir(labels_dir, (".png", ".json"))
    image_set = set(images)
    images = [n for n in images if not (_stem(n).endswith("_label") and len(_stem(n)) > 6
                                        and _stem(n)[:-6] + ".png" in image_set)]
    image_set = set(images)
    label_set = set(labels)
    json_by_stem = []
    for n in labels:
        if not n.lower().endswith(".json") or _stem(n) + ".png" in image_set:
            continue
        try:
            with open(os.path.join(labels_dir, n), "rb") as f:
                ip = json.load(f).get("imagePath")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(ip, str) and ip:
            json_by_stem.append((_stem(ip), n))
    pairs, used = [], set()
    for img in images:
        s = _stem(img)
        found = None
        for c, cand in enumerate((s + ".png", s + "_label.png", s + ".json")):
            if cand in label_set:
                if c == 0 and _same_file(os.path.join(labels_dir, cand), os.path.join(images_dir, img)):
                    continue
                found = cand
                break
        if found is None:
            found = next((n for js, n in json_by_stem if js == s), None)
        if found is not None:
            used.add(found)
        pairs.append((img, found))
    unused = [n for n in labels if n not in used and not (
        n in image_set and _same_file(os.path.join(labels_dir, n), os.path.join(images_dir, n)))]
    return pairs, unused, other


# ------------------------------------------------------------------ scoring

def format_double(v: float) -> str:
    """As the C CLI writes numbers: shortest of %.15g/%.16g/%.17g that reads back."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    for p in (15, 16, 17):
        s = "%.*g" % (p, v)
        if float(s) == v:
            return s
    return s


def _score(cls, pred, truth, empty, ssim_window, spacing):
    """Metrics of one class on pred (model labels) and truth (codes), through libvenseg."""
    name, pred_bits, truth_bits, ignore_bits = cls
    tv = truth.astype(np.uint32)
    pv = pred.astype(np.uint32)
    ignored = ((ignore_bits >> np.minimum(tv, 31)) & 1).astype(bool) & (tv < 32)
    t = (((truth_bits >> np.minimum(tv, 31)) & 1).astype(bool) & (tv < 32)).astype(np.uint8)
    p = ((((pred_bits >> np.minimum(pv, 31)) & 1).astype(bool) & (pv < 32)) & ~ignored).astype(np.uint8)
    counts = vn.overlap_counts(p, 2, t, 2, 0)
    smooth = 1e-5 if empty == vn.EMPTY_SMOOTH else 0.0
    r = {"dice": vn.dice(counts, empty, smooth), "jaccard": vn.jaccard(counts, empty, smooth)}
    r["tp"], r["fp"], r["fn"] = counts
    r["area_pred_px"] = counts[0] + counts[1]
    r["area_truth_px"] = counts[0] + counts[2]
    h, w = p.shape
    minside = 11 if ssim_window == vn.SSIM_GAUSSIAN else 7
    r["ssim"] = math.nan
    if w >= minside and h >= minside:
        r["ssim"] = vn.ssim(p.astype(np.float32), t.astype(np.float32), ssim_window, 0,
                            ssim_window == vn.SSIM_UNIFORM, 1.0)
    hd, _, sym = vn.surface_distance(p, 2, t, 2, (1.0, 1.0), 95.0)
    r["hd95_px"], r["asd_px"] = hd, sym
    r["hd95_mm"] = math.nan
    if spacing:
        r["hd95_mm"] = vn.surface_distance(p, 2, t, 2, spacing, 95.0)[0]
    return r


def _stats(values):
    fin = [v for v in values if math.isfinite(v)]
    n, excl = len(fin), len(values) - len(fin)
    if n == 0:
        return {"n": 0, "excluded": excl, "mean": math.nan, "sd": math.nan}
    s = 0.0
    for v in fin:
        s += v
    mean = s / n
    ss = 0.0
    for v in fin:
        ss += (v - mean) * (v - mean)
    sd = math.sqrt(ss / (n - 1)) if n > 1 else math.nan
    return {"n": n, "excluded": excl, "mean": mean, "sd": sd}


def _cell(st):
    ex = f" ({st['excluded']} excl.)" if st["excluded"] else ""
    if st["n"] == 0:
        return "n/a" + ex
    if st["n"] == 1:
        return "%.4f%s" % (st["mean"], ex)
    return "%.4f ± %.4f%s" % (st["mean"], st["sd"], ex)


def summarize(rows, classes, unsupervised=(), with_mm=False):
    """Per class: n and mean/sd/excluded of each metric; 'markdown': the table the C CLI prints."""
    metrics = ["dice", "jaccard", "ssim", "hd95_px"] + (["hd95_mm"] if with_mm else [])
    out = {"classes": {}, "unsupervised": list(unsupervised)}
    lines = ["| class | images | Dice | Jaccard | SSIM | HD95 (px) |" + (" HD95 (mm) |" if with_mm else ""),
             "|---|---:|---|---|---|---|" + ("---|" if with_mm else "")]
    for c in classes:
        sel = [r for r in rows if r["class"] == c]
        st = {m: _stats([float(r[m]) for r in sel]) for m in metrics}
        out["classes"][c] = {"n": len(sel), **st}
        lines.append(f"| {c} | {len(sel)} |" + "".join(f" {_cell(st[m])} |" for m in metrics))
    for u in unsupervised:
        lines.append(f"| {u} | not supervised | | | | |" + (" |" if with_mm else ""))
    out["markdown"] = "\n".join(lines) + "\n"
    return out


def evaluate(model, images, labels, label_map="artery=1,vein=2", mode="classes", empty="nan", ssim="gaussian",
             spacing=None, roi=None, threads=0, limit=None, save_pred=None, log=None, precision=None):
    """Segments images/*.png with model (a path or a _native.Model) and scores them
    against labels/ like `venseg eval`. Returns (rows, summary): rows are dicts with the
    CSV columns (floats for metrics, ints for counts); summary from summarize() plus
    'counts' (evaluated, skipped, no_label, labels_unused) and 'ms_per_frame'."""
    lm = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
    empty_rule = {"nan": vn.EMPTY_NAN, "monai": vn.EMPTY_MONAI, "smooth": vn.EMPTY_SMOOTH}.get(empty)
    window = {"gaussian": vn.SSIM_GAUSSIAN, "uniform": vn.SSIM_UNIFORM}.get(ssim)
    if empty_rule is None:
        raise EvalError(f"empty must be nan, monai or smooth, not {empty}")
    if window is None:
        raise EvalError(f"ssim must be gaussian or uniform, not {ssim}")
    if spacing is not None and not isinstance(spacing, (tuple, list)):
        spacing = (float(spacing), float(spacing))
    warn = log or (lambda msg: print("venseg.toolkit.evaluate: warning: " + msg, file=sys.stderr))

    classes, unsup = [], []
    if mode == "classes":
        for c in (ARTERY, VEIN):
            if lm.supervised[c]:
                classes.append([CODE_NAMES[c], 0, 1 << c, (1 << VESSEL) | (1 << IGNORE)])
            else:
                unsup.append(CODE_NAMES[c])
        if not classes:
            raise EvalError("the label map supervises neither artery nor vein: nothing to score in classes mode "
                            "(vessel-only labels: mode vessel)")
    elif mode == "vessel":
        if not lm.supervised[VESSEL] and not (lm.supervised[ARTERY] and lm.supervised[VEIN]):
            raise EvalError("mode vessel needs labels of all vessels: a label map with vessel=..., or with both "
                            "artery and vein")
        classes.append(["vessel", 0, (1 << ARTERY) | (1 << VEIN) | (1 << VESSEL), 1 << IGNORE])
    else:
        raise EvalError(f"mode must be classes or vessel, not {mode}")

    own_model = not isinstance(model, vn.Model)
    m = vn.Model(model) if own_model else model
    try:
        names = [n.lower() for n in m.class_names]
        if len(names) < 2:
            raise EvalError(f"the model has {len(names)} class(es); artery and vein need 2")
        a_lab = names.index("artery") + 1 if "artery" in names else 1
        v_lab = names.index("vein") + 1 if "vein" in names else 2
        for c in classes:
            c[1] = {"artery": 1 << a_lab, "vein": 1 << v_lab}.get(c[0], (1 << a_lab) | (1 << v_lab))
        # None: the applications' default, as venseg eval's
        session = vn.Session(m, threads=threads, precision=vn.DEFAULT_PRECISION if precision is None else precision)
        if spacing:
            session.set_pixel_spacing(*spacing)
        pairs, unused, _ = match_files(images, labels)
        rows, counts, total_ms, matched = [], {"evaluated": 0, "skipped": 0, "no_label": 0,
                                               "labels_unused": len(unused)}, 0.0, 0
        for img_name, lab_name in pairs:
            if lab_name is None:
                counts["no_label"] += 1
                continue
            if limit and matched >= limit:
                continue
            matched += 1
            ipath, lpath = os.path.join(images, img_name), os.path.join(labels, lab_name)
            try:
                frame = read_frame(ipath, png_only=True)
            except Exception as e:  # noqa: BLE001 - any unreadable file is skipped
                warn(f"{ipath}: {e} (skipped)")
                counts["skipped"] += 1
                continue
            h, w = frame.shape[:2]
            try:
                codes = read_labels(lpath, lm, w, h)
            except Exception as e:  # noqa: BLE001
                warn(f"{lpath}: {e} (skipped)")
                counts["skipped"] += 1
                continue
            rx, ry, rw, rh = 0, 0, w, h
            if roi:
                if roi[0] >= w or roi[1] >= h:
                    warn(f"{ipath}: the ROI lies outside the frame (skipped)")
                    counts["skipped"] += 1
                    continue
                rx, ry = roi[0], roi[1]
                rw, rh = min(roi[0] + roi[2], w) - rx, min(roi[1] + roi[3], h) - ry
                session.set_roi(rx, ry, rw, rh)
            t0 = time.perf_counter()
            try:
                pred = session.segment(frame)
            except vn.VensegError as e:
                warn(f"{ipath}: segmentation failed: {e} (skipped)")
                counts["skipped"] += 1
                continue
            ms = (time.perf_counter() - t0) * 1e3
            total_ms += ms
            if save_pred:
                from PIL import Image
                Image.fromarray(pred).save(os.path.join(save_pred, _stem(img_name) + ".png"))
            pr, tr = pred[ry:ry + rh, rx:rx + rw], codes[ry:ry + rh, rx:rx + rw]
            for c in classes:
                r = {"file": img_name, "class": c[0]}
                r.update(_score(c, pr, tr, empty_rule, window, spacing))
                r["ms"] = ms
                rows.append(r)
            counts["evaluated"] += 1
    finally:
        if own_model:
            m.close()
    if counts["evaluated"] == 0:
        raise EvalError(f"no image was evaluated ({len(pairs)} images, {counts['no_label']} without a label, "
                        f"{counts['skipped']} skipped)")
    summary = summarize(rows, [c[0] for c in classes], unsup, with_mm=bool(spacing))
    summary["counts"] = counts
    summary["ms_per_frame"] = total_ms / counts["evaluated"]
    return rows, summary


# ------------------------------------------------------------------ CSV, plots

def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([r["file"], r["class"]] + [format_double(r[k]) for k in FLOAT_COLUMNS]
                       + [int(r[k]) for k in INT_COLUMNS] + ["%.3f" % r["ms"]])


def read_csv(path):
    """Rows of a CSV written by venseg eval or write_csv (numbers parsed)."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            missing = [c for c in CSV_COLUMNS if c not in r]
            if missing:
                raise EvalError(f"{path}: not a venseg eval CSV (missing {', '.join(missing)})")
            for k in FLOAT_COLUMNS + ("ms",):
                r[k] = float(r[k])
            for k in INT_COLUMNS:
                r[k] = int(r[k])
            rows.append(r)
    return rows


#: How to get the optional packages of the plots, the example and the viewer.
APPS_EXTRA = "pip install './bindings/python[apps]'"


def _pyplot():
    """matplotlib.pyplot on the Agg backend; an EvalError naming the extra when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise EvalError(f"--plots needs matplotlib, which is not installed: install the venseg 'apps' extra "
                        f"({APPS_EXTRA}) or matplotlib itself (Debian: python3-matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot(rows, out_dir):
    """ssim_hist.png (SSIM histogram per class) and dice_box.png (Dice box plot per
    class, finite values) in out_dir. Returns the two paths. Needs matplotlib (the 'apps'
    extra): EvalError without it."""
    plt = _pyplot()

    os.makedirs(out_dir, exist_ok=True)
    classes = list(dict.fromkeys(r["class"] for r in rows))
    colours = {"artery": "tab:red", "vein": "tab:blue", "vessel": "tab:purple"}

    fig, axes = plt.subplots(1, len(classes), figsize=(4.2 * len(classes), 3.4), squeeze=False)
    for ax, c in zip(axes[0], classes):
        v = [r["ssim"] for r in rows if r["class"] == c and math.isfinite(r["ssim"])]
        ax.hist(v, bins=np.linspace(0, 1, 21), color=colours.get(c, "tab:gray"), edgecolor="white")
        ax.set_title(f"{c} (n = {len(v)})")
        ax.set_xlabel("SSIM (prediction vs label)")
        ax.set_xlim(0, 1)
    axes[0][0].set_ylabel("images")
    fig.tight_layout()
    hist = os.path.join(out_dir, "ssim_hist.png")
    fig.savefig(hist, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(classes), 3.6))
    data = [[r["dice"] for r in rows if r["class"] == c and math.isfinite(r["dice"])] for c in classes]
    bp = ax.boxplot(data, patch_artist=True, widths=0.55)
    ax.set_xticks(range(1, len(classes) + 1))
    ax.set_xticklabels([f"{c}\n(n = {len(d)})" for c, d in zip(classes, data)])
    for patch, c in zip(bp["boxes"], classes):
        patch.set_facecolor(colours.get(c, "tab:gray"))
        patch.set_alpha(0.6)
    ax.set_ylabel("Dice")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    box = os.path.join(out_dir, "dice_box.png")
    fig.savefig(box, dpi=120)
    plt.close(fig)
    return hist, box


# ------------------------------------------------------------------ command line

def _parser():
    p = argparse.ArgumentParser(
        prog="python -m venseg.toolkit.evaluate",
        description="Segment labelled images with a libvenseg model and score Dice, Jaccard, SSIM and HD95 per "
                    "image and class (the Python twin of `venseg eval`; same options, same values).",
        epilog="Plot a CSV of either tool: python -m venseg.toolkit.evaluate --plot-only results.csv --plots DIR")
    p.add_argument("model", nargs="?", help=".vseg model (or --model)")
    p.add_argument("--model", dest="model_opt", help=".vseg model")
    p.add_argument("--images", help="folder of PNG images")
    p.add_argument("--labels", help="folder of labels: <stem>.png, <stem>_label.png, <stem>.json (LabelMe)")
    p.add_argument("--label-map", default="artery=1,vein=2",
                   help="CLASS=TOKEN[|TOKEN...],... classes artery, vein, vessel, ignore, background; tokens are "
                        "label values 0..255 or LabelMe labels (default artery=1,vein=2)")
    p.add_argument("--mode", choices=("classes", "vessel"), default="classes")
    p.add_argument("--empty", choices=("nan", "monai", "smooth"), default="nan")
    p.add_argument("--ssim", choices=("gaussian", "uniform"), default="gaussian")
    p.add_argument("--spacing", help="MM or MMX,MMY: adds HD95 in mm")
    p.add_argument("--roi", help="X,Y,W,H: segment and score only this rectangle")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8", "fp16"),
                   help="as venseg eval --precision (default venseg.DEFAULT_PRECISION, as venseg eval's; "
                        "docs/precision.md)")
    p.add_argument("--limit", type=int)
    p.add_argument("--csv", help="per image and class CSV")
    p.add_argument("--summary", help="summary table (Markdown)")
    p.add_argument("--save-pred", help="write predicted label masks to DIR/<stem>.png")
    p.add_argument("--plots", help="write ssim_hist.png and dice_box.png to DIR (needs matplotlib: the apps extra)")
    p.add_argument("--plot-only", metavar="CSV", help="only plot this CSV (needs --plots)")
    p.add_argument("--strict", action="store_true", help="exit 3 if any file was skipped")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.plots:
            _pyplot()  # before any work: a missing matplotlib is named at once
        if args.plot_only:
            if not args.plots:
                raise EvalError("--plot-only needs --plots DIR")
            for path in plot(read_csv(args.plot_only), args.plots):
                print(path)
            return 0
        model = args.model_opt or args.model
        if not model or not args.images or not args.labels:
            raise EvalError("a model, --images and --labels are required")
        spacing = roi = None
        if args.spacing:
            parts = [float(s) for s in args.spacing.split(",")]
            if len(parts) not in (1, 2) or not all(v > 0 and math.isfinite(v) for v in parts):
                raise EvalError("--spacing must be MM or MMX,MMY (> 0)")
            spacing = (parts[0], parts[-1])
        if args.roi:
            roi = [int(s) for s in args.roi.split(",")]
            if len(roi) != 4 or min(roi) < 0 or roi[2] <= 0 or roi[3] <= 0:
                raise EvalError("--roi must be X,Y,W,H (W, H > 0)")
        log = (lambda msg: None) if args.quiet else None
        rows, summary = evaluate(model, args.images, args.labels, label_map=args.label_map, mode=args.mode,
                                 empty=args.empty, ssim=args.ssim, spacing=spacing, roi=roi, threads=args.threads,
                                 limit=args.limit, save_pred=args.save_pred, log=log, precision=args.precision)
    except (EvalError, vn.VensegError, OSError, ValueError) as e:
        print(f"venseg.toolkit.evaluate: {e}", file=sys.stderr)
        return 1
    if args.csv:
        write_csv(rows, args.csv)
    c = summary["counts"]
    print(f"venseg.toolkit.evaluate: {c['evaluated']} images evaluated, {c['skipped']} skipped, {c['no_label']} without a "
          f"label, {c['labels_unused']} labels without an image; mode {args.mode}, label map {args.label_map}, "
          f"empty {args.empty}, SSIM {args.ssim}; segmentation {summary['ms_per_frame']:.1f} ms/frame\n")
    print(summary["markdown"])
    print(SUMMARY_NOTE)
    if args.summary:
        with open(args.summary, "w") as f:
            f.write(summary["markdown"] + "\n" + SUMMARY_NOTE + "\n")
    if args.plots:
        for path in plot(rows, args.plots):
            print(path)
    return 3 if args.strict and c["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
