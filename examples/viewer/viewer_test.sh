#!/usr/bin/env bash
# viewer_test.sh VENSEG LIBVENSEG MODEL WORK_DIR [SHOT_COPY]
#
# examples/viewer/viewer.py (Tkinter) under Xvfb: `venseg phantom` writes a short
# compression clip; the viewer's --selftest opens it, picks the site, presses Play (the
# button's own command), plays to the end, saves the overlay GIF and grabs the window
# from the X server. Checked here, independently of the viewer: the GIF (Pillow: frame
# count and size = the clip's), the screenshot (not blank; the overlay's red, the curve's
# blue, the verdict badge present), and the JSON the viewer wrote (every frame analysed,
# the site picked, the numbers shown = the tracker's; so are the verdict's confidence, the
# reasons for no verdict and one line per vessel with its identity and evidence).
# Also (issue 17.12): the 160x128 clip is shown twice as large and a 640x480 video at its
# own size; the curve's ticks are evenly spaced at round values with time labels in
# seconds; a dragged rectangle becomes the ROI and a right click clears it; --roi X,Y,W,H
# segments only that rectangle (nothing outside it in the saved overlay, where the
# whole-frame run has vessels) and one outside the frames is refused; and memory: a
# 600-frame 640x480 video (20 s) against a 60-frame one, the viewer's peak RSS (a size, not
# a time) within 20 % + 32 MB, with at most Clip.CACHE frames kept (needs the ffmpeg program,
# as the viewer does for videos; that part is skipped without it).
# The Python binding's cffi extension is built for LIBVENSEG into WORK_DIR/py first
# (bindings/python/venseg_build.py) unless $VENSEG_PY_EXT_DIR already holds one.
# SHOT_COPY (optional): where to copy the screenshot. Skips (77) without xvfb-run or Tk.
set -euo pipefail
venseg=$1 lib=$2 model=$3 work=$4 copy=${5:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=/usr/bin/python3
fail() { echo "viewer_test: FAIL: $*" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "viewer_test: SKIP: xvfb-run not installed (Debian: xvfb xauth)"; exit 77; }
"$py" -c "import tkinter, cffi, PIL" 2>/dev/null || { echo "viewer_test: SKIP: needs python3-tk, python3-cffi, python3-pil"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
ext=${VENSEG_PY_EXT_DIR:-$work/py}
if ! ls "$ext"/venseg/_venseg_cffi*.so >/dev/null 2>&1; then
    "$py" "$here/bindings/python/venseg_build.py" --library "$lib" --out "$ext" >"$work/cffi-build.log" 2>&1 \
        || { cat "$work/cffi-build.log"; fail "building the cffi extension failed"; }
fi
"$venseg" phantom --frames 20 --size 160x128 --seed 7 "$work/clip.gif" -q
PYTHONPATH="$ext:$here/bindings/python" PYTHONDONTWRITEBYTECODE=1 timeout 300 \
    xvfb-run -a -s "-screen 0 1280x900x24" "$py" "$here/examples/viewer/viewer.py" "$work/clip.gif" \
    --model "$model" --threads 2 --spacing 0.15 --selftest "$work/out" >"$work/viewer.log" 2>&1 \
    || { cat "$work/viewer.log"; fail "the viewer failed"; }
"$py" - "$work/out" <<'PY'
import json, os, sys
import numpy as np
from PIL import Image, ImageSequence
out = sys.argv[1]
r = json.load(open(os.path.join(out, "selftest.json")))
assert r["frames"] == 20 and r["analysed"] == 20 and r["saved_frames"] == 20, r
assert r["site"] == "popliteal", r
# a small clip is shown twice as large; the dragged rectangle is the ROI, a right click clears it
assert r["frame_size"] == [160, 128] and r["display_size"] == r["shown_image_size"] == [320, 256], r
assert r["roi"] is None and r["label_px"] > 0, r
x0, y0, x1, y1 = r["drag"]["frame_rect"]
assert r["drag"]["roi"] == [x0, y0, x1 - x0, y1 - y0], r
assert r["drag"]["roi_field"] == f"{x0},{y0},{x1 - x0},{y1 - y0}", r
assert r["drag"]["after_right_click"] is None, r
gif = Image.open(r["gif"])
frames = [f.convert("RGB") for f in ImageSequence.Iterator(gif)]
assert len(frames) == 20 and gif.size == (160, 128), (len(frames), gif.size)
assert gif.info.get("loop") == 0
c = r["compressibility_percent"]
# an indeterminate result shows no compressibility
judged = c is not None and r["verdict_name"] != "VENSEG_VERDICT_INDETERMINATE"
assert r["shown_compressibility"] == (f"compressibility: {c:.0f} %" if judged else "compressibility: - (no verdict)"), r
words = {"VENSEG_VERDICT_INDETERMINATE": "indeterminate", "VENSEG_VERDICT_COMPRESSIBLE": "compressible",
         "VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE": "PARTIALLY compressible",
         "VENSEG_VERDICT_NON_COMPRESSIBLE": "NON-COMPRESSIBLE"}
assert r["shown_verdict"] == "verdict: " + words[r["verdict_name"]], r
# confidence, reasons and vessels shown = the tracker's summary and vessels
s = r["summary"]
conf = lambda c: "n/a" if c is None or c != c else f"{c:.2f}"
assert s["verdict"] == r["verdict_name"][len("VENSEG_VERDICT_"):] and r["medial_side"] == "unknown", s
assert r["shown_confidence"] == (f"verdict confidence {conf(s['verdict_confidence'])}, identity "
                                 f"{conf(s['identity_confidence'])}; medial side {s['medial_side']} "
                                 f"({s['medial_side_source']})"), r["shown_confidence"]
want = ("no verdict because: " + ", ".join(s["indeterminate_reasons"] or ["no flag set"])
        if s["verdict"] == "INDETERMINATE" else "")
assert r["shown_reasons"] == want, (r["shown_reasons"], want)
assert len(r["vessels"]) == s["vessel_count"], (len(r["vessels"]), s["vessel_count"])
lines = [f"{v['identity']} track {v['track_id']}, identity {conf(v['identity_confidence'])}: "
         f"{v['evidence'] or 'no evidence measured'}" for v in r["vessels"]]
assert r["shown_vessels"] == ("\n".join(lines) or "vessels: none tracked"), (r["shown_vessels"], lines)
shot = np.asarray(Image.open(os.path.join(out, "viewer.png")).convert("RGB")).astype(int)
assert shot.shape[0] > 300 and shot.shape[1] > 600, shot.shape
assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 200, "the screenshot is nearly blank"
R, G, B = shot[..., 0], shot[..., 1], shot[..., 2]
red = ((R > 100) & (R > G + 60) & (R > B + 60)).sum()           # artery overlay and curve
blue = ((abs(R - 0x1f) < 16) & (abs(G - 0x6f) < 16) & (abs(B - 0xd6) < 16)).sum()  # vein curve
assert red > 300, f"no artery red in the screenshot ({red} px)"
assert blue > 100, f"no vein curve in the screenshot ({blue} px)"
# the overlay frames carry the overlay colours too
last = np.asarray(frames[0]).astype(int)
assert ((last[..., 0] > last[..., 1] + 60)).sum() > 50, "no artery overlay in the saved GIF"
print(f"viewer_test: {r['frames']} frames, {r['verdict_name']}, shown '{r['shown_compressibility']}', "
      f"'{r['shown_confidence']}', {len(r['vessels'])} vessel lines; "
      f"screenshot {shot.shape[1]}x{shot.shape[0]}: {red} red px, {blue} curve px")
PY

viewer() {  # viewer OUTDIR CLIP [options]: the viewer's --selftest under Xvfb
    local out=$1 clip=$2
    shift 2
    PYTHONPATH="$ext:$here/bindings/python" PYTHONDONTWRITEBYTECODE=1 timeout 300 \
        xvfb-run -a -s "-screen 0 1280x900x24" "$py" "$here/examples/viewer/viewer.py" "$clip" \
        --model "$model" --threads 2 --selftest "$out" "$@" >"$out.log" 2>&1
}
# --roi: only the rectangle is segmented (it holds the left vessel, not the right one)
viewer "$work/out-roi" "$work/clip.gif" --roi 0,0,104,128 --stride 2 \
    || { cat "$work/out-roi.log"; fail "the viewer failed with --roi"; }
rc=0; viewer "$work/out-roi-outside" "$work/clip.gif" --roi 100,0,64,64 || rc=$?
[[ $rc == 2 ]] && grep -q "lies outside the 160x128 frames" "$work/out-roi-outside.log" \
    || { cat "$work/out-roi-outside.log"; fail "--roi outside the frames: exit $rc, not 2"; }
rc=0; viewer "$work/out-roi-bad" "$work/clip.gif" --roi 1,2,3 || rc=$?
[[ $rc == 2 ]] && grep -q "X,Y,W,H" "$work/out-roi-bad.log" \
    || { cat "$work/out-roi-bad.log"; fail "--roi 1,2,3: exit $rc, not 2"; }
# memory and size: a 640x480 video of 600 frames against one of 60 (the phantom, scaled up)
long=
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
    "$venseg" phantom --frames 60 --size 160x120 --seed 7 "$work/p.mp4" -q
    ffmpeg -v error -nostdin -y -i "$work/p.mp4" -vf scale=640:480 -c:v mpeg4 -q:v 5 "$work/short.mp4"
    ffmpeg -v error -nostdin -y -stream_loop 9 -i "$work/p.mp4" -vf scale=640:480 -c:v mpeg4 -q:v 5 "$work/long.mp4"
    viewer "$work/out-short" "$work/short.mp4" --stride 30 \
        || { cat "$work/out-short.log"; fail "the viewer failed (60 frames)"; }
    viewer "$work/out-long" "$work/long.mp4" --stride 30 \
        || { cat "$work/out-long.log"; fail "the viewer failed (600 frames)"; }
    long=1
else
    echo "viewer_test: the memory check is skipped: no ffmpeg program"
fi
"$py" - "$work" "$long" <<'PY'
import json, math, os, sys
import numpy as np
from PIL import Image, ImageSequence
work, long = sys.argv[1], sys.argv[2]
load = lambda d: json.load(open(os.path.join(work, d, "selftest.json")))


def check_ticks(r):
    """Even ticks at round values, time labels in seconds, spanning the clip."""
    t = r["curve_ticks"]
    assert t["x_unit"] == "s" and r["fps"] > 0, t
    for axis, pos, unit in (("x", "x", " s"), ("y", "y", "")):
        ticks = t[axis]
        assert len(ticks) >= 3, (axis, ticks)
        v = np.array([k["value"] for k in ticks])
        p = np.array([k[pos] for k in ticks])
        step = v[1] - v[0]
        assert v[0] == 0 and np.allclose(np.diff(v), step), (axis, v)
        assert np.allclose(np.diff(p), p[1] - p[0], atol=1e-6) and abs(p[1] - p[0]) >= 20, (axis, p)
        mant = step / 10 ** math.floor(math.log10(step) + 1e-9)
        assert any(abs(mant - m) < 1e-6 for m in (1, 2, 5)), (axis, step)
        for k in ticks:
            text = k["label"]
            assert text.endswith(unit) and abs(float(text[:len(text) - len(unit)]) - k["value"]) < 1e-6, (axis, k)
    duration = (r["frames"] - 1) / r["fps"]
    xs = [k["value"] for k in t["x"]]
    assert xs[-1] <= duration + 1e-6 < xs[-1] + (xs[1] - xs[0]), (duration, xs)
    return [k["label"] for k in t["x"]]


def coloured(gif, x0=0):
    """Overlay pixels (tinted red or blue) right of column x0 over the GIF's frames."""
    n = 0
    for f in ImageSequence.Iterator(Image.open(gif)):
        a = np.asarray(f.convert("RGB")).astype(int)[:, x0:]
        R, G, B = a[..., 0], a[..., 1], a[..., 2]
        n += int(((R > G + 60) & (R > B + 60)).sum() + ((B > R + 60) & (B > G + 30)).sum())
    return n


full, roi = load("out"), load("out-roi")
print("viewer_test: ticks", check_ticks(full))
assert roi["roi"] == [0, 0, 104, 128] and roi["frame_size"] == [160, 128] and roi["analysed"] == 10, roi
assert roi["label_px"] > 0 and roi["label_px_outside_roi"] == 0, roi
outside_full, outside_roi = coloured(full["gif"], 104), coloured(roi["gif"], 104)
assert outside_full > 100 and outside_roi == 0, (outside_full, outside_roi)
assert coloured(roi["gif"]) > 100, "nothing segmented inside the ROI"
print(f"viewer_test: --roi 0,0,104,128: {roi['label_px']} label px, none outside it "
      f"(the whole frame: {outside_full} overlay px right of x=104)")
if long:
    short, lng = load("out-short"), load("out-long")
    for r, n in ((short, 60), (lng, 600)):
        assert r["frames"] == r["declared_frames"] == n and r["analysed"] == n // 30 == r["saved_frames"], r
        # a 640x480 cine is shown at its own size (the screen is 1280x900)
        assert r["frame_size"] == [640, 480] and r["display_size"] == r["shown_image_size"] == [640, 480], r
        assert r["display_scale"] == 1.0 and r["image_widget_size"] == [640, 480], r
        assert r["frames_cached"] <= r["frame_cache_limit"] <= 64 and r["masks_kept"] == r["analysed"], r
        g = Image.open(r["gif"])
        assert g.size == (640, 480) and g.n_frames == r["saved_frames"], (g.size, g.n_frames)
    print("viewer_test: ticks", check_ticks(lng))
    a, b = short["peak_rss_kb"] / 1024, lng["peak_rss_kb"] / 1024
    assert a > 0 and b <= 1.2 * a + 32, \
        f"peak RSS {b:.0f} MB for 600 frames vs {a:.0f} MB for 60: memory grows with the clip"
    print(f"viewer_test: peak RSS {a:.0f} MB (60 frames 640x480), {b:.0f} MB (600 frames)")
PY
if [[ -n $copy ]]; then cp "$work/out/viewer.png" "$copy"; fi
echo "viewer_test: passed; screenshot $work/out/viewer.png"
