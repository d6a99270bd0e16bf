#!/usr/bin/env bash
# libvenseg demo, from the repository root:
#
#   bash examples/demo.sh
#
# Installs what it needs (as root on a fresh Debian 12: Debian packages), builds
# the library and the example (release preset), and segments the sample images
# of examples/data/ with the shipped ResUNet-34 (weights/resunet34.vseg, see
# weights/resunet34.md). Outputs (reports, overlays) go to build/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tests/setup.sh

out=build/demo
model=weights/resunet34.vseg
note() {
    cat <<'NOTE'

  ************************************************************************
  The sample frames of examples/data/ were among the model's TRAINING
  frames; its validation numbers are in weights/resunet34.md. A research
  tool, not a medical device.
  ************************************************************************
NOTE
}

venseg_setup_packages

venseg_log "build libvenseg and examples/segment_image (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release --target segment_image --parallel "$(nproc)"
exe=build/release/examples/segment_image

mkdir -p "$out"
[[ -f $model ]] || { echo "demo: $model is missing" >&2; exit 1; }

shopt -s nullglob
images=()
for img in examples/data/*.png; do
    [[ $img == *_label.png ]] || images+=("$img")
done
for img in "${images[@]}"; do
    name=$(basename "$img" .png)
    venseg_log "$exe $model $img $out/$name-overlay.png"
    "$exe" "$model" "$img" "$out/$name-overlay.png" | tee "$out/$name.txt"
done

venseg_log "done: ${#images[@]} reports and overlays of $model in $out/"
note
