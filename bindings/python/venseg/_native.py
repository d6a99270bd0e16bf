"""cffi binding of libvenseg (venseg.h, venseg_tracking.h, venseg_experimental.h).

    import venseg
    model = venseg.Model("weights/resunet34.vseg")
    with venseg.Session(model, threads=2, backend="reference") as s:
        mask = s.segment(frame)              # uint8 HxW; frame uint8 HxW / HxWx3, uint16, float32
        for inst in s.instances:             # connected vessel regions of that frame
            print(model.class_names[inst.label - 1], inst.area_px)

numpy arrays go in and out without copies where their layout allows (rows may be
strided; pixels within a row must be packed). Every failing call raises
``VensegError`` carrying the status name and libvenseg's detail message. The GIL is
released inside every library call, so sessions in different threads run in parallel.

Enums (``Backend``, ``Precision``, ``Option``, ``PixelFormat``, ``Verdict``, ``Flag``, ...)
take their names and values from the headers through cffi; wherever an enum is
expected, its short name as a string ("onednn", "bf16", "two_point") or an int works too.
"""

from __future__ import annotations

import enum
import os
from dataclasses import fields as _fields, make_dataclass, replace as _replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from ._venseg_cffi import ffi, lib as _lib

__all__ = [
    "VensegError", "Options", "Model", "Session", "Calibration", "TrackerConfig", "Tracker", "Exam",
    "PhantomConfig", "Phantom", "library", "version", "version_number", "build_info", "status_name",
    "last_error", "option_bounds", "option_bounds_default", "DEFAULT_PRECISION", "DEFAULT_TRACK_SIZE", "track_size_for", "verdict_name", "flag_name", "flag_names",
    "exam_outcome_name", "identity_name", "medial_side_name",
    "overlap_counts", "overlap_counts_prob", "dice", "jaccard", "ssim", "surface_distance", "compressibility",
    "label_bit", "Status", "Backend", "Precision", "Option", "PixelFormat", "EmptyRule", "SsimWindow",
    "TrackerKey", "Verdict", "Flag", "VesselIdentity", "MedialSide", "AreaUnit", "ExamProtocol", "ExamOutcome",
    "Thrombus", "PhantomKey",
    "Instance", "TrackFrame", "TrackedInstance", "TrackSummary", "Vessel", "PushResult", "ExamSite",
    "ExamReport",
    "PhantomTruth",
    "TensorInfo", "EMPTY_NAN", "EMPTY_MONAI", "EMPTY_SMOOTH", "SSIM_UNIFORM", "SSIM_GAUSSIAN",
    "SITE_COMMON_FEMORAL", "SITE_FEMORAL", "SITE_POPLITEAL", "EXPERIMENTAL_OPTIONS", "INFORMATIONAL_FLAGS",
]


# ------------------------------------------------------------------ enums (from the headers)

class _NamedIntEnum(enum.IntEnum):
    """An IntEnum that prints by name, Verdict.COMPRESSIBLE, as before Python 3.11 (which made
    str() and print() of an IntEnum its number); it still equals and formats ({:d}) as the int."""
    __str__ = enum.Enum.__str__


class _NamedIntFlag(enum.IntFlag):
    """An IntFlag that prints by name, Flag.NO_RELEASE|SPACING_UNKNOWN (see _NamedIntEnum)."""
    __str__ = enum.Flag.__str__


def _enum(ctype: str, prefix: str, cls_name: str, base=_NamedIntEnum):
    values = {k[len(prefix):]: v for k, v in ffi.typeof(ctype).relements.items() if k.startswith(prefix)}
    return base(cls_name, sorted(values.items(), key=lambda kv: kv[1]), module=__name__)


Status = _enum("venseg_status", "VENSEG_", "Status")
Backend = _enum("venseg_backend", "VENSEG_BACKEND_", "Backend")
Precision = _enum("venseg_precision", "VENSEG_PRECISION_", "Precision")
Option = _enum("venseg_option", "VENSEG_OPT_", "Option")
PixelFormat = _enum("venseg_pixel_format", "VENSEG_PIXEL_", "PixelFormat")
EmptyRule = _enum("venseg_empty_rule", "VENSEG_EMPTY_", "EmptyRule")
SsimWindow = _enum("venseg_ssim_window", "VENSEG_SSIM_", "SsimWindow")
TrackerKey = _enum("venseg_tracker_key", "VENSEG_TRACKER_", "TrackerKey")
Verdict = _enum("venseg_verdict", "VENSEG_VERDICT_", "Verdict")
VesselIdentity = _enum("venseg_vessel_identity", "VENSEG_IDENTITY_", "VesselIdentity")
#: VENSEG_TRACKER_MEDIAL_SIDE values (the image side toward the body's midline); the key
#: takes these names too: TrackerConfig(medial_side="left").
MedialSide = _NamedIntEnum("MedialSide", [("LEFT", -1), ("UNKNOWN", 0), ("RIGHT", 1)], module=__name__)
AreaUnit = _enum("venseg_area_unit", "VENSEG_AREA_", "AreaUnit")
ExamProtocol = _enum("venseg_exam_protocol", "VENSEG_EXAM_", "ExamProtocol")
ExamOutcome = _enum("venseg_exam_outcome", "VENSEG_EXAM_", "ExamOutcome")
Thrombus = _enum("venseg_thrombus", "VENSEG_THROMBUS_", "Thrombus")
PhantomKey = _enum("venseg_phantom_key", "VENSEG_PHANTOM_", "PhantomKey")
#: Quality flags of a tracked sequence (VENSEG_FLAG_*), combinable bits.
Flag = _NamedIntFlag("Flag", sorted(((k[len("VENSEG_FLAG_"):], getattr(_lib, k)) for k in dir(_lib)
                                   if k.startswith("VENSEG_FLAG_")), key=lambda kv: kv[1]), module=__name__)

SITE_COMMON_FEMORAL = ffi.string(_lib.VENSEG_SITE_COMMON_FEMORAL).decode()
SITE_FEMORAL = ffi.string(_lib.VENSEG_SITE_FEMORAL).decode()
SITE_POPLITEAL = ffi.string(_lib.VENSEG_SITE_POPLITEAL).decode()

# Names kept from the ctypes binding.
PIXEL_GRAY8, PIXEL_RGB8, PIXEL_BGR8, PIXEL_GRAY16, PIXEL_FLOAT32 = (
    int(PixelFormat.GRAY8), int(PixelFormat.RGB8), int(PixelFormat.BGR8), int(PixelFormat.GRAY16),
    int(PixelFormat.FLOAT32))
