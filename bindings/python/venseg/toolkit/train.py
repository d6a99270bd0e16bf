"""Train an artery / vein segmentation network: ``python -m venseg.toolkit.train --help``.

Defaults follow Chen et al. (iScience 2024): a UNet with a ResNet34 encoder
(segmentation_models_pytorch layout, ``venseg.toolkit.reference.ResNetUnet`` torchvision style),
two sigmoid outputs (artery, vein), loss BCE + log-Dice (smp ``DiceLoss(log_loss=True)``),
Adam, batch 32, horizontal flips. On top of that, what training on the data at hand needs:

* partial labels: each data set supervises only what it labels (``venseg.toolkit.data`` codes):
  the BCE of a channel is averaged over the pixels where that channel is known; a vessel of
  unknown class (usgra-seg label 3) is a noisy-OR term ``-log(1 - (1 - p_a)(1 - p_v))``;
  the log-Dice terms are per class over (batch, known pixels), the class set being artery,
  vein and vessel (``1 - (1 - p_a)(1 - p_v)`` where vessel-or-not is known), a class with
  no positive pixel in the batch giving 0 (as smp), mean over classes;
* augmentation (``venseg.toolkit.augment``; ``--aug full`` by default, ``--aug paper`` = flips only):
  scale, rotation, translation, elastic, gain, contrast, speckle, blur;
* letterbox resize to the input size with libvenseg's exact sampling (bilinear, half-pixel,
  zero padding); grey input (BT.601 luma), ``(x / 255 - 0.449) / 0.226``;
* validation split by recording series / near-duplicate group (``venseg.toolkit.data``), early
  stopping on the mean validation Dice, cosine learning-rate decay with a short warm-up;
* checkpoints (``<out>/last.pt`` every epoch and on ``--time-limit`` / Ctrl-C;
  ``<out>/best.pt`` in the converter's checkpoint format) and ``--resume``: a resumed run
  continues bit-for-bit (sampling and augmentation are seeded by (seed, epoch, batch));
* fixed seeds, a progress bar (tqdm when installed), CPU (bf16 autocast only where the CPU
  has AMX, else fp32) and CUDA (bf16 autocast, or fp16 with a grad scaler);
* ``--export model.vseg``: ``python -m venseg.toolkit.convert best.pt --fold-bn`` with the input
  specification and provenance metadata (data attribution, commit, recipe, metrics).

Data: ``--data-root ../shared/data --datasets usgra-seg cca-momot`` (the manifest in that
README), ``--labelme DIR`` (LabelMe JSON), ``--label-png IMAGES LABELS`` (label PNGs:
0 background, 1 artery, 2 vein, 3 vessel, 255 ignore), ``--phantom N`` (N synthetic
compression sequences rendered by libvenseg's phantom, fully labelled). The split is written to
``<out>/split.json`` and can be fixed with ``--split split.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import data as D

TRAIN_FORMAT = "venseg-train-1"
GREY_MEAN, GREY_STD = 0.449, 0.226

ATTRIBUTION = {
    "usgra-seg": "usgra-seg, T. M. K. (github.com/tmkand/usgra-seg), CC BY 4.0; labels/ "
                 "(artery/vein/vessel split of the upstream vessel masks) derived by the "
                 "libvenseg project",
    "cca-momot": "A. Momot, Common Carotid Artery Ultrasound Images, Mendeley Data V1 (2022), "
                 "doi:10.17632/d4xt63mgjm.1, CC BY 4.0 (subset via the mirror "
                 "github.com/vikasvs007/carotid_artery_detection-_DL_model)",
    "femoral-nerve-block": "femoral-nerve-block, S. Gao et al. (2019), MIT licence; "
                           "vessel-labels/ (artery/vein/vessel outlines with per-vessel "
                           "confidence) drawn by the libvenseg project",
}


# ------------------------------------------------------------------- models

def build_model(arch: str, base_channels: int = 32, depth: int = 4, in_channels: int = 1,
                classes: int = 2):
    """A freshly initialised model: ``resnet18|34|50`` (UNet with a torchvision-style
    encoder, upsample decoder 256-128-64-32-16, as smp.Unet) or ``plain-unet``."""
    import torch.nn as nn

    from . import reference as R

    if arch == "plain-unet":
        m = R.PlainUnet(in_channels, classes, base_channels, depth)
    elif arch in ("resnet18", "resnet34", "resnet50"):
        m = R.ResNetUnet(arch, "torchvision", "upsample", in_channels=in_channels,
                         classes=classes)
    else:
        raise ValueError(f"unknown architecture {arch!r}")
    # smp's initialisation: convs kaiming-uniform (fan_in, relu), BN 1/0, head xavier;
    # the torchvision encoder keeps torchvision's init (kaiming-normal fan_out)
    for name, mod in m.named_modules():
        if name.startswith("encoder"):
            continue
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_uniform_(mod.weight, mode="fan_in", nonlinearity="relu")
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)
    head = m.head if arch == "plain-unet" else m.segmentation_head[0]
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    return m


def load_resume_state(last_path: str, fmt: str, tool: str) -> Dict[str, Any]:
    """The checkpoint a --resume continues from, or a clear exit."""
    import torch

    if not os.path.exists(last_path):
        raise SystemExit(f"venseg.toolkit.{tool}: --resume but {last_path} does not exist")
    state = torch.load(last_path, map_location="cpu")
    if not isinstance(state, dict) or state.get("format") != fmt:
        raise SystemExit(f"{last_path}: not a {fmt} checkpoint")
    return state


def load_init(model, path: str) -> int:
    """Copy every tensor of a pretraining checkpoint whose name and shape match into
    ``model``; returns how many. The restoration head never matches the 2-class head."""
    import torch

    ck = torch.load(path, map_location="cpu")
    src = ck.get("state_dict", ck)
    own = model.state_dict()
    take = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
    if not take:
        raise SystemExit(f"venseg.toolkit.train: --init {path}: no tensor matches this model")
    own.update(take)
    model.load_state_dict(own)
    return len(take)


# --------------------------------------------------------------------- loss

def _log1mexp(q):
    """log(1 - exp(q)) for q < 0, stable."""
    import torch

    q = q.clamp_max(-1e-7)
    return torch.where(q > -0.6931471805599453, torch.log(-torch.expm1(q)),
                       torch.log1p(-torch.exp(q)))


def partial_loss(logits, codes, dice_eps: float = 1e-7, dice_weight: float = 1.0,
                 low_weight: float = D.DEFAULT_LOW_WEIGHT, thrombus_weight: float = 1.0):
    """BCE + log-Dice with per-pixel, per-class supervision weights from ``codes``
    (``venseg.toolkit.data.code_tables``: a low-confidence artery/vein call weighs
    ``low_weight`` on its class and ``1 - low_weight`` on "vessel"; a thrombus pixel
    ``thrombus_weight``).

    logits: Bx2xHxW (artery, vein); codes: BxHxW int64 (venseg.toolkit.data). Returns
    (total, {"bce": ..., "dice": ...}) with floats in the dict."""
    import torch
    import torch.nn.functional as F

    dev = logits.device
    tab = {k: torch.as_tensor(v, device=dev) for k, v in D.code_tables(low_weight, thrombus_weight).items()}
    za, zv = logits[:, 0].float(), logits[:, 1].float()
    ta, ma = tab["CODE_TARGET_A"][codes], tab["CODE_MASK_A"][codes]
    tv, mv = tab["CODE_TARGET_V"][codes], tab["CODE_MASK_V"][codes]
    mvs = tab["CODE_VESSEL"][codes]
    log_none = F.logsigmoid(-za) + F.logsigmoid(-zv)   # log P(neither artery nor vein)
    bce = (F.binary_cross_entropy_with_logits(za, ta, reduction="none") * ma).sum() \
        + (F.binary_cross_entropy_with_logits(zv, tv, reduction="none") * mv).sum() \
        + (-_log1mexp(log_none) * mvs).sum()
    bce = bce / (ma.sum() + mv.sum() + mvs.sum()).clamp_min(1.0)

    pa, pv = torch.sigmoid(za), torch.sigmoid(zv)
    p_vessel = 1.0 - torch.exp(log_none)
    # vessel-or-not is known where both channels are known, and on "vessel" pixels
    m_vs = ma * mv + mvs
    t_vs = torch.clamp(ta + tv, max=1.0) * ma * mv + mvs
    terms = []
    for p, t, m in ((pa, ta, ma), (pv, tv, mv), (p_vessel, t_vs, m_vs)):
        tm = t * m
        if float(tm.sum()) <= 0:
            continue  # smp: classes without ground truth in the batch add 0
        inter = (p * tm).sum()
        card = (p * m).sum() + tm.sum()
        dice = 2.0 * inter / card.clamp_min(dice_eps)
        terms.append(-torch.log(dice.clamp_min(dice_eps)))
    dice_loss = torch.stack(terms).mean() if terms else bce.new_zeros(())
    total = bce + dice_weight * dice_loss
    return total, {"bce": float(bce.detach()), "dice": float(dice_loss.detach())}


# --------------------------------------------------------------- validation

def predict_labels(probs):
    """libvenseg's labelling: the most probable class if its probability > 0.5, else 0.
    probs: Bx2xHxW -> BxHxW uint8 (0, 1 artery, 2 vein)."""
    import torch

    pmax, arg = probs.max(dim=1)
    return torch.where(pmax > 0.5, arg + 1, torch.zeros_like(arg)).to(torch.uint8)


def quick_validate(model, samples, size, device, amp_dtype=None, batch: int = 8):
    """Pooled Dice per (data set, class) at the network resolution (for early stopping;
    the model card's numbers come from venseg.toolkit.modelcard through the C library)."""
    import torch

    from .augment import make_batch

    model.eval()
    counts: Dict[str, np.ndarray] = {}
    with torch.no_grad():
        for i in range(0, len(samples), batch):
            chunk = samples[i:i + batch]
            x, c = make_batch(chunk, size[0], size[1], None, None, GREY_MEAN, GREY_STD)
            x = x.to(device)
            with _autocast(device, amp_dtype):
                probs = torch.sigmoid(model(x).float())
            lab = predict_labels(probs).cpu().numpy()
            c = c.numpy()
            ka, kv = D.CODE_MASK_A[c] > 0, D.CODE_MASK_V[c] > 0
            ta, tv = D.CODE_TARGET_A[c] > 0, D.CODE_TARGET_V[c] > 0
            kvs = (ka & kv) | (c == D.VESSEL)
            tvs = ((ta | tv) & ka & kv) | (c == D.VESSEL)
            for j, s in enumerate(chunk):
                for cls, pred, truth, known in (
                        ("artery", lab[j] == 1, ta[j], ka[j]),
                        ("vein", lab[j] == 2, tv[j], kv[j]),
                        ("vessel", lab[j] > 0, tvs[j], kvs[j])):
                    if cls not in s.evaluates:
                        continue
                    p, t = pred & known[...], truth & known[...]
                    k = f"{s.dataset}/{cls}"
                    counts.setdefault(k, np.zeros(3, np.int64))
                    counts[k] += [int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())]
    model.train()
    out = {}
    for k, (tp, fp, fn) in counts.items():
        out[k] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 1.0
    return out


