#!/usr/bin/env bash
# install_consumer.sh BUILD_DIR CONFIG SOURCE_DIR MODEL IMAGE
#
# Installs the current build into a temporary prefix and uses it the way a
# downstream project would:
#   1. checks the installed files (headers, libvenseg.so.N, libvenseg.a, CMake
#      package files, venseg.pc) and that the shared library exports venseg_* only;
#   2. builds examples/ (examples/c and the venseg program) out of tree with
#      find_package(venseg) -> venseg::venseg;
#   3. builds examples/ again against venseg::venseg_static;
#   4. compiles examples/c/segment_image.c by hand with `pkg-config venseg libpng`;
#   5. runs the three binaries on MODEL + IMAGE (exit status 0 expected);
#   6. runs the installed `venseg` program (when the build has it) with no LD_LIBRARY_PATH
#      and no VENSEG_MODEL, from a folder without weights/: it must find libvenseg through
#      its relocatable RPATH and its default model installed beside it.
# The install goes to one prefix that is then MOVED: every step uses the moved prefix, so
# the CMake package, venseg.pc and the program must all be relocatable.
set -euo pipefail

if [[ $# -ne 5 ]]; then
    echo "usage: $0 BUILD_DIR CONFIG SOURCE_DIR MODEL IMAGE" >&2
    exit 2
fi
build_dir=$1 config=${2:-Release} source_dir=$3 model=$4 image=$5
cmake=${CMAKE_COMMAND:-cmake}
generator=${CMAKE_GENERATOR:-}
cc=${CC:-cc}

for f in "$model" "$image"; do
    if [[ ! -f $f ]]; then
        echo "install_consumer: missing input $f" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/venseg-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
staged=$work/staged prefix=$work/prefix
step() { printf '\n== %s\n' "$*"; }

step "cmake --install $build_dir --prefix $staged, then mv $staged $prefix"
"$cmake" --install "$build_dir" --config "$config" --prefix "$staged" >"$work/install.log"
sed 's/^/   /' "$work/install.log" | grep -v 'Up-to-date' || true
mv "$staged" "$prefix"

step "installed files"
fail=0
need() {
    local found
    found=$(find "$prefix" -path "$prefix/$1" -print -quit 2>/dev/null || true)
    if [[ -z $found ]]; then
        echo "   MISSING $1" >&2
        fail=1
    else
        echo "   ok      ${found#"$prefix"/}"
    fi
}
need "include/venseg/venseg.h"
need "include/venseg/venseg_export.h"
need "include/venseg/venseg_experimental.h"
for h in "$source_dir"/include/venseg/*.h; do need "include/venseg/${h##*/}"; done  # every public header
need "lib*/libvenseg.so"
need "lib*/libvenseg.so.[0-9]*"
need "lib*/libvenseg.a"
need "lib*/cmake/venseg/venseg-config.cmake"
need "lib*/cmake/venseg/venseg-config-version.cmake"
need "lib*/cmake/venseg/venseg-targets.cmake"
need "lib*/cmake/venseg/venseg-static-targets.cmake"
need "lib*/pkgconfig/venseg.pc"
[[ $fail -eq 0 ]] || exit 1

so=$(find "$prefix" -name 'libvenseg.so' -print -quit)
libdir=$(dirname "$so")
pcdir=$(dirname "$(find "$prefix" -name venseg.pc -print -quit)")

abi=$(sed -n 's/^#define[[:space:]]*VENSEG_ABI_VERSION[[:space:]]*\([0-9]*\).*/\1/p' \
      "$prefix/include/venseg/venseg.h")
if command -v readelf >/dev/null; then
    soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    echo "   SONAME  $soname"
    if [[ $soname != "libvenseg.so.$abi" ]]; then
        echo "   SONAME should be libvenseg.so.$abi (VENSEG_ABI_VERSION)" >&2
        exit 1
    fi
fi
if command -v nm >/dev/null; then
    exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
    stray=$(grep -v '^venseg_' <<<"$exported" | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    echo "   exports $(grep -c '^venseg_' <<<"$exported") venseg_* symbols"
    if [[ -n $stray ]]; then
        echo "   symbols exported without the venseg_ prefix (missing static/hidden?):" >&2
        sed 's/^/     /' <<<"$stray" >&2
        exit 1
    fi
fi

gen_args=()
[[ -n $generator ]] && gen_args=(-G "$generator")

step "examples/ with find_package(venseg) -> venseg::venseg"
"$cmake" -S "$source_dir/examples" -B "$work/build-shared" "${gen_args[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/cfg-shared.log" \
    || { cat "$work/cfg-shared.log"; exit 1; }
grep 'Found venseg' "$work/cfg-shared.log" | sed 's/^/   /'
"$cmake" --build "$work/build-shared" >"$work/build-shared.log" || { cat "$work/build-shared.log"; exit 1; }

step "examples/ with find_package(venseg COMPONENTS static) -> venseg::venseg_static"
"$cmake" -S "$source_dir/examples" -B "$work/build-static" "${gen_args[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DVENSEG_EXAMPLE_TARGET=venseg::venseg_static >"$work/cfg-static.log" \
    || { cat "$work/cfg-static.log"; exit 1; }
"$cmake" --build "$work/build-static" >"$work/build-static.log" || { cat "$work/build-static.log"; exit 1; }
if command -v readelf >/dev/null && readelf -d "$work/build-static/c/segment_image" | grep -q 'libvenseg'; then
    echo "   the static build depends on libvenseg.so" >&2
    exit 1
fi

step "examples/c/segment_image.c with pkg-config"
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
echo "   pkg-config --modversion venseg: $(pkg-config --modversion venseg)"
flags=$(pkg-config --cflags --libs venseg libpng)
echo "   $cc segment_image.c $flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/segment_image-pc" \
    "$source_dir/examples/c/segment_image.c" $flags

# the venseg program, installed when the build made it (libpng found)
program=""
for exe in "$build_dir"/examples/venseg/venseg "$build_dir"/examples/venseg/venseg.exe; do
    [[ -x $exe ]] && program=yes
done
if [[ -n $program ]]; then
    step "the installed venseg program, from the moved prefix"
    need "bin/venseg"
    shipped=""
    if [[ -f $source_dir/weights/resunet34.vseg ]]; then
        shipped=yes
        need "share/venseg/resunet34.vseg"
    fi
    [[ $fail -eq 0 ]] || exit 1
    if command -v readelf >/dev/null; then
        rpath=$(readelf -d "$prefix/bin/venseg" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\].*/\2/p')
        echo "   RUNPATH $rpath"
        [[ $rpath == *'$ORIGIN'* ]] || { echo "   bin/venseg has no \$ORIGIN-relative RPATH" >&2; exit 1; }
        [[ $rpath != *"$build_dir"* && $rpath != *"$staged"* ]] \
            || { echo "   bin/venseg's RPATH names the build or the install folder" >&2; exit 1; }
    fi
    mkdir -p "$work/elsewhere"  # no weights/ here: the default model must be the installed one
    run_venseg() { (cd "$work/elsewhere" && env -u LD_LIBRARY_PATH -u VENSEG_MODEL "$prefix/bin/venseg" "$@"); }
    echo "   \$ venseg --version"
    status=0
    run_venseg --version >"$work/run.log" 2>&1 || status=$?
    sed 's/^/     /' "$work/run.log"
    [[ $status -eq 0 ]] || { echo "   the installed venseg does not run (status $status)" >&2; exit 1; }
    if [[ -n $shipped ]]; then
        echo "   \$ venseg segment --out seg $(basename "$image")   (its default model)"
        status=0
        run_venseg segment --threads 2 --out "$work/seg" "$image" >"$work/run.log" 2>&1 || status=$?
        sed 's/^/     /' "$work/run.log"
        [[ $status -eq 0 ]] || { echo "   the installed venseg exited with status $status" >&2; exit 1; }
        stem=$(basename "$image"); stem=${stem%.*}
        [[ -s $work/seg/$stem-labels.png && -s $work/seg/segment.json ]] \
            || { echo "   the installed venseg wrote no labels" >&2; exit 1; }
        used=$(sed -n 's/^[[:space:]]*"model":[[:space:]]*"\(.*\)",$/\1/p' "$work/seg/segment.json")
        echo "   model   $used"
        [[ $used == */prefix/share/venseg/resunet34.vseg && -f $used ]] \
            || { echo "   the default model is not the one installed in the moved prefix" >&2; exit 1; }
    fi
fi

step "run"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for exe in "$work/build-shared/c/segment_image" "$work/build-static/c/segment_image" "$work/segment_image-pc"; do
    echo "   \$ ${exe#"$work"/} $(basename "$model") $(basename "$image")"
    status=0
    "$exe" "$model" "$image" "$work/overlay.png" >"$work/run.log" 2>&1 || status=$?
    sed 's/^/     /' "$work/run.log"
    [[ $status -eq 0 ]] || { echo "   ${exe#"$work"/} exited with status $status" >&2; exit 1; }
    [[ -s $work/overlay.png ]] || { echo "   no overlay written" >&2; exit 1; }
    rm -f "$work/overlay.png"
done
echo
echo "install_consumer: OK"
