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
if [[ -n $copy ]]; then cp "$work/out/viewer.png" "$copy"; fi
echo "viewer_test: passed; screenshot $work/out/viewer.png"