def val_score(metrics: Dict[str, float]) -> float:
    """Mean of the artery and vein Dice values over data sets (the early-stopping score)."""
    vals = [v for k, v in metrics.items() if k.endswith("/artery") or k.endswith("/vein")]
    return float(np.mean(vals)) if vals else 0.0


# ------------------------------------------------------------------ devices

def cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return "amx_bf16" in line.split()
    except OSError:
        pass
    return False


def pick_amp(device, amp: str):
    import torch

    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_amx() else None


class _autocast:
    def __init__(self, device, dtype):
        import torch

        self.ctx = torch.autocast(device.type, dtype=dtype) if dtype is not None else None

    def __enter__(self):
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *a):
        if self.ctx is not None:
            return self.ctx.__exit__(*a)
        return False


# --------------------------------------------------------------- schedule

def learning_rate(step: int, total: int, base: float, warmup: int, schedule: str,
                  min_ratio: float = 0.01) -> float:
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    if schedule == "const":
        return base
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def epoch_indices(train: Sequence[D.Sample], weights: Dict[str, float], n: int, seed: int,
                  epoch: int, thrombus_oversample: float = 1.0) -> np.ndarray:
    """The samples of one epoch: n draws without replacement within a pass (weighted by
    data set), seeded by (seed, epoch). ``thrombus_oversample``: a sample showing a
    thrombus is drawn that many times as often as the others of its data set (whose
    share of the epoch stays the same)."""
    rng = np.random.default_rng([seed, epoch, 0x5EED])
    within = np.array([thrombus_oversample if thrombus_oversample != 1.0 and
                       (s.codes == D.THROMBUS).any() else 1.0 for s in train], np.float64)
    mass: Dict[str, float] = {}
    counts: Dict[str, int] = {}
    for s, m in zip(train, within):
        counts[s.dataset] = counts.get(s.dataset, 0) + 1
        mass[s.dataset] = mass.get(s.dataset, 0.0) + m
    w = np.array([weights.get(s.dataset, counts[s.dataset]) * m / mass[s.dataset]
                  for s, m in zip(train, within)], np.float64)
    w = w / w.sum()
    out: List[int] = []
    while len(out) < n:
        k = min(n - len(out), len(train))
        out.extend(rng.choice(len(train), size=k, replace=False, p=w).tolist())
    return np.array(out, np.int64)


