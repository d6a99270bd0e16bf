"""venseg.toolkit.evaluate (Python) against venseg eval (the C CLI), and the CLI's LabelMe
rasteriser against Pillow.

Needs libvenseg (VENSEG_LIBRARY) and the `venseg` program (VENSEG_CLI; ctest sets
both); the comparisons are skipped without them. Model: tests/data/tiny_plain_unet.vseg;
data: examples/data (three usgra-seg frames with *_label.png).
"""

import csv
import json
import math
import os
import random
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "data")
MODEL = os.path.join(os.environ.get("VENSEG_TEST_DATA_DIR", os.path.join(ROOT, "tests", "data")),
                     "tiny_plain_unet.vseg")
CLI = os.environ.get("VENSEG_CLI") or ""
USGRA_MAP = "artery=1,vein=2,vessel=3,ignore=4"

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402

from venseg.toolkit import evaluate as ev  # noqa: E402


def _have_lib():
    try:
        from venseg import _native
        _native.library()
        return True
    except Exception:  # noqa: BLE001
        return False


need_lib = pytest.mark.skipif(not _have_lib(), reason="libvenseg not found (set VENSEG_LIBRARY)")
need_cli = pytest.mark.skipif(not (CLI and os.path.exists(CLI)), reason="VENSEG_CLI (the venseg program) not set")


def run_cli(*args, check=True):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"venseg {' '.join(args)}: status {r.returncode}\n{r.stderr}")
    return r


def csv_rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "ms"} for r in csv.DictReader(f)]


def table(text):
    return [line for line in text.splitlines() if line.startswith("|")]


# ------------------------------------------------------------------ C vs Python

@need_lib
@need_cli
@pytest.mark.parametrize("opts", [
    ["--label-map", USGRA_MAP],
    ["--label-map", USGRA_MAP, "--mode", "vessel", "--spacing", "0.08,0.1", "--roi", "10,20,200,180"],
    ["--label-map", "artery=1", "--empty", "monai", "--ssim", "uniform"],
    ["--label-map", "artery=1,vein=2", "--empty", "smooth", "--limit", "2"],
])
def test_python_matches_cli(tmp_path, opts):
    c_csv, py_csv = tmp_path / "c.csv", tmp_path / "py.csv"
    c = run_cli("eval", MODEL, "--images", DATA, "--labels", DATA, "--threads", "1", "-q", "--csv", str(c_csv),
                *opts)
    assert ev.main([MODEL, "--images", DATA, "--labels", DATA, "--threads", "1", "-q", "--csv", str(py_csv),
                    *opts]) == 0
    c_rows, py_rows = csv_rows(c_csv), csv_rows(py_csv)
    assert c_rows and c_rows == py_rows  # same strings: identical values
    # the summary table, through the API
    kw = dict(label_map=opts[1])
    it = iter(opts[2:])
    for k, v in zip(it, it):
        key = k.lstrip("-").replace("-", "_")
        if key == "spacing":
            v = tuple(float(s) for s in v.split(","))
        elif key == "roi":
            v = [int(s) for s in v.split(",")]
        elif key == "limit":
            v = int(v)
        kw[key] = v
    rows, summary = ev.evaluate(MODEL, DATA, DATA, threads=1, **kw)
    assert table(summary["markdown"]) == table(c.stdout)
    assert len(rows) == len(c_rows)


@need_lib
@need_cli
def test_plots_from_cli_csv(tmp_path):
    c_csv = tmp_path / "c.csv"
    run_cli("eval", MODEL, "--images", DATA, "--labels", DATA, "--label-map", USGRA_MAP, "-q", "--csv", str(c_csv))
    pytest.importorskip("matplotlib")
    assert ev.main(["--plot-only", str(c_csv), "--plots", str(tmp_path / "plots")]) == 0
    for name in ("ssim_hist.png", "dice_box.png"):
        with Image.open(tmp_path / "plots" / name) as im:
            assert im.format == "PNG" and im.size[0] > 100


