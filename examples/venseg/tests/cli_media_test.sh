#!/usr/bin/env bash
# cli_media_test.sh VENSEG MODEL DATA_DIR WORK_DIR
#
# What the venseg program reads and how it says what it read (examples/venseg), with MODEL
# (the tiny test model) and examples/data:
#   1. JPEG, BMP and TIFF frames (made by Pillow and the ffmpeg CLI from
#      groin_sample_227.png, independently of venseg) are read by segment, analyze and eval
#      like PNGs: segment --roi on a corner leaves the rest of the overlay the image itself in
#      grey, which must equal Pillow's decoding of the same file (exactly for the lossless
#      formats, within one grey step of the overlay for JPEG); eval pairs sample.jpg with the
#      label sample.png (the femoral-nerve-block layout); an analyze folder of JPEG frames
#      takes <stem>_label.png masks; a junk, truncated or damaged file gets a named error.
#   2. a damaged or cut-short video is flagged, never a clean verdict: a phantom MP4 made
#      whole by the ffmpeg CLI (moov first) and MKV (no nb_frames: duration x frame rate),
#      each cut to half its bytes, give DECODE_ERRORS / FRAMES_MISSING with the declared and
#      decoded frame counts in the JSON, the summary CSV, the report, stdout and stderr, and
#      status 3 with --strict; the whole clips give no flag and pass --strict.
#   3. outputs stay small: a 300-frame 320x240 phantom clip gives an overlay GIF under 3 MB
#      (a preview: at most 320 px a side, frames taken evenly, the clip's duration kept) and a
#      report under 2 MB that embeds the H.264 MP4 (which Chromium decodes, when installed)
#      rather than the GIF (before: an 8.8 MB GIF and a 12 MB report); --full-gif keeps all
#      300 frames and the report links that GIF instead of embedding it; with --no-mp4 the
#      report embeds the preview GIF and stays under 3.5 MB.
#   4. the session as people read it: no JSON, report, eval line or bench JSON carries the CUDA
#      runtime's error; where the library (built with CUDA, on a machine without a GPU) fell
#      back to the CPU, they say "CPU (no GPU found)" (or the like) and --verbose gives the
#      library's reason in full. Without a fall-back (no CUDA in the library, or a GPU) that
#      part is skipped; cli_units_test checks the wording on the library's texts.
set -euo pipefail
test_name=cli_media_test
source "$(dirname "${BASH_SOURCE[0]}")/test_setup.sh" "$@"
sample=$data/groin_sample_227.png

step "images: JPEG, BMP, TIFF made by Pillow and ffmpeg read like PNG"
img=$work/img
mkdir -p "$img"
py "
from PIL import Image
im = Image.open('$sample')
assert im.mode == 'L', im.mode
im.save('$img/grey.jpg', quality=90)
im.convert('RGB').save('$img/colour.jpeg', quality=90)         # 4:2:0 chroma, as cameras write
im.save('$img/palette.bmp')                                   # 8-bit BMP with a grey palette
im.convert('RGB').save('$img/rgb.BMP')
im.save('$img/plain.tif')
im.save('$img/lzw.tiff', compression='tiff_lzw')
"
ffmpeg -v error -y -i "$sample" "$img/ffmpeg.jpg"
ffmpeg -v error -y -i "$sample" -pix_fmt gray16le "$img/deep16.tif"
n_img=$(ls "$img" | wc -l)
"$venseg" segment --model "$model" --threads 1 --roi 0,0,8,8 --out "$work/seg" "$img" -q
py "
import json, os
import numpy as np
from PIL import Image
j = json.load(open('$work/seg/segment.json'))
got = sorted(os.path.basename(it['file']) for it in j['images'])
assert got == sorted(os.listdir('$img')) and len(got) == $n_img, got
for it in j['images']:
    f = it['file']
    im = Image.open(f)
    assert (it['width'], it['height']) == im.size == (515, 272), (f, it['width'], it['height'])
    if im.mode.startswith('I;16'):
        g = np.asarray(im).astype(np.int64) >> 8             # venseg shows 16-bit grey by its high byte
    else:
        a = np.asarray(im.convert('RGB')).astype(np.int64)
        g = (299 * a[..., 0] + 587 * a[..., 1] + 114 * a[..., 2] + 500) // 1000
    # outside --roi the overlay is the frame in grey at 126 levels (viz.c)
    want = (g * 125 + 127) // 255
    ov = np.asarray(Image.open(it['overlay']).convert('RGB')).astype(np.int64)
    got = np.rint(ov[..., 0] * 125 / 255).astype(np.int64)
    outside = np.ones(g.shape, bool)
    outside[:10, :10] = False
    d = np.abs(got - want)[outside]
    lossless = not f.lower().endswith(('.jpg', '.jpeg'))
    if lossless:
        assert d.max() == 0, (f, 'differs from Pillow', d.max(), (d > 0).mean())
    else:
        assert d.max() <= 1 and (d > 0).mean() < 0.05, (f, 'differs from Pillow', d.max(), (d > 0).mean())
    print('%-12s %-6s matches Pillow%s' % (os.path.basename(f), im.mode, '' if lossless else
          ' within a grey step (%.2f %% of pixels one step off)' % (100 * (d > 0).mean())))