def git_commit(repo: str) -> str:
    try:
        r = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                           text=True, timeout=10)
        if r.returncode == 0:
            dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--",
                                    "bindings/python/venseg"], capture_output=True, text=True,
                                   timeout=10).stdout.strip()
            return r.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


# ------------------------------------------------------------------- data

def load_samples(args) -> List[D.Sample]:
    samples: List[D.Sample] = []
    if args.datasets:
        samples += D.load_manifest(args.data_root, args.datasets, limit=args.limit_per_dataset)
    for d in args.labelme or []:
        samples += D.load_labelme_dir(d, dataset=f"labelme:{os.path.basename(os.path.normpath(d))}",
                                      group_regex=args.group_regex)
    for imgs, labs in args.label_png or []:
        samples += D.load_label_png_dir(imgs, labs,
                                        dataset=f"labelpng:{os.path.basename(os.path.normpath(imgs))}",
                                        group_regex=args.group_regex)
    if args.phantom:
        samples += D.load_phantom(args.phantom, args.phantom_frames, args.seed, exam=args.phantom_exam)
    if not samples:
        raise SystemExit("venseg.toolkit.train: no training data (--datasets, --labelme, --label-png)")
    return samples


def make_split(samples, args):
    """--split fixes the validation frames of the data sets it names; a data set it does not
    name at all (a new one) is split by group as without --split."""
    if not args.split:
        return D.split_by_group(samples, args.val_fraction, args.seed)
    with open(args.split) as fh:
        sp = json.load(fh)
    val_names = set(sp["val"])
    covered = {n.split("/")[0] for n in list(sp["val"]) + list(sp.get("train", []))}
    fixed = [s for s in samples if s.dataset in covered]
    new_train, new_val = D.split_by_group([s for s in samples if s.dataset not in covered],
                                          args.val_fraction, args.seed)
    return ([s for s in fixed if s.name not in val_names] + new_train,
            [s for s in fixed if s.name in val_names] + new_val)


