"""The model in the loop: ``python -m venseg.toolkit.verdict_study --model weights/resunet34.vseg``.

Runs a shipped model and the tracker end to end (``Tracker.push_frame``: the session segments
every analysed frame, the tracker follows the vessels and gives the verdict) on three sets of
compression sequences and tabulates the verdicts against the truth:

* **phantom**: exam-like phantom sequences (``venseg_phantom_*``, rendered pixels, never the
  phantom's labels) with seeds >= 2**31. Training draws its phantom seeds with
  ``rng.integers(1, 2**31)`` (``venseg.toolkit.data.load_phantom``), so no sequence here was
  trained on. Normal, partial and occlusive thrombus (acute and chronic), heart rate 50-110,
  the vein on either side of the artery, larger or smaller than it, mild respiration and
  speckle decorrelation; 256 x 256 at 0.15 mm, 6 s at 30 fps with a 2.5 s baseline. Truth:
  the phantom's ``true_compressibility_percent``.
* **real**: compression sequences warped from real labelled frames of the *validation* split
  (``weights/validation-split.json``: femoral-nerve-block groin frames and usgra-seg frames
  with both an artery and a vein labelled; no frame of the split's validation groups was
  trained on). Each frame becomes a normal, a partially and a non-compressible sequence:
  rest with a pulsing artery, a probe press that squashes the vein toward its posterior
  wall while the artery flattens and the tissue above compresses, a hold and a release
  (``CompressionClip``). Truth: the vein area of the warped label mask.
* **flowave**: the real brachial cine of ``flowave-brachial-video`` (one pulsing artery in
  long axis, no vein), decoded with the FFmpeg CLI and segmented inside its B-mode region
  (``Session.set_roi``, as ``venseg analyze --roi``). It has no vein, so the right answer is
  ``INDETERMINATE``; it must never be ``COMPRESSIBLE``.

Every sequence is scored as **right** (the verdict is the truth's), **indeterminate**, or
**wrong** (another verdict); a wrong verdict is **wrong with no flag** when its flags hold
nothing beyond the informational ones (SPACING_UNKNOWN, NO_RELEASE, VESSELS_MERGED,
VEIN_INTERMITTENT): nothing warned the user. Truth verdicts use the tracker's default
thresholds: compressibility >= 90 % compressible, 25-90 % partially, < 25 % non-compressible.

The JSON (``--out``) holds every sequence with its parameters, the verdict, the flags, the
confidence fields of the summary, what the model saw (Dice of the model's vein and artery
against the truth on the first analysed frame, and which true structure the tracker's vein of
interest sat on) and its cost; ``--markdown`` writes the tables, and ``--doc FILE`` replaces
the part of FILE between ``<!-- verdict-study:begin -->`` and ``<!-- verdict-study:end -->``
with them.

Decision-support evaluation only: the phantom and the warped frames are models of an exam,
not patients.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DEFAULT_SPLIT = os.path.join(REPO, "weights", "validation-split.json")
DEFAULT_DATA = os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
DEFAULT_OUT = os.path.join(REPO, "benchmarks", "results", "verdict-study.json")
SAMPLE_IMAGE = os.path.join(REPO, "examples", "data", "groin_sample_227.png")
SAMPLE_LABEL = os.path.join(REPO, "examples", "data", "groin_sample_227_label.png")
BEGIN, END = "<!-- verdict-study:begin -->", "<!-- verdict-study:end -->"

#: Phantom seeds start here: training draws its phantom seeds from [1, 2**31).
PHANTOM_SEED_BASE = 2 ** 31
#: Flags that say something but do not warn that the verdict may be wrong.
INFORMATIONAL = ("SPACING_UNKNOWN", "NO_RELEASE", "VESSELS_MERGED", "VEIN_INTERMITTENT")
#: The tracker's default thresholds (venseg_tracking.h): >= 90 compressible, < 25 non-compressible.
COMPRESSIBLE_PERCENT, NONCOMPRESSIBLE_PERCENT = 90.0, 25.0
VERDICTS = ("INDETERMINATE", "COMPRESSIBLE", "PARTIALLY_COMPRESSIBLE", "NON_COMPRESSIBLE")
KINDS = ("normal", "partial", "non")
KIND_VERDICT = {"normal": "COMPRESSIBLE", "partial": "PARTIALLY_COMPRESSIBLE", "non": "NON_COMPRESSIBLE"}
FLOWAVE_VIDEO = os.path.join("flowave-brachial-video", "video", "DemoBMode.mov")
FLOWAVE_ROI = (30, 47, 468, 341)   # the B-mode area of the screen (the data manifest's bmode_roi_xywh)
FLOWAVE_DEPTH_MM = 25.0            # displayed depth over the ROI's height (PROVENANCE.md)
FLOWAVE_FPS = 29.97


def _vn():
    import venseg

    return venseg


# ------------------------------------------------------------------ scoring

def truth_verdict(percent: float) -> str:
    """The verdict the tracker's default thresholds give a true compressibility (%)."""
    if percent is None or not math.isfinite(percent):
        return "INDETERMINATE"
    if percent >= COMPRESSIBLE_PERCENT:
        return "COMPRESSIBLE"
    if percent >= NONCOMPRESSIBLE_PERCENT:
        return "PARTIALLY_COMPRESSIBLE"
    return "NON_COMPRESSIBLE"


def score(verdict: str, flags: Sequence[str], truth: str) -> Tuple[str, bool]:
    """(outcome, wrong with no flag): outcome 'right' (the truth's verdict; for a sequence
    without a vein, truth 'INDETERMINATE', that is the indeterminate verdict),
    'indeterminate', or 'wrong' (another verdict); a wrong verdict has 'no flag' when its
    flags hold nothing beyond the informational ones."""
    if verdict == truth:
        return "right", False
    if verdict == "INDETERMINATE":
        return "indeterminate", False
    return "wrong", not any(f not in INFORMATIONAL for f in flags)


def _finite(v) -> Optional[float]:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _short_flags(flags: int) -> List[str]:
    vn = _vn()
    return [n[len("VENSEG_FLAG_"):] if n.startswith("VENSEG_FLAG_") else n for n in vn.flag_names(flags)]


def _verdict_name(v: int) -> str:
    n = _vn().verdict_name(v)
    return n[len("VENSEG_VERDICT_"):] if n.startswith("VENSEG_VERDICT_") else n


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> Optional[Tuple[float, float]]:
    """Wilson score interval of a proportion k / n (95 % by default): a study of 66 or 100
    sequences measures a rate to about +-10 points, which is what two runs must differ by
    before the difference says more than which sequences happened to be drawn."""
    if n <= 0:
        return None
    p, z2 = k / n, z * z
    den = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_changes(rows: Sequence[dict], base_rows: Sequence[dict]) -> Dict[str, int]:
    """Sequence by sequence (the same id and kind in both runs): how many changed outcome,
    became right / stopped being right, and gained / lost an unflagged wrong verdict."""
    before = {(r["id"], r["kind"]): r for r in base_rows}
    c = {"matched": 0, "changed": 0, "to_right": 0, "from_right": 0, "new_wrong_no_flag": 0,
         "gone_wrong_no_flag": 0}
    for r in rows:
        b = before.get((r["id"], r["kind"]))
        if b is None:
            continue
        c["matched"] += 1
        if r["outcome"] != b["outcome"]:
            c["changed"] += 1
            c["to_right"] += r["outcome"] == "right"
            c["from_right"] += b["outcome"] == "right"
        c["new_wrong_no_flag"] += bool(r["wrong_no_flag"]) and not b["wrong_no_flag"]
        c["gone_wrong_no_flag"] += bool(b["wrong_no_flag"]) and not r["wrong_no_flag"]
    return c


