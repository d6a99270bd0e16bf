#!/usr/bin/env bash
# report_chromium_test.sh VENSEG MODEL WORK_DIR [SHOT_COPY]
#
# The HTML report of `venseg analyze` in headless Chromium (Debian package chromium):
# a phantom compression clip is analysed with MODEL (the shipped ResUNet-34); Chromium
# loads the report from disk with the network off, --dump-dom gives the parsed document
# (verdict, curve, both key frames, flags, disclaimer, versions must be there, every
# image a data: URI, so the file stands alone), and --screenshot renders it; the
# screenshot must show the verdict badge, the curve's blue line and the overlay's red.
# SHOT_COPY (optional): where to copy the screenshot (docs/images when refreshing them).
# Skips (status 77) when chromium is not installed.
set -euo pipefail
venseg=$1 model=$2 work=$3 copy=${4:-}
fail() { echo "report_chromium_test: FAIL: $*" >&2; exit 1; }
chrome=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chrome ]] || { echo "report_chromium_test: SKIP: chromium not installed (Debian: chromium)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
"$venseg" phantom --frames 30 --size 192x160 --seed 5 "$work/clip.gif" -q
"$venseg" analyze --model "$model" --threads 2 --spacing 0.15 --site common_femoral --no-mp4 \
    --out "$work" --name clip "$work/clip.gif"
report=$work/clip-report.html
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars
       --proxy-server=127.0.0.1:9 --user-data-dir="$work/profile")
"$chrome" "${flags[@]}" --dump-dom "file://$report" >"$work/dom.html" 2>"$work/chromium-dom.log" \
    || { cat "$work/chromium-dom.log"; fail "chromium --dump-dom failed"; }
"$chrome" "${flags[@]}" --window-size=1000,1900 --screenshot="$work/report.png" "file://$report" \
    >"$work/chromium-shot.log" 2>&1 || { cat "$work/chromium-shot.log"; fail "chromium --screenshot failed"; }
/usr/bin/python3 - "$work/dom.html" "$work/report.png" "$work/clip.json" <<'PY'
import json, re, sys
from html.parser import HTMLParser
import numpy as np
from PIL import Image

dom, shot, js = sys.argv[1:4]
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs = {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = (tag, a)
        if tag == "img":
            self.imgs.append(a)
p = P()
text = open(dom).read()
p.feed(text)
for key, tag in (("verdict", "div"), ("curve", "img"), ("keyframe-baseline", "img"), ("keyframe-min", "img"),
                 ("flags", "ul"), ("disclaimer", "p"), ("versions", "table"), ("summary", "table"),
                 ("overlay", "img"), ("found", "td"), ("site", "b")):
    assert key in p.ids, f"the rendered report lacks #{key}"
    assert p.ids[key][0] == tag, f"#{key} is a {p.ids[key][0]}, not a {tag}"
assert all(i["src"].startswith("data:image/") for i in p.imgs), "an image is not embedded"
summary = json.load(open(js))["summary"]
assert p.ids["verdict"][1]["data-verdict"] == summary["verdict"], "the report's verdict differs from the JSON's"
assert "research tool, not a medical device" in text.lower()
assert "resnet_unet-resnet34" in text and "libvenseg" in text
flags = re.findall(r'data-flag="([A-Z_]+)"', text)
assert flags == (summary["flags"] or ["NONE"]), (flags, summary["flags"])
img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
assert img.shape[1] == 1000 and img.shape[0] >= 1500, img.shape
assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500, "the screenshot is nearly blank"
r, g, b = img[..., 0], img[..., 1], img[..., 2]
blue_line = ((abs(r - 0x1f) < 12) & (abs(g - 0x6f) < 12) & (abs(b - 0xd6) < 12)).sum()
red = ((r > 180) & (g < 90) & (b < 90)).sum()
badge = {"COMPRESSIBLE": (0xe3, 0xf5, 0xe6), "INDETERMINATE": (0xec, 0xef, 0xf3)}.get(summary["verdict"], (0xfd, 0xe3, 0xe1))
badge_px = ((r == badge[0]) & (g == badge[1]) & (b == badge[2])).sum()
assert blue_line > 200, f"no vein curve in the screenshot ({blue_line} px)"
assert red > 200, f"no artery red in the screenshot ({red} px)"
assert badge_px > 2000, f"no verdict badge in the screenshot ({badge_px} px)"
print(f"report_chromium_test: verdict {summary['verdict']}, flags {flags}; screenshot {img.shape[1]}x{img.shape[0]}: "
      f"{blue_line} curve px, {red} red px, {badge_px} badge px")
PY
if [[ -n $copy ]]; then cp "$work/report.png" "$copy"; fi
echo "report_chromium_test: passed; screenshot $work/report.png"
