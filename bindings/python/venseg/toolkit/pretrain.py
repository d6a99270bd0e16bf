"""Self-supervised pretraining of a whole segmentation network on unlabelled B-mode frames:
``python -m venseg.toolkit.pretrain --help``.

No ImageNet or ultrasound foundation weights can be had here, so the network first learns
B-mode texture from the frames themselves by *masked-image restoration*: random square
patches of the (augmented, letterboxed) frame are replaced by noise, a little speckle is
added everywhere, and the network (the same encoder and decoder as the segmentation model,
with a 1-channel linear head) restores the clean frame. The loss is L1 on the masked patches
plus a small L1 term elsewhere. Filling a patch needs the context around it (a dark round
lumen continues as one, a bright wall closes it), which is what segmentation needs too.

Frames: every image of the labelled data sets (their labels unused) except the validation
frames of ``--split``, and frames of the manifest's videos (cropped to their B-mode region).
``venseg.toolkit.train --init <out>/pretrained.pt`` then starts from these weights; the
segmentation head starts fresh. Checkpoints and ``--resume`` work as in ``train``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence

import numpy as np

from . import data as D
from .train import GREY_MEAN, GREY_STD, _save, build_model, learning_rate, load_resume_state

PRETRAIN_FORMAT = "venseg-pretrain-1"


def unlabelled_frames(data_root: str, datasets: Sequence[str], exclude: Sequence[str] = (),
                      video_every: int = 5, limit: Optional[int] = None) -> List[np.ndarray]:
    """Grey float32 frames: the images of ``datasets`` (minus the sample names in
    ``exclude``) and every ``video_every``-th frame of the manifest's videos."""
    man = D.read_manifest(data_root)
    skip = set(exclude)
    out: List[np.ndarray] = []
    for name in datasets:
        d = man[name]
        if "images" in d:
            folder = os.path.join(data_root, d["images"])
            files = sorted(f for f in os.listdir(folder)
                           if f.lower().endswith((".png", ".jpg", ".jpeg")))
            if limit:
                files = files[:limit]
            for f in files:
                if f"{name}/{os.path.splitext(f)[0]}" not in skip:
                    out.append(D.read_image(os.path.join(folder, f)))
        if "video" in d and video_every > 0:
            out += video_frames(os.path.join(data_root, d["video"]), d.get("bmode_roi_xywh"),
                                video_every, limit)
    if not out:
        raise SystemExit("venseg.toolkit.pretrain: no frames found")
    return out


def video_frames(path: str, roi: Optional[Sequence[int]], every: int,
                 limit: Optional[int] = None) -> List[np.ndarray]:
    """Every ``every``-th frame of a video as grey frames, cropped to ``roi`` (x, y, w, h);
    decoded by the ffmpeg program (none when it is missing)."""
    crop = f",crop={roi[2]}:{roi[3]}:{roi[0]}:{roi[1]}" if roi else ""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["ffmpeg", "-v", "error", "-i", path, "-vf",
               f"select=not(mod(n\\,{every})){crop},format=gray", "-vsync", "vfr",
               os.path.join(tmp, "f%05d.png")]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"venseg.toolkit.pretrain: {path}: no frames ({exc})", file=sys.stderr)
            return []
        files = sorted(os.listdir(tmp))[:limit] if limit else sorted(os.listdir(tmp))
        return [D.read_image(os.path.join(tmp, f)) for f in files]


def mask_patches(x, rng: np.random.Generator, patch: int, ratio: float, noise: float):
    """(corrupted input, mask) for a Bx1xHxW batch: about ``ratio`` of the patch grid cells
    replaced by Gaussian noise, plus multiplicative speckle of std ``noise`` everywhere."""
    import torch
    import torch.nn.functional as F

    b, _, h, w = x.shape
    gh, gw = math.ceil(h / patch), math.ceil(w / patch)
    cells = torch.from_numpy((rng.random((b, 1, gh, gw)) < ratio).astype(np.float32))
    m = F.interpolate(cells, scale_factor=patch, mode="nearest")[:, :, :h, :w]
    fill = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    speck = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)) * noise
    corrupted = (x + speck * (x * GREY_STD + GREY_MEAN)) * (1 - m) + fill * m
    return corrupted, m


