"""Letterbox resampling and augmentation for ``venseg.train`` (torch).

``letterbox(w, h, nw, nh)`` is libvenseg's mapping (lib/core/frame.c ``vs_mapping_init``):
scale ``s = min(nw / w, nh / h)``, centred offsets ``o = (n - size * s) / 2`` (not rounded).
A network pixel (x, y) samples the frame at ``((x + 0.5 - ox) / s - 0.5, ...)`` bilinearly
with clamped borders, and is 0 (black, before normalisation) where its centre falls outside
the frame. ``grid_sample(align_corners=False, padding_mode="border")`` on normalised
coordinates ``2 fx / w - 1`` computes exactly that, so the identity transform reproduces the
C library's preprocessing; training uses the same path with a random transform composed in
front of it:

* geometry (output space, about the centre): horizontal flip, isotropic scale (zoom),
  rotation, translation, and an elastic displacement (a coarse Gaussian field upsampled
  bicubically); supervision codes are warped with nearest-neighbour sampling and the
  padding outside the frame is known background (code 0);
* intensity (0..255 grey, inside the frame): gain, contrast (gamma), multiplicative
  speckle (correlated Gaussian noise), Gaussian blur.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, asdict
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def letterbox(w: int, h: int, nw: int, nh: int, mode: str = "letterbox"):
    """(sx, sy, ox, oy) of libvenseg's frame -> network mapping."""
    sx, sy = nw / w, nh / h
    if mode == "letterbox":
        s = min(sx, sy)
        return s, s, (nw - w * s) / 2.0, (nh - h * s) / 2.0
    return sx, sy, 0.0, 0.0


@dataclass
class AugConfig:
    flip: float = 0.5            # probability of a horizontal flip (the paper's augmentation)
    scale: Tuple[float, float] = (0.8, 1.25)   # zoom range (log-uniform)
    rotate: float = 10.0         # degrees, uniform +-
    translate: float = 0.08      # fraction of the input size, uniform +-
    elastic: float = 0.02        # displacement std as a fraction of the size (0 = off)
    elastic_grid: int = 5        # control points per side of the elastic field
    p_elastic: float = 0.5
    gain: Tuple[float, float] = (0.7, 1.4)     # multiplicative, log-uniform
    gamma: Tuple[float, float] = (0.7, 1.4)    # contrast: 255 (x / 255) ^ gamma, log-uniform
    p_gamma: float = 0.5
    speckle: float = 0.2         # max std of multiplicative noise (uniform 0..speckle)
    p_speckle: float = 0.5
    blur: float = 1.2            # max Gaussian sigma in network pixels
    p_blur: float = 0.3

    @classmethod
    def paper(cls) -> "AugConfig":
        """Horizontal flips only (Chen et al.)."""
        return cls(scale=(1.0, 1.0), rotate=0.0, translate=0.0, elastic=0.0, p_elastic=0.0,
                   gain=(1.0, 1.0), p_gamma=0.0, p_speckle=0.0, p_blur=0.0)

    @classmethod
    def none(cls) -> "AugConfig":
        c = cls.paper()
        c.flip = 0.0
        return c

    def to_dict(self):
        return asdict(self)


def _base_coords(nw: int, nh: int) -> Tuple[torch.Tensor, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.arange(nh, dtype=torch.float64) + 0.5,
                            torch.arange(nw, dtype=torch.float64) + 0.5, indexing="ij")
    return xs, ys


