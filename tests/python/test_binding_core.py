"""The cffi binding (venseg._native): version, status, options, model, session, the
experimental tensor and calibration API, strides, errors and the GIL.

Expectations come from the headers' text, the fixture's README (golden output made by
PyTorch, hand-counted parameters and MACs) and numpy, not from the library itself.
"""

import math
import os
import re
import sys
import threading
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding, raised  # noqa: E402

vn = binding()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("VENSEG_TEST_DATA_DIR") or os.path.join(ROOT, "tests", "data")
TINY = os.path.join(DATA, "tiny_plain_unet.vseg")
UNET16 = os.path.join(ROOT, "weights", "unet16.vseg")
HEADER = os.path.join(ROOT, "include", "venseg", "venseg.h")


def _header():
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def _raises(status, fn, *args, **kwargs):
    e = raised(fn, *args, **kwargs)
    assert e.status == status, str(e)
    assert e.code == int(vn.Status[status[len("VENSEG_"):]])
    return e


@pytest.fixture(scope="module")
def tiny():
    with vn.Model(TINY) as m:
        yield m


@pytest.fixture(scope="module")
def unet16():
    if not os.path.exists(UNET16):
        pytest.skip("weights/unet16.vseg is absent")
    with vn.Model(UNET16) as m:
        yield m


def _phantom_frame(index=0, **kw):
    ph = vn.Phantom(seed=5, width=kw.pop("width", 192), height=kw.pop("height", 160), frames=40, **kw)
    return ph.frame(index)


# ------------------------------------------------------------------ version, status

def test_version_matches_the_header():
    h = _header()
    major, minor, patch = (int(re.search(rf"#define VENSEG_VERSION_{k} (\d+)", h).group(1))
                           for k in ("MAJOR", "MINOR", "PATCH"))
    assert vn.version() == re.search(r'#define VENSEG_VERSION_STRING "([^"]+)"', h).group(1)
    assert vn.version() == f"{major}.{minor}.{patch}"
    assert vn.version_number() == major * 10000 + minor * 100 + patch
    info = vn.build_info()
    assert "reference" in info["backends"].split(",")
    import venseg
    assert venseg.__version__ == vn.version()


def test_status_names_are_the_header_enum():
    body = re.search(r"typedef enum venseg_status \{(.*?)\} venseg_status;", _header(), re.S).group(1)
    pairs = re.findall(r"(VENSEG_\w+) = (\d+)", body)
    assert len(pairs) == 14
    for name, value in pairs:
        assert vn.status_name(int(value)) == name
        assert vn.Status[name[len("VENSEG_"):]] == int(value)
    assert vn.status_name(len(pairs) + 100) == "VENSEG_E_UNKNOWN"


def test_errors_carry_status_and_detail():
    e = _raises("VENSEG_E_IO", vn.Model, os.path.join(ROOT, "no-such-model.vseg"))
    assert "no-such-model.vseg" in e.detail and e.detail in str(e)
    assert isinstance(e, RuntimeError)
    # the detail is per thread and stays until the next call
    assert "no-such-model.vseg" in vn.last_error()
    _raises("VENSEG_E_BAD_FILE", vn.Model, b"this is not a weights file at all, not even close" * 4)


# ------------------------------------------------------------------ options

def test_options_defaults_set_get_and_bounds():
    o = vn.Options()
    # defaults as the header documents them
    assert o.get("backend") == vn.Backend.AUTO == 0
    assert o.get("threads") == 0
    assert o.get(vn.Option.PRECISION) == vn.Precision.FP32
    assert o.get("min_instance_area") == 16
    assert o.get("threshold_permille") == 0
    assert o.get("device") == 0
    o.set("backend", "reference")
    o.set("precision", "bf16")
    o.set(vn.Option.NUM_THREADS, 3)
    assert (o.get("backend"), o.get("precision"), o.get("threads")) == (1, 1, 3)
    assert vn.option_bounds("threads") == (0, 1024)
    assert vn.option_bounds("precision") == (0, 4)  # 4: AUTO (0.3.0)
    assert vn.option_bounds("backend") == (0, 3)
    _raises("VENSEG_E_INVALID_ARGUMENT", o.set, "threads", 1025)
    _raises("VENSEG_E_INVALID_ARGUMENT", o.set, "threads", -1)
    assert o.get("threads") == 3  # unchanged by the failed calls
    _raises("VENSEG_E_INVALID_ARGUMENT", o.set, "backend", "tpu")  # unknown name
    _raises("VENSEG_E_INVALID_ARGUMENT", o.set, 999, 1)  # unknown key, through C
    _raises("VENSEG_E_INVALID_ARGUMENT", o.get, 999)
    _raises("VENSEG_E_INVALID_ARGUMENT", vn.option_bounds, 999)
    o.close()
    o.close()


