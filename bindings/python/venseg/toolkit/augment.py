"""Letterbox resampling and augmentation for ``venseg.toolkit.train`` (torch).

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

``AugConfig.exam()`` adds what a compression exam looks like:

* probe compression: the vein (and, less, the tissue around it) squashed towards its
  centre along the depth axis with a smooth falloff, as a probe pressing from above does;
* time-gain-compensation bands (a smooth random gain over depth) and depth attenuation;
* copy-paste: a labelled vessel of another training frame (with a feathered rim of its
  surroundings) pasted into the frame, its supervision codes with it.

Laterality: horizontal flips stay on. A flipped groin frame is the other leg's view (the
femoral vein is medial, i.e. on the other side of the artery for the other leg), labels
flip with it, and a probe can be held either way round; so the network must not learn
"the vein is on the right". Where the vein is relative to the artery is for the tracker's
site and laterality settings to use, not for the network.
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
    compress: float = 0.0        # probability of squashing the vein as a probe would
    compress_range: Tuple[float, float] = (0.15, 1.0)  # remaining vein height fraction
    tgc: float = 0.0             # probability of random TGC bands
    tgc_db: float = 6.0          # max gain swing of a band (dB)
    attenuation: float = 0.0     # probability of extra depth attenuation
    attenuation_db: float = 10.0  # max attenuation at the deepest row (dB)
    copy_paste: float = 0.0      # probability of pasting a vessel from another frame

    @classmethod
    def exam(cls) -> "AugConfig":
        """The full set plus probe compression, TGC, attenuation and copy-paste."""
        return cls(compress=0.4, tgc=0.4, attenuation=0.3, copy_paste=0.3)

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
                aug: AugConfig, mode: str = "letterbox", squash=None):
    """(grid 1xNHxNWx2 for grid_sample, inside mask NHxNW bool) for one frame.
    ``squash`` (cx, cy, rx, ry, k) in frame pixels compresses the region around (cx, cy)
    along y to ``k`` of its height (probe compression)."""
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
    if squash is not None:
        fx, fy = probe_squash(fx, fy, *squash)
    inside = (fx >= 0) & (fx <= w) & (fy >= 0) & (fy <= h)
    grid = torch.stack([2 * fx / w - 1, 2 * fy / h - 1], dim=-1).float()[None]
    return grid, inside


def probe_squash(fx, fy, cx: float, cy: float, rx: float, ry: float, k: float):
    """Source coordinates that show the region around (cx, cy) squashed along y to ``k``
    of its height: a displayed point at dy from the centre samples the frame at dy / k
    inside the vein, blending smoothly to no squash a few radii away (the probe presses
    the tissue above and around the vein a little too)."""
    dx, dy = fx - cx, fy - cy
    wx = torch.exp(-0.5 * (dx / (1.6 * rx)) ** 2)
    wy = torch.exp(-0.5 * (dy / (2.5 * ry)) ** 2)
    wgt = wx * wy
    return fx, cy + dy * (wgt / k + (1.0 - wgt))


def vein_extent(codes: np.ndarray):
    """(cx, cy, rx, ry) of the largest-row-span vein pixels in a code map, or None."""
    from . import data as D

    ys, xs = np.nonzero(np.isin(codes, D.VEIN_CODES))
    if len(xs) < 20:
        return None
    return (float(xs.mean()), float(ys.mean()), max(2.0, float(xs.std()) * 2.0),
            max(2.0, float(ys.std()) * 2.0))


def resample(image: np.ndarray, codes: Optional[np.ndarray], nw: int, nh: int,
             rng: Optional[np.random.Generator] = None, aug: Optional[AugConfig] = None,
             mode: str = "letterbox"):
    """Frame (float32 HxW 0..255) and codes (uint8 HxW) -> network-sized tensors
    (float32 NHxNW, 0 outside the frame; int64 NHxNW codes, 0 outside)."""
    from . import data as D

    h, w = image.shape
    aug = aug or AugConfig.none()
    squash = None
    if rng is not None and codes is not None and aug.compress > 0 and rng.random() < aug.compress \
            and not (codes == D.THROMBUS).any():  # a clot does not squash
        ext = vein_extent(codes)
        if ext is not None:
            squash = ext + (rng.uniform(*aug.compress_range),)
    grid, inside = source_grid(w, h, nw, nh, rng, aug, mode, squash)
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
    depth = torch.linspace(0.0, 1.0, x.shape[0])[:, None]
    if aug.tgc > 0 and rng.random() < aug.tgc:
        # a smooth random gain over depth: 5 control points, cubic between them
        pts = torch.from_numpy(rng.uniform(-aug.tgc_db, aug.tgc_db, (1, 1, 5)))
        db = F.interpolate(pts, size=x.shape[0], mode="linear", align_corners=True)[0, 0]
        x = x * (10.0 ** (db.float() / 20.0))[:, None]
    if aug.attenuation > 0 and rng.random() < aug.attenuation:
        x = x * 10.0 ** (-rng.uniform(0.0, aug.attenuation_db) * depth / 20.0)
    return x.clamp(0, 255) * inside.float()


def paste_vessel(image: np.ndarray, codes: np.ndarray, donor, rng: np.random.Generator):
    """(image, codes) with one vessel of ``donor`` (and a feathered rim of its surroundings)
    pasted at a random place, scaled by the frames' width ratio; the inputs are unchanged."""
    from scipy import ndimage

    from . import data as D

    # a donor's sure vessels are labelled once and kept with it (every batch may draw it)
    if "sure_vessels" not in donor.meta:
        donor.meta["sure_vessels"] = ndimage.label(
            np.isin(donor.codes, (D.code(D.POS, D.NEG), D.code(D.NEG, D.POS), D.THROMBUS)))
    lab, n = donor.meta["sure_vessels"]
    if n == 0:
        return image, codes
    pick = int(rng.integers(1, n + 1))
    ys, xs = np.nonzero(lab == pick)
    if len(xs) < 30:
        return image, codes
    m = max(4, int(0.35 * max(xs.ptp(), ys.ptp())))
    y0, y1 = max(0, ys.min() - m), min(donor.image.shape[0], ys.max() + m + 1)
    x0, x1 = max(0, xs.min() - m), min(donor.image.shape[1], xs.max() + m + 1)
    s = image.shape[1] / donor.image.shape[1]
    ph, pw = max(4, int(round((y1 - y0) * s))), max(4, int(round((x1 - x0) * s)))
    h, w = image.shape
    if ph >= h or pw >= w:
        return image, codes
    zoom = (ph / (y1 - y0), pw / (x1 - x0))
    pimg = ndimage.zoom(donor.image[y0:y1, x0:x1], zoom, order=1)[:ph, :pw]
    pcod = ndimage.zoom(donor.codes[y0:y1, x0:x1], zoom, order=0)[:ph, :pw]
    pin = ndimage.zoom((lab[y0:y1, x0:x1] == pick).astype(np.float32), zoom, order=1)[:ph, :pw]
    ph, pw = pimg.shape
    # feathered alpha: the vessel and its rim, fading out over the margin
    alpha = np.clip(ndimage.gaussian_filter(
        ndimage.binary_dilation(pin > 0.5, iterations=max(2, m // 3)).astype(np.float32),
        max(1.0, m / 4)) * 1.5, 0, 1)
    ty, tx = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    img, cod = image.copy(), codes.copy()
    region = img[ty:ty + ph, tx:tx + pw]
    img[ty:ty + ph, tx:tx + pw] = alpha * pimg + (1 - alpha) * region
    own = alpha > 0.5
    cod[ty:ty + ph, tx:tx + pw][own] = pcod[own]
    return img, cod


def make_batch(samples: Sequence, nw: int, nh: int, rng: Optional[np.random.Generator],
               aug: Optional[AugConfig], mean: float, std: float, mode: str = "letterbox",
               donors: Optional[Sequence] = None):
    """(x Bx1xNHxNW normalised, codes BxNHxNW int64) for samples with .image and .codes;
    rng None = no augmentation (exactly libvenseg's preprocessing). ``donors``: the frames
    whose vessels copy-paste may take."""
    xs: List[torch.Tensor] = []
    cs: List[torch.Tensor] = []
    aug = aug or AugConfig.none()
    for s in samples:
        image, codes = s.image, s.codes
        if rng is not None and donors and aug.copy_paste > 0 and rng.random() < aug.copy_paste:
            image, codes = paste_vessel(image, codes, donors[int(rng.integers(len(donors)))], rng)
        img, cod, inside = resample(image, codes, nw, nh, rng, aug, mode)
        if rng is not None:
            img = intensity(img, inside, rng, aug)
        xs.append((img / 255.0 - mean) / std)
        cs.append(cod)
    return torch.stack(xs)[:, None], torch.stack(cs)
