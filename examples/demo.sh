#!/usr/bin/env bash
# libvenseg demo, from the repository root:
#
#   bash examples/demo.sh
#
# Installs what it needs (as root on a fresh Debian 12: the Debian packages of
# tests/ci/setup.sh), builds the library and the `venseg` program (release preset), and runs
# `venseg demo` (docs/cli.md): the shipped ResUNet-34 (weights/resunet34.vseg, see
# weights/resunet34.md) on a real groin B-mode frame of its validation split (shipped in
# examples/data, scored against its label) and on two synthetic compression clips (normal and thrombosed vein),
# with an HTML report per clip. Outputs go to build/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tests/ci/setup.sh

out=build/demo
model=weights/resunet34.vseg

venseg_setup_packages

venseg_log "build libvenseg and the venseg program (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release --target venseg_cli --parallel "$(nproc)"
exe=build/release/examples/venseg/venseg

[[ -f $model ]] || { echo "demo: $model is missing" >&2; exit 1; }
rm -rf "$out"
venseg_log "$exe demo --model $model --out $out"
"$exe" demo --model "$model" --out "$out" "$@"

venseg_log "done: open $out/phantom-normal-report.html and $out/phantom-thrombosed-report.html in a browser"
cat <<'NOTE'

  ************************************************************************
  The shipped model was trained on nerve-block frames (usgra-seg and the
  groin frames of femoral-nerve-block) and 12 carotid series, then
  fine-tuned with synthetic exam phantoms (never these clips' seeds). Its
  verdicts can differ from the ground truth's (the demo prints both).
  A research tool, not a medical device.
  ************************************************************************
NOTE