"

step "images: eval pairs a JPEG with its PNG label; a <stem>_label.png beside a JPEG is a label"
mkdir -p "$work/fnb/images" "$work/fnb/labels" "$work/beside"
cp "$img/colour.jpeg" "$work/fnb/images/sample_1.jpeg"
cp "$img/grey.jpg" "$work/fnb/images/sample_2.jpg"
cp "$data/groin_sample_227_label.png" "$work/fnb/labels/sample_1.png"
cp "$data/groin_sample_227_label.png" "$work/fnb/labels/sample_2.png"
"$venseg" eval "$model" --images "$work/fnb/images" --labels "$work/fnb/labels" --threads 1 -q >"$work/eval.txt"
grep -q "2 images evaluated, 0 skipped, 0 without a label, 0 labels without an image" "$work/eval.txt" \
    || { cat "$work/eval.txt"; fail "eval did not pair the JPEGs with their PNG labels"; }
cp "$img/grey.jpg" "$work/beside/groin.jpg"
cp "$data/groin_sample_227_label.png" "$work/beside/groin_label.png"
"$venseg" eval "$model" --images "$work/beside" --labels "$work/beside" --threads 1 -q >"$work/eval2.txt"
grep -q "1 images evaluated, 0 skipped, 0 without a label, 0 labels without an image" "$work/eval2.txt" \
    || { cat "$work/eval2.txt"; fail "eval: groin_label.png beside groin.jpg is its label, not an image"; }

step "images: analyze a folder of JPEG frames, with --use-labels masks beside them"
mkdir -p "$work/jpeg-frames"
for i in 0 1 2 3 4 5; do
    cp "$img/grey.jpg" "$work/jpeg-frames/f$i.jpg"
    cp "$data/groin_sample_227_label.png" "$work/jpeg-frames/f${i}_label.png"
done
"$venseg" analyze --model "$model" --threads 1 --no-mp4 --out "$work/ja" --name jpeg "$work/jpeg-frames" -q
"$venseg" analyze --use-labels --no-mp4 --out "$work/ja" --name truth "$work/jpeg-frames" -q
py "
import json
for n in ('jpeg', 'truth'):
    j = json.load(open('$work/ja/%s.json' % n))
    assert j['input']['kind'] == 'frames' and j['input']['frames_read'] == 6, j['input']
    assert (j['input']['width'], j['input']['height']) == (515, 272), j['input']
t = json.load(open('$work/ja/truth.json'))
assert t['summary']['frames_with_artery'] == 6 and t['summary']['frames_with_vein'] == 6, t['summary']
print('a JPEG folder: 6 frames; its label masks: artery and vein in all 6')
"

