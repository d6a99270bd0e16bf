"""Unit tests of the Python .vseg writer/reader (numpy only; torch tests skip without it)."""

import io
import os
import struct
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))

from venseg.toolkit import arch  # noqa: E402
from venseg.toolkit.weights import (  # noqa: E402
    HEADER_SIZE, T_F64, T_F64_ARRAY, T_I64, T_I64_ARRAY, T_STR, T_STR_ARRAY, Typed, VsegError,
    bf16_bits_to_f32, build_vseg, dequantize_q8, f32_to_bf16_bits, quantize_q8, read_vseg,
    roundtrip_dtype, write_vseg)

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def sample():
    rng = np.random.default_rng(1)
    meta = {"general.architecture": "plain_unet", "n": 7, "x": 0.25, "s": "héllo",
            "ai": [1, 2, 3], "af": [1, 2.5], "as": ["artery", "vein"],
            "input.mean": [0, 0, 0], "empty": Typed(T_STR_ARRAY, [])}
    tensors = {"conv.weight": rng.standard_normal((5, 3, 3, 3)).astype(np.float32),
               "conv.bias": rng.standard_normal(5).astype(np.float32),
               "odd.weight": rng.standard_normal((3, 1, 1, 1)).astype(np.float32),
               "vec": np.arange(7, dtype=np.float32)}
    return meta, tensors


def test_header_layout_and_roundtrip():
    meta, tensors = sample()
    data = build_vseg(meta, tensors)
    assert data[:4] == b"VSEG"
    (ver, flags, align, n_kv, n_t, meta_size, data_off, stored, raw, dcrc, mcrc,
     res) = struct.unpack("<IIIQQQQQQIIQ", data[4:80])
    assert (ver, flags, align, n_kv, n_t, res) == (1, 0, 64, len(meta), len(tensors), 0)
    assert data_off % 64 == 0 and data_off >= HEADER_SIZE + meta_size
    assert data_off + stored == len(data) and stored == raw
    assert dcrc == zlib.crc32(data[data_off:])
    assert mcrc == zlib.crc32(data[:68] + data[80:80 + meta_size])
    f = read_vseg(data)
    assert f.metadata["n"] == 7 and f.meta_types["n"] == T_I64
    assert f.metadata["x"] == 0.25 and f.meta_types["x"] == T_F64
    assert f.metadata["s"] == "héllo" and f.meta_types["s"] == T_STR
    assert f.meta_types["ai"] == T_I64_ARRAY and f.metadata["ai"] == [1, 2, 3]
    assert f.meta_types["af"] == T_F64_ARRAY and f.metadata["af"] == [1.0, 2.5]
    assert f.meta_types["as"] == T_STR_ARRAY
    assert f.meta_types["input.mean"] == T_F64_ARRAY  # known key coerced
    assert f.metadata["empty"] == []
    assert list(f.tensors) == list(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(f.tensors[k], v)
        assert f.dtypes[k] == "f32"


def test_file_object_and_path(tmp_path):
    meta, tensors = sample()
    p = tmp_path / "a.vseg"
    n = write_vseg(str(p), meta, tensors)
    assert p.stat().st_size == n
    bio = io.BytesIO()
    write_vseg(bio, meta, tensors)
    assert bio.getvalue() == p.read_bytes()
    assert read_vseg(str(p)).metadata == read_vseg(io.BytesIO(bio.getvalue())).metadata


def test_deflate():
    meta, tensors = sample()
    plain = build_vseg(meta, tensors)
    d = build_vseg(meta, tensors, deflate=True)
    flags = struct.unpack("<I", d[8:12])[0]
    assert flags == 1
    stored, raw = struct.unpack("<QQ", d[48:64])
    assert stored < raw
    f = read_vseg(d)
    for k, v in tensors.items():
        np.testing.assert_array_equal(f.tensors[k], v)
    # same raw blob and CRC as the uncompressed file
    assert d[64:68] == plain[64:68]


def test_alignment_of_offsets():
    meta, tensors = sample()
    for align in (16, 64, 4096):
        f = read_vseg(build_vseg(meta, tensors, alignment=align, dtype="q8"))
        assert f.alignment == align


@pytest.mark.parametrize("where", ["meta", "header", "data"])
def test_crc_detection(where):
    meta, tensors = sample()
    data = bytearray(build_vseg(meta, tensors))
    meta_size, data_off = struct.unpack("<QQ", data[32:48])
    pos = {"meta": 80 + meta_size // 2, "header": 16, "data": data_off + 10}[where]
    data[pos] ^= 0x01
    with pytest.raises(VsegError):
        read_vseg(bytes(data))


def test_crc_detection_deflated():
    meta, tensors = sample()
    data = bytearray(build_vseg(meta, tensors, deflate=True))
    data[-8] ^= 0x40
    with pytest.raises(VsegError):
        read_vseg(bytes(data))


def test_structural_errors():
    meta, tensors = sample()
    data = build_vseg(meta, tensors)
    with pytest.raises(VsegError, match="magic"):
        read_vseg(b"XSEG" + data[4:])
    bad = bytearray(data)
    bad[4] = 2
    with pytest.raises(VsegError, match="version"):
        read_vseg(bytes(bad))
    with pytest.raises(VsegError):
        read_vseg(data[:-1])
    with pytest.raises(VsegError):
        read_vseg(data[:40])
    with pytest.raises(VsegError):
        build_vseg({"bad key!": 1}, {})
    with pytest.raises(VsegError):
        build_vseg({}, {"t": np.zeros((1, 1, 1, 1, 1), np.float32)})
    with pytest.raises(VsegError):
        build_vseg({"e": []}, {})


def test_q8_math():
    w = np.array([[[[0.5, -1.0]]], [[[0.0, 0.0]]], [[[2.0, 1.0]]]], np.float32)  # [3,1,1,2]
    q, s = quantize_q8(w)
    np.testing.assert_allclose(s, [1 / 127, 0.0, 2 / 127], rtol=1e-7)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q.reshape(3, 2), [[64, -127], [0, 0], [127, 64]])
    np.testing.assert_allclose(dequantize_q8(q, s), np.array(
        [[64 / 127, -1.0], [0, 0], [2.0, 128 / 127]], np.float32).reshape(w.shape), rtol=1e-6)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 5, 3, 3)).astype(np.float32)
    r = roundtrip_dtype(a, "q8")
    err = np.abs(r - a).reshape(8, -1).max(axis=1)
    assert np.all(err <= np.abs(a).reshape(8, -1).max(axis=1) / 127 / 2 * 1.0001)


