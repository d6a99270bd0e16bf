"""DICOM test files, written by tools independent of venseg, from committed sample frames.

    python3 tests/python/dicom_fixtures.py OUT_DIR [FRAMES_DIR]

writes into OUT_DIR the files below and OUT_DIR/manifest.json, which says for each file its
transfer syntax, photometric interpretation, frame count, the source frames (an .npy of
frames x height x width [x 3] uint8) and whether the syntax is lossless (the decoded pixels
must equal the source) or lossy (within a tolerance). Used by examples/venseg/tests/
cli_dicom_test.sh (the venseg program) and tests/python/test_dicom.py (venseg.io.read_dicom).

Single frames come from examples/data/groin_sample_227.png (grey, 515x272) and a colour
image made from it: DCMTK's command-line tools write them (img2dcm from BMP or JPEG made by
Pillow; dcmconv for implicit VR, big endian and deflate; dcmcjpeg for JPEG baseline,
extended, spectral selection, progressive, lossless and lossless SV1; dcmcrle for RLE;
dcmcjpls for JPEG-LS; dcmdjpeg +cn for uncompressed YBR_FULL). Multi-frame files are
assembled by pydicom from FRAMES_DIR (PNG frames) or, without it, from 16 windows sliding
across the sample: an ultrasound multi-frame with a Sequence of Ultrasound
Regions and FrameTime, its JPEG baseline and RGB / YBR_FULL_422 JPEG versions, one with
CineRate and PixelSpacing only. Bad files: not DICOM, cut short, JPEG 2000, no pixel data,
12-bit grey without a window, a damaged JPEG stream.

pydicom's own test files (Debian python3-pydicom, pydicom/data/test_files; MIT licence, see
that folder's README.txt for their sources) are used where present: an uncompressed
YBR_FULL_422 file (SC_ybr_full_422_uncompressed.dcm) and a JPEG 2000 one (JPEG2000.dcm).
No real ultrasound DICOM ships in a Debian or installed PyPI package here (pydicom-data on
PyPI has US files but is a large download, not installed); the multi-frame files carry the
ultrasound attributes that matter (Modality US, US Multi-frame SOP class, regions).
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SAMPLE = os.path.join(ROOT, "examples", "data", "groin_sample_227.png")
PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
US_MULTIFRAME_SOP = "1.2.840.10008.5.1.4.1.1.3.1"
TOOLS = ("img2dcm", "dcmconv", "dcmcjpeg", "dcmdjpeg", "dcmcrle", "dcmcjpls")

# the multi-frame clip's header: 0.1 mm pixels (PhysicalDeltaX/Y 0.01 cm), 25 frames/s, a
# region inset from the frame's edges (its bounds are the default ROI)
MF_DELTA_CM = 0.01
MF_FRAME_TIME_MS = 40.0


def have_tools():
    return all(shutil.which(t) for t in TOOLS)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def colour_of(grey):
    """A colour image from a grey one: smooth hues, so lossy JPEG stays close."""
    h, w = grey.shape
    ramp = np.tile(np.linspace(0, 255, w), (h, 1))
    g = grey.astype(np.float64)
    rgb = np.stack([g, 0.5 * g + 0.5 * ramp, 255 - g], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def clip_frames(grey, frames_dir=None):
    """The clip: PNG frames from frames_dir, else 16 windows of 320x240 px sliding 8 px a frame
    across the sample (real B-mode texture, vessels the test model finds)."""
    if frames_dir:
        names = sorted(n for n in glob.glob(os.path.join(frames_dir, "*.png")) if not n.endswith("_label.png"))
        return np.stack([np.asarray(Image.open(n).convert("L")) for n in names])
    return np.stack([grey[16:256, 8 * k:8 * k + 320] for k in range(16)])


def new_dataset(path, frames, photometric, planar=0, sop=US_MULTIFRAME_SOP):
    """An Explicit VR Little Endian file of uint8 frames (t, h, w[, 3]) written by pydicom."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.PatientName, ds.PatientID = "Phantom^Venseg", "VS0001"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    t, h, w = frames.shape[:3]
    ds.Rows, ds.Columns = h, w
    ds.NumberOfFrames = t
    ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1063)
    ds.SamplesPerPixel = 1 if frames.ndim == 3 else 3
    ds.PhotometricInterpretation = photometric
    if frames.ndim == 4:
        ds.PlanarConfiguration = planar
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    data = frames
    if frames.ndim == 4 and planar == 1:
        data = np.ascontiguousarray(frames.transpose(0, 3, 1, 2))
    ds.PixelData = data.tobytes()
    return ds


