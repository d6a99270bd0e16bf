#!/usr/bin/env bash
# Export the shipped models from their training runs and write their model cards.
#
#   bash weights/make_weights.sh RUN_RESUNET34 RUN_UNET16 [STORAGE_R34] [STORAGE_UNET]
#
# RUN_*: output folders of `python -m venseg.toolkit.train` (best.pt, history.json, split.json);
# the commands that made them are in weights/resunet34.md and weights/unet16.md.
# ABLATION_SCRATCH34, ABLATION_PRE34: ResUNet-34 runs of the UNet's budget without and with
# --init (ABLATION_EPOCHS: that budget in epochs, for the table);
# ABLATION_BEFORE (default git:cc08612): the commit whose weights/*.vseg were trained without
# the groin labels. ABLATION_PARENT: the run the shipped ResUNet-34 was fine-tuned from (its
# chain of runs: weights/resunet34-lineage.md, which goes into the card). All go into the
# ablation table of the cards (same validation split).
# STORAGE_*: f16 or q8 (default: q8 for the ResUNet-34 when its validation Dice cost is
# <= 0.005 in every class, else f16; f16 for the UNet). Needs libvenseg
# (VENSEG_LIBRARY, default build/release/libvenseg.so), ../shared/data and a Python with
# torch (PYTHON, default python3). Scratch files go to $TMPDIR/venseg-weights.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R34=${1:?training run of the ResUNet-34}
UNET=${2:?training run of the plain UNet}
PY=${PYTHON:-python3}
export VENSEG_LIBRARY=${VENSEG_LIBRARY:-build/release/libvenseg.so}
tmp=${TMPDIR:-/tmp}/venseg-weights
mkdir -p "$tmp"
"$PY" bindings/python/venseg_build.py --library "$VENSEG_LIBRARY" --out "$tmp/py" >/dev/null
export PYTHONPATH=$tmp/py:bindings/python

# the validation split: the runs' real frames (a fine-tune with --phantom adds phantom groups,
# which the evaluation does not read); the committed file stays when it holds the same frames
real_val() { "$PY" -c "import json,sys; print(sorted(v for v in json.load(open(sys.argv[1]))['val'] if not v.startswith('phantom/')))" "$1"; }
cmp -s <(real_val "$R34/split.json") <(real_val "$UNET/split.json") \
    || { echo "the two runs have different validation splits" >&2; exit 1; }
[[ -f weights/validation-split.json ]] && cmp -s <(real_val "$R34/split.json") <(real_val weights/validation-split.json) \
    || cp "$R34/split.json" weights/validation-split.json

DATA="usgra-seg, T. M. K. (github.com/tmkand/usgra-seg), CC BY 4.0 (artery/vein/vessel labels derived by libvenseg); A. Momot, Common Carotid Artery Ultrasound Images, Mendeley Data V1 (2022), doi:10.17632/d4xt63mgjm.1, CC BY 4.0 (subset via github.com/vikasvs007/carotid_artery_detection-_DL_model): artery channel only; femoral-nerve-block, S. Gao et al. (2019), MIT licence (artery/vein/vessel outlines with per-vessel confidence drawn by libvenseg)"
LICENSE="CC BY 4.0 (trained on CC BY 4.0 and MIT data; see provenance.data for the attribution)"

