#!/usr/bin/env python3
"""venseg viewer: watch a compression clip with the artery/vein overlay, live.

    python3 examples/viewer/viewer.py [CLIP] [--model weights/resunet34.vseg] [--spacing MM]
                                      [--site popliteal] [--stride K] [--threads N]
                                      [--medial-side left|right|unknown]

Open a clip (a video through the ffmpeg program, an animated GIF, or a folder of PNG
frames), press Play: each frame is segmented by libvenseg (through the Python binding,
``venseg.Session``) and tracked (``venseg.Tracker``), the overlay shows the artery red and
the vein blue, and the vein-area curve, the compressibility and the verdict update as it
plays, with the verdict's confidence, why it is indeterminate when it is (its flags by
name), and each vessel's identity (artery, vein, other) with the evidence for it. Pick the
site (common femoral, femoral, popliteal) and the medial side, then save the overlay as GIF.
Like the paper's GUI (Chen et al., iScience 2024), in Tkinter.

A research tool, not a medical device: the verdict is decision support.

--selftest OUTDIR (with CLIP) drives the window itself (open -> play to the end -> save
GIF), takes a screenshot (OUTDIR/viewer.png) and writes OUTDIR/selftest.json; the test
examples/viewer/viewer_test.sh runs it under Xvfb.

Needs: the venseg package (bindings/python, with its compiled cffi extension), numpy,
Pillow (GIF reading/writing, PNG frames, the screenshot; the 'apps' extra:
pip install './bindings/python[apps]'), Tk (Debian python3-tk), and the ffmpeg program for
video files.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tkinter as tk
from tkinter import filedialog, messagebox, ttk

import numpy as np

try:
    from PIL import Image, ImageSequence
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

def read_clip(path: str):
    """Frames (list of HxWx3 uint8) and the frame rate (0 if unknown) of a GIF, a folder of
    PNG frames, or a video (decoded by the ffmpeg program)."""
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path)
                       if n.lower().endswith(".png") and not n.lower().endswith("_label.png") and not n.startswith("."))
        if not names:
            raise ValueError(f"{path}: no PNG frames in the folder")
        return [frame_rgb(read_frame(os.path.join(path, n), png_only=True)) for n in names], 0.0
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:4] == b"GIF8":
        im = Image.open(path)
        frames = [np.asarray(fr.convert("RGB")) for fr in ImageSequence.Iterator(im)]
        duration = im.info.get("duration", 0)
        return frames, (1000.0 / duration if duration else 0.0)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height,avg_frame_rate", "-of", "json", path],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise ValueError(f"{path}: not a readable video ({probe.stderr.strip() or 'ffprobe failed'})")
    st = json.loads(probe.stdout)["streams"][0]
    w, h = int(st["width"]), int(st["height"])
    num, _, den = st.get("avg_frame_rate", "0/1").partition("/")
    fps = float(num) / float(den) if den and float(den) else 0.0
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    n = len(raw) // (w * h * 3)
    return list(np.frombuffer(raw[:n * w * h * 3], np.uint8).reshape(n, h, w, 3)), fps


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


def to_photo(rgb: np.ndarray) -> tk.PhotoImage:
    h, w = rgb.shape[:2]
    return tk.PhotoImage(data=b"P6 %d %d 255\n" % (w, h) + np.ascontiguousarray(rgb).tobytes(), format="PPM")


# ------------------------------------------------------------------ viewer

class Viewer:
    CURVE_W, CURVE_H = 520, 190

    def __init__(self, root: tk.Tk, model_path: str, threads: int = 0, spacing: float = 0.0,
                 site: str = "common_femoral", stride: int = 1, medial_side: str = "unknown"):
        self.root = root
        self.model = venseg.Model(model_path)
        self.model_path = model_path
        self.session = venseg.Session(self.model, threads=threads)
        self.spacing = spacing
        self.stride = max(1, stride)
        self.frames: list = []
        self.fps = 0.0
        self.path = ""
        self.index = 0
        self.playing = False
        self.overlays: list = []
        self.tracker = None
        self.display_scale = 1

        root.title("venseg viewer - research tool, not a medical device")
        left = ttk.Frame(root, padding=6)
        left.grid(row=0, column=0, sticky="n")
        right = ttk.Frame(root, padding=6)
        right.grid(row=0, column=1, sticky="n")
        self.image_label = ttk.Label(left)
        self.image_label.grid(row=0, column=0)
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

        self.status = tk.StringVar(value="Open a clip (video, GIF, folder of PNG frames).")
        self.areas = tk.StringVar(value="")
        self.comp = tk.StringVar(value="compressibility: -")
        self.verdict = tk.StringVar(value="verdict: -")
        self.flags = tk.StringVar(value="")
        self.confidence = tk.StringVar(value="")  # the verdict's and the identity's confidence
        self.reasons = tk.StringVar(value="")     # why the verdict is indeterminate
        self.vessels = tk.StringVar(value="")     # one line per vessel: identity and evidence
        ttk.Label(right, textvariable=self.status, wraplength=300).grid(row=7, column=0, sticky="w", pady=(12, 0))
        ttk.Label(right, textvariable=self.areas, wraplength=300).grid(row=8, column=0, sticky="w", pady=(6, 0))
        ttk.Label(right, textvariable=self.comp, font=("DejaVu Sans", 13, "bold")).grid(row=9, column=0,
                                                                                        sticky="w", pady=(8, 0))
        self.verdict_label = tk.Label(right, textvariable=self.verdict, font=("DejaVu Sans", 13, "bold"),
                                      background="#eceff3", padx=6, pady=3)
        self.verdict_label.grid(row=10, column=0, sticky="w", pady=(4, 0))
        ttk.Label(right, textvariable=self.confidence, wraplength=300).grid(row=11, column=0, sticky="w")
        ttk.Label(right, textvariable=self.reasons, wraplength=300, foreground="#9c1c13").grid(row=12, column=0,
                                                                                               sticky="w")
        ttk.Label(right, textvariable=self.flags, wraplength=300, foreground="#8a4b00").grid(row=13, column=0,
                                                                                            sticky="w")
        ttk.Label(right, textvariable=self.vessels, wraplength=300, justify="left",
                  font=("DejaVu Sans", 9)).grid(row=14, column=0, sticky="w", pady=(4, 0))
        ttk.Label(right, text="Artery red, vein blue.\nDecision support only: a research\ntool, "
                              "not a medical device.", foreground="#555").grid(row=15, column=0, sticky="w",
                                                                              pady=(12, 0))
        ttk.Label(right, text=f"model: {os.path.basename(model_path)}\nlibvenseg {venseg.version()}",
                  foreground="#555").grid(row=16, column=0, sticky="w", pady=(8, 0))

    # -- actions (the buttons call these; --selftest too)
    def open_dialog(self):
        path = filedialog.askopenfilename(title="Open a clip", filetypes=[
            ("clips", "*.mp4 *.avi *.mov *.mkv *.gif"), ("all files", "*")])
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        try:
            frames, fps = read_clip(path)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            messagebox.showerror("venseg viewer", str(e))
            return False
        if not frames:
            messagebox.showerror("venseg viewer", f"{path}: no frames")
            return False
        self.frames, self.fps, self.path = frames, fps, path
        h, w = frames[0].shape[:2]
        # small clips are shown 2x, large ones reduced to about 520 px
        self.display_scale = 0.5 if max(w, h) <= 260 else max(1, math.ceil(max(w, h) / 520))
        self.play_button.configure(state="normal")
        self.restart()
        self.status.set(f"{os.path.basename(path)}: {len(frames)} frames {w}x{h}"
                        + (f", {fps:.3g} frames/s" if fps else ""))
        self.show(frames[0], None)
        return True

    def restart(self):
        """A new tracker (new site or spacing): the clip is analysed again from frame 0."""
        try:
            self.spacing = max(0.0, float(self.spacing_var.get() or 0))
        except ValueError:
            self.spacing = 0.0
        cfg = {"frame_stride": self.stride, "medial_side": self.medial_var.get()}
        if self.fps:
            cfg["frame_rate"] = self.fps
        if self.spacing > 0:
            cfg["pixel_spacing_x"] = cfg["pixel_spacing_y"] = self.spacing
        self.tracker = venseg.Tracker(site=self.site_var.get(), **cfg)
        self.index = 0
        self.overlays = []
        self.save_button.configure(state="disabled")
        self.draw_curve()

    def toggle_play(self):
        self.playing = not self.playing
        self.play_button.configure(text="Pause" if self.playing else "Play")
        if self.playing:
            if self.index >= len(self.frames):
                self.restart()
            self.root.after(1, self.step)

    def step(self):
        if not self.playing:
            return
        if self.index >= len(self.frames):
            self.playing = False
            self.play_button.configure(text="Play")
            self.status.set(self.status.get().split(" | ")[0] + " | done")
            self.root.event_generate("<<PlaybackDone>>")
            return
        frame = self.frames[self.index]
        mask = self.tracker.push_frame(self.session, frame)
        if mask is not None:
            ov = overlay(frame, mask)
            self.overlays.append(ov)
            self.show(ov, mask)
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

    def save_gif(self, path: str) -> int:
        if not self.overlays:
            return 0
        ms = int(round(1000 * self.stride / self.fps)) if self.fps else 100
        imgs = [Image.fromarray(o) for o in self.overlays]
        imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=ms, loop=0)
        self.status.set(f"saved {len(imgs)} frames to {path}")
        return len(imgs)

    # -- display
    def show(self, rgb: np.ndarray, mask):
        s = self.display_scale
        shown = rgb.repeat(2, axis=0).repeat(2, axis=1) if s < 1 else rgb[::s, ::s]
        self.photo = to_photo(shown)
        self.image_label.configure(image=self.photo)

    def update_numbers(self):
        f = self.tracker.frame(-1)
        unit, va, aa = ("mm²", f.vein_area_mm2, f.artery_area_mm2) if self.spacing > 0 else \
            ("px", f.vein_area_px, f.artery_area_px)
        self.areas.set(f"frame {f.frame_index + 1}/{len(self.frames)}: vein {va:.1f} {unit}, "
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
        c = self.curve
        c.delete("all")
        W, H, L, B, T = self.CURVE_W, self.CURVE_H, 46, 22, 20
        unit = "mm2" if self.spacing > 0 else "px"
        c.create_text(L, 4, anchor="nw", text=f"vein area ({unit})", fill="#1f6fd6")
        c.create_text(W - 6, 4, anchor="ne", text="artery", fill="#d62828")
        if self.tracker is None or not self.frames:
            return
        cur = self.tracker.curve(unit)
        n = len(cur["frame_index"])
        if n == 0:
            return
        x = cur["frame_index"] / (self.fps if self.fps else 1.0)
        xmax = (len(self.frames) - 1) / (self.fps if self.fps else 1.0) or 1.0
        ymax = max(1e-9, float(np.max([cur["vein_area"].max(), cur["artery_area"].max()]))) * 1.1
        def px(v): return L + v / xmax * (W - L - 8)
        def py(v): return H - B - v / ymax * (H - B - T)
        c.create_line(L, H - B, W - 8, H - B, fill="#222")
        c.create_line(L, T, L, H - B, fill="#222")
        for k in range(5):
            v = ymax * k / 4
            c.create_text(L - 4, py(v), anchor="e", text=f"{v:.0f}" if ymax > 20 else f"{v:.1f}",
                          font=("DejaVu Sans", 8))
        c.create_text(W - 8, H - 4, anchor="se", text="time (s)" if self.fps else "frame", font=("DejaVu Sans", 8))
        s = self.tracker.summary()
        for frame, colour in ((s.baseline_frame, "#2e9b3c"), (s.min_frame, "#e07b00")):
            if frame >= 0:
                xx = px(frame / (self.fps if self.fps else 1.0))
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


def selftest(viewer: Viewer, clip: str, out: str):
    """open -> play (through the Play button) -> save GIF -> screenshot -> JSON; exits."""
    os.makedirs(out, exist_ok=True)
    root = viewer.root
    result = {"clip": clip}

    def finish(_event=None):
        gif = os.path.join(out, "viewer-overlay.gif")
        result["saved_frames"] = viewer.save_gif(gif)
        viewer.draw_curve()
        root.update()
        root.after(300, lambda: shoot(gif))

    def shoot(gif):
        screenshot(root, os.path.join(out, "viewer.png"))
        s = viewer.tracker.summary()
        result.update(gif=gif, frames=len(viewer.frames), analysed=s.frames_analysed, verdict=int(s.verdict),
                      verdict_name=venseg.verdict_name(s.verdict), flags=venseg.flag_names(s.flags),
                      compressibility_percent=None if s.compressibility_percent != s.compressibility_percent
                      else s.compressibility_percent, site=viewer.site_var.get(),
                      shown_compressibility=viewer.comp.get(), shown_verdict=viewer.verdict.get(),
                      summary=s.as_dict(), vessels=[v.as_dict() for v in viewer.tracker.vessels()],
                      shown_confidence=viewer.confidence.get(), shown_reasons=viewer.reasons.get(),
                      shown_vessels=viewer.vessels.get(), medial_side=viewer.medial_var.get())
        with open(os.path.join(out, "selftest.json"), "w") as f:
            json.dump(result, f, indent=2)
        root.destroy()

    def start():
        if not viewer.open_path(clip):
            root.destroy()
            sys.exit(1)
        viewer.site_box.set("popliteal")
        viewer.site_box.event_generate("<<ComboboxSelected>>")
        root.bind("<<PlaybackDone>>", finish)
        viewer.play_button.invoke()

    root.after(200, start)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", help="video file, animated GIF or folder of PNG frames")
    ap.add_argument("--model", default=os.environ.get("VENSEG_MODEL", DEFAULT_MODEL))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--spacing", type=float, default=0.0, help="pixel size in mm (0: unknown)")
    ap.add_argument("--site", default="common_femoral", choices=SITES)
    ap.add_argument("--stride", type=int, default=1, help="analyse every K-th frame")
    ap.add_argument("--medial-side", default="unknown", choices=MEDIAL_SIDES,
                    help="image side toward the body's midline (default unknown: detected)")
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
                    medial_side=a.medial_side)
    if a.selftest:
        selftest(viewer, a.clip, a.selftest)
    elif a.clip:
        root.after(100, lambda: viewer.open_path(a.clip))
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