def write_split(path: str, train, val, args) -> None:
    doc = {"format": "venseg-split-1", "seed": args.seed, "val_fraction": args.val_fraction,
           "rule": "whole groups per data set (cca-momot: series; usgra-seg: near-duplicate "
                   "groups by 48x48 thumbnail correlation >= 0.85; femoral-nerve-block: the "
                   "look-alike 'group' of labels.jsonl); data sets named by --split keep "
                   "its validation frames",
           "summary": D.split_summary(train, val),
           "val_groups": sorted({s.group for s in val}),
           "val": sorted(s.name for s in val), "train": sorted(s.name for s in train)}
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(doc, fh, indent=1)
    os.replace(tmp, path)


# -------------------------------------------------------------- checkpoint

def _save(obj, path: str) -> None:
    import torch

    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def model_metadata(model, args, metrics: Optional[Dict[str, float]] = None,
                   commit: str = "unknown", data_desc: str = "") -> Dict[str, Any]:
    meta = dict(model.vseg_metadata())
    meta.update({
        "input.channels": 1, "input.width": int(args.size[0]), "input.height": int(args.size[1]),
        "input.scale": 1.0 / 255.0, "input.mean": [GREY_MEAN], "input.std": [GREY_STD],
        "input.resize": "letterbox", "output.classes": list(D.CLASS_NAMES),
        "output.activation": "sigmoid", "output.threshold": 0.5, "provenance.trained": 1,
        "provenance.commit": commit, "provenance.recipe": recipe_string(args),
    })
    if data_desc:
        meta["provenance.data"] = data_desc
    if metrics is not None:
        meta["provenance.metrics"] = json.dumps(
            {"source": "venseg.toolkit.train quick validation (network resolution, pooled Dice)",
             **{k: round(v, 4) for k, v in metrics.items()}}, sort_keys=True)
    return meta