def test_session_config_defaults_and_abi1_aliases():
    """venseg_session_config_* with defaults; the ABI 1 names (venseg_options_*,
    venseg_option_bounds) are aliases of the same object."""
    assert vn.option_bounds_default("min_instance_area")[2] == 16
    assert vn.option_bounds_default("threads") == (0, 1024, 0)
    lib, ffi = vn._lib, vn.ffi  # the recorded library: aliases count as called
    p = ffi.new("venseg_options **")
    assert lib.venseg_options_create(p) == 0
    v, lo, hi = ffi.new("int64_t *"), ffi.new("int64_t *"), ffi.new("int64_t *")
    assert lib.venseg_options_set(p[0], int(vn.Option.NUM_THREADS), 5) == 0
    assert lib.venseg_session_config_get(p[0], int(vn.Option.NUM_THREADS), v) == 0 and v[0] == 5
    assert lib.venseg_options_get(p[0], int(vn.Option.NUM_THREADS), v) == 0 and v[0] == 5
    assert lib.venseg_option_bounds(int(vn.Option.NUM_THREADS), lo, hi) == 0 and (lo[0], hi[0]) == (0, 1024)
    lib.venseg_options_free(p[0])


def test_model_class_names_and_abi1_aliases(tiny):
    lib, ffi = vn._lib, vn.ffi
    n, name = ffi.new("int32_t *"), ffi.new("const char **")
    assert lib.venseg_model_num_classes(tiny.handle, n) == 0 and n[0] == tiny.num_classes
    assert lib.venseg_model_class_name(tiny.handle, 0, name) == 0
    assert ffi.string(name[0]).decode() == tiny.class_names[0]


def test_experimental_option_by_name():
    """venseg_experimental.h's option macros (keys >= 1000) by their short names."""
    assert vn.EXPERIMENTAL_OPTIONS["allow_tf32"] == vn.library().VENSEG_OPT_ALLOW_TF32 == 1000
    o = vn.Options(allow_tf32=1)
    assert o.get("allow_tf32") == o.get("ALLOW_TF32") == o.get(1000) == 1
    o.set("allow_tf32", 0)
    assert o.get(1000) == 0
    _raises("VENSEG_E_INVALID_ARGUMENT", o.set, "allow_tf32", 2)  # range checked in C
    o.close()
    assert vn.EXPERIMENTAL_OPTIONS["flip_average"] == 1001
    assert vn.Options(flip_average=1).get("flip_average") == 1


# ------------------------------------------------------------------ model

