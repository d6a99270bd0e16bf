"""Compression clips of a whole archive through model and tracker, on a Dask cluster or in-process.

    python -m venseg.batch ARCHIVE_DIR_OR_MANIFEST --model M.vseg --out OUT [--workers N |
                           --scheduler tcp://HOST:8786 | --local] [analysis options]

One task per clip. A task runs the Python binding's analysis (``Tracker.push_frame``: the
same library calls and configuration as ``venseg analyze``); the model is loaded once per
worker process and its Session kept per worker thread (``_session``). What a task returns
(the row and the clip's JSON and per-frame CSV) is written by the driver alone, so workers
need only read the clips (a remote cluster: the same paths on every worker), and the table
has one writer. The HTML report, overlay GIF/MP4 and curve PNG are the ``venseg`` program's
(C) and are not made here: ``venseg analyze CLIP`` gives them for any clip of the table.

OUT/batch.csv has one row per clip (columns ``COLUMNS``); it is replaced atomically (a
temporary file renamed over it) every few seconds and at the end, so a killed run leaves
the table of its last snapshot, never a half row or a clip twice. OUT/<clip>.json and
OUT/<clip>.csv (``<clip>``: the clip's path under the archive) are written the same way.
A rerun skips every clip whose row says ``ok`` for the same model and whose JSON is there;
failed clips run again. docs/batch.md has the commands.

Dask (``dask.distributed``) is imported only when a cluster is used; ``--local`` needs
numpy, the binding, Pillow (frame folders, GIFs) and the ffmpeg/ffprobe programs (videos).
Neither torch nor venseg.toolkit is imported.
"""

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")
GIF_SUFFIXES = (".gif",)
DICOM_SUFFIXES = (".dcm", ".dicom")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
TABLE = "batch.csv"
COLUMNS = ("clip", "status", "verdict", "compressibility_percent", "verdict_confidence", "identity_confidence",
           "flags", "input_flags", "frames", "frames_analysed", "fps", "seconds", "worker", "attempts", "model",
           "output", "path", "error")
SNAPSHOT_SECONDS = 2.0


class BatchError(RuntimeError):
    """A bad archive, manifest or option (the CLI prints it and exits 2 or 4)."""

    def __init__(self, message: str, exit_status: int = 2):
        super().__init__(message)
        self.exit_status = exit_status


# ------------------------------------------------------------------ finding clips

def _natural_key(name: str):
    """slice_9 before slice_10, as the program orders frame folders."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _frame_files(folder: str) -> List[str]:
    """The frames of a folder (images and single-frame DICOM files, *_label.png excluded), in
    natural order."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES + DICOM_SUFFIXES)
             and not _is_label(n) and os.path.isfile(os.path.join(folder, n))]
    return [os.path.join(folder, n) for n in sorted(names, key=_natural_key)]


def _is_label(name: str) -> bool:
    return os.path.splitext(name)[0].endswith("_label")


def _have_dicom_reader() -> bool:
    try:
        from venseg.io import read_dicom  # noqa: F401  (added by issue 19 part 1)
    except ImportError:
        return False
    return True


def _dicom_frame_count(path: str) -> int:
    """NumberOfFrames of a DICOM file from its header alone (1 when absent; 0 unreadable)."""
    try:
        import pydicom
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return int(getattr(ds, "NumberOfFrames", 1) or 1)
    except Exception:  # noqa: BLE001  (read_dicom names what is wrong when the clip runs)
        return 0


