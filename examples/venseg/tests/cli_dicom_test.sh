#!/usr/bin/env bash
# cli_dicom_test.sh VENSEG MODEL DATA_DIR WORK_DIR DUMP
#
# DICOM in (docs/dicom.md), with MODEL (the tiny test model), examples/data and DUMP
# (cli_dicom_dump: the frames the program's readers decode, and the header they take).
# The files are written at test time by tools independent of venseg: DCMTK's command-line
# tools (img2dcm, dcmconv, dcmcjpeg, dcmdjpeg, dcmcrle, dcmcjpls) from groin_sample_227.png
# and a colour image made from it, and pydicom (multi-frame ultrasound clips with a Sequence
# of Ultrasound Regions and FrameTime: 16 windows of 320x240 sliding across the sample); see
# tests/python/dicom_fixtures.py. Checks:
#   1. every file decodes: frame count and size; pixels equal to the source for the lossless
#      syntaxes (explicit/implicit VR, big endian, deflate, RLE, JPEG lossless and SV1,
#      JPEG-LS; MONOCHROME2, RGB interleaved and planar), within a tolerance for lossy JPEG
#      (baseline, extended, spectral, progressive; grey and YBR_FULL_422) and uncompressed
#      YBR_FULL; the same frames as venseg.io.read_dicom (pydicom) gives, where pydicom can
#      decode the syntax; pydicom's own YBR_FULL_422 test file as pydicom converts it.
#   2. the header: pixel spacing from the ultrasound region (or PixelSpacing), frame rate
#      from FrameTime (or CineRate), the region as ROI, each with its source, as the program
#      and read_dicom report them.
#   3. analyze on the multi-frame file runs end to end with those defaults and gives the same
#      per-frame areas and verdict as the same frames as a PNG folder with the same options
#      given (and as a folder of single-frame DICOM files), with
#      weights/unet16.vseg (which finds vessels in them); options override the file.
#   4. segment: a single-frame DICOM gives the labels of its source PNG; a multi-frame file
#      one image per frame with the region's spacing and ROI.
#   5. bad files (not DICOM, cut short in the header, the pixels or a JPEG stream, JPEG 2000,
#      no pixel data, 12-bit grey without a window, a junk JPEG stream, a multi-frame file in
#      a frame folder): exit status 4 and a message naming the file and what is wrong, from
#      analyze, segment and the reader; nothing crashes (the asan-ubsan preset runs this too).
#   6. 40 corrupted copies (seeded byte flips and cuts of five files) read or fail with a
#      named error and status 4, never a crash or a sanitizer report.
# Exit 77 (skipped) when the program was built without DCMTK or the tools are missing.
set -euo pipefail
test_name=cli_dicom_test
dump=${5:?usage: $0 VENSEG MODEL DATA_DIR WORK_DIR DUMP}
source "$(dirname "${BASH_SOURCE[0]}")/test_setup.sh" "$1" "$2" "$3" "$4"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

printf 'not dicom' >"$work/probe.dcm"
if "$venseg" segment --model "$model" --out "$work/probe" "$work/probe.dcm" 2>&1 | grep -q "built without DCMTK"; then
    echo "$test_name: skipped: this venseg was built without DCMTK"
    exit 77
fi
for t in img2dcm dcmconv dcmcjpeg dcmdjpeg dcmcrle dcmcjpls; do
    command -v "$t" >/dev/null || { echo "$test_name: skipped: no $t (Debian: dcmtk)"; exit 77; }
done
py "import numpy, pydicom, PIL" || { echo "$test_name: skipped: python3 lacks numpy, pydicom or Pillow"; exit 77; }

step "fixtures: DCMTK's tools and pydicom write DICOM from examples/data"
/usr/bin/python3 "$root/tests/python/dicom_fixtures.py" "$work/fx"
fx=$work/fx

step "every file decodes as its source, as pydicom decodes it, with its header"
cat >"$work/decode.py" <<'EOF'
import json, os, subprocess, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
sys.path.insert(0, os.path.join(os.environ["ROOT"], "bindings", "python"))
from venseg.io import DicomError, read_dicom
fx = os.environ["FX"]
m = json.load(open(os.path.join(fx, "manifest.json")))
# what pydicom decodes only with pylibjpeg or GDCM (not installed here): spectral selection,
# progressive, lossless, lossless SV1, JPEG-LS
PLUGIN_ONLY = {"1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55", "1.2.840.10008.1.2.4.57",
               "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80"}