def summarise(rows: Sequence[dict]) -> Dict[str, Any]:
    """Counts and rates of a study's rows (each with outcome, wrong_no_flag, measured and
    truth compressibility)."""
    n = len(rows)
    c = {k: sum(1 for r in rows if r["outcome"] == k) for k in ("right", "indeterminate", "wrong")}
    err = [abs(r["compressibility_percent"] - r["truth_percent"]) for r in rows
           if r["verdict"] != "INDETERMINATE" and r.get("compressibility_percent") is not None
           and r.get("truth_percent") is not None]
    per_kind: Dict[str, Dict[str, int]] = {}
    for r in rows:
        k = per_kind.setdefault(r["kind"], {"n": 0, "right": 0, "indeterminate": 0, "wrong": 0,
                                            "wrong_no_flag": 0})
        k["n"] += 1
        k[r["outcome"]] += 1
        k["wrong_no_flag"] += int(r["wrong_no_flag"])
    secs = [r["seconds"] for r in rows if r.get("seconds") is not None]
    return {
        "sequences": n, **c,
        "wrong_no_flag": sum(1 for r in rows if r["wrong_no_flag"]),
        "accuracy": c["right"] / n if n else None,
        "accuracy_ci95": wilson_interval(c["right"], n),
        "wrong_no_flag_ci95": wilson_interval(sum(1 for r in rows if r["wrong_no_flag"]), n),
        "accuracy_among_verdicts": c["right"] / (n - c["indeterminate"]) if n - c["indeterminate"] else None,
        "mean_abs_compressibility_error": float(np.mean(err)) if err else None,
        "verdicts_with_error": len(err),
        "compressible_verdicts": sum(1 for r in rows if r["verdict"] == "COMPRESSIBLE"),
        "per_kind": per_kind,
        "seconds_total": float(np.sum(secs)) if secs else None,
        "seconds_per_sequence": float(np.mean(secs)) if secs else None,
    }


# ------------------------------------------------------------------ library objects

def make_session(model, backend: str = "auto", precision: str = "fp32", threads: int = 2,
                 calibration_frames: Iterable[np.ndarray] = (), flip_average: bool = False):
    """A Session of model; precision 'int8' uses the model's stored int8 ranges, or, for a
    model without them, calibrates on calibration_frames first (experimental
    venseg_calibration_*). flip_average: the experimental VENSEG_OPT_FLIP_AVERAGE."""
    vn = _vn()
    extra = {"options": {"flip_average": 1}} if flip_average else {}
    if precision == "int8":
        try:
            return vn.Session(model, threads=threads, backend=backend, precision=precision, **extra)
        except vn.VensegError as exc:
            if exc.status != "VENSEG_E_UNSUPPORTED":
                raise
        cal = vn.Calibration(model)
        for f in calibration_frames:
            cal.add_frame(f)
        if not len(cal):
            raise ValueError("int8 needs calibration frames")
        return vn.Session(model, threads=threads, backend=backend, precision=precision, calibration=cal, **extra)
    return vn.Session(model, threads=threads, backend=backend, precision=precision, **extra)


def make_tracker(spacing_mm: float, fps: float, stride: int, medial_side: int,
                 site: str = "common_femoral") -> Tuple[Any, Dict[str, float]]:
    """A Tracker with the study's configuration; (tracker, the keys the library took).
    A key the linked library does not know yet (an older build) is left out and said so."""
    vn = _vn()
    cfg = vn.TrackerConfig(site=site)
    applied: Dict[str, float] = {}
    for k, v in (("pixel_spacing_x", spacing_mm), ("pixel_spacing_y", spacing_mm), ("frame_rate", fps),
                 ("frame_stride", stride), ("medial_side", medial_side)):
        try:
            cfg[k] = v
            applied[k] = float(v)
        except (vn.VensegError, ValueError):
            applied[k] = float("nan")
    try:
        return vn.Tracker(cfg), applied
    finally:
        cfg.close()


def summary_row(tracker) -> Dict[str, Any]:
    """The verdict, flags and numbers of a tracker's summary (confidence fields where the
    linked library's summary has them)."""
    s = tracker.summary()
    out = {
        "verdict": _verdict_name(s.verdict),
        "flags": _short_flags(s.flags),
        "compressibility_percent": _finite(s.compressibility_percent),
        "baseline_area_px": _finite(s.baseline_area_px),
        "min_area_px": _finite(s.min_area_px),
        "artery_deformation_percent": _finite(s.artery_deformation_percent),
        "frames_analysed": int(s.frames_analysed),
    }
    for f in ("verdict_confidence", "identity_confidence", "pressure_correlation"):
        if hasattr(s, f) or f != "pressure_correlation":
            out[f] = _finite(getattr(s, f, None))
    for f in ("medial_side", "medial_side_source", "identity_frames"):
        if hasattr(s, f):
            out[f] = int(getattr(s, f))
    out["vessels"] = vessels(tracker)
    return out


def vessels(tracker, limit: int = 3) -> List[Dict[str, Any]]:
    """The tracker's vessels with identity and evidence (venseg_tracker_vessel_at), the first
    ``limit``; [] where the linked library has none."""
    if hasattr(tracker, "vessels"):
        try:
            vs = tracker.vessels() if callable(tracker.vessels) else tracker.vessels
            return [_vessel_dict(v) for v in list(vs)[:limit]]
        except Exception:  # noqa: BLE001 - a binding in flux: fall back to the C calls
            pass
    vn = _vn()
    from venseg._native import ffi  # the binding's cffi objects

    lib = vn.library()
    if not hasattr(lib, "venseg_tracker_vessel_count"):
        return []
    n = ffi.new("int32_t *")
    if lib.venseg_tracker_vessel_count(tracker.handle, n) != 0:
        return []
    out = []
    for i in range(min(int(n[0]), limit)):
        v = ffi.new("venseg_vessel *")
        v.struct_size = ffi.sizeof("venseg_vessel")
        if lib.venseg_tracker_vessel_at(tracker.handle, i, v) != 0:
            break
        out.append({"track_id": int(v.track_id),
                    "identity": ffi.string(lib.venseg_identity_name(v.identity)).decode()
                    .replace("VENSEG_IDENTITY_", ""),
                    "role": int(v.role), "identity_confidence": _finite(v.identity_confidence),
                    "pulsatility_percent": _finite(v.pulsatility_percent),
                    "position_score": _finite(v.position_score),
                    "compressibility_percent": _finite(v.compressibility_percent),
                    "evidence": ffi.string(v.evidence).decode("utf-8", "replace")})
    return out


def _vessel_dict(v) -> Dict[str, Any]:
    import dataclasses

    d = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)} if dataclasses.is_dataclass(v) \
        else dict(getattr(v, "__dict__", {}))
    if isinstance(d.get("identity"), int):
        from venseg._native import ffi

        d["identity"] = ffi.string(_vn().library().venseg_identity_name(d["identity"])).decode() \
            .replace("VENSEG_IDENTITY_", "")
    keep = ("track_id", "identity", "role", "identity_confidence", "pulsatility_percent", "position_score",
            "compressibility_percent", "evidence")
    return {k: (_finite(d[k]) if isinstance(d[k], float) else int(d[k]) if isinstance(d[k], int) else d[k])
            for k in keep if k in d}