def find_clips(root: str) -> List[Dict[str, Any]]:
    """The clips of a folder tree: videos (VIDEO_SUFFIXES), GIFs, multi-frame DICOM files
    (when venseg.io.read_dicom exists) and frame folders: a folder of images or of
    single-frame DICOM files is one clip (as for `venseg analyze`) and is not searched
    further. Each is {"path", "clip"}: clip is the path under root ('/'-separated, the
    extension kept), which also names its outputs."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise BatchError(f"{root}: no such folder", 4)
    dicom = _have_dicom_reader()
    clips, skipped_dicom = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort(key=_natural_key)
        names = sorted(filenames, key=_natural_key)
        frames = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES) and not _is_label(n)]
        dcm = [n for n in names if n.lower().endswith(DICOM_SUFFIXES)]
        if dcm and not dicom:
            skipped_dicom += len(dcm)
            dcm = []
        single = [n for n in dcm if _dicom_frame_count(os.path.join(dirpath, n)) == 1]
        cine = [n for n in dcm if n not in single]
        if (frames or len(single) > 1) and not cine:
            clips.append(dirpath)  # a frame folder is one clip
            if dirpath != root:  # (frames loose in the root: its subfolders are searched too)
                dirnames[:] = []
            continue
        for n in names:
            if n.lower().endswith(VIDEO_SUFFIXES + GIF_SUFFIXES) or n in dcm:
                clips.append(os.path.join(dirpath, n))
    if skipped_dicom:
        print(f"venseg.batch: {skipped_dicom} DICOM file(s) skipped: this venseg has no venseg.io.read_dicom",
              file=sys.stderr)
    return [{"path": p, "clip": (os.path.relpath(p, root).replace(os.sep, "/") if p != root
                                 else os.path.basename(root))} for p in clips]


MANIFEST_KEYS = ("path", "clip", "spacing", "fps", "stride", "site", "medial_side", "roi", "max_frames")


def read_manifest(path: str) -> List[Dict[str, Any]]:
    """Clips listed in a CSV (header row; column `path` required) or JSON file (a list of
    objects or of paths). Optional per-clip keys: clip (the output name), spacing
    ("MM" or "MMX,MMY"), fps, stride, site, medial_side, roi ("X,Y,W,H"), max_frames; they
    override the command's options for that clip. Relative paths are taken from the
    manifest's folder."""
    if not os.path.isfile(path):
        raise BatchError(f"{path}: no such manifest", 4)
    base = os.path.dirname(os.path.abspath(path))
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and "clips" in data:
            data = data["clips"]
        if not isinstance(data, list):
            raise BatchError(f"{path}: a JSON manifest is a list of clips (objects with 'path', or paths)")
        items = [d if isinstance(d, dict) else {"path": d} for d in data]
    else:
        with open(path, newline="", encoding="utf-8") as f:
            items = list(csv.DictReader(f))
    clips = []
    for i, it in enumerate(items, 1):
        unknown = sorted(set(it) - set(MANIFEST_KEYS))
        if unknown:
            raise BatchError(f"{path}: clip {i}: unknown key(s) {', '.join(unknown)} "
                             f"(known: {', '.join(MANIFEST_KEYS)})")
        if not it.get("path"):
            raise BatchError(f"{path}: clip {i} has no path")
        c = {k: v for k, v in it.items() if v not in (None, "")}
        c["path"] = os.path.normpath(os.path.join(base, str(c["path"])))
        clips.append(c)
    paths = [c["path"] for c in clips]
    common = os.path.commonpath(paths) if len(paths) > 1 else os.path.dirname(paths[0]) if paths else base
    for c in clips:
        if "clip" not in c:
            c["clip"] = os.path.relpath(c["path"], common).replace(os.sep, "/")
    names = [c["clip"] for c in clips]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BatchError(f"{path}: clip names used twice: {', '.join(dup[:5])} (give a 'clip' column)")
    return clips


def clips_of(source: str) -> List[Dict[str, Any]]:
    """find_clips for a folder, read_manifest for a .csv/.json file."""
    if os.path.isdir(source):
        return find_clips(source)
    if source.lower().endswith((".csv", ".json")):
        return read_manifest(source)
    raise BatchError(f"{source}: neither a folder of clips nor a manifest (.csv or .json)", 4)


# ------------------------------------------------------------------ reading frames

def _pil():
    try:
        from PIL import Image
    except ImportError as exc:
        raise RuntimeError("frame folders and GIFs need Pillow (pip install pillow)") from exc
    return Image


def _rgb(a: np.ndarray) -> np.ndarray:
    """uint8 HxWx3, as the program pushes every frame (VENSEG_PIXEL_RGB8)."""
    if a.dtype != np.uint8:  # 16-bit grey: the high byte
        a = (a >> 8).astype(np.uint8) if a.dtype == np.uint16 else a.astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def _read_folder(path: str, labels: bool):
    """A frame folder: (frames, fps, extra); a DICOM first frame's header stands for the
    folder (spacing, frame rate, region), as in the program."""
    files = _frame_files(path)
    if not files:
        raise RuntimeError(f"{path}: no frames (PNG, JPEG, BMP, TIFF or single-frame DICOM)")
    fps, extra = 0.0, {}  # image folders have no frame rate (as in the program)
    if files[0].lower().endswith(DICOM_SUFFIXES):
        _, fps, extra = _read_dicom(files[0])

    def gen():
        for f in files:
            if f.lower().endswith(DICOM_SUFFIXES):
                a, _ = _dicom(f)
                if len(a) != 1:
                    raise RuntimeError(f"{f}: a multi-frame DICOM file inside a frame folder (give the file itself)")
                a = a[0]
            else:
                with _pil().open(f) as im:
                    a = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB", "I;16") else im)
            lab = None
            if labels:
                lp = os.path.splitext(f)[0] + "_label.png"
                if not os.path.exists(lp):
                    raise RuntimeError(f"--use-labels: {lp} is missing")
                with _pil().open(lp) as im:
                    lab = np.asarray(im.convert("L"), np.uint8)
            yield _rgb(a), lab
    return gen(), fps, extra