OPT_BACKEND, OPT_NUM_THREADS, OPT_PRECISION = int(Option.BACKEND), int(Option.NUM_THREADS), int(Option.PRECISION)
OPT_MIN_INSTANCE_AREA, OPT_THRESHOLD_PERMILLE = int(Option.MIN_INSTANCE_AREA), int(Option.THRESHOLD_PERMILLE)
EMPTY_NAN, EMPTY_MONAI, EMPTY_SMOOTH = int(EmptyRule.NAN), int(EmptyRule.MONAI), int(EmptyRule.SMOOTH)
SSIM_UNIFORM, SSIM_GAUSSIAN = int(SsimWindow.UNIFORM), int(SsimWindow.GAUSSIAN)
PHANTOM_KEYS = {k.name.lower(): int(k) for k in PhantomKey}
THROMBUS = {k.name.lower(): int(k) for k in Thrombus}

#: Experimental option keys (venseg_experimental.h macros, keys >= 1000, no ABI promise)
#: by their short names: {"allow_tf32": 1000, "flip_average": 1001}; Options and Session.get
#: take these names too.
EXPERIMENTAL_OPTIONS = {k[len("VENSEG_OPT_"):].lower(): int(getattr(_lib, k)) for k in dir(_lib)
                        if k.startswith("VENSEG_OPT_") and k[len("VENSEG_OPT_"):] not in Option.__members__}
OPT_ALLOW_TF32 = EXPERIMENTAL_OPTIONS["allow_tf32"]
_OPTION_ALIASES = {"threads": int(Option.NUM_THREADS), **EXPERIMENTAL_OPTIONS}
_OPTION_VALUE_ENUMS = {Option.BACKEND: Backend, Option.PRECISION: Precision}
#: The applications' precision default, as the venseg programs' --precision default: what the
#: viewer and venseg.toolkit.evaluate pass to Session when not told (docs/precision.md says why
#: it is this one). Session itself keeps the C library's default, fp32, so code written for 0.2
#: gets the same masks; "auto" resolves per model and CPU (Precision.AUTO).
DEFAULT_PRECISION = "auto"
#: The applications' tracking size, as venseg analyze's --track-size default: the longer side in
#: px at which the tracker labels and tracks (TrackerKey.MAX_SIDE), or the model's input side
#: if that is larger (track_size_for). The tracker's own default, 0, is full resolution.
DEFAULT_TRACK_SIZE = 320


def track_size_for(model: Optional["Model"], track_size=None) -> int:
    """TrackerKey.MAX_SIDE for a --track-size value (None: the default; "full" or 0: full
    resolution, 0; else the side in px) and the model (None with masks from labels)."""
    if track_size in ("full", 0, "0"):
        return 0
    if track_size not in (None, ""):
        return int(track_size)
    side = max(model.input_size[:2]) if model is not None else 0
    return max(DEFAULT_TRACK_SIZE, side)


def _member(enum_cls, value, what: str) -> int:
    """An enum value from a member, an int, or a case-insensitive short name."""
    if isinstance(value, str):
        try:
            return int(enum_cls[value.upper()])
        except KeyError:
            known = ", ".join(m.name.lower() for m in enum_cls)
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"unknown {what} {value!r} (known: {known})") from None
    return int(value)


# ------------------------------------------------------------------ errors, version

class VensegError(RuntimeError):
    """A libvenseg call failed: ``status`` is the status name (e.g. 'VENSEG_E_IO'), ``code``
    its value, ``detail`` libvenseg's message (venseg_last_error)."""

    def __init__(self, status: str, detail: str = "", code: Optional[int] = None):
        super().__init__(f"{status}: {detail}" if detail else status)
        self.status = status
        self.detail = detail
        self.code = code if code is not None else int(Status[status[len("VENSEG_"):]]) \
            if status.startswith("VENSEG_") and status[len("VENSEG_"):] in Status.__members__ else -1


def _str(p) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def _check(status: int) -> None:
    if status != 0:
        detail = _str(_lib.venseg_last_error())  # first: it is valid until the next call
        raise VensegError(_str(_lib.venseg_status_name(status)), detail, int(status))


def _out(ctype: str, fn, *args):
    """Calls fn(*args, out) with one output of ctype; returns its value."""
    v = ffi.new(ctype + " *")
    _check(fn(*args, v))
    return v[0]


def status_name(status: int) -> str:
    """venseg_status_name: 'VENSEG_OK', 'VENSEG_E_BAD_FILE', ...; 'VENSEG_E_UNKNOWN' otherwise."""
    return _str(_lib.venseg_status_name(int(status)))


def last_error() -> str:
    """Detail message of the last failed call on this thread ('' if none)."""
    return _str(_lib.venseg_last_error())


def library():
    """The compiled cffi library object (lib.venseg_* functions, VENSEG_* constants)."""
    return _lib


def version() -> str:
    """Version string of the linked library, e.g. '0.1.0'."""
    return _str(_lib.venseg_version_string())


def version_number() -> int:
    """major * 10000 + minor * 100 + patch of the linked library."""
    return int(_lib.venseg_version_number())


def build_info() -> Dict[str, str]:
    """venseg_build_info() as a dict ("key=value;..." pairs: backends, OpenMP, zlib)."""
    text = _str(_lib.venseg_build_info())
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in text.split(";") if item)


def label_bit(value: int) -> int:
    """VENSEG_LABEL_BIT: the bit of label value 0..31 in a label set."""
    return 1 << value


def _record(ctype: str, name: str, doc: str):
    """A dataclass with the fields of a C result struct (less struct_size), fresh() (a new
    struct, struct_size set) and get(fn, *args): the struct-out call fn(*args, struct),
    checked and read into the dataclass (the one helper of the struct_size protocol)."""
    fields = [f for f, _ in ffi.typeof(ctype).fields if f != "struct_size"]
    cls = make_dataclass(name, fields, frozen=True)
    cls.__doc__ = doc
    cls.__module__ = __name__

    def read(c) -> Any:
        values = {}
        for f in fields:
            v = getattr(c, f)
            values[f] = ffi.string(v).decode() if isinstance(v, ffi.CData) else v
        return cls(**values)

    def fresh():
        c = ffi.new(ctype + " *")
        c.struct_size = ffi.sizeof(ctype)
        return c

    def get(fn, *args) -> Any:
        c = fresh()
        _check(fn(*args, c))
        return read(c)

    return cls, fresh, get


Instance, _new_instance, _get_instance = _record(
    "venseg_instance", "Instance", "A connected vessel region of the last segmented frame (venseg_instance).")
TrackFrame, _new_track_frame, _get_track_frame = _record(
    "venseg_track_frame", "TrackFrame", "One analysed frame of a Tracker (venseg_track_frame).")
TrackedInstance, _new_tracked, _get_tracked = _record(
    "venseg_tracked_instance", "TrackedInstance", "A vessel of the latest analysed frame with its track id.")