export_model() {  # run dtype out name description [metrics]
    local args=("$1/best.pt" -o "$3" --fold-bn --dtype "$2" --name "$4" --description "$5"
                --license "$LICENSE" --data "$DATA")
    [[ $# -ge 6 ]] && args+=(--metrics "$6")
    [[ -n ${RECIPE:-} ]] && args+=(--recipe "$RECIPE")
    "$PY" -m venseg.toolkit.convert "${args[@]}"
}
evaluate() {  # model json
    "$PY" -m venseg.toolkit.modelcard evaluate "$1" --json "$2" >/dev/null
}

R34_NAME="ResUNet-34 artery/vein (libvenseg)"
R34_DESC="UNet with a ResNet34 encoder (Chen et al., iScience 2024), trained from scratch by venseg.toolkit.train"
UNET_NAME="plain UNet-16 artery/vein baseline (libvenseg)"
UNET_DESC="Ronneberger UNet, base 16, depth 4, trained by venseg.toolkit.train on the same data as the ResUNet-34"

# the recipe line of the ResUNet-34, from its run's options (a fine-tune says so)
R34_RECIPE=$("$PY" -c "import json, sys, types; from venseg.toolkit.train import recipe_string; \
print(recipe_string(types.SimpleNamespace(**json.load(open(sys.argv[1]))['args'])))" "$R34/history.json")

# 1. both storages of both models, scored through libvenseg
for dt in f16 q8; do
    RECIPE=$R34_RECIPE export_model "$R34" $dt "$tmp/resunet34-$dt.vseg" "$R34_NAME" "$R34_DESC"
    evaluate "$tmp/resunet34-$dt.vseg" "$tmp/resunet34-$dt.json"
    export_model "$UNET" $dt "$tmp/unet16-$dt.vseg" "$UNET_NAME" "$UNET_DESC"
    evaluate "$tmp/unet16-$dt.vseg" "$tmp/unet16-$dt.json"
done

# 2. storage choice from the measured Dice cost
"$PY" - "$tmp" "${3:-auto}" "${4:-f16}" <<'EOF'
import json, sys
tmp, want_r34, want_unet = sys.argv[1:4]
out = {}
for m, want in (("resunet34", want_r34), ("unet16", want_unet)):
    a = json.load(open(f"{tmp}/{m}-f16.json"))["results"]
    b = json.load(open(f"{tmp}/{m}-q8.json"))["results"]
    rows, worst = [], 0.0
    for k in a:
        d_mean = b[k]["dice"]["mean"] - a[k]["dice"]["mean"]
        d_pool = b[k]["pooled_dice"] - a[k]["pooled_dice"]
        worst = max(worst, -d_mean, -d_pool)
        rows.append(f"| {k} | {a[k]['dice']['mean']:.4f} | {b[k]['dice']['mean']:.4f} | {d_mean:+.4f} | "
                    f"{a[k]['pooled_dice']:.4f} | {b[k]['pooled_dice']:.4f} | {d_pool:+.4f} |")
    choice = want if want != "auto" else ("q8" if worst <= 0.005 else "f16")
    text = ("Dice cost of the storage, measured through libvenseg on the validation split "
            "(fp16 vs int8 convolution weights with one f32 scale per output channel; biases f32):\n\n"
            "| data set / class | mean Dice fp16 | mean Dice q8 | Δ | pooled Dice fp16 | pooled Dice q8 | Δ |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) +
            f"\n\nLargest loss: {worst:.4f}. Shipped: **{choice}**"
            + (" (the rule: q8 when no class loses more than 0.005 Dice)." if want == "auto" else "."))
    out[m] = {"dtype": choice, "text": text, "worst_loss": worst}
    json.dump({"text": text}, open(f"{tmp}/{m}-storage.json", "w"))
json.dump(out, open(f"{tmp}/storage.json", "w"), indent=1)
print({k: (v["dtype"], round(v["worst_loss"], 4)) for k, v in out.items()})
EOF
R34_DT=$("$PY" -c "import json; print(json.load(open('$tmp/storage.json'))['resunet34']['dtype'])")
UNET_DT=$("$PY" -c "import json; print(json.load(open('$tmp/storage.json'))['unet16']['dtype'])")

# 3. the shipped files, with their validation metrics in provenance.metrics
metrics() { "$PY" -c "import json,sys; from venseg.toolkit.modelcard import compact_metrics; print(compact_metrics(json.load(open(sys.argv[1]))))" "$1"; }
RECIPE=$R34_RECIPE export_model "$R34" "$R34_DT" weights/resunet34.vseg "$R34_NAME" "$R34_DESC" "$(metrics "$tmp/resunet34-$R34_DT.json")"
# int8 activation ranges from 48 training frames (tensors unchanged; docs/precision.md)
"$PY" -m venseg.toolkit.calibrate weights/resunet34.vseg --out weights/resunet34.vseg --frames 48 >/dev/null
export_model "$UNET" "$UNET_DT" weights/unet16.vseg "$UNET_NAME" "$UNET_DESC" "$(metrics "$tmp/unet16-$UNET_DT.json")"
"$PY" -m venseg.toolkit.calibrate weights/unet16.vseg --out weights/unet16.vseg --frames 48 >/dev/null
evaluate weights/resunet34.vseg "$tmp/resunet34.json"
evaluate weights/unet16.vseg "$tmp/unet16.json"

# 4. ablation: the same split for every run
BEFORE=${ABLATION_BEFORE:-git:cc08612}
ab_rows=()
if [[ $BEFORE == git:* ]]; then
    git show "${BEFORE#git:}:weights/resunet34.vseg" > "$tmp/before-resunet34.vseg"
    git show "${BEFORE#git:}:weights/unet16.vseg" > "$tmp/before-unet16.vseg"
    evaluate "$tmp/before-resunet34.vseg" "$tmp/before-resunet34.json"
    evaluate "$tmp/before-unet16.vseg" "$tmp/before-unet16.json"
    ab_rows+=("ResUNet-34, no groin labels, from scratch (shipped before, 36 × 384 samples)=$tmp/before-resunet34.json"
              "UNet-16, no groin labels, from scratch (shipped before)=$tmp/before-unet16.json")
fi
# ABLATION_SCRATCH34 / ABLATION_PRE34: ResUNet-34 runs of one shorter budget (ABLATION_EPOCHS)
# from scratch and from the pretraining, the UNet run's budget
short=${ABLATION_EPOCHS:-14}
for arm in SCRATCH34 PRE34; do
    run_var=ABLATION_$arm
    [[ -n ${!run_var:-} ]] || continue
    export_model "${!run_var}" f16 "$tmp/ab-$arm.vseg" "ablation" "ablation run"
    evaluate "$tmp/ab-$arm.vseg" "$tmp/ab-$arm.json"
    init=$([[ $arm == PRE34 ]] && echo "pretrained" || echo "from scratch")
    ab_rows+=("ResUNet-34, groin labels, $init, $short × 384 samples=$tmp/ab-$arm.json")
done
# ABLATION_PARENT: the run the shipped ResUNet-34 was fine-tuned from (weights/resunet34-lineage.md)
if [[ -n ${ABLATION_PARENT:-} ]]; then
    export_model "$ABLATION_PARENT" q8 "$tmp/ab-parent.vseg" "ablation" "ablation run"
    evaluate "$tmp/ab-parent.vseg" "$tmp/ab-parent.json"
    ab_rows+=("ResUNet-34, groin labels, pretrained, longer, before the phantom fine-tunes (shipped in 0.4.0)=$tmp/ab-parent.json")
fi
ab_rows+=("UNet-16, groin labels, from scratch, $short × 384 samples (shipped)=$tmp/unet16.json"
          "ResUNet-34, groin labels, pretrained, longer${ABLATION_PARENT:+, then the phantom fine-tunes} (shipped)=$tmp/resunet34.json")
{
    echo "## Ablation (same validation split, mean Dice per frame, identity accuracy)"
    echo
    "$PY" -m venseg.toolkit.modelcard ablation "${ab_rows[@]}"
    echo
    echo "The runs with groin labels share one recipe (weights/resunet34.md: \`--aug exam\`, low-confidence"
    echo "weight 0.25, seed 0); the $short-epoch rows share one budget, so *from scratch vs pretrained* and"
    echo "*ResUNet-34 vs UNet* compare like with like there; the shipped ResUNet-34 is the pretrained arm"
    echo "trained longer. The runs shipped before this change had no groin labels and their own recipe"
    echo "(36 × 384 samples, \`--aug full\`), so *with vs without groin labels* mixes the data with the recipe."
    echo "Numbers: \`venseg.toolkit.modelcard\` through libvenseg; regenerate with \`bash weights/make_weights.sh\`."
} > "$tmp/ablation.md"
if [[ -f weights/resunet34-lineage.md ]]; then
    cat weights/resunet34-lineage.md - "$tmp/ablation.md" <<<"" > "$tmp/resunet34-extra.md"
else
    cp "$tmp/ablation.md" "$tmp/resunet34-extra.md"
fi
R34_EXTRA=${R34_EXTRA:-$tmp/resunet34-extra.md}
UNET_EXTRA=${UNET_EXTRA:-$tmp/ablation.md}

# 5. overlays (the worst validation frames) and cards
"$PY" -m venseg.toolkit.modelcard overlays weights/resunet34.vseg --out "$tmp/ov-resunet34" \
    --montage weights/resunet34-validation.png --tile 200 --worst
"$PY" -m venseg.toolkit.modelcard overlays weights/unet16.vseg --out "$tmp/ov-unet16" \
    --montage weights/unet16-validation.png --tile 200 --worst
"$PY" -m venseg.toolkit.modelcard card weights/resunet34.vseg --eval "$tmp/resunet34.json" \
    --history "$R34/history.json" --out weights/resunet34.md --curves weights/resunet34-curves.png \
    --overlay weights/resunet34-validation.png --other unet16.vseg "$tmp/unet16.json" \
    --storage-json "$tmp/resunet34-storage.json" --title "ResUNet-34 artery/vein model" \
    ${R34_EXTRA:+--extra-md "$R34_EXTRA"}
"$PY" -m venseg.toolkit.modelcard card weights/unet16.vseg --eval "$tmp/unet16.json" \
    --history "$UNET/history.json" --out weights/unet16.md --curves weights/unet16-curves.png \
    --overlay weights/unet16-validation.png --other resunet34.vseg "$tmp/resunet34.json" \
    --storage-json "$tmp/unet16-storage.json" --title "Plain UNet-16 baseline artery/vein model" \
    ${UNET_EXTRA:+--extra-md "$UNET_EXTRA"}

# 6. the precision sections of the cards (fp32 / bf16 / int8 sessions on this CPU)
"$PY" -m venseg.toolkit.modelcard precision weights/resunet34.vseg --card weights/resunet34.md >/dev/null
"$PY" -m venseg.toolkit.modelcard precision weights/unet16.vseg --card weights/unet16.md >/dev/null

# 7. the documented reproduction command must hold
"$PY" -m venseg.toolkit.modelcard evaluate weights/resunet34.vseg --check weights/resunet34.md >/dev/null
"$PY" -m venseg.toolkit.modelcard evaluate weights/unet16.vseg --check weights/unet16.md >/dev/null
ls -l weights/
