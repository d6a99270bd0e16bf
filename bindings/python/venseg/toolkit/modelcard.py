"""Model cards for the shipped weights: ``python -m venseg.toolkit.modelcard {evaluate,precision,card,overlays}``.

``evaluate MODEL.vseg`` segments the validation split (``weights/validation-split.json``:
frames of ``../shared/data`` never trained on) through libvenseg and scores it with the
project's evaluation path, ``venseg.toolkit.evaluate.evaluate()`` (every metric computed by the C
library: ``venseg_overlap_counts``, ``venseg_dice``, ``venseg_jaccard``, ``venseg_ssim``),
at each frame's own resolution:

* usgra-seg: artery and vein with label 3 (vessel of unknown class) left out of both, and
  vessel = artery ∪ vein against labels 1 ∪ 2 ∪ 3; nerve (4) is background;
* cca-momot: artery only (its jugular vein is unlabelled, so vein and vessel are not scored).

Per data set and class it reports the mean ± sd over images of Dice, Jaccard and SSIM
(Gaussian window, Wang et al.; images with an empty truth left out, MONAI
``ignore_empty``), the pooled Dice (from the summed pixel counts), the mispredicted-area
ratio (FP + FN) / truth area and the predicted / true area ratio (both pooled over the
images). It prints the Markdown table that the model card holds between
``<!-- metrics:begin -->`` and ``<!-- metrics:end -->``; ``--check CARD.md`` exits 1 unless
the card holds exactly that table (the documented reproduction command).

``precision MODEL.vseg --card CARD.md`` scores the same split at fp32, bf16 and int8 (oneDNN
backend; int8 with the file's ranges) and writes the card's precision section (between
``<!-- precision:begin -->`` and ``<!-- precision:end -->``): mean Dice per data set and class,
its difference from fp32, and the per-frame agreement of the masks with the fp32 masks;
``--check`` only compares. Rerun it after ``card`` (which writes a card without it).

``card`` writes a model card from the evaluation JSON, the training history and the
comparison model; ``overlays`` renders validation frames with the library's masks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .train import is_training_checkpoint

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DEFAULT_SPLIT = os.path.join(REPO, "weights", "validation-split.json")
DEFAULT_DATA = os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"

# (data set, images dir, labels dir, [(evaluate mode, label map)])
EVAL_PLAN = {
    "usgra-seg": ("usgra-seg/images", "usgra-seg/labels",
                  [("classes", "artery=1,vein=2,vessel=3"), ("vessel", "artery=1,vein=2,vessel=3")]),
    "cca-momot": ("cca-momot/images", "cca-momot/masks", [("classes", "artery=255")]),
    "femoral-nerve-block": ("femoral-nerve-block/train/images",
                            "femoral-nerve-block/vessel-labels/labels",
                            [("classes", "artery=1,vein=2,vessel=3"),
                             ("vessel", "artery=1,vein=2,vessel=3")]),
}
IDENTITY_SETS = ("femoral-nerve-block", "usgra-seg")  # data sets that label artery and vein
IDENTITY_IOU = 0.3
BOOTSTRAP = 2000
IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def _split_names(split_path: str) -> Dict[str, List[str]]:
    with open(split_path) as fh:
        doc = json.load(fh)
    out: Dict[str, List[str]] = {}
    for name in doc["val"]:
        ds, stem = name.split("/", 1)
        out.setdefault(ds, []).append(stem)
    return out


def _find_image(src_dir: str, stem: str) -> str:
    for ext in IMAGE_EXTS:
        p = os.path.join(src_dir, stem + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(src_dir, stem + ".png"))


def _link_subset(src_dir: str, stems: Sequence[str], dst: str) -> None:
    """dst/<stem>.png for each stem: a link to a PNG, or a lossless PNG of the decoded
    pixels of a JPEG (the evaluation reads PNG folders)."""
    from PIL import Image

    os.makedirs(dst, exist_ok=True)
    for s in stems:
        p = _find_image(src_dir, s)
        if p.endswith(".png"):
            os.symlink(os.path.abspath(p), os.path.join(dst, s + ".png"))
        else:
            with Image.open(p) as im:
                im.save(os.path.join(dst, s + ".png"))


def bootstrap_ci(values: Sequence[float], n: int = BOOTSTRAP, seed: int = 0) -> List[float]:
    """Percentile 95 % interval of the mean over images resampled with replacement."""
    v = np.asarray([x for x in values if math.isfinite(x)], np.float64)
    if len(v) < 2:
        return [math.nan, math.nan]
    return _percentile_95(v[_resamples(len(v), n, seed)].mean(axis=1))


def _resamples(items: int, n: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """n x items indices: each row one bootstrap resample with replacement."""
    return np.random.default_rng(seed).integers(0, items, (n, items))


def _percentile_95(stats: np.ndarray) -> List[float]:
    return [float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))]


def _agg(rows: List[dict]) -> dict:
    def stat(key):
        v = [float(r[key]) for r in rows if math.isfinite(float(r[key]))]
        return {"mean": float(np.mean(v)) if v else math.nan,
                "sd": float(np.std(v, ddof=1)) if len(v) > 1 else math.nan, "n": len(v),
                "ci95": bootstrap_ci(v)}

    tp = sum(int(r["tp"]) for r in rows)
    fp = sum(int(r["fp"]) for r in rows)
    fn = sum(int(r["fn"]) for r in rows)
    return {"images": len(rows), "dice": stat("dice"), "jaccard": stat("jaccard"),
            "ssim": stat("ssim"), "tp": tp, "fp": fp, "fn": fn,
            "pooled_dice": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else math.nan,
            "mispredicted_ratio": (fp + fn) / (tp + fn) if (tp + fn) else math.nan,
            "area_ratio": (tp + fp) / (tp + fn) if (tp + fn) else math.nan}


def evaluate_model(model: str, split: str = DEFAULT_SPLIT, data_root: str = DEFAULT_DATA,
                   threads: int = 0, keep_rows: bool = False, precision: str = "fp32",
                   pred_root: Optional[str] = None) -> dict:
    """{"model", "results": {"<data set>/<class>": aggregate}, "rows"?} through libvenseg,
    at ``precision`` (the card's metrics: fp32). ``pred_root``: keep the predicted label
    PNGs there (``<data set>/<stem>.png``)."""
    import venseg as vn
    from .evaluate import evaluate

    names = _split_names(split)
    tmp = tempfile.mkdtemp(prefix="venseg-card-")
    results, all_rows, pred_dirs = {}, [], {}
    try:
        m = vn.Model(model)
        try:
            for ds, (img_rel, lab_rel, plan) in EVAL_PLAN.items():
                if ds not in names:
                    continue
                idir, ldir = os.path.join(tmp, ds, "images"), os.path.join(tmp, ds, "labels")
                _link_subset(os.path.join(data_root, img_rel), names[ds], idir)
                _link_subset(os.path.join(data_root, lab_rel), names[ds], ldir)
                # the first pass keeps its masks: identity is scored on them, not on a rerun
                pred_dirs[ds] = os.path.join(pred_root or os.path.join(tmp, "pred"), ds)
                os.makedirs(pred_dirs[ds])
                for k, (mode, lmap) in enumerate(plan):
                    rows, summ = evaluate(m, idir, ldir, label_map=lmap, mode=mode,
                                          empty="nan", ssim="gaussian", threads=threads,
                                          precision=precision,
                                          save_pred=pred_dirs[ds] if k == 0 else None,
                                          log=lambda msg: print("warning: " + msg, file=sys.stderr))
                    if summ["counts"]["evaluated"] != len(names[ds]):
                        raise RuntimeError(f"{ds}: {summ['counts']} (expected {len(names[ds])})")
                    for cls in sorted({r["class"] for r in rows}):
                        sel = [r for r in rows if r["class"] == cls]
                        results[f"{ds}/{cls}"] = _agg(sel)
                        all_rows += [{"dataset": ds, **r} for r in sel]
            identity = identity_accuracy(pred_dirs, names, data_root)
        finally:
            m.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {"model": os.path.basename(model), "split": os.path.basename(split),
           "evaluation": "venseg.toolkit.evaluate through libvenseg; SSIM Gaussian (Wang), "
                         "Dice/Jaccard ignore_empty; 95 % CI: bootstrap over images "
                         f"({BOOTSTRAP} resamples)", "results": results,
           "identity": identity}
    if keep_rows:
        out["rows"] = all_rows
    return out


def vessel_identity(pred: np.ndarray, truth: np.ndarray, iou_min: float = IDENTITY_IOU):
    """Per labelled vessel (each connected artery (1) or vein (2) region of ``truth``):
    (class, best IoU with a predicted region, that region's class or 0). Predicted regions
    are the connected components of each predicted class."""
    from scipy import ndimage as ndi

    regions = []
    for cls in (1, 2):
        lab, n = ndi.label(pred == cls)
        regions += [(cls, lab == i) for i in range(1, n + 1)]
    out = []
    for cls in (1, 2):
        lab, n = ndi.label(truth == cls)
        for i in range(1, n + 1):
            t = lab == i
            best, best_cls = 0.0, 0
            for pcls, r in regions:
                inter = int((r & t).sum())
                if inter:
                    iou = inter / int((r | t).sum())
                    if iou > best:
                        best, best_cls = iou, pcls
            out.append((cls, best, best_cls if best >= iou_min else 0))
    return out


def identity_accuracy(pred_dirs: Dict[str, str], names: Dict[str, List[str]],
                      data_root: str) -> Dict[str, dict]:
    """Artery/vein identity per data set, from the predicted label PNGs in ``pred_dirs``
    (``<stem>.png``): of the labelled vessels that a predicted region matches with
    IoU >= 0.3, the share whose region has the right class (with a bootstrap interval over
    images); also how many were matched at all."""
    from .data import read_label

    out: Dict[str, dict] = {}
    for ds in IDENTITY_SETS:
        if ds not in names or ds not in pred_dirs:
            continue
        lab_rel = EVAL_PLAN[ds][1]
        per_image = []
        for stem in sorted(names[ds]):
            truth = read_label(os.path.join(data_root, lab_rel, stem + ".png"))
            pred = read_label(os.path.join(pred_dirs[ds], stem + ".png"))
            per_image.append(vessel_identity(pred, truth))
        m_img = np.array([sum(1 for *_, pc in v if pc) for v in per_image], np.float64)
        c_img = np.array([sum(1 for c, _, pc in v if pc == c) for v in per_image], np.float64)
        vessels, matched, correct = sum(len(v) for v in per_image), int(m_img.sum()), int(c_img.sum())
        per_class = {name: {"vessels": sum(1 for v in per_image for c, _, _ in v if c == k),
                            "matched": sum(1 for v in per_image for c, _, pc in v
                                           if c == k and pc),
                            "correct": sum(1 for v in per_image for c, _, pc in v
                                           if c == k and pc == c)}
                     for k, name in ((1, "artery"), (2, "vein"))}
        # bootstrap over images: resample images, pool their matched vessels
        ci = [math.nan, math.nan]
        if len(per_image) > 1 and matched:
            idx = _resamples(len(per_image))
            ci = _percentile_95(c_img[idx].sum(axis=1) / np.maximum(m_img[idx].sum(axis=1), 1))
        out[ds] = {"images": len(per_image), "vessels": vessels, "matched": matched,
                   "correct": correct,
                   "accuracy": correct / matched if matched else math.nan,
                   "ci95": ci, "per_class": per_class}
    return out


ORDER = ["femoral-nerve-block/artery", "femoral-nerve-block/vein", "femoral-nerve-block/vessel",
         "usgra-seg/artery", "usgra-seg/vein", "usgra-seg/vessel", "cca-momot/artery"]


def _ms(st: dict) -> str:
    if not st["n"]:
        return "n/a"
    return f"{st['mean']:.3f} ± {st['sd']:.3f}" if st["n"] > 1 else f"{st['mean']:.3f}"


def _ci(st: dict) -> str:
    ci = st.get("ci95") or [math.nan, math.nan]
    if not all(math.isfinite(x) for x in ci):
        return "n/a"
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def metrics_table(ev: dict) -> str:
    lines = ["| data set | class | images (scored) | Dice | Dice 95 % CI | Jaccard | "
             "Jaccard 95 % CI | SSIM | SSIM 95 % CI | pooled Dice | "
             "mispredicted / true area | predicted / true area |",
             "|---|---|---:|---|---|---|---|---|---|---:|---:|---:|"]
    keys = [k for k in ORDER if k in ev["results"]] + sorted(
        k for k in ev["results"] if k not in ORDER)
    for k in keys:
        r = ev["results"][k]
        ds, cls = k.split("/")
        lines.append(f"| {ds} | {cls} | {r['images']} ({r['dice']['n']}) | {_ms(r['dice'])} | "
                     f"{_ci(r['dice'])} | {_ms(r['jaccard'])} | {_ci(r['jaccard'])} | "
                     f"{_ms(r['ssim'])} | {_ci(r['ssim'])} | {r['pooled_dice']:.3f} | "
                     f"{r['mispredicted_ratio']:.3f} | {r['area_ratio']:.3f} |")
    return "\n".join(lines) + "\n"


def identity_table(ev: dict) -> str:
    lines = ["| data set | labelled vessels | matched (IoU ≥ 0.3) | right class | identity "
             "accuracy | 95 % CI | arteries right / matched | veins right / matched |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for ds, r in (ev.get("identity") or {}).items():
        pa, pv = r["per_class"]["artery"], r["per_class"]["vein"]
        acc = f"{100 * r['accuracy']:.1f} %" if math.isfinite(r["accuracy"]) else "n/a"
        ci = (f"{100 * r['ci95'][0]:.1f}–{100 * r['ci95'][1]:.1f} %"
              if all(math.isfinite(x) for x in r["ci95"]) else "n/a")
        lines.append(f"| {ds} | {r['vessels']} | {r['matched']} | {r['correct']} | {acc} | {ci} | "
                     f"{pa['correct']} / {pa['matched']} | {pv['correct']} / {pv['matched']} |")
    return "\n".join(lines) + "\n"


def metrics_block(ev: dict) -> str:
    ident = f"\n{identity_table(ev)}" if ev.get("identity") else ""
    return f"{BEGIN}\n{metrics_table(ev)}{ident}{END}"


def compact_metrics(ev: dict) -> str:
    """provenance.metrics: JSON of the headline numbers."""
    d = {"source": "python -m venseg.toolkit.modelcard evaluate (libvenseg, validation split "
                   f"{ev['split']})"}
    for k, r in ev["results"].items():
        d[k] = {"dice": round(r["dice"]["mean"], 4), "jaccard": round(r["jaccard"]["mean"], 4),
                "ssim": round(r["ssim"]["mean"], 4), "pooled_dice": round(r["pooled_dice"], 4),
                "mispredicted_ratio": round(r["mispredicted_ratio"], 4), "images": r["images"]}
    return json.dumps(d, sort_keys=True)


def ablation_table(runs: Sequence[Tuple[str, dict]]) -> str:
    """Markdown: one row per (name, evaluation JSON), mean Dice per data set and class and
    identity accuracy, all on the same validation split."""
    keys = [k for k in ORDER if any(k in ev["results"] for _, ev in runs)]
    ids = [d for d in IDENTITY_SETS if any(d in (ev.get("identity") or {}) for _, ev in runs)]
    head = ["run"] + [k.replace("femoral-nerve-block", "groin") + " Dice" for k in keys] + \
        [d.replace("femoral-nerve-block", "groin") + " identity" for d in ids]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, ev in runs:
        cells = [name]
        for k in keys:
            r = ev["results"].get(k)
            cells.append(f"{r['dice']['mean']:.3f}" if r and r["dice"]["n"] else "n/a")
        for d in ids:
            r = (ev.get("identity") or {}).get(d)
            cells.append(f"{100 * r['accuracy']:.1f} %" if r and math.isfinite(r["accuracy"])
                         else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ precision

PRECISIONS = ("fp32", "bf16", "int8")
PBEGIN, PEND = "<!-- precision:begin -->", "<!-- precision:end -->"
PRECISION_HEADING = "## Precision: fp32, bf16, int8 on the validation split"
#: the largest drop of a mean Dice (any data set and class) that lets the programs default
#: to --precision auto (issue 18; docs/precision.md)
MAX_DEFAULT_COST = 0.005


def cpu_name() -> str:
    """lscpu's model name (the card's precision numbers depend on the CPU's ISA)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def _describe(model: str, precision: str, threads: int) -> str:
    """What a session of this precision runs here (after planning, so the ISA is named)."""
    import venseg as vn

    with vn.Model(model) as m, vn.Session(m, threads=threads, backend="onednn", precision=precision) as s:
        w, h, _ = m.input_size
        s.segment(np.zeros((h, w), np.uint8))
        return s.describe()


def mask_agreement(dir_a: str, dir_b: str) -> Dict[str, List[float]]:
    """Per class (artery 1, vein 2) the Dice of the label PNGs of dir_b against dir_a's of
    the same name, one value per frame where either has the class."""
    from .data import read_label

    out: Dict[str, List[float]] = {"artery": [], "vein": []}
    for name in sorted(os.listdir(dir_a)):
        a, b = read_label(os.path.join(dir_a, name)), read_label(os.path.join(dir_b, name))
        for lab, cls in ((1, "artery"), (2, "vein")):
            x, y = a == lab, b == lab
            total = int(x.sum()) + int(y.sum())
            if total:
                out[cls].append(2.0 * int((x & y).sum()) / total)
    return out


def precision_study(model: str, split: str = DEFAULT_SPLIT, data_root: str = DEFAULT_DATA,
                    threads: int = 2, precisions: Sequence[str] = PRECISIONS) -> dict:
    """The validation split scored at each precision on the oneDNN backend (the card's
    evaluation), the mean Dice differences against fp32 and the per-frame agreement of each
    precision's masks with the fp32 masks."""
    if precisions[0] != "fp32":
        raise ValueError("the first precision must be fp32 (the others are compared with it)")
    tmp = tempfile.mkdtemp(prefix="venseg-precision-")
    try:
        evs, sessions = {}, {}
        for p in precisions:
            sessions[p] = _describe(model, p, threads)
            evs[p] = evaluate_model(model, split, data_root, threads, precision=p,
                                    pred_root=os.path.join(tmp, p))
        base = evs["fp32"]["results"]
        keys = [k for k in ORDER if k in base] + sorted(k for k in base if k not in ORDER)
        dice = {p: {k: evs[p]["results"][k]["dice"]["mean"] for k in keys} for p in precisions}
        delta = {p: {k: dice[p][k] - dice["fp32"][k] for k in keys} for p in precisions[1:]}
        cost = {p: max(0.0, max(-d for d in delta[p].values() if math.isfinite(d))) for p in precisions[1:]}
        agreement = {}
        for p in precisions[1:]:
            per: Dict[str, List[float]] = {"artery": [], "vein": []}
            for ds in sorted(os.listdir(os.path.join(tmp, "fp32"))):
                got = mask_agreement(os.path.join(tmp, "fp32", ds), os.path.join(tmp, p, ds))
                for cls in per:
                    per[cls] += got[cls]
            agreement[p] = {cls: {"mean": float(np.mean(v)) if v else math.nan,
                                  "min": float(np.min(v)) if v else math.nan, "frames": len(v)}
                            for cls, v in per.items()}
            allv = per["artery"] + per["vein"]
            agreement[p]["all"] = {"mean": float(np.mean(allv)) if allv else math.nan,
                                   "min": float(np.min(allv)) if allv else math.nan,
                                   "frames": len(allv)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"model": os.path.basename(model), "split": os.path.basename(split), "threads": threads,
            "cpu": cpu_name(), "sessions": sessions, "images": {k: base[k]["dice"]["n"] for k in keys},
            "dice": dice, "delta": delta, "cost": cost, "agreement": agreement,
            "max_default_cost": MAX_DEFAULT_COST}


def precision_block(st: dict) -> str:
    """The card's precision section body, between PBEGIN and PEND."""
    ps = list(st["dice"])
    head = ["data set / class", "frames scored"] + [f"{ps[0]} Dice"]
    for p in ps[1:]:
        head += [f"{p} Dice", f"{p} − fp32"]
    L = [PBEGIN, "| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    def num(x, fmt):
        return format(x, fmt) if math.isfinite(x) else "n/a"

    for k in st["dice"]["fp32"]:
        cells = [k, str(st["images"][k]), num(st["dice"]["fp32"][k], ".4f")]
        for p in ps[1:]:
            cells += [num(st["dice"][p][k], ".4f"), num(st["delta"][p][k], "+.4f")]
        L.append("| " + " | ".join(cells) + " |")
    L += ["", "| masks vs the fp32 masks | artery: mean per-frame Dice (min; frames) | "
              "vein | both classes |", "|---|---:|---:|---:|"]
    for p in ps[1:]:
        a = st["agreement"][p]
        L.append(f"| {p} | " + " | ".join(
            f"{num(a[c]['mean'], '.4f')} ({num(a[c]['min'], '.3f')}; {a[c]['frames']})"
            for c in ("artery", "vein", "all"))
            + " |")
    L.append("")
    for p in ps[1:]:
        ok = st["cost"][p] <= st["max_default_cost"]
        L.append(f"- {p}: largest drop of a mean Dice against fp32 {st['cost'][p]:.4f} "
                 f"({'within' if ok else 'over'} the {st['max_default_cost']} a default may cost)")
    L.append(f"- measured on {st['cpu']}, {st['threads']} threads, oneDNN backend: "
             + "; ".join(f"`{st['sessions'][p]}`" for p in ps))
    L.append(PEND)
    return "\n".join(L)


def put_precision_block(card_text: str, block: str, model: str = "MODEL.vseg", card: str = "MODEL.md") -> str:
    """The card with its precision section replaced by (or given) this block; model and card
    (file names in weights/) go into the section's reproduction command."""
    if PBEGIN in card_text and PEND in card_text:
        a, b = card_text.index(PBEGIN), card_text.index(PEND) + len(PEND)
        return card_text[:a] + block + card_text[b:]
    section = (f"{PRECISION_HEADING}\n\n"
               "Mean Dice per frame of the validation split (the metrics table's evaluation) with "
               "the session at each precision, its difference from fp32, and how far each "
               "precision's masks agree with the fp32 masks frame by frame (Dice of the class "
               "between the two masks; frames where neither has the class left out). int8 uses "
               "the activation ranges stored in the file (training frames only); what "
               "`--precision auto` picks: [docs/precision.md](../docs/precision.md). Reproduce "
               "(same CPU kind: int8 and bf16 arithmetic depends on the ISA):\n\n"
               "```sh\nVENSEG_LIBRARY=build/release/libvenseg.so PYTHONPATH=build/py:bindings/python \\\n"
               f"  python3 -m venseg.toolkit.modelcard precision weights/{model} --card weights/{card}"
               "   # --check: compare only\n```\n\n" + block + "\n\n")
    for nxt in ("## Storage", "## Comparison", "## Training curves"):
        if "\n" + nxt in card_text:
            i = card_text.index("\n" + nxt) + 1
            return card_text[:i] + section + card_text[i:]
    return card_text.rstrip() + "\n\n" + section


# ------------------------------------------------------------------ overlays

ARTERY_RGB, VEIN_RGB = (230, 40, 40), (40, 90, 255)


def overlay(frame: np.ndarray, pred: np.ndarray, truth: Optional[np.ndarray] = None,
            alpha: float = 0.45, edge: int = 2) -> np.ndarray:
    """RGB uint8: prediction filled (artery red, vein blue), truth outlines (artery yellow,
    vein cyan, vessel of unknown class white)."""
    from scipy import ndimage as ndi

    from .data import to_grey

    rgb = np.repeat(to_grey(frame)[..., None], 3, axis=2)
    for lab, col in ((1, ARTERY_RGB), (2, VEIN_RGB)):
        m = pred == lab
        rgb[m] = (1 - alpha) * rgb[m] + alpha * np.asarray(col, np.float32)
    if truth is not None:
        for lab, col in ((1, (255, 230, 0)), (2, (0, 255, 255)), (3, (255, 255, 255))):
            m = truth == lab
            rgb[m & ~ndi.binary_erosion(m, iterations=edge)] = col
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def worst_frames(ev: dict, n: int = 6) -> List[str]:
    """The ``n`` validation frames with the lowest Dice of artery or vein (from
    ``evaluate_model(keep_rows=True)``), spread over the data sets, worst first."""
    per_ds: Dict[str, Dict[str, float]] = {}
    for r in ev.get("rows", []):
        d = float(r["dice"])
        if r["class"] in ("artery", "vein") and math.isfinite(d):
            name = f"{r['dataset']}/{os.path.splitext(r['file'])[0]}"
            per_ds.setdefault(r["dataset"], {})
            per_ds[r["dataset"]][name] = min(d, per_ds[r["dataset"]].get(name, 1.0))
    ranked = {ds: sorted(v, key=v.get) for ds, v in per_ds.items()}
    out: List[str] = []
    while len(out) < n and any(ranked.values()):
        for ds in sorted(ranked):
            if ranked[ds] and len(out) < n:
                out.append(ranked[ds].pop(0))
    return out


def render_overlays(model: str, split: str, data_root: str, out_dir: str,
                    names: Optional[Sequence[str]] = None, n: int = 6, tile: int = 256,
                    montage: Optional[str] = None, cols: int = 3) -> List[str]:
    """Full-size overlays of validation frames to out_dir; optionally a montage PNG of
    tiles (each frame scaled to ``tile`` px wide) with a palette (small file)."""
    from PIL import Image

    import venseg as vn
    from .data import read_frame, read_label
    from .labelmap import LabelMap

    os.makedirs(out_dir, exist_ok=True)
    if names is None:
        sp = _split_names(split)
        names = []
        for ds in sp:  # spread over data sets and over each data set's list
            k = max(1, n // len(sp))
            st = sorted(sp[ds])
            names += [f"{ds}/{st[int(i * len(st) / k)]}" for i in range(k)]
    paths, tiles = [], []
    with vn.Model(model) as m, vn.Session(m) as s:
        for name in names:
            ds, stem = name.split("/", 1)
            img_rel, lab_rel, plan = EVAL_PLAN[ds]
            frame = read_frame(_find_image(os.path.join(data_root, img_rel), stem))
            truth = LabelMap(plan[0][1]).codes(read_label(os.path.join(data_root, lab_rel, stem + ".png")))
            pred = s.segment(frame)
            ov = overlay(frame, pred, truth)
            p = os.path.join(out_dir, f"{ds}_{stem}.png")
            Image.fromarray(ov).save(p)
            paths.append(p)
            # the tile's outlines ~2 px wide after downscaling
            im = Image.fromarray(overlay(frame, pred, truth, edge=max(2, round(
                2 * frame.shape[1] / tile))))
            tiles.append(im.resize((tile, max(1, round(im.height * tile / im.width))), Image.LANCZOS))
    if montage and tiles:
        rows = (len(tiles) + cols - 1) // cols
        th = max(t.height for t in tiles)
        canvas = Image.new("RGB", (cols * tile + (cols - 1) * 4, rows * th + (rows - 1) * 4), (0, 0, 0))
        for i, t in enumerate(tiles):
            canvas.paste(t, ((i % cols) * (tile + 4), (i // cols) * (th + 4)))
        canvas.quantize(colors=128, method=Image.MEDIANCUT).save(montage, optimize=True)
        paths.append(montage)
    return paths


# --------------------------------------------------------------------- curves

def plot_curves(history: dict, out_png: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = history["history"]
    ep = [r["epoch"] for r in h]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
    ax[0].plot(ep, [r["loss"] for r in h], label="total")
    ax[0].plot(ep, [r["bce"] for r in h], label="BCE")
    ax[0].plot(ep, [r["dice_loss"] for r in h], label="log-Dice")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("training loss")
    ax[0].set_yscale("log")
    ax[0].legend(fontsize=8)
    ax[0].grid(alpha=0.3)
    keys = sorted({k for r in h for k in r.get("val", {})})
    for k in keys:
        ax[1].plot([r["epoch"] for r in h if k in r.get("val", {})],
                   [r["val"][k] for r in h if k in r.get("val", {})], label=k)
    if history.get("best_epoch", -1) > 0:
        ax[1].axvline(history["best_epoch"], color="k", ls=":", lw=1, label="kept (best)")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("validation Dice (network res.)")
    ax[1].set_ylim(0, 1)
    ax[1].legend(fontsize=7, loc="lower right")
    ax[1].grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


# ----------------------------------------------------------------------- card

def _fmt_params(n: int) -> str:
    return f"{n:,} ({n / 1e6:.2f} M)"


def write_card(model_path: str, ev: dict, history: dict, out_md: str, curves_png: str,
               overlay_png: Optional[str], other: Optional[Tuple[str, dict]] = None,
               storage_cmp: Optional[dict] = None, title: str = "", extra: str = "") -> None:
    """Markdown model card (see weights/*.md)."""
    from .weights import read_vseg

    f = read_vseg(model_path)
    meta = f.metadata
    n_stored = sum(int(a.size) for a in f.tensors.values())
    dtypes = sorted(set(f.dtypes.values()))
    args = history["args"]
    hist = history["history"]
    last = hist[-1] if hist else {}
    best = next((r for r in hist if r["epoch"] == history["best_epoch"]), last)
    sps = [r["samples_per_s"] for r in hist[1:]] or [float("nan")]
    # training-step time summed over epochs (the run may span several processes)
    wall = sum(args["samples_per_epoch"] / r["samples_per_s"] for r in hist
               if r.get("samples_per_s")) / 60
    split = json.load(open(DEFAULT_SPLIT)) if os.path.exists(DEFAULT_SPLIT) else {}
    summ = split.get("summary", {})
    rel = lambda p: os.path.relpath(p, os.path.dirname(out_md))  # noqa: E731
    arch = meta["general.architecture"]
    if arch == "resnet_unet":
        arch_desc = (f"UNet with a {meta['encoder.name']} encoder (torchvision/smp style, "
                     f"post-activation), decoder {meta['decoder.block']} "
                     f"{list(meta['decoder.channels'])}, 3x3 head: the network of Chen et al")
    else:
        arch_desc = (f"plain UNet (Ronneberger, same padding + BN), base "
                     f"{meta['plain_unet.base_channels']} channels, depth {meta['plain_unet.depth']}")
    L = []
    L.append(f"# {title or meta.get('general.name', os.path.basename(model_path))}\n")
    start = ("first pretrained self-supervised on unlabelled B-mode frames of the same data "
             "(masked-image restoration, `venseg.toolkit.pretrain`), then trained"
             if args.get("init") else "trained from scratch")
    L.append(f"`{os.path.basename(model_path)}`: {arch_desc}. Two sigmoid outputs, **artery** "
             f"(label 1) and **vein** (label 2), for transverse B-mode ultrasound. "
             f"{start[0].upper() + start[1:]} on public data in this project (no ImageNet or "
             f"paper weights). **Research use only; not a medical device.**\n")
    L.append("| | |\n|---|---|")
    L.append(f"| parameters | {_fmt_params(history['n_params'])} trainable; "
             f"{n_stored:,} values stored (BN folded into the convolutions) |")
    conv = ("int8 with one f32 scale per output channel (q8)" if "q8" in dtypes else
            "IEEE fp16" if "f16" in dtypes else "bf16" if "bf16" in dtypes else "f32")
    ranges = ", with int8 activation ranges from 48 training frames (`python -m venseg.toolkit.calibrate`)" \
        if "int8.activation_max" in meta else ""
    L.append(f"| storage | convolution weights {conv}, biases f32; "
             f"{os.path.getsize(model_path):,} bytes "
             f"({os.path.getsize(model_path) / 2**20:.1f} MiB){ranges} |")
    L.append(f"| input | {meta['input.width']}x{meta['input.height']} grey "
             f"(colour frames → BT.601 luma), `{meta.get('input.resize')}` (aspect kept, zero "
             f"padding), x/255 → (x − {meta['input.mean'][0]}) / {meta['input.std'][0]} |")
    L.append(f"| output | sigmoid per class, label = most probable class if p > "
             f"{meta.get('output.threshold', 0.5)} |")
    commit = history.get("commit", "?")
    L.append(f"| training code | `venseg.toolkit.train` at commit `{commit}`"
             + (" (`+dirty`: the training code itself was not committed yet)"
                if commit.endswith("+dirty") else "") + " |")
    L.append("")
    L.append("## Data and licences\n")
    L.append("Trained and validated on `../shared/data` (see its README and each PROVENANCE.md):\n")
    L.append("- **usgra-seg**, T. M. K. (github.com/tmkand/usgra-seg), **CC BY 4.0**: 204 "
             "transverse nerve-block frames (Mindray TE7; groin, popliteal, arm, neck). The "
             "artery / vein / vessel-of-unknown-class labels (`labels/`) were derived by this "
             "project from the upstream vessel masks by visual review; the artery/vein split is "
             "noisy. Supervises artery, vein and vessel (label 3: artery or vein).")
    L.append("- **cca-momot**: A. Momot, *Common Carotid Artery Ultrasound Images*, Mendeley "
             "Data V1 (2022), doi:10.17632/d4xt63mgjm.1, **CC BY 4.0** (licence as quoted by "
             "third parties; a subset via the mirror "
             "github.com/vikasvs007/carotid_artery_detection-_DL_model): 201 frames of 12 series, "
             "common carotid lumen. Supervises the **artery channel only**; its background is "
             "not \"no vein\" (the jugular vein is unlabelled), so the vein channel is supervised "
             "only on artery pixels.")
    L.append("- **femoral-nerve-block**, S. Gao et al. (2019), **MIT licence**: 345 transverse "
             "groin (femoral triangle) frames, the site of a DVT compression exam. Artery / vein "
             "/ vessel outlines with a confidence per vessel (`vessel-labels/`) drawn by this "
             "project by visual review. Supervises artery, vein and vessel; a low-confidence "
             "artery or vein call weighs "
             f"{args.get('low_confidence_weight', 0.25):g} on its class and the rest on "
             "\"vessel\". An unlabelled vein side is \"not visible\" (the nerve-block probe "
             "presses it flat), which the labels cannot tell from \"no vein\".\n")
    if summ:
        L.append("| data set | train frames (groups) | validation frames (groups) |\n|---|---:|---:|")
        for ds, d in summ.items():
            L.append(f"| {ds} | {d['train']} ({d['train_groups']}) | {d['val']} ({d['val_groups']}) |")
        L.append("")
    L.append("Split (`weights/validation-split.json`, seed 0): whole groups, ~20 % per data set. "
             "cca-momot groups are recording series (file-name prefix before `_slice_`); "
             "usgra-seg has no subject ids, so near-duplicate frames (48x48 thumbnail "
             "correlation ≥ 0.85, e.g. 0018/0099, 0038/0151) form groups; femoral-nerve-block "
             "frames keep the look-alike `group` of its labels.jsonl together. No validation "
             "frame was trained on, nor pretrained on. "
             "Caveats: the validation split also chose the kept epoch (early "
             "stopping), so its numbers are slightly optimistic; usgra-seg frames of one "
             "volunteer that are not near-duplicates can sit on both sides; two cca-momot series "
             "can be the left and right side of one person.\n")
    L.append("## Recipe\n")
    L.append(f"`{meta.get('provenance.recipe', '')}`\n")
    L.append("Training command (`RUN` = the output folder; `--resume --out RUN` continues it):\n")
    if args.get("init") and is_training_checkpoint(args["init"]):
        L.append("This run continues an earlier training run (`PARENT`: its checkpoint "
                 "`--init PARENT/best.pt`); the chain of runs from the pretraining, with each "
                 "command, is under *Lineage* below.\n")
    elif args.get("init"):
        L.append("Pretraining first (`PRE` = its output folder; the frames of every data set "
                 "and the FloWave cine, validation frames left out):\n")
        L.append("```sh\nPYTHONPATH=bindings/python python3 -m venseg.toolkit.pretrain "
                 "--data-root ../shared/data --split weights/validation-split.json "
                 f"--arch {args['arch']} --size {args['size'][0]} {args['size'][1]} "
                 f"--steps {_pretrain_steps(args['init'])} --batch 16 --out PRE\n```\n")
    L.append("```sh\nPYTHONPATH=bindings/python python3 -m venseg.toolkit.train "
             + train_command(args) + "\n```\n")
    L.append(f"- seed {args['seed']}; batch {args['batch']}; input {args['size'][0]}x{args['size'][1]}; "
             f"{len(hist)} epochs of {args['samples_per_epoch']} samples "
             f"(data-set shares {' '.join(args['dataset_weight']) or 'by size'}), "
             f"{last.get('step', '?')} steps; stopped by: {history.get('done')}; kept epoch "
             f"{history['best_epoch']} (best mean quick-validation Dice "
             f"{history['best']:.3f}).")
    L.append("- loss: BCE + log-Dice (smp `DiceLoss(log_loss=True)` form) with per-pixel, "
             "per-class supervision masks: BCE of each channel over the pixels where it is "
             "known, a noisy-OR term −log(1 − (1 − p_a)(1 − p_v)) on vessel-of-unknown-class "
             "pixels, log-Dice over artery, vein and vessel (= 1 − (1 − p_a)(1 − p_v)) on known "
             "pixels.")
    L.append("- augmentation: horizontal flip (the paper's), zoom 0.8–1.25, rotation ±10°, "
             "translation ±8 %, elastic, gain, gamma, speckle, blur; letterbox resampling "
             "identical to libvenseg's"
             + ("; and the exam set (`--aug exam`): the vein squashed along depth to 15–100 % "
                "of its height as a pressing probe does, random TGC bands (±6 dB), depth "
                "attenuation (up to 10 dB), vessels copy-pasted between frames with a feathered "
                "rim. Laterality: flips stay on, since a flipped groin frame is the other "
                "leg's view with its labels flipped too; where the vein lies relative to the "
                "artery is left to the tracker's site settings, not learnt by the network."
                if args.get("aug") == "exam" else "."))
    L.append(f"- hardware: CPU, 2 shared cores (AVX-512, no AMX, so fp32: no bf16 autocast), "
             f"{torch_threads(args)} threads, channels-last; "
             f"{np.median(sps):.1f} samples/s median over epochs (other jobs shared the "
             f"cores); about {wall:.0f} min of training steps (plus validation).\n")
    L.append("## Validation (libvenseg, the frames' own resolution)\n")
    L.append(metrics_block(ev) + "\n")
    L.append("Dice, Jaccard, SSIM: mean ± sd over validation frames, computed by libvenseg "
             "through `venseg.toolkit.evaluate` (SSIM: Gaussian window, Wang et al., on the binary masks; "
             "frames whose truth lacks the class are left out of the means, the scored count in "
             "brackets). Pooled Dice: from the pixel counts summed over the frames. "
             "Mispredicted / true area: (false-positive + false-negative pixels) / true pixels "
             "of the class, pooled — the paper's mispredicted-area ratio as we read it "
             "(the paper's exact definition could not be checked here). usgra-seg artery and "
             "vein leave the vessel-of-unknown-class pixels out; vessel = predicted artery ∪ "
             "vein against labels 1 ∪ 2 ∪ 3. cca-momot has no vein labels. 95 % CI: "
             "percentile bootstrap of the mean over validation frames (2000 resamples; frames "
             "of one group are not resampled together, so the intervals are somewhat narrow). "
             "Identity: each labelled artery or vein (a connected region of its class) is "
             "matched to the predicted region (a connected region of one predicted class) of "
             "highest IoU; with IoU ≥ 0.3 it counts as matched, and as right when that "
             "region's class is its class (interval: bootstrap over frames).\n")
    L.append("Reproduce (from the repository root, with libvenseg built, e.g. "
             "`cmake --preset release && cmake --build --preset release`):\n")
    L.append("```sh\npython3 bindings/python/venseg_build.py --library build/release/libvenseg.so "
             "--out build/py   # the cffi binding\n"
             "VENSEG_LIBRARY=build/release/libvenseg.so PYTHONPATH=build/py:bindings/python \\\n"
             f"  python3 -m venseg.toolkit.modelcard evaluate weights/{os.path.basename(model_path)} "
             f"--check weights/{os.path.basename(out_md)}\n```\n")
    if storage_cmp:
        L.append("## Storage\n")
        L.append(storage_cmp["text"] + "\n")
    if other:
        oname, oev = other
        L.append("## Comparison: ResUNet-34 vs plain UNet (same data, split and seed)\n")
        L.append("The two shipped models; their budgets can differ (see each card's recipe): the "
                 "ablation below compares them at one budget.\n")
        L.append(f"| data set / class | pooled Dice: this | pooled Dice: `{oname}` | "
                 f"mispredicted / true area: this | mispredicted / true area: `{oname}` |")
        L.append("|---|---:|---:|---:|---:|")
        for k in ORDER:
            if k in ev["results"] and k in oev["results"]:
                a, b = ev["results"][k], oev["results"][k]
                L.append(f"| {k} | {a['pooled_dice']:.3f} | {b['pooled_dice']:.3f} | "
                         f"{a['mispredicted_ratio']:.3f} | {b['mispredicted_ratio']:.3f} |")
        L.append("")
    if extra:
        L.append(extra + "\n")
    L.append("## Training curves\n")
    L.append(f"![training curves]({rel(curves_png)})\n")
    L.append("Left: training loss per epoch. Right: the quick validation run after each epoch "
             "(network resolution, pooled Dice; used only for early stopping).\n")
    if overlay_png:
        L.append("## The worst validation frames\n")
        L.append(f"![overlays]({rel(overlay_png)})\n")
        L.append("The validation frames with the lowest artery or vein Dice, spread over the "
                 "data sets (`overlays --worst`). libvenseg's masks: artery red, vein blue (filled); "
                 "ground-truth outlines: artery yellow, vein cyan, vessel of unknown class "
                 "white.\n")
    L.append("## Limitations\n")
    L.append("- Small, public data: 204 nerve-block frames (one examiner, one scanner), 345 "
             "groin nerve-block frames and 12 carotid series; no DVT patients, no compression "
             "sequences, no vein under real compression (only simulated). Numbers on this "
             "validation split are not an outside result; only 17 groin validation frames show "
             "a vein, so its vein numbers have wide intervals.")
    L.append("- The artery/vein split of usgra-seg is a derived, partly low-confidence "
             "labelling; the vessel (artery ∪ vein) outline is the examiner's.")
    L.append("- Trained for a CPU budget at a small input size; the paper used "
             "ImageNet-pretrained encoders and its own clinical data. Retrain with "
             "`python -m venseg.toolkit.train` on your own labelled frames (LabelMe JSON or "
             "label PNGs).")
    with open(out_md, "w") as fh:
        fh.write("\n".join(L).rstrip() + "\n")


def _pretrain_steps(path: str) -> str:
    """Steps of the pretraining checkpoint a run started from (STEPS when unreadable)."""
    try:
        import torch

        return str(int(torch.load(path, map_location="cpu")["steps"]))
    except Exception:  # noqa: BLE001 - a card is still written without it
        return "STEPS"


def train_command(args: dict) -> str:
    """The venseg.toolkit.train options of a run (from history.json's args)."""
    parts = ["--data-root ../shared/data"]
    if args.get("datasets"):
        parts.append("--datasets " + " ".join(args["datasets"]))
    if args.get("split"):
        parts.append("--split weights/validation-split.json")
    if args.get("init"):
        parts.append("--init PARENT/best.pt" if is_training_checkpoint(args["init"]) else "--init PRE/pretrained.pt")
    parts.append(f"--arch {args['arch']}")
    if args["arch"] == "plain-unet":
        parts.append(f"--base-channels {args['base_channels']} --depth {args['depth']}")
    parts.append(f"--size {args['size'][0]} {args['size'][1]} --batch {args['batch']} "
                 f"--epochs {args['epochs']} --samples-per-epoch {args['samples_per_epoch']}")
    if args.get("dataset_weight"):
        parts.append("--dataset-weight " + " ".join(args["dataset_weight"]))
    parts.append(f"--lr {args['lr']:g} --schedule {args['schedule']} --warmup {args['warmup']} "
                 f"--aug {args['aug']} --patience {args['patience']} --seed {args['seed']}")
    if args.get("low_confidence_weight") is not None:
        parts.append(f"--low-confidence-weight {args['low_confidence_weight']:g} "
                     f"--val-every {args.get('val_every', 1)}")
    if args.get("phantom"):
        parts.append(f"--phantom {args['phantom']} --phantom-frames {args['phantom_frames']}"
                     + (" --phantom-exam" if args.get("phantom_exam") else ""))
    if args.get("thrombus_weight", 1.0) != 1.0:
        parts.append(f"--thrombus-weight {args['thrombus_weight']:g}")
    if args.get("thrombus_oversample", 1.0) != 1.0:
        parts.append(f"--thrombus-oversample {args['thrombus_oversample']:g}")
    parts.append(f"--threads {args.get('threads') or 0}" + (" --channels-last" if args.get(
        "channels_last") else "") + " --out RUN")
    return " \\\n    ".join(parts)


def torch_threads(args: dict) -> str:
    return str(args.get("threads") or "all")


# ------------------------------------------------------------------------ CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m venseg.toolkit.modelcard",
                                description="Evaluate shipped weights through libvenseg and "
                                            "write / check their model cards.")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("evaluate", help="score a model on the validation split")
    e.add_argument("model")
    e.add_argument("--split", default=DEFAULT_SPLIT)
    e.add_argument("--data-root", default=DEFAULT_DATA)
    e.add_argument("--threads", type=int, default=0)
    e.add_argument("--json", help="write the full evaluation here")
    e.add_argument("--check", metavar="CARD.md",
                   help="exit 1 unless the card's metrics table equals this evaluation's")
    o = sub.add_parser("overlays", help="render validation frames with the model's masks")
    o.add_argument("model")
    o.add_argument("--split", default=DEFAULT_SPLIT)
    o.add_argument("--data-root", default=DEFAULT_DATA)
    o.add_argument("--out", required=True)
    o.add_argument("--names", nargs="*", help="data set/stem, e.g. usgra-seg/0018")
    o.add_argument("-n", type=int, default=6)
    o.add_argument("--montage", help="also write a small palette PNG montage here")
    o.add_argument("--worst", action="store_true",
                   help="the frames with the lowest artery or vein Dice instead of a spread")
    o.add_argument("--tile", type=int, default=256)
    pr = sub.add_parser("precision", help="Dice of each precision (fp32, bf16, int8) on the "
                                         "validation split and its cost against fp32")
    pr.add_argument("model")
    pr.add_argument("--split", default=DEFAULT_SPLIT)
    pr.add_argument("--data-root", default=DEFAULT_DATA)
    pr.add_argument("--threads", type=int, default=2,
                    help="session threads (default 2; bf16/int8 results can depend on it)")
    pr.add_argument("--json", help="write the study here")
    pr.add_argument("--from-json", metavar="STUDY.json",
                    help="take the study from an earlier --json instead of measuring again")
    pr.add_argument("--card", metavar="CARD.md", help="write the section into this model card")
    pr.add_argument("--check", action="store_true",
                    help="with --card: exit 1 unless the card holds exactly this section (writes nothing)")
    ab = sub.add_parser("ablation", help="Markdown table comparing evaluation JSONs")
    ab.add_argument("runs", nargs="+", metavar="NAME=EVAL_JSON")
    c = sub.add_parser("card", help="write a model card")
    c.add_argument("model")
    c.add_argument("--eval", required=True, help="JSON of `evaluate --json`")
    c.add_argument("--history", required=True, help="history.json of venseg.toolkit.train")
    c.add_argument("--out", required=True)
    c.add_argument("--curves", required=True, help="PNG to write")
    c.add_argument("--overlay", help="montage PNG to link")
    c.add_argument("--other", nargs=2, metavar=("NAME", "EVAL_JSON"))
    c.add_argument("--storage-json", help="JSON {'text': ...} for the storage section")
    c.add_argument("--title", default="")
    c.add_argument("--extra-md", help="Markdown file appended before the curves")
    return p


def _check_card(path: str, block: str, what: str) -> int:
    """0 when the card at path holds block verbatim, else 1 (what: the block's name for the message)."""
    with open(path, encoding="utf-8") as fh:
        held = block in fh.read()
    print(f"venseg.toolkit.modelcard: {path} " + ("matches" if held else f"does NOT hold {what}"), file=sys.stderr)
    return 0 if held else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "evaluate":
        ev = evaluate_model(args.model, args.split, args.data_root, args.threads)
        block = metrics_block(ev)
        print(block)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(ev, fh, indent=1)
        if args.check:
            return _check_card(args.check, block, "this table")
        return 0
    if args.cmd == "overlays":
        if args.worst and not args.names:
            args.names = worst_frames(evaluate_model(args.model, args.split, args.data_root,
                                                     keep_rows=True), args.n)
        for p in render_overlays(args.model, args.split, args.data_root, args.out, args.names,
                                 args.n, args.tile, args.montage):
            print(p)
        return 0
    if args.cmd == "precision":
        if args.from_json:
            with open(args.from_json) as fh:
                st = json.load(fh)
        else:
            st = precision_study(args.model, args.split, args.data_root, args.threads)
        block = precision_block(st)
        print(block)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(st, fh, indent=1)
        if args.card:
            if args.check:
                return _check_card(args.card, block, "this precision section")
            with open(args.card, encoding="utf-8") as fh:
                card = fh.read()
            with open(args.card, "w", encoding="utf-8") as fh:
                fh.write(put_precision_block(card, block, os.path.basename(args.model), os.path.basename(args.card)))
            print(f"venseg.toolkit.modelcard: wrote the precision section of {args.card}", file=sys.stderr)
        return 0
    if args.cmd == "ablation":
        runs = []
        for item in args.runs:
            name, _, path = item.rpartition("=")
            with open(path) as fh:
                runs.append((name, json.load(fh)))
        print(ablation_table(runs), end="")
        return 0
    if args.cmd == "card":
        with open(args.eval) as fh:
            ev = json.load(fh)
        with open(args.history) as fh:
            hist = json.load(fh)
        other = None
        if args.other:
            with open(args.other[1]) as fh:
                other = (args.other[0], json.load(fh))
        storage = None
        if args.storage_json:
            with open(args.storage_json) as fh:
                storage = json.load(fh)
        extra = open(args.extra_md).read() if args.extra_md else ""
        plot_curves(hist, args.curves, args.title or os.path.basename(args.model))
        write_card(args.model, ev, hist, args.out, args.curves, args.overlay, other, storage,
                   args.title, extra)
        print(args.out)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