@need_lib
def test_self_prediction_is_perfect(tmp_path):
    pred = tmp_path / "pred"
    ev.evaluate(MODEL, DATA, DATA, label_map=USGRA_MAP, save_pred=str(pred.mkdir() or pred), threads=1)
    rows, summary = ev.evaluate(MODEL, DATA, str(pred), label_map="artery=1,vein=2", empty="monai", threads=1)
    for r in rows:
        assert r["dice"] == 1.0 and r["jaccard"] == 1.0 and r["ssim"] == 1.0, r
        assert r["fp"] == 0 and r["fn"] == 0
        assert (r["hd95_px"] == 0.0) if r["area_truth_px"] else math.isnan(r["hd95_px"])


@need_lib
def test_native_segment_honours_strides():
    from venseg import _native as vn
    frame = np.asarray(Image.open(os.path.join(DATA, "usgra_popliteal_0016.png")).convert("L"))
    big = np.zeros((frame.shape[0] + 10, frame.shape[1] + 30), np.uint8)
    big[5:5 + frame.shape[0], 7:7 + frame.shape[1]] = frame
    view = big[5:5 + frame.shape[0], 7:7 + frame.shape[1]]
    assert not view.flags["C_CONTIGUOUS"]
    with vn.Model(MODEL) as m, vn.Session(m, threads=1) as s:
        a = s.segment(frame)
        b = s.segment(view)
        c = s.segment(np.asfortranarray(frame))
    assert np.array_equal(a, b) and np.array_equal(a, c)
    with pytest.raises(vn.VensegError) as e:
        vn.Model(os.path.join(ROOT, "no-such-model.vseg"))
    assert e.value.status == "VENSEG_E_IO"


# ------------------------------------------------------------------ LabelMe

def pil_polygon(w, h, pts):
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in pts], outline=1, fill=1)
    return np.asarray(im)


def labelme_doc(w, h, shapes):
    return {"version": "5.2.1", "imagePath": "x.png", "imageData": None, "imageWidth": w, "imageHeight": h,
            "shapes": [{"label": lab, "points": [list(map(float, p)) for p in pts], "shape_type": kind,
                        "flags": {}} for lab, kind, pts in shapes]}


@need_cli
def test_rasteriser_matches_pillow(tmp_path):
    """The CLI's polygons vs Pillow's ImageDraw.polygon(fill=1, outline=1) (LabelMe's call)."""
    rng = random.Random(1234)
    docs, expected = [], []
    for t in range(400):
        w, h = rng.randint(5, 60), rng.randint(5, 60)
        n = rng.randint(3, 12)
        if t % 2:  # star-shaped (annotation-like) with fractional vertices
            cx, cy, r0 = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 30)
            pts = []
            for k in range(n):
                a = 2 * math.pi * (k + rng.uniform(0, 0.8)) / n
                r = r0 * rng.uniform(0.5, 1.0)
                pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
        else:  # integer vertices, possibly outside the image
            pts = [(rng.randint(-5, w + 5), rng.randint(-5, h + 5)) for _ in range(n)]
        docs.append(labelme_doc(w, h, [("vein", "polygon", pts)]))
        expected.append(pil_polygon(w, h, pts) * 2)
    mismatches = 0
    for i, (doc, want) in enumerate(zip(docs, expected)):
        j, p = tmp_path / f"{i}.json", tmp_path / f"{i}.png"
        j.write_text(json.dumps(doc))
        run_cli("labelme", str(j), str(p))
        got = np.asarray(Image.open(p))
        mismatches += not np.array_equal(got, want)
    assert mismatches == 0