TrackSummary, _new_summary, _get_summary = _record(
    "venseg_track_summary", "TrackSummary",
    "The sequence so far (venseg_track_summary); use .verdict_enum / .flag_set for the enums.")
ExamSite, _new_site, _get_site = _record("venseg_exam_site", "ExamSite", "One site of an Exam (venseg_exam_site).")
ExamReport, _new_report, _get_report = _record("venseg_exam_report", "ExamReport",
                                               "The outcome of an Exam (venseg_exam_report).")
PushResult, _new_push, _get_push = _record("venseg_push_result", "PushResult",
                                          "What became of a pushed frame (venseg_push_result).")
PhantomTruth, _new_truth, _get_truth = _record("venseg_phantom_truth", "PhantomTruth",
                                               "Ground truth of a phantom frame (venseg_phantom_truth).")
TrackSummary.verdict_enum = property(lambda s: Verdict(s.verdict))
TrackSummary.flag_set = property(lambda s: Flag(s.flags))
Vessel, _new_vessel, _get_vessel = _record(
    "venseg_vessel", "Vessel",
    "A vessel track with its identity (a VesselIdentity) and the evidence for it (venseg_vessel): "
    "cues NaN where not measured, evidence a line for people.")
ExamReport.outcome_enum = property(lambda r: ExamOutcome(r.outcome))
TensorInfo = make_dataclass("TensorInfo", ["name", "shape", "stored_dtype"], frozen=True)
TensorInfo.__module__ = __name__
TensorInfo.__doc__ = "A tensor of the loaded weights file: name, shape, stored dtype code (weights-format)."


# ------------------------------------------------------------------ numpy <-> pointers

def _addr(a: np.ndarray, ctype: str = "void *"):
    """A pointer to a's first element (a must stay alive during the call)."""
    return ffi.cast(ctype, a.__array_interface__["data"][0])


def _rows(a, dtype, what: str, ndim: int = 2, writable: bool = False) -> np.ndarray:
    """a as an array of dtype whose rows may be strided (positive row stride) but whose
    elements within a row are packed; copies only when that is not already so."""
    a = np.asarray(a)
    if a.ndim != ndim:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{what} must be {ndim}-D, not of shape {a.shape}")
    if a.dtype != dtype:
        if writable:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{what} must be {np.dtype(dtype)}, not {a.dtype}")
        a = a.astype(dtype)
    packed = all(a.strides[i] == a.itemsize * int(np.prod(a.shape[i + 1:])) for i in range(1, ndim))
    if not packed or a.strides[0] <= 0 or a.strides[0] % a.itemsize:
        if writable:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{what}: rows must be packed with a positive stride")
        a = np.ascontiguousarray(a)
    if writable and not a.flags.writeable:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{what} is read-only")
    return a


def _frame_arg(frame, bgr: bool) -> Tuple[np.ndarray, int]:
    a = np.asarray(frame)
    if a.dtype.byteorder not in ("=", "|"):  # the library reads native byte order
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
        fmt = PixelFormat.BGR8 if bgr else PixelFormat.RGB8
    elif a.ndim == 2 and a.dtype == np.uint8:
        fmt = PixelFormat.GRAY8
    elif a.ndim == 2 and a.dtype == np.uint16:
        fmt = PixelFormat.GRAY16
    elif a.ndim == 2 and a.dtype == np.float32:
        fmt = PixelFormat.FLOAT32
    else:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT",
                          f"unsupported frame {a.dtype} {a.shape}: uint8 HxW or HxWx3, uint16 HxW, float32 HxW")
    return _rows(a, a.dtype, "frame", a.ndim), int(fmt)


# ------------------------------------------------------------------ options

class Options:
    """Session options (venseg_session_config; ABI 1 name venseg_options). Keys: Option
    members or names ('backend', 'precision', 'threads'/'num_threads', 'device', 'min_instance_area',
    'threshold_permille'), experimental keys by name ('flip_average': average each frame's maps
    with its mirror image's; 'allow_tf32': GPU backends may run
    fp32 convolutions on TF32 tensor cores) or number; backend and precision values may be
    names ('onednn', 'bf16')."""

    def __init__(self, values: Optional[Mapping] = None, **kwargs):
        p = ffi.new("venseg_session_config **")
        _check(_lib.venseg_session_config_create(p))
        self._h = ffi.gc(p[0], _lib.venseg_session_config_free)
        for k, v in {**(values or {}), **kwargs}.items():
            self.set(k, v)

    @staticmethod
    def key(key) -> int:
        if isinstance(key, str) and key.lower() in _OPTION_ALIASES:
            return int(_OPTION_ALIASES[key.lower()])
        return _member(Option, key, "option")

    def set(self, key, value) -> None:
        k = self.key(key)
        enum_cls = _OPTION_VALUE_ENUMS.get(Option(k)) if k in Option._value2member_map_ else None
        v = _member(enum_cls, value, Option(k).name.lower()) if enum_cls else int(value)
        _check(_lib.venseg_session_config_set(self._h, k, v))

    def get(self, key) -> int:
        return int(_out("int64_t", _lib.venseg_session_config_get, self._h, self.key(key)))

    def close(self) -> None:
        if self._h is not None:
            ffi.release(self._h)
            self._h = None


def option_bounds(key) -> Tuple[int, int]:
    """Inclusive range of valid values of an option key."""
    return option_bounds_default(key)[:2]


def option_bounds_default(key) -> Tuple[int, int, int]:
    """(lower, upper, default) of an option key."""
    lo, hi, d = ffi.new("int64_t *"), ffi.new("int64_t *"), ffi.new("int64_t *")
    _check(_lib.venseg_session_config_bounds(Options.key(key), lo, hi, d))
    return int(lo[0]), int(hi[0]), int(d[0])


# ------------------------------------------------------------------ model