step "images: unreadable or unsupported files get a named error"
printf 'not an image at all' >"$work/junk.jpg"
size=$(stat -c %s "$img/colour.jpeg")
head -c $((size / 2)) "$img/colour.jpeg" >"$work/cut.jpg"
size=$(stat -c %s "$img/lzw.tiff")
head -c $((size / 2)) "$img/lzw.tiff" >"$work/cut.tiff"
size=$(stat -c %s "$img/rgb.BMP")
head -c $((size / 2)) "$img/rgb.BMP" >"$work/cut.bmp"
py "from PIL import Image; Image.open('$sample').save('$work/other.webp')"
expect 1 "junk.jpg: not a PNG, JPEG, BMP or TIFF image" "$venseg" segment --model "$model" --out "$work/e" "$work/junk.jpg"
expect 1 "cut.jpg: a truncated JPEG image" "$venseg" segment --model "$model" --out "$work/e" "$work/cut.jpg"
expect 1 "cut.tiff: a damaged or unsupported TIFF image" "$venseg" segment --model "$model" --out "$work/e" "$work/cut.tiff"
expect 1 "cut.bmp: a damaged or unsupported BMP image" "$venseg" segment --model "$model" --out "$work/e" "$work/cut.bmp"
expect 1 "other.webp: not a PNG, JPEG, BMP or TIFF image" "$venseg" segment --model "$model" --out "$work/e" "$work/other.webp"
expect 4 "missing.jpg" "$venseg" segment --model "$model" --out "$work/e" "$work/missing.jpg"
expect 1 "a single JPEG image; give a folder of frames" "$venseg" analyze --model "$model" --out "$work/e" "$img/grey.jpg"
cp "$work/cut.jpg" "$work/jpeg-frames/f9.jpg"
expect 1 "f9.jpg: a truncated JPEG image" "$venseg" analyze --model "$model" --out "$work/e" "$work/jpeg-frames"
rm "$work/jpeg-frames/f9.jpg"

step "video: a clip cut short or damaged is flagged, not given a clean verdict"
"$venseg" phantom --frames 60 --size 128x96 --seed 3 "$work/phantom.mp4" -q
ffmpeg -v error -y -i "$work/phantom.mp4" -c copy -movflags faststart "$work/whole.mp4" # moov first
ffmpeg -v error -y -i "$work/phantom.mp4" -c copy "$work/whole.mkv"                      # no nb_frames
for ext in mp4 mkv; do
    size=$(stat -c %s "$work/whole.$ext")
    head -c $((size / 2)) "$work/whole.$ext" >"$work/half.$ext"
done
[[ $(ffprobe -v error -select_streams v:0 -show_entries stream=nb_frames -of csv=p=0 "$work/half.mp4") == 60 ]] \
    || fail "the cut MP4 should still declare its 60 frames"
for ext in mp4 mkv; do
    "$venseg" analyze --model "$model" --threads 1 --no-mp4 --strict --out "$work/v" --name "whole-$ext" \
        "$work/whole.$ext" -q || fail "a whole .$ext clip fails --strict"
done
for clip in half.mp4 half.mkv; do
    name=${clip/./-}
    "$venseg" analyze --model "$model" --threads 1 --no-mp4 --out "$work/v" --name "$name" "$work/$clip" \
        >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err"; fail "$clip: analyze failed"; }
    grep -q "^  WARNING input FRAMES_MISSING: the clip declares 60 frames" "$work/$name.out" \
        || { cat "$work/$name.out"; fail "$clip: the summary does not say frames are missing"; }
    grep -q "venseg: warning: .*$clip: the clip declares 60 frames .* but only [0-9]* could be decoded" "$work/$name.err" \
        || { cat "$work/$name.err"; fail "$clip: no warning on stderr"; }
    grep -q 'id="input-warning"' "$work/v/$name-report.html" && grep -q 'data-input-flag="FRAMES_MISSING"' \
        "$work/v/$name-report.html" || fail "$clip: the report does not warn beside the verdict"
    expect 3 "--strict: .*$clip is damaged or cut short (.*FRAMES_MISSING" \
        "$venseg" analyze --model "$model" --threads 1 --no-mp4 --strict --out "$work/v" --name "$name-strict" "$work/$clip"
    [[ -s $work/v/$name-strict.json ]] || fail "$clip --strict: the outputs (with the flags) are not written"
