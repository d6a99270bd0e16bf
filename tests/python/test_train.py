"""venseg.toolkit.train and its data path: LabelMe import (hand-made JSON), partial-label loss,
letterbox resampling = libvenseg's preprocessing, group split, checkpoint + resume
(a tiny run: 2 steps, checkpoint, resume to 4 == 4 steps straight), export to .vseg
(loaded by libvenseg when VENSEG_LIBRARY is set). Tiny models and frames: seconds."""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from venseg.toolkit import augment as A  # noqa: E402
from venseg.toolkit import data as D  # noqa: E402
from venseg.toolkit import labelme as LM  # noqa: E402
from venseg.toolkit import train as T  # noqa: E402


# ------------------------------------------------------------------ LabelMe

def _frame(h=40, w=60):
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 3 + y * 2) % 256).astype(np.uint8)


HANDMADE = {
    "version": "5.2.1",
    "flags": {},
    "shapes": [
        # artery: axis-aligned square 10..20 x 5..15 (polygon, drawn with its outline)
        {"label": "artery", "points": [[10, 5], [20, 5], [20, 15], [10, 15]],
         "group_id": None, "shape_type": "polygon", "flags": {}},
        # vein: triangle
        {"label": "Vein", "points": [[30, 10], [50, 10], [40, 30]], "group_id": None,
         "shape_type": "polygon", "flags": {}},
        # a nerve rectangle: background
        {"label": "nerve", "points": [[2, 30], [8, 36]], "shape_type": "rectangle"},
        # a vessel of unknown class as a circle, centre (15, 30) radius 3
        {"label": "vessel", "points": [[15, 30], [18, 30]], "shape_type": "circle"},
        # a line: no area
        {"label": "artery", "points": [[0, 0], [59, 0]], "shape_type": "line"},
        # later shapes paint over earlier ones: a vein square inside the artery square
        {"label": "femoral vein", "points": [[12, 7], [14, 7], [14, 9], [12, 9]],
         "shape_type": "polygon"},
    ],
    "imagePath": "frame.png",
    "imageData": None,
    "imageHeight": 40,
    "imageWidth": 60,
}


def _write_labelme(tmp_path, embed=False, rgb=False):
    img = _frame()
    arr = np.stack([img] * 3, axis=2) if rgb else img
    Image.fromarray(arr).save(tmp_path / "frame.png")
    doc = dict(HANDMADE)
    if embed:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        doc["imageData"] = base64.b64encode(buf.getvalue()).decode()
        doc["imagePath"] = "missing.png"
    p = tmp_path / "frame.json"
    p.write_text(json.dumps(doc))
    return str(p), img


@pytest.mark.parametrize("embed,rgb", [(False, False), (True, True)])
def test_labelme_handmade(tmp_path, embed, rgb):
    path, img = _write_labelme(tmp_path, embed, rgb)
    grey, lab = LM.load_labelme(path)
    assert grey.shape == (40, 60) and lab.shape == (40, 60)
    np.testing.assert_allclose(grey, img.astype(np.float32), atol=1e-3)  # grey RGB -> same luma
    # the artery square 10..20 x 5..15 with its outline = 11 x 11 px, minus the 3 x 3 vein
    assert (lab == 1).sum() == 11 * 11 - 9
    assert lab[5, 10] == 1 and lab[15, 20] == 1 and lab[4, 10] == 0 and lab[5, 21] == 0
    assert (lab[7:10, 12:15] == 2).all()
    # triangle: inside and outside points
    assert lab[12, 40] == 2 and lab[28, 40] == 2 and lab[12, 31] == 2 and lab[28, 33] == 0
    # nerve -> background, circle radius 3 -> vessel (3), line -> nothing
    assert (lab[30:37, 2:9] == 0).all()
    assert lab[30, 15] == 3 and lab[30, 18] == 3 and lab[30, 20] == 0 and 25 <= (lab == 3).sum() <= 37
    assert (lab[0] == 0).all()
    assert set(np.unique(lab)) == {0, 1, 2, 3}


def test_labelme_errors_and_map(tmp_path):
    path, _ = _write_labelme(tmp_path)
    doc = json.loads(open(path).read())
    doc["imageHeight"] = 41
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(LM.LabelMeError):
        LM.load_labelme(str(bad))
    (tmp_path / "notlm.json").write_text("{}")
    with pytest.raises(LM.LabelMeError):
        LM.load_labelme(str(tmp_path / "notlm.json"))
    _, lab = LM.load_labelme(path, label_map={"artery": 2, "vein": 1})
    assert lab[5, 10] == 2 and lab[12, 40] == 1
    assert LM.label_class("A. femoralis / Arterie") == 1
    assert LM.label_class("V. poplitea (vena)") == 2
    assert LM.label_class("muscle") == 0 and LM.label_class("unsure") == 255