class _Handle:
    """An owned C object: close() (or the context manager, or garbage collection) frees it."""

    _h = None
    _what = "object"

    def close(self) -> None:
        h, self._h = self._h, None
        if h is not None:
            ffi.release(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def handle(self):
        """The C pointer (cffi cdata)."""
        if self._h is None:
            raise VensegError("VENSEG_E_BAD_STATE", f"the {self._what} is closed")
        return self._h


class Model(_Handle):
    """A loaded .vseg model (immutable; any number of sessions and threads may share it)."""

    _what = "model"

    def __init__(self, path: Union[str, os.PathLike, bytes, bytearray, memoryview]):
        """Loads a file (path), or a model held in memory (bytes-like: the bytes are copied)."""
        p = ffi.new("venseg_model **")
        if isinstance(path, (bytes, bytearray, memoryview)):
            buf = ffi.from_buffer(path)
            _check(_lib.venseg_model_load_memory(buf, len(buf), p))
            self.path = None
        else:
            _check(_lib.venseg_model_load_file(os.fsencode(os.fspath(path)), p))
            self.path = os.fspath(path)
        self._h = ffi.gc(p[0], _lib.venseg_model_free)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        return cls(data)

    @property
    def input_size(self) -> Tuple[int, int, int]:
        """(width, height, channels) of the network input."""
        w, h, c = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int32_t *")
        _check(_lib.venseg_model_input_size(self.handle, w, h, c))
        return int(w[0]), int(h[0]), int(c[0])

    @property
    def num_classes(self) -> int:
        return int(_out("int32_t", _lib.venseg_model_class_count, self.handle))

    def class_name(self, index: int) -> str:
        """Name of class index (label value index + 1)."""
        return _str(_out("const char *", _lib.venseg_model_class_name_at, self.handle, index))

    @property
    def class_names(self) -> List[str]:
        return [self.class_name(i) for i in range(self.num_classes)]

    def meta_string(self, key: str) -> str:
        return _str(_out("const char *", _lib.venseg_model_meta_string, self.handle, key.encode()))

    def meta_int(self, key: str) -> int:
        return int(_out("int64_t", _lib.venseg_model_meta_int, self.handle, key.encode()))

    def meta_double(self, key: str) -> float:
        return float(_out("double", _lib.venseg_model_meta_double, self.handle, key.encode()))

    @property
    def parameter_count(self) -> int:
        return int(_out("int64_t", _lib.venseg_model_parameter_count, self.handle))

    # experimental (venseg_experimental.h)
    @property
    def input_multiple(self) -> int:
        """The stride the height and width of run_tensor inputs must be multiples of."""
        return int(_out("int32_t", _lib.venseg_model_input_multiple, self.handle))

    def macs(self, width: int, height: int) -> int:
        """Multiply-accumulates of one forward pass at width x height (convolutions)."""
        return int(_out("int64_t", _lib.venseg_model_macs, self.handle, width, height))

    def tensor_info(self, index: int) -> TensorInfo:
        name, ndim = ffi.new("const char **"), ffi.new("int32_t *")
        dims, dtype = ffi.new("int64_t[4]"), ffi.new("int32_t *")
        _check(_lib.venseg_model_tensor_info(self.handle, index, name, ndim, dims, dtype))
        return TensorInfo(_str(name[0]), tuple(int(dims[i]) for i in range(ndim[0])), int(dtype[0]))

    @property
    def tensor_count(self) -> int:
        return int(_out("int32_t", _lib.venseg_model_tensor_count, self.handle))

    def tensors(self) -> List[TensorInfo]:
        """The tensor directory of the loaded file."""
        return [self.tensor_info(i) for i in range(self.tensor_count)]


# ------------------------------------------------------------------ session

class Session(_Handle):
    """A per-thread executor of a Model (one thread at a time; may move between threads).

    ``options``: an Options, or a mapping {key: value} (Option members, ints or names);
    ``threads``, ``backend``, ``precision`` are shortcuts for those keys (set on a given
    Options object when not 0 / None; the session copies the options). ``precision``: a
    Precision or its name, "auto", "fp32", "bf16", "int8" or "fp16"; without it the library's
    default, fp32 (applications pass DEFAULT_PRECISION). ``session.precision`` says what runs
    ("auto" resolved). With ``calibration`` (a
    Calibration) int8 ranges come from it (experimental API)."""

    _what = "session"

    def __init__(self, model: Model, threads: int = 0, options: Union[Options, Mapping, None] = None, *,
                 backend=None, precision=None, calibration: Optional["Calibration"] = None):
        opts = options if isinstance(options, Options) else Options()
        try:
            if threads or opts is not options:
                opts.set(Option.NUM_THREADS, threads)
            if opts is not options:  # a mapping's values win over the threads default
                for k, v in (options or {}).items():
                    opts.set(k, v)
            if backend is not None:
                opts.set(Option.BACKEND, backend)
            if precision is not None:
                opts.set(Option.PRECISION, precision)
            p = ffi.new("venseg_session **")
            if calibration is not None:
                _check(_lib.venseg_session_create_calibrated(model.handle, opts._h, calibration.handle, p))
            else:
                try:
                    _check(_lib.venseg_session_create(model.handle, opts._h, p))
                except VensegError as e:
                    if "int8.activation_names" not in e.detail:
                        raise
                    # the library's text names its C calls: say what to do in Python
                    raise VensegError(e.status, "int8 needs activation ranges and this model file stores none: "
                                      "calibrate first: cal = venseg.Calibration(model); cal.add_frame(frame) "
                                      "for a few typical frames; then venseg.Session(model, precision='int8', "
                                      "calibration=cal)", e.code) from None
        finally:
            if opts is not options:
                opts.close()
        self._h = ffi.gc(p[0], _lib.venseg_session_free)
        self.model = model
        self._num_classes = model.num_classes

    def get(self, key) -> int:
        """What the session actually runs (venseg_session_get): backend, precision, threads..."""
        return int(_out("int64_t", _lib.venseg_session_get, self.handle, Options.key(key)))

    @property
    def backend(self) -> "Backend":
        return Backend(self.get(Option.BACKEND))

    @property
    def precision(self) -> "Precision":
        return Precision(self.get(Option.PRECISION))

    @property
    def threads(self) -> int:
        return self.get(Option.NUM_THREADS)

    def describe(self) -> str:
        """e.g. 'reference: portable C, OpenMP 2 threads, fp32'."""
        return _str(_lib.venseg_session_describe(self.handle))

    def set_roi(self, x: int = 0, y: int = 0, width: int = 0, height: int = 0) -> None:
        """Region of interest of the following frames; width or height 0 clears it."""
        _check(_lib.venseg_session_set_roi(self.handle, x, y, width, height))

    def set_pixel_spacing(self, mm_x: float = 0.0, mm_y: float = 0.0) -> None:
        """mm per pixel of the following frames (0, 0: unknown, mm values NaN)."""
        _check(_lib.venseg_session_set_pixel_spacing(self.handle, mm_x, mm_y))

    def segment(self, frame: np.ndarray, bgr: bool = False, probabilities: bool = False,
                out: Optional[np.ndarray] = None, prob_out: Optional[np.ndarray] = None):
        """Label mask (uint8 HxW: 0 background, i + 1 class i) of a frame: uint8 HxW
        (grey), uint8 HxWx3 (RGB, or BGR with bgr=True), uint16 HxW, float32 HxW (0..1).
        The frame's row stride is passed on (a crop of a larger array is not copied);
        pixels within a row must be packed, else a copy is made. ``out``: a uint8 HxW
        array (rows may be strided) to write the mask into. With probabilities=True (or
        prob_out, a float32 [n_classes, H, W] array with packed rows and planes H rows
        apart) returns (mask, probabilities)."""
        a, fmt = _frame_arg(frame, bgr)
        h, w = a.shape[:2]
        mask = np.empty((h, w), np.uint8) if out is None else _rows(out, np.uint8, "out", writable=True)
        if mask.shape != (h, w):
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"out has shape {mask.shape}, the frame {(h, w)}")
        probs, pp, pstride = None, ffi.NULL, 0
        if probabilities or prob_out is not None:
            probs = np.empty((self._num_classes, h, w), np.float32) if prob_out is None else prob_out
            if not isinstance(probs, np.ndarray) or probs.dtype != np.float32 or not probs.flags.writeable or \
                    probs.shape != (self._num_classes, h, w) or probs.strides[2] != 4 or probs.strides[1] <= 0 or \
                    probs.strides[1] % 4 or probs.strides[0] != h * probs.strides[1]:
                raise VensegError("VENSEG_E_INVALID_ARGUMENT",
                                  f"prob_out must be float32 [{self._num_classes}, {h}, {w}] with packed rows "
                                  "and planes height rows apart")
            pp, pstride = _addr(probs, "float *"), probs.strides[1] // 4
        _check(_lib.venseg_segment(self.handle, _addr(a), fmt, w, h, a.strides[0], _addr(mask, "uint8_t *"),
                                   mask.strides[0], pp, pstride))
        return (mask, probs) if probs is not None else mask

    @property
    def instance_count(self) -> int:
        return int(_out("int32_t", _lib.venseg_session_instance_count, self.handle))

    def instance(self, index: int) -> Instance:
        return _get_instance(_lib.venseg_session_instance_at, self.handle, index)

    @property
    def instances(self) -> List[Instance]:
        """Instances of the last segmented frame, by label then decreasing area."""
        return [self.instance(i) for i in range(self.instance_count)]

    def run_tensor(self, x: np.ndarray, apply_activation: bool = True,
                   out: Optional[np.ndarray] = None) -> np.ndarray:
        """Experimental: the network on a normalised float32 NCHW tensor (height and width
        multiples of Model.input_multiple); returns [n, n_classes, h, w] (activation
        applied unless apply_activation=False)."""
        x = np.ascontiguousarray(x, np.float32)
        if x.ndim != 4:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"run_tensor needs an NCHW tensor, not {x.shape}")
        n, c, h, w = x.shape
        shape = (n, self._num_classes, h, w)
        if out is None:
            out = np.empty(shape, np.float32)
        elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous or not out.flags.writeable:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"out must be a writable C-contiguous float32 {shape}")
        _check(_lib.venseg_session_run_tensor(self.handle, _addr(x, "float *"), n, c, h, w,
                                              int(bool(apply_activation)), _addr(out, "float *")))
        return out


