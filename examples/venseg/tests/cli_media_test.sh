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
set -euo pipefail
test_name=cli_media_test
source "$(dirname "${BASH_SOURCE[0]}")/test_setup.sh" "$@"
# expect STATUS PATTERN CMD...: the command exits with STATUS and its stderr matches PATTERN
expect() {
    local want=$1 pattern=$2 rc=0
    shift 2
    "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
    [[ $rc -eq $want ]] || { cat "$work/err.txt"; fail "'$*' exited $rc, not $want"; }
    grep -q -- "$pattern" "$work/err.txt" || { cat "$work/err.txt"; fail "'$*': stderr lacks '$pattern'"; }
}
py() { /usr/bin/python3 -c "$@"; }
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

echo "cli_media_test: all passed"