def test_labelme_as_training_data(tmp_path):
    path, _ = _write_labelme(tmp_path)
    (s,) = D.load_labelme_dir(str(tmp_path))
    assert s.evaluates == ("artery", "vein", "vessel")
    assert s.codes[5, 10] == D.code(D.POS, D.NEG)
    assert s.codes[12, 40] == D.code(D.NEG, D.POS)
    assert s.codes[30, 15] == D.VESSEL
    assert s.codes[33, 5] == D.code(D.NEG, D.NEG)  # nerve: neither


# ------------------------------------------------------------ supervision codes

def test_codes_partial_labels():
    usgra = {0: "background", 1: "artery", 2: "vein", 3: "vessel", 4: "nerve"}
    lab = np.array([[0, 1, 2, 3, 4]], np.uint8)
    c = D.codes_from_labels(lab, usgra, ["artery", "vein", "vessel"])
    assert c.tolist() == [[0, 1, 3, D.VESSEL, 0]]
    cca = {0: "not artery", 255: "artery"}
    c = D.codes_from_labels(np.array([[0, 255]], np.uint8), cca, ["artery"])
    # background: not artery, vein unknown; artery pixels are not vein
    assert c.tolist() == [[D.code(D.NEG, D.UNK), D.code(D.POS, D.NEG)]]
    assert D.CODE_MASK_V[c[0, 0]] == 0 and D.CODE_MASK_A[c[0, 0]] == 1
    assert D.CODE_MASK_V[c[0, 1]] == 1 and D.CODE_TARGET_V[c[0, 1]] == 0


def test_partial_loss_masks_gradients():
    torch.manual_seed(0)
    z = torch.randn(1, 2, 4, 4, requires_grad=True)
    codes = torch.full((1, 4, 4), D.code(D.NEG, D.UNK), dtype=torch.long)  # cca background
    codes[0, 0, 0] = D.code(D.POS, D.NEG)
    loss, parts = T.partial_loss(z, codes)
    loss.backward()
    g = z.grad[0]
    assert torch.all(g[1][codes[0] == D.code(D.NEG, D.UNK)] == 0)  # vein unsupervised there
    assert g[1, 0, 0] != 0 and torch.all(g[0] != 0)
    # a vessel-of-unknown-class pixel pushes both channels up
    z2 = torch.zeros(1, 2, 1, 1, requires_grad=True)
    T.partial_loss(z2, torch.full((1, 1, 1), D.VESSEL, dtype=torch.long))[0].backward()
    assert torch.all(z2.grad < 0)
    # all-ignored pixels: finite zero loss
    z3 = torch.zeros(1, 2, 2, 2, requires_grad=True)
    l3, _ = T.partial_loss(z3, torch.full((1, 2, 2), D.IGNORE, dtype=torch.long))
    assert float(l3) == 0.0


def test_partial_loss_equals_bce_logdice_when_fully_labelled():
    """Full labels: BCE (mean over both channels) + mean of smp-style log-Dice terms."""
    torch.manual_seed(1)
    z = torch.randn(2, 2, 8, 8)
    lab = torch.randint(0, 3, (2, 8, 8))  # 0 bg, 1 artery, 2 vein
    codes = torch.where(lab == 1, 1, torch.where(lab == 2, 3, 0))
    loss, _ = T.partial_loss(z, codes)
    ta, tv = (lab == 1).float(), (lab == 2).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.stack([ta, tv], 1))
    p = torch.sigmoid(z)
    terms = []
    pvs = 1 - (1 - p[:, 0]) * (1 - p[:, 1])
    for pp, t in ((p[:, 0], ta), (p[:, 1], tv), (pvs, (ta + tv).clamp(max=1))):
        d = 2 * (pp * t).sum() / (pp.sum() + t.sum())
        terms.append(-torch.log(d))
    assert abs(float(loss) - float(bce + torch.stack(terms).mean())) < 1e-5


# ------------------------------------------------------------ letterbox

def _c_frame_to_tensor(img, nw, nh):
    """numpy port of lib/core/frame.c vs_frame_to_tensor (letterbox, grey, no norm)."""
    h, w = img.shape
    s = min(nw / w, nh / h)
    ox, oy = (nw - w * s) / 2, (nh - h * s) / 2
    out = np.zeros((nh, nw), np.float64)
    for y in range(nh):
        fy = (y + 0.5 - oy) / s
        for x in range(nw):
            fx = (x + 0.5 - ox) / s
            if not (0 <= fy <= h and 0 <= fx <= w):
                continue
            sy, sx = min(max(fy - 0.5, 0), h - 1), min(max(fx - 0.5, 0), w - 1)
            y0, x0 = int(sy), int(sx)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            ty, tx = sy - y0, sx - x0
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * tx
            bot = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * tx
            out[y, x] = top + (bot - top) * ty
    return out