def test_model_metadata_from_file_and_memory(tiny):
    with open(TINY, "rb") as f:
        blob = f.read()
    for m in (tiny, vn.Model.from_bytes(blob)):
        assert m.input_size == (32, 32, 1)  # README: input.width/height 32, channels 1
        assert m.num_classes == 2 and m.class_names == ["artery", "vein"]
        assert m.meta_string("general.name") == "tiny_plain_unet"
        assert m.meta_string("output.activation") == "sigmoid"
        assert m.meta_int("plain_unet.base_channels") == 4
        assert m.meta_double("output.threshold") == 0.5
        assert m.meta_double("plain_unet.bn_eps") == pytest.approx(1e-5)
    _raises("VENSEG_E_NOT_FOUND", tiny.meta_string, "no.such.key")
    _raises("VENSEG_E_NOT_FOUND", tiny.meta_int, "no.such.key")
    _raises("VENSEG_E_NOT_FOUND", tiny.meta_double, "no.such.key")
    _raises("VENSEG_E_NOT_FOUND", tiny.class_name, 2)
    # truncated file
    _raises("VENSEG_E_BAD_FILE", vn.Model, blob[: len(blob) // 2])


def _tiny_layers():
    """(kind, in, out, output side) of the tiny plain UNet at 32x32 (tests/data/README.md)."""
    return [("3x3", 1, 4, 32), ("3x3", 4, 4, 32), ("3x3", 4, 8, 16), ("3x3", 8, 8, 16),
            ("3x3", 8, 16, 8), ("3x3", 16, 16, 8), ("up", 16, 8, 16), ("3x3", 16, 8, 16), ("3x3", 8, 8, 16),
            ("up", 8, 4, 32), ("3x3", 8, 4, 32), ("3x3", 4, 4, 32), ("1x1", 4, 2, 32)]


def test_model_counts_and_tensor_directory(tiny):
    layers = _tiny_layers()
    # MACs: output pixels x in x out x taps (2x2/2 transposed conv: one tap per output)
    taps = {"3x3": 9, "1x1": 1, "up": 1}
    macs = sum(taps[k] * ci * co * s * s for k, ci, co, s in layers)
    assert tiny.macs(32, 32) == macs == 1585152
    assert tiny.macs(64, 64) == 4 * macs
    _raises("VENSEG_E_INVALID_ARGUMENT", tiny.macs, 0, 32)
    # learned parameters: conv weights, BN weight + bias, biases of the up-convs and head
    params = 0
    for k, ci, co, _ in layers:
        params += {"3x3": 9, "1x1": 1, "up": 4}[k] * ci * co
        params += 2 * co if k == "3x3" else co  # BN gamma, beta / bias
    assert tiny.parameter_count == params == 7482
    assert tiny.input_multiple == 4  # 2 ** depth
    from venseg.toolkit.weights import read_vseg  # the pure-Python reader, an independent parser
    ref = read_vseg(TINY).tensors
    infos = tiny.tensors()
    assert tiny.tensor_count == len(ref) == 56
    assert [t.name for t in infos] == list(ref)
    assert all(t.shape == ref[t.name].shape for t in infos)
    _raises("VENSEG_E_NOT_FOUND", tiny.tensor_info, 56)


def test_closed_objects_raise_bad_state():
    m = vn.Model(TINY)
    m.close()
    _raises("VENSEG_E_BAD_STATE", lambda: m.input_size)
    # a session keeps the C model alive after the Python model is closed
    m2 = vn.Model(TINY)
    s = vn.Session(m2, threads=1)
    m2.close()
    assert s.segment(np.zeros((8, 8), np.uint8)).shape == (8, 8)
    s.close()


# ------------------------------------------------------------------ session

def test_session_reports_what_it_runs(tiny):
    with vn.Session(tiny, threads=1, backend="reference") as s:
        assert s.backend == vn.Backend.REFERENCE and s.precision == vn.Precision.FP32 and s.threads == 1
        assert s.describe().startswith("reference")
        _raises("VENSEG_E_INVALID_ARGUMENT", s.get, 999)
    opts = vn.Options(backend="reference", threads=2)
    with vn.Session(tiny, options=opts) as s:
        assert s.threads == 2
    with vn.Session(tiny, options={vn.OPT_NUM_THREADS: 1, "min_instance_area": 4}) as s:
        assert s.get("min_instance_area") == 4 and s.threads == 1
    if "cuda" not in vn.build_info()["backends"]:
        _raises("VENSEG_E_UNSUPPORTED", vn.Session, tiny, backend="cuda")


def test_run_tensor_matches_the_pytorch_golden(tiny):
    x = np.fromfile(os.path.join(DATA, "tiny_plain_unet_input.bin"), "<f4").reshape(1, 1, 32, 32)
    golden = np.fromfile(os.path.join(DATA, "tiny_plain_unet_golden.bin"), "<f4").reshape(1, 2, 32, 32)
    with vn.Session(tiny, threads=1, backend="reference") as s:
        y = s.run_tensor(x)
        assert y.shape == (1, 2, 32, 32) and np.abs(y - golden).max() < 1e-4
        logits = s.run_tensor(x, apply_activation=False)
        assert np.abs(1 / (1 + np.exp(-logits.astype(np.float64))) - golden).max() < 1e-4
        out = np.empty((2, 2, 32, 32), np.float32)
        s.run_tensor(np.concatenate([x, x]), out=out)
        assert np.abs(out[1] - golden[0]).max() < 1e-4
        _raises("VENSEG_E_INVALID_ARGUMENT", s.run_tensor, np.zeros((1, 1, 30, 32), np.float32))  # not x4
        _raises("VENSEG_E_INVALID_ARGUMENT", s.run_tensor, np.zeros((1, 3, 32, 32), np.float32))  # channels


def _components(mask, label):
    """Connected components (8-neighbour flood fill) of a label: list of pixel index arrays."""
    seen = np.zeros(mask.shape, bool)
    comps = []
    for y0, x0 in zip(*np.nonzero(mask == label)):
        if seen[y0, x0]:
            continue
        stack, pix = [(y0, x0)], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            pix.append((y, x))
            for yy, xx in ((y + dy, x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
                if 0 <= yy < mask.shape[0] and 0 <= xx < mask.shape[1] and not seen[yy, xx] \
                        and mask[yy, xx] == label:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        comps.append(np.array(pix))
    return comps


def test_segment_instances_spacing_and_roi(unet16):
    px, truth = _phantom_frame()
    with vn.Session(unet16, threads=1) as s:
        mask = s.segment(px)
        assert mask.dtype == np.uint8 and mask.shape == px.shape
        # the model labels something here (its quality is the model card's business; the
        # instances below are checked against the mask's own components)
        assert (mask > 0).sum() > 100 and truth.any()
        insts = s.instances
        assert s.instance_count == len(insts) >= 1
        assert [i.label for i in insts] == sorted(i.label for i in insts)
        for inst in insts:
            comps = _components(mask, inst.label)
            match = [c for c in comps if len(c) == inst.area_px]
            assert match, (inst, [len(c) for c in comps])
            ys, xs = match[0][:, 0], match[0][:, 1]
            assert inst.centroid_x == pytest.approx(xs.mean() + 0.5)
            assert inst.centroid_y == pytest.approx(ys.mean() + 0.5)
            assert (inst.bbox_x, inst.bbox_y) == (xs.min(), ys.min())
            assert (inst.bbox_width, inst.bbox_height) == (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
            assert inst.equivalent_diameter_px == pytest.approx(math.sqrt(4 * inst.area_px / math.pi))
            assert math.isnan(inst.area_mm2) and math.isnan(inst.equivalent_diameter_mm)
            assert 0.5 < inst.mean_probability <= 1.0
        _raises("VENSEG_E_NOT_FOUND", s.instance, len(insts))
        s.set_pixel_spacing(0.1, 0.2)
        s.segment(px)
        for inst in s.instances:
            assert inst.area_mm2 == pytest.approx(inst.area_px * 0.1 * 0.2)
        _raises("VENSEG_E_INVALID_ARGUMENT", s.set_pixel_spacing, -1.0, 0.1)
        # ROI: outside it every label is 0
        s.set_roi(0, 0, px.shape[1] // 2, px.shape[0])
        roi_mask = s.segment(px)
        assert not roi_mask[:, px.shape[1] // 2:].any()
        _raises("VENSEG_E_INVALID_ARGUMENT", s.set_roi, -1, 0, 10, 10)
        s.set_roi()
        assert (s.segment(px) == mask).all()


def test_segment_pixel_formats_agree(unet16):
    px, _ = _phantom_frame()
    with vn.Session(unet16, threads=1) as s:
        ref = s.segment(px)
        rgb = np.repeat(px[:, :, None], 3, axis=2)
        assert (s.segment(rgb) == ref).all()
        assert (s.segment(np.ascontiguousarray(rgb[:, :, ::-1]), bgr=True) == ref).all()
        assert (s.segment(px.astype(np.uint16) * 257) == ref).all()  # 257 maps 0..255 onto 0..65535
        f = s.segment(px.astype(np.float32) / 255)
        assert (f == ref).mean() > 0.999
        big_endian = (px.astype(np.uint16) * 257).astype(">u2")
        assert (s.segment(big_endian) == ref).all()
        m, probs = s.segment(px, probabilities=True)
        assert (m == ref).all() and probs.shape == (2,) + px.shape
        assert probs.min() >= 0 and probs.max() <= 1
        # sigmoid model, threshold 0.5: a labelled pixel's class probability is above it
        for label in (1, 2):
            assert (probs[label - 1][m == label] > 0.5).all()
        _raises("VENSEG_E_INVALID_ARGUMENT", s.segment, px.astype(np.int32))
        _raises("VENSEG_E_INVALID_ARGUMENT", s.segment, np.zeros((0, 16), np.uint8))  # rejected by C


def _spy(monkeypatch, name):
    """Records the arguments of the next calls of one C function through the binding."""
    calls = []
    real = vn._lib

    class Spy:
        def __getattr__(self, attr):
            fn = getattr(real, attr)
            if attr != name:
                return fn

            def call(*args):
                calls.append(args)
                return fn(*args)
            return call

    monkeypatch.setattr(vn, "_lib", Spy())
    return calls


def _address(cdata):
    return int(vn.ffi.cast("uintptr_t", cdata))


def test_strided_views_are_passed_without_copies(unet16, monkeypatch):
    px, _ = _phantom_frame(width=256, height=224)
    with vn.Session(unet16, threads=1) as s:
        canvas = np.zeros((300, 400), np.uint8)
        canvas[30:254, 50:306] = px
        view = canvas[30:254, 50:306]  # rows 400 bytes apart
        out_canvas = np.full((250, 300), 77, np.uint8)
        out = out_canvas[10:234, 20:276]
        probs_canvas = np.zeros((2, 224, 300), np.float32)
        probs_out = probs_canvas[:, :, :256]  # rows 300 floats apart, planes 224 rows apart
        calls = _spy(monkeypatch, "venseg_segment")
        mask, probs = s.segment(view, out=out, prob_out=probs_out)
        (args,) = calls
        assert _address(args[1]) == view.__array_interface__["data"][0] and args[5] == 400
        assert _address(args[6]) == out.__array_interface__["data"][0] and args[7] == 300
        assert _address(args[8]) == probs_out.__array_interface__["data"][0] and args[9] == 300
        assert mask is out or np.shares_memory(mask, out_canvas)
        monkeypatch.undo()
        ref, ref_probs = s.segment(px, probabilities=True)
        assert (out == ref).all() and (probs_out == ref_probs).all()
        assert (out_canvas[:10] == 77).all() and (out_canvas[:, :20] == 77).all()  # nothing outside written
        # a column-strided view cannot be passed as is: copied, same result
        wide = np.zeros((224, 512), np.uint8)
        wide[:, ::2] = px
        assert (s.segment(wide[:, ::2]) == ref).all()
        _raises("VENSEG_E_INVALID_ARGUMENT", s.segment, px, out=np.zeros((224, 256), np.int16))
        _raises("VENSEG_E_INVALID_ARGUMENT", s.segment, px, out=np.zeros((10, 10), np.uint8))
        _raises("VENSEG_E_INVALID_ARGUMENT", s.segment, px, prob_out=np.zeros((2, 10, 10), np.float32))


# ------------------------------------------------------------------ calibration (experimental)

def test_calibration_records_input_range(tiny):
    x = np.fromfile(os.path.join(DATA, "tiny_plain_unet_input.bin"), "<f4").reshape(1, 32, 32)
    with vn.Calibration(tiny) as cal:
        cal.add_tensor(0.5 * x)
        cal.add_tensor(x)
        entries = cal.entries()
        assert len(cal) == len(entries) > 1
        assert cal.entry(0)[0] == "input"
        assert entries["input"] == pytest.approx(float(np.abs(x).max()), rel=1e-6)
        assert all(v >= 0 for v in entries.values())
        _raises("VENSEG_E_NOT_FOUND", cal.entry, len(cal))
        # a frame: gray8 is scaled by input.scale 1/255 (mean 0, std 1, stretch resize)
        cal.add_frame(np.full((16, 16), 255, np.uint8))
        assert cal.entries()["input"] == pytest.approx(1.0, rel=1e-6)
        _raises("VENSEG_E_INVALID_ARGUMENT", cal.add_tensor, np.zeros((1, 30, 30), np.float32))
        try:
            s = vn.Session(tiny, threads=1, precision="int8", calibration=cal)
        except vn.VensegError as e:  # int8 needs the oneDNN backend
            assert e.status == "VENSEG_E_UNSUPPORTED", str(e)
        else:
            assert s.precision == vn.Precision.INT8
            golden = np.fromfile(os.path.join(DATA, "tiny_plain_unet_golden.bin"), "<f4").reshape(1, 2, 32, 32)
            assert np.abs(s.run_tensor(x[None]) - golden).max() < 0.05
            s.close()


def test_int8_without_ranges_names_the_python_remedy(tiny):
    """int8 on a model file without stored ranges: the error says venseg.Calibration, not the
    C calls (issue 17.6). Without oneDNN the backend refuses int8 first."""
    e = raised(vn.Session, tiny, threads=1, precision="int8")
    assert e.status == "VENSEG_E_UNSUPPORTED", str(e)
    if "onednn" in vn.build_info().get("backends", ""):
        assert "venseg.Calibration(model)" in str(e) and "calibration=cal" in str(e), str(e)
        assert "venseg_calibration_" not in str(e) and "venseg_session_create" not in str(e), str(e)


# ------------------------------------------------------------------ the GIL

def _python_progress_inside(call):
    """Loop iterations of a Python thread that fall inside the middle half of 3 calls of
    call(). The switch interval is raised to 1 s so that the GIL never changes hands by
    force during a call: the spinning thread can only run while the caller releases it
    (and it yields after each iteration, so the caller gets it back at once)."""
    stamps, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    t = threading.Thread(target=spin)
    try:
        call()  # warm-up (plans the network)
        t.start()
        time.sleep(0.01)
        spans = []
        for _ in range(3):
            t0 = time.perf_counter()
            call()
            spans.append((t0, time.perf_counter()))
    finally:
        stop.set()
        if t.is_alive():
            t.join()
        sys.setswitchinterval(old)
    st = np.array(stamps)
    return sum(int(((st > a + (b - a) / 4) & (st < b - (b - a) / 4)).sum()) for a, b in spans)


def test_the_gil_is_released_during_inference(unet16):
    px = np.tile(_phantom_frame()[0], (4, 4))
    with vn.Session(unet16, threads=1) as s:
        assert _python_progress_inside(lambda: s.segment(px)) > 0
        # control: the same call through ctypes.PyDLL, which holds the GIL, shows none
        lib_path = os.environ.get("VENSEG_LIBRARY")
        if lib_path:
            import ctypes
            lib = ctypes.PyDLL(lib_path)
            lib.venseg_segment.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int32,
                                           ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                           ctypes.c_void_p, ctypes.c_int64]
            mask = np.empty(px.shape, np.uint8)
            h = int(vn.ffi.cast("uintptr_t", s.handle))
            w = px.shape[1]
            assert _python_progress_inside(lambda: lib.venseg_segment(
                h, px.ctypes.data, 1, w, px.shape[0], w, mask.ctypes.data, w, None, 0)) == 0


def test_two_threads_give_the_same_masks(unet16):
    frames = [_phantom_frame(i)[0] for i in (0, 10, 20, 30)]
    with vn.Session(unet16, threads=1) as s:
        expected = [s.segment(f) for f in frames]
    results = {}

    def work(k):
        with vn.Session(unet16, threads=1) as s:
            results[k] = [s.segment(f) for f in frames]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        assert all((a == b).all() for a, b in zip(results[k], expected))
