"""How close is the phantom to real groin B-mode? Grey-level statistics side by side.

    VENSEG_LIBRARY=build/h-phantom/libvenseg.so PYTHONPATH=build/h-phantom/py:bindings/python \\
        build/venv/bin/python benchmarks/phantom_realism.py [--data ../shared/data] [--frames 20]

For ~20 real frames of each real set and ~20 phantom frames (cffi binding, numpy, Pillow;
matplotlib only for the figure) it measures:

- tissue grey levels: percentiles 5/25/50/75/95 of the B-mode pixels outside the vessel labels;
- lumen contrast: mean grey of each labelled lumen against a ring of tissue around it
  (from 0.25 to 0.75 equivalent radii outside the lumen, past the wall), as
  20 log10(lumen / ring) in dB of displayed grey, and as a grey-level difference;
- speckle size: FWHM of the autocorrelation of 32 x 32 px tissue patches, axial (down the
  image) and lateral, in px and, where the spacing is known or assumed, in mm.

Real frames (../shared/data, read-only; skipped with a message when absent):
- usgra-seg (T. M. K., github.com/tmkand/usgra-seg, CC BY 4.0): the groin frames of
  labels/assignments.json with labels/ (1 artery, 2 vein); the B-mode rows of the 512 x 512
  letterboxed frame. Spacing: not recorded; ASSUMED 0.078 mm/px (the 512 px wide image is
  taken as the ~40 mm footprint of the L14-6Ns probe, as docs/phantom_vs_real.py does).
- femoral-nerve-block (S. Gao et al. 2019, MIT): train/images JPEGs with
  vessel-labels/labels; frames with a high-confidence artery, one per look-alike group;
  hand-cropped, spacing unknown (px only); JPEG.

Phantom frames: seeds 1..N, frame 0 (at rest), default keys, at two geometries: the
usgra-seg field of view (512 x 330 px at 0.078 mm) and the default (256 x 256 at 0.15 mm).

Writes benchmarks/results/phantom-realism.json and .png (docs/phantom.md shows both).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
USGRA_MM = 0.078  # assumed, see the docstring
PATCH = 32
SHORT = ["usgra-seg\n(real)", "femoral nerve\nblock (real)", "phantom 512×330\nat 0.078 mm", "phantom 256×256\nat 0.15 mm"]  # the sets, in order


# ------------------------------------------------------------------ frames

def bmode_box(grey):
    """Rows and columns of the B-mode area: a letterbox or hand crop leaves black bands."""
    rows = np.where((grey > 20).mean(axis=1) > 0.05)[0]
    cols = np.where((grey > 20).mean(axis=0) > 0.05)[0]
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def usgra_frames(data, n):
    root = os.path.join(data, "usgra-seg")
    regions = json.load(open(os.path.join(root, "labels", "assignments.json")))
    out = []
    for rec in regions:
        if rec["region"] != "groin":
            continue
        lab = np.asarray(Image.open(os.path.join(root, "labels", rec["file"])))
        if not np.isin(lab, (1, 2)).any():
            continue
        grey = np.asarray(Image.open(os.path.join(root, "images", rec["file"])).convert("L"))
        r, c = bmode_box(grey)
        out.append(dict(name="usgra-seg/" + rec["file"], grey=grey[r, c], lab=lab[r, c], valid=np.ones_like(grey[r, c], bool),
                        mm=USGRA_MM))
        if len(out) == n:
            break
    return out


def fnb_frames(data, n):
    root = os.path.join(data, "femoral-nerve-block")
    groups, out = set(), []
    for line in open(os.path.join(root, "vessel-labels", "labels.jsonl")):
        rec = json.loads(line)
        if rec.get("group") in groups or not any(v["class"] == "artery" and v["confidence"] == "high"
                                                 for v in rec["vessels"]):
            continue
        groups.add(rec.get("group"))
        rgb = np.asarray(Image.open(os.path.join(root, "train", "images", rec["file"])).convert("RGB")).astype(int)
        lab = np.asarray(Image.open(os.path.join(root, "vessel-labels", "labels", rec["file"].replace(".jpg", ".png"))))
        grey = rgb.mean(axis=2).round().astype(np.uint8)
        grey_only = (np.ptp(rgb, axis=2) < 24)  # the scanner's coloured orientation mark is not tissue
        r, c = bmode_box(grey)
        out.append(dict(name="femoral-nerve-block/" + rec["file"], grey=grey[r, c], lab=lab[r, c],
                        valid=grey_only[r, c], mm=None))
        if len(out) == n:
            break
    return out


def phantom_frames(n, width, height, spacing):
    from venseg import _native as vn
    out = []
    for seed in range(1, n + 1):
        ph = vn.Phantom(seed=seed, width=width, height=height, frames=90, pixel_spacing=spacing)
        px, lab = ph.frame(0)
        out.append(dict(name=f"phantom seed {seed}", grey=px, lab=lab, valid=np.ones_like(px, bool), mm=spacing))
        ph.close()
    return out


# ------------------------------------------------------------------ measures

def dilate(mask, r):
    """Binary dilation by a disc of radius r px (numpy only; works on the mask's bounding box)."""
    r = int(math.ceil(r))
    out = np.zeros_like(mask, bool)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return out
    h, w = mask.shape
    y0, y1, x0, x1 = max(0, ys.min() - r), min(h, ys.max() + r + 1), max(0, xs.min() - r), min(w, xs.max() + r + 1)
    sub = np.pad(mask[y0:y1, x0:x1], r)
    hh, ww = y1 - y0, x1 - x0
    acc = np.zeros((hh, ww), bool)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy <= r * r:
                acc |= sub[r + dy:r + dy + hh, r + dx:r + dx + ww]
    out[y0:y1, x0:x1] = acc
    return out


def components(mask):
    """4-connected components of a boolean mask as a list of boolean masks (numpy only)."""
    seen = np.zeros_like(mask, bool)
    out = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        comp = np.zeros_like(mask, bool)
        stack = [(y0, x0)]
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            comp[y, x] = True
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        out.append(comp)
    return out


def lumen_contrasts(f):
    """(dB, ring - lumen grey, lumen grey) of each lumen (labels 1 and 2) of at least 100 px against its ring."""
    g = f["grey"].astype(float)
    any_vessel = np.isin(f["lab"], (1, 2, 3))
    res = []
    for value in (1, 2):
        for comp in components(f["lab"] == value):
            area = comp.sum()
            if area < 100:
                continue
            r_eq = math.sqrt(area / math.pi)
            ring = dilate(comp, 0.75 * r_eq) & ~dilate(comp, 0.25 * r_eq) & ~any_vessel & f["valid"]
            if ring.sum() < 50:
                continue
            lumen, tissue = g[comp & f["valid"]].mean(), g[ring].mean()
            res.append((20 * math.log10(max(lumen, 1.0) / max(tissue, 1.0)), tissue - lumen, lumen))
    return res


def fwhm(profile):
    """Full width at half maximum of a symmetric autocorrelation profile centred at len // 2."""
    c = len(profile) // 2
    p = profile / profile[c]
    for k in range(1, c):
        if p[c + k] < 0.5:
            # linear interpolation between k-1 and k
            return 2 * (k - 1 + (p[c + k - 1] - 0.5) / (p[c + k - 1] - p[c + k]))
    return float("nan")


def speckle(f, rng, patches=24):
    """Median axial and lateral FWHM (px) of the autocorrelation of tissue patches."""
    g = f["grey"].astype(float)
    ok = ~dilate(np.isin(f["lab"], (1, 2, 3)), 4) & f["valid"] & (g > 2)  # no vessel, no clipped black
    h, w = g.shape
    ax, lat = [], []
    tries = 0
    while len(ax) < patches and tries < 2000:
        tries += 1
        y = rng.integers(h // 10, h - PATCH)  # below the skin line
        x = rng.integers(0, w - PATCH)
        if not ok[y:y + PATCH, x:x + PATCH].all():
            continue
        p = g[y:y + PATCH, x:x + PATCH]
        p = p - p.mean()
        if p.std() < 1:
            continue
        F = np.fft.fft2(p, s=(2 * PATCH, 2 * PATCH))
        ac = np.fft.fftshift(np.real(np.fft.ifft2(F * np.conj(F))))
        c = PATCH
        ax.append(fwhm(ac[c - PATCH // 2:c + PATCH // 2 + 1, c]))
        lat.append(fwhm(ac[c, c - PATCH // 2:c + PATCH // 2 + 1]))
    ax, lat = np.array(ax), np.array(lat)
    return float(np.nanmedian(ax)) if len(ax) else float("nan"), float(np.nanmedian(lat)) if len(lat) else float("nan")


def measure(name, frames, seed=0):
    rng = np.random.default_rng(seed)
    tissue = np.concatenate([f["grey"][(f["lab"] == 0) & f["valid"]] for f in frames])
    contrasts = [c for f in frames for c in lumen_contrasts(f)]
    sp = [speckle(f, rng) for f in frames]
    axial = np.array([s[0] for s in sp])
    lateral = np.array([s[1] for s in sp])
    mm = frames[0]["mm"]
    r = dict(set=name, frames=len(frames), files=[f["name"] for f in frames],
             tissue_percentiles={str(q): float(np.percentile(tissue, q)) for q in (5, 25, 50, 75, 95)},
             tissue_mean=float(tissue.mean()),
             lumens=len(contrasts),
             lumen_contrast_db_median=float(np.median([c[0] for c in contrasts])) if contrasts else None,
             lumen_contrast_db_iqr=[float(np.percentile([c[0] for c in contrasts], q)) for q in (25, 75)] if contrasts else None,
             lumen_minus_ring_grey_median=float(-np.median([c[1] for c in contrasts])) if contrasts else None,
             lumen_grey_median=float(np.median([c[2] for c in contrasts])) if contrasts else None,
             speckle_fwhm_px=dict(axial=float(np.nanmedian(axial)), lateral=float(np.nanmedian(lateral))),
             pixel_spacing_mm=mm,
             speckle_fwhm_mm=(dict(axial=float(np.nanmedian(axial)) * mm, lateral=float(np.nanmedian(lateral)) * mm)
                              if mm else None),
             histogram=np.histogram(tissue, bins=64, range=(0, 256), density=True)[0].tolist())
    return r


# ------------------------------------------------------------------ output

def table(results):
    rows = ["| set | frames | tissue grey p5 / p25 / p50 / p75 / p95 | lumens | lumen grey | lumen vs ring, dB (IQR) "
            "| lumen − ring, grey | speckle FWHM axial × lateral, px | … mm |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p = r["tissue_percentiles"]
        mm = r["speckle_fwhm_mm"]
        mm_s = f"{mm['axial']:.2f} × {mm['lateral']:.2f}" if mm else "spacing unknown"
        if r["set"].startswith("usgra") and mm:
            mm_s += " (assumed spacing)"
        db = ("—" if r["lumen_contrast_db_median"] is None else
              f"{r['lumen_contrast_db_median']:.1f} ({r['lumen_contrast_db_iqr'][0]:.1f} … {r['lumen_contrast_db_iqr'][1]:.1f})")
        rows.append(f"| {r['set']} | {r['frames']} | {' / '.join(f'{p[q]:.0f}' for q in ('5', '25', '50', '75', '95'))} "
                    f"| {r['lumens']} | {r['lumen_grey_median']:.0f} | {db} | {r['lumen_minus_ring_grey_median']:.0f} "
                    f"| {r['speckle_fwhm_px']['axial']:.2f} × {r['speckle_fwhm_px']['lateral']:.2f} | {mm_s} |")
    return "\n".join(rows)


def figure(results, examples, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: no figure", file=sys.stderr)
        return False
    fig = plt.figure(figsize=(12, 6.4), dpi=72)
    grid = fig.add_gridspec(2, 12)
    n = len(examples)  # 4: three grid columns each
    for i, (title, f) in enumerate(examples):
        a = fig.add_subplot(grid[0, 3 * i:3 * i + 3])
        a.imshow(f["grey"], cmap="gray", vmin=0, vmax=255)
        a.contour(np.isin(f["lab"], (1, 2)), levels=[0.5], colors="c", linewidths=0.5)
        a.set_title(SHORT[i].replace("\n", " ") + ("" if i < 2 else ", frame 0"), fontsize=8)
        a.axis("off")
    assert n == 4
    a = fig.add_subplot(grid[1, 0:4])
    edges = np.linspace(0, 256, 65)
    centres = 0.5 * (edges[1:] + edges[:-1])
    for r in results:
        a.plot(centres, r["histogram"], label=r["set"])
    a.set_xlabel("grey level (tissue, outside the vessels)", fontsize=8)
    a.set_ylabel("density", fontsize=8)
    a.legend(fontsize=7)
    a.tick_params(labelsize=7)
    a = fig.add_subplot(grid[1, 4:8])
    x = np.arange(len(results))
    a.bar(x, [r["lumen_contrast_db_median"] for r in results], color="tab:blue")
    a.set_xticks(x, SHORT, fontsize=7)
    a.set_ylabel("lumen vs tissue ring, dB (median)", fontsize=8)
    a.tick_params(labelsize=7)
    a = fig.add_subplot(grid[1, 8:12])
    a.bar(x - 0.2, [r["speckle_fwhm_px"]["axial"] for r in results], 0.4, label="axial")
    a.bar(x + 0.2, [r["speckle_fwhm_px"]["lateral"] for r in results], 0.4, label="lateral")
    a.set_xticks(x, SHORT, fontsize=7)
    a.set_ylabel("speckle FWHM, px (median)", fontsize=8)
    a.legend(fontsize=7)
    a.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    Image.open(path).convert("RGB").quantize(96).save(path, optimize=True)  # keep the repository small
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "phantom-realism"))
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.data, "usgra-seg")) or not os.path.isdir(
            os.path.join(args.data, "femoral-nerve-block")):
        print(f"phantom_realism: no real frames under {args.data} (needs usgra-seg and femoral-nerve-block): skipped")
        return 0
    sets = [("usgra-seg groin (real)", usgra_frames(args.data, args.frames)),
            ("femoral-nerve-block (real)", fnb_frames(args.data, args.frames)),
            ("phantom 512×330 @ 0.078 mm", phantom_frames(args.frames, 512, 330, 0.078)),
            ("phantom 256×256 @ 0.15 mm (default)", phantom_frames(args.frames, 256, 256, 0.15))]
    results = [measure(name, frames, seed=i) for i, (name, frames) in enumerate(sets)]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    from venseg import _native as vn
    doc = dict(what="tissue grey percentiles, lumen contrast and speckle FWHM: real groin frames vs the phantom",
               script="benchmarks/phantom_realism.py", libvenseg=vn.version(), patch_px=PATCH,
               usgra_spacing_mm_assumed=USGRA_MM, sets=results)
    with open(args.out + ".json", "w") as fh:
        json.dump(doc, fh, indent=1)
    examples = [(name, frames[0]) for name, frames in sets]
    figure(results, examples, args.out + ".png")
    print(table(results))
    print("wrote", args.out + ".json", "and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
