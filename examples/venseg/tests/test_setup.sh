# test_setup.sh VENSEG MODEL DATA_DIR WORK_DIR: sourced by the venseg program's shell tests
# (cli_eval_test.sh, cli_apps_test.sh) with their arguments, after they set test_name.
# Sets venseg, model, data, work (made empty) and defines fail and step.
if [[ $# -ne 4 ]]; then
    echo "usage: $0 VENSEG MODEL DATA_DIR WORK_DIR" >&2
    exit 2
fi
venseg=$1 model=$2 data=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
fail() { echo "$test_name: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
