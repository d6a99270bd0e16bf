"""What the Python binding adds to a venseg_segment call; prints JSON.

    PYTHONPATH=build/release/python:bindings/python python benchmarks/bench_python_overhead.py \\
        [--model weights/resunet34.vseg] [--size 256 256] [--threads 1] [--backend auto] [--iters 40]

Two loops segment the same 256 x 256 grey frame with the same session, alternating call by
call so that both see the same machine load:
  * C:      a loop written in C (compiled here with cffi) that calls venseg_segment through
            its function pointer and times each call with clock_gettime;
  * Python: session.segment(frame) (argument checks, output allocation, the cffi call,
            the status check), each call timed with time.perf_counter.
overhead_percent = (median Python - median C) / median C x 100; the goal is < 5 %.
On a loaded machine those medians are noisy, so the Python layer's cost is also measured
alone: session.segment with the C call replaced by a stub (wrapper_us), plus the bare cffi
call of venseg_segment on arguments it rejects at once (cffi_call_us);
overhead_estimate_percent = (wrapper_us + cffi_call_us) / median C x 100.
Then the same frames through 1 and 2 Python threads (a session each, --threads each):
two_thread_speedup = throughput of 2 / throughput of 1 (up to 2 where two cores are free;
the GIL is released inside the calls).
Needs a C compiler and the Python headers (as building the binding does).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

C_LOOP = r"""
#include <stdint.h>
#include <time.h>
typedef int (*segment_fn)(void *, const void *, int, int32_t, int32_t, int64_t, uint8_t *, int64_t, float *,
                          int64_t);
static int segment_loop(uintptr_t fn, void *session, const void *pixels, int format, int32_t width,
                        int32_t height, int64_t stride, uint8_t *mask, int n, double *ms)
{
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int status = ((segment_fn)fn)(session, pixels, format, width, height, stride, mask, width, 0, 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (status)
            return status;
        ms[i] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    }
    return 0;
}
"""


def c_loop_module(tmp):
    import cffi
    ffi = cffi.FFI()
    ffi.cdef("int segment_loop(uintptr_t fn, void *session, const void *pixels, int format, int32_t width,"
             " int32_t height, int64_t stride, uint8_t *mask, int n, double *ms);")
    ffi.set_source("_venseg_bench_loop", C_LOOP, extra_compile_args=["-O2"])
    path = ffi.compile(tmpdir=tmp)
    sys.path.insert(0, os.path.dirname(path))
    import _venseg_bench_loop
    return _venseg_bench_loop


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "weights", "resunet34.vseg"))
    ap.add_argument("--size", nargs=2, type=int, default=(256, 256), metavar=("W", "H"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    import venseg
    from venseg import _native

    w, h = args.size
    ph = venseg.Phantom(seed=1, width=w, height=h, frames=2)
    frame, _ = ph.frame(0)
    with tempfile.TemporaryDirectory() as tmp, venseg.Model(args.model) as model, \
            venseg.Session(model, threads=args.threads, backend=args.backend) as s:
        loop = c_loop_module(tmp)
        fn = int(_native.ffi.cast("uintptr_t", _native.ffi.addressof(_native.library(), "venseg_segment")))
        session_ptr = int(_native.ffi.cast("uintptr_t", s.handle))
        mask = np.empty((h, w), np.uint8)
        ms = loop.ffi.new("double[1]")

        def c_call():
            st = loop.lib.segment_loop(fn, loop.ffi.cast("void *", session_ptr),
                                       loop.ffi.cast("void *", frame.ctypes.data), int(venseg.PixelFormat.GRAY8),
                                       w, h, w, loop.ffi.cast("uint8_t *", mask.ctypes.data), 1, ms)
            assert st == 0, st
            return ms[0]

        def py_call():
            t0 = time.perf_counter()
            s.segment(frame)
            return (time.perf_counter() - t0) * 1e3

        for _ in range(args.warmup):
            c_call()
            py_call()
        c_ms, py_ms = [], []
        for i in range(args.iters):  # alternate, starting with either, so both share the load
            if i % 2:
                c_ms.append(c_call())
                py_ms.append(py_call())
            else:
                py_ms.append(py_call())
                c_ms.append(c_call())
        assert (s.segment(frame) == mask).all()
        c_med, py_med = statistics.median(c_ms), statistics.median(py_ms)
        speedup = thread_scaling(model, frame, args)
        wrapper_us, call_us = python_layer_cost_us(s, frame)
        print(json.dumps({
            "benchmark": "bench_python_overhead",
            "model": os.path.relpath(args.model, ROOT), "width": w, "height": h, "threads": args.threads,
            "session": s.describe(), "iters": args.iters, "python": sys.version.split()[0],
            "c_median_ms": round(c_med, 4), "python_median_ms": round(py_med, 4),
            "c_min_ms": round(min(c_ms), 4), "python_min_ms": round(min(py_ms), 4),
            "overhead_ms": round(py_med - c_med, 4),
            "overhead_percent": round((py_med - c_med) / c_med * 100, 3),
            "overhead_percent_min": round((min(py_ms) - min(c_ms)) / min(c_ms) * 100, 3),
            "wrapper_us": round(wrapper_us, 2), "cffi_call_us": round(call_us, 2),
            "overhead_estimate_percent": round((wrapper_us + call_us) / 1e3 / c_med * 100, 4),
            "goal_percent": 5.0,
            "two_thread_speedup": round(speedup, 3),
        }, indent=2))


def python_layer_cost_us(session, frame, n=3000):
    from venseg import _native
    real, ffi = _native._lib, _native.ffi

    class Stub:  # venseg_segment returns at once; everything else is the real library
        def __getattr__(self, name):
            return (lambda *a: 0) if name == "venseg_segment" else getattr(real, name)

    _native._lib = Stub()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            session.segment(frame)
        wrapper = (time.perf_counter() - t0) / n * 1e6
    finally:
        _native._lib = real
    null = ffi.NULL
    t0 = time.perf_counter()
    for _ in range(n):
        real.venseg_segment(null, null, 1, 1, 1, 1, null, 1, null, 0)  # VENSEG_E_INVALID_ARGUMENT
    return wrapper, (time.perf_counter() - t0) / n * 1e6


def thread_scaling(model, frame, args, frames_per_thread=8):
    import threading
    import venseg

    def work():
        with venseg.Session(model, threads=args.threads, backend=args.backend) as s:
            s.segment(frame)
            start.wait()
            for _ in range(frames_per_thread):
                s.segment(frame)

    rates = []
    for n in (1, 2):
        start = threading.Event()
        threads = [threading.Thread(target=work) for _ in range(n)]
        for t in threads:
            t.start()
        time.sleep(0.2)  # sessions created and warmed up
        t0 = time.perf_counter()
        start.set()
        for t in threads:
            t.join()
        rates.append(n * frames_per_thread / (time.perf_counter() - t0))
    return rates[1] / rates[0]


if __name__ == "__main__":
    main()
