#!/usr/bin/env python3
"""The network alone, two (or more) bench_segment builds side by side, interleaved.

    python3 benchmarks/network_ab.py --bench before=build/h-base/benchmarks/bench_segment \\
        --bench after=build/release/benchmarks/bench_segment --sizes 160,256 \\
        --precisions int8,fp32,bf16 --rounds 5 --iters 20 --out benchmarks/results/network-TAG.json

Per round, size and precision every build runs `bench_segment MODEL --size S S --threads T
--precision P --iters N --warmup 3 --samples --no-ceiling` (int8: --calibrate N, default 2;
--calibrate 0 runs on the ranges the model file carries), the builds' order alternating between
rounds. Two numbers per run:
- wall ms per frame: every timed sample (venseg_session_run_tensor with the sigmoid);
- CPU ms per frame: the process's user+system CPU time of that run minus that of a 2-iteration
  run, divided by N - 2 (start-up, model load and calibration cancel). With --omp-wait passive
  (the default) waiting threads sleep and do not count: on a machine others load, this is the
  figure that stays put (the work both threads did), where wall times swing with the load.
  Passive waits cost wake-ups at every barrier, so wall times are best taken with
  --omp-wait active (OpenMP's default; the CPU figure then counts spinning and means little).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import time


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run(cmd, env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return json.loads(out), (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="append", required=True, help="LABEL=path of a bench_segment (repeat)")
    ap.add_argument("--model", default="weights/resunet34.vseg")
    ap.add_argument("--sizes", default="160,256")
    ap.add_argument("--precisions", default="int8,fp32,bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--calibrate", type=int, default=2,
                    help="int8: calibration frames (0: the model file's own ranges)")
    ap.add_argument("--omp-wait", choices=("passive", "active"), default="passive", help="OMP_WAIT_POLICY")
    ap.add_argument("--out", help="JSON file for the raw numbers and the summary")
    a = ap.parse_args()
    builds = dict(b.split("=", 1) for b in a.bench)
    env = dict(os.environ, OMP_WAIT_POLICY=a.omp_wait)
    sizes = [int(s) for s in a.sizes.split(",")]
    precisions = a.precisions.split(",")
    raw = {}
    load0, t0 = os.getloadavg(), time.time()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    for r in range(a.rounds):
        order = list(builds) if r % 2 == 0 else list(builds)[::-1]
        for size in sizes:
            for p in precisions:
                for label in order:
                    base = [builds[label], a.model, "--size", str(size), str(size), "--threads", str(a.threads),
                            "--precision", p, "--warmup", "3", "--samples", "--no-ceiling"]
                    base += ["--calibrate", str(a.calibrate)] if p == "int8" and a.calibrate > 0 else []
                    j, cpu_n = run(base + ["--iters", str(a.iters)], env)
                    _, cpu_2 = run(base + ["--iters", "2"], env)
                    e = raw.setdefault(f"{size} {p} {label}", {"samples_ms": [], "cpu_ms_per_frame": [], "session": j["session"]})
                    e["samples_ms"] += j["samples_ms"]
                    e["cpu_ms_per_frame"].append((cpu_n - cpu_2) / (a.iters - 2))
    load1 = os.getloadavg()
    summary = {}
    for k, e in sorted(raw.items()):
        s = sorted(e["samples_ms"])
        q = lambda f: s[int(f * (len(s) - 1))]  # noqa: E731
        summary[k] = {"wall_min_ms": s[0], "wall_p10_ms": q(0.1), "wall_median_ms": q(0.5),
                      "cpu_ms_per_frame_median": statistics.median(e["cpu_ms_per_frame"]),
                      "cpu_ms_per_frame_rounds": [round(x, 3) for x in e["cpu_ms_per_frame"]],
                      "samples": len(s), "session": e["session"]}
        m = summary[k]
        print(f"{k:22s} wall min {m['wall_min_ms']:8.2f}  p10 {m['wall_p10_ms']:8.2f}  median {m['wall_median_ms']:8.2f}"
              f" | CPU/frame {m['cpu_ms_per_frame_median']:8.2f}  rounds {m['cpu_ms_per_frame_rounds']}")
    print(f"load average before {load0}, after {load1}; {time.time() - t0:.0f} s")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "started": started,
                       "seconds": round(time.time() - t0), "load_before": load0, "load_after": load1,
                       "builds": builds, "model": a.model, "threads": a.threads, "rounds": a.rounds,
                       "iters": a.iters, "calibrate": a.calibrate, "omp_wait_policy": a.omp_wait, "summary": summary}, fh, indent=1)


if __name__ == "__main__":
    main()
