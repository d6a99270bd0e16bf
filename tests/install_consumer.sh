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
#      its relocatable RPATH and its default model installed beside it;
#   7. when the build made the SWIG bindings (VENSEG_BUILD_SWIG): compiles a Java program
#      against the installed share/java/venseg.jar and a C# program against the installed
#      lib/cli/venseg/venseg.dll and runs them with no LD_LIBRARY_PATH and no
#      java.library.path: the jar finds lib/jni/libvenseg_java.so relative to itself, mono
#      the shim beside the assembly, and both shims libvenseg through their $ORIGIN RPATH.
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

# origin_rpath FILE: FILE's RPATH/RUNPATH is relative to itself ($ORIGIN) and names
# neither the build nor the install folder.
# run_ok NAME CMD...: runs CMD, shows its output indented, stops the test when it fails.
run_ok() {
    local name=$1 status=0
    shift
    "$@" >"$work/run.log" 2>&1 || status=$?
    sed 's/^/     /' "$work/run.log"
    [[ $status -eq 0 ]] || { echo "   $name exited with status $status" >&2; exit 1; }
}

origin_rpath() {
    command -v readelf >/dev/null || return 0
    local rpath
    rpath=$(readelf -d "$1" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\].*/\2/p')
    echo "   RUNPATH $rpath  (${1#"$prefix"/})"
    [[ $rpath == *'$ORIGIN'* ]] || { echo "   ${1#"$prefix"/} has no \$ORIGIN-relative RPATH" >&2; exit 1; }
    [[ $rpath != *"$build_dir"* && $rpath != *"$staged"* ]] \
        || { echo "   ${1#"$prefix"/}'s RPATH names the build or the install folder" >&2; exit 1; }
}

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
    origin_rpath "$prefix/bin/venseg"
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

# The SWIG bindings, installed when the build made them. The programs use the phantom (no
# image decoder needed), the model, the session and an experimental call, and check that
# the native library is the one the jar / assembly was made for (its version string).
mkdir -p "$work/elsewhere"
if [[ -f $build_dir/bindings/swig/java/venseg.jar ]]; then
    step "Java: a program compiled against the installed venseg.jar, run from the moved prefix"
    need "share/java/venseg.jar"
    need "lib*/jni/libvenseg_java.so"
    [[ $fail -eq 0 ]] || exit 1
    jni=$(find "$prefix" -name 'libvenseg_java.so' -print -quit)
    origin_rpath "$jni"
    mkdir -p "$work/java"
    cat >"$work/java/InstalledVenseg.java" <<'JAVA'
import libvenseg.*;

public class InstalledVenseg {
  public static void main(String[] args) {
    if (!Venseg.versionString().equals(Venseg.VERSION_STRING))
      throw new IllegalStateException("native " + Venseg.versionString() + " vs jar " + Venseg.VERSION_STRING);
    try (Model m = new Model(args[0]); Session s = new Session(m); Phantom p = new Phantom()) {
      int w = p.width(), h = p.height();
      byte[] px = new byte[w * h], mask = new byte[w * h];
      p.frame(0, px, null);
      s.segment(px, w, h, mask);
      int labelled = 0;
      for (byte v : mask) labelled += v != 0 ? 1 : 0;
      System.out.println("libvenseg " + Venseg.versionString() + ", " + s.describe() + "; " + w + "x" + h
                         + " phantom frame, " + labelled + " px labelled; input multiple "
                         + Experimental.inputMultiple(m));
    }
  }
}
JAVA
    if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
        echo "   javac / java not on PATH: not run"
    else
        jar=$prefix/share/java/venseg.jar
        echo "   \$ javac -cp share/java/venseg.jar InstalledVenseg.java; java -cp share/java/venseg.jar:. InstalledVenseg"
        javac -cp "$jar" -d "$work/java" "$work/java/InstalledVenseg.java"
        run_ok "the Java program" env -C "$work/elsewhere" -u LD_LIBRARY_PATH \
            java -cp "$jar:$work/java" InstalledVenseg "$model"
    fi
fi
if [[ -f $build_dir/bindings/swig/csharp/venseg.dll ]]; then
    step "C#: a program compiled against the installed venseg.dll, run from the moved prefix"
    need "lib*/cli/venseg/venseg.dll"
    need "lib*/cli/venseg/libvenseg_csharp.so"
    [[ $fail -eq 0 ]] || exit 1
    dll=$(find "$prefix" -path '*/cli/venseg/venseg.dll' -print -quit)
    origin_rpath "$(dirname "$dll")/libvenseg_csharp.so"
    mkdir -p "$work/cs"
    cat >"$work/cs/InstalledVenseg.cs" <<'CS'
using System;
using System.Linq;
using LibVenseg;

class InstalledVenseg {
  static void Main(string[] args) {
    if (Venseg.versionString() != Venseg.VERSION_STRING)
      throw new Exception("native " + Venseg.versionString() + " vs assembly " + Venseg.VERSION_STRING);
    using (var m = new Model(args[0]))
    using (var s = new Session(m))
    using (var p = new Phantom()) {
      int w = p.width(), h = p.height();
      byte[] px = new byte[w * h], mask = new byte[w * h];
      p.frame(0, px, null);
      s.segment(px, w, h, mask);
      Console.WriteLine("libvenseg " + Venseg.versionString() + ", " + s.describe() + "; " + w + "x" + h
                        + " phantom frame, " + mask.Count(v => v != 0) + " px labelled; input multiple "
                        + Experimental.inputMultiple(m));
    }
  }
}
CS
    csc=$(command -v mcs || command -v csc || true)
    if [[ -z $csc ]] || ! command -v mono >/dev/null; then
        echo "   mcs / mono not on PATH: not run"
    else
        echo "   \$ mcs -r:${dll#"$prefix"/} InstalledVenseg.cs; MONO_PATH=$(dirname "${dll#"$prefix"/}") mono InstalledVenseg.exe"
        "$csc" -nologo -target:exe "-r:$dll" "-out:$work/cs/InstalledVenseg.exe" "$work/cs/InstalledVenseg.cs"
        run_ok "the C# program" env -C "$work/elsewhere" -u LD_LIBRARY_PATH MONO_PATH="$(dirname "$dll")" \
            mono "$work/cs/InstalledVenseg.exe" "$model"
    fi
fi

step "run"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for exe in "$work/build-shared/c/segment_image" "$work/build-static/c/segment_image" "$work/segment_image-pc"; do
    echo "   \$ ${exe#"$work"/} $(basename "$model") $(basename "$image")"
    run_ok "${exe#"$work"/}" "$exe" "$model" "$image" "$work/overlay.png"
    [[ -s $work/overlay.png ]] || { echo "   no overlay written" >&2; exit 1; }
    rm -f "$work/overlay.png"
done
echo
echo "install_consumer: OK"
