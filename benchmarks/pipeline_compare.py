#!/usr/bin/env python3
"""Side-by-side end-to-end timing of `venseg analyze` (issue 18: frames/s and peak RSS).

    python3 benchmarks/pipeline_compare.py --out benchmarks/results/pipeline-NAME.json \
        --run old=/path/to/old/venseg --run new=build/h-pipe/examples/venseg/venseg \
        --config 'old fp32=old' --config 'new fp32=new --precision fp32' ... CLIP...

Each config is "LABEL=RUN [analyze options]"; every clip is analysed by every config in turn,
round after round (--rounds), so that the configs share whatever else the machine is doing.
Per run: wall seconds and peak RSS of the child (os.wait4's rusage: ru_maxrss), frames/s = the
clip's frames / wall, and the analysis JSON's "timing" (per stage) where the program writes one.
The load average before each run is recorded: on a shared machine only ratios measured in one
run mean much.
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor()


def run_one(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, p.returncode, err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True, help="NAME=VENSEG binary")
    ap.add_argument("--config", action="append", required=True, help="LABEL=NAME [analyze options]")
    ap.add_argument("--model", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    runs = dict(r.split("=", 1) for r in a.run)
    configs = []
    for c in a.config:
        label, rest = c.split("=", 1)
        words = shlex.split(rest)
        configs.append((label, words[0], words[1:]))
    results = []
    with tempfile.TemporaryDirectory(prefix="venseg-pipeline-") as tmp:
        for rnd in range(a.rounds):
            for clip in a.clips:
                for label, run, opts in configs:
                    out = os.path.join(tmp, "out")
                    cmd = [runs[run], "analyze", "--model", a.model, "--out", out, "--name", "clip", "-q"] + opts + [clip]
                    load = os.getloadavg()[0]
                    wall, rss, rc, err = run_one(cmd)
                    row = {"round": rnd, "clip": clip, "config": label, "command": " ".join(shlex.quote(x) for x in cmd),
                           "exit": rc, "wall_s": round(wall, 3), "peak_rss_mb": round(rss / 1024, 1),
                           "load_before": round(load, 2)}
                    if rc == 0:
                        d = json.load(open(os.path.join(out, "clip.json")))
                        frames = d["input"]["frames_read"]
                        row["frames"] = frames
                        row["frames_per_s"] = round(frames / wall, 2)
                        row["session"] = d["model"].get("session")
                        row["precision"] = d["model"].get("precision", "fp32 (no option)")
                        if "timing" in d:
                            row["timing"] = d["timing"]
                    else:
                        row["stderr"] = err[-2000:]
                    results.append(row)
                    print(f"{label:28s} {os.path.basename(clip):20s} rc={rc} {wall:7.2f} s "
                          f"{row.get('frames_per_s', 0):7.2f} fps {row['peak_rss_mb']:7.1f} MB load {load:.1f}",
                          flush=True)
                    subprocess.run(["rm", "-rf", out])
    doc = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "uname": " ".join(platform.uname())},
           "command": " ".join(shlex.quote(x) for x in sys.argv), "runs": runs, "results": results}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