fails = []

def rgb(a):
    return a if a.ndim == 4 else np.repeat(a[..., None], 3, axis=-1)

extra = dict(name="g_12bit_window.dcm", path=os.path.join(fx, "g_12bit_window.dcm"), source=None, lossless=False,
             photometric="MONOCHROME2", transfer_syntax="1.2.840.10008.1.2.1")
for e in m["files"] + [extra]:
    name = e["name"]
    raw = os.path.join(fx, name + ".raw")
    p = subprocess.run([os.environ["DUMP"], e["path"], raw], capture_output=True, text=True)
    if p.returncode:
        fails.append(f"{name}: the reader failed: {p.stderr.strip()}")
        continue
    info = json.loads(p.stdout)
    c = np.fromfile(raw, np.uint8).reshape(info["frames"], info["height"], info["width"], 3)
    line = f"{name:34s} {info['frames']:3d} x {info['width']}x{info['height']} {info.get('photometric', ''):13s}"
    if info["kind"] != "dicom" or info.get("photometric") != e["photometric"]:
        fails.append(f"{name}: kind {info['kind']}, photometric {info.get('photometric')}")
    if info["transfer_syntax_uid"] != e["transfer_syntax"]:
        fails.append(f"{name}: transfer syntax {info['transfer_syntax_uid']}, not {e['transfer_syntax']}")
    if e["source"]:
        src = rgb(np.load(os.path.join(fx, e["source"])))
        if c.shape != src.shape:
            fails.append(f"{name}: {c.shape}, the source {src.shape}")
            continue
        d = np.abs(c.astype(int) - src)
        line += f"  vs source max {d.max():3d} mean {d.mean():5.2f}"
        # lossy: JPEG at quality 90 (DCMTK) or 92 (Pillow); colour with 4:2:2 chroma at sharp edges
        if (e["lossless"] and d.max() != 0) or (not e["lossless"] and d.mean() > 4):
            fails.append(f"{name}: differs from its source: max {d.max()}, mean {d.mean():.2f}")
    got = dict(spacing_mm=info["spacing_mm"], spacing_source=info["spacing_source"], fps=info["dicom_fps"],
               fps_source=info["fps_source"], roi=info["roi"] if info["roi"][2] else None,
               roi_source=info["roi_source"])
    if "frames" in e:  # the header: spacing, fps, ROI and their sources
        ok = (info["frames"] == e["frames"] and np.allclose(got["spacing_mm"], e["spacing_mm"])
              and np.isclose(got["fps"], e["fps"]) and got["roi"] == e["roi"]
              and all(got[k] == e[k] for k in ("spacing_source", "fps_source", "roi_source")))
        if not ok:
            fails.append(f"{name}: header {got}, frames {info['frames']}; want {e}")
    try:  # the Python reader
        frames, meta = read_dicom(e["path"])
    except DicomError as exc:
        if e["transfer_syntax"] not in PLUGIN_ONLY or "unsupported DICOM" not in str(exc):
            fails.append(f"{name}: read_dicom: {exc}")
        line += "  read_dicom: unsupported (no pylibjpeg/GDCM)"
    else:
        d = np.abs(rgb(frames).astype(int) - c)
        line += f"  vs read_dicom max {d.max()}"
        # grey: the same libjpeg DCT; colour: pydicom converts YCbCr in floating point
        if d.shape != c.shape or d.max() > (0 if e["lossless"] else 2 if "YBR" in e["photometric"] else 1):
            fails.append(f"{name}: C and read_dicom differ by up to {d.max()}")
        pm = dict(spacing_mm=list(meta.pixel_spacing_mm or [0, 0]), spacing_source=meta.pixel_spacing_source,
                  fps=meta.fps or 0, fps_source=meta.fps_source, roi=list(meta.roi) if meta.roi else None,
                  roi_source=meta.roi_source)
        if (pm["roi"] != got["roi"] or not np.allclose(pm["spacing_mm"], got["spacing_mm"])
                or not np.isclose(pm["fps"], got["fps"])
                or any(pm[k] != got[k] for k in ("spacing_source", "fps_source", "roi_source"))):
            fails.append(f"{name}: read_dicom header {pm}, the program {got}")
    print(line)