def add_regions(ds, box):
    x0, y0, x1, y1 = box
    doppler = Dataset()  # a spectral region first: its units are not cm, so it is not the one
    doppler.RegionSpatialFormat, doppler.RegionDataType, doppler.RegionFlags = 3, 3, 0
    doppler.RegionLocationMinX0, doppler.RegionLocationMinY0 = 0, 0
    doppler.RegionLocationMaxX1, doppler.RegionLocationMaxY1 = 5, 5
    doppler.PhysicalUnitsXDirection, doppler.PhysicalUnitsYDirection = 4, 7  # seconds, cm/s
    doppler.PhysicalDeltaX, doppler.PhysicalDeltaY = 0.005, 1.0
    tissue = Dataset()
    tissue.RegionSpatialFormat, tissue.RegionDataType, tissue.RegionFlags = 1, 1, 0
    tissue.RegionLocationMinX0, tissue.RegionLocationMinY0 = x0, y0
    tissue.RegionLocationMaxX1, tissue.RegionLocationMaxY1 = x1, y1
    tissue.PhysicalUnitsXDirection, tissue.PhysicalUnitsYDirection = 3, 3  # cm
    tissue.PhysicalDeltaX, tissue.PhysicalDeltaY = MF_DELTA_CM, MF_DELTA_CM * 1.5
    ds.SequenceOfUltrasoundRegions = Sequence([doppler, tissue])