class Calibration(_Handle):
    """Experimental int8 calibration: max |activation| per layer over sample inputs."""

    _what = "calibration"

    def __init__(self, model: Model):
        p = ffi.new("venseg_calibration **")
        _check(_lib.venseg_calibration_create(model.handle, p))
        self._h = ffi.gc(p[0], _lib.venseg_calibration_free)
        self.model = model

    def add_frame(self, frame: np.ndarray, bgr: bool = False) -> None:
        """A frame, preprocessed as Session.segment does."""
        a, fmt = _frame_arg(frame, bgr)
        _check(_lib.venseg_calibration_add_frame(self.handle, _addr(a), fmt, a.shape[1], a.shape[0], a.strides[0]))

    def add_tensor(self, x: np.ndarray) -> None:
        """A normalised network input [channels, height, width]."""
        x = np.ascontiguousarray(x, np.float32)
        if x.ndim != 3:
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"add_tensor needs [channels, height, width], not {x.shape}")
        _check(_lib.venseg_calibration_add_tensor(self.handle, _addr(x, "float *"), *x.shape))

    def __len__(self) -> int:
        return int(_out("int32_t", _lib.venseg_calibration_count, self.handle))

    def entry(self, index: int) -> Tuple[str, float]:
        name, v = ffi.new("const char **"), ffi.new("double *")
        _check(_lib.venseg_calibration_entry(self.handle, index, name, v))
        return _str(name[0]), float(v[0])

    def entries(self) -> Dict[str, float]:
        """{'input': max, layer name: max, ...}"""
        return dict(self.entry(i) for i in range(len(self)))


# ------------------------------------------------------------------ metrics

def _pair(pred, truth, dtype_p=np.uint8) -> Tuple[np.ndarray, np.ndarray]:
    p, t = _rows(pred, dtype_p, "pred"), _rows(truth, np.uint8, "truth")
    if p.shape != t.shape:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"shapes differ: {p.shape} vs {t.shape}")
    return p, t


def overlap_counts(pred, pred_labels: int, truth, truth_labels: int, ignore_labels: int = 0) -> List[int]:
    """[tp, fp, fn] of a class between two label images (label sets as bit masks,
    label_bit(v) | ...); pixels whose truth label is in ignore_labels are not counted."""
    p, t = _pair(pred, truth)
    counts = ffi.new("int64_t[3]")
    _check(_lib.venseg_overlap_counts(_addr(p, "uint8_t *"), p.strides[0], pred_labels, _addr(t, "uint8_t *"),
                                      t.strides[0], truth_labels, ignore_labels, p.shape[1], p.shape[0], counts))
    return [int(counts[i]) for i in range(3)]


def overlap_counts_prob(prob, threshold: float, truth, truth_labels: int, ignore_labels: int = 0) -> List[int]:
    """[tp, fp, fn] with the prediction a float32 probability map (positive where p > threshold)."""
    p, t = _pair(prob, truth, np.float32)
    counts = ffi.new("int64_t[3]")
    _check(_lib.venseg_overlap_counts_prob(_addr(p, "float *"), p.strides[0] // 4, threshold, _addr(t, "uint8_t *"),
                                           t.strides[0], truth_labels, ignore_labels, p.shape[1], p.shape[0],
                                           counts))
    return [int(counts[i]) for i in range(3)]


def _counts(counts: Iterable[int]):
    c = [int(v) for v in counts]
    if len(c) != 3:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"counts must be [tp, fp, fn], not {c}")
    return ffi.new("int64_t[3]", c)


def dice(counts: Iterable[int], empty=EMPTY_NAN, smooth: float = 0.0) -> float:
    """Dice of [tp, fp, fn]; ``empty`` (EmptyRule or 'nan'/'monai'/'smooth') says what it is
    for an empty ground truth."""
    return float(_out("double", _lib.venseg_dice, _counts(counts), _member(EmptyRule, empty, "empty rule"), smooth))


def jaccard(counts: Iterable[int], empty=EMPTY_NAN, smooth: float = 0.0) -> float:
    """Jaccard (IoU) of [tp, fp, fn]; ``empty`` as for dice()."""
    return float(_out("double", _lib.venseg_jaccard, _counts(counts), _member(EmptyRule, empty, "empty rule"),
                      smooth))


