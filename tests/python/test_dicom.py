"""venseg.io.read_dicom (pydicom) on DICOM files written by DCMTK's tools and pydicom
(tests/python/dicom_fixtures.py, at test time, from examples/data): the frames equal their
source for the lossless syntaxes pydicom decodes (and are close for lossy JPEG), the header
gives spacing, frame rate and ROI with their sources as docs/dicom.md says, and bad or
unsupported files raise DicomError naming the file. That the venseg program decodes the same
frames and header is checked by the ctest cli_dicom (examples/venseg/tests/cli_dicom_test.sh).
Skipped without DCMTK's command-line tools (Debian: dcmtk) or pydicom.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pydicom")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicom_fixtures  # noqa: E402

from venseg.io import DicomError, read_dicom  # noqa: E402

pytestmark = pytest.mark.skipif(not dicom_fixtures.have_tools(), reason="DCMTK's tools (Debian: dcmtk) not installed")

# decoded by pydicom only with pylibjpeg or GDCM: spectral, progressive, lossless, SV1, JPEG-LS
PLUGIN_ONLY = {"1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55", "1.2.840.10008.1.2.4.57",
               "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80"}


def _have_plugin():
    for mod in ("pylibjpeg", "gdcm"):
        try:
            __import__(mod)
            return True
        except ImportError:
            pass
    return False


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return dicom_fixtures.make(str(tmp_path_factory.mktemp("dicom")))


def _entries(fx):
    return {e["name"]: e for e in fx["files"]}


def test_frames_equal_their_source(fx):
    seen = []
    for e in fx["files"]:
        if e["source"] is None:
            continue
        src = np.load(os.path.join(fx["dir"], e["source"]))
        try:
            frames, meta = read_dicom(e["path"])
        except DicomError as exc:
            assert e["transfer_syntax"] in PLUGIN_ONLY and not _have_plugin(), f"{e['name']}: {exc}"
            assert "unsupported DICOM" in str(exc) and e["name"] in str(exc)
            continue
        assert frames.dtype == np.uint8 and frames.shape == src.shape, (e["name"], frames.shape, src.shape)
        assert meta.frames == src.shape[0] and (meta.height, meta.width) == src.shape[1:3]
        assert meta.photometric == e["photometric"] and meta.transfer_syntax == e["transfer_syntax"]
        d = np.abs(frames.astype(int) - src)
        if e["lossless"]:
            assert d.max() == 0, e["name"]
        else:  # JPEG at quality 90/92; colour with 4:2:2 chroma
            assert d.mean() < 4, (e["name"], d.mean())
        seen.append(e["name"])
    # uncompressed (both VRs, big endian, deflate), RLE, JPEG baseline and extended at least
    for name in ("g_explicit.dcm", "g_implicit.dcm", "g_bigendian.dcm", "g_deflated.dcm", "g_rle.dcm",
                 "g_jpeg_baseline.dcm", "g_jpeg_extended.dcm", "c_rgb.dcm", "c_rgb_planar.dcm", "c_ybr_full.dcm",
                 "c_jpeg_baseline_ybr422.dcm", "mf_explicit.dcm", "mf_jpeg_baseline.dcm", "mf_rgb_jpeg_ybr422.dcm"):
        assert name in seen, name


def test_ybr_full_422_uncompressed_third_party():
    import pydicom
    from pydicom.pixel_data_handlers.util import convert_color_space

    path = os.path.join(dicom_fixtures.PYDICOM_FILES, "SC_ybr_full_422_uncompressed.dcm")
    if not os.path.exists(path):
        pytest.skip("pydicom's test files are not installed")
    frames, meta = read_dicom(path)
    ref = convert_color_space(pydicom.dcmread(path).pixel_array, "YBR_FULL", "RGB")
    assert meta.photometric == "YBR_FULL_422" and frames.shape == (1,) + ref.shape
    assert (frames[0] == ref).all()


def test_multiframe_header(fx):
    e = _entries(fx)
    frames, m = read_dicom(e["mf_explicit.dcm"]["path"])
    assert frames.shape[0] == m.frames == fx["clip_shape"][0]
    assert m.pixel_spacing_mm == pytest.approx((0.1, 0.15)) and m.pixel_spacing_source == "dicom:SequenceOfUltrasoundRegions"
    assert m.fps == pytest.approx(25.0) and m.frame_time_ms == pytest.approx(40.0) and m.fps_source == "dicom:FrameTime"
    assert list(m.roi) == e["mf_explicit.dcm"]["roi"] and m.roi_source == "dicom:SequenceOfUltrasoundRegions"
    assert m.modality == "US"
    _, c = read_dicom(e["mf_cinerate.dcm"]["path"])
    assert c.pixel_spacing_mm == pytest.approx((0.2, 0.3)) and c.pixel_spacing_source == "dicom:PixelSpacing"
    assert c.fps == pytest.approx(20.0) and c.fps_source == "dicom:CineRate" and c.frame_time_ms is None
    assert c.roi is None and c.roi_source == ""
    _, g = read_dicom(e["g_explicit.dcm"]["path"])
    assert g.pixel_spacing_mm is None and g.fps is None and g.roi is None and g.frames == 1


def test_deep_grey_through_the_window(fx):
    d = fx["dir"]
    frames, m = read_dicom(os.path.join(d, "g_12bit_window.dcm"))
    # 8-bit values x 16, window centre 2048 width 4096: back to the 8-bit values within one step
    src = np.load(os.path.join(d, "clip.npy"))[:1]
    assert m.grey_mapping == "dicom:WindowCenter/Width" and m.bits_stored == 12
    assert np.abs(frames.astype(int) - src).max() <= 1


@pytest.mark.parametrize("name, words", [
    ("bad_not_dicom.dcm", "bad DICOM"),
    ("bad_cut_pixels.dcm", "bad DICOM"),
    ("bad_cut_header.dcm", "bad DICOM"),
    ("bad_cut_jpeg.dcm", "DICOM"),
    ("bad_no_pixels.dcm", "no pixel data"),
    ("bad_12bit.dcm", "unsupported DICOM: 12-bit grey"),
    ("bad_jpeg_junk.dcm", "bad DICOM"),
])
def test_bad_files_raise_a_named_error(fx, name, words):
    path = os.path.join(fx["dir"], name)
    with pytest.raises(DicomError) as exc:
        read_dicom(path)
    assert words in str(exc.value) and name in str(exc.value)


def test_jpeg2000_and_missing():
    # the program's DCMTK has no JPEG 2000 decoder; pydicom reads it through Pillow's OpenJPEG
    # when present: 16-bit grey without a window, which venseg does not map to 8 bits
    path = os.path.join(dicom_fixtures.PYDICOM_FILES, "JPEG2000.dcm")
    if os.path.exists(path):
        with pytest.raises(DicomError, match="DICOM"):
            read_dicom(path)
    with pytest.raises(FileNotFoundError):
        read_dicom("/nonexistent/x.dcm")


def test_imports_neither_binding_nor_toolkit():
    code = ("import sys, venseg.io; bad = [m for m in ('venseg._native', 'venseg.toolkit', 'torch') if m in sys.modules];"
            "sys.exit(str(bad) if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert r.returncode == 0, r.stdout + r.stderr


# Real ultrasound files from PyPI's pydicom-data (MIT licence; installed by tests/ci/setup.sh):
# a GE LOGIQ RGB frame, an ALOKA 16-bit PALETTE COLOR frame with segmented lookup tables and a
# Sequence of Ultrasound Regions, and the GE frame as JPEG 2000.
def _real(name):
    try:
        from pydicom.data import get_testdata_file
        path = get_testdata_file(name)
    except Exception:  # pydicom-data missing: get_testdata_file finds nothing or raises
        path = None
    if not path or not os.path.exists(path):
        pytest.skip(f"{name}: pydicom-data (PyPI) is not installed")
    return path


def _segment(path, tmp_path):
    cli = os.environ.get("VENSEG_CLI")
    if not cli:
        pytest.skip("VENSEG_CLI is not set (the venseg program of this build)")
    model = os.path.join(os.path.dirname(__file__), "..", "data", "tiny_plain_unet.vseg")
    return subprocess.run([cli, "segment", "--model", model, "-q", "--out", str(tmp_path / "out"), path],
                          capture_output=True, text=True)


def test_real_ge_ultrasound_rgb(tmp_path):
    import json

    import pydicom

    path = _real("US1_UNCR.dcm")
    frames, meta = read_dicom(path)
    assert meta.modality == "US" and meta.photometric == "RGB" and frames.shape == (1, 480, 640, 3)
    assert (frames[0] == pydicom.dcmread(path).pixel_array).all()
    r = _segment(path, tmp_path)
    assert r.returncode == 0, r.stderr
    seg = json.load(open(tmp_path / "out" / "segment.json"))
    image = seg["images"][0]
    assert (image["photometric"], image["width"], image["height"]) == ("RGB", 640, 480)
    assert image["transfer_syntax"] == "Little Endian Explicit"


def test_real_aloka_palette_ultrasound(tmp_path):
    import pydicom
    from pydicom.pixel_data_handlers.util import apply_color_lut

    path = _real("gdcm-US-ALOKA-16.dcm")
    frames, meta = read_dicom(path)
    ds = pydicom.dcmread(path)
    ref = apply_color_lut(ds.pixel_array, ds)
    assert meta.photometric == "PALETTE COLOR" and frames.shape == (1, 480, 640, 3)
    # 16-bit palette entries scaled to 8 bits
    assert np.abs(frames[0].astype(int) - (ref >> 8)).max() <= 1
    region = ds.SequenceOfUltrasoundRegions[0]
    assert meta.pixel_spacing_source == "dicom:SequenceOfUltrasoundRegions"
    assert np.isclose(meta.pixel_spacing_mm[0], region.PhysicalDeltaX * 10)
    assert meta.roi is not None and meta.roi_source == "dicom:SequenceOfUltrasoundRegions"
    # the program reads DICOM through DCMTK, whose image module has no segmented palettes
    r = _segment(path, tmp_path)
    assert r.returncode == 4 and "unsupported DICOM" in r.stderr and "segmented lookup tables" in r.stderr


def test_real_jpeg2000_ultrasound_is_refused_by_name(tmp_path):
    path = _real("US1_J2KR.dcm")
    with pytest.raises(DicomError, match="unsupported DICOM"):
        read_dicom(path)
    r = _segment(path, tmp_path)
    assert r.returncode == 4 and "unsupported DICOM" in r.stderr and "JPEG 2000" in r.stderr