def source_grid(w: int, h: int, nw: int, nh: int, rng: Optional[np.random.Generator],
                aug: AugConfig, mode: str = "letterbox"):
    """(grid 1xNHxNWx2 for grid_sample, inside mask NHxNW bool) for one frame."""
    xs, ys = _base_coords(nw, nh)
    if rng is not None:
        cx, cy = nw / 2.0, nh / 2.0
        z = math.exp(rng.uniform(math.log(aug.scale[0]), math.log(aug.scale[1])))
        a = math.radians(rng.uniform(-aug.rotate, aug.rotate))
        tx = rng.uniform(-aug.translate, aug.translate) * nw
        ty = rng.uniform(-aug.translate, aug.translate) * nh
        flip = rng.random() < aug.flip
        dx, dy = xs - cx, ys - cy
        if flip:
            dx = -dx
        # output pixel shows the point  c + R(-a) (d / z) - t  of the un-augmented input
        ca, sa = math.cos(a), math.sin(a)
        px = cx + (ca * dx + sa * dy) / z - tx
        py = cy + (-sa * dx + ca * dy) / z - ty
        if aug.elastic > 0 and rng.random() < aug.p_elastic:
            g = max(2, aug.elastic_grid)
            field = rng.normal(0.0, aug.elastic * max(nw, nh), (1, 2, g, g))
            f = F.interpolate(torch.from_numpy(field), size=(nh, nw), mode="bicubic",
                              align_corners=True)[0]
            px = px + f[0]
            py = py + f[1]
        xs, ys = px, py
    sx, sy, ox, oy = letterbox(w, h, nw, nh, mode)
    fx, fy = (xs - ox) / sx, (ys - oy) / sy
    inside = (fx >= 0) & (fx <= w) & (fy >= 0) & (fy <= h)
    grid = torch.stack([2 * fx / w - 1, 2 * fy / h - 1], dim=-1).float()[None]
    return grid, inside


def resample(image: np.ndarray, codes: Optional[np.ndarray], nw: int, nh: int,
             rng: Optional[np.random.Generator] = None, aug: Optional[AugConfig] = None,
             mode: str = "letterbox"):
    """Frame (float32 HxW 0..255) and codes (uint8 HxW) -> network-sized tensors
    (float32 NHxNW, 0 outside the frame; int64 NHxNW codes, 0 outside)."""
    h, w = image.shape
    grid, inside = source_grid(w, h, nw, nh, rng, aug or AugConfig.none(), mode)
    img = F.grid_sample(torch.from_numpy(np.ascontiguousarray(image, np.float32))[None, None],
                        grid, mode="bilinear", padding_mode="border", align_corners=False)[0, 0]
    img = img * inside.float()
    cod = None
    if codes is not None:
        c = F.grid_sample(torch.from_numpy(codes.astype(np.float32))[None, None], grid,
                          mode="nearest", padding_mode="border", align_corners=False)[0, 0]
        cod = torch.where(inside, c, torch.zeros_like(c)).round().long()
    return img, cod, inside


def _gauss_kernel(sigma: float) -> torch.Tensor:
    r = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def blur2d(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a HxW tensor (reflect borders)."""
    k = _gauss_kernel(sigma)
    r = (k.numel() - 1) // 2
    y = x[None, None]
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return y[0, 0]


def intensity(img: torch.Tensor, inside: torch.Tensor, rng: np.random.Generator,
              aug: AugConfig) -> torch.Tensor:
    """Random gain / gamma / speckle / blur of a 0..255 network-sized image."""
    x = img
    if aug.p_gamma > 0 and rng.random() < aug.p_gamma:
        g = math.exp(rng.uniform(math.log(aug.gamma[0]), math.log(aug.gamma[1])))
        x = 255.0 * (x.clamp(0, 255) / 255.0) ** g
    if aug.gain[0] != 1 or aug.gain[1] != 1:
        x = x * math.exp(rng.uniform(math.log(aug.gain[0]), math.log(aug.gain[1])))
    if aug.speckle > 0 and rng.random() < aug.p_speckle:
        s = rng.uniform(0.0, aug.speckle)
        n = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
        n = blur2d(n, 0.7) * 1.9  # correlated over ~2 px; x1.9 restores unit std
        x = x * (1.0 + s * n).clamp_min(0.0)
    if aug.blur > 0 and rng.random() < aug.p_blur:
        x = blur2d(x, rng.uniform(0.3, aug.blur))
    return x.clamp(0, 255) * inside.float()


def make_batch(samples: Sequence, nw: int, nh: int, rng: Optional[np.random.Generator],
               aug: Optional[AugConfig], mean: float, std: float, mode: str = "letterbox"):
    """(x Bx1xNHxNW normalised, codes BxNHxNW int64) for samples with .image and .codes;
    rng None = no augmentation (exactly libvenseg's preprocessing)."""
    xs: List[torch.Tensor] = []
    cs: List[torch.Tensor] = []
    aug = aug or AugConfig.none()
    for s in samples:
        img, cod, inside = resample(s.image, s.codes, nw, nh, rng, aug, mode)
        if rng is not None:
            img = intensity(img, inside, rng, aug)
        xs.append((img / 255.0 - mean) / std)
        cs.append(cod)
    return torch.stack(xs)[:, None], torch.stack(cs)