done
py "
import csv, json
for ext, source in (('mp4', 'nb_frames'), ('mkv', 'duration')):
    j = json.load(open('$work/v/half-%s.json' % ext))
    i = j['input']
    assert i['frames_declared'] == 60 and i['frames_declared_from'] == source, i
    assert i['frames_decoded'] == i['frames_read'] < 58, i
    assert 'FRAMES_MISSING' in i['flags'] and len(i['warnings']) == len(i['flags']), i
    assert i['decode_errors'] >= 1 and 'DECODE_ERRORS' in i['flags'] and i['first_decode_error'], i
    assert j['summary']['input_warnings'] == i['warnings'], j['summary']
    row = list(csv.DictReader(open('$work/v/half-%s-summary.csv' % ext)))[0]
    assert row['input_flags'] == ';'.join(i['flags']) and row['frames_declared'] == '60', row
    assert int(row['frames_decoded']) == i['frames_decoded'] and int(row['decode_errors']) == i['decode_errors'], row
    print('half.%s: %d of %d frames (%s), %d FFmpeg errors (first: %s), flags %s' % (ext, i['frames_decoded'],
          i['frames_declared'], source, i['decode_errors'], i['first_decode_error'], i['flags']))
    w = json.load(open('$work/v/whole-%s.json' % ext))['input']
    assert w['flags'] == [] and w['warnings'] == [] and w['frames_declared'] == w['frames_decoded'] == 60, w
    assert w['decode_errors'] == 0 and w['damaged_frames'] == 0 and w['first_decode_error'] is None, w
    assert w['frames_declared_from'] == source, w
    row = list(csv.DictReader(open('$work/v/whole-%s-summary.csv' % ext)))[0]
    assert row['input_flags'] == '' and row['frames_decoded'] == '60' and row['decode_errors'] == '0', row
"

step "outputs: a 300-frame clip gives a GIF and a report of a few MB"
"$venseg" phantom --frames 300 --size 320x240 --seed 4 "$work/p300.mp4" -q
"$venseg" analyze --model "$model" --threads 1 --out "$work/o" --name long "$work/p300.mp4" -q
"$venseg" analyze --model "$model" --threads 1 --out "$work/o" --name nomp4 --no-mp4 "$work/p300.mp4" -q
"$venseg" analyze --model "$model" --threads 1 --out "$work/o" --name full --full-gif --no-mp4 "$work/p300.mp4" -q
"$venseg" analyze --model "$model" --threads 1 --out "$work/o" --name roi --roi 40,30,240,180 --stride 3 \
    "$work/p300.mp4" -q
gif_limit=$((3 * 1024 * 1024)) report_limit=$((2 * 1024 * 1024)) report_gif_limit=$((3500 * 1024))
for n in long nomp4 roi; do
    gif=$(stat -c %s "$work/o/$n-overlay.gif") report=$(stat -c %s "$work/o/$n-report.html")
    limit=$report_limit
    [[ $n == nomp4 ]] && limit=$report_gif_limit # the report embeds the preview GIF
    echo "$n: overlay GIF $gif bytes, report $report bytes"
    ((gif < gif_limit)) || fail "$n: the overlay GIF is $gif bytes (limit $gif_limit)"
    ((report < limit)) || fail "$n: the report is $report bytes (limit $limit)"
done
((($(stat -c %s "$work/o/full-report.html") < report_limit))) || fail "--full-gif: the report embeds the large GIF"
read -r gw gh gn <<<"$(frames_of "$work/o/long-overlay.gif" | tr , ' ')"
((gw <= 320 && gh <= 240 && gn >= 50 && gn < 300)) || fail "the preview GIF is ${gw}x${gh}, $gn frames"
[[ $(frames_of "$work/o/full-overlay.gif") == "320,240,300" ]] || fail "--full-gif: $(frames_of "$work/o/full-overlay.gif")"
[[ $(frames_of "$work/o/long-overlay.mp4") == "320,240,300" ]] || fail "the MP4: $(frames_of "$work/o/long-overlay.mp4")"
gif_seconds=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/o/long-overlay.gif")
py "assert abs($gif_seconds - 10) < 1, 'the preview GIF lasts %s s, the clip 10 s' % $gif_seconds"
py "
import re
long = open('$work/o/long-report.html').read()
assert re.search(r'<video id=\"overlay\"[^>]* src=\"data:video/mp4;base64,', long), 'the report does not embed the MP4'
assert 'data:image/gif' not in long, 'the report embeds the GIF as well'
assert 'href=\"long-overlay.gif\"' in long and 'href=\"long-overlay.mp4\"' in long, 'no links to the clips'
nomp4 = open('$work/o/nomp4-report.html').read()
assert re.search(r'<img id=\"overlay\"[^>]* src=\"data:image/gif;base64,', nomp4), 'without MP4: no GIF embedded'
full = open('$work/o/full-report.html').read()
assert 'data:image/gif' not in full and 'too large to embed' in full and 'href=\"full-overlay.gif\"' in full, \
    '--full-gif: the report should link the GIF'
