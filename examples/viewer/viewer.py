#!/usr/bin/env python3
"""venseg viewer: watch a compression clip with the artery/vein overlay, live.

    python3 examples/viewer/viewer.py [CLIP] [--model weights/resunet34.vseg] [--spacing MM]
                                      [--site popliteal] [--stride K] [--threads N]
                                      [--medial-side left|right|unknown] [--roi X,Y,W,H]
                                      [--precision auto|fp32|bf16|int8|fp16]

Open a clip (a video through the ffmpeg program, an animated GIF, or a folder of PNG
frames), press Play: each frame is segmented by libvenseg (through the Python binding,
``venseg.Session``) and tracked (``venseg.Tracker``), the overlay shows the artery red and
the vein blue, and the vein-area curve, the compressibility and the verdict update as it
plays, with the verdict's confidence, why it is indeterminate when it is (its flags by
name), and each vessel's identity (artery, vein, other) with the evidence for it. Pick the
site (common femoral, femoral, popliteal) and the medial side, then save the overlay as GIF.
Like the paper's GUI (Chen et al., iScience 2024), in Tkinter.

Region of interest (the B-mode image inside a scanner's screen, as `venseg analyze --roi`):
``--roi X,Y,W,H``, the ROI field, or drag a rectangle on the image with the left mouse
button (right click: whole frame). Only the ROI is segmented; the clip is analysed again.

The clip is shown at its own size (a 640x480 cine at 640x480; small clips twice as large),
reduced only where it would not fit the screen. Frames are decoded on demand (the ffmpeg
program streams videos) and at most a few dozen are kept, with the analysed frames' label
masks compressed, so memory does not grow with the clip's length; Save GIF decodes the
frames again and writes the GIF frame by frame.

A research tool, not a medical device: the verdict is decision support.

--selftest OUTDIR (with CLIP) drives the window itself (open -> play to the end -> save
GIF), takes a screenshot (OUTDIR/viewer.png), drags an ROI on the image and clears it, and
writes OUTDIR/selftest.json (the numbers shown, the frame and display sizes, the ROI, the
curve's ticks, the peak memory); the test examples/viewer/viewer_test.sh runs it under Xvfb.

Needs: the venseg package (bindings/python, with its compiled cffi extension), numpy,
Pillow (GIF reading/writing, PNG frames, the screenshot; the 'apps' extra:
pip install './bindings/python[apps]'), Tk (Debian python3-tk), and the ffmpeg program for
video files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tkinter as tk
import zlib
from collections import OrderedDict
from tkinter import filedialog, messagebox, ttk

import numpy as np

try:
    from PIL import GifImagePlugin, Image
except ImportError:
    sys.exit("viewer.py needs Pillow, which is not installed: install the venseg 'apps' extra "
             "(pip install './bindings/python[apps]') or Pillow itself (Debian: python3-pil)")

import venseg
from venseg.toolkit.data import read_frame  # the one Python image reader (numpy and Pillow only)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(HERE, "..", "..", "weights", "resunet34.vseg")
SITES = ("common_femoral", "femoral", "popliteal", "other")
# Overlay colours: the same as the venseg CLI (examples/venseg/report/viz.c): grey tinted 45 %
# towards red (artery) or blue (vein), outlines in the pure colour.
ARTERY_RGB = np.array([255, 40, 40], np.float32)
VEIN_RGB = np.array([40, 140, 255], np.float32)
VERDICT_WORDS = {0: "indeterminate", 1: "compressible", 2: "PARTIALLY compressible", 3: "NON-COMPRESSIBLE"}
MEDIAL_SIDES = ("unknown", "left", "right")
ROI_RGB = np.array([255, 214, 0], np.uint8)  # the ROI's outline, in the saved GIF too


def confidence_text(c: float) -> str:
    return f"{c:.2f}" if c == c else "n/a"


def vessel_line(v) -> str:
    """One vessel as the venseg program prints it: identity, track, identity confidence, evidence."""
    name = v.identity.name if isinstance(v.identity, venseg.VesselIdentity) else str(v.identity)
    return f"{name} track {v.track_id}, identity {confidence_text(v.identity_confidence)}: " \
           f"{v.evidence or 'no evidence measured'}"


def confidence_line(s) -> str:
    """The verdict's and the identity's confidence and the medial side of a summary."""
    d = s.as_dict()
    return (f"verdict confidence {confidence_text(s.verdict_confidence)}, identity "
            f"{confidence_text(s.identity_confidence)}; medial side {d['medial_side']} ({d['medial_side_source']})")


# ------------------------------------------------------------------- clips

class Clip:
    """A clip read frame by frame on demand: a GIF (Pillow seeks it), a folder of PNG frames
    (one file each), or a video (the ffmpeg program decodes it through a pipe, in order; a
    frame before the last one decoded starts it again). At most CACHE decoded frames are
    kept, so memory does not depend on the clip's length. len() is the frame count (a
    video's declared count until a short stream ends early: then the frames it had)."""

    CACHE = 24

    def __init__(self, path: str):
        self.path, self.fps, self.declared = path, 0.0, 0
        self._cache: OrderedDict = OrderedDict()
        self._gif = self._proc = None
        self._names: list = []
        self._next = 0  # the video frame the pipe gives next
        if os.path.isdir(path):
            self._names = sorted(n for n in os.listdir(path) if n.lower().endswith(".png")
                                 and not n.lower().endswith("_label.png") and not n.startswith("."))
            if not self._names:
                raise ValueError(f"{path}: no PNG frames in the folder")
            self.kind, self.count = "folder", len(self._names)
            self.height, self.width = self.frame(0).shape[:2]
        elif not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        else:
            with open(path, "rb") as f:
                magic = f.read(6)
            if magic[:4] == b"GIF8":
                self.kind, self._gif = "gif", Image.open(path)
                self.count = self._gif.n_frames
                self.width, self.height = self._gif.size
                duration = self._gif.info.get("duration", 0)
                self.fps = 1000.0 / duration if duration else 0.0
            else:
                self.kind = "video"
                self._probe()
        self.declared = self.count

    def _probe(self):
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=width,height,avg_frame_rate,nb_frames", "-of", "json", self.path],
                               capture_output=True, text=True)
        if probe.returncode != 0 or not json.loads(probe.stdout or "{}").get("streams"):
            raise ValueError(f"{self.path}: not a readable video ({probe.stderr.strip() or 'ffprobe failed'})")
        st = json.loads(probe.stdout)["streams"][0]
        self.width, self.height = int(st["width"]), int(st["height"])
        num, _, den = st.get("avg_frame_rate", "0/1").partition("/")
        self.fps = float(num) / float(den) if den and float(den) else 0.0
        n = str(st.get("nb_frames", ""))
        if not n.isdigit() or int(n) == 0:  # not in the container: count the packets
            cnt = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                                  "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", self.path],
                                 capture_output=True, text=True)
            n = cnt.stdout.strip().split(",")[0]
        self.count = int(n) if n.isdigit() else 0
        if self.count == 0:
            raise ValueError(f"{self.path}: no frames")

    def __len__(self) -> int:
        return self.count

    def frame(self, i: int) -> np.ndarray:
        """Frame i as HxWx3 uint8 RGB; IndexError past the end."""
        if not 0 <= i < self.count:
            raise IndexError(f"frame {i} of {self.count}")
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        if self.kind == "folder":
            rgb = frame_rgb(read_frame(os.path.join(self.path, self._names[i]), png_only=True))
        elif self.kind == "gif":
            self._gif.seek(i)
            rgb = np.asarray(self._gif.convert("RGB"))
        else:
            rgb = self._video_frame(i)
        self._cache[i] = rgb
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)
        return rgb

    def _video_frame(self, i: int) -> np.ndarray:
        if self._proc is None or i < self._next:
            self._stop()
            self._proc = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-i", self.path, "-f", "rawvideo",
                                           "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
            self._next = 0
        size = self.width * self.height * 3
        while True:
            raw = self._proc.stdout.read(size)
            if len(raw) < size:  # the stream ended before the declared count
                self.count = self._next
                self._stop()
                raise IndexError(f"frame {i}: the video has {self.count} frames (declared {self.declared})")
            self._next += 1
            if self._next - 1 == i:
                return np.frombuffer(raw, np.uint8).reshape(self.height, self.width, 3)

    def _stop(self):
        if self._proc is not None:
            self._proc.stdout.close()
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def close(self):
        self._stop()
        if self._gif is not None:
            self._gif.close()
            self._gif = None
        self._cache.clear()