def test_q8_layout_in_file():
    # numel 6 -> int8 values padded to 8 bytes, then 3 f32 scales: nbytes 20
    w = np.arange(6, dtype=np.float32).reshape(3, 2, 1, 1) - 2
    data = build_vseg({}, {"w": w}, dtype="q8")
    f = read_vseg(data)
    assert f.dtypes["w"] == "q8"
    _, _, _, _, _, meta_size, data_off = struct.unpack("<IIIQQQQ", data[4:48])
    d = data[80:80 + meta_size]
    nlen = struct.unpack("<I", d[:4])[0]
    dtype, ndim = struct.unpack("<II", d[4 + nlen:12 + nlen])
    dims = struct.unpack("<4Q", d[12 + nlen:44 + nlen])
    off, nbytes = struct.unpack("<QQ", d[44 + nlen:60 + nlen])
    assert (dtype, ndim, dims, off, nbytes) == (3, 4, (3, 2, 1, 1), 0, 20)
    blob = data[data_off:]
    assert blob[6:8] == b"\0\0"
    scales = np.frombuffer(blob[8:20], "<f4")
    np.testing.assert_allclose(scales, [2 / 127, 1 / 127, 3 / 127], rtol=1e-7)
    np.testing.assert_allclose(f.tensors["w"], w, atol=3 / 127 / 2)


