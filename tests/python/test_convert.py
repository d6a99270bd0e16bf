"""Tests of venseg.toolkit.convert and venseg.toolkit.reference (needs torch; skipped without)."""

import os
import subprocess
import sys

import numpy as np
import pytest

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python")
sys.path.insert(0, PKG)

torch = pytest.importorskip("torch")

from venseg.toolkit import arch as A  # noqa: E402
from venseg.toolkit import convert as C  # noqa: E402
from venseg.toolkit import reference as R  # noqa: E402
from venseg.toolkit.weights import read_vseg  # noqa: E402


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(PKG))
    return subprocess.run([sys.executable, "-m", "venseg.toolkit.convert", *args], env=env,
                          capture_output=True, text=True)


def test_keras_param_count():
    m = R.ResNetUnet("resnet34", "keras", classes=2)
    n = sum(v.numel() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked"))
    assert n == 24_456_299  # spec 1.7: includes BN moving mean/var
    m = R.ResNetUnet("resnet34", "keras", "transpose", classes=2)
    n = sum(v.numel() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked"))
    assert n == 25_678_443
    assert "encoder.bn_data.weight" not in m.state_dict()


def test_torchvision_style_equals_smp():
    smp = pytest.importorskip("segmentation_models_pytorch")
    torch.manual_seed(0)
    s = smp.Unet(encoder_name="resnet18", encoder_weights=None, classes=2).eval()
    m = R.ResNetUnet("resnet18", "torchvision", classes=2).eval()
    m.load_state_dict(s.state_dict())
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(s(x), m(x))


@pytest.mark.parametrize("arch", ["keras-resnet18-transpose", "tv-resnet18-transpose",
                                  "keras-resnet50-upsample", "plain-unet"])
def test_names_match_format(arch):
    model, am = C.build_model(arch, depth=3, base_channels=8)
    cin = 1 if arch == "plain-unet" else 3
    meta = C.make_metadata(am, cin, ["artery", "vein"], 64, 64)
    sd = R.state_dict_numpy(model)
    assert list(sd) == list(A.expected_tensors(meta))
    A.validate_tensors(meta, sd)


def test_random_model_is_deterministic_and_not_saturated():
    m1, _ = C.random_model("keras-resnet18-upsample", 7, calib_size=(64, 64))
    m2, _ = C.random_model("keras-resnet18-upsample", 7, calib_size=(64, 64))
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        p = torch.sigmoid(m1(x))
    assert 0.05 < float(p.std()) < 0.35
    assert float(((p > 0.01) & (p < 0.99)).double().mean()) > 0.95


def test_fold_bn_preserves_output():
    model, am = C.random_model("plain-unet", 3, in_channels=1, base_channels=4, depth=2,
                               calib_size=(32, 32))
    meta = C.make_metadata(am, 1, ["artery", "vein"], 32, 32)
    sd = R.state_dict_numpy(model)
    folded = A.fold_bn(meta, sd)

    class Folded(torch.nn.Module):  # run the folded tensors with plain torch ops
        def forward(self, x):
            F = torch.nn.functional
            t = {k: torch.from_numpy(v).double() for k, v in folded.items()}
            cbr = lambda x, n: F.relu(F.conv2d(x, t[n + ".weight"], t[n + ".bias"], padding=1))  # noqa
            s0 = cbr(cbr(x, "enc0.conv1"), "enc0.conv2")
            s1 = cbr(cbr(F.max_pool2d(s0, 2), "enc1.conv1"), "enc1.conv2")
            s2 = cbr(cbr(F.max_pool2d(s1, 2), "enc2.conv1"), "enc2.conv2")
            u = F.conv_transpose2d(s2, t["up1.weight"], t["up1.bias"], stride=2)
            d1 = cbr(cbr(torch.cat([u, s1], 1), "dec1.conv1"), "dec1.conv2")
            u = F.conv_transpose2d(d1, t["up0.weight"], t["up0.bias"], stride=2)
            d0 = cbr(cbr(torch.cat([u, s0], 1), "dec0.conv1"), "dec0.conv2")
            return F.conv2d(d0, t["head.weight"], t["head.bias"])

    x = torch.randn(1, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        a = model.double()(x)
        b = Folded()(x)
    assert float((a - b).abs().max()) < 1e-5


def test_cli_random(tmp_path):
    out = tmp_path / "p.vseg"
    r = _cli("--random", "plain-unet", "--base-channels", "4", "--depth", "2", "--channels", "1",
             "--input-size", "64", "32", "--fold-bn", "--dtype", "q8", "--deflate",
             "--classes", "artery", "vein", "--name", "t", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "params" in r.stdout and "bytes" in r.stdout
    f = read_vseg(str(out))
    assert f.flags == 1
    assert f.metadata["provenance.trained"] == 0
    assert (f.metadata["input.width"], f.metadata["input.height"]) == (64, 32)
    assert f.metadata["general.name"] == "t"
    A.validate_tensors(f.metadata, f.tensors, folded=True)
    assert f.dtypes["enc0.conv1.weight"] == "q8" and f.dtypes["enc0.conv1.bias"] == "f32"


def test_cli_help_documents_every_option():
    r = _cli("--help")
    assert r.returncode == 0
    parser = C._parser()
    for action in parser._actions:
        for opt in action.option_strings:
            assert opt in r.stdout
        if action.option_strings and action.dest != "help":
            assert action.help, action.dest


def test_cli_smp_checkpoints(tmp_path):
    smp = pytest.importorskip("segmentation_models_pytorch")
    model = smp.Unet(encoder_name="resnet18", encoder_weights=None, in_channels=1, classes=2,
                     decoder_channels=(64, 32, 16, 16, 8))
    p_sd, p_model = tmp_path / "sd.pth", tmp_path / "model.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, p_sd)
    torch.save(model, p_model)
    for src in (p_sd, p_model):
        out = tmp_path / (src.stem + ".vseg")
        r = _cli(str(src), "-o", str(out), "--input-size", "128", "96")
        assert r.returncode == 0, r.stderr
        f = read_vseg(str(out))
        m = f.metadata
        assert m["encoder.name"] == "resnet18" and m["encoder.style"] == "torchvision"
        assert m["decoder.channels"] == [64, 32, 16, 16, 8]
        assert m["input.channels"] == 1 and m["input.mean"] == [0.449]
        assert m["provenance.trained"] == 1
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                np.testing.assert_array_equal(f.tensors[k], v.numpy())
    r = _cli(str(p_sd), "-o", str(tmp_path / "x.vseg"), "--encoder", "resnet34")
    assert r.returncode == 2 and "missing" in r.stderr


def test_cli_own_checkpoint(tmp_path):
    model, am = C.random_model("keras-resnet18-transpose", 1, calib_size=(64, 64))
    ck = tmp_path / "ck.pt"
    C.save_checkpoint(str(ck), model, {"input.channels": 3, "output.classes": ["artery", "vein"],
                                       "input.width": 320, "input.height": 256,
                                       "input.scale": 1.0, "provenance.data": "unit test"})
    out = tmp_path / "ck.vseg"
    r = _cli(str(ck), "-o", str(out), "--trained", "1", "--resize", "letterbox")
    assert r.returncode == 0, r.stderr
    f = read_vseg(str(out))
    m = f.metadata
    assert m["encoder.style"] == "keras" and m["decoder.block"] == "transpose"
    assert (m["input.width"], m["input.height"]) == (320, 256)
    assert m["provenance.data"] == "unit test" and m["input.resize"] == "letterbox"
    assert m["decoder.bn_eps"] == 1e-3 and m["encoder.bn_eps"] == 2e-5
    assert "encoder.bn_data.weight" not in f.tensors
    A.validate_tensors(m, f.tensors)