def ssim(x, y, window=SSIM_GAUSSIAN, win_size: int = 0, sample_covariance: bool = False,
         data_range: float = 1.0, full: bool = False):
    """Mean SSIM of two float images as scikit-image's structural_similarity computes it;
    with full=True, (mssim, the full SSIM map)."""
    a, b = _rows(x, np.float32, "x"), _rows(y, np.float32, "y")
    if a.shape != b.shape:
        raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"shapes differ: {a.shape} vs {b.shape}")
    out = ffi.new("double *")
    smap = np.full(a.shape, np.nan, np.float32) if full else None  # a pixel left unwritten shows
    _check(_lib.venseg_ssim(_addr(a, "float *"), a.strides[0] // 4, _addr(b, "float *"), b.strides[0] // 4,
                            a.shape[1], a.shape[0], _member(SsimWindow, window, "SSIM window"), win_size,
                            int(bool(sample_covariance)), data_range, out,
                            _addr(smap, "float *") if full else ffi.NULL, a.shape[1] if full else 0))
    return (float(out[0]), smap) if full else float(out[0])


def surface_distance(pred, pred_labels: int, truth, truth_labels: int, spacing=(1.0, 1.0),
                     percentile: float = 95.0) -> Tuple[float, float, float]:
    """(Hausdorff at percentile, mean pred->truth distance, symmetric mean) as MONAI;
    spacing = (x, y) per pixel."""
    p, t = _pair(pred, truth)
    hd, md, sm = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
    _check(_lib.venseg_surface_distance(_addr(p, "uint8_t *"), p.strides[0], pred_labels, _addr(t, "uint8_t *"),
                                        t.strides[0], truth_labels, p.shape[1], p.shape[0], float(spacing[0]),
                                        float(spacing[1]), percentile, hd, md, sm))
    return float(hd[0]), float(md[0]), float(sm[0])


def compressibility(area_pre: float, area_compressed: float) -> float:
    """(A_pre - A_compressed) / A_pre x 100 (Chen et al.)."""
    return float(_out("double", _lib.venseg_compressibility, area_pre, area_compressed))


# ------------------------------------------------------------------ keyed configs

class _KeyedConfig(_Handle):
    """Shared by TrackerConfig and PhantomConfig: double values under enum keys."""

    _keys: Any = None
    _prefix = ""
    _ctype = ""

    def __init__(self, **values):
        p = ffi.new(f"{self._ctype} **")
        _check(getattr(_lib, f"{self._prefix}_create")(p))
        self._h = ffi.gc(p[0], getattr(_lib, f"{self._prefix}_free"))
        for k, v in values.items():
            self[k] = v

    @classmethod
    def key(cls, key) -> int:
        if isinstance(key, str) and key.upper() not in cls._keys.__members__:
            known = ", ".join(m.name.lower() for m in cls._keys)
            raise ValueError(f"unknown {cls.__name__} key {key!r} (known: {known})")
        return _member(cls._keys, key, "key")

    def __setitem__(self, key, value) -> None:
        k = self.key(key)
        if isinstance(value, str):  # enum-valued keys take names
            if k not in self._value_enums:
                raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"{self._keys(k).name.lower()} takes a number, "
                                                               f"not {value!r}")
            value = _member(self._value_enums[k], value, self._keys(k).name.lower())
        _check(getattr(_lib, f"{self._prefix}_set")(self.handle, k, float(value)))

    def __getitem__(self, key) -> float:
        return float(_out("double", getattr(_lib, f"{self._prefix}_get"), self.handle, self.key(key)))

    set = __setitem__
    get = __getitem__

    @classmethod
    def bounds(cls, key) -> Tuple[float, float, float]:
        """(lower, upper, default) of a key."""
        lo, hi, d = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        _check(getattr(_lib, f"{cls._prefix}_bounds")(cls.key(key), lo, hi, d))
        return float(lo[0]), float(hi[0]), float(d[0])

    def as_dict(self) -> Dict[str, float]:
        return {k.name.lower(): self[k] for k in self._keys}


class TrackerConfig(_KeyedConfig):
    """Tracker configuration (venseg_tracker_config); keys are TrackerKey members or
    names (pixel_spacing_x, frame_rate, frame_stride, ...); ``site`` its site label."""

    _keys, _prefix, _ctype = TrackerKey, "venseg_tracker_config", "venseg_tracker_config"
    _value_enums = {int(TrackerKey.MEDIAL_SIDE): MedialSide}  # medial_side="left" | "right" | "unknown"
    _what = "tracker config"

    def __init__(self, site: Optional[str] = None, **values):
        super().__init__(**values)
        if site is not None:
            self.site = site

    @property
    def site(self) -> str:
        return _str(_lib.venseg_tracker_config_site(self.handle))

    @site.setter
    def site(self, value: str) -> None:
        _check(_lib.venseg_tracker_config_set_site(self.handle, value.encode()))


class PhantomConfig(_KeyedConfig):
    """Phantom configuration (venseg_phantom_config); keys are PhantomKey members or names."""

    _keys, _prefix, _ctype = PhantomKey, "venseg_phantom_config", "venseg_phantom_config"
    _value_enums = {int(PhantomKey.THROMBUS): Thrombus}
    _what = "phantom config"


# ------------------------------------------------------------------ tracker, exam

def verdict_name(verdict: int) -> str:
    return _str(_lib.venseg_verdict_name(int(verdict)))


def flag_name(flag: int) -> str:
    """Name of one flag bit; 'VENSEG_FLAG_UNKNOWN' unless exactly one known bit."""
    return _str(_lib.venseg_flag_name(int(flag)))


def flag_names(flags: int) -> List[str]:
    """Names of the bits set in flags, lowest first."""
    return [flag_name(1 << b) for b in range(32) if flags & (1 << b)]


def exam_outcome_name(outcome: int) -> str:
    return _str(_lib.venseg_exam_outcome_name(int(outcome)))


def identity_name(identity: int) -> str:
    """venseg_identity_name: 'VENSEG_IDENTITY_VEIN', ...."""
    return _str(_lib.venseg_identity_name(int(identity)))


def medial_side_name(side: int) -> str:
    """'left' (-1), 'right' (+1) or 'unknown' (0) for a medial_side value."""
    return "left" if side < 0 else "right" if side > 0 else "unknown"


#: Flags that only inform; the others set on an INDETERMINATE verdict are its reasons.
INFORMATIONAL_FLAGS = Flag.NO_RELEASE | Flag.SPACING_UNKNOWN | Flag.VESSELS_MERGED | Flag.VEIN_INTERMITTENT
_MEDIAL_SOURCES = {0: "unknown", 1: "configured", 2: "detected"}
_ROLES = {0: "other", 1: "artery", 2: "vein"}


