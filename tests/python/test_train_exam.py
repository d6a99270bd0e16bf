"""The training paths added for the groin labels: per-vessel confidence weighting, the
groin manifest entry (JPEG frames, labels.jsonl groups), a split file that fixes some data
sets and splits new ones, the exam augmentations (probe compression, TGC, attenuation,
copy-paste), self-supervised pretraining with resume, and --init. Tiny frames and models:
seconds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("PIL")
pytest.importorskip("scipy")
from PIL import Image  # noqa: E402

from venseg.toolkit import augment as A  # noqa: E402
from venseg.toolkit import data as D  # noqa: E402
from venseg.toolkit import pretrain as P  # noqa: E402
from venseg.toolkit import train as T  # noqa: E402

ARTERY, VEIN = D.code(D.POS, D.NEG), D.code(D.NEG, D.POS)


# ----------------------------------------------------------- confidence weights

@pytest.mark.parametrize("low, same_as", [(1.0, ARTERY), (0.0, D.VESSEL)])
def test_low_confidence_weight_limits(low, same_as):
    """Weight 1: a low-confidence artery teaches exactly what a sure one does; weight 0:
    exactly what a vessel of unknown class does."""
    torch.manual_seed(3)
    z = torch.randn(2, 2, 6, 6)
    base = torch.zeros((2, 6, 6), dtype=torch.long)
    base[:, 1:3, 1:4] = D.LOW_ARTERY
    ref = base.clone()
    ref[base == D.LOW_ARTERY] = same_as
    got, _ = T.partial_loss(z, base, low_weight=low)
    want, _ = T.partial_loss(z, ref, low_weight=low)
    assert float(got) == pytest.approx(float(want), rel=1e-6)


def test_low_confidence_splits_bce_between_class_and_vessel():
    """One pixel: BCE = (w BCE_a + w BCE_v + (1 - w) noisy-OR) / (w + w + (1 - w))."""
    za, zv, w = 0.3, -0.8, 0.25
    z = torch.tensor([[[[za]], [[zv]]]])
    _, parts = T.partial_loss(z, torch.full((1, 1, 1), D.LOW_VEIN, dtype=torch.long),
                              low_weight=w)
    pa, pv = 1 / (1 + np.exp(-za)), 1 / (1 + np.exp(-zv))
    bce_a, bce_v = -np.log(1 - pa), -np.log(pv)
    noisy_or = -np.log(1 - (1 - pa) * (1 - pv))
    want = (w * bce_a + w * bce_v + (1 - w) * noisy_or) / (w + w + (1 - w))
    assert parts["bce"] == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="not in"):
        D.code_tables(1.5)


def test_mark_low_confidence_ellipse_and_polygon():
    lab = np.zeros((40, 60), np.uint8)
    y, x = np.mgrid[0:40, 0:60]
    lab[(x - 15) ** 2 + (y - 20) ** 2 <= 36] = 1        # artery, high confidence
    lab[(x - 40) ** 2 / 64 + (y - 20) ** 2 / 25 <= 1] = 2  # vein, low confidence
    vessels = [{"class": "artery", "ellipse": [15, 20, 6, 6, 0], "confidence": "high"},
               {"class": "vein", "polygon": [[32, 20], [40, 15], [48, 20], [40, 25]],
                "confidence": "low"}]
    codes = D.codes_from_labels(lab, {0: "background", 1: "artery", 2: "vein"},
                                ["artery", "vein", "vessel"])
    D.mark_low_confidence(codes, lab, vessels)
    assert np.all(codes[lab == 2] == D.LOW_VEIN)
    assert np.all(codes[lab == 1] == ARTERY)
    assert np.all(codes[lab == 0] == 0)


def _fake_root(tmp_path, n=8):
    """A data root with a groin-like set: JPEG frames, label PNGs, labels.jsonl."""
    root = tmp_path / "data"
    img_dir, lab_dir = root / "groin" / "images", root / "groin" / "labels"
    img_dir.mkdir(parents=True)
    lab_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        img = rng.uniform(80, 200, (48, 64))
        lab = np.zeros((48, 64), np.uint8)
        y, x = np.mgrid[0:48, 0:64]
        art = (x - 20) ** 2 + (y - 24) ** 2 <= 49
        vein = (x - 44) ** 2 / 81 + (y - 26) ** 2 / 36 <= 1
        lab[art], lab[vein] = 1, 2
        img[art | vein] = 25
        Image.fromarray(img.astype(np.uint8)).save(img_dir / f"sample_{i + 1}.jpg", quality=95)
        Image.fromarray(lab).save(lab_dir / f"sample_{i + 1}.png")
        lines.append(json.dumps({"file": f"sample_{i + 1}.jpg", "group": i // 2, "vessels": [
            {"class": "artery", "ellipse": [20, 24, 7, 7, 0], "confidence": "high"},
            {"class": "vein", "ellipse": [44, 26, 9, 6, 0],
             "confidence": "low" if i % 2 else "high"}]}))
    (root / "groin" / "labels.jsonl").write_text("\n".join(lines) + "\n")
    manifest = {"groin": {"images": "groin/images", "labels": "groin/labels",
                          "values": {"0": "background", "1": "artery", "2": "vein",
                                     "3": "vessel"},
                          "confidence": "groin/labels.jsonl",
                          "supervises": ["artery", "vein", "vessel"]}}
    (root / "README.md").write_text("# fake\n\n```json\n" + json.dumps(manifest) + "\n```\n")
    return str(root)


def test_manifest_groups_and_confidence(tmp_path):
    root = _fake_root(tmp_path)
    ss = D.load_manifest(root, ["groin"])
    assert len(ss) == 8
    # groups from labels.jsonl, not from the file stem (which would put all in one)
    assert len({s.group for s in ss}) == 4
    assert ss[0].group == "groin/group-0"
    low = [s for s in ss if (s.codes == D.LOW_VEIN).any()]
    assert sorted(s.name for s in low) == sorted(f"groin/sample_{i}" for i in (2, 4, 6, 8))
    tr, va = D.split_by_group(ss, 0.25, 0)
    assert not ({s.group for s in tr} & {s.group for s in va})


def test_split_file_fixes_named_sets_and_splits_new_ones(tmp_path):
    root = _fake_root(tmp_path)
    groin = D.load_manifest(root, ["groin"])
    other = [D.Sample(f"old/{i}", "old", f"old/{i}", np.zeros((4, 4), np.float32),
                      np.zeros((4, 4), np.uint8)) for i in range(5)]
    sp = tmp_path / "split.json"
    sp.write_text(json.dumps({"val": ["old/1"], "train": ["old/0", "old/2", "old/3",
                                                          "old/4"]}))
    args = type("A", (), {"split": str(sp), "val_fraction": 0.25, "seed": 0})()
    tr, va = T.make_split(other + groin, args)
    assert [s.name for s in va if s.dataset == "old"] == ["old/1"]
    gv = {s.group for s in va if s.dataset == "groin"}
    assert gv and not (gv & {s.group for s in tr})


# ---------------------------------------------------------------- augmentation

def _vein_sample():
    img = np.full((60, 80), 150, np.float32)
    codes = np.zeros((60, 80), np.uint8)
    y, x = np.mgrid[0:60, 0:80]
    vein = (x - 40) ** 2 / 144 + (y - 30) ** 2 / 81 <= 1
    img[vein], codes[vein] = 20, VEIN
    return D.Sample("t/v", "t", "t/v", img, codes)


def test_probe_compression_flattens_the_vein():
    s = _vein_sample()
    cfg = A.AugConfig.none()
    cfg.compress, cfg.compress_range = 1.0, (0.3, 0.3)
    _, plain, _ = A.resample(s.image, s.codes, 80, 60, None, cfg)
    _, squashed, _ = A.resample(s.image, s.codes, 80, 60, np.random.default_rng(0), cfg)
    rows = lambda c: np.nonzero((c == VEIN).any(dim=1).numpy())[0]  # noqa: E731
    cols = lambda c: np.nonzero((c == VEIN).any(dim=0).numpy())[0]  # noqa: E731
    h0, h1 = len(rows(plain)), len(rows(squashed))
    assert h1 <= 0.45 * h0, (h0, h1)                       # about 0.3 of the height
    assert abs(len(cols(squashed)) - len(cols(plain))) <= 2  # width kept
    assert A.vein_extent(np.zeros((5, 5), np.uint8)) is None


def test_tgc_and_attenuation_keep_padding_and_range():
    s = _vein_sample()
    cfg = A.AugConfig.none()
    cfg.tgc = cfg.attenuation = 1.0
    rng = np.random.default_rng(1)
    img, _, inside = A.resample(s.image, s.codes, 96, 96, None, cfg)  # letterboxed: padding
    out = A.intensity(img, inside, rng, cfg)
    assert torch.all(out[~inside] == 0) and float(out.max()) <= 255
    row_means = out[inside.any(dim=1)].mean(dim=1)
    assert float(row_means.std()) > 1.0  # the gain varies with depth


def test_copy_paste_brings_the_donor_vessel():
    target = D.Sample("t/b", "t", "t/b", np.full((60, 80), 150, np.float32),
                      np.zeros((60, 80), np.uint8))
    donor = _vein_sample()
    img, codes = A.paste_vessel(target.image, target.codes, donor, np.random.default_rng(2))
    assert (codes == VEIN).sum() > 0.8 * (donor.codes == VEIN).sum()
    assert float(img[codes == VEIN].mean()) < 40         # the dark lumen came along
    assert np.all(target.codes == 0)                    # the inputs are unchanged
    x, c = A.make_batch([target], 40, 30, np.random.default_rng(0), A.AugConfig.exam(), 0.5,
                        0.25, donors=[donor])
    assert x.shape == (1, 1, 30, 40) and c.shape == (1, 30, 40)


# ------------------------------------------------------------------ pretraining

def _pre_args(root, out, steps):
    return ["--data-root", root, "--datasets", "groin", "--arch", "plain-unet",
            "--base-channels", "4", "--depth", "2", "--size", "32", "32", "--batch", "2",
            "--steps", str(steps), "--warmup", "1", "--threads", "1", "--out", out]


def test_pretrain_resume_equals_straight_run_and_init(tmp_path):
    root = _fake_root(tmp_path)
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    assert P.main(_pre_args(root, straight, 4)) == 0
    assert P.main(_pre_args(root, split, 2)) == 0
    assert P.main(_pre_args(root, split, 4) + ["--resume"]) == 0
    a = torch.load(os.path.join(straight, "pretrained.pt"), map_location="cpu")
    b = torch.load(os.path.join(split, "pretrained.pt"), map_location="cpu")
    assert a["steps"] == b["steps"] == 4
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    # --init: the body comes from pretraining, the 2-class head is fresh
    model = T.build_model("plain-unet", 4, 2)
    n = T.load_init(model, os.path.join(straight, "pretrained.pt"))
    own = model.state_dict()
    assert n == len(own) - 2  # all but the head's weight and bias
    enc = next(k for k in own if "head" not in k and own[k].dim() == 4)
    assert torch.equal(own[enc], a["state_dict"][enc])
    # and a tiny supervised run from it, with the exam augmentations and low weights
    out = str(tmp_path / "run")
    assert T.main(["--data-root", root, "--datasets", "groin", "--arch", "plain-unet",
                   "--base-channels", "4", "--depth", "2", "--size", "32", "32", "--batch",
                   "2", "--epochs", "1", "--samples-per-epoch", "4", "--warmup", "1",
                   "--threads", "1", "--no-progress", "--aug", "exam",
                   "--low-confidence-weight", "0.3", "--init",
                   os.path.join(straight, "pretrained.pt"), "--out", out]) == 0
    hist = json.load(open(os.path.join(out, "history.json")))
    assert "initialised from self-supervised pretraining" in T.recipe_string(
        type("A", (), hist["args"])())
    # a fine-tune of that run (--init its best.pt) is named so, in the recipe and the card's command
    from venseg.toolkit import modelcard as MC

    tuned = str(tmp_path / "tuned")
    assert T.main(["--data-root", root, "--datasets", "groin", "--arch", "plain-unet",
                   "--base-channels", "4", "--depth", "2", "--size", "32", "32", "--batch",
                   "2", "--epochs", "1", "--samples-per-epoch", "4", "--warmup", "1",
                   "--threads", "1", "--no-progress", "--init", os.path.join(out, "best.pt"),
                   "--thrombus-oversample", "2", "--out", tuned]) == 0
    args = json.load(open(os.path.join(tuned, "history.json")))["args"]
    assert T.is_training_checkpoint(os.path.join(out, "best.pt"))
    assert not T.is_training_checkpoint(os.path.join(straight, "pretrained.pt"))
    assert "fine-tuned from an earlier training run (best.pt)" in T.recipe_string(type("A", (), args)())
    assert "--init PARENT/best.pt" in MC.train_command(args)
    # every option of the run is in the card's command
    assert "drawn 2x as often" in T.recipe_string(type("A", (), args)())
    assert "--thrombus-oversample 2" in MC.train_command(args)


def test_masking_and_restoration_loss():
    rng = np.random.default_rng(0)
    x = torch.zeros(2, 1, 32, 32)
    inp, m = P.mask_patches(x, rng, 8, 0.5, 0.0)
    assert set(torch.unique(m).tolist()) <= {0.0, 1.0}
    assert torch.all(inp[m == 0] == 0) and float(inp[m == 1].abs().sum()) > 0
    assert float(P.restoration_loss(x, x, m)) == 0.0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_video_frames_cropped(tmp_path):
    video = str(tmp_path / "v.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=10:duration=1", "-pix_fmt", "yuv420p", video],
                   check=True)
    frames = P.video_frames(video, [8, 4, 32, 20], 5)
    assert len(frames) == 2 and frames[0].shape == (20, 32)


def test_thrombus_oversample_draws_clot_frames_more_and_keeps_dataset_shares():
    # 100 phantom frames (10 with a clot) and 100 real ones, phantom and real each half the
    # epoch; epochs of 20 draws (draws within a pass are without replacement)
    def sample(name, dataset, clot):
        codes = np.zeros((4, 4), np.uint8)
        if clot:
            codes[1, 1] = D.THROMBUS
        return D.Sample(name, dataset, name, np.zeros((4, 4), np.float32), codes)
    train = [sample(f"p{i}", "phantom", i < 10) for i in range(100)] + \
            [sample(f"r{i}", "real", False) for i in range(100)]
    plain = np.concatenate([T.epoch_indices(train, {}, 20, 0, e) for e in range(500)])
    over = np.concatenate([T.epoch_indices(train, {}, 20, 0, e, thrombus_oversample=4.0) for e in range(500)])
    clot = lambda idx: (idx < 10).mean()  # noqa: E731
    phantom = lambda idx: (idx < 100).mean()  # noqa: E731
    # plain: 10 of 200 frames; 4x: 40 of the phantom's 130 weight units, of its half
    assert abs(clot(plain) - 0.05) < 0.01 and abs(clot(over) - 0.5 * 40 / 130) < 0.015
    assert abs(phantom(plain) - 0.5) < 0.02 and abs(phantom(over) - 0.5) < 0.02
    args = dict(arch="resnet34", init=None, size=[160, 160], lr=1e-4, schedule="cosine", warmup=1,
                batch=2, epochs=1, samples_per_epoch=4, aug="exam", seed=0, patience=0,
                thrombus_weight=2.0, thrombus_oversample=4.0)
    assert "frames with a thrombus drawn 4x as often" in T.recipe_string(type("A", (), args)())
    with pytest.raises(SystemExit, match="thrombus-oversample"):
        T.main(["--out", "/nonexistent", "--thrombus-oversample", "0"])
