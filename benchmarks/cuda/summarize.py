#!/usr/bin/env python3
"""Collects the raw outputs of benchmarks/cuda/run_on_gpu.sh into one JSON + Markdown file.

    python3 benchmarks/cuda/summarize.py RAW_DIR OUT_STEM --gpu NAME

Reads RAW_DIR/bench-*.json (bench_cuda), torch.json (torch_cuda.py), test_cuda.json (GoogleTest)
and test_cuda.log (the parity and Dice lines the tests print); writes OUT_STEM.json and
OUT_STEM.md and prints the Markdown. Exits 1 when a test failed. Standard library only.
"""
import argparse
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

TARGET_B1_MS = 2.0       # H100 targets of the issue, fp16
TARGET_B64_FPS = 5000.0


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        return {"error": f"{path}: {e}"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("out_stem")
    ap.add_argument("--gpu", default="unknown")
    a = ap.parse_args()
    raw = Path(a.raw)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    out = {"device": a.gpu, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "commit": commit, "libvenseg": [], "pytorch": load(raw / "torch.json"),
           "dice_real_frames": load(raw / "dice_real.json")}
    for f in sorted(raw.glob("bench-*.json")):
        out["libvenseg"].append(load(f))

    tests = load(raw / "test_cuda.json")
    cases = [t for s in tests.get("testsuites", []) for t in s.get("testsuite", [])]
    out["tests"] = {
        "total": len(cases),
        "failed": [t["name"] for t in cases if t.get("failures")],
        "skipped": [t["name"] for t in cases if t.get("result") == "SKIPPED"],
    }
    log = (raw / "test_cuda.log").read_text(errors="replace") if (raw / "test_cuda.log").exists() else ""
    out["parity_fp32"] = [{"shape": m.group(1), "max_abs_diff": float(m.group(2))}
                          for m in re.finditer(r"fp32 parity (\S+): max \|cuda - reference\| = (\S+)", log)]
    out["dice_vs_fp32"] = [{"precision": m.group(1), "class": int(m.group(2)), "dice": float(m.group(3))}
                           for m in re.finditer(r"(\w+) vs fp32, class (\d+): Dice (\S+)", log)]

    def find(prec, batch):
        for r in out["libvenseg"]:
            if r.get("precision") == prec and r.get("batch") == batch:
                return r
        return {}

    b1, b64 = find("fp16", 1), find("fp16", 64)
    out["targets"] = {
        "fp16_batch1_median_ms": b1.get("median_ms"), "fp16_batch1_target_ms": TARGET_B1_MS,
        "fp16_batch1_met": b1.get("median_ms") is not None and b1["median_ms"] <= TARGET_B1_MS,
        "fp16_batch64_frames_per_s": b64.get("frames_per_s"), "fp16_batch64_target": TARGET_B64_FPS,
        "fp16_batch64_met": b64.get("frames_per_s") is not None and b64["frames_per_s"] >= TARGET_B64_FPS,
    }

    md = [f"# CUDA backend on {a.gpu}", "", f"{out['date']}, commit {commit[:12]}", "",
          "Shipped ResUNet-34 at 256 x 256, host tensor in, host logits out (venseg_session_run_tensor).", "",
          "| engine | precision | batch | median ms | frames/s |", "|---|---|---:|---:|---:|"]
    for r in out["libvenseg"]:
        if "error" in r:
            md.append(f"| libvenseg | ? | ? | error: {r['error'][:80]} | |")
        else:
            md.append(f"| libvenseg | {r['precision']} | {r['batch']} | {r['median_ms']:.3f} | {r['frames_per_s']:.0f} |")
    pt = out["pytorch"]
    for r in pt.get("results", []):
        md.append(f"| PyTorch ({r['where']}) | {r['precision']} | {r['batch']} | {r['median_ms']:.3f} | "
                  f"{r['frames_per_s']:.0f} |")
    if "skipped" in pt or "error" in pt:
        md.append(f"\nPyTorch: {pt.get('skipped') or pt.get('error')}")
    md += ["", f"Tests: {out['tests']['total']} run, failed {out['tests']['failed'] or 'none'}, "
               f"skipped {out['tests']['skipped'] or 'none'}"]
    for p in out["parity_fp32"]:
        md.append(f"- fp32 vs reference {p['shape']}: max |delta logit| {p['max_abs_diff']:.3g} (limit 1e-3)")
    for d in out["dice_vs_fp32"]:
        md.append(f"- phantom frames, {d['precision']} vs fp32 masks, class {d['class']}: Dice {d['dice']:.5f} "
                  f"(limit 0.99)")
    real = out["dice_real_frames"]
    for d in real.get("dice_vs_fp32", []):
        dice = "n/a" if d["dice"] is None else f"{d['dice']:.5f}"
        md.append(f"- {real['frames']} real frames, {d['precision']} vs fp32 masks, class {d['class']}: Dice {dice} "
                  f"over {d['fp32_px']} px{'' if d['judged'] else ' (too few px: not judged)'}")
    if "error" in real:
        md.append(f"- real frames: {real['error']}")
    t = out["targets"]
    md.append(f"- target fp16 batch 1 <= {TARGET_B1_MS} ms: {t['fp16_batch1_median_ms']} ms, "
              f"{'met' if t['fp16_batch1_met'] else 'NOT met'}")
    md.append(f"- target fp16 batch 64 >= {TARGET_B64_FPS:.0f} frames/s: {t['fp16_batch64_frames_per_s']}, "
              f"{'met' if t['fp16_batch64_met'] else 'NOT met'}")
    text = "\n".join(md) + "\n"
    Path(a.out_stem + ".json").write_text(json.dumps(out, indent=1) + "\n")
    Path(a.out_stem + ".md").write_text(text)
    print(text)
    gpu_skipped = "TinyModelFp32MatchesReference" in out["tests"]["skipped"]  # the backend did not run
    if gpu_skipped:
        print("the GPU tests skipped: the CUDA backend is not usable here (see test_cuda.log)")
    real_failed = real.get("pass") is False or "error" in real
    return 1 if out["tests"]["failed"] or not cases or gpu_skipped or real_failed else 0


if __name__ == "__main__":
    sys.exit(main())
