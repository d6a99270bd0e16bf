"""Reading clips into numpy for venseg: DICOM through pydicom.

``read_dicom(path)`` returns the frames of a DICOM file (single or multi-frame) as uint8
numpy, frames first: ``(frames, height, width)`` for grey, ``(frames, height, width, 3)``
for colour (RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR, converted to RGB), and the header
venseg uses (``DicomMeta``): pixel spacing in mm with its source, frame rate and frame time,
the ultrasound region as ROI. It follows the venseg program's rules (docs/dicom.md), so that
both read a file alike:

* pixel spacing: the Sequence of Ultrasound Regions (0018,6011): of the regions with
  PhysicalUnitsX/YDirection 3 (cm) and PhysicalDeltaX/Y > 0, a 2D one (RegionSpatialFormat
  1) before others, the largest first; mm = delta x 10; its bounds (inclusive, clipped to
  the frame) are the ROI. Else PixelSpacing (0028,0030) (row spacing first: y, then x).
* frame rate: FrameTime (0018,1063, ms), else CineRate (0018,0040), else
  RecommendedDisplayFrameRate (0008,2144).
* grey up to 8 bits stored: the stored values (MONOCHROME1 inverted); deeper grey through
  the file's first VOI window or VOI LUT (pydicom's apply_voi_lut), scaled to 0..255, else
  an error.

Compressed syntaxes are decoded by pydicom's handlers: Pillow for JPEG baseline and
extended (and JPEG 2000, which the venseg program's DCMTK cannot decode), pydicom's own RLE
decoder; JPEG lossless, spectral/progressive and JPEG-LS need pylibjpeg or GDCM, and without
them raise DicomError ("unsupported DICOM"). This module imports pydicom and numpy only
(not the compiled binding, nor venseg.toolkit).
"""

import dataclasses
import os
from typing import Optional, Tuple

__all__ = ["DicomError", "DicomMeta", "read_dicom"]

BAD = "bad DICOM"
UNSUPPORTED = "unsupported DICOM"


class DicomError(ValueError):
    """A file that is not DICOM, damaged or cut short ("bad DICOM: ..."), or one venseg does
    not turn into 8-bit frames ("unsupported DICOM: ..."); the message names the file."""


@dataclasses.dataclass
class DicomMeta:
    width: int
    height: int
    frames: int
    photometric: str
    transfer_syntax: str  # the UID
    transfer_syntax_name: str
    modality: str = ""
    bits_stored: int = 8
    pixel_spacing_mm: Optional[Tuple[float, float]] = None  # (x, y): along a row, down a column
    pixel_spacing_source: str = ""  # "dicom:SequenceOfUltrasoundRegions", "dicom:PixelSpacing", ""
    fps: Optional[float] = None
    fps_source: str = ""  # "dicom:FrameTime", "dicom:CineRate", "dicom:RecommendedDisplayFrameRate", ""
    frame_time_ms: Optional[float] = None
    roi: Optional[Tuple[int, int, int, int]] = None  # x, y, w, h of the ultrasound region
    roi_source: str = ""
    grey_mapping: str = ""  # deeper grey: "dicom:WindowCenter/Width" or "dicom:VOILUTSequence"