def _read_gif(path: str) -> Tuple[Iterator[Tuple[np.ndarray, None]], float]:
    Image = _pil()
    with Image.open(path) as im:
        delay = im.info.get("duration", 0) or 0
    fps = 1000.0 / delay if delay > 0 else 0.0

    def gen():
        with Image.open(path) as im:
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                yield _rgb(np.asarray(im.convert("RGB"))), None
    return gen(), fps


def _read_video(path: str):
    """RGB frames through the ffmpeg program (a pipe of rgb24), the frame rate from ffprobe
    (avg_frame_rate, else r_frame_rate: the program's choice), and extra["input_flags"], a
    list the reader fills as the program's reader does: DECODE_ERRORS when ffmpeg reported
    errors, FRAMES_MISSING when a clip read to its end has more than 2 frames fewer than its
    stream's nb_frames."""
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        raise RuntimeError("videos need the ffmpeg and ffprobe programs on PATH")
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames", "-of", "json", path],
                           capture_output=True, text=True)
    streams = json.loads(probe.stdout or "{}").get("streams") if probe.returncode == 0 else None
    if not streams:
        raise RuntimeError(f"{path}: not a video ffprobe can read: {probe.stderr.strip() or 'no video stream'}")
    st = streams[0]
    w, h = int(st["width"]), int(st["height"])

    def rate(s: str) -> float:
        num, _, den = (s or "0/0").partition("/")
        return float(num) / float(den) if den and float(den) else 0.0
    fps = rate(st.get("avg_frame_rate")) or rate(st.get("r_frame_rate"))
    declared = int(st["nb_frames"]) if str(st.get("nb_frames", "")).isdigit() else 0
    flags: List[str] = []
    warnings: List[str] = []

    def gen():
        # stderr into a file: a pipe that nobody reads would stall ffmpeg on a clip with many errors
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt",
                                     "rgb24", "-"], stdout=subprocess.PIPE, stderr=log)
            size, n = w * h * 3, 0
            try:
                while True:
                    buf = proc.stdout.read(size)
                    if len(buf) < size:
                        break
                    n += 1
                    yield np.frombuffer(buf, np.uint8).reshape(h, w, 3), None
            finally:
                proc.stdout.close()
                proc.wait()
            log.seek(0)
            err = log.read().decode(errors="replace").strip()
        # read to its end: the clip's health, never silent (a row and the JSON carry it)
        if err:
            flags.append("DECODE_ERRORS")
            warnings.append(f"ffmpeg reported errors while decoding; the first: {err.splitlines()[0]}")
        if declared and n < declared - 2:
            flags.append("FRAMES_MISSING")
            warnings.append(f"the clip declares {declared} frames (nb_frames) but only {n} could be decoded")
        if n == 0 and proc.returncode != 0:
            raise RuntimeError(f"{path}: ffmpeg decoded no frame: {err.splitlines()[-1] if err else 'no output'}")
    return gen(), fps, {"input_flags": flags, "input_warnings": warnings}


def _dicom(path: str):
    from venseg.io import read_dicom  # issue 19 part 1: pydicom, the program's header rules
    return read_dicom(path)


def _read_dicom(path: str) -> Tuple[Iterator[Tuple[np.ndarray, None]], float, Dict[str, Any]]:
    """Frames, frame rate and what the header says (pixel spacing, the ultrasound region as
    ROI) of a DICOM file through venseg.io.read_dicom; options given win over the header."""
    frames, meta = _dicom(path)
    extra: Dict[str, Any] = {}
    if meta.pixel_spacing_mm:
        extra["spacing"] = tuple(float(v) for v in meta.pixel_spacing_mm)
    if meta.roi:
        extra["roi"] = tuple(int(v) for v in meta.roi)
    return ((_rgb(f), None) for f in frames), float(meta.fps or 0.0), extra


def read_clip(path: str, labels: bool = False):
    """(frames iterator of (rgb uint8 HxWx3, labels or None), fps (0 when unknown), extra:
    settings the file carries, e.g. a DICOM's spacing)."""
    low = path.lower()
    if os.path.isdir(path):
        return _read_folder(path, labels)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    if labels:
        raise RuntimeError("--use-labels needs frame folders with <stem>_label.png masks")
    if low.endswith(GIF_SUFFIXES):
        return (*_read_gif(path), {})
    if low.endswith(DICOM_SUFFIXES):
        return _read_dicom(path)
    return _read_video(path)