def read_clip(path: str):
    """All frames (list of HxWx3 uint8) and the frame rate (0 if unknown) of a clip: for
    scripts and short clips; the viewer itself streams them (Clip)."""
    clip = Clip(path)
    try:
        frames = []
        for i in range(clip.declared):
            try:
                frames.append(clip.frame(i))
            except IndexError:
                break
        return frames, clip.fps
    finally:
        clip.close()


def frame_rgb(frame: np.ndarray) -> np.ndarray:
    """A frame of read_frame as 8-bit RGB, as the venseg program shows it (16-bit grey by its
    high byte, grey replicated)."""
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    return np.repeat(frame[..., None], 3, axis=2) if frame.ndim == 2 else frame


def overlay(frame: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The frame in grey with the artery (label 1) and the vein (label 2) tinted and outlined."""
    grey = (frame[..., 0] * 0.299 + frame[..., 1] * 0.587 + frame[..., 2] * 0.114).astype(np.float32)
    out = np.repeat(grey[..., None], 3, axis=2)
    pad = np.pad(labels, 1, mode="constant", constant_values=255)
    for value, colour in ((1, ARTERY_RGB), (2, VEIN_RGB)):
        m = labels == value
        if not m.any():
            continue
        out[m] = 0.55 * grey[m][:, None] + 0.45 * colour
        inner = m & (pad[:-2, 1:-1] == value) & (pad[2:, 1:-1] == value) & (pad[1:-1, :-2] == value) & \
            (pad[1:-1, 2:] == value)
        out[m & ~inner] = colour
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def draw_roi(rgb: np.ndarray, roi) -> np.ndarray:
    """rgb with the ROI's outline (1 px, ROI_RGB) drawn in place; rgb unchanged without an ROI."""
    if roi:
        x, y, w, h = roi
        rgb[y, x:x + w] = rgb[y + h - 1, x:x + w] = ROI_RGB
        rgb[y:y + h, x] = rgb[y:y + h, x + w - 1] = ROI_RGB
    return rgb


def parse_roi(text: str):
    """(x, y, w, h) of 'X,Y,W,H' (x, y >= 0, w, h > 0); None for '' ; ValueError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        x, y, w, h = (int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise ValueError(f"ROI {text!r}: X,Y,W,H (four integers)") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise ValueError(f"ROI {text!r}: X, Y >= 0 and W, H > 0")
    return x, y, w, h


def display_scale(width: int, height: int, avail_w: int, avail_h: int) -> float:
    """How large a frame is shown: at its own size (1) when it fits avail_w x avail_h, small
    clips (up to 260 px) twice as large when that fits, else the largest scale that fits."""
    want = 2.0 if max(width, height) <= 260 else 1.0
    fit = min(avail_w / width, avail_h / height)
    return want if fit >= want else 1.0 if fit >= 1.0 else fit


def nice_ticks(top: float, most: int):
    """(ticks, step): 0, step, 2 step, ... <= top, the step 1, 2 or 5 x 10^k and at most
    most + 1 ticks; ([0], 1) for top <= 0."""
    if not top > 0:
        return [0.0], 1.0
    raw = top / most
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    return [round(k * step, 9) for k in range(int(math.floor(top / step + 1e-9)) + 1)], step


def tick_label(value: float, step: float, unit: str = "") -> str:
    """value with as many decimals as the step needs ('0.5 s', '1200')."""
    decimals = max(0, -int(math.floor(math.log10(step) + 1e-9)))
    return f"{value:.{decimals}f}" + (f" {unit}" if unit else "")


def gif_palette() -> Image.Image:
    """One palette for every frame of a saved GIF: 160 greys and, for the artery and the vein,
    46 grey levels tinted as overlay() tints them plus the pure colour, and the ROI colour."""
    cols = [np.full(3, g) for g in np.linspace(0, 255, 160)]
    for c in (ARTERY_RGB, VEIN_RGB):
        cols += [0.55 * g + 0.45 * c for g in np.linspace(0, 255, 46)] + [c]
    cols.append(ROI_RGB.astype(np.float32))
    pal = Image.new("P", (1, 1))
    pal.putpalette(np.clip(np.array(cols) + 0.5, 0, 255).astype(np.uint8).ravel().tolist())
    return pal


def write_gif(path: str, frames, ms: int) -> int:
    """Writes frames (an iterable of HxWx3 uint8, one at a time) to an animated GIF (looping,
    ms per frame, one fixed palette), frame by frame: memory does not grow with the count.
    Returns the frame count (the file is removed when there are none)."""
    pal, dither = gif_palette(), getattr(Image, "Dither", Image).NONE
    n, tmp = 0, path + ".part"
    with open(tmp, "wb") as f:
        for rgb in frames:
            p = Image.fromarray(rgb).quantize(palette=pal, dither=dither)
            if n == 0:
                header, _ = GifImagePlugin.getheader(p, None, {"loop": 0, "optimize": False})
                f.writelines(header)
            f.writelines(GifImagePlugin.getdata(p, duration=ms))
            n += 1
        f.write(b";")
    if n:
        os.replace(tmp, path)
    else:
        os.remove(tmp)
    return n


def peak_rss_kb() -> int:
    """The process's peak resident memory (kB; 0 where unknown)."""
    try:
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):
        return 0


