"""Builds venseg._venseg_cffi, the cffi (API mode) extension over libvenseg.

Used by setup.py (pip install / pip wheel) and directly for an in-tree build:

    python bindings/python/venseg_build.py --library build/release/libvenseg.so --out build/release/python

which writes OUT/venseg/_venseg_cffi*.so; put OUT ahead of bindings/python on PYTHONPATH
(venseg/__init__.py extends the package path to it).

libvenseg is looked for in this order (locate()):
  1. $VENSEG_PREFIX (an install prefix: include/venseg/venseg.h, lib*/libvenseg.so);
  2. $VENSEG_LIBRARY (a built libvenseg.so, headers from this source tree);
  3. pkg-config venseg;
  4. the CMake package (venseg-config.cmake under $CMAKE_PREFIX_PATH, /usr/local, /usr);
  5. an in-tree build: $VENSEG_BUILD_DIR, else build/release of this source tree;
  6. none: build_from_source() compiles the library with cmake, and it is bundled.
Libraries from 2, 5 and 6 are copied into the package (rpath $ORIGIN), so the wheel does
not depend on the build directory; installed ones (1, 3, 4), and --library, are linked
where they are (rpath to their directory).

The cdef is generated from the headers themselves (one place for every declaration).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository, when building from it
HEADERS = ("venseg.h", "venseg_tracking.h", "venseg_experimental.h")
MODULE = "venseg._venseg_cffi"
SONAME = "libvenseg.so.1"  # SOVERSION == VENSEG_ABI_VERSION


class Found:
    """Where libvenseg is: include_dir holds venseg/venseg.h, lib_file the shared library."""

    def __init__(self, how: str, include_dir: str, lib_file: str, bundle: bool):
        self.how, self.include_dir, self.lib_file, self.bundle = how, include_dir, lib_file, bundle

    @property
    def lib_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.lib_file))

    def __repr__(self) -> str:
        return f"libvenseg from {self.how}: {self.lib_file} (headers {self.include_dir})"


def _lib_in(prefix: str):
    for sub in ("lib", "lib64", os.path.join("lib", sysconfig.get_config_var("MULTIARCH") or "")):
        for name in ("libvenseg.so", SONAME):
            p = os.path.join(prefix, sub, name)
            if os.path.exists(p):
                return p
    return None


def _from_prefix(prefix: str, how: str):
    inc = os.path.join(prefix, "include")
    lib = _lib_in(prefix)
    if lib and os.path.exists(os.path.join(inc, "venseg", "venseg.h")):
        return Found(how, inc, lib, bundle=False)
    return None


def _tree_include():
    inc = os.path.join(SOURCE_ROOT, "include")
    return inc if os.path.exists(os.path.join(inc, "venseg", "venseg.h")) else None


def _pkg_config():
    if not shutil.which("pkg-config"):
        return None
    try:
        inc = subprocess.run(["pkg-config", "--variable=includedir", "venseg"], capture_output=True, text=True,
                             check=True).stdout.strip()
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "venseg"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except subprocess.CalledProcessError:
        return None
    for name in ("libvenseg.so", SONAME):
        lib = os.path.join(libdir, name)
        if os.path.exists(lib) and os.path.exists(os.path.join(inc, "venseg", "venseg.h")):
            return Found("pkg-config", inc, lib, bundle=False)
    return None


def _cmake_package():
    prefixes = [p for p in os.environ.get("CMAKE_PREFIX_PATH", "").split(os.pathsep) if p] + ["/usr/local", "/usr"]
    multiarch = sysconfig.get_config_var("MULTIARCH") or "*-linux-gnu"
    for prefix in prefixes:  # the places find_package() looks in on Unix
        for sub in ("lib*", os.path.join("lib", multiarch), "share"):
            cfgs = glob.glob(os.path.join(prefix, sub, "cmake", "venseg*", "venseg-config.cmake"))
            for cfg in cfgs:
                found = _from_prefix(prefix, f"the CMake package {cfg}")
                if found:
                    return found
    return None


def _in_tree():
    inc = _tree_include()
    if not inc:
        return None
    build = os.environ.get("VENSEG_BUILD_DIR") or os.path.join(SOURCE_ROOT, "build", "release")
    for name in (SONAME, "libvenseg.so"):
        lib = os.path.join(build, name)
        if os.path.exists(lib):
            return Found(f"the in-tree build {build}", inc, lib, bundle=True)
    return None


def locate():
    """The libvenseg to build against, or None (see the module docstring for the order)."""
    if os.environ.get("VENSEG_PREFIX"):
        found = _from_prefix(os.environ["VENSEG_PREFIX"], "VENSEG_PREFIX")
        if not found:
            raise SystemExit(f"VENSEG_PREFIX={os.environ['VENSEG_PREFIX']} has no include/venseg/venseg.h "
                             "and lib/libvenseg.so")
        return found
    if os.environ.get("VENSEG_LIBRARY"):
        lib, inc = os.environ["VENSEG_LIBRARY"], _tree_include()
        if not os.path.exists(lib) or not inc:
            raise SystemExit(f"VENSEG_LIBRARY={lib} does not exist or this is not a source tree (no include/)")
        return Found("VENSEG_LIBRARY", inc, lib, bundle=True)
    return _pkg_config() or _cmake_package() or _in_tree()


def build_from_source(build_dir: str) -> Found:
    """Compiles the shared library from this source tree with cmake (no tests, examples, the
    venseg program or benchmarks: a wheel's sources hold lib/, include/ and cmake/ only) into
    build_dir."""
    inc = _tree_include()
    if not inc or not shutil.which("cmake"):
        raise SystemExit("libvenseg was not found (VENSEG_PREFIX, pkg-config, CMake package, in-tree build) "
                         "and cannot be built here: needs cmake and the libvenseg source tree")
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(min(os.cpu_count() or 1, 4))
    subprocess.run(["cmake", "-S", SOURCE_ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                    "-DVENSEG_BUILD_TESTS=OFF", "-DVENSEG_BUILD_EXAMPLES=OFF", "-DVENSEG_BUILD_PROGRAM=OFF",
                    "-DVENSEG_BUILD_BENCHMARKS=OFF",
                    "-DVENSEG_BUILD_STATIC=OFF", "-DVENSEG_WERROR=OFF"], check=True)
    subprocess.run(["cmake", "--build", build_dir, "--target", "venseg", "--parallel", jobs], check=True)
    return Found("a build from source", inc, os.path.join(build_dir, SONAME), bundle=True)


def cdef_from_headers(include_dir: str) -> str:
    """The declarations of the public headers in cffi's cdef dialect: comments and
    preprocessor lines dropped, VENSEG_API removed, integer macros as `#define X ...`
    (their values come from the compiler)."""
    out = []
    for name in HEADERS:
        with open(os.path.join(include_dir, "venseg", name), encoding="utf-8") as f:
            src = f.read()
        src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S).replace("\\\n", " ")
        for line in src.splitlines():
            s = line.strip()
            if s.startswith("#"):
                m = re.match(r"#\s*define\s+(VENSEG_\w+)\s+(\S.*)$", s)
                if m and '"' not in m.group(2):
                    out.append(f"#define {m.group(1)} ...")
                elif m:
                    out.append(f"static char *const {m.group(1)};")
                continue
            if s in ('extern "C" {', "}"):
                continue
            out.append(line.replace("VENSEG_API ", ""))
    return "\n".join(out) + "\n"


def ffibuilder_for(found: Found, rpath: str):
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef_from_headers(found.include_dir))
    ffi.set_source(MODULE, "#define VENSEG_EXPERIMENTAL\n#include <venseg/venseg.h>\n",
                   include_dirs=[found.include_dir], library_dirs=[found.lib_dir],
                   libraries=[":" + SONAME if found.lib_file.endswith(SONAME) else "venseg"],
                   extra_link_args=[f"-Wl,-rpath,{rpath}"])
    return ffi


def build(found: Found, out_dir: str, tmp_dir: str) -> str:
    """Compiles the extension into out_dir/venseg/ (copying the library there when it is
    bundled); returns the extension's path."""
    pkg = os.path.join(out_dir, "venseg")
    os.makedirs(pkg, exist_ok=True)
    if found.bundle:
        shutil.copy2(os.path.realpath(found.lib_file), os.path.join(pkg, SONAME))
        found = Found(found.how, found.include_dir, os.path.join(pkg, SONAME), bundle=True)
        rpath = "$ORIGIN"
    else:
        rpath = found.lib_dir
    built = ffibuilder_for(found, rpath).compile(tmpdir=tmp_dir)
    target = os.path.join(pkg, os.path.basename(built))
    shutil.move(built, target)
    return target


def binding_for(library: str, out_dir: str):
    """venseg._native built for one given libvenseg.so (linked where it is, headers from this
    source tree) into out_dir, and imported: for scripts that must run the very library they
    are handed (a benchmark harness's, a GPU build's), not whichever binding is on the path.
    Needs cffi and a C compiler; fails if another binding was imported before."""
    import importlib

    inc = _tree_include()
    if not inc or not os.path.exists(library):
        raise FileNotFoundError(f"{library} does not exist or this is not a source tree (no include/)")
    build(Found("a given library", inc, os.path.abspath(library), bundle=False), out_dir,
          os.path.join(out_dir, "cffi-tmp"))
    here = os.path.join(os.path.abspath(out_dir), "venseg")
    if "venseg._venseg_cffi" in sys.modules:
        loaded = os.path.dirname(os.path.abspath(sys.modules["venseg._venseg_cffi"].__file__))
        if loaded != here:
            raise RuntimeError(f"another venseg binding is already imported ({loaded})")
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    pkg = importlib.import_module("venseg")
    pkg.__path__.insert(0, here)  # the extension is looked for here first
    native = importlib.import_module("venseg._native")
    ext = os.path.dirname(os.path.abspath(sys.modules["venseg._venseg_cffi"].__file__))
    if ext != here:
        raise RuntimeError(f"venseg._venseg_cffi came from {ext}, not {here}")
    return native


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", help="a built libvenseg.so (headers from this tree); default: locate()")
    ap.add_argument("--out", required=True, help="directory that receives venseg/_venseg_cffi*.so")
    args = ap.parse_args(argv)
    if args.library:
        found = Found("--library", _tree_include(), args.library, bundle=False)
    else:
        found = locate()
        if found is None:
            found = build_from_source(os.path.join(args.out, "libvenseg-build"))
    print(found)
    path = build(found, args.out, os.path.join(args.out, "cffi-tmp"))
    print("built", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