def is_training_checkpoint(path: str) -> bool:
    """--init names a checkpoint of this trainer (a fine-tune), not a pretraining one (which
    records its steps)."""
    try:
        import torch

        ck = torch.load(path, map_location="cpu")
        return isinstance(ck, dict) and "steps" not in ck
    except Exception:  # noqa: BLE001 - unreadable here: described as pretraining
        return False


def recipe_string(args) -> str:
    arch = args.arch if args.arch != "plain-unet" else \
        f"plain-unet base {args.base_channels} depth {args.depth}"
    init = ("from scratch (no pretrained weights)" if not getattr(args, "init", None) else
            f"fine-tuned from an earlier training run ({os.path.basename(args.init)})"
            if is_training_checkpoint(args.init) else
            f"initialised from self-supervised pretraining ({os.path.basename(args.init)})")
    low = getattr(args, "low_confidence_weight", D.DEFAULT_LOW_WEIGHT)
    thr = getattr(args, "thrombus_weight", 1.0)
    over = getattr(args, "thrombus_oversample", 1.0)
    drawn = "" if over == 1.0 else f" (frames with a thrombus drawn {over:g}x as often)"
    return (f"venseg.toolkit.train: {arch} {init}, input "
            f"{args.size[0]}x{args.size[1]} letterbox grey, loss BCE + log-Dice (partial "
            f"labels, low-confidence calls weight {low:g}"
            f"{'' if thr == 1.0 else f', phantom thrombus weight {thr:g}'}), Adam lr {args.lr:g} {args.schedule} "
            f"(warm-up {args.warmup} steps), "
            f"batch {args.batch}, {args.epochs} epochs x {args.samples_per_epoch or 'all'} "
            f"samples{drawn}, augmentation {args.aug}, seed {args.seed}, early stopping patience "
            f"{args.patience} on mean validation Dice")


def data_description(samples: Sequence[D.Sample]) -> str:
    names = sorted({s.dataset for s in samples})
    parts = [ATTRIBUTION.get(n, n) for n in names]
    return "; ".join(parts)


