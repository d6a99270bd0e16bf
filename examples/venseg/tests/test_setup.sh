# test_setup.sh VENSEG MODEL DATA_DIR WORK_DIR: sourced by the venseg program's shell tests
# (cli_eval_test.sh, cli_apps_test.sh) with their arguments, after they set test_name.
# Sets venseg, model, data, work (made empty) and defines fail, step, expect and py.
if [[ $# -ne 4 ]]; then
    echo "usage: $0 VENSEG MODEL DATA_DIR WORK_DIR" >&2
    exit 2
fi
venseg=$1 model=$2 data=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
fail() { echo "$test_name: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
# expect STATUS PATTERN CMD...: the command exits with STATUS and its stderr matches PATTERN
expect() {
    local want=$1 pattern=$2 rc=0
    shift 2
    "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
    [[ $rc -eq $want ]] || { cat "$work/err.txt"; fail "'$*' exited $rc, not $want"; }
    grep -q -- "$pattern" "$work/err.txt" || { cat "$work/err.txt"; fail "'$*': stderr lacks '$pattern'"; }
}
py() { /usr/bin/python3 -c "$@"; }
# frames_of CLIP: "width,height,frames" of its video stream (ffprobe)
frames_of() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=width,height,nb_read_frames \
    -of csv=p=0 "$1"; }
