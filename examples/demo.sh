#!/usr/bin/env bash
# libvenseg demo, from the repository root:
#
#   bash examples/demo.sh
#
# Installs what it needs (as root on a fresh Debian 12: Debian packages, and
# build/venv with segmentation-models-pytorch), builds the library and the
# example (release preset), makes a seeded random ResNet34-UNet with the Python
# converter, and segments the sample images of examples/data/. Outputs (model,
# reports, overlays) go to build/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tests/setup.sh

out=build/demo
model=$out/parity-resnet34.vseg
note() {
    cat <<'NOTE'

  ************************************************************************
  NOTE: this model is UNTRAINED (seeded random weights for the parity
  tests); its masks are meaningless until weights/ ships a trained model.
  ************************************************************************
NOTE
}

venseg_setup_packages
venseg_setup_venv

venseg_log "build libvenseg and examples/segment_image (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release --target segment_image --parallel "$(nproc)"
exe=build/release/examples/segment_image

mkdir -p "$out"
venseg_log "seeded random smp ResNet34-UNet -> $model"
PYTHONPATH=bindings/python "$VENSEG_VENV_PYTHON" -m venseg.convert --random smp-resnet34 \
    --seed 0 --input-size 256 256 --fold-bn -o "$model"
note

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

venseg_log "done: $model, ${#images[@]} reports and overlays in $out/"
note