def _region(ds, width, height):
    best, best_score = None, -1.0
    for it in getattr(ds, "SequenceOfUltrasoundRegions", None) or []:
        try:
            ux, uy = int(it.PhysicalUnitsXDirection), int(it.PhysicalUnitsYDirection)
            dx, dy = float(it.PhysicalDeltaX), float(it.PhysicalDeltaY)
        except (AttributeError, TypeError, ValueError):
            continue
        if ux != 3 or uy != 3 or not dx > 0 or not dy > 0:  # 3: cm; others are time, velocity, ...
            continue
        box = None
        try:
            x0, y0 = int(it.RegionLocationMinX0), int(it.RegionLocationMinY0)
            x1, y1 = int(it.RegionLocationMaxX1), int(it.RegionLocationMaxY1)
            if x1 >= x0 and y1 >= y0 and x0 < width and y0 < height:
                x1, y1 = min(x1, width - 1), min(y1, height - 1)
                box = (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
        except (AttributeError, TypeError, ValueError):
            pass
        area = box[2] * box[3] if box else 0
        score = (1e12 if getattr(it, "RegionSpatialFormat", None) == 1 else 0) + area
        if score > best_score:
            best, best_score = ((dx * 10.0, dy * 10.0), box), score
    return best


def _number(ds, keyword):
    try:
        v = float(getattr(ds, keyword))
    except (AttributeError, TypeError, ValueError):
        return None
    return v if v > 0 else None


def _meta(ds, path):
    from pydicom.uid import UID

    meta = getattr(ds, "file_meta", None)
    uid = str(getattr(meta, "TransferSyntaxUID", "") or "")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        photometric = str(ds.PhotometricInterpretation)
        bits_alloc = int(ds.BitsAllocated)
    except (AttributeError, TypeError, ValueError) as exc:
        raise DicomError(f"{path}: {BAD}: an image without Rows, Columns, BitsAllocated or "
                         f"PhotometricInterpretation ({exc})") from None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if rows < 1 or cols < 1 or frames < 1:
        raise DicomError(f"{path}: {BAD}: {cols}x{rows} px, {frames} frames")
    m = DicomMeta(width=cols, height=rows, frames=frames, photometric=photometric, transfer_syntax=uid,
                  transfer_syntax_name=UID(uid).name if uid else "", modality=str(getattr(ds, "Modality", "") or ""),
                  bits_stored=int(getattr(ds, "BitsStored", bits_alloc) or bits_alloc))
    region = _region(ds, cols, rows)
    if region:
        m.pixel_spacing_mm, m.pixel_spacing_source = region[0], "dicom:SequenceOfUltrasoundRegions"
        if region[1]:
            m.roi, m.roi_source = region[1], "dicom:SequenceOfUltrasoundRegions"
    else:
        ps = getattr(ds, "PixelSpacing", None)
        try:
            if ps is not None and len(ps) == 2 and float(ps[0]) > 0 and float(ps[1]) > 0:
                m.pixel_spacing_mm, m.pixel_spacing_source = (float(ps[1]), float(ps[0])), "dicom:PixelSpacing"
        except (TypeError, ValueError):
            pass
    ft = _number(ds, "FrameTime")
    if ft:
        m.frame_time_ms, m.fps, m.fps_source = ft, 1000.0 / ft, "dicom:FrameTime"
    elif _number(ds, "CineRate"):
        m.fps, m.fps_source = _number(ds, "CineRate"), "dicom:CineRate"
    elif _number(ds, "RecommendedDisplayFrameRate"):
        m.fps, m.fps_source = _number(ds, "RecommendedDisplayFrameRate"), "dicom:RecommendedDisplayFrameRate"
    return m


def _to_uint8(ds, arr, m, path):
    import numpy as np
    from pydicom.pixel_data_handlers.util import apply_color_lut, apply_voi_lut, convert_color_space

    pi = m.photometric
    if int(getattr(ds, "SamplesPerPixel", 1)) == 1 and pi in ("MONOCHROME1", "MONOCHROME2"):
        if m.bits_stored <= 8:
            out = arr.astype(np.uint8)
        else:
            if "WindowCenter" in ds and "WindowWidth" in ds:
                m.grey_mapping = "dicom:WindowCenter/Width"
            elif "VOILUTSequence" in ds:
                m.grey_mapping = "dicom:VOILUTSequence"
            else:
                raise DicomError(f"{path}: {UNSUPPORTED}: {m.bits_stored}-bit grey without a VOI window or VOI LUT: "
                                 "venseg reads grey of up to 8 bits, deeper grey only through the file's own window")
            top = float(2 ** m.bits_stored - 1)
            v = apply_voi_lut(arr, ds, index=0).astype(np.float64)
            out = np.clip(np.rint(v * 255.0 / top), 0, 255).astype(np.uint8)
        return 255 - out if pi == "MONOCHROME1" else out
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return (rgb >> 8).astype(np.uint8) if rgb.dtype != np.uint8 else rgb
    if arr.ndim < 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise DicomError(f"{path}: {UNSUPPORTED}: {pi} pixels of {m.bits_stored} bits, "
                         f"{getattr(ds, 'SamplesPerPixel', '?')} samples")
    if pi == "RGB":
        return arr
    if pi in ("YBR_FULL", "YBR_FULL_422"):
        # pydicom's handlers give YBR_FULL_422 back as full-resolution YBR (uncompressed data is
        # upsampled, Pillow is asked for YCbCr); the conversion is pydicom's
        return convert_color_space(arr, "YBR_FULL", "RGB", per_frame=arr.ndim == 4)
    raise DicomError(f"{path}: {UNSUPPORTED}: photometric interpretation {pi} (pydicom converts RGB, YBR_FULL, "
                     "YBR_FULL_422 and PALETTE COLOR)")


def read_dicom(path):
    """The frames of a DICOM file and its header: ``(frames, DicomMeta)``.

    frames: uint8, ``(n, h, w)`` grey or ``(n, h, w, 3)`` RGB, frames first (a single-frame file
    gives n = 1). Raises DicomError for a file that is not DICOM, damaged, cut short or not
    decodable here, and FileNotFoundError for a missing one.
    """
    import numpy as np
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    try:
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            # a bare data set (no preamble, no "DICM") named .dcm, as the venseg program reads it
            if not path.lower().endswith((".dcm", ".dicom")):
                raise
            ds = pydicom.dcmread(path, force=True)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DicomError(f"{path}: {BAD}: pydicom cannot read it ({type(exc).__name__}: {exc})") from None
    if "PixelData" not in ds:
        raise DicomError(f"{path}: {BAD}: no pixel data (7FE0,0010)"
                         + (f"; modality {ds.Modality}" if "Modality" in ds else "") + ": not an image")
    m = _meta(ds, path)
    px = ds["PixelData"]
    if m.transfer_syntax == "1.2.840.10008.1.2.2" and int(ds.BitsAllocated) == 8 and px.VR == "OW":
        # 8-bit pixels in Explicit VR Big Endian come as 16-bit words (OW), byte-swapped on disk;
        # pydicom 2.3 hands back the swapped bytes
        b = bytes(px.value)
        even = len(b) - len(b) % 2
        ds.PixelData = np.frombuffer(b[:even], ">u2").astype("<u2").tobytes() + b[even:]
        ds["PixelData"].VR = "OB"
    try:
        arr = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        raise DicomError(f"{path}: {UNSUPPORTED}: transfer syntax {m.transfer_syntax_name} ({m.transfer_syntax}): "
                         f"pydicom has no decoder for it here ({exc})") from None
    except Exception as exc:  # the handlers raise what their libraries raise on damaged data
        raise DicomError(f"{path}: {BAD}: the pixel data cannot be decoded ({type(exc).__name__}: {exc}): "
                         "damaged or cut short") from None
    # frames first, whatever the handler returned for one frame
    colour = int(getattr(ds, "SamplesPerPixel", 1)) == 3
    if m.frames == 1 and arr.ndim == (3 if colour else 2):
        arr = arr[None]
    frames = _to_uint8(ds, arr, m, path)
    expect = (m.frames, m.height, m.width)
    if frames.shape[:3] != expect:
        raise DicomError(f"{path}: {BAD}: decoded {frames.shape}, the header says {expect}")
    return np.ascontiguousarray(frames), m
