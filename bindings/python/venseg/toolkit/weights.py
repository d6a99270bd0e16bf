"""Reader and writer of the libvenseg weights file (``.vseg``), format version 1.

numpy only (no torch). The format is specified in ``docs/weights-format.md``; this module
is its reference writer.

Writing::

    write_vseg(path_or_file, metadata, tensors, dtype="f32", deflate=False)

``metadata`` is a dict ``key -> value`` typed as follows:

* ``int`` (and ``bool``, numpy integers) -> i64, ``float`` (numpy floating) -> f64,
  ``str`` -> string;
* a list/tuple of ints -> i64 array, of numbers with at least one float -> f64 array,
  of strings -> string array;
* keys whose type the format fixes (``KNOWN_KEY_TYPES``, e.g. ``input.mean`` is f64[],
  ``input.scale`` is f64) are coerced to that type, so ``input.mean=[0, 0, 0]`` is
  written as f64[] and not i64[];
* ``Typed(type_code, value)`` forces a type (needed for an empty list of an unknown key).

``tensors`` is a dict ``name -> array`` (written in the dict's order). ``dtype`` selects
the storage of **convolution weights only** (tensors with ``ndim == 4``: Conv2d and
ConvTranspose2d weights): ``f32``, ``f16``, ``bf16`` (round to nearest even) or ``q8``
(symmetric int8 with one f32 scale per index of dim 0, ``scale = max|w| / 127``,
``q = round(w / scale)``). Biases, BN tensors and all other tensors (ndim < 4) always
stay f32; they are tiny and precision-critical. A ``quantize`` predicate
``(name, array) -> bool`` can replace that rule.

Reading::

    f = read_vseg(path_or_bytes_or_file)   # verifies both CRCs and the layout
    f.metadata   # dict key -> python value (int, float, str, list)
    f.meta_types # dict key -> type code (1..6)
    f.tensors    # dict name -> float32 ndarray (dequantised)
    f.dtypes     # dict name -> stored dtype name ("f32", "f16", "bf16", "q8")

Errors raise ``VsegError``.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Union

import numpy as np

MAGIC = b"VSEG"
VERSION = 1
HEADER_SIZE = 80
DEFAULT_ALIGNMENT = 64
FLAG_DEFLATE = 1

# metadata value types
T_I64, T_F64, T_STR, T_I64_ARRAY, T_F64_ARRAY, T_STR_ARRAY = 1, 2, 3, 4, 5, 6
TYPE_NAMES = {T_I64: "i64", T_F64: "f64", T_STR: "str", T_I64_ARRAY: "i64[]",
              T_F64_ARRAY: "f64[]", T_STR_ARRAY: "str[]"}

# tensor dtypes
DTYPE_CODES = {"f32": 0, "f16": 1, "bf16": 2, "q8": 3}
DTYPE_NAMES = {v: k for k, v in DTYPE_CODES.items()}

MAX_KV = 4096
MAX_TENSORS = 65536
MAX_STRING = 65536
MAX_ARRAY = 65536
_NAME_RE = re.compile(r"^[A-Za-z0-9_.]{1,255}$")

# Types fixed by docs/weights-format.md; values for these keys are coerced.
KNOWN_KEY_TYPES = {
    "general.architecture": T_STR,
    "general.name": T_STR,
    "general.description": T_STR,
    "general.license": T_STR,
    "input.channels": T_I64,
    "input.width": T_I64,
    "input.height": T_I64,
    "input.scale": T_F64,
    "input.mean": T_F64_ARRAY,
    "input.std": T_F64_ARRAY,
    "input.resize": T_STR,
    "output.classes": T_STR_ARRAY,
    "output.activation": T_STR,
    "output.threshold": T_F64,
    "provenance.trained": T_I64,
    "provenance.data": T_STR,
    "provenance.commit": T_STR,
    "provenance.metrics": T_STR,
    "provenance.recipe": T_STR,
    "encoder.name": T_STR,
    "encoder.style": T_STR,
    "encoder.bn_eps": T_F64,
    "decoder.block": T_STR,
    "decoder.channels": T_I64_ARRAY,
    "decoder.convs_per_block": T_I64,
    "decoder.bn_eps": T_F64,
    "head.kernel_size": T_I64,
    "plain_unet.base_channels": T_I64,
    "plain_unet.depth": T_I64,
    "plain_unet.bn_eps": T_F64,
}


class VsegError(ValueError):
    """A malformed, corrupted or unwritable .vseg file."""


@dataclass(frozen=True)
class Typed:
    """A metadata value with an explicit type code (T_I64 ... T_STR_ARRAY)."""
    type: int
    value: Any


@dataclass
class VsegFile:
    metadata: Dict[str, Any] = field(default_factory=dict)
    meta_types: Dict[str, int] = field(default_factory=dict)
    tensors: Dict[str, np.ndarray] = field(default_factory=dict)
    dtypes: Dict[str, str] = field(default_factory=dict)
    flags: int = 0
    alignment: int = DEFAULT_ALIGNMENT
    data_raw_size: int = 0
    data_stored_size: int = 0
    file_size: int = 0


# ----------------------------------------------------------------- conversions

def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def f32_to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    a = np.ascontiguousarray(a, dtype="<f4")
    u = a.view("<u4").astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(a)
    out = rounded.astype(np.uint16)
    out[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)  # quiet NaN
    return out


def bf16_bits_to_f32(b: np.ndarray) -> np.ndarray:
    return (np.asarray(b, dtype="<u2").astype("<u4") << 16).view("<f4")


def quantize_q8(a: np.ndarray):
    """Symmetric per-dim-0 int8 quantisation: returns (q int8 same shape, scales f32[dims0]).

    scale[i] = max|a[i]| / 127 (0 for an all-zero slice), q = round(a / scale) in -127..127.
    Dequantised value = q * scale[i0].
    """
    a = np.asarray(a, dtype=np.float32)
    flat = a.reshape(a.shape[0], -1).astype(np.float64)
    amax = np.abs(flat).max(axis=1)
    scales = (amax / 127.0).astype(np.float32)
    div = np.where(scales > 0, scales, 1.0).astype(np.float64)[:, None]
    q = np.clip(np.rint(flat / div), -127, 127).astype(np.int8)
    return q.reshape(a.shape), scales


def dequantize_q8(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.int8)
    s = np.asarray(scales, dtype=np.float32).reshape((-1,) + (1,) * (q.ndim - 1))
    return (q.astype(np.float32) * s).astype(np.float32)


def encode_tensor(a: np.ndarray, dtype: str) -> bytes:
    """Raw bytes of one tensor in the given storage dtype."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "f32":
        return a.astype("<f4").tobytes()
    if dtype == "f16":
        return a.astype("<f2").tobytes()
    if dtype == "bf16":
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    if dtype == "q8":
        q, s = quantize_q8(a)
        qb = q.tobytes()
        return qb + b"\0" * (_align(len(qb), 4) - len(qb)) + s.astype("<f4").tobytes()
    raise VsegError(f"unknown tensor dtype {dtype!r}")