"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [[ -n $chrome ]]; then
    # the embedded MP4 plays in a browser: the report's data: URI in a page that reports what it decoded
    py "
import re
src = re.search(r'<video id=\"overlay\"[^>]* src=\"(data:video/mp4;base64,[^\"]+)\"', open('$work/o/long-report.html').read()).group(1)
open('$work/video.html', 'w').write('<!DOCTYPE html><html><body><video id=\"v\" muted src=\"%s\"></video><p id=\"out\">none</p>'
    '<script>const v = document.getElementById(\"v\"), o = document.getElementById(\"out\");'
    'v.addEventListener(\"loadeddata\", () => o.textContent = \"decoded \" + v.videoWidth + \"x\" + v.videoHeight);'
    'v.addEventListener(\"error\", () => o.textContent = \"error\");</script></body></html>' % src)
"
    "$chrome" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --proxy-server=127.0.0.1:9 \
        --user-data-dir="$work/profile" --virtual-time-budget=5000 --dump-dom "file://$work/video.html" \
        2>"$work/chromium.log" >"$work/video-dom.html" || { cat "$work/chromium.log"; fail "chromium failed"; }
    grep -q '<p id="out">decoded 320x240</p>' "$work/video-dom.html" \
        || { grep -o '<p id="out">[^<]*' "$work/video-dom.html"; fail "Chromium does not decode the report's MP4"; }
    echo "Chromium decodes the report's MP4 (320x240)"
else
    echo "SKIP: chromium not installed: the embedded MP4 is not played"
fi

step "session: on a machine without a GPU, AUTO taking the CPU is said in a few words"
sample_dir=$work/one
mkdir -p "$sample_dir"
cp "$sample" "$sample_dir/"
"$venseg" segment --model "$model" --threads 1 --out "$work/s" "$sample_dir" -q
"$venseg" analyze --model "$model" --threads 1 --no-mp4 --max-frames 6 --out "$work/s" --name a "$work/phantom.mp4" -q
"$venseg" eval "$model" --images "$data" --labels "$data" --threads 1 --limit 1 >/dev/null 2>"$work/s/eval.err"
"$venseg" bench "$model" --size 64 64 --iters 1 --warmup 0 --threads 1 >"$work/s/bench.json"
"$venseg" bench "$model" --size 64 64 --iters 1 --warmup 0 --threads 1 --verbose >"$work/s/bench-verbose.json"
"$venseg" analyze --model "$model" --threads 1 --no-mp4 --max-frames 6 --out "$work/s" --name verbose --verbose \
    "$work/phantom.mp4" -q
shown=("$work/s/segment.json" "$work/s/a.json" "$work/s/a-report.html" "$work/s/eval.err" "$work/s/bench.json")
if grep -l "AUTO fell back\|cudaError" "${shown[@]}"; then fail "the CUDA runtime's error is shown without --verbose"; fi
if grep -q "AUTO fell back to the CPU" "$work/s/bench-verbose.json"; then
    # a library with CUDA on a machine where it could not be used
    for f in "${shown[@]}"; do
        grep -q "CPU (no GPU found)\|CPU (no GPU backend installed)\|CPU (the GPU backend did not start" "$f" \
            || fail "$f does not say that the CPU runs it"
    done
    grep -q "AUTO fell back to the CPU: " "$work/s/verbose.json" "$work/s/verbose-report.html" \
        || fail "--verbose does not keep the library's reason"
    echo "AUTO fell back to the CPU: said as '$(grep -o 'CPU ([^)]*)' "$work/s/bench.json")'; the reason with --verbose"
else
    grep -q "CPU (no GPU found)" "${shown[@]}" && fail "'no GPU found' without a fall-back"
    echo "SKIP: this library did not fall back to the CPU (no CUDA in it, or a GPU): cli_units_test checks the words"
fi

echo "cli_media_test: all passed"