def to_photo(rgb: np.ndarray) -> tk.PhotoImage:
    h, w = rgb.shape[:2]
    return tk.PhotoImage(data=b"P6 %d %d 255\n" % (w, h) + np.ascontiguousarray(rgb).tobytes(), format="PPM")


# ------------------------------------------------------------------ viewer

class Viewer:
    CURVE_W, CURVE_H = 520, 200
    PANEL_W = 360   # the right-hand panel and the margins, for the space left to the image
    CHROME_H = 150  # the title bar, the margins and a task bar

    def __init__(self, root: tk.Tk, model_path: str, threads: int = 0, spacing: float = 0.0,
                 site: str = "common_femoral", stride: int = 1, medial_side: str = "unknown", roi=None,
                 precision=None):
        self.root = root
        self.model = venseg.Model(model_path)
        self.model_path = model_path
        # precision None: venseg.DEFAULT_PRECISION, the venseg programs' default
        self.session = venseg.Session(self.model, threads=threads,
                                      precision=venseg.DEFAULT_PRECISION if precision is None else precision)
        self.spacing = spacing
        self.stride = max(1, stride)
        self.clip = None          # Clip: frames decoded on demand
        self.fps = 0.0
        self.path = ""
        self.index = 0
        self.playing = False
        self.masks: list = []     # (frame index, zlib-compressed label mask) per analysed frame
        self.tracker = None
        self.display_scale = 1.0
        self.display_size = (0, 0)
        self.roi = roi            # (x, y, w, h) in frame pixels, or None: the whole frame
        self.label_px = self.label_px_outside_roi = 0
        self.ticks = {"x": [], "y": [], "x_unit": ""}
        self._drag = None
        self.clip_line = ""       # the status line of the open clip

        root.title("venseg viewer - research tool, not a medical device")
        root.protocol("WM_DELETE_WINDOW", self.close)
        left = ttk.Frame(root, padding=6)
        left.grid(row=0, column=0, sticky="n")
        right = ttk.Frame(root, padding=6)
        right.grid(row=0, column=1, sticky="n")
        self.image = tk.Canvas(left, width=320, height=240, background="black", highlightthickness=0,
                               borderwidth=0, cursor="crosshair")
        self.image.grid(row=0, column=0)
        self.image.bind("<ButtonPress-1>", self._drag_start)
        self.image.bind("<B1-Motion>", self._drag_move)
        self.image.bind("<ButtonRelease-1>", self._drag_end)
        self.image.bind("<ButtonPress-3>", lambda e: self.set_roi(None))
        self.curve_w = self.CURVE_W
        self.curve = tk.Canvas(left, width=self.CURVE_W, height=self.CURVE_H, background="white",
                               highlightthickness=1, highlightbackground="#bbb")
        self.curve.grid(row=1, column=0, pady=(6, 0))

        bar = ttk.Frame(right)
        bar.grid(row=0, column=0, sticky="w")
        self.open_button = ttk.Button(bar, text="Open...", command=self.open_dialog)
        self.open_button.grid(row=0, column=0)
        self.play_button = ttk.Button(bar, text="Play", command=self.toggle_play, state="disabled")
        self.play_button.grid(row=0, column=1, padx=4)
        self.save_button = ttk.Button(bar, text="Save GIF...", command=self.save_dialog, state="disabled")
        self.save_button.grid(row=0, column=2)

        ttk.Label(right, text="Site").grid(row=1, column=0, sticky="w", pady=(10, 0))
        self.site_var = tk.StringVar(value=site)
        self.site_box = ttk.Combobox(right, textvariable=self.site_var, values=SITES, width=18)
        self.site_box.grid(row=2, column=0, sticky="w")
        self.site_box.bind("<<ComboboxSelected>>", lambda e: self.restart())
        ttk.Label(right, text="Pixel spacing (mm, 0 = unknown)").grid(row=3, column=0, sticky="w", pady=(8, 0))
        self.spacing_var = tk.StringVar(value=f"{spacing:g}")
        ent = ttk.Entry(right, textvariable=self.spacing_var, width=10)
        ent.grid(row=4, column=0, sticky="w")
        ent.bind("<Return>", lambda e: self.restart())
        ttk.Label(right, text="Medial side (toward the midline)").grid(row=5, column=0, sticky="w", pady=(8, 0))
        self.medial_var = tk.StringVar(value=medial_side)
        self.medial_box = ttk.Combobox(right, textvariable=self.medial_var, values=MEDIAL_SIDES, width=10,
                                       state="readonly")
        self.medial_box.grid(row=6, column=0, sticky="w")
        self.medial_box.bind("<<ComboboxSelected>>", lambda e: self.restart())
        ttk.Label(right, text="ROI X,Y,W,H (empty: whole frame; or drag on the image)", wraplength=300).grid(
            row=7, column=0, sticky="w", pady=(8, 0))
        self.roi_var = tk.StringVar(value="")
        roi_entry = ttk.Entry(right, textvariable=self.roi_var, width=20)
        roi_entry.grid(row=8, column=0, sticky="w")
        roi_entry.bind("<Return>", lambda e: self.roi_from_text())

        self.status = tk.StringVar(value="Open a clip (video, GIF, folder of PNG frames).")
        self.areas = tk.StringVar(value="")
        self.comp = tk.StringVar(value="compressibility: -")
        self.verdict = tk.StringVar(value="verdict: -")
        self.flags = tk.StringVar(value="")
        self.confidence = tk.StringVar(value="")  # the verdict's and the identity's confidence
        self.reasons = tk.StringVar(value="")     # why the verdict is indeterminate
        self.vessels = tk.StringVar(value="")     # one line per vessel: identity and evidence
        ttk.Label(right, textvariable=self.status, wraplength=300).grid(row=9, column=0, sticky="w", pady=(12, 0))
        ttk.Label(right, textvariable=self.areas, wraplength=300).grid(row=10, column=0, sticky="w", pady=(6, 0))
        ttk.Label(right, textvariable=self.comp, font=("DejaVu Sans", 13, "bold")).grid(row=11, column=0,
                                                                                        sticky="w", pady=(8, 0))
        self.verdict_label = tk.Label(right, textvariable=self.verdict, font=("DejaVu Sans", 13, "bold"),
                                      background="#eceff3", padx=6, pady=3)
        self.verdict_label.grid(row=12, column=0, sticky="w", pady=(4, 0))
        ttk.Label(right, textvariable=self.confidence, wraplength=300).grid(row=13, column=0, sticky="w")
        ttk.Label(right, textvariable=self.reasons, wraplength=300, foreground="#9c1c13").grid(row=14, column=0,
                                                                                               sticky="w")
        ttk.Label(right, textvariable=self.flags, wraplength=300, foreground="#8a4b00").grid(row=15, column=0,
                                                                                            sticky="w")
        ttk.Label(right, textvariable=self.vessels, wraplength=300, justify="left",
                  font=("DejaVu Sans", 9)).grid(row=16, column=0, sticky="w", pady=(4, 0))
        ttk.Label(right, text="Artery red, vein blue.\nDecision support only: a research\ntool, "
                              "not a medical device.", foreground="#555").grid(row=17, column=0, sticky="w",
                                                                              pady=(12, 0))
        ttk.Label(right, text=f"model: {os.path.basename(model_path)}\nlibvenseg {venseg.version()}",
                  foreground="#555").grid(row=18, column=0, sticky="w", pady=(8, 0))

    # -- actions (the buttons call these; --selftest too)
    def open_dialog(self):
        path = filedialog.askopenfilename(title="Open a clip", filetypes=[
            ("clips", "*.mp4 *.avi *.mov *.mkv *.gif"), ("all files", "*")])
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        try:
            clip = Clip(path)
            first = clip.frame(0)
        except (OSError, ValueError, IndexError, subprocess.CalledProcessError) as e:
            messagebox.showerror("venseg viewer", str(e))
            return False
        if self.clip is not None:
            self.clip.close()
        self.clip, self.fps, self.path = clip, clip.fps, path
        w, h = clip.width, clip.height
        sw, sh = self.root.winfo_screenwidth(), self.root.winfo_screenheight()
        self.display_scale = display_scale(w, h, max(160, sw - self.PANEL_W),
                                           max(120, sh - self.CURVE_H - self.CHROME_H))
        dw, dh = max(1, round(w * self.display_scale)), max(1, round(h * self.display_scale))
        self.display_size = (dw, dh)
        self.image.configure(width=dw, height=dh)
        self.curve_w = max(self.CURVE_W, dw)
        self.curve.configure(width=self.curve_w)
        note = ""
        if self.roi and not self._roi_fits(self.roi):
            note, self.roi = f"; ROI {self.roi} outside the frame, cleared", None
        self.roi_var.set(",".join(map(str, self.roi)) if self.roi else "")
        self.play_button.configure(state="normal")
        self.restart()
        self.clip_line = f"{os.path.basename(path)}: {len(clip)} frames {w}x{h}" + \
            (f", {self.fps:.3g} frames/s" if self.fps else "") + \
            f"; {self.session.precision.name.lower()}"
        self.status.set(self.clip_line + self._roi_text() + note)
        self.show(draw_roi(first.copy(), self.roi))
        return True

    def _roi_fits(self, roi) -> bool:
        x, y, w, h = roi
        return self.clip is None or (x + w <= self.clip.width and y + h <= self.clip.height)

    def _roi_text(self) -> str:
        return ", ROI {},{},{},{}".format(*self.roi) if self.roi else ""

    def set_roi(self, roi) -> bool:
        """Segment only roi (x, y, w, h; None: the whole frame) from now on; the clip is analysed
        again from its first frame. False (and the ROI unchanged) if it does not fit the frames."""
        if roi is not None and not self._roi_fits(roi):
            self.status.set(f"ROI {roi} lies outside the {self.clip.width}x{self.clip.height} frames")
            return False
        self.roi = tuple(roi) if roi else None
        self.roi_var.set(",".join(map(str, self.roi)) if self.roi else "")
        if self.clip is not None:
            self.restart()
            self.status.set(self.clip_line + self._roi_text())
            self.show(draw_roi(self.clip.frame(0).copy(), self.roi))
        return True

    def roi_from_text(self):
        try:
            self.set_roi(parse_roi(self.roi_var.get()))
        except ValueError as e:
            self.status.set(str(e))

    def _canvas_to_frame(self, x: float, y: float):
        s = self.display_scale
        return (min(max(0, int(round(x / s))), self.clip.width), min(max(0, int(round(y / s))), self.clip.height))

    def _drag_start(self, event):
        if self.clip is None:
            return
        self._drag = (event.x, event.y)
        self.image.delete("rubber")
        self.image.create_rectangle(event.x, event.y, event.x, event.y, outline="#ffd600", dash=(4, 2),
                                    tags="rubber")

    def _drag_move(self, event):
        if self._drag:
            self.image.coords("rubber", self._drag[0], self._drag[1], event.x, event.y)

    def _drag_end(self, event):
        """A dragged rectangle of at least 8 x 8 frame pixels becomes the ROI."""
        if not self._drag:
            return
        (x0, y0), (x1, y1) = self._canvas_to_frame(*self._drag), self._canvas_to_frame(event.x, event.y)
        self._drag = None
        self.image.delete("rubber")
        x, y, w, h = min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)
        if w >= 8 and h >= 8:
            self.set_roi((x, y, w, h))

    def restart(self):
        """A new tracker (new site, spacing or ROI): the clip is analysed again from frame 0."""
        try:
            self.spacing = max(0.0, float(self.spacing_var.get() or 0))
        except ValueError:
            self.spacing = 0.0
        cfg = {"frame_stride": self.stride, "medial_side": self.medial_var.get()}
        if self.fps:
            cfg["frame_rate"] = self.fps
        if self.spacing > 0:
            cfg["pixel_spacing_x"] = cfg["pixel_spacing_y"] = self.spacing
        self.session.set_roi(*(self.roi or (0, 0, 0, 0)))  # pixels outside it are label 0
        self.tracker = venseg.Tracker(site=self.site_var.get(), **cfg)
        self.index = 0
        self.masks = []
        self.label_px = self.label_px_outside_roi = 0
        self.save_button.configure(state="disabled")
        self.draw_curve()

    def toggle_play(self):
        self.playing = not self.playing
        self.play_button.configure(text="Pause" if self.playing else "Play")
        if self.playing:
            if self.index >= len(self.clip):
                self.restart()
            self.root.after(1, self.step)

    def step(self):
        if not self.playing:
            return
        frame = None
        if self.index < len(self.clip):
            try:
                frame = self.clip.frame(self.index)
            except IndexError:  # a video shorter than it declared: len(clip) is now what it had
                pass
        if frame is None:
            self.playing = False
            self.play_button.configure(text="Play")
            short = (f" (decoded {len(self.clip)} of the {self.clip.declared} frames declared)"
                     if len(self.clip) < self.clip.declared else "")
            self.status.set(self.status.get().split(" | ")[0] + " | done" + short)
            self.root.event_generate("<<PlaybackDone>>")
            return
        mask = self.tracker.push_frame(self.session, frame)
        if mask is not None:
            self.masks.append((self.index, zlib.compress(mask.tobytes(), 1)))
            vessel = int(np.count_nonzero(mask))
            self.label_px += vessel
            if self.roi:
                x, y, w, h = self.roi
                self.label_px_outside_roi += vessel - int(np.count_nonzero(mask[y:y + h, x:x + w]))
            self.show(draw_roi(overlay(frame, mask), self.roi))
            self.update_numbers()
            self.draw_curve()
            self.save_button.configure(state="normal")
        self.index += 1
        delay = int(1000 / self.fps) if self.fps else 30
        self.root.after(max(1, delay // 4), self.step)

    def save_dialog(self):
        path = filedialog.asksaveasfilename(title="Save the overlay as GIF", defaultextension=".gif",
                                            filetypes=[("GIF", "*.gif")])
        if path:
            self.save_gif(path)

    def overlays(self):
        """The overlay of every analysed frame, one at a time (decoded again from the clip)."""
        h, w = self.clip.height, self.clip.width
        for index, packed in self.masks:
            mask = np.frombuffer(zlib.decompress(packed), np.uint8).reshape(h, w)
            yield draw_roi(overlay(self.clip.frame(index), mask), self.roi)

    def save_gif(self, path: str) -> int:
        if not self.masks:
            return 0
        ms = int(round(1000 * self.stride / self.fps)) if self.fps else 100
        n = write_gif(path, self.overlays(), ms)
        self.status.set(f"saved {n} frames to {path}")
        return n

    def close(self):
        if self.clip is not None:
            self.clip.close()
        self.root.destroy()

    # -- display
    def show(self, rgb: np.ndarray):
        s = self.display_scale
        if s == 2.0:
            shown = rgb.repeat(2, axis=0).repeat(2, axis=1)
        elif s == 1.0:
            shown = rgb
        else:
            shown = np.asarray(Image.fromarray(rgb).resize(self.display_size, Image.BILINEAR))
        self.photo = to_photo(shown)
        self.image.delete("frame")
        self.image.create_image(0, 0, anchor="nw", image=self.photo, tags="frame")
        self.image.tag_lower("frame")

    def update_numbers(self):
        f = self.tracker.frame(-1)
        unit, va, aa = ("mm²", f.vein_area_mm2, f.artery_area_mm2) if self.spacing > 0 else \
            ("px", f.vein_area_px, f.artery_area_px)
        self.areas.set(f"frame {f.frame_index + 1}/{len(self.clip)}: vein {va:.1f} {unit}, "
                       f"artery {aa:.1f} {unit}")
        s = self.tracker.summary()
        c = s.compressibility_percent
        # an indeterminate result reports no compressibility
        judged = s.verdict != venseg.Verdict.INDETERMINATE and c == c
        self.comp.set("compressibility: " + (f"{c:.0f} %" if judged else "- (no verdict)"))
        self.verdict.set("verdict: " + VERDICT_WORDS.get(s.verdict, "?"))
        self.verdict_label.configure(background={1: "#e3f5e6", 2: "#fde3e1", 3: "#fde3e1"}.get(s.verdict, "#eceff3"))
        names = [n.replace("VENSEG_FLAG_", "") for n in venseg.flag_names(s.flags)
                 if n not in ("VENSEG_FLAG_SPACING_UNKNOWN",)]
        self.flags.set(("flags: " + ", ".join(names)) if names else "")
        self.confidence.set(confidence_line(s))
        reasons = s.indeterminate_reasons
        self.reasons.set(("no verdict because: " + ", ".join(reasons or ["no flag set"]))
                         if s.verdict == venseg.Verdict.INDETERMINATE else "")
        self.vessels.set("\n".join(vessel_line(v) for v in self.tracker.vessels()) or "vessels: none tracked")

    def draw_curve(self):
        """The vein's and the artery's area against time: ticks evenly spaced at round values,
        the time axis labelled in seconds (frames when the rate is unknown). The ticks drawn
        are kept in self.ticks (value, x or y in the canvas, label)."""
        c = self.curve
        c.delete("all")
        W, H, L, B, T = self.curve_w, self.CURVE_H, 52, 30, 20
        unit = "mm2" if self.spacing > 0 else "px"
        self.ticks = {"x": [], "y": [], "x_unit": "s" if self.fps else "frame"}
        c.create_text(L, 4, anchor="nw", text=f"vein area ({unit})", fill="#1f6fd6")
        c.create_text(W - 6, 4, anchor="ne", text="artery", fill="#d62828")
        if self.tracker is None or self.clip is None:
            return
        cur = self.tracker.curve(unit)
        n = len(cur["frame_index"])
        per = self.fps if self.fps else 1.0
        x = cur["frame_index"] / per
        xmax = (len(self.clip) - 1) / per or 1.0
        top = max(1e-9, float(np.max([cur["vein_area"].max(), cur["artery_area"].max()]))) if n else 1.0
        yt, ystep = nice_ticks(top, 4)
        if yt[-1] < top * (1 - 1e-9):
            yt.append(round(yt[-1] + ystep, 9))
        ymax = yt[-1] or 1.0

        def px(v): return L + v / xmax * (W - L - 8)
        def py(v): return H - B - v / ymax * (H - B - T)
        c.create_line(L, H - B, W - 8, H - B, fill="#222")
        c.create_line(L, T, L, H - B, fill="#222")
        for v in yt:
            label = tick_label(v, ystep)
            c.create_line(L - 3, py(v), L, py(v), fill="#222")
            c.create_text(L - 5, py(v), anchor="e", text=label, font=("DejaVu Sans", 8))
            self.ticks["y"].append({"value": v, "y": py(v), "label": label})
        xt, xstep = nice_ticks(xmax, max(2, int((W - L) // 70)))
        if not self.fps:  # frames: whole numbers
            xt, xstep = nice_ticks(xmax, max(1, min(int((W - L) // 70), int(xmax))))
        for v in xt:
            label = tick_label(v, xstep, "s" if self.fps else "")
            c.create_line(px(v), H - B, px(v), H - B + 3, fill="#222")
            c.create_text(px(v), H - B + 6, anchor="n", text=label, font=("DejaVu Sans", 8))
            self.ticks["x"].append({"value": v, "x": px(v), "label": label})
        if not self.fps:
            c.create_text(4, H - 4, anchor="sw", text="frame", font=("DejaVu Sans", 8))
        if n == 0:
            return
        s = self.tracker.summary()
        for frame, colour in ((s.baseline_frame, "#2e9b3c"), (s.min_frame, "#e07b00")):
            if frame >= 0:
                xx = px(frame / per)
                c.create_line(xx, T, xx, H - B, fill=colour, dash=(4, 2))
        for key, colour, width in (("artery_area", "#d62828", 2), ("vein_area", "#a8c8f0", 1),
                                   ("vein_area_smoothed", "#1f6fd6", 3)):
            pts = [v for i in range(n) for v in (px(x[i]), py(cur[key][i]))]
            if n == 1:
                pts += pts
            c.create_line(*pts, fill=colour, width=width)


# ---------------------------------------------------------------- selftest

def screenshot(root: tk.Tk, path: str):
    """The viewer window's pixels from the X server (Pillow's ImageGrab)."""
    from PIL import ImageGrab
    root.update()
    x, y = root.winfo_rootx(), root.winfo_rooty()
    w, h = root.winfo_width(), root.winfo_height()
    ImageGrab.grab(bbox=(x, y, x + w, y + h)).save(path)


def drag(widget, x0, y0, x1, y1, button=1):
    """A mouse drag on widget from (x0, y0) to (x1, y1), through Tk's event queue."""
    widget.event_generate(f"<ButtonPress-{button}>", x=x0, y=y0)
    widget.event_generate("<Motion>", x=(x0 + x1) // 2, y=(y0 + y1) // 2)
    widget.event_generate(f"<ButtonRelease-{button}>", x=x1, y=y1)


def selftest(viewer: Viewer, clip: str, out: str):
    """open -> play (through the Play button) -> save GIF -> screenshot -> drag an ROI on the
    image and clear it -> JSON; exits."""
    os.makedirs(out, exist_ok=True)
    root = viewer.root
    result = {"clip": clip}
    asked_roi = viewer.roi

    def finish(_event=None):
        gif = os.path.join(out, "viewer-overlay.gif")
        result["saved_frames"] = viewer.save_gif(gif)
        viewer.draw_curve()
        root.update()
        root.after(300, lambda: shoot(gif))

    def shoot(gif):
        screenshot(root, os.path.join(out, "viewer.png"))
        s = viewer.tracker.summary()
        cl = viewer.clip
        result.update(gif=gif, frames=len(cl), analysed=s.frames_analysed, verdict=int(s.verdict),
                      verdict_name=venseg.verdict_name(s.verdict), flags=venseg.flag_names(s.flags),
                      compressibility_percent=None if s.compressibility_percent != s.compressibility_percent
                      else s.compressibility_percent, site=viewer.site_var.get(),
                      shown_compressibility=viewer.comp.get(), shown_verdict=viewer.verdict.get(),
                      summary=s.as_dict(), vessels=[v.as_dict() for v in viewer.tracker.vessels()],
                      shown_confidence=viewer.confidence.get(), shown_reasons=viewer.reasons.get(),
                      shown_vessels=viewer.vessels.get(), medial_side=viewer.medial_var.get(),
                      frame_size=[cl.width, cl.height], clip_kind=cl.kind, declared_frames=cl.declared, fps=cl.fps,
                      display_scale=viewer.display_scale, display_size=list(viewer.display_size),
                      shown_image_size=[viewer.photo.width(), viewer.photo.height()],
                      image_widget_size=[viewer.image.winfo_width(), viewer.image.winfo_height()],
                      screen_size=[root.winfo_screenwidth(), root.winfo_screenheight()],
                      roi=list(viewer.roi) if viewer.roi else None, label_px=viewer.label_px,
                      label_px_outside_roi=viewer.label_px_outside_roi, masks_kept=len(viewer.masks),
                      frames_cached=len(cl._cache), frame_cache_limit=Clip.CACHE,
                      curve_ticks=viewer.ticks, curve_width=viewer.curve_w, status=viewer.status.get())
        # the interactive ROI: a drag over the middle half of the frame, then a right click
        w, h, sc = cl.width, cl.height, viewer.display_scale
        rect = [w // 4 // 2 * 2, h // 4 // 2 * 2, 3 * w // 4 // 2 * 2, 3 * h // 4 // 2 * 2]
        drag(viewer.image, *(round(v * sc) for v in rect))
        result["drag"] = {"frame_rect": rect, "roi": list(viewer.roi) if viewer.roi else None,
                          "roi_field": viewer.roi_var.get()}
        viewer.image.event_generate("<ButtonPress-3>", x=5, y=5)
        result["drag"]["after_right_click"] = list(viewer.roi) if viewer.roi else None
        result["peak_rss_kb"] = peak_rss_kb()
        result["precision"] = viewer.session.precision.name.lower()  # what ran ("auto" resolved)
        with open(os.path.join(out, "selftest.json"), "w") as f:
            json.dump(result, f, indent=2)
        viewer.close()

    def start():
        if not viewer.open_path(clip):
            root.destroy()
            sys.exit(1)
        if asked_roi and viewer.roi != asked_roi:
            print(f"viewer: --roi {','.join(map(str, asked_roi))} lies outside the {viewer.clip.width}x"
                  f"{viewer.clip.height} frames", file=sys.stderr)
            viewer.close()
            sys.exit(2)
        viewer.site_box.set("popliteal")
        viewer.site_box.event_generate("<<ComboboxSelected>>")
        root.bind("<<PlaybackDone>>", finish)
        viewer.play_button.invoke()

    root.after(200, start)


def _roi_arg(text: str):
    try:
        return parse_roi(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", help="video file, animated GIF or folder of PNG frames")
    ap.add_argument("--model", default=os.environ.get("VENSEG_MODEL", DEFAULT_MODEL))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8", "fp16"),
                    help="network precision (default venseg.DEFAULT_PRECISION, as venseg analyze's; "
                         "docs/precision.md); the status line says what runs")
    ap.add_argument("--spacing", type=float, default=0.0, help="pixel size in mm (0: unknown)")
    ap.add_argument("--site", default="common_femoral", choices=SITES)
    ap.add_argument("--stride", type=int, default=1, help="analyse every K-th frame")
    ap.add_argument("--medial-side", default="unknown", choices=MEDIAL_SIDES,
                    help="image side toward the body's midline (default unknown: detected)")
    ap.add_argument("--roi", type=_roi_arg, metavar="X,Y,W,H",
                    help="segment only this rectangle of the frames (e.g. the B-mode image of a scanner's screen)")
    ap.add_argument("--selftest", metavar="OUTDIR", help="drive open -> play -> save, screenshot, then exit")
    a = ap.parse_args(argv)
    if not os.path.exists(a.model):
        print(f"viewer: model {a.model} not found (--model)", file=sys.stderr)
        return 4
    if a.selftest and not a.clip:
        print("viewer: --selftest needs a CLIP", file=sys.stderr)
        return 2
    root = tk.Tk()
    viewer = Viewer(root, a.model, threads=a.threads, spacing=a.spacing, site=a.site, stride=a.stride,
                    medial_side=a.medial_side, roi=a.roi, precision=a.precision)
    if a.selftest:
        selftest(viewer, a.clip, a.selftest)
    elif a.clip:
        root.after(100, lambda: viewer.open_path(a.clip))
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
