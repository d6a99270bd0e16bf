"""--precision / precision= (issue 18.1): the venseg programs take auto, fp32, bf16, int8 and
fp16, reject anything else with status 2 naming them, and record the precision that ran
(auto resolved) in segment.json, the analysis JSON and eval's result line; the binding takes
the same names or the enum and reports what runs.

What auto picks for each CPU and model is tested in C (tests/test_internal_precision_auto.cpp,
every branch by forcing the CPU's answer); here it is what the library says on this machine.
Needs libvenseg (VENSEG_LIBRARY) and, for the program tests, VENSEG_CLI (ctest sets both).
Models: weights/unet16.vseg (carries int8 ranges) and tests/data/tiny_plain_unet.vseg (none).
A few seconds.
"""

import json
import os
import shutil
import subprocess

import pytest

from vslib import binding

N = binding()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RANGED = os.path.join(ROOT, "weights", "unet16.vseg")
TINY = os.path.join(os.environ.get("VENSEG_TEST_DATA_DIR", os.path.join(ROOT, "tests", "data")),
                    "tiny_plain_unet.vseg")
FRAME = os.path.join(ROOT, "examples", "data", "usgra_popliteal_0016.png")
CLI = os.environ.get("VENSEG_CLI") or ""
CHOICES = "auto, fp32, bf16, int8 or fp16"

need_cli = pytest.mark.skipif(not (CLI and os.path.exists(CLI)), reason="VENSEG_CLI (the venseg program) not set")
need_ranged = pytest.mark.skipif(not os.path.exists(RANGED), reason="weights/unet16.vseg is absent")


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def resolved(model_path, precision):
    """What a session of this precision runs here, by the binding ('auto' resolved); None
    when this library or CPU cannot run it."""
    with N.Model(model_path) as m:
        try:
            with N.Session(m, threads=1, precision=precision) as s:
                return s.precision.name.lower()
        except N.VensegError as e:
            if e.status == "VENSEG_E_UNSUPPORTED":
                return None
            raise


# ------------------------------------------------------------------ binding

@need_ranged
def test_binding_takes_names_and_the_enum_and_reports_what_runs():
    with N.Model(RANGED) as m:
        for p in ("fp32", N.Precision.FP32, 0, "FP32"):
            with N.Session(m, threads=1, precision=p) as s:
                assert s.precision == N.Precision.FP32
        with N.Session(m, threads=1, precision="auto") as s:
            assert s.precision != N.Precision.AUTO  # resolved when the session is made
            assert "auto precision: " + s.precision.name.lower() in s.describe()
        with N.Session(m, threads=1) as s:  # no precision given: the C library's default
            assert s.precision == N.Precision.FP32
        with N.Session(m, threads=1, options={"precision": "auto"}) as s:  # a mapping's
            assert s.precision.name.lower() == resolved(RANGED, "auto")
        with pytest.raises(N.VensegError) as e:
            N.Session(m, precision="int4")
        assert "auto" in e.value.detail and "fp32" in e.value.detail
    assert N.DEFAULT_PRECISION == "auto"  # the applications' default, as the programs' (docs/precision.md)


def test_auto_on_a_model_without_ranges_is_fp32():
    assert resolved(TINY, "auto") == "fp32"


# ------------------------------------------------------------------ programs

@need_cli
@pytest.mark.parametrize("command", [
    ["segment", FRAME], ["analyze", FRAME], ["eval", TINY, "--images", "x", "--labels", "x"],
    ["bench", TINY]])
@pytest.mark.parametrize("value", ["int4", "FP32", ""])
def test_programs_reject_other_values_naming_the_valid_ones(command, value):
    r = cli(*command, "--precision=" + value)
    assert r.returncode == 2, r.stderr
    assert f"--precision must be {CHOICES}, not {value}" in r.stderr
    assert not r.stdout.strip().startswith("{")  # nothing ran


@need_cli
@need_ranged
@pytest.mark.parametrize("precision", [None, "auto", "fp32", "bf16", "int8"])
def test_segment_json_records_the_precision_that_ran(tmp_path, precision):
    want = resolved(RANGED, precision or "auto")  # the programs' default: auto
    if want is None:
        pytest.skip(f"{precision} does not run here: {N.build_info()}")
    r = cli("segment", "--model", RANGED, *(["--precision", precision] if precision else []), "--threads", "1",
            "--out", str(tmp_path), "-q", FRAME)
    assert r.returncode == 0, r.stderr
    doc = json.load(open(tmp_path / "segment.json"))
    assert doc["precision"] == want
    if precision in (None, "auto"):
        assert "auto precision: " + want in doc["session"]


@need_cli
def test_int8_on_a_model_without_ranges_says_what_to_do(tmp_path):
    r = cli("segment", "--model", TINY, "--precision", "int8", "--out", str(tmp_path), "-q", FRAME)
    assert r.returncode == 1
    assert "stores no int8 activation ranges" in r.stderr and "venseg.toolkit.calibrate" in r.stderr
    assert "venseg_calibration" not in r.stderr  # not the C API's advice


@need_cli
@need_ranged
def test_analyze_json_records_the_precision_that_ran(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for k in range(3):
        shutil.copy(FRAME, clip / f"frame_{k:03d}.png")
    want = resolved(RANGED, "auto")
    r = cli("analyze", "--model", RANGED, "--precision", "auto", "--threads", "1", "--no-mp4", "-q",
            "--out", str(tmp_path / "out"), "--name", "a", str(clip))
    assert r.returncode == 0, r.stderr
    doc = json.load(open(tmp_path / "out" / "a.json"))
    assert doc["model"]["precision"] == want
    r = cli("analyze", "--model", TINY, "--precision", "fp32", "--threads", "1", "--no-mp4", "-q",
            "--out", str(tmp_path / "out"), "--name", "b", str(clip))
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "out" / "b.json"))["model"]["precision"] == "fp32"


@need_cli
def test_eval_result_line_records_the_precision(tmp_path):
    data = os.path.join(ROOT, "examples", "data")
    r = cli("eval", TINY, "--images", data, "--labels", data, "--precision", "auto", "--threads", "1", "-q",
            "--limit", "1")
    assert r.returncode == 0, r.stderr
    assert "; precision fp32;" in r.stdout  # the tiny model has no ranges: auto runs fp32