@pytest.mark.parametrize("h,w,n", [(40, 60, 32), (53, 31, 32), (20, 20, 64)])
def test_letterbox_matches_libvenseg(h, w, n):
    rng = np.random.default_rng(h * w)
    img = rng.uniform(0, 255, (h, w)).astype(np.float32)
    got, _, _ = A.resample(img, None, n, n)
    np.testing.assert_allclose(got.numpy(), _c_frame_to_tensor(img.astype(np.float64), n, n),
                               atol=2e-3)


def test_augment_keeps_codes_and_padding():
    rng = np.random.default_rng(0)
    img = np.full((30, 50), 200, np.float32)
    codes = np.full((30, 50), D.code(D.NEG, D.UNK), np.uint8)
    codes[10:20, 20:30] = 1
    s = D.Sample("x/0", "x", "x/0", img, codes)
    x, c = A.make_batch([s, s], 64, 64, rng, A.AugConfig(), 0.449, 0.226)
    assert x.shape == (2, 1, 64, 64) and c.shape == (2, 64, 64)
    assert set(np.unique(c.numpy())) <= {0, 1, D.code(D.NEG, D.UNK)}
    # letterbox padding (rows 0..~12 of the identity mapping) is background code 0, black
    x0, c0 = A.make_batch([s], 64, 64, None, None, 0.449, 0.226)
    assert (c0[0, :5] == 0).all() and torch.allclose(x0[0, 0, :5], torch.tensor(-0.449 / 0.226))


# ------------------------------------------------------------ split

def test_split_keeps_groups_whole():
    ss = [D.Sample(f"d/{g}_{i}", "d", f"d/{g}", np.zeros((4, 4), np.float32),
                   np.zeros((4, 4), np.uint8)) for g in range(20) for i in range(3)]
    tr, va = D.split_by_group(ss, 0.2, seed=3)
    assert len(va) >= 9 and len(tr) + len(va) == 60
    assert not ({s.group for s in tr} & {s.group for s in va})
    tr2, va2 = D.split_by_group(list(reversed(ss)), 0.2, seed=3)
    assert {s.name for s in va} == {s.name for s in va2}
    assert D.default_group("clip3_0007") == "clip3" and D.default_group("0018") == "0018"


def test_near_duplicates_grouped():
    rng = np.random.default_rng(0)
    from scipy import ndimage as ndi

    def smooth():
        t = ndi.gaussian_filter(rng.uniform(0, 255, (50, 60)), 4)
        return ((t - t.min()) / np.ptp(t) * 255).astype(np.float32)

    a, c = smooth(), smooth()
    b = np.clip(a + rng.normal(0, 5, a.shape), 0, 255).astype(np.float32)
    ss = [D.Sample(f"u/{i}", "u", f"u/{i}", im, np.zeros(im.shape, np.uint8))
          for i, im in enumerate((a, b, c))]
    D.group_near_duplicates(ss, 0.85, "u")
    assert ss[0].group == ss[1].group != ss[2].group


# ------------------------------------------------------------ train / resume

def _label_png_set(root, n=6, size=(36, 44)):
    rng = np.random.default_rng(0)
    (root / "img").mkdir()
    (root / "lab").mkdir()
    for i in range(n):
        h, w = size
        img = rng.uniform(60, 200, (h, w))
        lab = np.zeros((h, w), np.uint8)
        y, x = np.mgrid[0:h, 0:w]
        cy, cx = rng.uniform(10, h - 10), rng.uniform(10, w - 10)
        art = (y - cy) ** 2 + (x - cx) ** 2 < 36
        lab[art] = 1
        img[art] = 20
        vein = (y - h / 2) ** 2 / 9 + (x - 6) ** 2 / 16 < 1
        lab[vein & ~art] = 2
        img[vein & ~art] = 30
        Image.fromarray(img.astype(np.uint8)).save(root / "img" / f"clip{i % 3}_{i:03d}.png")
        Image.fromarray(lab).save(root / "lab" / f"clip{i % 3}_{i:03d}.png")
    return str(root / "img"), str(root / "lab")