if fails:
    sys.exit("\n".join(fails))
EOF
DUMP=$dump FX=$fx ROOT=$root /usr/bin/python3 "$work/decode.py"

step "analyze: the multi-frame file end to end, as the same frames in a PNG folder"
# the shipped UNet-16 finds the vessels in these frames (the tiny test model finds none)
amodel=$model
[[ -f "$root/weights/unet16.vseg" ]] && amodel=$root/weights/unet16.vseg
opts=(--model "$amodel" --threads 2 --no-mp4 -q)
"$venseg" analyze "${opts[@]}" --out "$work/a" --name dcm "$fx/mf_explicit.dcm"
"$venseg" analyze "${opts[@]}" --out "$work/a" --name dcmdir "$fx/clip_dcm_frames"
roi=$(py "import json; print(','.join(map(str, json.load(open('$work/a/dcm.json'))['input']['roi'])))")
"$venseg" analyze "${opts[@]}" --out "$work/a" --name png --spacing 0.1,0.15 --fps 25 --roi "$roi" "$fx/clip_frames"
"$venseg" analyze --model "$model" --threads 1 --no-mp4 -q --out "$work/a" --name over --spacing 0.3 --fps 10 --roi 0,0,80,60 "$fx/mf_explicit.dcm"
cat >"$work/analyze.py" <<'EOF'
import json, os, sys
a = os.environ["A"]
j = {n: json.load(open(f"{a}/{n}.json")) for n in ("dcm", "dcmdir", "png", "over")}
i = j["dcm"]["input"]
assert i["kind"] == "dicom" and i["frames_read"] == 16, i
assert i["pixel_spacing_mm"] == [0.1, 0.15] and i["pixel_spacing_source"] == "dicom:SequenceOfUltrasoundRegions", i
assert i["fps"] == 25 and i["fps_source"] == "dicom:FrameTime", i
assert i["roi_source"] == "dicom:SequenceOfUltrasoundRegions" and i["dicom"]["modality"] == "US", i
assert i["frames_declared"] == 16 and i["frames_declared_from"] == "NumberOfFrames" and i["flags"] == [], i
p = j["png"]["input"]
assert p["pixel_spacing_source"] == "option" and p["fps_source"] == "option" and p["roi"] == i["roi"], p
strip = lambda fr: [{k: v for k, v in f.items() if k != "file"} for f in fr]
areas = sum(f["vein_area_px"] + f["artery_area_px"] for f in j["dcm"]["frames"])
assert areas > 0 or os.environ["MODEL"].endswith("tiny_plain_unet.vseg"), "no vessel found in the clip"
for other in ("dcmdir", "png"):
    assert strip(j[other]["frames"]) == strip(j["dcm"]["frames"]), other
    s, t = dict(j[other]["summary"]), dict(j["dcm"]["summary"])
    assert s == t, (other, s, t)
o = j["over"]["input"]
assert o["pixel_spacing_mm"] == [0.3, 0.3] and o["pixel_spacing_source"] == "option", o
assert o["fps"] == 10 and o["fps_source"] == "option" and o["roi"] == [0, 0, 80, 60] and o["roi_source"] == "option", o
print(f"16 frames, verdict {j['dcm']['summary']['verdict']}, vessel area over the clip {areas} px: "
      "the DICOM file, the DICOM frame folder and the PNG folder agree")
EOF
A=$work/a MODEL=$amodel /usr/bin/python3 "$work/analyze.py"