def _dice(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    s = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / s if s else None


def _centroid(mask: np.ndarray) -> Optional[Tuple[float, float]]:
    ys, xs = np.nonzero(mask)
    return (float(xs.mean()), float(ys.mean())) if len(xs) else None


def track_sequence(tracker, session, frames: Iterable[Tuple[int, Optional[np.ndarray], Optional[np.ndarray]]],
                   n_frames: int, stride: int) -> Dict[str, Any]:
    """Pushes n_frames frames; ``frames`` yields (index, pixels, truth labels) for the
    analysed ones (index % stride == 0). A frame the stride skips is never segmented: it is
    pushed as a copy of the last analysed frame (not rendered, to save the time).
    Returns what the model saw: the Dice of its vein and artery against the truth on the
    first analysed frame, and which true structure the tracker's vein (artery) of interest
    sat on where it first appeared."""
    truth_by_analysed: Dict[int, np.ndarray] = {}
    first: Dict[str, Any] = {}
    it = iter(frames)
    last = None
    analysed = 0
    t_model = 0.0
    for i in range(n_frames):
        if i % stride == 0:
            idx, px, lab = next(it)
            assert idx == i, (idx, i)
            last = px
            t0 = time.perf_counter()
            mask = tracker.push_frame(session, px)
            t_model += time.perf_counter() - t0
            assert mask is not None, "the tracker skipped a frame the stride should analyse"
            if lab is not None:
                truth_by_analysed[analysed] = lab
                if not first:
                    first = {"vein_dice": _dice(mask == 2, lab == 2), "artery_dice": _dice(mask == 1, lab == 1),
                             "model_vein_px": int((mask == 2).sum()), "model_artery_px": int((mask == 1).sum()),
                             "truth_vein_px": int((lab == 2).sum()), "truth_artery_px": int((lab == 1).sum())}
            analysed += 1
        else:
            tracker.push_frame(session, last)
    seen = dict(first)
    seen["seconds_model"] = t_model  # segmentation + tracking of the analysed frames
    if truth_by_analysed:
        for role in ("vein", "artery"):
            seen[f"{role}_of_interest_on"] = "none"
            for k, f in enumerate(tracker.frames()):
                if getattr(f, f"{role}_present") and k in truth_by_analysed:
                    x, y = getattr(f, f"{role}_centroid_x"), getattr(f, f"{role}_centroid_y")
                    lab = truth_by_analysed[k]
                    xi, yi = int(round(x)), int(round(y))
                    v = int(lab[min(max(yi, 0), lab.shape[0] - 1), min(max(xi, 0), lab.shape[1] - 1)])
                    seen[f"{role}_of_interest_on"] = {0: "background", 1: "artery", 2: "vein"}.get(v, f"label {v}")
                    break
    return seen


# ------------------------------------------------------------------ phantom

class _Phantom:
    """vn.Phantom with the study's keys; a key the linked library does not take (a build
    older than the phantom's exam keys) is left out and listed in ``skipped``."""

    def __init__(self, keys: Dict[str, float]):
        vn = _vn()
        from venseg._native import ffi

        self._ffi, self._lib = ffi, vn.library()
        cfg = vn.PhantomConfig()
        self.applied: Dict[str, float] = {}
        self.skipped: Dict[str, float] = {}
        for k, v in keys.items():
            try:
                cfg[k] = v
                self.applied[k] = float(v)
            except (vn.VensegError, ValueError):
                self.skipped[k] = float(v)
        p = ffi.new("venseg_phantom **")
        st = self._lib.venseg_phantom_create(cfg.handle, p)
        cfg.close()
        if st != 0:
            raise vn.VensegError(vn.status_name(st), vn.last_error())
        self._h = ffi.gc(p[0], self._lib.venseg_phantom_free)
        self.width, self.height = int(keys.get("width", 256)), int(keys.get("height", 256))
        self.frames = int(keys.get("frames", 90))

    def frame(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        ffi = self._ffi
        px = np.zeros((self.height, self.width), np.uint8)
        lab = np.zeros((self.height, self.width), np.uint8)
        st = self._lib.venseg_phantom_frame(self._h, index, ffi.cast("uint8_t *", px.ctypes.data), self.width,
                                            ffi.cast("uint8_t *", lab.ctypes.data), self.width)
        if st != 0:
            vn = _vn()
            raise vn.VensegError(vn.status_name(st), vn.last_error())
        return px, lab

    def truth(self, index: int) -> Dict[str, Any]:
        ffi = self._ffi
        t = ffi.new("venseg_phantom_truth *")
        t.struct_size = ffi.sizeof("venseg_phantom_truth")
        st = self._lib.venseg_phantom_truth_at(self._h, index, t)
        if st != 0:
            vn = _vn()
            raise vn.VensegError(vn.status_name(st), vn.last_error())
        return {f: getattr(t, f) for f, _ in ffi.typeof("venseg_phantom_truth").fields if f != "struct_size"}


def phantom_specs(count: int, seed: int = 0, frames: int = 180, baseline_s: float = 2.5,
                  size: int = 256, spacing: float = 0.15) -> List[Dict[str, Any]]:
    """``count`` exam-like phantom configurations, seeds PHANTOM_SEED_BASE + i (never drawn by
    training). Per 10: 4 normal, 3 partial, 3 occlusive thrombi; thrombi alternate acute and
    chronic; the vein alternates sides; larger and smaller veins alternate in pairs; heart
    rate, respiration, decorrelation, compression, noise, gain and a small probe slide drawn
    from a generator seeded by ``seed``."""
    rng = np.random.default_rng([seed, 0x5EED])
    kinds = ["normal"] * 4 + ["partial"] * 3 + ["non"] * 3
    out = []
    for i in range(count):
        kind = kinds[i % 10]
        larger = (i // 2) % 2 == 0
        keys = {
            "seed": PHANTOM_SEED_BASE + i, "width": size, "height": size, "frames": frames, "frame_rate": 30.0,
            "pixel_spacing": spacing, "vessels": 1,
            "thrombus": {"normal": 0, "partial": 1, "non": 2}[kind],
            "thrombus_age": (i // 10) % 2 if kind != "normal" else 0,
            "heart_rate": round(float(rng.uniform(50, 110)), 1),
            "vein_side": 1 + i % 2,
            "vein_to_artery": round(float(rng.uniform(1.2, 1.6) if larger else rng.uniform(0.75, 0.95)), 3),
            "respiration": round(float(rng.uniform(0.0, 0.10)), 3),
            "decorrelation": round(float(rng.uniform(0.0, 0.3)), 3),
            "compression": round(float(rng.uniform(0.95, 1.2)), 3),
            "noise": round(float(rng.uniform(0.03, 0.10)), 3),
            "gain_db": round(float(rng.uniform(-3, 3)), 2),
            "probe_motion": round(float(rng.uniform(0.0, 1.0)), 2),
            "baseline_s": baseline_s,
        }
        out.append({"id": f"seed {keys['seed']}", "kind": kind, "keys": keys,
                    "thrombus_age": ("chronic" if keys["thrombus_age"] else "acute") if kind != "normal" else ""})
    return out


def _render(ph: "_Phantom", analysed: List[int], workers: int, cache_dir: Optional[str],
            keys: Dict[str, Any]) -> Tuple[List[Tuple[np.ndarray, np.ndarray]], bool]:
    """The analysed frames (pixels, labels) of a phantom; with cache_dir, read from (or
    written to) an .npz there. A cached sequence is used only when its first frame equals a
    fresh rendering (frames depend only on the configuration and the index)."""
    path = None
    if cache_dir:
        import hashlib

        tag = hashlib.sha256(json.dumps({**keys, "_analysed": analysed}, sort_keys=True).encode()).hexdigest()[:16]
        path = os.path.join(cache_dir, f"phantom-{int(keys['seed'])}-{tag}.npz")
        if os.path.exists(path):
            with np.load(path) as z:
                px, lab = z["pixels"], z["labels"]
            f0 = ph.frame(analysed[0])
            if px.shape[0] == len(analysed) and np.array_equal(px[0], f0[0]) and np.array_equal(lab[0], f0[1]):
                return [(px[k], lab[k]) for k in range(len(analysed))], True
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:  # the GIL is released while rendering
        rendered = list(pool.map(ph.frame, analysed))
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + ".tmp.npz"
        np.savez(tmp, pixels=np.stack([r[0] for r in rendered]), labels=np.stack([r[1] for r in rendered]))
        os.replace(tmp, path)
    return rendered, False


def run_phantom(spec: Dict[str, Any], session, stride: int = 2, workers: int = 2,
                cache_dir: Optional[str] = None) -> Dict[str, Any]:
    """One phantom sequence through model and tracker; its row. cache_dir: keep the rendered
    frames there (a second run, e.g. with another tracker build, reads them back)."""
    t0 = time.perf_counter()
    ph = _Phantom(spec["keys"])
    n = ph.frames
    truth0 = ph.truth(0)
    analysed = list(range(0, n, stride))
    rendered, cached = _render(ph, analysed, workers, cache_dir, spec["keys"])
    t_render = time.perf_counter() - t0
    side = int(truth0.get("vein_side", 0) or 0)
    side_source = "truth"
    if side == 0:  # a library before the exam truth fields: the side from the first frame's labels
        a, v = _centroid(rendered[0][1] == 1), _centroid(rendered[0][1] == 2)
        side = (1 if v[0] > a[0] else -1) if a and v else 0
        side_source = "labels"
    sp = float(spec["keys"]["pixel_spacing"])
    tracker, tkeys = make_tracker(sp, float(spec["keys"]["frame_rate"]), stride, side)
    try:
        seen = track_sequence(tracker, session, ((i, px, lab) for i, (px, lab) in zip(analysed, rendered)), n, stride)
        row = summary_row(tracker)
    finally:
        tracker.close()
    truth = _finite(truth0["true_compressibility_percent"])
    tv = truth_verdict(truth)
    outcome, nf = score(row["verdict"], row["flags"], tv)
    return {"study": "phantom", "id": spec["id"], "kind": spec["kind"], "thrombus_age": spec.get("thrombus_age", ""),
            "truth_percent": truth, "truth_verdict": tv, **row, "outcome": outcome, "wrong_no_flag": nf,
            "medial_side_configured": side, "medial_side_from": side_source, "seen": seen,
            "phantom_keys": ph.applied, "phantom_keys_skipped": ph.skipped, "tracker_keys": tkeys,
            "seconds": time.perf_counter() - t0, "seconds_render": t_render, "frames_from_cache": cached}


# ------------------------------------------------------------------ real frames

def _largest(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask, structure=np.ones((3, 3), int))
    if n == 0:
        return np.zeros_like(mask, bool)
    sizes = ndi.sum(mask, lab, range(1, n + 1))
    return lab == 1 + int(np.argmax(sizes))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class CompressionClip:
    """A compression sequence warped from one labelled frame (grey image + labels 1 artery,
    2 vein; the largest component of each is the pair).

    Time course (frames at ``fps``): rest (``rest_s``), a press (raised cosine), a hold, a
    release, rest. Every frame is the image and its labels resampled through one smooth
    backward map (scipy.ndimage.map_coordinates; bilinear for the image, nearest for the
    labels), composed of

    * the **artery**: scaled about its centroid, periodically by +-``pulse`` (3-5 %, at the
      heart rate) and, with pressure p, flattened: height x (1 - a p), width x (1 + a p / 2),
      an aspect change of 12-22 % at full pressure; the warp fades out from 1.3 to 2.3 artery
      radii;
    * the **vein**: in each image column the vein's interval (the label grown by 2 px in depth
      and 4 px sideways, so a dark rim the outline missed goes with the lumen) is squashed to
      r(p) = 1 - (1 - s) p of its height, its anterior wall moving down 60 % of the loss and
      its posterior wall up 40 %; the tissue above and below stretches linearly to the skin
      and the bottom of the frame, so tissue fills what the lumen leaves. Near the vein's
      sides and beyond them the column maps are blurred sideways (sd 3 px; a weighted mean of
      monotone maps stays monotone, so nothing folds) and the tissue beside a steep side
      shears smoothly. s: normal 0-0.02 (area to <= 5 %), partial 0.45-0.65 (area to
      40-70 %), non 0.93-0.98 (a reduction of <= 15 %, the flattening artery beside it
      included). Dark pixels of a band around the vein (the label grown by 2-8 px, darker
      than the ring's 40th percentile) fade into the ring's tissue texture as the vein
      collapses, so a collapsed vein looks collapsed;
    * the **tissue above the vein** compressing by 3-6 % with pressure (deeper tissue
      stretching back to the fixed bottom of the frame);
    * mild noise (sd 2 grey levels) per frame.

    Truth: the vein label's area in the warped masks (``truth()``)."""

    def __init__(self, image: np.ndarray, labels: np.ndarray, kind: str, rng: np.random.Generator,
                 fps: float = 30.0, rest_s: float = 2.0, press_s: float = 0.8, hold_s: float = 1.0,
                 release_s: float = 0.6, tail_s: float = 0.6):
        from scipy import ndimage as ndi

        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {KINDS}")
        self.image = np.asarray(image, np.float32)
        self.labels = np.asarray(labels, np.uint8)
        self.kind, self.fps = kind, float(fps)
        h, w = self.image.shape
        self.h, self.w = h, w
        vein = _largest(self.labels == 2)
        artery = _largest(self.labels == 1)
        if vein.sum() < 30 or artery.sum() < 30:
            raise ValueError("the frame needs a labelled artery and vein")
        self.vein_label = vein
        seg = [rest_s, press_s, hold_s, release_s, tail_s]
        self.bounds = np.cumsum([0.0] + seg) * self.fps
        self.frames = int(round(self.bounds[-1]))
        # vein: per-column squash interval
        vd = ndi.binary_dilation(vein, structure=np.ones((5, 9), bool))  # 2 px in depth, 4 px sideways
        has = vd.any(0)
        top = np.full(w, h / 2.0)
        bot = np.full(w, h / 2.0)
        top[has] = np.argmax(vd[:, has], 0) - 0.5
        bot[has] = h - 1 - np.argmax(vd[::-1, has], 0) + 0.5
        self.top, self.bot, self.has = top, bot, has
        # columns well inside the vein keep their exact map (the lumen closes fully); near and
        # beyond its sides the blurred one (smooth shear)
        self.core = _smoothstep((ndi.distance_transform_edt(np.pad(has, 1))[1:-1] - 2.0) / 6.0)
        vy = np.nonzero(vein)[0]
        self.vein_depth = float(vy.mean())
        self.s = float({"normal": rng.uniform(0.0, 0.02), "partial": rng.uniform(0.45, 0.65),
                        "non": rng.uniform(0.93, 0.98)}[kind])
        self.alpha = 0.6
        self.blur = 3.0
        self.g = float(rng.uniform(0.03, 0.06))
        # artery
        ay, ax = np.nonzero(artery)
        self.acx, self.acy = float(ax.mean()), float(ay.mean())
        self.arx, self.ary = max(3.0, 2.0 * float(ax.std())), max(3.0, 2.0 * float(ay.std()))
        c = float(rng.uniform(0.12, 0.22))            # aspect change at full pressure
        self.aspect_change = c
        self.a = c / (1.5 - c / 2.0)
        self.pulse = float(rng.uniform(0.03, 0.05))
        self.heart_rate = float(rng.uniform(55, 100))
        self.phase = float(rng.uniform(0, 2 * np.pi))
        self.noise_seed = int(rng.integers(0, 2**31))
        # ring texture for the collapsing fringe
        ring = ndi.binary_dilation(vein, iterations=12) & ~ndi.binary_dilation(vein, iterations=4) & (self.labels == 0)
        ring_px = self.image[ring] if ring.any() else self.image[~vein]
        fringe = ndi.binary_dilation(vein, iterations=8) & ~ndi.binary_dilation(vein, iterations=2) & (self.labels == 0)
        dark = fringe & (self.image < np.percentile(ring_px, 40))
        trng = np.random.default_rng(self.noise_seed ^ 0x7E47)
        texture = ndi.gaussian_filter(trng.choice(ring_px, size=self.image.shape).astype(np.float32), 0.7)
        self.fill_weight = ndi.gaussian_filter(dark.astype(np.float32), 1.0) * (~vein)
        self.fill = texture
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # ---- time course
    def pressure(self, i: int) -> float:
        b = self.bounds
        if i < b[1] or i >= b[4]:
            return 0.0
        if i < b[2]:
            return float(0.5 - 0.5 * np.cos(np.pi * (i - b[1]) / (b[2] - b[1])))
        if i < b[3]:
            return 1.0
        return float(0.5 + 0.5 * np.cos(np.pi * (i - b[3]) / (b[4] - b[3])))

    def pulse_scale(self, i: int) -> float:
        return 1.0 + self.pulse * float(np.sin(2 * np.pi * self.heart_rate / 60.0 * i / self.fps + self.phase))

    # ---- the backward map, stage by stage (output -> source)
    def _global_back(self, y: np.ndarray, p: float) -> np.ndarray:
        """Tissue above the vein compressed by 1 + g p (content moves toward the probe),
        deeper tissue stretched back to the fixed bottom of the frame."""
        k = self.g * p
        yr = self.vein_depth / (1.0 + k)        # where the vein's depth lands
        hb = float(self.h)
        return np.where(y <= yr, y * (1.0 + k), self.vein_depth + (y - yr) * (hb - self.vein_depth) / (hb - yr))

    def _global_fwd(self, y: np.ndarray, p: float) -> np.ndarray:
        k = self.g * p
        yr = self.vein_depth / (1.0 + k)
        hb = float(self.h)
        return np.where(y <= self.vein_depth, y / (1.0 + k),
                        yr + (y - self.vein_depth) * (hb - yr) / (hb - self.vein_depth))

    def _vein_geometry(self, p: float, x: np.ndarray):
        """Per column (x, float): the vein's interval before (T, B) and after (to, bo) the
        squash, in the coordinates after the global stage."""
        cols = np.arange(self.w)
        top = self._global_fwd(self.top, p)
        bot = self._global_fwd(self.bot, p)
        r = 1.0 - (1.0 - self.s) * p
        d = np.where(self.has, (bot - top) * (1.0 - r), 0.0)
        T = np.interp(x, cols, top)
        B = np.interp(x, cols, bot)
        D = np.interp(x, cols, d)
        return T, B, T + self.alpha * D, B - (1.0 - self.alpha) * D

    def _vein_back_columns(self, x: np.ndarray, y: np.ndarray, p: float) -> np.ndarray:
        T, B, to, bo = self._vein_geometry(p, x)
        hb = float(self.h)
        up = y * T / np.maximum(to, 1e-6)
        mid = T + (y - to) * (B - T) / np.maximum(bo - to, 1e-6)
        down = B + (y - bo) * (hb - B) / np.maximum(hb - bo, 1e-6)
        return np.where(y < to, up, np.where(y <= bo, mid, down))

    def _vein_back(self, x: np.ndarray, y: np.ndarray, p: float) -> np.ndarray:
        """The column maps on the pixel grid, blurred along x (a weighted mean of monotone
        column maps is monotone: no folds; the vein's steep sides shear the tissue beside
        them smoothly), read at (x, y)."""
        from scipy import ndimage as ndi

        grid = self._vein_back_columns(np.arange(self.w, dtype=np.float64)[None, :], self.yy, p)
        blurred = ndi.gaussian_filter1d(grid, self.blur, axis=1, mode="nearest")
        grid = self.core[None, :] * grid + (1.0 - self.core[None, :]) * blurred  # weights per column only
        return ndi.map_coordinates(grid, [y, x], order=1, mode="nearest")

    def _vein_fwd_point(self, x: float, y: float, p: float) -> float:
        T, B, to, bo = (float(v) for v in self._vein_geometry(p, np.array([x])))
        hb = float(self.h)
        if y < T:
            return y * to / max(T, 1e-6)
        if y <= B:
            return to + (y - T) * (bo - to) / max(B - T, 1e-6)
        return bo + (y - B) * (hb - bo) / max(hb - B, 1e-6)

    def maps(self, i: int) -> Tuple[np.ndarray, np.ndarray]:
        """(source y, source x) of every output pixel of frame i."""
        p = self.pressure(i)
        pulse = self.pulse_scale(i)
        sy = (1.0 - self.a * p) * pulse
        sx = (1.0 + self.a * p / 2.0) * pulse
        cy = self._vein_fwd_point(self.acx, float(self._global_fwd(np.array(self.acy), p)), p)
        dx, dy = self.xx - self.acx, self.yy - cy
        rho = np.sqrt((dx / (self.arx * max(sx, 1.0))) ** 2 + (dy / (self.ary * max(sy, 1.0))) ** 2)
        phi = 1.0 - _smoothstep((rho - 1.3) / 1.0)
        x1 = self.xx + phi * (dx / sx - dx)
        y1 = self.yy + phi * (dy / sy - dy)
        yg = self._vein_back(x1, y1, p)
        return self._global_back(yg, p), x1

    def frame(self, i: int) -> Tuple[np.ndarray, np.ndarray]:
        """(grey uint8 image, uint8 labels) of frame i."""
        from scipy import ndimage as ndi

        ys, xs = self.maps(i)
        p = self.pressure(i)
        collapse = (1.0 - self.s) * p
        src = self.image if collapse <= 0 else self.image + collapse * self.fill_weight * (self.fill - self.image)
        img = ndi.map_coordinates(src, [ys, xs], order=1, mode="nearest")
        lab = ndi.map_coordinates(self.labels, [ys, xs], order=0, mode="constant", cval=0)
        noise = np.random.default_rng([self.noise_seed, i]).normal(0.0, 2.0, img.shape)
        return np.clip(img + noise + 0.5, 0, 255).astype(np.uint8), lab.astype(np.uint8)

    def params(self) -> Dict[str, float]:
        return {"frames": self.frames, "fps": self.fps, "squash_to": round(self.s, 4),
                "artery_aspect_change": round(self.aspect_change, 4), "pulse": round(self.pulse, 4),
                "heart_rate": round(self.heart_rate, 1), "tissue_compression": round(self.g, 4)}


def _aspect(mask: np.ndarray) -> Optional[float]:
    ys, xs = np.nonzero(mask)
    if len(xs) < 5 or xs.var() <= 0:
        return None
    return float(np.sqrt(ys.var() / xs.var()))


def real_frames(data_root: str, split_path: str, min_area: int = 200) -> List[Dict[str, Any]]:
    """Validation frames of the split with an artery and a vein labelled (each's largest
    component >= min_area px): femoral-nerve-block (vessel-labels) and usgra-seg (labels/)."""
    from .data import read_image, read_label

    with open(split_path, encoding="utf-8") as fh:
        split = json.load(fh)
    val = set(split["val"])
    train = set(split.get("train", []))
    src = {"femoral-nerve-block": ("femoral-nerve-block/train/images", "femoral-nerve-block/vessel-labels/labels"),
           "usgra-seg": ("usgra-seg/images", "usgra-seg/labels")}
    out = []
    for name in sorted(val, key=lambda s: (s.split("/")[0], int("".join(c for c in s if c.isdigit()) or 0))):
        ds, stem = name.split("/", 1)
        if ds not in src or name in train:
            continue
        img_dir, lab_dir = (os.path.join(data_root, d) for d in src[ds])
        lp = os.path.join(lab_dir, stem + ".png")
        ip = next((os.path.join(img_dir, stem + e) for e in (".png", ".jpg", ".jpeg")
                   if os.path.exists(os.path.join(img_dir, stem + e))), None)
        if ip is None or not os.path.exists(lp):
            continue
        lab = read_label(lp)
        if _largest(lab == 1).sum() < min_area or _largest(lab == 2).sum() < min_area:
            continue
        out.append({"name": name, "image": read_image(ip), "labels": lab, "image_path": ip, "label_path": lp})
    return out


def sample_frames() -> List[Dict[str, Any]]:
    """The committed groin validation frame (examples/data/groin_sample_227.png + label)."""
    from .data import read_image, read_label

    return [{"name": "femoral-nerve-block/sample_227 (examples/data)", "image": read_image(SAMPLE_IMAGE),
             "labels": read_label(SAMPLE_LABEL), "image_path": SAMPLE_IMAGE, "label_path": SAMPLE_LABEL}]


def run_real(item: Dict[str, Any], kind: str, session, seed: int = 0, index: int = 0,
             stride: int = 2) -> Dict[str, Any]:
    """One warped compression sequence of a real frame; its row."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, index, KINDS.index(kind), 0xC11B])
    clip = CompressionClip(item["image"], item["labels"], kind, rng)
    n = clip.frames
    analysed = list(range(0, n, stride))
    rendered = {}

    def gen():
        for i in analysed:
            px, lab = clip.frame(i)
            rendered[i] = (int((lab == 2).sum()), _aspect(lab == 1))
            yield i, px, lab

    lab0 = clip.labels
    a, v = _centroid(_largest(lab0 == 1)), _centroid(clip.vein_label)
    side = 1 if v[0] > a[0] else -1
    tracker, tkeys = make_tracker(0.0, clip.fps, stride, side)
    try:
        seen = track_sequence(tracker, session, gen(), n, stride)
        row = summary_row(tracker)
    finally:
        tracker.close()
    areas = [rendered[i][0] for i in analysed]
    rest = areas[0]
    truth = 100.0 * (rest - min(areas)) / rest if rest else None
    asp = [rendered[i][1] for i in analysed if rendered[i][1] is not None]
    artery_change = 100.0 * (1.0 - min(asp) / float(np.median(asp[: max(1, len(asp) // 3)]))) if asp else None
    tv = truth_verdict(truth)
    outcome, nf = score(row["verdict"], row["flags"], tv)
    return {"study": "real", "id": item["name"], "kind": kind, "truth_percent": truth, "truth_verdict": tv,
            **row, "outcome": outcome, "wrong_no_flag": nf, "medial_side_configured": side,
            "medial_side_from": "labels (the vein's side of the artery)", "seen": seen,
            "clip": {**clip.params(), "truth_artery_aspect_change_percent": artery_change,
                     "truth_rest_vein_px": rest, "truth_min_vein_px": min(areas)},
            "tracker_keys": tkeys, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------ FloWave

def flowave_frames(path: str) -> Iterator[np.ndarray]:
    """RGB frames (uint8 HxWx3) of a video, decoded by the ffmpeg CLI."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    w, h = (int(v) for v in probe.stdout.strip().split(",")[:2])
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                            stdout=subprocess.PIPE)
    size = w * h * 3
    try:
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.stdout.close()
        proc.wait()


def flowave_available(data_root: str) -> Tuple[bool, str]:
    path = os.path.join(data_root, FLOWAVE_VIDEO)
    if not os.path.exists(path):
        return False, f"{path} is absent"
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        return False, "the ffmpeg / ffprobe CLI is not on PATH"
    return True, path


def run_flowave(data_root: str, session, stride: int = 2, max_frames: int = 0) -> Dict[str, Any]:
    """The FloWave brachial cine through model and tracker inside its B-mode ROI; its row
    (truth: no vein, so INDETERMINATE is right and any verdict wrong)."""
    t0 = time.perf_counter()
    path = os.path.join(data_root, FLOWAVE_VIDEO)
    x, y, w, h = FLOWAVE_ROI
    session.set_roi(x, y, w, h)
    tracker, tkeys = make_tracker(FLOWAVE_DEPTH_MM / h, FLOWAVE_FPS, stride, 0)
    n = 0
    vein_frames = artery_frames = 0
    try:
        for n, rgb in enumerate(flowave_frames(path), 1):
            mask = tracker.push_frame(session, rgb)
            if mask is not None:
                vein_frames += int((mask == 2).any())
                artery_frames += int((mask == 1).any())
            if max_frames and n >= max_frames:
                break
        row = summary_row(tracker)
    finally:
        tracker.close()
        session.set_roi()
    outcome, nf = score(row["verdict"], row["flags"], "INDETERMINATE")
    return {"study": "flowave", "id": "DemoBMode.mov", "kind": "artery only", "truth_percent": None,
            "truth_verdict": "INDETERMINATE", **row, "outcome": outcome, "wrong_no_flag": nf,
            "never_compressible": row["verdict"] != "COMPRESSIBLE", "frames_pushed": n,
            "seen": {"analysed_frames_with_model_vein": vein_frames,
                     "analysed_frames_with_model_artery": artery_frames},
            "roi": list(FLOWAVE_ROI), "tracker_keys": tkeys, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------ the study

def run_study(model_path: str, data_root: str = DEFAULT_DATA, split_path: str = DEFAULT_SPLIT,
              phantom: int = 100, real: bool = True, real_limit: int = 0, kinds: Sequence[str] = KINDS,
              flowave: bool = True, stride: int = 2, seed: int = 0, backend: str = "auto",
              precision: str = "fp32", threads: int = 2, phantom_frames: int = 180, baseline_s: float = 2.5,
              cache_dir: Optional[str] = None, log=None, flip_average: bool = False) -> Dict[str, Any]:
    """Runs the studies; the result dict (what --out writes)."""
    vn = _vn()
    say = log or (lambda *a: None)
    model = vn.Model(model_path)
    cal_frames = []
    if precision == "int8":  # only for a model without int8 ranges: training-range phantom seeds
        for s in (11, 12, 13, 14):
            ph = _Phantom({"seed": s, "width": 256, "height": 256, "frames": 60})
            cal_frames += [ph.frame(i)[0] for i in (0, 25, 40)]
    session = make_session(model, backend, precision, threads, cal_frames, flip_average)
    result: Dict[str, Any] = {
        "format": "venseg-verdict-study-1",
        "library": vn.version(), "build": vn.build_info(), "model": os.path.relpath(model_path, REPO)
        if os.path.isabs(model_path) else model_path,
        "session": None, "precision": precision, "stride": stride, "seed": seed,
        "git": _git_head(), "command": None,
        "thresholds": {"compressible_percent": COMPRESSIBLE_PERCENT,
                       "noncompressible_percent": NONCOMPRESSIBLE_PERCENT},
        "informational_flags": list(INFORMATIONAL), "studies": {},
    }
    # warm up (the first frame plans the network)
    session.segment(np.zeros((256, 256), np.uint8))
    result["session"] = session.describe()
    if phantom:
        rows = []
        for k, spec in enumerate(phantom_specs(phantom, seed, phantom_frames, baseline_s)):
            r = run_phantom(spec, session, stride, workers=threads, cache_dir=cache_dir)
            rows.append(r)
            say(f"phantom {k + 1}/{phantom} {r['id']} {r['kind']}: truth {r['truth_verdict']} "
                f"({_fmt(r['truth_percent'])} %), verdict {r['verdict']} ({_fmt(r['compressibility_percent'])} %) "
                f"{'|'.join(r['flags'])} -> {r['outcome']}{' NO FLAG' if r['wrong_no_flag'] else ''} "
                f"[{r['seconds']:.1f} s]")
        result["studies"]["phantom"] = {"summary": summarise(rows), "rows": rows,
                                        "seed_base": PHANTOM_SEED_BASE}
    if real:
        if os.path.isdir(data_root) and os.path.exists(split_path):
            items = real_frames(data_root, split_path)
            source = f"validation split of {split_path}"
        else:
            items = sample_frames()
            source = "examples/data/groin_sample_227.png (the shared data is absent)"
        if real_limit:
            items = items[:real_limit]
        rows = []
        for k, item in enumerate(items):
            for kind in kinds:
                r = run_real(item, kind, session, seed, k, stride)
                rows.append(r)
                say(f"real {item['name']} {kind}: truth {r['truth_verdict']} ({_fmt(r['truth_percent'])} %), "
                    f"verdict {r['verdict']} ({_fmt(r['compressibility_percent'])} %) {'|'.join(r['flags'])} "
                    f"-> {r['outcome']}{' NO FLAG' if r['wrong_no_flag'] else ''} [{r['seconds']:.1f} s]")
        result["studies"]["real"] = {"summary": summarise(rows), "rows": rows, "source": source,
                                     "frames": [i["name"] for i in items]}
    if flowave:
        ok, why = flowave_available(data_root)
        if ok:
            r = run_flowave(data_root, session, stride)
            say(f"flowave: verdict {r['verdict']} {'|'.join(r['flags'])} -> {r['outcome']} [{r['seconds']:.1f} s]")
            result["studies"]["flowave"] = {"summary": summarise([r]), "rows": [r]}
        else:
            result["studies"]["flowave"] = {"skipped": why}
            say(f"flowave skipped: {why}")
    return result


def _git_head() -> Optional[str]:
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _fmt(v, nd: int = 1) -> str:
    return "–" if v is None else f"{v:.{nd}f}"


# ------------------------------------------------------------------ markdown

_ABBR = {"COMPRESSIBLE": "comp.", "PARTIALLY_COMPRESSIBLE": "partial", "NON_COMPRESSIBLE": "non-comp.",
         "INDETERMINATE": "indet."}


def _summary_line(name: str, tracker: str, st: Dict[str, Any]) -> str:
    if "summary" not in st:
        return f"| {name} | {tracker} | skipped: {st.get('skipped', '')} | | | | | | | |"
    s = st["summary"]
    n = s["sequences"]

    def ci(k: int) -> str:  # computed from the counts: results written before it have no interval
        lo, hi = wilson_interval(k, n) if n > 1 else (None, None)
        return "" if lo is None else f" ({100 * lo:.0f}–{100 * hi:.0f} %)"
    acc = "–" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f} %{ci(s['right'])}"
    err = "–" if s["mean_abs_compressibility_error"] is None else \
        f"{s['mean_abs_compressibility_error']:.1f} pt ({s['verdicts_with_error']})"
    return (f"| {name} | {tracker} | {n} | {s['right']} | {s['indeterminate']} | {s['wrong']} | "
            f"{s['wrong_no_flag']}{ci(s['wrong_no_flag'])} | {acc} | {err} | {_fmt(s['seconds_per_sequence'])} |")


def _label(result: Dict[str, Any]) -> str:
    return result.get("note") or f"git {result.get('git') or '?'}"


def markdown(result: Dict[str, Any], baseline: Optional[Dict[str, Any]] = None, title_level: int = 3,
             every: bool = True) -> str:
    """The tables of a result: a summary per study (and of a baseline result beside it), per
    study the counts per kind, the flags of the sequences that are not right and where the
    tracker's vein sat, those rows (collapsed), and with ``every`` every row (collapsed)."""
    h = "#" * title_level
    out = [f"Library {result['library']}, {_label(result)}; model `{result['model']}`; session: "
           f"{result['session']}; frame stride {result['stride']}."]
    if baseline:
        out[-1] += f" Baseline: {_label(baseline)}, session {baseline['session']}."
    names = {"phantom": "Phantom", "real": "Real-frame sequences", "flowave": "FloWave cine (no vein)"}
    out += ["", "| study | tracker | sequences | right | indeterminate | wrong | wrong, no flag | accuracy | "
            "mean abs. C error (n verdicts) | s / sequence |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, st in result["studies"].items():
        if baseline and key in baseline.get("studies", {}):
            out.append(_summary_line(names.get(key, key), "baseline", baseline["studies"][key]))
        out.append(_summary_line(names.get(key, key), "current" if baseline else _label(result), st))
    out += ["", "Rates with their 95 % Wilson intervals."]
    if baseline:
        for key, st in result["studies"].items():
            b = baseline.get("studies", {}).get(key, {})
            if "rows" not in st or "rows" not in b:
                continue
            c = paired_changes(st["rows"], b["rows"])
            out[-1] += (f" {names.get(key, key)}, sequence by sequence against the baseline: {c['changed']} of "
                        f"{c['matched']} changed outcome ({c['to_right']} became right, {c['from_right']} stopped "
                        f"being right); unflagged wrong {c['new_wrong_no_flag']} new, "
                        f"{c['gone_wrong_no_flag']} gone.")
    out.append("")
    for key, st in result["studies"].items():
        if "summary" not in st:
            continue
        rows = st["rows"]
        out += [f"{h} {names.get(key, key)}", ""]
        if key != "flowave":
            out += ["| kind | n | right | indeterminate | wrong | wrong, no flag |", "|---|---:|---:|---:|---:|---:|"]
            for kind, c in st["summary"]["per_kind"].items():
                out.append(f"| {kind} | {c['n']} | {c['right']} | {c['indeterminate']} | {c['wrong']} | "
                           f"{c['wrong_no_flag']} |")
            out.append("")
            flagc: Dict[str, int] = {}
            for r in rows:
                if r["outcome"] != "right":
                    for f in r["flags"] or ["(none)"]:
                        flagc[f] = flagc.get(f, 0) + 1
            if flagc:
                out += ["Flags of the sequences that are not right: " + ", ".join(
                    f"`{f}` {n}" for f, n in sorted(flagc.items(), key=lambda kv: -kv[1])) + ".", ""]
            seen: Dict[str, int] = {}
            for r in rows:
                if r["outcome"] != "right":
                    on = r.get("seen", {}).get("vein_of_interest_on", "?")
                    seen[on] = seen.get(on, 0) + 1
            if seen:
                out += ["Where the tracker's vein of interest sat (the first frame it was found in) in those: " +
                        ", ".join(f"{k} {n}" for k, n in sorted(seen.items(), key=lambda kv: -kv[1])) + ".", ""]
        bad = [r for r in rows if r["outcome"] != "right"]
        if key == "flowave":
            out += _row_table(rows) + [""]
            continue
        if bad:
            out += [f"<details><summary>the {len(bad)} sequences that are not right</summary>", ""] + \
                _row_table(bad) + ["", "</details>", ""]
        if every:
            out += ["<details><summary>every sequence</summary>", ""] + _row_table(rows) + ["", "</details>", ""]
    return "\n".join(out)


def _row_table(rows: Sequence[dict]) -> List[str]:
    # a library before the confidence fields leaves them 0: shown as "–"
    conf = any((r.get("verdict_confidence") or 0) > 0 or (r.get("identity_confidence") or 0) > 0 for r in rows)
    out = ["| sequence | kind | truth | verdict | C % (truth) | flags | verdict conf. | identity conf. | "
           "model vein Dice | vein of interest on | outcome |",
           "|---|---|---|---|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        kind = r["kind"] + (f" ({r['thrombus_age']})" if r.get("thrombus_age") else "")
        seen = r.get("seen", {})
        oc = r["outcome"] + (" **no flag**" if r["wrong_no_flag"] else "")
        out.append(f"| {r['id']} | {kind} | {_ABBR.get(r['truth_verdict'], r['truth_verdict'])} | "
                   f"{_ABBR.get(r['verdict'], r['verdict'])} | {_fmt(r['compressibility_percent'], 0)} "
                   f"({_fmt(r['truth_percent'], 0)}) | {' '.join(r['flags']) or '–'} | "
                   f"{_fmt(r.get('verdict_confidence') if conf else None, 2)} | "
                   f"{_fmt(r.get('identity_confidence') if conf else None, 2)} | "
                   f"{_fmt(seen.get('vein_dice'), 2)} | {seen.get('vein_of_interest_on', '–')} | {oc} |")
    return out


def replace_block(path: str, text: str) -> None:
    """Replaces what lies between BEGIN and END in path with text."""
    with open(path, encoding="utf-8") as fh:
        doc = fh.read()
    a, b = doc.find(BEGIN), doc.find(END)
    if a < 0 or b < a:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(doc[: a + len(BEGIN)] + "\n" + text.rstrip() + "\n" + doc[b:])


def _clean(o):
    """NaN -> None, numpy scalars -> Python, for strict JSON."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return float(o) if math.isfinite(float(o)) else None
    if isinstance(o, np.integer):
        return int(o)
    return o


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m venseg.toolkit.verdict_study", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="the .vseg model (e.g. weights/resunet34.vseg); required unless --render")
    p.add_argument("--render", metavar="JSON", help="run nothing: write the tables of this result JSON "
                                                    "(with --markdown / --doc / --baseline)")
    p.add_argument("--data-root", default=DEFAULT_DATA, help="../shared/data (real frames, FloWave)")
    p.add_argument("--split", default=DEFAULT_SPLIT, help="the validation split (weights/validation-split.json)")
    p.add_argument("--phantom", type=int, default=100, help="phantom sequences (0: none) [100]")
    p.add_argument("--phantom-frames", type=int, default=180, help="frames per phantom sequence [180: 6 s at 30 fps]")
    p.add_argument("--baseline-s", type=float, default=2.5, help="phantom BASELINE_S [2.5]")
    p.add_argument("--no-real", action="store_true", help="skip the real-frame sequences")
    p.add_argument("--real-limit", type=int, default=0, help="only the first N real frames (0: all)")
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS, help="real-frame sequence kinds")
    p.add_argument("--no-flowave", action="store_true", help="skip the FloWave cine")
    p.add_argument("--stride", type=int, default=2, help="tracker FRAME_STRIDE [2]")
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn parameters [0]")
    p.add_argument("--backend", default="auto")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "int8"),
                   help="session precision [fp32]; int8 uses the model's stored ranges (a model without "
                        "them is calibrated on 12 phantom frames of training-range seeds)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--flip-average", action="store_true",
                   help="segment each frame and its mirror image and average them (VENSEG_OPT_FLIP_AVERAGE)")
    p.add_argument("--out", default=DEFAULT_OUT, help="JSON result [benchmarks/results/verdict-study.json]")
    p.add_argument("--markdown", help="also write the tables to this file")
    p.add_argument("--doc", help=f"replace the {BEGIN} ... {END} block of this file with the tables")
    p.add_argument("--note", help="what the library was built from, for the tables (default: the git HEAD)")
    p.add_argument("--baseline", help="a result JSON of an earlier run to set beside this one in the tables")
    p.add_argument("--cache", help="keep the rendered phantom frames in this folder (a rerun reads them back)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    base = None
    if a.baseline:
        with open(a.baseline, encoding="utf-8") as fh:
            base = json.load(fh)
    if a.render:
        with open(a.render, encoding="utf-8") as fh:
            _write_tables(json.load(fh), base, a.markdown, a.doc, a.quiet)
        return 0
    if not a.model:
        p.error("--model is required (or --render)")
    t0 = time.perf_counter()
    res = run_study(a.model, a.data_root, a.split, a.phantom, not a.no_real, a.real_limit, a.kinds,
                    not a.no_flowave, a.stride, a.seed, a.backend, a.precision, a.threads, a.phantom_frames,
                    a.baseline_s, a.cache, log=None if a.quiet else (lambda m: print(m, flush=True)),
                    flip_average=a.flip_average)
    res["seconds_total"] = time.perf_counter() - t0
    if a.note:
        res["note"] = a.note
    res["command"] = "python -m venseg.toolkit.verdict_study " + " ".join(
        sys.argv[1:] if argv is None else list(argv))
    res = _clean(res)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, allow_nan=False)
            fh.write("\n")
    _write_tables(res, base, a.markdown, a.doc, a.quiet)
    if not a.quiet:
        print(f"total {res['seconds_total']:.0f} s")
    return 0


def _write_tables(res: Dict[str, Any], base: Optional[Dict[str, Any]], path: Optional[str], doc: Optional[str],
                  quiet: bool) -> None:
    """--markdown: every row; --doc: the rows that are not right (every row is in the JSON)."""
    md = markdown(res, base)
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(md + "\n")
    if doc:
        replace_block(doc, markdown(res, base, title_level=4, every=False))  # under the doc's "### Results"
    if not quiet:
        print(md)


if __name__ == "__main__":
    sys.exit(main())