def _tiny_args(imgs, labs, out, *extra):
    return ["--datasets", "--label-png", imgs, labs, "--arch", "plain-unet",
            "--base-channels", "4", "--depth", "2", "--size", "32", "32", "--batch", "2",
            "--epochs", "2", "--samples-per-epoch", "4", "--warmup", "1", "--seed", "7",
            "--threads", "1", "--no-progress", "--out", out, "--val-fraction", "0.34",
            *extra]


def _state(out):
    return torch.load(os.path.join(out, "last.pt"), map_location="cpu")


def test_resume_equals_straight_run(tmp_path):
    imgs, labs = _label_png_set(tmp_path)
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    assert T.main(_tiny_args(imgs, labs, straight)) == 0
    assert T.main(_tiny_args(imgs, labs, split, "--max-steps", "1")) == 0  # stops mid-epoch 1
    s1 = _state(split)
    assert (s1["epoch"], s1["batch_in_epoch"], s1["step"]) == (0, 1, 1)
    assert T.main(_tiny_args(imgs, labs, split, "--max-steps", "3", "--resume")) == 0
    s3 = _state(split)
    assert (s3["epoch"], s3["batch_in_epoch"], s3["step"]) == (1, 1, 3)
    assert len(s3["optimizer"]["state"]) > 0
    assert T.main(["--out", split, "--resume", "--threads", "1", "--no-progress"]) == 0
    a, b = _state(straight), _state(split)
    assert a["step"] == b["step"] == 4 and a["epoch"] == b["epoch"] == 2
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for k, v in a["optimizer"]["state"].items():
        assert torch.equal(v["exp_avg"], b["optimizer"]["state"][k]["exp_avg"])
    assert [r["loss"] for r in a["history"]][-1] == pytest.approx(b["history"][-1]["loss"])
    sp = json.load(open(os.path.join(straight, "split.json")))
    # groups = clip0 / clip1 / clip2: never on both sides
    tg = {n.split("/")[1].split("_")[0] for n in sp["train"]}
    vg = {n.split("/")[1].split("_")[0] for n in sp["val"]}
    assert tg and vg and not (tg & vg)


def test_export_loads(tmp_path):
    imgs, labs = _label_png_set(tmp_path)
    out = str(tmp_path / "run")
    vseg = str(tmp_path / "m.vseg")
    assert T.main(_tiny_args(imgs, labs, out, "--export", vseg, "--export-dtype", "q8",
                             "--epochs", "1")) == 0
    from venseg.toolkit.weights import read_vseg
    f = read_vseg(vseg)
    m = f.metadata
    assert m["provenance.trained"] == 1 and m["input.resize"] == "letterbox"
    assert m["input.channels"] == 1 and m["output.classes"] == ["artery", "vein"]
    assert "plain-unet base 4" in m["provenance.recipe"] and m["provenance.commit"]
    assert json.loads(m["provenance.metrics"])
    assert "enc0.bn1.running_mean" not in f.tensors  # --fold-bn
    # the exported file computes what the PyTorch model computes (through the reference)
    ck = torch.load(os.path.join(out, "best.pt"), map_location="cpu")
    model = T.build_model("plain-unet", 4, 2)
    model.load_state_dict(ck["state_dict"])
    model.eval()
    try:
        from venseg import _native as vn
        vn.library()
    except Exception:  # noqa: BLE001
        pytest.skip("libvenseg not found (set VENSEG_LIBRARY)")
    frame = np.asarray(Image.open(os.path.join(imgs, sorted(os.listdir(imgs))[0])))
    with vn.Model(vseg) as cm, vn.Session(cm, threads=1) as s:
        mask, probs = s.segment(frame, probabilities=True)
    assert mask.shape == frame.shape and probs.shape == (2,) + frame.shape
    # PyTorch on the same letterboxed input (libvenseg's sampling), compared with the
    # library's probabilities at each frame pixel's nearest network pixel
    s_img, _, _ = A.resample(frame.astype(np.float32), None, 32, 32)
    xin = ((s_img / 255.0 - T.GREY_MEAN) / T.GREY_STD)[None, None]
    with torch.no_grad():
        p = torch.sigmoid(model(xin))[0].numpy()
    h, w = frame.shape
    sc = min(32 / w, 32 / h)
    ox, oy = (32 - w * sc) / 2, (32 - h * sc) / 2
    ny = np.clip(np.floor((np.arange(h) + 0.5) * sc + oy), 0, 31).astype(int)
    nx = np.clip(np.floor((np.arange(w) + 0.5) * sc + ox), 0, 31).astype(int)
    diff = np.abs(probs - p[:, ny][:, :, nx])
    assert np.median(diff) < 0.05  # q8 weights + bilinear vs nearest resampling


