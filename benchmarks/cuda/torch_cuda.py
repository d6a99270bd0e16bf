#!/usr/bin/env python3
"""PyTorch on the same GPU and the same weights as benchmarks/cuda/bench_cuda.c; prints JSON.

    python3 benchmarks/cuda/torch_cuda.py MODEL.vseg [--size W H] [--iters N]

The module comes from benchmarks/compare.py (torch_model_from_vseg: segmentation_models_pytorch
when installed, else venseg.toolkit.reference). For fp32 (TF32 off), TF32 and fp16 (model.half(),
channels_last), cudnn.benchmark on, it times batch 1 and batch 64 at W x H two ways:
"device" (input already on the GPU, logits left there: the network alone) and "host"
(host tensor in, host logits out: what bench_cuda measures). Also the max |delta logit|
of each mode against fp32 on one seeded input. Without torch or without CUDA in torch it
prints {"skipped": why} and exits 0.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent / "bindings" / "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("W", "H"))
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"skipped": f"no torch: {e}"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": f"torch {torch.__version__} has no usable CUDA "
                                     f"(built for CUDA {torch.version.cuda})"}))
        return 0
    import compare  # benchmarks/compare.py

    model, kind, meta = compare.torch_model_from_vseg(args.model)
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    cin = int(meta["input.channels"])
    w, h = args.size
    out = {"engine": f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN "
                     f"{torch.backends.cudnn.version()})", "module": kind,
           "device": torch.cuda.get_device_name(0), "width": w, "height": h, "results": []}
    gen = torch.Generator().manual_seed(12345)
    check_x = torch.rand(1, cin, h, w, generator=gen) * 4 - 2
    ref = None
    for prec in ("fp32", "tf32", "fp16"):
        torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
        torch.backends.cudnn.allow_tf32 = prec == "tf32"
        dtype = torch.float16 if prec == "fp16" else torch.float32
        m = model.to(dev).to(dtype).to(memory_format=torch.channels_last).eval()
        with torch.inference_mode():
            y = m(check_x.to(dev, dtype).contiguous(memory_format=torch.channels_last)).float().cpu()
        if ref is None:
            ref = y
        delta = float((y - ref).abs().max())
        for batch in args.batches:
            x_host = (torch.rand(batch, cin, h, w, generator=gen) * 4 - 2).pin_memory()
            x_dev = x_host.to(dev, dtype).contiguous(memory_format=torch.channels_last)
            for where in ("device", "host"):
                times = []
                with torch.inference_mode():
                    for i in range(5 + args.iters):
                        torch.cuda.synchronize()
                        t0 = time.perf_counter()
                        if where == "device":
                            m(x_dev)
                            torch.cuda.synchronize()
                        else:
                            xi = x_host.to(dev, dtype, non_blocking=True).contiguous(
                                memory_format=torch.channels_last)
                            m(xi).float().cpu()
                        if i >= 5:
                            times.append((time.perf_counter() - t0) * 1e3)
                med = statistics.median(times)
                out["results"].append({"precision": prec, "batch": batch, "where": where,
                                       "median_ms": round(med, 4), "min_ms": round(min(times), 4),
                                       "frames_per_s": round(batch / (med / 1e3), 1),
                                       "max_abs_delta_logit_vs_fp32": delta})
        model = model.float()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
