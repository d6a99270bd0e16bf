"""Packaging of the binding and the Python example:

* `pip wheel bindings/python` against a built library (VENSEG_LIBRARY: bundled), and with
  no library anywhere (built from the source tree with cmake, bundled); each wheel is
  installed into a fresh venv and used from outside the source tree;
* venseg_build.binding_for: the extension for one given library, as the benchmarks use it;
* examples/python/segment_image.py prints the areas the binding computes.

The wheels are built from a copy of the needed source files in a temporary directory,
so the tests write nothing into the source tree. Each takes ~10-40 s.
"""

import os
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding  # noqa: E402

vn = binding()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "python", "segment_image.py")
IMAGE = os.path.join(ROOT, "examples", "data", "usgra_popliteal_0016.png")
MODEL = os.path.join(ROOT, "weights", "unet16.vseg")
CHECK = """
import os, sys, numpy as np, venseg
assert os.path.realpath(venseg.__file__).startswith(os.path.realpath(sys.prefix)), venseg.__file__
lib = [f for f in os.listdir(os.path.dirname(venseg.__file__)) if f.startswith("libvenseg.so")]
ph = venseg.Phantom(width=64, height=48, frames=2)
px, lab = ph.frame(0)
assert ph.truth(0)["vein_area_px"] == (lab == 2).sum()
print("OK", venseg.version(), lib)
"""


def _copy_sources(dst, with_library_sources):
    keep = ["bindings/python", "include"] + (["CMakeLists.txt", "cmake", "lib"] if with_library_sources else [])
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.egg-info", "_venseg_cffi*", "libvenseg.so*")
    for rel in keep:
        src, out = os.path.join(ROOT, rel), os.path.join(dst, rel)
        if os.path.isdir(src):
            shutil.copytree(src, out, ignore=ignore)
        else:
            shutil.copy2(src, out)
    return os.path.join(dst, "bindings", "python")


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("VENSEG_LIBRARY", "VENSEG_PREFIX", "VENSEG_BUILD_DIR", "PYTHONPATH", "CMAKE_PREFIX_PATH")}
    env.update(extra)
    return env


def _wheel_then_venv(tmp_path, env):
    pkg = _copy_sources(tmp_path / "src", with_library_sources="VENSEG_LIBRARY" not in env)
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip(f"{sys.executable} has no pip")
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps",
                        "-w", str(wheels), pkg], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = list(wheels.glob("venseg-*.whl"))
    names = zipfile.ZipFile(whl).namelist()
    assert "venseg/libvenseg.so.1" in names and any(re.match(r"venseg/_venseg_cffi\..*\.so$", n) for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([py, "-c", CHECK], capture_output=True, text=True, env=_clean_env(), cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
    return r.stdout + r.stderr, r.stdout


def test_wheel_bundles_a_built_library(tmp_path):
    lib = os.environ.get("VENSEG_LIBRARY")
    if not lib:
        pytest.skip("VENSEG_LIBRARY (a built libvenseg.so) is not set")
    log, out = _wheel_then_venv(tmp_path, _clean_env(VENSEG_LIBRARY=os.path.abspath(lib)))
    assert "libvenseg.so.1" in out


def test_wheel_builds_the_library_from_source_when_none_is_found(tmp_path):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    empty = tmp_path / "no-pkgconfig"
    empty.mkdir()
    env = _clean_env(PKG_CONFIG_LIBDIR=str(empty), PKG_CONFIG_PATH="", CMAKE_BUILD_PARALLEL_LEVEL="2")
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import venseg_build
    if venseg_build._cmake_package():  # an installed libvenseg would be used instead
        pytest.skip("a libvenseg CMake package is installed system-wide")
    _wheel_then_venv(tmp_path, env)


def test_binding_for_a_given_library(tmp_path):
    """venseg_build.binding_for, the benchmarks' way to run one given libvenseg: the extension
    is built for it into a folder of its own and imported from there; refused in a process
    that has loaded another binding."""
    lib = os.environ.get("VENSEG_LIBRARY")
    if not lib:
        pytest.skip("VENSEG_LIBRARY (a built libvenseg.so) is not set")
    code = ("import sys, venseg_build\n"
            "n = venseg_build.binding_for(sys.argv[1], sys.argv[2])\n"
            "print(sys.modules['venseg._venseg_cffi'].__file__)\n"
            "print(n.version(), n.Model(sys.argv[3]).num_classes)\n")
    model = os.path.join(ROOT, "tests", "data", "tiny_plain_unet.vseg")
    env = _clean_env(PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    r = subprocess.run([sys.executable, "-c", code, os.path.abspath(lib), str(tmp_path / "b"), model],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    ext, rest = r.stdout.strip().splitlines()
    assert os.path.realpath(ext).startswith(os.path.realpath(tmp_path / "b" / "venseg")), ext
    assert rest == f"{vn.version()} 2"
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import venseg_build
    with pytest.raises(RuntimeError, match="another venseg binding"):
        venseg_build.binding_for(os.path.abspath(lib), str(tmp_path / "c"))


def test_example_prints_the_class_areas():
    if not os.path.exists(MODEL):
        pytest.skip("weights/unet16.vseg is absent")
    pytest.importorskip("PIL")
    from PIL import Image
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, EXAMPLE, MODEL, IMAGE, "0.1"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    frame = np.asarray(Image.open(IMAGE).convert("L"))
    with vn.Model(MODEL) as m, vn.Session(m) as s:
        mask = s.segment(frame)
        regions = [sum(i.label == k for i in s.instances) for k in (1, 2)]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    for k, (name, line) in enumerate(zip(("artery", "vein"), lines), start=1):
        px = int((mask == k).sum())
        assert line == f"{name}: {px} px, {px * 0.01:.2f} mm2 in {regions[k - 1]} region(s)"