def test_phantom_samples():
    try:
        from venseg import _native as vn
        vn.library()
    except Exception:  # noqa: BLE001
        pytest.skip("libvenseg not found (set VENSEG_LIBRARY)")
    ss = D.load_phantom(2, 3, seed=1, size=(64, 48))
    assert len(ss) == 6 and len({s.group for s in ss}) == 2
    for s in ss:
        assert s.image.shape == (48, 64) and s.codes.shape == (48, 64)
        assert set(np.unique(s.codes)) <= {0, 1, 3, D.THROMBUS}
        assert (s.truth == 1).sum() > 0  # every sequence has an artery
    again = D.load_phantom(2, 3, seed=1, size=(64, 48))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(ss, again))
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(ss, again))


def test_phantom_thrombus_codes():
    """The clot's pixels are coded THROMBUS: only inside the true vein, only in thrombosed
    sequences, and in a partial clot they lie below the open lumen (the phantom's clot
    settles on the posterior wall)."""
    try:
        from venseg import _native as vn
        vn.library()
    except Exception:  # noqa: BLE001
        pytest.skip("libvenseg not found (set VENSEG_LIBRARY)")
    ss = D.load_phantom(10, 1, seed=7, size=(128, 128), exam=True)
    kinds = set()
    for s in ss:
        clot, lumen = s.codes == D.THROMBUS, s.codes == D.code(D.NEG, D.POS)
        assert np.all(s.truth[clot] == 2)
        if clot.any() and lumen.sum() > 20:  # partial: the lumen sits on the clot
            kinds.add("partial")
            assert np.nonzero(lumen)[0].mean() < np.nonzero(clot)[0].mean()
        elif clot.any():
            kinds.add("occlusive")
        else:
            kinds.add("open")
    assert kinds == {"partial", "occlusive", "open"}


def test_thrombus_weight_in_the_loss():
    """A vein pixel and a clot pixel: BCE = (a1 + v1 + W (a2 + v2)) / (2 + 2 W); W = 1 is
    the plain vein code."""
    torch = pytest.importorskip("torch")
    z = torch.tensor([[[[0.4, -0.3]], [[-1.0, 0.7]]]])
    codes = torch.tensor([[[D.code(D.NEG, D.POS), D.THROMBUS]]])
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    a = [-np.log(1 - sig(0.4)), -np.log(1 - sig(-0.3))]
    v = [-np.log(sig(-1.0)), -np.log(sig(0.7))]
    for w in (1.0, 4.0):
        _, parts = T.partial_loss(z, codes, thrombus_weight=w)
        assert parts["bce"] == pytest.approx((a[0] + v[0] + w * (a[1] + v[1])) / (2 + 2 * w), rel=1e-5)
    plain, _ = T.partial_loss(z, torch.full_like(codes, D.code(D.NEG, D.POS)))
    same, _ = T.partial_loss(z, codes, thrombus_weight=1.0)
    assert float(same) == pytest.approx(float(plain), rel=1e-6)
    with pytest.raises(ValueError, match="thrombus weight"):
        D.code_tables(thrombus_weight=0)


# ------------------------------------------------------------ model cards

def test_modelcard_table_and_check(tmp_path):
    from venseg.toolkit import modelcard as MC

    rows = [{"dice": 0.8, "jaccard": 0.667, "ssim": 0.9, "tp": 80, "fp": 10, "fn": 30},
            {"dice": float("nan"), "jaccard": float("nan"), "ssim": 0.99, "tp": 0, "fp": 5,
             "fn": 0}]
    agg = MC._agg(rows)
    assert agg["images"] == 2 and agg["dice"]["n"] == 1
    assert agg["pooled_dice"] == pytest.approx(160 / 205)
    assert agg["mispredicted_ratio"] == pytest.approx(45 / 110)
    assert agg["area_ratio"] == pytest.approx(95 / 110)
    ev = {"split": "s.json", "results": {"usgra-seg/artery": agg, "cca-momot/artery": agg}}
    block = MC.metrics_block(ev)
    assert block.startswith(MC.BEGIN) and block.endswith(MC.END)
    assert block.index("usgra-seg") < block.index("cca-momot")
    assert "| 2 (1) | 0.800 |" in block
    json.loads(MC.compact_metrics(ev))
    pred = np.zeros((20, 30), np.uint8)
    pred[8:12, 8:12] = 1
    ov = MC.overlay(np.zeros((20, 30), np.uint8), pred, np.zeros((20, 30), np.uint8))
    assert ov.shape == (20, 30, 3) and ov[10, 10, 0] > ov[10, 10, 2]  # artery drawn red