# ------------------------------------------------------------------ one clip (runs on a worker)

_CACHE = threading.local()  # per worker thread: {key: (Model, Session)}
_MODELS: Dict[Tuple, Any] = {}  # per worker process: {key: Model}, loaded once
_MODEL_LOCK = threading.Lock()
MODEL_LOADS = 0  # how many times this process loaded a model (tests check "once per worker")


def _session(settings: Dict[str, Any]):
    """The worker's Session for settings' model: the Model is loaded once per process (file
    path + mtime + size as key), a Session made once per thread (a session runs one frame
    at a time)."""
    global MODEL_LOADS
    import venseg
    path = settings["model"]
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _MODEL_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = venseg.Model(path)
            MODEL_LOADS += 1
    sessions = getattr(_CACHE, "sessions", None)
    if sessions is None:
        sessions = _CACHE.sessions = {}
    # an application: the programs' default precision (auto), so a row equals `venseg analyze`'s
    precision = settings.get("precision") or venseg.DEFAULT_PRECISION
    skey = key + (settings.get("threads", 1), settings.get("backend"), precision)
    ses = sessions.get(skey)
    if ses is None:
        ses = sessions[skey] = venseg.Session(model, threads=settings.get("threads", 1),
                                              backend=settings.get("backend"), precision=precision)
    return ses


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError, AttributeError):
        return f"local:{socket.gethostname()}:{os.getpid()}"


def _pair(v, what: str, n: int, cast=float) -> Tuple:
    """'0.1' / '0.1,0.12' / [0.1, 0.12] -> a tuple of n values (one value repeated for 2)."""
    if isinstance(v, str):
        v = [p for p in v.replace(";", ",").split(",") if p.strip()]
    elif not isinstance(v, (list, tuple)):
        v = [v]
    vals = tuple(cast(float(x)) for x in v)
    if n == 2 and len(vals) == 1:
        vals = vals * 2
    if len(vals) != n:
        raise ValueError(f"{what} takes {n} values, not {v!r}")
    return vals


def _finite(v) -> Optional[float]:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def clip_settings(clip: Dict[str, Any], settings: Dict[str, Any]) -> Dict[str, Any]:
    """settings with a manifest row's own values on top."""
    s = dict(settings)
    for k in ("spacing", "fps", "stride", "site", "medial_side", "roi", "max_frames"):
        if clip.get(k) not in (None, ""):
            s[k] = clip[k]
    return s