def stored_nbytes(dtype: str, shape) -> int:
    numel = int(np.prod(shape))
    if dtype == "f32":
        return 4 * numel
    if dtype in ("f16", "bf16"):
        return 2 * numel
    if dtype == "q8":
        return _align(numel, 4) + 4 * int(shape[0])
    raise VsegError(f"unknown tensor dtype {dtype!r}")


def decode_tensor(buf: bytes, dtype: str, shape) -> np.ndarray:
    """Inverse of encode_tensor: float32 array of the given shape."""
    numel = int(np.prod(shape))
    if dtype == "f32":
        return np.frombuffer(buf, "<f4", numel).astype(np.float32).reshape(shape)
    if dtype == "f16":
        return np.frombuffer(buf, "<f2", numel).astype(np.float32).reshape(shape)
    if dtype == "bf16":
        return bf16_bits_to_f32(np.frombuffer(buf, "<u2", numel)).reshape(shape).copy()
    if dtype == "q8":
        q = np.frombuffer(buf, np.int8, numel).reshape(shape)
        s = np.frombuffer(buf, "<f4", int(shape[0]), offset=_align(numel, 4))
        return dequantize_q8(q, s)
    raise VsegError(f"unknown tensor dtype {dtype!r}")


def roundtrip_dtype(a: np.ndarray, dtype: str) -> np.ndarray:
    """What the reader gets back for `a` stored as `dtype` (float32)."""
    a = np.asarray(a, dtype=np.float32)
    return decode_tensor(encode_tensor(a, dtype), dtype, a.shape)


