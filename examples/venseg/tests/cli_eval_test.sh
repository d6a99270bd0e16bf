#!/usr/bin/env bash
# cli_eval_test.sh VENSEG MODEL DATA_DIR WORK_DIR
#
# Runs `venseg eval` (examples/venseg) on the sample frames of DATA_DIR (examples/data:
# *.png with *_label.png, values 1 artery 2 vein 3 vessel 4 nerve) with MODEL and checks:
#   1. the CSV (columns, one row per image and class) and the summary table;
#   2. labels = the model's own prediction (--save-pred) -> Dice = Jaccard = SSIM = 1
#      exactly and HD95 = 0 wherever the class is present (--empty monai: 1 when empty);
#   3. LabelMe: a hand-made JSON, and the label PNG `venseg labelme` draws from it, give
#      identical metrics; the JSON is also found through its imagePath;
#   4. supervision: artery-only labels score artery only; vessel mode; bad files are
#      skipped and counted (--strict: status 3); bad options: status 2; help, version.
set -euo pipefail
test_name=cli_eval_test
source "$(dirname "${BASH_SOURCE[0]}")/test_setup.sh" "$@"
map=artery=1,vein=2,vessel=3,ignore=4

step "help and version"
"$venseg" --version
"$venseg" --help | grep -q '^  eval' || fail "venseg --help does not list eval"
help=$("$venseg" eval --help)
for opt in --images --labels --label-map --mode --empty --ssim --spacing --roi --threads --limit --csv \
           --summary --save-pred --strict --quiet; do
    grep -q -- "$opt" <<<"$help" || fail "venseg eval --help does not document $opt"
done

step "venseg eval on $data"
"$venseg" eval "$model" --images "$data" --labels "$data" --label-map "$map" --threads 1 \
    --csv "$work/eval.csv" --summary "$work/summary.md" --save-pred "$work/pred" -q 2>"$work/err.txt" \
    >"$work/out.txt" || { cat "$work/err.txt"; fail "venseg eval failed"; }
cat "$work/out.txt"
header=$(head -n 1 "$work/eval.csv")
[[ $header == "file,class,dice,jaccard,ssim,hd95_px,hd95_mm,asd_px,area_pred_px,area_truth_px,tp,fp,fn,ms" ]] \
    || fail "CSV header: $header"
n_images=$(find "$data" -maxdepth 1 -name '*_label.png' | wc -l)
rows=$(($(wc -l <"$work/eval.csv") - 1))
[[ $rows -eq $((2 * n_images)) ]] || fail "$rows CSV rows, expected $((2 * n_images))"
awk -F, 'NR > 1 && (NF != 14 || ($2 != "artery" && $2 != "vein")) {exit 1}' "$work/eval.csv" \
    || fail "malformed CSV rows"
[[ -s $work/summary.md ]] || fail "no summary file"
grep -q '^| artery | '"$n_images"' |' "$work/summary.md" || fail "summary lacks the artery row"
grep -q '^| vein | '"$n_images"' |' "$work/summary.md" || fail "summary lacks the vein row"
grep -q '^| artery |' "$work/out.txt" || fail "summary not printed to stdout"

step "labels = the model's own prediction: Dice == 1"
ls "$work/pred"
"$venseg" eval "$model" --images "$data" --labels "$work/pred" --label-map artery=1,vein=2 --empty monai \
    --threads 1 --csv "$work/self.csv" -q >/dev/null
awk -F, 'NR > 1 {
    if ($3 != "1" || $4 != "1" || $5 != "1") bad = 1
    if ($10 > 0 && ($6 != "0" || $8 != "0")) bad = 1
    if ($10 == 0 && $6 != "nan") bad = 1
    if ($12 != "0" || $13 != "0") bad = 1
    n++ }
    END { exit bad || n == 0 }' "$work/self.csv" || { cat "$work/self.csv"; fail "self-prediction is not a perfect score"; }

step "LabelMe JSON == the label PNG drawn from it"
img=$(find "$data" -maxdepth 1 -name '*.png' ! -name '*_label.png' | sort | head -n 1)
stem=$(basename "$img" .png)
# PNG width and height: big-endian at bytes 16..23
read -r w0 w1 w2 w3 h0 h1 h2 h3 < <(od -An -tu1 -j16 -N8 "$img")
w=$(((w0 << 24) | (w1 << 16) | (w2 << 8) | w3)) h=$(((h0 << 24) | (h1 << 16) | (h2 << 8) | h3))
mkdir -p "$work/lm_json" "$work/lm_png" "$work/lm_byname" "$work/lm_images"
cp "$img" "$work/lm_images/"
cat >"$work/lm_json/$stem.json" <<JSON
{"version": "5.2.1", "flags": {}, "imagePath": "../images/$stem.png", "imageData": null,
 "imageHeight": $h, "imageWidth": $w,
 "shapes": [
  {"label": "artery", "points": [[40.2, 60.7], [90.5, 55.1], [100.9, 110.3], [45.0, 120.6]], "group_id": null,
   "shape_type": "polygon", "flags": {}},
  {"label": "vein", "points": [[120.0, 130.0], [200.4, 125.2], [210.7, 190.9], [150.3, 215.5], [118.2, 180.0]],
   "group_id": null, "shape_type": "polygon", "flags": {}},
  {"label": "vein", "points": [[60.5, 100.5], [80.5, 140.5]], "shape_type": "rectangle", "flags": {}},
  {"label": "nerve", "points": [[10, 10], [30, 10], [20, 30]], "shape_type": "polygon", "flags": {}},
  {"label": "tendon", "points": [[5, 200], [40, 200], [20, 240]], "shape_type": "polygon", "flags": {}},
  {"label": "artery", "points": [[10, 10], [12, 12]], "shape_type": "circle", "flags": {}}
 ]}