def analyse_clip(clip: Dict[str, Any], settings: Dict[str, Any]) -> Dict[str, Any]:
    """One clip through the tracker: {"row": table row, "files": {".json": text, ".csv":
    text}}. A failing clip raises (the driver makes its error row once retries are spent)."""
    import venseg
    t0 = time.perf_counter()
    attempts = _count_attempt(clip, settings)
    s = clip_settings(clip, settings)
    use_labels = bool(s.get("use_labels"))
    frames, fps, extra = read_clip(clip["path"], labels=use_labels)
    input_flags, input_warnings = extra.pop("input_flags", []), extra.pop("input_warnings", [])
    for k, v in extra.items():  # what the file says (a DICOM's spacing), unless given
        if s.get(k) in (None, ""):
            s[k] = v
    fps = float(s["fps"]) if s.get("fps") not in (None, "") else fps
    spacing = _pair(s["spacing"], "spacing", 2) if s.get("spacing") not in (None, "") else None
    roi = _pair(s["roi"], "roi", 4, int) if s.get("roi") not in (None, "") else None
    stride = int(s.get("stride") or 1)
    max_frames = int(s.get("max_frames") or 0)
    site = str(s.get("site") or "")
    side = str(s.get("medial_side") or "unknown")
    ses = None if use_labels else _session(settings)
    # as venseg analyze: labels and tracking at a bounded size unless told (track_size "full")
    track_size = venseg.track_size_for(ses.model if ses is not None else None, s.get("track_size"))
    cfg = venseg.TrackerConfig()
    try:
        cfg["frame_stride"] = stride
        if spacing:
            cfg["pixel_spacing_x"], cfg["pixel_spacing_y"] = spacing
        if fps > 0:
            cfg["frame_rate"] = fps
        if site:
            cfg.site = site
        if side != "unknown":
            cfg["medial_side"] = side
        cfg["max_side"] = track_size
        tracker = venseg.Tracker(cfg)
    finally:
        cfg.close()
    n = with_artery = with_vein = 0
    width = height = 0
    try:
        if ses is not None:
            if roi:
                ses.set_roi(*roi)
            if spacing:
                ses.set_pixel_spacing(*spacing)
        for rgb, lab in frames:
            if max_frames and n >= max_frames:
                break
            if n == 0:
                height, width = rgb.shape[:2]
                if roi and (roi[0] + roi[2] > width or roi[1] + roi[3] > height):
                    raise ValueError(f"roi {','.join(map(str, roi))} lies outside the {width}x{height} frames")
            analysed = tracker.push_labels(lab) if use_labels else tracker.push_frame(ses, rgb) is not None
            if analysed:
                f = tracker.frame()
                with_artery += int(f.artery_present)
                with_vein += int(f.vein_present)
            n += 1
        if n == 0:
            raise RuntimeError(f"{clip['path']}: no frames")
        summary = tracker.summary()
        vessels = tracker.vessels()
        curve = tracker.curve("px")
        curve_mm = tracker.curve("mm2") if spacing else None
    finally:
        if ses is not None:
            ses.set_roi()
            ses.set_pixel_spacing()
        tracker.close()
    sd = summary.as_dict()
    judged = sd["verdict"] != "INDETERMINATE"
    seconds = time.perf_counter() - t0
    doc = {
        "format": "venseg-analysis-1",
        "producer": "venseg.batch (Python binding; no report, overlay or curve image)",
        "input": {"path": clip["path"], "clip": clip["clip"], "width": width, "height": height, "frames_read": n,
                  "fps": fps if fps > 0 else None, "stride": stride, "track_size": track_size, "site": site,
                  "medial_side": side,
                  "pixel_spacing_mm": list(spacing) if spacing else None, "roi": list(roi) if roi else None,
                  "flags": input_flags, "warnings": input_warnings},
        "model": {"path": "none" if use_labels else settings["model"], "masks_from_labels": use_labels,
                  "session": ses.describe() if ses is not None else "", "library": venseg.version()},
        "summary": {
            "verdict": sd["verdict"], "flags": sd["flags"], "frames_analysed": int(summary.frames_analysed),
            "frames_with_artery": with_artery, "frames_with_vein": with_vein,
            "baseline_frame": int(summary.baseline_frame), "min_frame": int(summary.min_frame),
            **{k: _finite(sd.get(k)) for k in ("baseline_area_px", "min_area_px", "baseline_area_mm2", "min_area_mm2")},
            "compressibility_percent": _finite(summary.compressibility_percent) if judged else None,
            "measured_compressibility_percent": _finite(summary.compressibility_percent),
            **{k: _finite(sd.get(k)) for k in ("artery_deformation_percent", "max_lateral_shift_px",
                                                "verdict_confidence", "identity_confidence", "pressure_correlation")},
            "medial_side": sd["medial_side"], "medial_side_source": sd["medial_side_source"],
            "identity_frames": int(sd.get("identity_frames", 0)), "vessel_count": int(sd.get("vessel_count", 0)),
            "indeterminate_reasons": sd["indeterminate_reasons"], "input_warnings": input_warnings,
        },
        "vessels": [_vessel_json(v) for v in vessels],
        "frames": [],
        "batch": {"seconds": seconds, "worker": _worker_name(), "attempts": attempts},
    }
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["frame", "time_s", "vein_area_px", "vein_area_smoothed_px", "artery_area_px"]
               + (["vein_area_mm2", "vein_area_smoothed_mm2", "artery_area_mm2"] if curve_mm else []))
    for i in range(len(curve["frame_index"])):
        fi = int(curve["frame_index"][i])
        fr = {"frame": fi, "time_s": fi / fps if fps > 0 else None, "vein_area_px": float(curve["vein_area"][i]),
              "vein_area_smoothed_px": float(curve["vein_area_smoothed"][i]),
              "artery_area_px": float(curve["artery_area"][i])}
        if curve_mm:
            fr.update(vein_area_mm2=_finite(curve_mm["vein_area"][i]),
                      vein_area_smoothed_mm2=_finite(curve_mm["vein_area_smoothed"][i]),
                      artery_area_mm2=_finite(curve_mm["artery_area"][i]))
        doc["frames"].append(fr)
        w.writerow(["" if v is None else v for v in fr.values()])
    row = {"clip": clip["clip"], "status": "ok", "verdict": sd["verdict"],
           "compressibility_percent": doc["summary"]["compressibility_percent"],
           "verdict_confidence": doc["summary"]["verdict_confidence"],
           "identity_confidence": doc["summary"]["identity_confidence"], "flags": ";".join(sd["flags"]),
           "input_flags": ";".join(input_flags),
           "frames": n, "frames_analysed": int(summary.frames_analysed), "fps": fps if fps > 0 else None,
           "seconds": round(seconds, 4), "worker": doc["batch"]["worker"], "attempts": attempts,
           "model": doc["model"]["path"], "path": clip["path"], "error": ""}
    return {"row": row, "files": {".json": json.dumps(doc, indent=1, allow_nan=False) + "\n", ".csv": out.getvalue()}}