def test_f16_bf16_and_what_gets_quantized():
    meta, tensors = sample()
    for dt in ("f16", "bf16", "q8"):
        f = read_vseg(build_vseg(meta, tensors, dtype=dt))
        assert f.dtypes["conv.weight"] == dt and f.dtypes["odd.weight"] == dt
        assert f.dtypes["conv.bias"] == "f32" and f.dtypes["vec"] == "f32"
        np.testing.assert_array_equal(f.tensors["conv.bias"], tensors["conv.bias"])
        np.testing.assert_array_equal(f.tensors["conv.weight"],
                                      roundtrip_dtype(tensors["conv.weight"], dt))
    f = read_vseg(build_vseg(meta, tensors, dtype="f16"))
    np.testing.assert_array_equal(f.tensors["conv.weight"],
                                  tensors["conv.weight"].astype(np.float16).astype(np.float32))


def test_bf16_rounding():
    x = np.array([1.0, 1.00390625, 1.005859375, -2.5, 3.0e38, np.inf, 1e-40], np.float32)
    b = f32_to_bf16_bits(x)
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7 -> even (1.0); 1+1.5*2^-8 rounds up
    np.testing.assert_array_equal(bf16_bits_to_f32(b)[:4], [1.0, 1.0, 1.0078125, -2.5])
    assert np.isinf(bf16_bits_to_f32(b)[5])
    assert np.isnan(bf16_bits_to_f32(f32_to_bf16_bits(np.array([np.nan], np.float32))))[0]


def test_arch_expected_tensors_and_fold():
    meta = {"general.architecture": "plain_unet", "plain_unet.base_channels": 4,
            "plain_unet.depth": 2, "input.channels": 1, "output.classes": ["a", "v"]}
    exp = arch.expected_tensors(meta)
    assert exp["enc0.conv1.weight"] == (4, 1, 3, 3)
    assert exp["up1.weight"] == (16, 8, 2, 2)
    assert exp["dec0.conv1.weight"] == (4, 8, 3, 3)
    assert exp["head.weight"] == (2, 4, 1, 1)
    rng = np.random.default_rng(0)
    t = {k: rng.uniform(0.5, 1.5, s).astype(np.float32) for k, s in exp.items()}
    folded = arch.fold_bn(meta, t)
    arch.validate_tensors(meta, folded, folded=True)
    assert "enc0.bn1.weight" not in folded and "enc0.conv1.bias" in folded
    # fold math on one channel
    s = t["enc0.bn1.weight"] / np.sqrt(t["enc0.bn1.running_var"].astype(np.float64) + 1e-5)
    np.testing.assert_allclose(folded["enc0.conv1.weight"],
                               t["enc0.conv1.weight"] * s[:, None, None, None], rtol=1e-6)
    np.testing.assert_allclose(folded["enc0.conv1.bias"],
                               t["enc0.bn1.bias"] - t["enc0.bn1.running_mean"] * s, rtol=1e-5)
    with pytest.raises(arch.ArchError, match="enc0.conv1.weight"):
        bad = dict(t)
        del bad["enc0.conv1.weight"]
        arch.validate_tensors(meta, bad)


def test_keras_param_count_matches_spec():
    m = {"general.architecture": "resnet_unet", "encoder.name": "resnet34",
         "encoder.style": "keras", "input.channels": 3, "output.classes": ["a", "v"]}
    assert arch.parameter_count(m) == 24_456_299  # spec section 1.7 (incl. BN moving stats)
    m["decoder.block"] = "transpose"
    assert arch.parameter_count(m) == 25_678_443


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "tiny_plain_unet.vseg")),
                    reason="fixtures not generated")
def test_committed_fixtures_read():
    a = read_vseg(os.path.join(DATA, "tiny_plain_unet.vseg"))
    b = read_vseg(os.path.join(DATA, "tiny_plain_unet_deflate.vseg"))
    q = read_vseg(os.path.join(DATA, "tiny_plain_unet_q8.vseg"))
    assert b.flags == 1 and a.flags == 0
    for k in a.tensors:
        np.testing.assert_array_equal(a.tensors[k], b.tensors[k])
    assert q.dtypes["enc0.conv1.weight"] == "q8"
    arch.validate_tensors(a.metadata, a.tensors)