def _as_enum(cls, value):
    """value as a member of cls (so that it prints by name), or the int when cls lacks it."""
    try:
        return cls(value)
    except ValueError:
        return int(value)


def _enum_name(cls, value) -> str:
    """The member name of value in cls ('TWO_POINT'), or the number as text when cls lacks it."""
    m = _as_enum(cls, value)
    return m.name if isinstance(m, cls) else str(m)


def _short_flags(flags: int) -> List[str]:
    return [n[len("VENSEG_FLAG_"):] for n in flag_names(flags)]


def _summary_reasons(s) -> List[str]:
    """Why the verdict is indeterminate: the names of its flags that are not informational
    ([] when there is a verdict)."""
    if s.verdict != Verdict.INDETERMINATE:
        return []
    return _short_flags(int(s.flags) & ~int(INFORMATIONAL_FLAGS))


def _summary_as_dict(s) -> Dict[str, Any]:
    """The summary's fields with names for the enums: verdict 'COMPRESSIBLE', flags
    ['NO_RELEASE'], medial_side 'left', medial_side_source 'configured'."""
    d = {f.name: getattr(s, f.name) for f in _fields(s)}
    d["verdict"] = verdict_name(s.verdict)[len("VENSEG_VERDICT_"):]
    d["flags"] = _short_flags(s.flags)
    d["medial_side"] = medial_side_name(s.medial_side)
    d["medial_side_source"] = _MEDIAL_SOURCES.get(s.medial_side_source, str(s.medial_side_source))
    d["indeterminate_reasons"] = _summary_reasons(s)
    return d


def _vessel_as_dict(v) -> Dict[str, Any]:
    """The vessel's fields with identity and role by name ('VEIN', 'vein')."""
    d = {f.name: getattr(v, f.name) for f in _fields(v)}
    d["identity"] = identity_name(v.identity)[len("VENSEG_IDENTITY_"):]
    d["role"] = _ROLES.get(v.role, str(v.role))
    return d


def _site_as_dict(s) -> Dict[str, Any]:
    """An exam site's fields with verdict and flags by name ('COMPRESSIBLE', ['NO_RELEASE'])."""
    d = {f.name: getattr(s, f.name) for f in _fields(s)}
    d["verdict"] = verdict_name(s.verdict)[len("VENSEG_VERDICT_"):]
    d["flags"] = _short_flags(s.flags)
    return d


def _report_as_dict(r) -> Dict[str, Any]:
    """An exam report's fields with outcome and protocol by name ('NORMAL', 'TWO_POINT')."""
    d = {f.name: getattr(r, f.name) for f in _fields(r)}
    d["outcome"] = exam_outcome_name(r.outcome)[len("VENSEG_EXAM_"):]
    d["protocol"] = _enum_name(ExamProtocol, r.protocol)
    return d


def _truth_as_dict(t) -> Dict[str, Any]:
    """A phantom truth's fields with thrombus by name ('NONE', 'PARTIAL', 'FULL')."""
    d = {f.name: getattr(t, f.name) for f in _fields(t)}
    d["thrombus"] = _enum_name(Thrombus, t.thrombus)
    return d


TrackSummary.indeterminate_reasons = property(_summary_reasons)
ExamSite.as_dict = _site_as_dict
ExamReport.as_dict = _report_as_dict
PhantomTruth.as_dict = _truth_as_dict
TrackSummary.medial_side_name = property(lambda s: medial_side_name(s.medial_side))
TrackSummary.as_dict = _summary_as_dict
Vessel.role_name = property(lambda v: _ROLES.get(v.role, str(v.role)))
Vessel.as_dict = _vessel_as_dict