def default_quantize(name: str, a: np.ndarray) -> bool:
    """The writer's rule: only convolution weights (ndim 4) take the reduced dtype."""
    return np.ndim(a) == 4


# ------------------------------------------------------------------- metadata

def _infer_type(key: str, v: Any) -> int:
    if isinstance(v, Typed):
        return v.type
    if key in KNOWN_KEY_TYPES:
        return KNOWN_KEY_TYPES[key]
    if isinstance(v, (bool, int, np.integer)):
        return T_I64
    if isinstance(v, (float, np.floating)):
        return T_F64
    if isinstance(v, str):
        return T_STR
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if not v:
            raise VsegError(f"metadata {key!r}: empty list has no type; use Typed()")
        if all(isinstance(e, str) for e in v):
            return T_STR_ARRAY
        if all(isinstance(e, (bool, int, np.integer)) for e in v):
            return T_I64_ARRAY
        if all(isinstance(e, (bool, int, float, np.integer, np.floating)) for e in v):
            return T_F64_ARRAY
    raise VsegError(f"metadata {key!r}: cannot store a value of type {type(v).__name__}")


def _pack_str(s: str, what: str) -> bytes:
    if not isinstance(s, str):
        raise VsegError(f"{what}: expected a string, got {type(s).__name__}")
    b = s.encode("utf-8")
    if len(b) > MAX_STRING:
        raise VsegError(f"{what}: string longer than {MAX_STRING} bytes")
    return struct.pack("<I", len(b)) + b


def _pack_name(s: str, what: str) -> bytes:
    if not _NAME_RE.match(s):
        raise VsegError(f"{what} {s!r}: names are 1..255 chars of [A-Za-z0-9_.]")
    return _pack_str(s, what)


def _pack_value(key: str, t: int, v: Any) -> bytes:
    if isinstance(v, Typed):
        v = v.value
    if isinstance(v, np.ndarray):
        v = v.tolist()
    try:
        if t == T_I64:
            if isinstance(v, (float, np.floating)) and not float(v).is_integer():
                raise VsegError(f"metadata {key!r}: {v!r} is not an integer")
            return struct.pack("<q", int(v))
        if t == T_F64:
            return struct.pack("<d", float(v))
        if t == T_STR:
            return _pack_str(v, f"metadata {key!r}")
        if t in (T_I64_ARRAY, T_F64_ARRAY, T_STR_ARRAY):
            if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
                raise VsegError(f"metadata {key!r}: expected a list")
            if len(v) > MAX_ARRAY:
                raise VsegError(f"metadata {key!r}: array longer than {MAX_ARRAY}")
            out = [struct.pack("<I", len(v))]
            for e in v:
                out.append(_pack_value(key, t - 3, e))
            return b"".join(out)
    except (TypeError, struct.error) as exc:
        raise VsegError(f"metadata {key!r}: {exc}") from exc
    raise VsegError(f"metadata {key!r}: unknown type code {t}")


# --------------------------------------------------------------------- writer