@need_cli
def test_rasteriser_shapes_and_order(tmp_path):
    w, h = 40, 30
    shapes = [("artery", "polygon", [(2.5, 3.7), (20.2, 2.1), (18.9, 20.6), (4.0, 18.0)]),
              ("V", "polygon", [(10, 10), (35, 12), (30, 28)]),             # over the artery
              ("vein", "rectangle", [(30.7, 25.2), (36.1, 3.9)]),           # corners in any order
              ("tendon", "polygon", [(0, 0), (5, 0), (0, 5)]),              # unknown: not drawn
              ("artery", "circle", [(5, 5), (7, 7)])]                       # unsupported: not drawn
    doc = labelme_doc(w, h, shapes)
    j, p = tmp_path / "a.json", tmp_path / "a.png"
    j.write_text(json.dumps(doc))
    r = run_cli("labelme", "--label-map", "artery=1,vein=2|V", str(j), str(p))
    assert "tendon" in r.stderr and "circle" in r.stderr
    got = np.asarray(Image.open(p))
    want, _ = ev.rasterize_labelme(doc, ev.LabelMap("artery=1,vein=2|V"), w, h)
    assert np.array_equal(got, want)
    assert set(np.unique(got)) == {0, 1, 2}


@need_lib
@need_cli
def test_labelme_json_equals_png(tmp_path):
    """A LabelMe label and the PNG drawn from it score identically, in C and Python."""
    img = "usgra_popliteal_0075.png"
    with Image.open(os.path.join(DATA, img)) as im:
        w, h = im.size
    images, lj, lp = tmp_path / "images", tmp_path / "json", tmp_path / "png"
    for d in (images, lj, lp):
        d.mkdir()
    shutil.copy(os.path.join(DATA, img), images / img)
    doc = labelme_doc(w, h, [("artery", "polygon", [(60.3, 80.8), (120.1, 70.2), (110.6, 140.9), (58.4, 130.0)]),
                             ("vein", "polygon", [(130, 100), (220.5, 90.5), (230.2, 200.7), (140.8, 210.1)]),
                             ("vessel", "polygon", [(10, 10), (40, 12), (30, 50)])])
    (lj / "usgra_popliteal_0075.json").write_text(json.dumps(doc))
    run_cli("labelme", str(lj / "usgra_popliteal_0075.json"), str(lp / "usgra_popliteal_0075_label.png"))
    outs = []
    for d in (lj, lp):
        out = tmp_path / f"{d.name}.csv"
        run_cli("eval", MODEL, "--images", str(images), "--labels", str(d), "--label-map", USGRA_MAP, "-q",
                "--threads", "1", "--csv", str(out))
        outs.append(csv_rows(out))
        py = tmp_path / f"{d.name}.py.csv"
        assert ev.main([MODEL, "--images", str(images), "--labels", str(d), "--label-map", USGRA_MAP, "-q",
                        "--threads", "1", "--csv", str(py)]) == 0
        assert csv_rows(py) == outs[-1]
    assert outs[0] == outs[1]
    assert all(int(r["area_truth_px"]) > 0 for r in outs[0])


def test_format_double_round_trips():
    for v in (0.0, 1.0, 0.1, 1 / 3, 2 / 3 * 1e-7, 123456.789, 182.22212345678901, math.pi * 1e10):
        s = ev.format_double(v)
        assert float(s) == v and len(s) <= 24
    assert ev.format_double(float("nan")) == "nan" and ev.format_double(-math.inf) == "-inf"


def test_phantom_through_the_binding():
    """The phantom generator is reachable from Python, deterministic, with consistent truth."""
    import importlib
    native = importlib.import_module("venseg._native")
    try:
        native.library()
    except Exception as exc:  # library not built / not found
        pytest.skip(f"libvenseg not loadable: {exc}")
    ph = native.Phantom(seed=3, width=128, height=96, frames=40, thrombus="partial")
    px, lab = ph.frame(0)
    px2, lab2 = native.Phantom(seed=3, width=128, height=96, frames=40, thrombus="partial").frame(0)
    assert px.shape == (96, 128) and (px == px2).all() and (lab == lab2).all()
    t = ph.truth(0)
    assert t["vein_area_px"] == int((lab == 2).sum()) and t["artery_area_px"] == int((lab == 1).sum())
    assert 0 < t["true_compressibility_percent"] < 100 and t["thrombus"] == 1
    with pytest.raises(ValueError):
        native.Phantom(colour=1)
    with pytest.raises(native.VensegError) as err:
        native.Phantom(width=-5)
    assert err.value.status == "VENSEG_E_INVALID_ARGUMENT"