def make(out, frames_dir=None):
    os.makedirs(out, exist_ok=True)
    entries = []

    def add(name, syntax_uid, photometric, source, lossless, **extra):
        e = dict(name=name, path=os.path.join(out, name), transfer_syntax=syntax_uid, photometric=photometric,
                 source=source, lossless=lossless)
        e.update(extra)
        entries.append(e)

    grey = np.asarray(Image.open(SAMPLE).convert("L"))
    colour = colour_of(grey)
    np.save(os.path.join(out, "grey.npy"), grey[None])
    np.save(os.path.join(out, "colour.npy"), colour[None])
    Image.fromarray(grey).save(os.path.join(out, "grey.bmp"))
    Image.fromarray(colour).save(os.path.join(out, "colour.bmp"))
    p = lambda n: os.path.join(out, n)  # noqa: E731

    # ---- single frames by DCMTK's tools
    run("img2dcm", "-q", "-i", "BMP", p("grey.bmp"), p("g_explicit.dcm"))
    add("g_explicit.dcm", "1.2.840.10008.1.2.1", "MONOCHROME2", "grey.npy", True)
    run("dcmconv", "-q", "+ti", p("g_explicit.dcm"), p("g_implicit.dcm"))
    add("g_implicit.dcm", "1.2.840.10008.1.2", "MONOCHROME2", "grey.npy", True)
    run("dcmconv", "-q", "+tb", p("g_explicit.dcm"), p("g_bigendian.dcm"))
    add("g_bigendian.dcm", "1.2.840.10008.1.2.2", "MONOCHROME2", "grey.npy", True)
    run("dcmconv", "-q", "+td", p("g_explicit.dcm"), p("g_deflated.dcm"))
    add("g_deflated.dcm", "1.2.840.10008.1.2.1.99", "MONOCHROME2", "grey.npy", True)
    for flag, name, uid, lossless in (
        ("+eb", "g_jpeg_baseline.dcm", "1.2.840.10008.1.2.4.50", False),
        ("+ee", "g_jpeg_extended.dcm", "1.2.840.10008.1.2.4.51", False),
        ("+es", "g_jpeg_spectral.dcm", "1.2.840.10008.1.2.4.53", False),
        ("+ep", "g_jpeg_progressive.dcm", "1.2.840.10008.1.2.4.55", False),
        ("+el", "g_jpeg_lossless.dcm", "1.2.840.10008.1.2.4.57", True),
        ("+e1", "g_jpeg_lossless_sv1.dcm", "1.2.840.10008.1.2.4.70", True),
    ):
        run("dcmcjpeg", "-q", flag, p("g_explicit.dcm"), p(name))
        add(name, uid, "MONOCHROME2", "grey.npy", lossless)
    # JPEG from Pillow, wrapped by img2dcm as is (the stream is Pillow's, not DCMTK's)
    Image.fromarray(grey).save(p("grey.jpg"), quality=92)
    run("img2dcm", "-q", p("grey.jpg"), p("g_img2dcm_jpeg.dcm"))
    add("g_img2dcm_jpeg.dcm", "1.2.840.10008.1.2.4.50", "MONOCHROME2", "grey.npy", False)
    run("dcmcrle", "-q", p("g_explicit.dcm"), p("g_rle.dcm"))
    add("g_rle.dcm", "1.2.840.10008.1.2.5", "MONOCHROME2", "grey.npy", True)
    run("dcmcjpls", "-q", p("g_explicit.dcm"), p("g_jpegls.dcm"))
    add("g_jpegls.dcm", "1.2.840.10008.1.2.4.80", "MONOCHROME2", "grey.npy", True)

    run("img2dcm", "-q", "-i", "BMP", p("colour.bmp"), p("c_rgb.dcm"))
    add("c_rgb.dcm", "1.2.840.10008.1.2.1", "RGB", "colour.npy", True)
    run("dcmcjpeg", "-q", "+eb", p("c_rgb.dcm"), p("c_jpeg_baseline_ybr422.dcm"))
    add("c_jpeg_baseline_ybr422.dcm", "1.2.840.10008.1.2.4.50", "YBR_FULL_422", "colour.npy", False)
    run("dcmcjpeg", "-q", "+el", p("c_rgb.dcm"), p("c_jpeg_lossless.dcm"))
    add("c_jpeg_lossless.dcm", "1.2.840.10008.1.2.4.57", "RGB", "colour.npy", True)
    run("dcmcrle", "-q", p("c_rgb.dcm"), p("c_rle.dcm"))
    add("c_rle.dcm", "1.2.840.10008.1.2.5", "RGB", "colour.npy", True)
    # the baseline JPEG decompressed without the colour conversion: uncompressed YBR_FULL
    run("dcmdjpeg", "-q", "+cn", p("c_jpeg_baseline_ybr422.dcm"), p("c_ybr_full.dcm"))
    add("c_ybr_full.dcm", "1.2.840.10008.1.2.1", "YBR_FULL", "colour.npy", False)
    planar = new_dataset(p("c_rgb_planar.dcm"), colour[None], "RGB", planar=1,
                         sop="1.2.840.10008.5.1.4.1.1.7")
    planar.save_as(p("c_rgb_planar.dcm"), write_like_original=False)
    add("c_rgb_planar.dcm", "1.2.840.10008.1.2.1", "RGB", "colour.npy", True)
    ybr422 = os.path.join(PYDICOM_FILES, "SC_ybr_full_422_uncompressed.dcm")
    if os.path.exists(ybr422):  # a third party's file: the reference is pydicom's own conversion
        add("SC_ybr_full_422_uncompressed.dcm", "1.2.840.10008.1.2.1", "YBR_FULL_422", None, False)
        entries[-1]["path"] = ybr422

    # ---- multi-frame clips assembled by pydicom
    clip = clip_frames(grey, frames_dir)
    t, h, w = clip.shape
    np.save(p("clip.npy"), clip)
    np.save(p("clip_rgb.npy"), np.repeat(clip[..., None], 3, axis=-1))
    box = (4, 6, w - 9, h - 5)  # inclusive bounds
    roi = [box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1]
    meta = dict(frames=t, spacing_mm=[MF_DELTA_CM * 10, MF_DELTA_CM * 15], spacing_source="dicom:SequenceOfUltrasoundRegions",
                fps=1000.0 / MF_FRAME_TIME_MS, fps_source="dicom:FrameTime", roi=roi, roi_source="dicom:SequenceOfUltrasoundRegions")
    ds = new_dataset(p("mf_explicit.dcm"), clip, "MONOCHROME2")
    add_regions(ds, box)
    ds.FrameTime = MF_FRAME_TIME_MS
    ds.CineRate = 99  # FrameTime comes first
    ds.save_as(p("mf_explicit.dcm"), write_like_original=False)
    add("mf_explicit.dcm", "1.2.840.10008.1.2.1", "MONOCHROME2", "clip.npy", True, **meta)
    run("dcmcjpeg", "-q", "+eb", p("mf_explicit.dcm"), p("mf_jpeg_baseline.dcm"))
    add("mf_jpeg_baseline.dcm", "1.2.840.10008.1.2.4.50", "MONOCHROME2", "clip.npy", False, **meta)
    run("dcmcjpeg", "-q", "+e1", p("mf_explicit.dcm"), p("mf_jpeg_lossless_sv1.dcm"))
    add("mf_jpeg_lossless_sv1.dcm", "1.2.840.10008.1.2.4.70", "MONOCHROME2", "clip.npy", True, **meta)
    ds = new_dataset(p("mf_rgb.dcm"), np.repeat(clip[..., None], 3, axis=-1), "RGB")
    add_regions(ds, box)
    ds.FrameTime = MF_FRAME_TIME_MS
    ds.save_as(p("mf_rgb.dcm"), write_like_original=False)
    add("mf_rgb.dcm", "1.2.840.10008.1.2.1", "RGB", "clip_rgb.npy", True, **meta)
    run("dcmcjpeg", "-q", "+eb", p("mf_rgb.dcm"), p("mf_rgb_jpeg_ybr422.dcm"))
    add("mf_rgb_jpeg_ybr422.dcm", "1.2.840.10008.1.2.4.50", "YBR_FULL_422", "clip_rgb.npy", False, **meta)
    # MONOCHROME1: the stored values are the source inverted, so the frames read as the source
    ds = new_dataset(p("mf_monochrome1.dcm"), 255 - clip, "MONOCHROME1")
    add_regions(ds, box)
    ds.FrameTime = MF_FRAME_TIME_MS
    ds.save_as(p("mf_monochrome1.dcm"), write_like_original=False)
    add("mf_monochrome1.dcm", "1.2.840.10008.1.2.1", "MONOCHROME1", "clip.npy", True, **meta)
    ds = new_dataset(p("mf_cinerate.dcm"), clip, "MONOCHROME2")
    ds.CineRate = 20
    ds.PixelSpacing = [0.3, 0.2]  # row spacing (y), column spacing (x)
    del ds.FrameIncrementPointer
    ds.save_as(p("mf_cinerate.dcm"), write_like_original=False)
    add("mf_cinerate.dcm", "1.2.840.10008.1.2.1", "MONOCHROME2", "clip.npy", True, frames=t, spacing_mm=[0.2, 0.3],
        spacing_source="dicom:PixelSpacing", fps=20.0, fps_source="dicom:CineRate", roi=None, roi_source="")
    frames_dir = p("clip_frames")
    os.makedirs(frames_dir, exist_ok=True)
    for k in range(t):  # the same clip as PNG frames, and as single-frame DICOM files
        Image.fromarray(clip[k]).save(os.path.join(frames_dir, f"frame-{k:04d}.png"))
    dcm_dir = p("clip_dcm_frames")
    os.makedirs(dcm_dir, exist_ok=True)
    for k in range(t):
        one = new_dataset("", clip[k:k + 1], "MONOCHROME2")
        add_regions(one, box)
        one.FrameTime = MF_FRAME_TIME_MS
        one.save_as(os.path.join(dcm_dir, f"frame-{k:04d}.dcm"), write_like_original=False)

    # ---- bad files: each with the words its error must contain
    bad = []
    with open(p("bad_not_dicom.dcm"), "w") as f:
        f.write("this is a text file named .dcm\n" * 20)
    bad.append(dict(name="bad_not_dicom.dcm", error="bad DICOM"))
    for src, name, keep in (("mf_explicit.dcm", "bad_cut_pixels.dcm", 0.6), ("g_explicit.dcm", "bad_cut_header.dcm", None),
                            ("mf_jpeg_baseline.dcm", "bad_cut_jpeg.dcm", 0.5)):
        data = open(p(src), "rb").read()
        n = 300 if keep is None else int(len(data) * keep)
        open(p(name), "wb").write(data[:n])
        bad.append(dict(name=name, error="bad DICOM"))
    j2k = os.path.join(PYDICOM_FILES, "JPEG2000.dcm")
    if os.path.exists(j2k):
        shutil.copy(j2k, p("bad_jpeg2000.dcm"))
        bad.append(dict(name="bad_jpeg2000.dcm", error="unsupported DICOM"))
    nopix = new_dataset(p("bad_no_pixels.dcm"), clip[:1], "MONOCHROME2")
    del nopix.PixelData
    nopix.save_as(p("bad_no_pixels.dcm"), write_like_original=False)
    bad.append(dict(name="bad_no_pixels.dcm", error="no pixel data"))
    deep = new_dataset(p("bad_12bit.dcm"), clip[:1], "MONOCHROME2")
    deep.BitsAllocated, deep.BitsStored, deep.HighBit = 16, 12, 11
    deep.PixelData = (clip[:1].astype(np.uint16) * 16).tobytes()
    deep.save_as(p("bad_12bit.dcm"), write_like_original=False)
    bad.append(dict(name="bad_12bit.dcm", error="unsupported DICOM"))
    # the 12-bit file with a window is fine: grey through the window
    deep.WindowCenter, deep.WindowWidth = 2048, 4096
    deep.save_as(p("g_12bit_window.dcm"), write_like_original=False)
    # a JPEG whose entropy-coded data is overwritten with junk past its headers
    data = bytearray(open(p("g_jpeg_baseline.dcm"), "rb").read())
    sos = data.rfind(b"\xff\xda")
    for i in range(sos + 40, len(data) - 40):
        data[i] = 0xFF if i % 7 == 0 else (i * 13) & 0xFF
    open(p("bad_jpeg_junk.dcm"), "wb").write(bytes(data))
    bad.append(dict(name="bad_jpeg_junk.dcm", error="DICOM"))
    for b in bad:
        b["path"] = p(b["name"])

    manifest = dict(dir=out, files=entries, bad=bad, clip_frames=frames_dir, clip_dcm_frames=dcm_dir, clip_shape=[t, h, w])
    with open(p("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    if not have_tools():
        sys.exit("dicom_fixtures: DCMTK's tools (%s) are missing (Debian: dcmtk)" % ", ".join(TOOLS))
    make(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