def build_vseg(metadata: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
               dtype: str = "f32", deflate: bool = False,
               alignment: int = DEFAULT_ALIGNMENT,
               quantize: Optional[Callable[[str, np.ndarray], bool]] = None,
               tensor_dtypes: Optional[Mapping[str, str]] = None) -> bytes:
    """The bytes of a .vseg file. See the module docstring; ``tensor_dtypes`` overrides
    the storage dtype of individual tensors."""
    if dtype not in DTYPE_CODES:
        raise VsegError(f"unknown dtype {dtype!r} (f32, f16, bf16, q8)")
    if alignment < 16 or alignment > 4096 or alignment & (alignment - 1):
        raise VsegError("alignment must be a power of two in 16..4096")
    if len(metadata) > MAX_KV:
        raise VsegError(f"more than {MAX_KV} metadata entries")
    if len(tensors) > MAX_TENSORS:
        raise VsegError(f"more than {MAX_TENSORS} tensors")
    quantize = quantize or default_quantize
    tensor_dtypes = dict(tensor_dtypes or {})

    meta = io.BytesIO()
    for key, v in metadata.items():
        t = _infer_type(key, v)
        meta.write(_pack_name(key, "metadata key"))
        meta.write(struct.pack("<I", t))
        meta.write(_pack_value(key, t, v))

    blob = bytearray()
    for name, arr in tensors.items():
        a = np.asarray(arr)
        if a.ndim < 1 or a.ndim > 4:
            raise VsegError(f"tensor {name!r}: ndim {a.ndim} not in 1..4")
        if a.size == 0:
            raise VsegError(f"tensor {name!r}: empty")
        td = tensor_dtypes.get(name, dtype if quantize(name, a) else "f32")
        data = encode_tensor(a, td)
        assert len(data) == stored_nbytes(td, a.shape)
        offset = _align(len(blob), alignment)
        blob.extend(b"\0" * (offset - len(blob)))
        blob.extend(data)
        meta.write(_pack_name(name, "tensor name"))
        meta.write(struct.pack("<II", DTYPE_CODES[td], a.ndim))
        meta.write(struct.pack(f"<{a.ndim}Q", *a.shape))
        meta.write(struct.pack("<QQ", offset, len(data)))
    meta_bytes = meta.getvalue()
    raw = bytes(blob)
    stored = zlib.compress(raw, 9) if deflate else raw
    data_offset = _align(HEADER_SIZE + len(meta_bytes), alignment)
    head68 = MAGIC + struct.pack(
        "<IIIQQQQQQI", VERSION, FLAG_DEFLATE if deflate else 0, alignment,
        len(metadata), len(tensors), len(meta_bytes), data_offset, len(stored), len(raw),
        zlib.crc32(raw) & 0xFFFFFFFF)
    assert len(head68) == 68
    meta_crc = zlib.crc32(meta_bytes, zlib.crc32(head68)) & 0xFFFFFFFF
    header = head68 + struct.pack("<IQ", meta_crc, 0)
    assert len(header) == HEADER_SIZE
    pad = b"\0" * (data_offset - HEADER_SIZE - len(meta_bytes))
    return header + meta_bytes + pad + stored


def write_vseg(dest: Union[str, os.PathLike, io.IOBase], metadata: Mapping[str, Any],
               tensors: Mapping[str, np.ndarray], dtype: str = "f32",
               deflate: bool = False, **kwargs) -> int:
    """Write a .vseg file to a path or a binary file object; returns the byte count."""
    data = build_vseg(metadata, tensors, dtype=dtype, deflate=deflate, **kwargs)
    if hasattr(dest, "write"):
        dest.write(data)
    else:
        with open(dest, "wb") as fh:
            fh.write(data)
    return len(data)


# --------------------------------------------------------------------- reader

class _Cursor:
    def __init__(self, buf: bytes, start: int, end: int):
        self.buf, self.pos, self.end = buf, start, end

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise VsegError("metadata/tensor directory truncated")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def string(self, what: str) -> str:
        n = self.u32()
        if n > MAX_STRING:
            raise VsegError(f"{what}: string length {n} > {MAX_STRING}")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VsegError(f"{what}: invalid UTF-8") from exc

    def name(self, what: str) -> str:
        s = self.string(what)
        if not _NAME_RE.match(s):
            raise VsegError(f"{what} {s!r}: invalid name")
        return s

    def value(self, t: int, key: str):
        if t == T_I64:
            return struct.unpack("<q", self.take(8))[0]
        if t == T_F64:
            return struct.unpack("<d", self.take(8))[0]
        if t == T_STR:
            return self.string(f"metadata {key!r}")
        if t in (T_I64_ARRAY, T_F64_ARRAY, T_STR_ARRAY):
            n = self.u32()
            if n > MAX_ARRAY:
                raise VsegError(f"metadata {key!r}: array length {n} > {MAX_ARRAY}")
            return [self.value(t - 3, key) for _ in range(n)]
        raise VsegError(f"metadata {key!r}: unknown type {t}")