JSON
cp "$work/lm_json/$stem.json" "$work/lm_byname/annotation_01.json"
"$venseg" labelme --label-map "artery=1,vein=2,ignore=nerve" "$work/lm_json/$stem.json" \
    "$work/lm_png/${stem}_label.png"
for kind in json png byname; do
    "$venseg" eval "$model" --images "$work/lm_images" --labels "$work/lm_$kind" \
        --label-map "artery=1,vein=2,vessel=3,ignore=4|nerve" --threads 1 --csv "$work/lm_$kind.csv" >/dev/null \
        2>"$work/lm_$kind.err" || { cat "$work/lm_$kind.err"; fail "eval with $kind labels"; }
done
cut -d, -f1-13 "$work/lm_json.csv" >"$work/a"
cut -d, -f1-13 "$work/lm_png.csv" >"$work/b"
cut -d, -f1-13 "$work/lm_byname.csv" >"$work/c"
cat "$work/a"
cmp -s "$work/a" "$work/b" || fail "LabelMe JSON and its PNG give different metrics"
cmp -s "$work/a" "$work/c" || fail "LabelMe JSON matched by imagePath gives different metrics"
grep -q tendon "$work/lm_json.err" || fail "no warning for the unknown shape label"
awk -F, 'NR > 1 && $10 == 0 {exit 1}' "$work/lm_json.csv" || fail "a LabelMe class drew nothing"

step "supervision: artery-only labels; vessel mode"
"$venseg" eval "$model" --images "$data" --labels "$data" --label-map artery=1 --threads 1 \
    --csv "$work/artery_only.csv" -q >"$work/artery_only.txt"
! grep -q ',vein,' "$work/artery_only.csv" || fail "vein scored without vein labels"
grep -q '^| vein | not supervised' "$work/artery_only.txt" || fail "vein not reported as not supervised"
"$venseg" eval "$model" --images "$data" --labels "$data" --label-map "$map" --mode vessel --spacing 0.1 \
    --roi 8,8,200,200 --threads 1 --csv "$work/vessel.csv" -q >/dev/null
awk -F, 'NR > 1 && ($2 != "vessel" || $7 == "nan") {exit 1}' "$work/vessel.csv" || fail "vessel mode rows"
status=0
"$venseg" eval "$model" --images "$data" --labels "$data" --label-map artery=255 --mode vessel -q \
    >/dev/null 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "vessel mode with artery-only labels: status $status, expected 2"

step "bad files are skipped and counted"
mkdir -p "$work/bad_images" "$work/bad_labels"
cp "$data"/*.png "$work/bad_images/"
rm -f "$work/bad_images/"*_label.png
cp "$data"/*_label.png "$work/bad_labels/"
first=$(ls "$work/bad_labels" | head -n 1)
printf 'not a png' >"$work/bad_labels/$first"
printf '{"shapes": [' >"$work/bad_labels/orphan.json"
"$venseg" eval "$model" --images "$work/bad_images" --labels "$work/bad_labels" --label-map "$map" -q \
    >"$work/bad.txt" 2>"$work/bad.err" || fail "a bad label file made venseg eval fail"
grep -q '1 skipped' "$work/bad.txt" || { cat "$work/bad.txt" "$work/bad.err"; fail "the bad file was not counted"; }
grep -q 'not a PNG' "$work/bad.err" || fail "no warning for the bad file"
status=0
"$venseg" eval "$model" --images "$work/bad_images" --labels "$work/bad_labels" --label-map "$map" --strict -q \
    >/dev/null 2>&1 || status=$?
[[ $status -eq 3 ]] || fail "--strict with a skipped file: status $status, expected 3"

step "errors"
for args in "--images $data" "--labels $data --images $data --mode x" "--bogus" \
            "--images $data --labels $data --label-map vein=1,artery=1" "--images $data --labels $data --roi 1,2,3"; do
    status=0
    # shellcheck disable=SC2086
    "$venseg" eval "$model" $args >/dev/null 2>&1 || status=$?
    [[ $status -eq 2 ]] || fail "venseg eval $args: status $status, expected 2"
done
# a missing input (model, --images, --labels) is status 4, as docs/cli.md says for every command
for args in "$work/missing.vseg --images $data --labels $data" "$model --images $work/missing --labels $data" \
            "$model --images $data --labels $work/missing"; do
    status=0
    # shellcheck disable=SC2086
    "$venseg" eval $args -q >/dev/null 2>"$work/err.txt" || status=$?
    [[ $status -eq 4 ]] || fail "venseg eval $args: status $status, expected 4 (missing input)"
    grep -q "missing" "$work/err.txt" || fail "venseg eval $args: the message does not name the missing input"
done
status=0
mkdir -p "$work/empty"
"$venseg" eval "$model" --images "$data" --labels "$work/empty" -q >/dev/null 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "nothing to evaluate: status $status, expected 1"

echo
echo "cli_eval_test: OK"