# -------------------------------------------------------------------- main

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m venseg.toolkit.train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data-root", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "..", "..", "shared", "data"),
        help="folder with the manifest README.md (../shared/data)")
    d.add_argument("--datasets", nargs="*", default=["usgra-seg", "cca-momot"],
                   help="manifest data sets to use (none: only --labelme / --label-png)")
    d.add_argument("--labelme", nargs="+", metavar="DIR", help="folders of LabelMe JSON files")
    d.add_argument("--label-png", nargs=2, action="append", metavar=("IMAGES", "LABELS"),
                   help="image folder + label-PNG folder (repeatable)")
    d.add_argument("--phantom", type=int, default=0, metavar="N",
                   help="add N synthetic compression sequences of libvenseg's phantom "
                        "(fully labelled; needs libvenseg)")
    d.add_argument("--phantom-frames", type=int, default=6, help="frames per phantom sequence")
    d.add_argument("--phantom-exam", action="store_true",
                   help="vary the exam-like phantom keys too (thrombus age, vein side and size, pulse, "
                        "breathing, speckle decorrelation, tilt, attenuation)")
    d.add_argument("--group-regex", help="regex whose group(1) is the split group of a user "
                   "file stem (default: stem without a trailing frame number)")
    d.add_argument("--dataset-weight", nargs="*", default=[], metavar="NAME=W",
                   help="share of each data set in an epoch (default: by size)")
    d.add_argument("--val-fraction", type=float, default=0.2)
    d.add_argument("--split", help="split.json to reuse (its 'val' names are validation)")
    d.add_argument("--limit-per-dataset", type=int, help="first N files per data set (tests)")
    m = p.add_argument_group("model")
    m.add_argument("--arch", default="resnet34",
                   choices=["resnet18", "resnet34", "resnet50", "plain-unet"])
    m.add_argument("--base-channels", type=int, default=32, help="plain-unet base channels")
    m.add_argument("--depth", type=int, default=4, help="plain-unet depth")
    m.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("W", "H"),
                   help="network input size (letterbox)")
    m.add_argument("--init", metavar="CKPT", help="start from these weights (a "
                   "venseg.toolkit.pretrain checkpoint): every tensor whose name and shape "
                   "match is loaded, the segmentation head stays freshly initialised")
    t = p.add_argument_group("optimisation")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--samples-per-epoch", type=int, default=0, help="0 = the training set size")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--schedule", choices=["cosine", "const"], default="cosine")
    t.add_argument("--warmup", type=int, default=20, help="linear warm-up steps")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--aug", choices=["exam", "full", "paper", "none"], default="full",
                   help="exam = full + probe compression, TGC bands, depth attenuation, "
                        "vessel copy-paste")
    t.add_argument("--low-confidence-weight", type=float, default=D.DEFAULT_LOW_WEIGHT,
                   help="weight of a low-confidence artery/vein call on its class (the rest "
                        "goes to 'vessel')")
    t.add_argument("--thrombus-weight", type=float, default=1.0,
                   help="weight of the phantom's thrombus pixels (vein) on both classes: real "
                        "frames show no clot and teach that echogenic content is tissue")
    t.add_argument("--thrombus-oversample", type=float, default=1.0, metavar="K",
                   help="draw frames showing a thrombus (phantom) K times as often as the other "
                        "frames of their data set; the data set's share stays")
    t.add_argument("--patience", type=int, default=15, help="early stopping (epochs; 0 = off)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = off)")
    t.add_argument("--time-limit", type=float, default=0,
                   help="minutes; save last.pt and stop when exceeded (resume later)")
    r = p.add_argument_group("run")
    r.add_argument("--out", required=True, help="output folder (checkpoints, log, split)")
    r.add_argument("--resume", action="store_true", help="continue from <out>/last.pt with "
                   "its configuration (--epochs and --patience may change it)")
    r.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    r.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto",
                   help="autocast: auto = bf16/fp16 on CUDA, bf16 on CPUs with AMX, else off")
    r.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    r.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    r.add_argument("--val-every", type=int, default=1, help="validate every N epochs")
    r.add_argument("--no-progress", action="store_true")
    e = p.add_argument_group("export")
    e.add_argument("--export", metavar="VSEG", help="write best.pt as .vseg when done")
    e.add_argument("--export-dtype", choices=["f32", "f16", "bf16", "q8"], default="f16")
    e.add_argument("--name", help="general.name of the exported model")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    if not args.thrombus_oversample > 0:
        raise SystemExit(f"venseg.toolkit.train: --thrombus-oversample {args.thrombus_oversample:g}: must be > 0")
    import torch

    from .augment import AugConfig, make_batch
    from .convert import CHECKPOINT_FORMAT

    os.makedirs(args.out, exist_ok=True)
    last_path = os.path.join(args.out, "last.pt")
    best_path = os.path.join(args.out, "best.pt")
    state = load_resume_state(last_path, TRAIN_FORMAT, "train") if args.resume else None
    if state is not None:
        # the run's own configuration wins, except what only steers this process
        keep = {k: getattr(args, k) for k in ("resume", "device", "threads", "no_progress",
                                              "time_limit", "export", "export_dtype", "name",
                                              "max_steps", "amp", "val_every")}
        given = argv if argv is not None else sys.argv[1:]
        # --epochs / --patience on a resume extend or shorten the schedule / early stopping
        override = {k: getattr(args, k) for k in ("epochs", "patience")
                    if f"--{k}" in given}
        defaults = vars(parser().parse_args(["--out", args.out]))
        args = argparse.Namespace(**{**defaults, **state["args"], **keep, **override})
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    amp_dtype = pick_amp(device, args.amp)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    t_load = time.time()
    samples = load_samples(args)
    train, val = make_split(samples, args)
    if state is not None:
        val_names = set(state["val_names"])
        train = [s for s in samples if s.name not in val_names]
        val = [s for s in samples if s.name in val_names]
    write_split(os.path.join(args.out, "split.json"), train, val, args)
    summ = D.split_summary(train, val)
    log = open(os.path.join(args.out, "train.log"), "a", buffering=1)

    def say(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    say(f"data: {len(train)} train / {len(val)} val samples {json.dumps(summ)} "
        f"(loaded in {time.time() - t_load:.1f} s)")
    if not train:
        raise SystemExit("venseg.toolkit.train: the training split is empty")

    model = build_model(args.arch, args.base_channels, args.depth)
    if getattr(args, "init", None) and state is None:
        loaded = load_init(model, args.init)
        say(f"initialised {loaded} tensors from {args.init}")
    model = model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scaler = torch.cuda.amp.GradScaler(enabled=device.type == "cuda" and amp_dtype == torch.float16)
    aug = {"exam": AugConfig.exam(), "full": AugConfig(), "paper": AugConfig.paper(),
           "none": AugConfig.none()}[args.aug]
    weights = {}
    for kv in args.dataset_weight:
        k, v = kv.split("=")
        weights[k] = float(v)
    per_epoch = args.samples_per_epoch or len(train)
    steps_per_epoch = max(1, per_epoch // args.batch)
    total_steps = steps_per_epoch * args.epochs

    epoch, batch_in_epoch, step = 0, 0, 0
    best, best_epoch, history = -1.0, -1, []
    run_loss = {"loss": 0.0, "bce": 0.0, "dice": 0.0, "n": 0}
    elapsed_before = 0.0  # seconds spent by earlier processes of this run
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        epoch, batch_in_epoch, step = state["epoch"], state["batch_in_epoch"], state["step"]
        best, best_epoch, history = state["best"], state["best_epoch"], state["history"]
        run_loss = dict(state.get("run_loss") or run_loss)
        elapsed_before = float(state.get("elapsed_s", 0.0))
        say(f"resumed from {last_path}: epoch {epoch}, batch {batch_in_epoch}, step {step}")
    commit = state["commit"] if state is not None else git_commit(
        os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    data_desc = data_description(samples)
    say(f"model {args.arch}{' base %d' % args.base_channels if args.arch == 'plain-unet' else ''}"
        f": {n_params:,} parameters; device {device}"
        f"{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, "
        f"threads {torch.get_num_threads()}, autocast {amp_dtype or 'off'}; input "
        f"{args.size[0]}x{args.size[1]}; {steps_per_epoch} steps/epoch x {args.epochs} epochs; "
        f"commit {commit}")

    def snapshot() -> Dict[str, Any]:
        return {"format": TRAIN_FORMAT, "args": {k: v for k, v in vars(args).items()},
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scaler": scaler.state_dict() if scaler.is_enabled() else None,
                "epoch": epoch, "batch_in_epoch": batch_in_epoch, "step": step,
                "best": best, "best_epoch": best_epoch, "history": history, "commit": commit,
                "run_loss": dict(run_loss), "elapsed_s": elapsed_before + time.time() - t0,
                "val_names": sorted(s.name for s in val), "n_params": n_params}

    stop = {"flag": False}

    def on_signal(signum, frame):  # noqa: ARG001
        stop["flag"] = True

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    t0 = time.time()
    use_bar = not args.no_progress
    try:
        from tqdm import tqdm as _tqdm
    except ImportError:
        _tqdm = None
    done_reason = "epochs"
    model.train()
    try:
        while epoch < args.epochs:
            idx = epoch_indices(train, weights, steps_per_epoch * args.batch, args.seed, epoch,
                                getattr(args, "thrombus_oversample", 1.0))
            bar = None
            if use_bar and _tqdm is not None:
                bar = _tqdm(total=steps_per_epoch, initial=batch_in_epoch, desc=f"epoch {epoch + 1}",
                            unit="step", leave=False, dynamic_ncols=True,
                            mininterval=1.0 if sys.stderr.isatty() else 30.0)
            if batch_in_epoch == 0:
                run_loss = {"loss": 0.0, "bce": 0.0, "dice": 0.0, "n": 0}
            t_ep = time.time()
            n_seen = 0
            while batch_in_epoch < steps_per_epoch:
                b = batch_in_epoch
                rng = np.random.default_rng([args.seed, epoch, b, 0xA06])
                chunk = [train[i] for i in idx[b * args.batch:(b + 1) * args.batch]]
                x, codes = make_batch(chunk, args.size[0], args.size[1], rng, aug,
                                      GREY_MEAN, GREY_STD, donors=train)
                x, codes = x.to(device), codes.to(device)
                if args.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                for g in opt.param_groups:
                    g["lr"] = learning_rate(step, total_steps, args.lr, args.warmup, args.schedule)
                with _autocast(device, amp_dtype):
                    logits = model(x)
                loss, parts = partial_loss(logits, codes,
                                           low_weight=getattr(args, "low_confidence_weight",
                                                              D.DEFAULT_LOW_WEIGHT),
                                           thrombus_weight=getattr(args, "thrombus_weight", 1.0))
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                if not math.isfinite(float(loss)):
                    raise FloatingPointError(f"loss is {float(loss)} at step {step}")
                step += 1
                batch_in_epoch += 1
                n_seen += len(chunk)
                run_loss["loss"] += float(loss)
                run_loss["bce"] += parts["bce"]
                run_loss["dice"] += parts["dice"]
                run_loss["n"] += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss):.3f}",
                                    sps=f"{n_seen / (time.time() - t_ep):.2f}")
                out_of_time = args.time_limit and (time.time() - t0) / 60 > args.time_limit
                if stop["flag"] or out_of_time or (args.max_steps and step >= args.max_steps):
                    break
            if bar is not None:
                bar.close()
            if batch_in_epoch < steps_per_epoch:  # interrupted mid-epoch
                done_reason = "signal" if stop["flag"] else (
                    "max-steps" if args.max_steps and step >= args.max_steps else "time-limit")
                _save(snapshot(), last_path)
                say(f"stopped ({done_reason}) at epoch {epoch + 1} batch {batch_in_epoch}, step "
                    f"{step}; saved {last_path} (resume with --resume --out {args.out})")
                break
            n = max(1, run_loss["n"])
            rec = {"epoch": epoch + 1, "step": step, "lr": opt.param_groups[0]["lr"],
                   "loss": run_loss["loss"] / n, "bce": run_loss["bce"] / n,
                   "dice_loss": run_loss["dice"] / n, "samples_per_s": n_seen / (time.time() - t_ep),
                   "wall_min": (elapsed_before + time.time() - t0) / 60}
            epoch += 1
            batch_in_epoch = 0
            if val and (epoch % args.val_every == 0 or epoch == args.epochs):
                vm = quick_validate(model, val, args.size, device, amp_dtype)
                rec["val"] = vm
                rec["val_score"] = val_score(vm)
                if rec["val_score"] > best:
                    best, best_epoch = rec["val_score"], epoch
                    meta = model_metadata(model, args, vm, commit, data_desc)
                    _save({"format": CHECKPOINT_FORMAT, "metadata": meta,
                           "state_dict": {k: v.detach().cpu() for k, v in
                                          model.state_dict().items()},
                           "epoch": epoch, "step": step, "val": vm}, best_path)
            history.append(rec)
            say(f"epoch {epoch}/{args.epochs} step {step} lr {rec['lr']:.2e} loss {rec['loss']:.4f} "
                f"(bce {rec['bce']:.4f}, log-dice {rec['dice_loss']:.4f}) "
                f"{rec['samples_per_s']:.2f} samples/s"
                + (f"; val {json.dumps({k: round(v, 3) for k, v in rec['val'].items()})} "
                   f"score {rec['val_score']:.4f} (best {best:.4f} @ {best_epoch})"
                   if "val" in rec else ""))
            _save(snapshot(), last_path)
            if args.patience and val and epoch - best_epoch >= args.patience:
                done_reason = "early-stopping"
                say(f"early stopping: no improvement for {args.patience} epochs")
                break
            if stop["flag"] or (args.time_limit and (time.time() - t0) / 60 > args.time_limit) \
                    or (args.max_steps and step >= args.max_steps):
                done_reason = "signal" if stop["flag"] else (
                    "max-steps" if args.max_steps and step >= args.max_steps else "time-limit")
                say(f"stopped ({done_reason}) after epoch {epoch}; resume with --resume --out {args.out}")
                break
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
    with open(os.path.join(args.out, "history.json"), "w") as fh:
        json.dump({"args": vars(args), "history": history, "best": best, "best_epoch": best_epoch,
                   "n_params": n_params, "commit": commit, "done": done_reason}, fh, indent=1)
    if not val and epoch > 0:  # no validation data: the last model is the one to keep
        meta = model_metadata(model, args, None, commit, data_desc)
        _save({"format": CHECKPOINT_FORMAT, "metadata": meta,
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}},
              best_path)
    if args.export and os.path.exists(best_path):
        from . import convert

        argv2 = [best_path, "-o", args.export, "--fold-bn", "--dtype", args.export_dtype]
        if args.name:
            argv2 += ["--name", args.name]
        rc = convert.main(argv2)
        if rc:
            return rc
        say(f"exported {args.export}")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