def read_vseg(src: Union[str, os.PathLike, bytes, bytearray, memoryview, io.IOBase],
              verify_crc: bool = True) -> VsegFile:
    """Parse and validate a .vseg file (path, bytes or binary file object)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        buf = bytes(src)
    elif hasattr(src, "read"):
        buf = src.read()
    else:
        with open(src, "rb") as fh:
            buf = fh.read()
    if len(buf) < HEADER_SIZE:
        raise VsegError("file shorter than the 80-byte header")
    if buf[:4] != MAGIC:
        raise VsegError("bad magic (not a .vseg file)")
    (version, flags, alignment, n_kv, n_tensors, meta_size, data_offset, stored_size,
     raw_size, data_crc, meta_crc, reserved) = struct.unpack("<IIIQQQQQQIIQ", buf[4:80])
    if version != VERSION:
        raise VsegError(f"unsupported format version {version}")
    if flags & ~FLAG_DEFLATE:
        raise VsegError(f"unknown flags 0x{flags:x}")
    if alignment < 16 or alignment > 4096 or alignment & (alignment - 1):
        raise VsegError(f"bad alignment {alignment}")
    if n_kv > MAX_KV or n_tensors > MAX_TENSORS:
        raise VsegError("too many metadata entries or tensors")
    if reserved != 0:
        raise VsegError("reserved header field is not 0")
    if HEADER_SIZE + meta_size > len(buf):
        raise VsegError("metadata extends past the end of the file")
    if data_offset % alignment or data_offset < HEADER_SIZE + meta_size:
        raise VsegError("bad data_offset")
    if data_offset + stored_size != len(buf):
        raise VsegError(f"data_offset + data_stored_size = {data_offset + stored_size} "
                        f"!= file size {len(buf)}")
    meta_bytes = buf[HEADER_SIZE:HEADER_SIZE + meta_size]
    if verify_crc:
        got = zlib.crc32(meta_bytes, zlib.crc32(buf[:68])) & 0xFFFFFFFF
        if got != meta_crc:
            raise VsegError(f"metadata CRC mismatch (stored {meta_crc:08x}, computed {got:08x})")
    stored = buf[data_offset:]
    if flags & FLAG_DEFLATE:
        try:
            d = zlib.decompressobj()
            raw = d.decompress(stored, raw_size + 1)
            if not d.eof or d.unconsumed_tail or d.unused_data:
                raise VsegError("deflate stream does not end exactly at the end of the file")
        except zlib.error as exc:
            raise VsegError(f"corrupt deflate stream: {exc}") from exc
    else:
        if stored_size != raw_size:
            raise VsegError("data_raw_size != data_stored_size for an uncompressed blob")
        raw = stored
    if len(raw) != raw_size:
        raise VsegError(f"inflated blob has {len(raw)} bytes, header says {raw_size}")
    if verify_crc:
        got = zlib.crc32(raw) & 0xFFFFFFFF
        if got != data_crc:
            raise VsegError(f"data CRC mismatch (stored {data_crc:08x}, computed {got:08x})")

    out = VsegFile(flags=flags, alignment=alignment, data_raw_size=raw_size,
                   data_stored_size=stored_size, file_size=len(buf))
    cur = _Cursor(buf, HEADER_SIZE, HEADER_SIZE + meta_size)
    for _ in range(n_kv):
        key = cur.name("metadata key")
        if key in out.metadata:
            raise VsegError(f"duplicate metadata key {key!r}")
        t = cur.u32()
        out.meta_types[key] = t
        out.metadata[key] = cur.value(t, key)
    spans = []
    for _ in range(n_tensors):
        name = cur.name("tensor name")
        if name in out.tensors:
            raise VsegError(f"duplicate tensor {name!r}")
        code, ndim = cur.u32(), cur.u32()
        if code not in DTYPE_NAMES:
            raise VsegError(f"tensor {name!r}: unknown dtype {code}")
        if not 1 <= ndim <= 4:
            raise VsegError(f"tensor {name!r}: ndim {ndim}")
        dims = tuple(cur.u64() for _ in range(ndim))
        if any(d < 1 for d in dims):
            raise VsegError(f"tensor {name!r}: zero dimension")
        offset, nbytes = cur.u64(), cur.u64()
        dt = DTYPE_NAMES[code]
        if offset % alignment:
            raise VsegError(f"tensor {name!r}: offset not aligned")
        if nbytes != stored_nbytes(dt, dims):
            raise VsegError(f"tensor {name!r}: nbytes {nbytes} != {stored_nbytes(dt, dims)}")
        if offset + nbytes > raw_size:
            raise VsegError(f"tensor {name!r}: outside the data blob")
        spans.append((offset, offset + nbytes, name))
        out.tensors[name] = decode_tensor(raw[offset:offset + nbytes], dt, dims)
        out.dtypes[name] = dt
    if cur.pos != cur.end:
        raise VsegError("meta_size does not match the metadata and tensor directory")
    spans.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
        if b0 < a1:
            raise VsegError(f"tensors {an!r} and {bn!r} overlap")
    return out
