#!/usr/bin/env bash
# cli_memory_test.sh VENSEG MODEL DATA_DIR WORK_DIR
#
# venseg analyze streams a clip (report/analyze_pipeline.h): its peak memory does not grow with
# the clip's length. A 200-frame 160x160 phantom (venseg phantom, frames + ground-truth masks) and
# a 2,000-frame clip of the same frames ten times over (symbolic links) are analysed with
# --use-labels (the masks, not the network: the test stays fast; decoding, tracking, overlays,
# the MP4 and the GIF preview run as for any clip) and MODEL loaded; the peak RSS of each run, as
# the kernel counts it for the child (getrusage RUSAGE_CHILDREN ru_maxrss, read by Python), must
# agree within 10 %. Holding every analysed frame's overlay, as analyze did before, adds
# 2,000 x 160 x 160 bytes = 51 MB to the long run, far beyond 10 % of the short one (checked).
# Both runs must also agree with the JSON's own "timing.peak_rss_mb", and the pipelined run give
# the same per-frame areas as --no-pipeline (the stages in turn).
set -euo pipefail
test_name=cli_memory_test
source "$(dirname "${BASH_SOURCE[0]}")/test_setup.sh" "$@"

step "clips: 200 phantom frames, and the same 10 times over (2,000 frames)"
short=$work/short long=$work/long
"$venseg" phantom --frames 200 --size 160x160 --seed 3 -q "$short"
mkdir -p "$long"
py "
import os, sys
short, long = sys.argv[1], sys.argv[2]
for k in range(2000):
    src = k % 200
    for suffix in ('.png', '_label.png'):
        os.symlink(os.path.join(short, 'frame-%04d%s' % (src, suffix)), os.path.join(long, 'frame-%04d%s' % (k, suffix)))
" "$short" "$long"

# peak_rss CMD...: runs CMD (its stdout dropped) and prints its peak RSS in KiB
peak_rss() {
    py "
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
" "$@"
}

step "analyze both: peak RSS within 10 %"
rss_short=$(peak_rss "$venseg" analyze --model "$model" --use-labels --out "$work/out-short" --name clip -q "$short")
t0=$SECONDS
rss_long=$(peak_rss "$venseg" analyze --model "$model" --use-labels --out "$work/out-long" --name clip -q "$long")
echo "peak RSS: 200 frames $rss_short KiB, 2000 frames $rss_long KiB (the long run took $((SECONDS - t0)) s)"
py "
import json, os, sys
short, long = int(sys.argv[1]), int(sys.argv[2])
held = 2000 * 160 * 160 / 1024  # KiB of overlay frames the long run would hold
assert held > 0.10 * short, f'the test cannot see held frames: {held:.0f} KiB vs a {short} KiB run'
if os.environ.get('VENSEG_SANITIZED'):
    print('sanitizer build: peak RSS not compared (the allocator keeps freed memory)')
else:
    assert long <= 1.10 * short, f'peak RSS grows with the clip: {short} KiB (200 frames) -> {long} KiB (2000 frames)'
for name, rss, frames in (('short', short, 200), ('long', long, 2000)):
    d = json.load(open(f'$work/out-{name}/clip.json'))
    t = d['timing']
    assert d['input']['frames_read'] == frames and t['frames_decoded'] == frames, (name, t)
    # the program's own ru_maxrss, read when the JSON was written, is the child's peak but for the report
    if not os.environ.get('VENSEG_SANITIZED'):
        assert 0.8 * rss / 1024 <= t['peak_rss_mb'] <= rss / 1024 + 0.5, (name, rss, t['peak_rss_mb'])
    for stage in ('decode', 'segment_track', 'overlay', 'encode'):
        assert t['stages'][stage]['frames'] > 0 and t['stages'][stage]['ms_per_frame'] is not None, (stage, t)
" "$rss_short" "$rss_long"

step "the pipeline gives the stages' results in turn, bit for bit"
"$venseg" analyze --model "$model" --use-labels --out "$work/out-seq" --name clip --no-pipeline -q "$short"
cmp "$work/out-short/clip.csv" "$work/out-seq/clip.csv" || fail "pipelined and --no-pipeline CSVs differ"
cmp "$work/out-short/clip-overlay.gif" "$work/out-seq/clip-overlay.gif" || fail "the GIF previews differ"
py "
import json
a, b = (json.load(open(f'$work/out-{n}/clip.json')) for n in ('short', 'seq'))
assert a['timing']['pipelined'] and not b['timing']['pipelined']
for d in (a, b):  # what differs: the timing, and the network's threads (the cores but one when pipelined)
    del d['timing'], d['model']['session']
assert a == b, 'the analysis JSONs differ (beyond timing)'
"
echo "$test_name: OK"