def _vessel_json(v) -> Dict[str, Any]:
    d = v.as_dict()
    keys = ("track_id", "identity", "role", "identity_confidence", "frames_present", "first_frame",
            "network_vein_fraction", "pulsatility_percent", "pulse_rate_bpm", "roundness", "wall_contrast",
            "size_ratio", "position_score", "mean_area_px", "compressibility_percent", "evidence")
    out = {}
    for k in keys:
        if k not in d:
            continue
        val = d[k]
        if isinstance(val, bytes):
            val = val.decode(errors="replace")
        elif isinstance(val, float):
            val = _finite(val)
        out[k] = val
    return out


def _attempt_file(clip: Dict[str, Any], settings: Dict[str, Any]) -> Optional[str]:
    d = settings.get("attempts_dir")
    return os.path.join(d, re.sub(r"[^A-Za-z0-9._-]", "_", clip["clip"]) + ".txt") if d else None


def _count_attempt(clip: Dict[str, Any], settings: Dict[str, Any]) -> int:
    """Appends this attempt to the clip's attempt log (OUT/.batch/attempts, when the workers
    see OUT) and returns the attempts of this run so far, this one included (retries = the
    rest); 0 where the log cannot be written."""
    p = _attempt_file(clip, settings)
    if not p:
        return 0
    try:
        with open(p, "a", encoding="utf-8") as f:
            f.write(f"{_worker_name()} {time.time():.3f}\n")
        with open(p, encoding="utf-8") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


# ------------------------------------------------------------------ the table

