#!/usr/bin/env python3
"""Side-by-side latency of libvenseg, PyTorch, ONNX Runtime and OpenVINO on the same weights.

One .vseg file (default: a seeded random smp-resnet34 made on the fly; ``--model PATH`` for
another) runs at one input size (default 256 x 256), batch 1 and one thread count (default
2) in every engine, in ONE run: the engines are interleaved over repeated rounds (a shuffled
order each round) so that the noise of a shared machine hits all of them alike.

* libvenseg through the C harness ``bench_segment`` (``--bench``; it prints JSON): the
  reference backend in fp32 (few iterations: it is slow), oneDNN fp32, bf16 and int8
  (``--calibrate N`` seeded random inputs). One harness process per engine and round.
* PyTorch (eager fp32 NCHW, eager fp32 channels_last, traced + frozen fp32 channels_last,
  bf16 model cast + channels_last + traced + frozen, autocast bf16 channels_last), ONNX
  Runtime (fp32; int8 = quantize_static QDQ, per-channel s8 weights, u8 activations,
  MinMax calibration on seeded random inputs) and OpenVINO (fp32; bf16 by the inference
  precision hint; int8 through NNCF when it is installed). The ONNX model is the .vseg file's
  export by venseg.toolkit.onnx_io (docs/onnx.md). Each of these three engines lives in one
  persistent worker process (this script with ``--worker``), so set-up, tracing and
  compilation stay out of the rounds.

Every engine checks its output against PyTorch fp32 on one seeded input (max |delta logit|),
so a fast but wrong configuration shows; libvenseg's output comes from the cffi binding
(venseg._native) built for the library beside the harness (the driver's Python needs cffi and
a C compiler for it; without them the check is skipped with a note). Writes ``benchmarks/results/compare-<tag>.json``,
``.md`` and ``.png`` (``-quick`` added with ``--quick``) and prints the Markdown table.

Run it with a Python that has numpy and cffi (the driver), and give the engines' interpreter with
``--python`` (default: this one): torch, segmentation_models_pytorch (else venseg.toolkit.reference
builds the same network), onnxruntime, openvino, nncf (optional) and matplotlib.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the workers' environment (see
shared/reference/perf-baseline.md); OMP/OpenBLAS thread counts are set to --threads.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYBIND = ROOT / "bindings" / "python"

PREC_ORDER = {"fp32": 0, "bf16": 1, "int8": 2}
ENGINE_ORDER = {"libvenseg": 0, "PyTorch": 1, "ONNX Runtime": 2, "OpenVINO": 3}


# =================================================================== helpers (both sides)

def pct(v, p):
    """Linear-interpolated percentile, as bench_segment computes it."""
    s = sorted(v)
    if not s:
        return float("nan")
    pos = p / 100.0 * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def seeded_input(seed, channels, h, w):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, (1, channels, h, w)).astype(np.float32)


CHECK_SEED = 1           # the input every engine's output is checked on
TIMED_SEED = 0           # the input the Python engines are timed on
CALIB_SEED0 = 100        # calibration inputs: seeds 100, 101, ...


def worker_env(threads):
    env = dict(os.environ)
    # perf-baseline.md: these OpenBLAS overrides slow numpy / PyTorch here; benchmark only.
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env["PYTHONPATH"] = str(PYBIND) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


# =================================================================== worker side

def torch_model_from_vseg(path):
    """The PyTorch module of a .vseg file with its weights (BN folded files: every folded
    BN becomes an identity BN that carries the folded bias, so the module is the usual
    conv -> BN one). Returns (model in eval mode, description, metadata)."""
    import torch  # noqa: F401
    from venseg.toolkit import arch as A
    from venseg.toolkit import reference as R
    from venseg.toolkit.weights import read_vseg

    f = read_vseg(path)
    meta = f.metadata
    t = {k: np.asarray(v, np.float32) for k, v in f.tensors.items()}
    cin = int(meta["input.channels"])
    classes = len(meta["output.classes"])
    kind = ""
    if meta["general.architecture"] == "resnet_unet":
        r = A.resnet_meta(meta)
        m = None
        if (r["style"] == "torchvision" and r["block"] == "upsample" and r["convs"] == 2
                and r["head_kernel"] == 3):
            try:
                import segmentation_models_pytorch as smp

                m = smp.Unet(encoder_name=r["name"], encoder_weights=None, in_channels=cin,
                             classes=classes, decoder_channels=list(r["channels"]))
                kind = f"segmentation_models_pytorch {smp.__version__} Unet({r['name']})"
            except ImportError:
                m = None
        if m is None:
            m = R.ResNetUnet(r["name"], r["style"], r["block"], r["channels"], r["convs"], classes,
                             cin, r["encoder_eps"], r["decoder_eps"], r["head_kernel"])
            kind = f"venseg.toolkit.reference.ResNetUnet({r['name']}, {r['style']}, {r['block']})"
    else:
        p = A.plain_meta(meta)
        m = R.PlainUnet(cin, classes, p["base"], p["depth"], p["eps"])
        kind = f"venseg.toolkit.reference.PlainUnet(base {p['base']}, depth {p['depth']})"
    sd = m.state_dict()
    for conv, bn, _tr in A.fold_pairs(meta):
        if bn + ".running_mean" in t or bn + ".running_mean" not in sd:
            continue  # stored unfolded, or the module has no such BN
        c = sd[bn + ".running_mean"].numel()
        eps = A.bn_eps(meta, bn)
        beta = np.zeros(c, np.float32)
        if conv + ".bias" in t and conv + ".bias" not in sd:
            beta = t.pop(conv + ".bias")
        if bn + ".weight" in sd:
            t[bn + ".weight"] = np.ones(c, np.float32)
        t[bn + ".bias"] = beta
        t[bn + ".running_mean"] = np.zeros(c, np.float32)
        t[bn + ".running_var"] = np.full(c, 1.0 - eps, np.float32)  # sqrt(var + eps) = 1
    want = {k for k in sd if not k.endswith("num_batches_tracked")}
    missing, extra = sorted(want - set(t)), sorted(set(t) - want)
    if missing or extra:
        raise RuntimeError(f"weights do not fit {kind}: missing {missing[:5]}, unexpected {extra[:5]}")
    R.load_numpy_state(m, t)
    return m.float().eval(), kind, meta


class Worker:
    """Base of the three worker kinds: self.modes maps a mode name to (precision, run, info)."""

    def __init__(self, args):
        self.args = args
        self.modes = {}
        self.skipped = []   # (precision, mode, reason)
        self.info = {}

    def add(self, precision, mode, setup):
        """setup() -> (run callable, output callable, dict info); failures become skips."""
        t0 = time.perf_counter()
        try:
            run, out, info = setup()
            for _ in range(3):   # the JIT profiling executor optimises on the 2nd call
                run()
            ref = np.load(self.args.ref) if self.args.ref and os.path.exists(self.args.ref) else None
            if ref is not None and out is not None:
                info["max_abs_dlogit"] = float(np.max(np.abs(out().astype(np.float64) - ref)))
                info["rel_dlogit"] = info["max_abs_dlogit"] / float(np.max(np.abs(ref)))
            info["setup_s"] = round(time.perf_counter() - t0, 2)
            self.modes[mode] = (precision, run, info)
        except Exception as e:  # noqa: BLE001 - one failing mode must not stop the others
            traceback.print_exc()
            self.skipped.append((precision, mode, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"))

    def serve(self, proto):
        def send(obj):
            proto.write(json.dumps(obj) + "\n")
            proto.flush()

        send({"ready": True, "info": self.info,
              "modes": {k: {"precision": v[0], **v[2]} for k, v in self.modes.items()},
              "skipped": self.skipped})
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd.get("quit"):
                break
            _, run, _ = self.modes[cmd["mode"]]
            for _ in range(cmd.get("warmup", 1)):
                run()
            ts = []
            for _ in range(cmd["iters"]):
                t0 = time.perf_counter()
                run()
                ts.append((time.perf_counter() - t0) * 1e3)
            send({"samples_ms": ts})


class TorchWorker(Worker):
    def __init__(self, args):
        super().__init__(args)
        import copy

        import torch

        torch.set_num_threads(args.threads)
        torch.set_grad_enabled(False)
        model, kind, meta = torch_model_from_vseg(args.model)
        c = int(meta["input.channels"])
        w, h = args.size
        x = torch.from_numpy(seeded_input(TIMED_SEED, c, h, w))
        xc = torch.from_numpy(seeded_input(CHECK_SEED, c, h, w))
        ref = model(xc).double().numpy()
        np.save(args.ref, ref)
        self.info = {"torch": torch.__version__, "module": kind, "threads": torch.get_num_threads(),
                     "mkldnn": re.search(r"MKL-DNN v([\d.]+)", torch.__config__.show()).group(1)
                     if "MKL-DNN v" in torch.__config__.show() else "?"}
        if args.onnx:  # the graph of `python -m venseg.convert --to-onnx`, fixed to the timed size
            from venseg.toolkit.onnx_io import vseg_to_onnx

            vseg_to_onnx(args.model, args.onnx, opset=args.opset, logits=True, input_shape=(1, h, w))
            self.info["onnx_opset"] = args.opset
        cl = torch.channels_last

        def out_of(fn, xin):
            return lambda: fn(xin).float().numpy()

        def eager_nchw():
            return (lambda: model(x)), out_of(model, xc), {"what": "eager, NCHW"}

        def eager_cl():
            m = copy.deepcopy(model).to(memory_format=cl)
            xx, xxc = x.contiguous(memory_format=cl), xc.contiguous(memory_format=cl)
            return (lambda: m(xx)), out_of(m, xxc), {"what": "eager, channels_last"}

        def frozen(dtype):
            def setup():
                m = copy.deepcopy(model).to(dtype=dtype, memory_format=cl)
                xx = x.to(dtype).contiguous(memory_format=cl)
                xxc = xc.to(dtype).contiguous(memory_format=cl)
                tm = torch.jit.freeze(torch.jit.trace(m, xx).eval())
                what = "traced + frozen, channels_last" + (", model cast to bf16" if dtype != torch.float32 else "")
                return (lambda: tm(xx)), out_of(tm, xxc), {"what": what}
            return setup

        def autocast():
            m = copy.deepcopy(model).to(memory_format=cl)
            xx, xxc = x.contiguous(memory_format=cl), xc.contiguous(memory_format=cl)

            def f(xin):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return m(xin)
            return (lambda: f(xx)), out_of(f, xxc), {"what": "eager, channels_last, autocast bf16"}

        self.add("fp32", "eager-nchw", eager_nchw)
        self.add("fp32", "frozen-cl", frozen(torch.float32))
        self.add("bf16", "frozen-cl-bf16", frozen(torch.bfloat16))
        self.add("fp32", "eager-cl", eager_cl)
        self.add("bf16", "autocast-cl", autocast)


class OrtWorker(Worker):
    def __init__(self, args):
        super().__init__(args)
        import onnxruntime as ort

        self.info = {"onnxruntime": ort.__version__}
        c, (w, h) = int(args.channels), args.size
        x = seeded_input(TIMED_SEED, c, h, w)
        xc = seeded_input(CHECK_SEED, c, h, w)

        def session(path):
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            return (lambda: s.run(None, {"input": x})), (lambda: s.run(None, {"input": xc})[0])

        def fp32():
            run, out = session(args.onnx)
            return run, out, {"what": "CPU EP, ORT_ENABLE_ALL"}

        def int8():
            from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                                  QuantType, quantize_static)
            from onnxruntime.quantization.shape_inference import quant_pre_process

            class Reader(CalibrationDataReader):
                def __init__(self):
                    self.it = iter([{"input": seeded_input(CALIB_SEED0 + i, c, h, w)} for i in range(args.calib)])

                def get_next(self):
                    return next(self.it, None)

            pre = args.onnx.replace(".onnx", ".pre.onnx")
            q = args.onnx.replace(".onnx", ".int8.onnx")
            try:
                quant_pre_process(args.onnx, pre, skip_symbolic_shape=True)
            except Exception:  # noqa: BLE001 - pre-processing is optional
                traceback.print_exc()
                pre = args.onnx
            quantize_static(pre, q, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
            run, out = session(q)
            return run, out, {"what": f"quantize_static QDQ, per-channel s8 weights, u8 activations, "
                                      f"MinMax on {args.calib} random inputs"}

        self.add("fp32", "fp32", fp32)
        self.skipped.append(("bf16", "bf16", "the CPU execution provider has no bf16 convolution path "
                             "(its bf16 fast-math GEMM option is for Arm64 only)"))
        self.add("int8", "int8", int8)


class OvWorker(Worker):
    def __init__(self, args):
        super().__init__(args)
        # NNCF imports its PyTorch backend whenever torch is importable, and fails on the
        # Debian torch 1.13 (no torch.uint16): this worker needs no torch, so hide it.
        sys.modules.setdefault("torch", None)
        import openvino as ov

        self.info = {"openvino": ov.__version__}
        core = ov.Core()
        self.info["cpu_capabilities"] = list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        c, (w, h) = int(args.channels), args.size
        x = seeded_input(TIMED_SEED, c, h, w)
        xc = seeded_input(CHECK_SEED, c, h, w)

        def compiled(model, precision):
            cm = core.compile_model(model, "CPU", {
                "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1",
                "INFERENCE_NUM_THREADS": str(args.threads), "INFERENCE_PRECISION_HINT": precision})
            req = cm.create_infer_request()
            got = str(cm.get_property("INFERENCE_PRECISION_HINT"))

            def out():
                r = cm.create_infer_request()
                r.infer({0: xc})
                return np.array(r.get_output_tensor(0).data, copy=True)
            return (lambda: req.infer({0: x})), out, got

        def mode(precision, quantize=False):
            def setup():
                model = core.read_model(args.onnx)
                what = ""
                if quantize:
                    import nncf

                    data = [seeded_input(CALIB_SEED0 + i, c, h, w) for i in range(args.calib)]
                    model = nncf.quantize(model, nncf.Dataset(data), subset_size=len(data),
                                          preset=nncf.QuantizationPreset.PERFORMANCE)
                    self.info["nncf"] = nncf.__version__
                    what = f"NNCF {nncf.__version__} PTQ on {args.calib} random inputs, "
                run, out, got = compiled(model, precision)
                return run, out, {"what": f"{what}CPU plugin, LATENCY hint, inference precision {got}"}
            return setup

        self.add("fp32", "fp32", mode("f32"))
        self.add("bf16", "bf16", mode("bf16"))
        try:
            import nncf  # noqa: F401
        except ImportError:
            self.skipped.append(("int8", "int8", "nncf is not installed (pip install nncf)"))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            self.skipped.append(("int8", "int8", f"nncf does not import: {type(e).__name__}: {e}"))
        else:
            self.add("int8", "int8", mode("f32", quantize=True))


def worker_main(args):
    proto = os.fdopen(os.dup(1), "w")   # the protocol channel: the real stdout
    os.dup2(2, 1)                       # anything the libraries print goes to the log
    kinds = {"torch": TorchWorker, "ort": OrtWorker, "ov": OvWorker}
    try:
        w = kinds[args.worker](args)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        proto.write(json.dumps({"ready": False, "error": f"{type(e).__name__}: {e}"}) + "\n")
        proto.flush()
        return 1
    w.serve(proto)
    return 0


# =================================================================== driver side

class WorkerProc:
    def __init__(self, kind, argv, env, log):
        self.kind = kind
        self.log = log
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(log, "w"), env=env, text=True, bufsize=1)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{kind} worker died during set-up; log {log}:\n{tail(log)}")
        self.hello = json.loads(line)
        if not self.hello.get("ready"):
            raise RuntimeError(f"{kind} worker failed: {self.hello.get('error')}; log {log}:\n{tail(log)}")

    def measure(self, mode, iters, warmup):
        self.p.stdin.write(json.dumps({"mode": mode, "iters": iters, "warmup": warmup}) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker died; log {self.log}:\n{tail(self.log)}")
        return json.loads(line)["samples_ms"]

    def close(self):
        try:
            self.p.stdin.write(json.dumps({"quit": True}) + "\n")
            self.p.stdin.flush()
            self.p.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.p.kill()


def tail(path, n=25):
    try:
        return "".join(open(path, errors="replace").readlines()[-n:])
    except OSError:
        return ""


def find_bench(given):
    if given:
        return Path(given).resolve()
    cands = [ROOT / "build" / "release" / "benchmarks" / "bench_segment"]
    cands += sorted(Path(p) for p in glob.glob(str(ROOT / "build*" / "**" / "bench_segment"), recursive=True))
    for c in cands:
        if c.is_file() and os.access(c, os.X_OK):
            return c.resolve()
    return None


def cpu_summary():
    info = {"model": platform.processor() or "?", "logical_cpus": os.cpu_count()}
    flags = set()
    try:
        text = open("/proc/cpuinfo").read()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            info["model"] = m.group(1).strip()
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        if m:
            flags = set(m.group(1).split())
    except OSError:
        pass
    keys = ["avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
            "amx_tile", "amx_bf16", "amx_int8"]
    info["flags"] = {k: k in flags for k in keys}
    info["avx512"] = "avx512f" in flags
    info["avx512_bf16"] = "avx512_bf16" in flags
    info["amx"] = "amx_bf16" in flags
    return info


def load_now():
    la = os.getloadavg()
    return {"loadavg_1_5_15": [round(v, 2) for v in la], "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def make_model(py, env, tmp, size, seed):
    out = Path(tmp) / "model.vseg"
    cmd = [py, "-m", "venseg.toolkit.convert", "--random", "smp-resnet34", "--seed", str(seed), "--input-size",
           str(size[0]), str(size[1]), "--fold-bn", "-o", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return out, " ".join(["python -m venseg.toolkit.convert"] + cmd[3:-2])


def venseg_beside(bench, tmp):
    """The binding (venseg._native) built for the libvenseg beside the harness
    (build/X/libvenseg.so for build/X/benchmarks/bench_segment), so that the output check
    runs the library that was timed."""
    import venseg_build  # bindings/python, on sys.path

    for d in (bench.parent.parent, bench.parent):
        for n in ("libvenseg.so", "libvenseg.so.1"):
            if (d / n).exists():
                return venseg_build.binding_for(str(d / n), os.path.join(tmp, "binding"))
    raise FileNotFoundError(f"no libvenseg.so beside {bench}")


def venseg_logits(vn, model_path, backend, precision, threads, x, calib):
    """libvenseg's logits on x (Session.run_tensor, no activation); int8 sessions are
    calibrated on the same random inputs as ONNX Runtime and NNCF."""
    with vn.Model(str(model_path)) as m:
        cal = vn.Calibration(m) if precision == "int8" else None
        try:
            for i in range(calib if cal is not None else 0):
                cal.add_tensor(seeded_input(CALIB_SEED0 + i, *x.shape[1:])[0])
            with vn.Session(m, threads=threads, backend=backend, precision=precision, calibration=cal) as s:
                return s.run_tensor(x, apply_activation=False)
        finally:
            if cal is not None:
                cal.close()


def run_bench(bench, model, cfg, threads, size, iters, warmup, env):
    cmd = [str(bench), str(model), "--size", str(size[0]), str(size[1]), "--threads", str(threads),
           "--backend", cfg["backend"], "--precision", cfg["precision"], "--iters", str(iters),
           "--warmup", str(warmup), "--samples"]
    if cfg.get("calibrate"):
        cmd += ["--calibrate", str(cfg["calibrate"])]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-500:]}")
    return json.loads(r.stdout)


def fmt(v, nd=1):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.{nd}f}"


def build_tables(res):
    rows = res["rows"]
    lines = []
    lines.append("| engine | precision | mode | threads | median ms | p90 ms | frames/s | round medians ms "
                 "| max \\|Δlogit\\| vs PyTorch fp32 (rel.) | libvenseg speed-up |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rm = r["round_medians_ms"]
        spread = f"{min(rm):.1f}–{max(rm):.1f}" if rm else "–"
        su = r.get("venseg_speedup")
        sus = "(baseline)" if r.get("is_venseg_baseline") else (f"{su:.2f}x" if su else "–")
        chk = r.get("max_abs_dlogit")
        chk = "–" if chk is None else f"{chk:.3g} ({r.get('rel_dlogit') or 0:.2g})"
        lines.append(f"| {r['engine']} | {r['precision']} | {r['mode']} | {r['threads']} | {fmt(r['median_ms'])} "
                     f"| {fmt(r['p90_ms'])} | {fmt(r['frames_per_s'], 2)} | {spread} "
                     f"| {chk} | {sus} |")
    table = "\n".join(lines)
    tl = ["| target | value | goal | met |", "|---|---|---|---|"]
    for t in res["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        tl.append(f"| {t['target']} | {t['value']} | {t['goal']} | {met} |")
    return table, "\n".join(tl)


def evaluate_targets(rows):
    def get(engine, precision, mode=None):
        for r in rows:
            if r["engine"] == engine and r["precision"] == precision and (mode is None or r["mode"] == mode) \
                    and r.get("median_ms"):
                return r["median_ms"]
        return None

    v = {p: get("libvenseg", p, f"oneDNN {p}") for p in ("fp32", "bf16", "int8")}
    out = []

    def add(target, value, goal, met):
        out.append({"target": target, "value": value, "goal": goal, "met": met})

    f = v["fp32"]
    add("libvenseg fp32 median", f"{fmt(f)} ms", "≤ 55 ms", None if f is None else f <= 55)
    te = get("PyTorch", "fp32", "eager NCHW")
    s = te / f if te and f else None
    add("fp32 vs PyTorch eager fp32 (NCHW)", f"{fmt(s, 2)}x", "≥ 1.5x", None if s is None else s >= 1.5)
    b = v["bf16"]
    add("libvenseg bf16 median", f"{fmt(b)} ms", "≤ 8 ms", None if b is None else b <= 8)
    tb = [r["median_ms"] for r in rows if r["engine"] == "PyTorch" and r["precision"] == "bf16" and r.get("median_ms")]
    s = min(tb) / b if tb and b else None
    add("bf16 vs PyTorch's best bf16 mode", f"{fmt(s, 2)}x", "≥ 2.8x", None if s is None else s >= 2.8)
    i = v["int8"]
    add("int8 faster than bf16", f"{fmt(i)} vs {fmt(b)} ms", "int8 < bf16", None if i is None or b is None else i < b)
    for p in ("fp32", "bf16", "int8"):
        for eng in ("ONNX Runtime", "OpenVINO"):
            o = get(eng, p)
            s = o / v[p] if o and v[p] else None
            add(f"{p} vs {eng} {p}", f"{fmt(s, 2)}x", "≥ 1.3x", None if s is None else s >= 1.3)
    return out


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"no plot: {e}"
    rows = [r for r in res["rows"] if r.get("median_ms")]
    labels = [f"{r['engine']} {r['precision']}\n{r['mode']}" for r in rows]
    med = [r["median_ms"] for r in rows]
    p90 = [r["p90_ms"] for r in rows]
    colors = {"fp32": "#4c72b0", "bf16": "#dd8452", "int8": "#55a868"}
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, med, color=[colors.get(r["precision"], "grey") for r in rows],
            edgecolor=["black" if r["engine"] == "libvenseg" else "none" for r in rows], linewidth=1.2)
    ax.errorbar(med, y, xerr=[np.zeros(len(med)), np.maximum(np.array(p90) - np.array(med), 0)],
                fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    for yy, m, q in zip(y, med, p90):
        ax.text(max(m, q), yy, f" {m:.1f}", va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    if max(med) / max(min(med), 1e-9) > 20:
        ax.set_xscale("log")
    c = res["config"]
    ax.set_xlabel("median latency, ms (whisker: p90; black edge: libvenseg)")
    ax.set_title(f"ResNet34-UNet {c['size'][0]}x{c['size'][1]}, batch 1, {c['threads']} threads — "
                 f"{res['cpu']['model']}, AMX {'yes' if res['cpu']['amx'] else 'no'}", fontsize=9)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=v, label=k) for k, v in colors.items()], fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def markdown(res, table, targets):
    c, cpu = res["config"], res["cpu"]
    fl = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu["flags"].items())
    out = [f"# libvenseg vs PyTorch, ONNX Runtime, OpenVINO — {res['tag']}", "",
           f"Model: `{c['model_desc']}` ({c['gmacs_per_frame']} G multiply-adds per frame); "
           f"input {c['size'][0]}x{c['size'][1]}, batch 1, {c['threads']} threads; {c['rounds']} interleaved rounds "
           f"of {c['iters']} timed iterations per engine (libvenseg reference: {c['ref_iters']}), "
           f"warm-up {c['warmup']} per round{', QUICK run' if c['quick'] else ''}. "
           f"int8 calibration: {c['calib']} seeded random inputs.", "",
           f"CPU: {cpu['model']}, {cpu['logical_cpus']} logical CPUs; {fl}.", "",
           f"Load average (1/5/15 min) before: {res['load_before']['loadavg_1_5_15']}, after: "
           f"{res['load_after']['loadavg_1_5_15']} (run {res['load_before']['time']} – {res['load_after']['time']}, "
           f"{res['wall_s']:.0f} s).", "",
           table, "",
           "libvenseg speed-up = the row's median / libvenseg oneDNN's median at the same precision "
           "(> 1: libvenseg is faster). Round medians: the lowest and highest per-round median "
           "(a wide range means a noisy machine). max |Δlogit|: the largest logit difference from PyTorch "
           "eager fp32 on one seeded input (rel.: divided by the largest |logit|); libvenseg's through "
           "the cffi binding of the library beside the harness (its int8 calibrated on the same random inputs as "
           "ONNX Runtime and NNCF).", "",
           "## Targets (issue 6)", "", targets, ""]
    if res["skipped"]:
        out += ["## Skipped", ""] + [f"- {s['engine']} {s['precision']} ({s['mode']}): {s['reason']}"
                                     for s in res["skipped"]] + [""]
    out += ["## Versions", ""] + [f"- {k}: {v}" for k, v in res["versions"].items()] + [""]
    if res.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(out)


def driver(args):
    t_start = time.time()
    load_before = load_now()
    env = worker_env(args.threads)
    py = args.python or sys.executable
    tmp = tempfile.mkdtemp(prefix="venseg-compare-")
    notes = []
    try:
        if args.model:
            model = Path(args.model).resolve()
            model_desc = str(args.model)
        else:
            print(f"making a seeded random smp-resnet34 (seed {args.seed}) in {tmp}", file=sys.stderr)
            model, model_desc = make_model(py, env, tmp, args.size, args.seed)
        sys.path.insert(0, str(PYBIND))
        from venseg.toolkit.weights import read_vseg

        meta = read_vseg(str(model)).metadata
        channels = int(meta["input.channels"])
        engines = set(args.engines.split(","))
        bench = find_bench(args.bench) if "libvenseg" in engines else None
        if "libvenseg" in engines and bench is None:
            sys.exit("bench_segment not found: build it (see benchmarks/README.md) or pass --bench PATH")

        # ---- configurations
        configs = []   # dict(engine, precision, mode, kind, ...)
        skipped = []
        gmacs = None
        if bench:
            probe = run_bench(bench, model, {"backend": "auto", "precision": "fp32"}, args.threads, args.size,
                              1, 0, env)
            gmacs = probe["gmacs_per_frame"]
            have_onednn = "onednn" in probe["build"]
            venseg_build = probe["build"]
            if not args.no_reference:
                configs.append(dict(engine="libvenseg", precision="fp32", mode="reference fp32",
                                    kind="bench", backend="reference", iters=args.ref_iters, warmup=1))
            if have_onednn:
                for p in ("fp32", "bf16", "int8"):
                    configs.append(dict(engine="libvenseg", precision=p, mode=f"oneDNN {p}", kind="bench",
                                        backend="onednn", calibrate=args.calib if p == "int8" else 0))
            else:
                skipped.append(dict(engine="libvenseg", precision="all", mode="oneDNN",
                                    reason=f"{bench} is built without oneDNN ({probe['build']})"))
        workers = {}
        ref_path = os.path.join(tmp, "ref_logits.npy")
        onnx_path = os.path.join(tmp, "model.onnx")
        common = ["--model", str(model), "--threads", str(args.threads), "--size", str(args.size[0]),
                  str(args.size[1]), "--ref", ref_path, "--onnx", onnx_path, "--calib", str(args.calib),
                  "--channels", str(channels), "--opset", str(args.opset)]
        names = {"torch": "PyTorch", "ort": "ONNX Runtime", "ov": "OpenVINO"}
        mode_names = {"eager-nchw": "eager NCHW", "eager-cl": "eager channels_last",
                      "frozen-cl": "traced+frozen channels_last", "frozen-cl-bf16": "bf16 cast, traced+frozen CL",
                      "autocast-cl": "autocast bf16, eager CL"}
        wanted = [k for k in ("torch", "ort", "ov") if names[k] in engines or k in engines]
        if wanted and "torch" not in wanted:
            wanted.insert(0, "torch")   # it exports the ONNX model and the reference output
        for k in wanted:
            print(f"setting up the {names[k]} worker ...", file=sys.stderr)
            try:
                w = WorkerProc(k, [py, str(Path(__file__).resolve()), "--worker", k] + common, env,
                               os.path.join(tmp, f"worker-{k}.log"))
            except Exception as e:  # noqa: BLE001
                print(f"  {e}", file=sys.stderr)
                skipped.append(dict(engine=names[k], precision="all", mode="all", reason=str(e).splitlines()[0]))
                continue
            workers[k] = w
            for prec, mode, reason in w.hello["skipped"]:
                skipped.append(dict(engine=names[k], precision=prec, mode=mode, reason=reason))
            for mode, info in w.hello["modes"].items():
                configs.append(dict(engine=names[k], precision=info["precision"], mode=mode_names.get(mode, mode),
                                    kind=k, worker_mode=mode, info=info))
        configs.sort(key=lambda c: (PREC_ORDER[c["precision"]], ENGINE_ORDER[c["engine"]]))

        # ---- libvenseg output check (the cffi binding of the library beside the harness)
        checks, ref_max = {}, 1.0
        if bench and os.path.exists(ref_path):
            try:
                vn = venseg_beside(bench, tmp)
                ref = np.load(ref_path)
                xc = seeded_input(CHECK_SEED, channels, args.size[1], args.size[0])
                for c in configs:
                    if c["engine"] == "libvenseg" and c["backend"] == "onednn":
                        out = venseg_logits(vn, model, "onednn", c["precision"], args.threads, xc, args.calib)
                        checks[c["mode"]] = float(np.max(np.abs(out.astype(np.float64) - ref)))
                ref_max = float(np.max(np.abs(ref)))
            except Exception as e:  # noqa: BLE001
                notes.append(f"libvenseg output check skipped: {e}")

        # ---- interleaved rounds
        samples = {i: [] for i in range(len(configs))}
        round_medians = {i: [] for i in range(len(configs))}
        extra = {}
        rng = random.Random(args.seed)
        for rnd in range(args.rounds):
            order = list(range(len(configs)))
            rng.shuffle(order)
            for i in order:
                c = configs[i]
                time.sleep(args.settle)   # let the previous engine's spinning threads go to sleep
                if c["kind"] == "bench":
                    j = run_bench(bench, model, c, args.threads, args.size, c.get("iters", args.iters),
                                  c.get("warmup", args.warmup), env)
                    ts = j["samples_ms"]
                    extra[i] = {k: j[k] for k in ("session", "gflops_per_s", "ceiling_gflops_per_s",
                                                  "fraction_of_ceiling", "calibration") if k in j}
                else:
                    ts = workers[c["kind"]].measure(c["worker_mode"], args.iters, args.warmup)
                samples[i] += ts
                round_medians[i].append(statistics.median(ts))
                print(f"round {rnd + 1}/{args.rounds}  {c['engine']:<12} {c['precision']:<4} {c['mode']:<30} "
                      f"median {statistics.median(ts):8.1f} ms", file=sys.stderr)
        for w in workers.values():
            w.close()

        # ---- rows
        rows = []
        venseg_med = {}
        for i, c in enumerate(configs):
            s = samples[i]
            med = pct(s, 50)
            r = dict(engine=c["engine"], precision=c["precision"], mode=c["mode"], threads=args.threads,
                     median_ms=med, p90_ms=pct(s, 90), mean_ms=statistics.fmean(s), min_ms=min(s),
                     frames_per_s=1000.0 / med, n_samples=len(s), round_medians_ms=round_medians[i])
            if c["kind"] == "bench":
                r.update(extra.get(i, {}))
                if c["mode"] in checks:
                    r["max_abs_dlogit"] = checks[c["mode"]]
                    r["rel_dlogit"] = checks[c["mode"]] / ref_max
            else:
                r["what"] = c["info"].get("what")
                r["max_abs_dlogit"] = c["info"].get("max_abs_dlogit")
                r["rel_dlogit"] = c["info"].get("rel_dlogit")
                r["setup_s"] = c["info"].get("setup_s")
            if c["engine"] == "libvenseg" and c["mode"] == f"oneDNN {c['precision']}":
                venseg_med[c["precision"]] = med
                r["is_venseg_baseline"] = True
            rows.append(r)
        for r in rows:
            if not r.get("is_venseg_baseline") and venseg_med.get(r["precision"]):
                r["venseg_speedup"] = r["median_ms"] / venseg_med[r["precision"]]

        # ---- versions
        versions = {"python (engines)": subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"],
                                                       capture_output=True, text=True).stdout.strip(),
                    "numpy": np.__version__}
        if bench:
            versions["libvenseg build"] = venseg_build
            versions["bench_segment"] = str(bench)
        for k, w in workers.items():
            for kk, vv in w.hello["info"].items():
                if kk in ("torch", "module", "mkldnn", "onnxruntime", "openvino", "nncf", "onnx_opset"):
                    versions[{"mkldnn": "PyTorch's oneDNN", "module": "PyTorch module"}.get(kk, kk)] = vv
        r = subprocess.run([py, "-c", "import onnx; print(onnx.__version__)"], capture_output=True, text=True)
        if r.returncode == 0:
            versions["onnx"] = r.stdout.strip()
        if "ov" in workers:
            versions["OpenVINO CPU capabilities"] = " ".join(workers["ov"].hello["info"].get("cpu_capabilities", []))

        cpu = cpu_summary()
        if not cpu["amx"]:
            notes.append("No AMX on this CPU: bf16 convolutions run on AVX512-BF16 (vdpbf16ps) at best, "
                         "which is not faster than fp32 FMA here; bf16 targets need AMX (amx_bf16 in /proc/cpuinfo).")
        notes.append("libvenseg is timed by bench_segment around venseg_session_run_tensor (with the sigmoid); "
                     "the Python engines around one inference call (logits); input 1x3xHxW float32.")
        notes.append("OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed and OMP/OpenBLAS/MKL thread counts set to "
                     f"{args.threads} in every engine process.")
        tag = args.tag or default_tag(cpu, args.threads)
        if args.quick:
            tag += "-quick"
        res = dict(tag=tag, host=socket.gethostname(), cpu=cpu, load_before=load_before, load_after=load_now(),
                   wall_s=time.time() - t_start,
                   config=dict(model=str(model) if args.model else None, model_desc=model_desc,
                               gmacs_per_frame=gmacs, size=list(args.size), threads=args.threads,
                               rounds=args.rounds, iters=args.iters, ref_iters=args.ref_iters,
                               warmup=args.warmup, calib=args.calib, quick=args.quick,
                               command=" ".join([Path(sys.argv[0]).name] + sys.argv[1:])),
                   rows=rows, skipped=skipped, versions=versions, notes=notes)
        res["targets"] = evaluate_targets(rows)
        table, targets = build_tables(res)
        outdir = Path(args.out)
        outdir.mkdir(parents=True, exist_ok=True)
        base = outdir / f"compare-{tag}"
        err = plot(res, str(base) + ".png")
        if err:
            notes.append(err)
        with open(str(base) + ".json", "w") as fh:
            json.dump(res, fh, indent=1)
        md = markdown(res, table, targets)
        with open(str(base) + ".md", "w") as fh:
            fh.write(md)
        print(md)
        print(f"wrote {base}.json, .md{'' if err else ', .png'}", file=sys.stderr)
        return 0
    finally:
        if args.keep_temp:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def default_tag(cpu, threads):
    m = cpu["model"].lower()
    m = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*$", " ", m)
    slug = re.sub(r"[^a-z0-9]+", "-", m).strip("-") or "cpu"
    feat = "amx" if cpu["amx"] else ("avx512bf16" if cpu["avx512_bf16"] else ("avx512" if cpu["avx512"] else "avx2"))
    return f"{slug}-{feat}-{threads}t"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help=".vseg file (default: a seeded random smp-resnet34 made in a temp dir)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random model and of the round order")
    p.add_argument("--bench", help="bench_segment (default build/release/benchmarks/bench_segment, else build*/)")
    p.add_argument("--python", help="interpreter for the engine workers (default: this one)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("W", "H"))
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5, --quick 2)")
    p.add_argument("--iters", type=int, help="timed iterations per engine and round (default 10, --quick 3)")
    p.add_argument("--warmup", type=int, help="untimed iterations per engine and round (default 2, --quick 1)")
    p.add_argument("--ref-iters", type=int, default=1, help="timed iterations of the slow reference backend per round")
    p.add_argument("--calib", type=int, help="int8 calibration inputs (default 4, --quick 2)")
    p.add_argument("--no-reference", action="store_true", help="leave the reference backend out")
    p.add_argument("--engines", default="libvenseg,torch,ort,ov", help="comma list of libvenseg,torch,ort,ov")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset of the export (13-17)")
    p.add_argument("--settle", type=float, default=0.2, help="seconds of pause between engines")
    p.add_argument("--quick", action="store_true", help="smoke run: few rounds and iterations")
    p.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    p.add_argument("--tag", help="file name tag (default from the CPU model, its best ISA and the threads)")
    p.add_argument("--keep-temp", action="store_true", help="keep the temp dir (model, ONNX files, worker logs)")
    # internal: worker mode
    p.add_argument("--worker", choices=["torch", "ort", "ov"], help=argparse.SUPPRESS)
    p.add_argument("--ref", help=argparse.SUPPRESS)
    p.add_argument("--onnx", help=argparse.SUPPRESS)
    p.add_argument("--channels", type=int, default=3, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    q = a.quick
    a.rounds = a.rounds or (2 if q else 5)
    a.iters = a.iters or (3 if q else 10)
    a.warmup = a.warmup if a.warmup is not None else (1 if q else 2)
    a.calib = a.calib or (2 if q else 4)
    return a


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker_main(args)
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
