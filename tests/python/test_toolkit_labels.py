"""The toolkit's one home per concept: the label-map grammar (venseg.toolkit.labelmap), the
image and label reader (venseg.toolkit.data.read_frame / read_image / read_label) and the
LabelMe rasteriser (venseg.toolkit.labelme) as evaluate, training and the model card use
them. numpy + Pillow; no torch, no libvenseg."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from venseg.toolkit import data as D  # noqa: E402
from venseg.toolkit import evaluate as ev  # noqa: E402
from venseg.toolkit import labelme as LM  # noqa: E402
from venseg.toolkit import labelmap as LMAP  # noqa: E402


# ------------------------------------------------------------------ label maps

def test_label_map_parsing():
    m = LMAP.LabelMap("artery=1, vein=2|V ,vessel=3,ignore=4|5|nerve")
    assert list(m.lut[:7]) == [0, 1, 2, 3, 4, 4, 0]
    assert m.name_code("V") == 2 and m.name_code("nerve") == 4 and m.name_code("Artery") == 1
    assert m.name_code("2") == 2 and m.name_code("tendon") is None
    assert m.codes(np.array([[5, 1, 9]], np.uint8)).tolist() == [[4, 1, 0]]
    assert LMAP.LabelMap("artery=255").supervised[1:3] == [True, False]
    for bad in ("artery=1,vein=1", "nerve=4", "artery=256", "artery", "artery=", "artery=A,vein=A", "vein=-1"):
        with pytest.raises(LMAP.LabelMapError):
            LMAP.LabelMap(bad)
    assert ev.LabelMap is LMAP.LabelMap  # evaluate parses with the same grammar


def test_guess_code():
    assert LMAP.guess_code("A. femoralis / Arterie") == LMAP.ARTERY
    assert LMAP.guess_code("V. poplitea (vena)") == LMAP.VEIN
    assert LMAP.guess_code("vessel?") == LMAP.VESSEL and LMAP.guess_code(" Unsure ") == LMAP.IGNORE
    assert LMAP.guess_code("muscle") == LMAP.BACKGROUND


# ------------------------------------------------------------------ readers

def _png(tmp_path, name, arr, mode=None):
    p = tmp_path / name
    Image.fromarray(arr, mode).save(p) if mode else Image.fromarray(arr).save(p)
    return str(p)


def test_read_frame_modes(tmp_path):
    rng = np.random.default_rng(7)
    g = rng.integers(0, 256, (9, 13), dtype=np.uint8)
    rgb = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    g16 = rng.integers(0, 65536, (9, 13)).astype(np.uint16)
    f = D.read_frame(_png(tmp_path, "g.png", g))
    assert f.dtype == np.uint8 and np.array_equal(f, g) and f.flags.writeable
    assert np.array_equal(D.read_frame(_png(tmp_path, "rgb.png", rgb)), rgb)
    rgba = np.concatenate([rgb, np.full((9, 13, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(D.read_frame(_png(tmp_path, "rgba.png", rgba)), rgb)  # alpha dropped
    la = np.stack([g, np.full_like(g, 9)], axis=2)
    assert np.array_equal(D.read_frame(_png(tmp_path, "la.png", la, "LA")), g)
    f16 = D.read_frame(_png(tmp_path, "g16.png", g16))
    assert f16.dtype == np.uint16 and np.array_equal(f16, g16)
    # grey float32: 16-bit scaled as libvenseg's GRAY16, colour as BT.601 luma
    np.testing.assert_allclose(D.read_image(str(tmp_path / "g16.png")), g16 / 257.0, rtol=1e-6)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(D.read_image(str(tmp_path / "rgb.png")), luma, atol=1e-3)
    Image.fromarray(g).save(tmp_path / "g.jpg")
    assert D.read_frame(str(tmp_path / "g.jpg")).shape == (9, 13)
    with pytest.raises(ValueError, match="not a PNG"):
        D.read_frame(str(tmp_path / "g.jpg"), png_only=True)
    buf = io.BytesIO()
    Image.fromarray(g).save(buf, format="PNG")
    assert np.array_equal(D.read_frame(io.BytesIO(buf.getvalue())), g)  # file objects too


def test_read_label_modes(tmp_path):
    lab = np.array([[0, 1, 2], [3, 4, 255]], np.uint8)
    assert np.array_equal(D.read_label(_png(tmp_path, "l.png", lab)), lab)
    pal = Image.fromarray(lab, "L").convert("P")
    pal.putpalette([v for i in range(256) for v in ((i * 7) % 256, 0, 0)])
    pal.save(tmp_path / "p.png")
    assert np.array_equal(D.read_label(str(tmp_path / "p.png")), lab)  # indices, not colours
    assert np.array_equal(D.read_label(_png(tmp_path, "grey_rgb.png", np.stack([lab] * 3, axis=2))), lab)
    assert np.array_equal(D.read_label(_png(tmp_path, "l16.png", lab.astype(np.uint16))), lab)
    colour = np.stack([lab, lab, np.zeros_like(lab)], axis=2)
    with pytest.raises(ValueError, match="colour"):
        D.read_label(_png(tmp_path, "colour.png", colour))
    with pytest.raises(ValueError, match="> 255"):
        D.read_label(_png(tmp_path, "big16.png", np.full((2, 2), 300, np.uint16)))


# ------------------------------------------------------------------ LabelMe

DOC = {"version": "5.2.1", "imagePath": "x.png", "imageData": None, "imageWidth": 30, "imageHeight": 20,
       "shapes": [{"label": "artery", "points": [[2, 2], [12, 2], [12, 12], [2, 12]], "shape_type": "polygon"},
                  {"label": "V", "points": [[15, 3], [25, 15]], "shape_type": "rectangle"},
                  {"label": "vessel", "points": [[5, 16], [7, 16]], "shape_type": "circle"},
                  {"label": "tendon", "points": [[20, 0], [29, 0], [29, 5]], "shape_type": "polygon"},
                  {"label": "nerve", "points": [[0, 0], [1, 1]], "shape_type": "line"}]}


def test_rasterise_one_drawer_two_rules():
    lm = LMAP.LabelMap("artery=1,vein=2|V,ignore=4|nerve")
    codes, stats = ev.rasterize_labelme(DOC, lm, 30, 20)  # the venseg program's subset
    assert stats == {"drawn": 2, "unknown_label": 1, "unsupported": 2}  # tendon; circle, line
    assert codes[7, 7] == 1 and codes[9, 20] == 2 and codes[16, 5] == 0 and codes[2, 25] == 0
    labels, stats = LM.rasterize(DOC, 20, 30)  # training: guessed classes, every kind with an area
    assert stats == {"drawn": 4, "unknown_label": 0, "unsupported": 1}
    assert labels[7, 7] == LM.ARTERY and labels[9, 20] == LM.BACKGROUND  # "V" is no known name
    assert labels[16, 5] == LM.VESSEL
    same, _ = LM.rasterize(DOC, 20, 30, lm.name_code, kinds=ev.CLI_SHAPE_KINDS)
    assert np.array_equal(same, codes)
    bad = dict(DOC, shapes=[{"label": "artery", "points": [[1, "x"]]}])
    with pytest.raises(LM.LabelMeError, match="points"):
        LM.rasterize(bad, 20, 30)
    with pytest.raises(LM.LabelMeError, match="label"):
        LM.rasterize(dict(DOC, shapes=[{"points": []}]), 20, 30)


def test_load_labelme_with_a_label_map(tmp_path):
    img = (np.arange(20 * 30) % 251).astype(np.uint8).reshape(20, 30)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    doc = dict(DOC, imageData=base64.b64encode(buf.getvalue()).decode())
    p = tmp_path / "a.json"
    p.write_text(json.dumps(doc))
    grey, lab = LM.load_labelme(str(p), label_map="artery=1,vein=V,ignore=nerve|tendon")
    np.testing.assert_array_equal(grey, img.astype(np.float32))
    assert lab[7, 7] == LM.ARTERY and lab[9, 20] == LM.VEIN and lab[2, 25] == LM.IGNORE  # ignore -> 255
    assert lab[16, 5] == LM.VESSEL  # "vessel" is a class name, known without being in the map
    _, guessed = LM.load_labelme(str(p))
    assert guessed[9, 20] == LM.BACKGROUND and guessed[16, 5] == LM.VESSEL