step "segment: single-frame files as their source PNG, a multi-frame file frame by frame"
"$venseg" segment --model "$model" --threads 1 -q --out "$work/s" "$fx/g_explicit.dcm" "$fx/g_jpegls.dcm" "$data/groin_sample_227.png"
"$venseg" segment --model "$model" --threads 1 -q --out "$work/m" "$fx/mf_explicit.dcm"
cat >"$work/segment.py" <<'EOF'
import json, os
from PIL import Image
import numpy as np
s, m = os.environ["S"], os.environ["M"]
ref = np.asarray(Image.open(f"{s}/groin_sample_227-labels.png"))
for n in ("g_explicit", "g_jpegls"):
    assert (np.asarray(Image.open(f"{s}/{n}-labels.png")) == ref).all(), n
j = json.load(open(f"{m}/segment.json"))
assert len(j["images"]) == 16 and j["errors"] == [], len(j["images"])
for k, im in enumerate(j["images"]):
    assert im["frame"] == k and im["labels"].endswith(f"mf_explicit-f{k:04d}-labels.png"), im
    assert im["pixel_spacing_mm"] == [0.1, 0.15] and im["pixel_spacing_source"] == "dicom:SequenceOfUltrasoundRegions", im
    assert im["roi_source"] == "dicom:SequenceOfUltrasoundRegions", im
print("the DICOM images give the labels of their source; 16 frames segmented with the region spacing and ROI")
EOF
S=$work/s M=$work/m /usr/bin/python3 "$work/segment.py"

step "bad and unsupported files: exit 4, a message naming the file and what is wrong"
mkdir -p "$work/mixed"
cp "$fx/mf_explicit.dcm" "$work/mixed/"
opts=(--model "$model" --threads 1 --no-mp4 -q)
expect 4 "mixed/mf_explicit.dcm: unsupported DICOM: a multi-frame file (16 frames)" \
    "$venseg" analyze "${opts[@]}" --out "$work/bad" "$work/mixed"
FX=$fx py '
import json, os
for b in json.load(open(os.path.join(os.environ["FX"], "manifest.json")))["bad"]:
    print(b["name"], b["error"])
' | while read -r name words; do
    expect 4 "$name: .*$words" "$venseg" analyze "${opts[@]}" --out "$work/bad" "$fx/$name"
    echo "analyze $name: $(cat "$work/err.txt")"
    expect 4 "$name: .*$words" "$venseg" segment --model "$model" -q --out "$work/bad" "$fx/$name"
    expect 4 "$name" "$dump" "$fx/$name" "$work/bad.raw"
done
[[ ! -e "$work/bad" ]] || [[ -z "$(ls -A "$work/bad")" ]] || fail "a failed run left files in $work/bad"

step "corrupted files: byte flips and cuts read as a frame or fail with status 4, never crash"
cat >"$work/mutate.py" <<'EOF'
import os, random, sys
fx, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = random.Random(19)
n = 0
for src in ("g_explicit.dcm", "mf_jpeg_baseline.dcm", "c_rle.dcm", "g_jpegls.dcm", "mf_rgb_jpeg_ybr422.dcm"):
    data = open(os.path.join(fx, src), "rb").read()
    for k in range(8):
        b = bytearray(data)
        if k < 2:  # cut anywhere
            b = b[:rng.randrange(132, len(b))]
        else:  # flip bytes: the header (first 1 KiB) or anywhere
            hi = 1024 if k < 5 else len(b)
            for _ in range(rng.randrange(1, 12)):
                b[rng.randrange(132, min(hi, len(b)))] = rng.randrange(256)
        open(os.path.join(out, f"m{n:03d}_{src}"), "wb").write(bytes(b))
        n += 1
print(n)
EOF
count=$(/usr/bin/python3 "$work/mutate.py" "$fx" "$work/mut")
read_ok=0 failed=0
for f in "$work"/mut/*.dcm; do
    rc=0
    "$dump" "$f" "$work/mut.raw" >/dev/null 2>"$work/mut.err" || rc=$?
    case $rc in
        0) read_ok=$((read_ok + 1)) ;;
        4) failed=$((failed + 1)); grep -q "DICOM: " "$work/mut.err" || { cat "$work/mut.err"; fail "$f: no named error"; } ;;
        *) cat "$work/mut.err"; fail "$f: status $rc (a crash or a sanitizer report?)" ;;
    esac
done
echo "$count corrupted files: $read_ok read, $failed refused with a named error (status 4)"

echo "$test_name: PASS"