def _atomic_write(path: str, data, binary: bool = False) -> None:
    """Writes a file under a temporary name in its folder, then renames it over path: a
    reader (or a killed run) sees the old file or the new one, never a part."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_table(path: str) -> Dict[str, Dict[str, str]]:
    """{clip: row} of an existing table (the last row of a clip wins); {} when absent."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r["clip"]: r for r in csv.DictReader(f) if r.get("clip")}


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_table(path: str, rows: Dict[str, Dict[str, Any]]) -> None:
    """The table, one row per clip in clip order, replaced atomically; Parquet beside it
    (same stem) when pyarrow is importable."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    ordered = [rows[k] for k in sorted(rows, key=_natural_key)]
    for r in ordered:
        w.writerow({k: _cell(r.get(k)) for k in COLUMNS})
    _atomic_write(path, out.getvalue())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    table = pa.table({k: [_cell(r.get(k)) for r in ordered] for k in COLUMNS})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    _atomic_write(os.path.splitext(path)[0] + ".parquet", sink.getvalue().to_pybytes(), binary=True)


def output_path(out_dir: str, clip: str, suffix: str = ".json") -> str:
    return os.path.join(out_dir, *clip.split("/")) + suffix


def _finished(row: Optional[Dict[str, str]], out_dir: str, clip: str, model: str) -> bool:
    return bool(row) and row.get("status") == "ok" and row.get("model") == model and \
        os.path.exists(output_path(out_dir, clip))


# ------------------------------------------------------------------ the run

def _error_row(clip: Dict[str, Any], settings: Dict[str, Any], exc: BaseException) -> Dict[str, Any]:
    p = _attempt_file(clip, settings)
    attempts, worker = 0, ""
    if p and os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            lines = f.read().split("\n")
        lines = [ln for ln in lines if ln]
        attempts, worker = len(lines), lines[-1].split(" ")[0] if lines else ""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return {"clip": clip["clip"], "status": "error", "attempts": attempts, "worker": worker,
            "model": "none" if settings.get("use_labels") else settings["model"], "path": clip["path"],
            "error": text[:2000]}


class _Progress:
    """tqdm when it is installed and stderr is a terminal (or force), else a line per 10 %."""

    def __init__(self, total: int, enabled: bool, force: bool = False):
        self.total, self.done, self.bar, self.enabled = total, 0, None, enabled
        if enabled and (force or sys.stderr.isatty()):
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="clip", desc="venseg.batch", file=sys.stderr)
            except ImportError:
                pass

    def update(self, label: str = "") -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(label[-40:], refresh=False)
            self.bar.update(1)
        elif self.enabled and (self.done == self.total or self.done % max(1, self.total // 10) == 0):
            print(f"venseg.batch: {self.done}/{self.total} clips", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(source, out_dir: str, model: Optional[str] = None, *, scheduler: Optional[str] = None,
        workers: Optional[int] = None, local: bool = False, client=None, retries: int = 2,
        progress: bool = True, progress_always: bool = False, force: bool = False,
        task: Optional[Callable] = None,
        **analysis) -> Dict[str, Any]:
    """Analyses the clips of source (a folder, a manifest path, or a list of clip dicts
    {"path", "clip", ...}) into out_dir; returns {"rows": {clip: row}, "ran", "skipped",
    "failed", "seconds", "table"}.

    Where it runs: ``local=True`` in this process (a plain loop); ``client`` a
    dask.distributed Client; ``scheduler`` an address (tcp://HOST:8786); else a
    LocalCluster of ``workers`` processes (default: the CPU count), one thread each.
    ``retries``: Dask retries of a task that raised; a task whose worker died is run again
    by the scheduler (up to distributed.scheduler.allowed-failures). analysis: spacing,
    fps, stride, site, medial_side, roi, max_frames, threads (per session; default 1),
    backend, precision, track_size (as venseg analyze's --track-size), use_labels. ``task`` replaces analyse_clip (tests)."""
    t0 = time.perf_counter()
    clips = clips_of(source) if isinstance(source, (str, os.PathLike)) else [dict(c) for c in source]
    use_labels = bool(analysis.get("use_labels"))
    if not use_labels:
        if not model:
            model = os.environ.get("VENSEG_MODEL") or ""
        if not model or not os.path.isfile(model):
            raise BatchError(f"model {model or '(none: --model or $VENSEG_MODEL)'} is not a file", 4)
        model = os.path.abspath(model)
    model_id = "none" if use_labels else model
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    attempts_dir = os.path.join(out_dir, ".batch", "attempts")
    os.makedirs(attempts_dir, exist_ok=True)
    settings = {"model": model, "threads": 1, **{k: v for k, v in analysis.items() if v is not None},
                "attempts_dir": attempts_dir}
    table = os.path.join(out_dir, TABLE)
    rows = read_table(table)
    todo = [c for c in clips if force or not _finished(rows.get(c["clip"]), out_dir, c["clip"], model_id)]
    skipped = len(clips) - len(todo)
    for c in todo:  # a fresh attempt log for this run
        p = _attempt_file(c, settings)
        if os.path.exists(p):
            os.unlink(p)
    fn = task or analyse_clip
    state = {"last": time.monotonic(), "failed": 0, "ran": 0}
    bar = _Progress(len(todo), progress, progress_always)

    def finish(clip, result=None, exc=None):
        if exc is None:
            for suffix in (".csv", ".json"):  # the JSON last: its presence means the clip is done
                _atomic_write(output_path(out_dir, clip["clip"], suffix), result["files"][suffix])
            row = result["row"]
            row["output"] = os.path.relpath(output_path(out_dir, clip["clip"]), out_dir).replace(os.sep, "/")
        else:
            row = _error_row(clip, settings, exc)
            state["failed"] += 1
        rows[clip["clip"]] = row
        state["ran"] += 1
        bar.update(clip["clip"])
        if time.monotonic() - state["last"] >= SNAPSHOT_SECONDS:
            write_table(table, rows)
            state["last"] = time.monotonic()

    try:
        if local:
            for c in todo:
                try:
                    res = fn(c, settings)
                except Exception as exc:  # noqa: BLE001  (the clip's error goes into its row)
                    finish(c, exc=exc)
                else:
                    finish(c, res)
        elif todo:
            _run_dask(todo, settings, fn, finish, client, scheduler, workers, retries)
    finally:
        bar.close()
        write_table(table, rows)
    return {"rows": rows, "ran": state["ran"], "skipped": skipped, "failed": state["failed"],
            "seconds": time.perf_counter() - t0, "table": table}


def _run_dask(todo, settings, fn, finish, client, scheduler, workers, retries) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise BatchError(f"a cluster run needs dask.distributed ({exc}); --local runs in this process") from exc
    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler:
                client = own_client = Client(scheduler)
            else:
                own_cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                           processes=True, dashboard_address=":0")
                client = own_client = Client(own_cluster)
        futures = {}
        for c in todo:
            key = "venseg-batch-" + re.sub(r"[^A-Za-z0-9._/-]", "_", c["clip"]) + f"-{os.getpid()}-{id(todo)}"
            futures[client.submit(fn, c, settings, key=key, pure=False, retries=retries)] = c
        for fut in as_completed(futures):
            c = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001  (retries spent, or KilledWorker)
                finish(c, exc=exc)
            else:
                finish(c, res)
            fut.release()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


# ------------------------------------------------------------------ command line

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m venseg.batch",
        description="Analyses every compression clip of an archive (a folder tree, or a manifest .csv/.json) "
                    "with the model and the tracker, one Dask task per clip; writes OUT/batch.csv (one row per "
                    "clip) and OUT/<clip>.json + .csv. A rerun skips the clips already done. docs/batch.md.")
    p.add_argument("source", help="a folder (searched recursively for videos, GIFs, DICOM files and frame folders) "
                                  "or a manifest .csv/.json (column path; optional clip, spacing, fps, stride, site, "
                                  "medial_side, roi, max_frames)")
    p.add_argument("--model", help="the .vseg model (default $VENSEG_MODEL)")
    p.add_argument("--out", default="venseg-batch", help="output folder (default venseg-batch)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://HOST:8786")
    where.add_argument("--workers", type=int, metavar="N", help="a LocalCluster of N worker processes (default: CPUs)")
    where.add_argument("--local", action="store_true", help="no Dask: every clip in this process, one after another")
    p.add_argument("--retries", type=int, default=2, help="Dask retries of a clip whose task failed (default 2)")
    p.add_argument("--force", action="store_true", help="analyse every clip again, finished or not")
    p.add_argument("--spacing", metavar="MM[,MMY]", help="pixel size in mm")
    p.add_argument("--fps", type=float, help="frame rate (default: the clip's)")
    p.add_argument("--stride", type=int, default=1, help="analyse every K-th frame (default 1)")
    p.add_argument("--site", help="site label, e.g. common_femoral, femoral, popliteal")
    p.add_argument("--medial-side", choices=("left", "right", "unknown"), default="unknown")
    p.add_argument("--roi", metavar="X,Y,W,H", help="segment only this rectangle")
    p.add_argument("--max-frames", type=int, help="stop each clip after N frames")
    p.add_argument("--threads", type=int, default=1, help="compute threads of each worker's session (default 1)")
    p.add_argument("--backend", choices=("auto", "reference", "onednn", "cuda"))
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8", "fp16"),
                   help="as venseg analyze's (default auto: int8 where the model has ranges and the CPU VNNI)")
    p.add_argument("--track-size", metavar="N|full",
                   help="as venseg analyze's: label and track at most N px on the longer side (default 320, or "
                        "the model's input side if larger); full: the clip's own size")
    p.add_argument("--use-labels", action="store_true",
                   help="frame folders with <stem>_label.png masks: track those instead of the model's")
    p.add_argument("--progress", action="store_true", help="the progress bar even when stderr is not a terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary line")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.stride < 1:
        _parser().error("--stride must be >= 1")
    if args.workers is not None and args.workers < 1:
        _parser().error("--workers must be >= 1")
    try:
        if args.track_size is not None and args.track_size != "full" and not (
                args.track_size.isdigit() and 32 <= int(args.track_size) <= 32768):
            raise ValueError(f"--track-size must be full or a side in px (at least 32), not {args.track_size}")
        for name, n in (("--spacing", 2), ("--roi", 4)):
            v = getattr(args, name[2:])
            if v is not None:
                _pair(v, name, n)
    except ValueError as exc:
        _parser().error(str(exc))
    try:
        res = run(args.source, args.out, args.model, scheduler=args.scheduler, workers=args.workers,
                  local=args.local, retries=args.retries, progress=not args.quiet, progress_always=args.progress,
                  force=args.force, spacing=args.spacing, fps=args.fps, stride=args.stride, site=args.site,
                  medial_side=args.medial_side, roi=args.roi, max_frames=args.max_frames, threads=args.threads,
                  backend=args.backend, precision=args.precision, track_size=args.track_size,
                  use_labels=args.use_labels or None)
    except BatchError as exc:
        print(f"venseg.batch: {exc}", file=sys.stderr)
        return exc.exit_status
    if not args.quiet:
        print(f"venseg.batch: {res['ran']} clip(s) analysed ({res['failed']} failed), {res['skipped']} already done, "
              f"{res['seconds']:.1f} s; table {res['table']}")
    return 1 if res["failed"] else 0


if __name__ == "__main__":
    # `python -m venseg.batch`: run the functions of the importable module venseg.batch, not
    # of __main__, so that Dask sends tasks by name (a worker imports venseg.batch) rather
    # than pickling __main__'s functions with their globals (the model cache and its lock)
    from venseg.batch import main as _main
    sys.exit(_main())
