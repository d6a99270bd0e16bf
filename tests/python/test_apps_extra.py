"""The Python package's optional parts and how its records print (issue 17, item 11):

* the 'apps' extra (Pillow, matplotlib) is declared and documented;
* the example and the viewer, with Pillow missing, stop with one message naming the extra
  (no traceback); `venseg.toolkit.evaluate --plots` with matplotlib missing likewise, and
  before any work;
* the enums of the summaries, exam reports and sites and phantom truths print by name.

A missing module is simulated in a subprocess by ``sys.modules[name] = None`` before the
script runs (an import of it then raises ImportError), whatever is installed here.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = os.path.join(ROOT, "bindings", "python")
EXAMPLE = os.path.join(ROOT, "examples", "python", "segment_image.py")
VIEWER = os.path.join(ROOT, "examples", "viewer", "viewer.py")
IMAGE = os.path.join(ROOT, "examples", "data", "usgra_popliteal_0016.png")
MODEL = os.path.join(ROOT, "weights", "unet16.vseg")

# runs argv[2] (a script path, or -m MODULE) as __main__ with the module argv[1] unimportable
BLOCKED = r"""
import runpy, sys
sys.modules[sys.argv[1]] = None
if sys.argv[2] == "-m":
    sys.argv = [sys.argv[3]] + sys.argv[4:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _run_without(module, *argv, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-c", BLOCKED, module, *argv], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def _names_the_extra(r):
    err = r.stdout + r.stderr
    assert r.returncode != 0, err
    assert "Traceback" not in err, err
    assert "pip install './bindings/python[apps]'" in err and "'apps' extra" in err, err
    return err


def test_pyproject_declares_the_apps_extra():
    text = open(os.path.join(PKG, "pyproject.toml")).read()
    try:
        import tomllib
        extras = tomllib.loads(text)["project"]["optional-dependencies"]
    except ImportError:  # Python < 3.11: the line itself
        m = re.search(r"^apps\s*=\s*\[(.*)\]", text, re.M)
        extras = {"apps": re.findall(r'"([^"]+)"', m.group(1))} if m else {}
    apps = [re.split(r"[<>=!~ ;\[]", d, 1)[0].lower() for d in extras.get("apps", [])]
    assert "pillow" in apps and "matplotlib" in apps, extras
    readme = open(os.path.join(PKG, "README.md")).read()
    assert "pip install './bindings/python[apps]'" in readme
    # every extra the README names exists
    for name in re.findall(r"bindings/python\[(\w+)\]", readme):
        assert name in extras, f"README names the extra [{name}], pyproject.toml has {sorted(extras)}"


def test_example_without_pillow_names_the_extra():
    err = _names_the_extra(_run_without("PIL", EXAMPLE, MODEL, IMAGE))
    assert "segment_image.py needs Pillow" in err, err


def test_viewer_without_pillow_names_the_extra():
    pytest.importorskip("tkinter")
    err = _names_the_extra(_run_without("PIL", VIEWER, "--help"))
    assert "viewer.py needs Pillow" in err, err


def test_evaluate_plots_without_matplotlib_names_the_extra(tmp_path):
    from venseg.toolkit import evaluate as ev
    csv_path = tmp_path / "results.csv"
    row = {"file": "a.png", "class": "vein", "dice": 0.9, "jaccard": 0.8, "ssim": 0.95, "hd95_px": 2.0,
           "hd95_mm": float("nan"), "asd_px": 1.0, "area_pred_px": 10, "area_truth_px": 11, "tp": 9, "fp": 1,
           "fn": 2, "ms": 1.0}
    ev.write_csv([row], str(csv_path))
    r = _run_without("matplotlib", "-m", "venseg.toolkit.evaluate", "--plot-only", str(csv_path),
                     "--plots", str(tmp_path / "plots"))
    err = _names_the_extra(r)
    assert r.returncode == 1 and "--plots needs matplotlib" in err, err
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # with images to evaluate, it stops before evaluating them (a model that does not exist
    # would be the error otherwise)
    r = _run_without("matplotlib", "-m", "venseg.toolkit.evaluate", str(tmp_path / "none.vseg"), "--images",
                     str(tmp_path), "--labels", str(tmp_path), "--plots", str(tmp_path / "plots"))
    assert r.returncode == 1 and "--plots needs matplotlib" in r.stderr, r.stderr
    assert not (tmp_path / "plots").exists()


# ------------------------------------------------------------------ enums print by name

def _tracker_on_phantom(vn, thrombus="none"):
    ph = vn.Phantom(seed=4, width=96, height=80, frames=60, thrombus=thrombus)
    t = vn.Tracker(site="popliteal", pixel_spacing_x=0.15, pixel_spacing_y=0.15, frame_rate=30)
    for i in range(len(ph)):
        t.push_labels(ph.frame(i, pixels=False)[1])
    return ph, t


def test_enums_print_by_name(capsys):
    vn = binding()
    ph, t = _tracker_on_phantom(vn)
    s = t.summary()
    # print() and str() give the name (Python 3.11 gives the number for a plain IntEnum) ...
    print(t.verdict, t.flags, s.verdict)
    out = capsys.readouterr().out.split()
    assert out[0] == out[2] == f"Verdict.{t.verdict.name}", out
    assert out[1].startswith("Flag"), out
    assert f"{s.verdict}" == str(s.verdict) == f"Verdict.{s.verdict.name}"
    assert "Flag." in str(vn.Flag.NO_RELEASE | vn.Flag.SPACING_UNKNOWN)
    assert str(vn.Backend.AUTO) == "Backend.AUTO" and str(vn.MedialSide.LEFT) == "MedialSide.LEFT"
    # ... and they stay the ints: compared, formatted with a spec, through the C calls
    assert s.verdict == int(s.verdict) and f"{s.verdict:d}" == str(int(s.verdict)) and "%d" % s.verdict
    assert vn.verdict_name(s.verdict) == "VENSEG_VERDICT_" + s.verdict.name

    # exam report and sites
    e = vn.Exam("two_point")
    r = e.report()
    assert r.outcome is vn.ExamOutcome.INCOMPLETE and r.protocol is vn.ExamProtocol.TWO_POINT
    assert "ExamOutcome.INCOMPLETE" in repr(r) and "ExamProtocol.TWO_POINT" in repr(r)
    assert r.as_dict()["outcome"] == "INCOMPLETE" and r.as_dict()["protocol"] == "TWO_POINT"
    site = e.site(0)
    assert site.verdict is vn.Verdict.INDETERMINATE and isinstance(site.flags, vn.Flag)
    assert "Verdict.INDETERMINATE" in repr(site) and site.as_dict()["verdict"] == "INDETERMINATE"
    e.add(t)
    site = [x for x in e.sites() if x.site == "popliteal"][0]
    assert site.verdict is s.verdict and site.flags == s.flags
    assert site.as_dict()["flags"] == s.as_dict()["flags"] and site.as_dict()["verdict"] == s.verdict.name
    assert str(e.outcome).startswith("ExamOutcome.")

    # phantom truth
    full = vn.Phantom(seed=5, width=64, height=48, frames=4, thrombus="full")
    tr = full.truth_record(0)
    assert tr.thrombus is vn.Thrombus.FULL and "Thrombus.FULL" in repr(tr)
    assert tr.as_dict()["thrombus"] == "FULL" and full.truth(0)["thrombus"] == 2
    assert np.isclose(tr.as_dict()["pressure"], tr.pressure)
    for x in (e, t, ph, full):
        x.close()