class Tracker(_Handle):
    """One compression sequence at one site (venseg_tracker): push frames (segmented by a
    Session) or label masks; read per-frame results, the tracked vessels, the area curve
    and the summary with its verdict and quality flags."""

    _what = "tracker"

    def __init__(self, config: Optional[TrackerConfig] = None, **values):
        """config, or TrackerConfig keyword values (site=..., frame_rate=..., ...)."""
        cfg = config if config is not None else TrackerConfig(**values)
        p = ffi.new("venseg_tracker **")
        try:
            _check(_lib.venseg_tracker_create(cfg.handle, p))
        finally:
            if cfg is not config:
                cfg.close()
        self._h = ffi.gc(p[0], _lib.venseg_tracker_free)

    def reset(self) -> None:
        """Forgets all frames; keeps the configuration."""
        _check(_lib.venseg_tracker_reset(self.handle))

    def push_labels_result(self, labels: np.ndarray) -> PushResult:
        """Pushes a label mask (uint8 HxW); what became of it (venseg_push_result)."""
        a = _rows(labels, np.uint8, "labels")
        return _get_push(_lib.venseg_tracker_push_labels_ex, self.handle, _addr(a, "uint8_t *"), a.strides[0],
                         a.shape[1], a.shape[0])

    def push_labels(self, labels: np.ndarray) -> bool:
        """Pushes a label mask (uint8 HxW); True if it was analysed (not skipped by the stride)."""
        return bool(self.push_labels_result(labels).analysed)

    def push_frame(self, session: Session, frame: np.ndarray, bgr: bool = False,
                   out: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
        """Segments the frame with session and tracks it; returns the label mask (into
        ``out`` if given) when the frame was analysed, None when the stride skipped it."""
        a, fmt = _frame_arg(frame, bgr)
        h, w = a.shape[:2]
        mask = np.zeros((h, w), np.uint8) if out is None else _rows(out, np.uint8, "out", writable=True)
        if mask.shape != (h, w):
            raise VensegError("VENSEG_E_INVALID_ARGUMENT", f"out has shape {mask.shape}, the frame {(h, w)}")
        r = _get_push(_lib.venseg_tracker_push_frame_ex, self.handle, session.handle, _addr(a), fmt, w, h,
                      a.strides[0], _addr(mask, "uint8_t *"), mask.strides[0])
        return mask if r.analysed else None

    def frame(self, index: int = -1) -> TrackFrame:
        """An analysed frame (index among analysed frames; -1 the latest)."""
        return _get_track_frame(_lib.venseg_tracker_frame_at, self.handle, index)

    @property
    def frame_count(self) -> int:
        """Analysed frames so far."""
        return int(_out("int32_t", _lib.venseg_tracker_frame_count, self.handle))

    def frames(self) -> List[TrackFrame]:
        return [self.frame(i) for i in range(self.frame_count)]

    @property
    def instance_count(self) -> int:
        return int(_out("int32_t", _lib.venseg_tracker_instance_count, self.handle))

    def instance(self, index: int) -> TrackedInstance:
        return _get_tracked(_lib.venseg_tracker_instance_at, self.handle, index)

    @property
    def instances(self) -> List[TrackedInstance]:
        """Vessels of the latest analysed frame with their persistent track ids."""
        return [self.instance(i) for i in range(self.instance_count)]

    def summary(self) -> TrackSummary:
        """The sequence so far; verdict is a Verdict and flags a Flag (they print by name;
        .as_dict() gives names throughout)."""
        s = _get_summary(_lib.venseg_tracker_summary_get, self.handle)
        return _replace(s, verdict=_as_enum(Verdict, s.verdict), flags=_as_enum(Flag, s.flags))

    @property
    def vessel_count(self) -> int:
        return int(_out("int32_t", _lib.venseg_tracker_vessel_count, self.handle))

    def vessel(self, index: int) -> Vessel:
        """A vessel track (the vein of interest first, then the artery, then the others by
        size) with identity as a VesselIdentity and its evidence line."""
        v = _get_vessel(_lib.venseg_tracker_vessel_at, self.handle, index)
        return _replace(v, identity=_as_enum(VesselIdentity, v.identity))

    def vessels(self) -> List[Vessel]:
        """Every vessel track of the sequence with its identity and the evidence for it."""
        return [self.vessel(i) for i in range(self.vessel_count)]

    @property
    def verdict(self) -> "Verdict":
        return Verdict(self.summary().verdict)

    @property
    def flags(self) -> "Flag":
        return Flag(self.summary().flags)

    def curve(self, unit="px") -> Dict[str, np.ndarray]:
        """Area-vs-time curve, one entry per analysed frame: frame_index (int32),
        vein_area, vein_area_smoothed, artery_area (float64) in unit 'px' or 'mm2'."""
        u = _member(AreaUnit, unit, "area unit")
        count = ffi.new("int32_t *")
        st = _lib.venseg_tracker_curve(self.handle, u, 0, count, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL)
        if st not in (0, int(Status.E_BUFFER_TOO_SMALL)):
            _check(st)
        n = int(count[0])
        fi = np.zeros(n, np.int32)
        va, vs, aa = np.zeros(n), np.zeros(n), np.zeros(n)
        _check(_lib.venseg_tracker_curve(self.handle, u, n, count, _addr(fi, "int32_t *"), _addr(va, "double *"),
                                         _addr(vs, "double *"), _addr(aa, "double *")))
        return {"frame_index": fi, "vein_area": va, "vein_area_smoothed": vs, "artery_area": aa}


class Exam(_Handle):
    """A multi-site exam (venseg_exam): protocol 'custom', 'two_point' (common femoral +
    popliteal) or 'three_point'; add() a finished Tracker per site (its config's site)."""

    _what = "exam"

    def __init__(self, protocol="two_point"):
        p = ffi.new("venseg_exam **")
        _check(_lib.venseg_exam_create(_member(ExamProtocol, protocol, "exam protocol"), p))
        self._h = ffi.gc(p[0], _lib.venseg_exam_free)

    def add(self, tracker: Tracker) -> None:
        _check(_lib.venseg_exam_add(self.handle, tracker.handle))

    def report(self) -> ExamReport:
        """The exam's outcome; outcome is an ExamOutcome and protocol an ExamProtocol (they
        print by name; .as_dict() gives names)."""
        r = _get_report(_lib.venseg_exam_report_get, self.handle)
        return _replace(r, outcome=_as_enum(ExamOutcome, r.outcome), protocol=_as_enum(ExamProtocol, r.protocol))

    def site(self, index: int) -> ExamSite:
        """One site; verdict is a Verdict and flags a Flag (.as_dict() gives names)."""
        s = _get_site(_lib.venseg_exam_site_at, self.handle, index)
        return _replace(s, verdict=_as_enum(Verdict, s.verdict), flags=_as_enum(Flag, s.flags))

    def sites(self) -> List[ExamSite]:
        """Required sites first, in protocol order, then the others."""
        return [self.site(i) for i in range(self.site_count)]

    @property
    def site_count(self) -> int:
        return int(_out("int32_t", _lib.venseg_exam_site_count, self.handle))

    @property
    def outcome(self) -> "ExamOutcome":
        return ExamOutcome(self.report().outcome)


# ------------------------------------------------------------------ phantom

class Phantom(_Handle):
    """A seeded synthetic compression sequence (venseg_phantom): B-mode frames of a
    transverse leg with ground-truth labels (1 artery, 2 vein) and true areas.

    Keyword options are the phantom keys: seed, width, height, frames, frame_rate,
    heart_rate, thrombus ('none' | 'partial' | 'full' or 0..2), compression,
    probe_motion, gain_db, noise, pixel_spacing, vessels (0 none, 1 artery + vein,
    2 artery only), and since 0.2.0 vein_side, vein_to_artery, pulse_amplitude,
    respiration, respiratory_rate, thrombus_age, probe_tilt, out_of_plane,
    decorrelation, attenuation, baseline_s (docs/phantom.md); or config=PhantomConfig.
    Frames depend only on (options, index); any number of threads may render at once."""

    _what = "phantom"

    def __init__(self, config: Optional[PhantomConfig] = None, **options):
        cfg = config if config is not None else PhantomConfig(**options)
        try:
            p = ffi.new("venseg_phantom **")
            _check(_lib.venseg_phantom_create(cfg.handle, p))
            self.config = cfg.as_dict()
        finally:
            if cfg is not config:
                cfg.close()
        self._h = ffi.gc(p[0], _lib.venseg_phantom_free)
        self.width, self.height = int(self.config["width"]), int(self.config["height"])
        self.frames = int(self.config["frames"])

    def __len__(self) -> int:
        return self.frames

    def frame(self, index: int, pixels: bool = True, labels: bool = True):
        """(pixels uint8 [H, W], labels uint8 [H, W]) of frame index (None for one not asked)."""
        px = np.zeros((self.height, self.width), np.uint8) if pixels else None
        lab = np.zeros((self.height, self.width), np.uint8) if labels else None
        _check(_lib.venseg_phantom_frame(self.handle, index, _addr(px, "uint8_t *") if pixels else ffi.NULL,
                                         self.width, _addr(lab, "uint8_t *") if labels else ffi.NULL, self.width))
        return px, lab

    def truth_record(self, index: int) -> PhantomTruth:
        """Ground truth of frame index; thrombus is a Thrombus (prints by name)."""
        t = _get_truth(_lib.venseg_phantom_truth_at, self.handle, index)
        return _replace(t, thrombus=_as_enum(Thrombus, t.thrombus))

    def truth(self, index: int) -> Dict[str, Any]:
        """Ground truth of frame index as a dict: areas, pressure, the sequence's true
        compressibility, thrombus (a Thrombus, equal to its int), vein side and visibility,
        centroids, heart rate."""
        return dict(self.truth_record(index).__dict__)
