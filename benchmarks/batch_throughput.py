"""Clips per second of venseg.batch with 1 and 2 LocalCluster workers and in-process.

    VENSEG_LIBRARY=build/.../libvenseg.so PYTHONPATH=build/.../python:bindings/python \
        python benchmarks/batch_throughput.py [--clips 8] [--frames 60] [--size 256] [--rounds 2]

Writes seeded phantom clips (venseg.Phantom seeds 100.., normal / full / partial thrombus,
PNG folders) once into --dir, then times batch.run over them: for each round a fresh
LocalCluster(n_workers=N, threads_per_worker=1, processes=True) per N in --workers (the
cluster's start is not counted), then local=True once. Prints one JSON line per run.
docs/batch.md has the numbers measured on this project's machine.
"""

import argparse
import json
import os
import shutil
import tempfile
import time


def make_clips(root: str, clips: int, frames: int, size: int) -> None:
    import venseg
    from PIL import Image
    for i in range(clips):
        d = os.path.join(root, f"c{i}")
        if os.path.isdir(d) and len(os.listdir(d)) == frames:
            continue
        os.makedirs(d, exist_ok=True)
        ph = venseg.Phantom(seed=100 + i, thrombus=["none", "full", "partial", "none"][i % 4], frames=frames,
                            width=size, height=size)
        for k in range(len(ph)):
            Image.fromarray(ph.frame(k, labels=False)[0]).save(os.path.join(d, f"f{k:03d}.png"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="weights/unet16.vseg")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "venseg-batch-throughput"))
    a = ap.parse_args()
    import distributed
    from venseg import batch
    clips = os.path.join(a.dir, "clips")
    make_clips(clips, a.clips, a.frames, a.size)
    out = os.path.join(a.dir, "out")
    runs = [n for _ in range(a.rounds) for n in a.workers] + ["local"]
    for n in runs:
        shutil.rmtree(out, ignore_errors=True)
        kw = dict(progress=False, fps=30.0, spacing="0.15")
        if n == "local":
            r = batch.run(clips, out, a.model, local=True, **kw)
            start = 0.0
        else:
            t = time.perf_counter()
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                               dashboard_address=":0")
            client = distributed.Client(cluster)
            start = time.perf_counter() - t
            try:
                r = batch.run(clips, out, a.model, client=client, **kw)
            finally:
                client.close()
                cluster.close()
        dt = r["seconds"]  # batch.run's own time: finding clips, the tasks, the table
        print(json.dumps({"workers": n, "clips": r["ran"], "seconds": round(dt, 2),
                          "clips_per_s": round(r["ran"] / dt, 3), "cluster_start_s": round(start, 2),
                          "load_average": os.getloadavg()[0],
                          "verdicts": sorted({x["verdict"] for x in r["rows"].values()})}), flush=True)


if __name__ == "__main__":
    main()