def restoration_loss(pred, target, mask, visible_weight: float = 0.1):
    """L1 on the masked patches + ``visible_weight`` x L1 on the rest."""
    err = (pred - target).abs()
    masked = (err * mask).sum() / mask.sum().clamp_min(1.0)
    visible = (err * (1 - mask)).sum() / (1 - mask).sum().clamp_min(1.0)
    return masked + visible_weight * visible


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m venseg.toolkit.pretrain",
                                description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-root", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "..", "..", "shared", "data"))
    p.add_argument("--datasets", nargs="*",
                   default=["usgra-seg", "cca-momot", "femoral-nerve-block",
                            "flowave-brachial-video"])
    p.add_argument("--split", help="split.json whose 'val' frames are left out")
    p.add_argument("--video-every", type=int, default=5, help="every N-th video frame")
    p.add_argument("--limit-per-dataset", type=int, help="first N files per data set (tests)")
    p.add_argument("--arch", default="resnet34",
                   choices=["resnet18", "resnet34", "resnet50", "plain-unet"])
    p.add_argument("--base-channels", type=int, default=32)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--size", type=int, nargs=2, default=[160, 160], metavar=("W", "H"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--patch", type=int, default=16, help="masked patch side (network px)")
    p.add_argument("--mask-ratio", type=float, default=0.4)
    p.add_argument("--noise", type=float, default=0.1, help="speckle std on the input")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=0, help="minutes, then save and stop")
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    import torch

    from .augment import AugConfig, make_batch

    os.makedirs(args.out, exist_ok=True)
    last_path = os.path.join(args.out, "last.pt")
    state = load_resume_state(last_path, PRETRAIN_FORMAT, "pretrain") if args.resume else None
    if state is not None:
        keep = {k: getattr(args, k) for k in ("resume", "threads", "time_limit", "steps")}
        args = argparse.Namespace(**{**vars(args), **state["args"], **keep})
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    exclude: List[str] = []
    if args.split:
        with open(args.split) as fh:
            exclude = json.load(fh)["val"]
    frames = unlabelled_frames(args.data_root, args.datasets, exclude, args.video_every,
                               args.limit_per_dataset)
    samples = [D.Sample(f"frame/{i}", "unlabelled", f"frame/{i}", f,
                        np.zeros(f.shape, np.uint8)) for i, f in enumerate(frames)]
    log = open(os.path.join(args.out, "pretrain.log"), "a", buffering=1)

    def say(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    model = build_model(args.arch, args.base_channels, args.depth, classes=1)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, history = 0, []
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        say(f"resumed at step {step}")
    say(f"{len(frames)} unlabelled frames; {args.arch}; {args.steps} steps of {args.batch}")
    aug = AugConfig.exam()
    aug.copy_paste = 0.0  # no labels to paste
    aug.compress = 0.0
    model.train()
    t0 = t_start = time.time()

    def snapshot():
        return {"format": PRETRAIN_FORMAT, "args": vars(args), "step": step,
                "history": history, "optimizer": opt.state_dict(),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}

    run, n = 0.0, 0
    while step < args.steps:
        rng = np.random.default_rng([args.seed, step, 0x9E7])
        idx = rng.choice(len(samples), size=args.batch, replace=len(samples) < args.batch)
        x, _ = make_batch([samples[i] for i in idx], args.size[0], args.size[1], rng, aug,
                          GREY_MEAN, GREY_STD)
        inp, m = mask_patches(x, rng, args.patch, args.mask_ratio, args.noise)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, args.steps, args.lr, args.warmup, "cosine")
        loss = restoration_loss(model(inp), x, m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if not math.isfinite(float(loss)):
            raise FloatingPointError(f"loss is {float(loss)} at step {step}")
        step += 1
        run, n = run + float(loss), n + 1
        if step % 25 == 0 or step == args.steps:
            history.append({"step": step, "loss": run / n,
                            "samples_per_s": n * args.batch / (time.time() - t0)})
            say(f"step {step}/{args.steps} loss {run / n:.4f} "
                f"{n * args.batch / (time.time() - t0):.1f} samples/s")
            run, n, t0 = 0.0, 0, time.time()
            _save(snapshot(), last_path)
        if args.time_limit and (time.time() - t_start) / 60 > args.time_limit:
            break
    _save(snapshot(), last_path)
    if step >= args.steps:
        _save({"format": PRETRAIN_FORMAT, "arch": args.arch, "steps": step,
               "frames": len(frames), "history": history,
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}},
              os.path.join(args.out, "pretrained.pt"))
        say(f"done: {os.path.join(args.out, 'pretrained.pt')}")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
