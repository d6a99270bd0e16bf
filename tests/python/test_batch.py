"""venseg.batch: an archive of clips on a Dask LocalCluster, in-process, and resumed.

Clips: seeded phantom sequences (venseg.Phantom) written as PNG frame folders with their
ground-truth masks (<stem>_label.png), one of them also as a lossless FFV1 .mkv and a lossy
H.264 .mp4 by the ffmpeg program (when it is installed). Checks:
  * a LocalCluster of 2 worker processes where one worker dies (os._exit) in the middle of
    a clip: every clip ends in the table exactly once, ok, with the verdict that the
    in-process run gives, the dead worker's clip after 2 attempts; each worker loaded the
    model once;
  * `python -m venseg.batch --scheduler ADDRESS` against a running scheduler gives them too;
  * the in-process run (local=True) gives the same rows; a rerun skips every finished clip,
    runs again one whose output was deleted, and a clip that failed;
  * the ground-truth masks (use_labels) give the phantom's true verdicts (normal ->
    COMPRESSIBLE, full thrombus -> NON_COMPRESSIBLE, partial -> PARTIALLY_COMPRESSIBLE), and
    the lossless MKV decoded through ffmpeg the same rows as its PNG frames;
  * a multi-frame DICOM file and a folder of single-frame DICOM files (venseg.io.read_dicom,
    spacing and frame rate from the header) give the rows of the same frames as PNGs;
  * the venseg program (VENSEG_CLI) gives the same verdict, flags and compressibility;
  * an MP4 cut to half its bytes is analysed as far as it decodes and flagged (input_flags);
  * `python -m venseg.batch` killed (SIGKILL) mid-run leaves a table without a half row or
    a clip twice, and a rerun completes it.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding  # noqa: E402

vn = binding()
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

from venseg import batch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "weights", "unet16.vseg")
CLI = os.environ.get("VENSEG_CLI") or ""
FFMPEG = shutil.which("ffmpeg") and shutil.which("ffprobe")
# (seed, thrombus, the verdict of the true masks)
PHANTOMS = [(1, "none", "COMPRESSIBLE"), (2, "full", "NON_COMPRESSIBLE"), (3, "partial", "PARTIALLY_COMPRESSIBLE"),
            (4, "none", "COMPRESSIBLE"), (5, "full", "NON_COMPRESSIBLE"), (6, "none", "COMPRESSIBLE")]
SETTINGS = dict(fps=30.0, spacing="0.15", site="popliteal")
CRASH_CLIP = "exam2/p5"


def _write_folder(path, seed, thrombus, frames=16):
    ph = vn.Phantom(seed=seed, thrombus=thrombus, frames=frames, width=160, height=128)
    os.makedirs(path)
    for k in range(len(ph)):
        px, lab = ph.frame(k)
        Image.fromarray(px).save(os.path.join(path, f"frame_{k}.png"))
        Image.fromarray(lab).save(os.path.join(path, f"frame_{k}_label.png"))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """exam1/p1..p3, exam2/p4..p6 frame folders; exam3/p1.mkv (FFV1) and p1.mp4 (H.264)."""
    if not os.path.exists(MODEL):
        pytest.skip(f"{MODEL} is absent")
    root = tmp_path_factory.mktemp("archive")
    truth = {}
    for i, (seed, thrombus, verdict) in enumerate(PHANTOMS):
        name = f"exam{1 + i // 3}/p{i + 1}"
        _write_folder(str(root / name), seed, thrombus)
        truth[name] = verdict
    (root / "exam1" / "notes.txt").write_text("not a clip")
    if FFMPEG:
        os.makedirs(root / "exam3")
        src = str(root / "exam1" / "p1" / "frame_%d.png")
        for out, codec in (("p1.mkv", ["-c:v", "ffv1"]), ("p1.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"])):
            subprocess.run(["ffmpeg", "-v", "error", "-framerate", "30", "-i", src, *codec,
                            str(root / "exam3" / out)], check=True)
    return str(root), truth


def crash_once(clip, settings):
    """analyse_clip, but the worker process dies (no exception, no cleanup) after its first
    attempt at CRASH_CLIP: what a killed or crashed worker looks like to the scheduler."""
    res = batch.analyse_clip(clip, settings)
    marker = os.path.join(os.path.dirname(settings["attempts_dir"]), "crashed-once")
    if clip["clip"] == CRASH_CLIP and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(17)
    return res


def _raw_rows(table):
    with open(table, newline="") as f:
        return list(csv.DictReader(f))


def _model_loads():
    from venseg import batch as b
    return b.MODEL_LOADS


@pytest.fixture(scope="module")
def local_run(archive, tmp_path_factory):
    root, _ = archive
    out = str(tmp_path_factory.mktemp("local"))
    res = batch.run(root, out, MODEL, local=True, progress=False, **SETTINGS)
    return out, res


def test_folder_tree(archive):
    root, truth = archive
    names = [c["clip"] for c in batch.find_clips(root)]
    assert names[:6] == list(truth)
    assert names[6:] == (["exam3/p1.mkv", "exam3/p1.mp4"] if FFMPEG else [])


def test_cluster_with_a_killed_worker(archive, local_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, truth = archive
    out = str(tmp_path / "out")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        t0 = time.perf_counter()
        res = batch.run(root, out, MODEL, client=client, task=crash_once, retries=2, progress=False, **SETTINGS)
        took = time.perf_counter() - t0
        loads = client.run(_model_loads)
    finally:
        client.close()
        cluster.close()
    assert os.path.exists(os.path.join(out, ".batch", "crashed-once")), "the worker did not die"
    rows = _raw_rows(res["table"])
    names = [r["clip"] for r in rows]
    assert sorted(names) == sorted(local_run[1]["rows"]) and len(names) == len(set(names))
    local = local_run[1]["rows"]
    for r in rows:
        assert r["status"] == "ok", r
        assert r["verdict"] == local[r["clip"]]["verdict"], r["clip"]
        assert r["flags"] == local[r["clip"]]["flags"], r["clip"]
        assert r["worker"].startswith("tcp://")
        assert r["attempts"] == ("2" if r["clip"] == CRASH_CLIP else "1"), r
        assert os.path.exists(os.path.join(out, r["output"]))
    assert len({r["worker"] for r in rows}) >= 2
    # the model once per worker process (a restarted worker loads it again, once)
    assert all(n <= 1 for n in loads.values()), loads
    print(f"\n{len(rows)} clips on 2 workers in {took:.1f} s, one worker killed; attempts "
          f"{ {r['clip']: r['attempts'] for r in rows} }")


def test_command_against_a_scheduler(archive, local_run, tmp_path):
    """`python -m venseg.batch --scheduler ADDRESS` (the remote form of docs/batch.md)
    against a running scheduler with one worker process: the rows of the in-process run."""
    distributed = pytest.importorskip("distributed")
    root, truth = archive
    clips = sorted(truth)[:3]
    manifest = tmp_path / "clips.json"
    manifest.write_text(json.dumps([{"path": os.path.join(root, c), "clip": c} for c in clips]))
    out = tmp_path / "out"
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        done = subprocess.run([sys.executable, "-m", "venseg.batch", str(manifest), "--out", str(out), "--scheduler",
                               cluster.scheduler_address, "--model", MODEL, "-q", "--fps", "30", "--spacing", "0.15",
                               "--site", "popliteal"], env=env, capture_output=True, text=True, timeout=120)
    finally:
        cluster.close()
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _raw_rows(out / "batch.csv")
    assert [r["clip"] for r in rows] == clips
    local = local_run[1]["rows"]
    for r in rows:
        assert r["worker"].startswith("tcp://") and r["verdict"] == local[r["clip"]]["verdict"]
        assert r["flags"] == local[r["clip"]]["flags"]


def test_local_rows_and_rerun(archive, local_run):
    root, truth = archive
    out, res = local_run
    assert res["ran"] == len(res["rows"]) and res["failed"] == 0
    doc = json.load(open(os.path.join(out, "exam1", "p2.json")))
    assert doc["format"] == "venseg-analysis-1" and doc["input"]["frames_read"] == 16
    assert doc["summary"]["verdict"] == res["rows"]["exam1/p2"]["verdict"]
    assert len(doc["frames"]) == doc["summary"]["frames_analysed"] == 16
    with open(os.path.join(out, "exam1", "p2.csv")) as f:
        assert len(f.read().strip().split("\n")) == 17
    for r in res["rows"].values():  # compressibility only with a verdict
        assert (r["compressibility_percent"] is None) == (r["verdict"] == "INDETERMINATE")
    again = batch.run(root, out, MODEL, local=True, progress=False, **SETTINGS)
    assert again["ran"] == 0 and again["skipped"] == len(res["rows"])
    os.unlink(os.path.join(out, "exam2", "p5.json"))
    third = batch.run(root, out, MODEL, local=True, progress=False, **SETTINGS)
    assert third["ran"] == 1 and third["rows"]["exam2/p5"]["verdict"] == res["rows"]["exam2/p5"]["verdict"]
    names = [r["clip"] for r in _raw_rows(third["table"])]
    assert len(names) == len(set(names)) == len(res["rows"])


def test_true_masks_and_lossless_video(archive, tmp_path):
    root, truth = archive
    out = str(tmp_path / "labels")
    status = batch.main([root, "--out", out, "--local", "--use-labels", "--fps", "30", "--spacing", "0.15", "-q"])
    assert status == (1 if FFMPEG else 0)
    rows = {r["clip"]: r for r in _raw_rows(os.path.join(out, "batch.csv"))}
    for name, verdict in truth.items():
        assert rows[name]["status"] == "ok" and rows[name]["verdict"] == verdict, rows[name]
        assert rows[name]["model"] == "none"
    if FFMPEG:  # a video has no label masks: its row says so, and the run's status is 1
        assert rows["exam3/p1.mkv"]["status"] == "error" and "--use-labels" in rows["exam3/p1.mkv"]["error"]


def test_video_clips(archive, local_run):
    if not FFMPEG:
        pytest.skip("the ffmpeg and ffprobe programs are not installed")
    rows = local_run[1]["rows"]
    mkv, png = rows["exam3/p1.mkv"], rows["exam1/p1"]
    assert mkv["status"] == "ok" and mkv["fps"] == pytest.approx(30.0)
    for k in ("verdict", "flags", "compressibility_percent", "frames", "frames_analysed"):
        assert mkv[k] == png[k], k  # FFV1 is lossless: the same frames as the PNGs
    assert rows["exam3/p1.mp4"]["status"] == "ok" and rows["exam3/p1.mp4"]["frames"] == 16
    assert mkv["input_flags"] == rows["exam3/p1.mp4"]["input_flags"] == ""


def test_damaged_video(archive, tmp_path):
    """An MP4 cut to half its bytes (moov atom first, so it still opens): analysed as far as
    it decodes, its row and JSON flagged as `venseg analyze` flags it (DECODE_ERRORS and/or
    FRAMES_MISSING), not an error."""
    if not FFMPEG:
        pytest.skip("the ffmpeg and ffprobe programs are not installed")
    root, _ = archive
    whole = tmp_path / "whole.mp4"
    frames = os.path.join(root, "exam1", "p2", "frame_%d.png")
    subprocess.run(["ffmpeg", "-v", "error", "-framerate", "30", "-i", frames, "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(whole)], check=True)
    data = whole.read_bytes()
    (tmp_path / "half.mp4").write_bytes(data[: len(data) // 2])
    res = batch.run([{"path": str(tmp_path / n), "clip": n} for n in ("whole.mp4", "half.mp4")], str(tmp_path / "out"),
                    MODEL, local=True, progress=False, **SETTINGS)
    whole_row, half = res["rows"]["whole.mp4"], res["rows"]["half.mp4"]
    assert whole_row["status"] == half["status"] == "ok" and whole_row["input_flags"] == ""
    assert half["input_flags"] and set(half["input_flags"].split(";")) <= {"DECODE_ERRORS", "FRAMES_MISSING"}, half
    assert half["frames"] < whole_row["frames"] == 16
    doc = json.load(open(tmp_path / "out" / "half.mp4.json"))
    assert doc["input"]["flags"] == half["input_flags"].split(";") and doc["summary"]["input_warnings"]


def test_manifest_and_failed_clip(archive, tmp_path):
    root, _ = archive
    manifest = tmp_path / "clips.csv"
    manifest.write_text(f"path,clip,stride,site\n{root}/exam1/p2,second,2,common_femoral\n"
                        f"{root}/exam1/p9,missing,,\n")
    out = str(tmp_path / "out")
    res = batch.run(str(manifest), out, MODEL, local=True, progress=False, **SETTINGS)
    assert res["rows"]["second"]["status"] == "ok" and res["rows"]["second"]["frames_analysed"] == 8
    doc = json.load(open(os.path.join(out, "second.json")))
    assert doc["input"]["stride"] == 2 and doc["input"]["site"] == "common_femoral"
    bad = res["rows"]["missing"]
    assert bad["status"] == "error" and "no such file" in bad["error"] and res["failed"] == 1
    again = batch.run(str(manifest), out, MODEL, local=True, progress=False, **SETTINGS)
    assert again["skipped"] == 1 and again["ran"] == 1  # the failed clip is tried again
    with pytest.raises(batch.BatchError, match="unknown key"):
        bad_manifest = tmp_path / "bad.csv"
        bad_manifest.write_text("path,speed\nx,1\n")
        batch.read_manifest(str(bad_manifest))


def test_dicom_clips(archive, tmp_path):
    """A multi-frame DICOM file (pydicom-written, PixelSpacing and FrameTime in the header)
    and a folder of single-frame DICOM files of exam1/p1's frames: each is one clip, read
    through venseg.io.read_dicom with the header's spacing and frame rate, and gives the
    row of the PNG folder analysed with those values as options."""
    pytest.importorskip("pydicom")
    if not batch._have_dicom_reader():
        pytest.skip("venseg.io.read_dicom is not in this tree")
    import dicom_fixtures as dfx
    root, _ = archive
    png = os.path.join(root, "exam1", "p1")
    names = sorted((n for n in os.listdir(png) if not n.endswith("_label.png")), key=batch._natural_key)
    frames = np.stack([np.asarray(Image.open(os.path.join(png, n))) for n in names])
    dcm = tmp_path / "dicom"
    os.makedirs(dcm / "frames")

    def write(path, f):
        ds = dfx.new_dataset(str(path), f, "MONOCHROME2")
        ds.PixelSpacing, ds.FrameTime = [0.15, 0.15], 40.0  # 25 frames/s
        ds.save_as(str(path), write_like_original=False)
    write(dcm / "cine.dcm", frames)
    for k in range(len(frames)):
        write(dcm / "frames" / f"f{k}.dcm", frames[k:k + 1])
    assert [c["clip"] for c in batch.find_clips(str(dcm))] == ["cine.dcm", "frames"]
    res = batch.run(str(dcm), str(tmp_path / "out"), MODEL, local=True, progress=False, site="popliteal")
    ref = batch.run([{"path": png, "clip": "png"}], str(tmp_path / "ref"), MODEL, local=True, progress=False,
                    site="popliteal", spacing="0.15", fps=25.0)["rows"]["png"]
    for name in ("cine.dcm", "frames"):
        row = res["rows"][name]
        assert row["status"] == "ok", row
        for k in ("verdict", "flags", "compressibility_percent", "frames", "frames_analysed", "fps"):
            assert row[k] == ref[k], (name, k)
        doc = json.load(open(os.path.join(tmp_path, "out", name + ".json")))
        assert doc["input"]["pixel_spacing_mm"] == [0.15, 0.15]


@pytest.mark.skipif(not (CLI and os.path.exists(CLI)), reason="VENSEG_CLI (the venseg program) not set")
def test_same_as_the_program(archive, local_run, tmp_path):
    root, _ = archive
    for name in ("exam1/p1", "exam1/p2"):
        subprocess.run([CLI, "analyze", "-q", "--no-mp4", "--model", MODEL, "--fps", "30", "--spacing", "0.15",
                        "--site", "popliteal", "--out", str(tmp_path), "--name", "x", os.path.join(root, name)],
                       check=True)
        prog = json.load(open(tmp_path / "x.json"))["summary"]
        ours = json.load(open(os.path.join(local_run[0], name + ".json")))["summary"]
        for k in ("verdict", "flags", "frames_analysed", "frames_with_vein", "frames_with_artery", "baseline_frame",
                  "min_frame", "indeterminate_reasons"):
            assert prog[k] == ours[k], (name, k)
        for k in ("measured_compressibility_percent", "baseline_area_px", "min_area_px", "verdict_confidence"):
            assert (prog[k] is None and ours[k] is None) or prog[k] == pytest.approx(ours[k], rel=1e-9), (name, k)


def test_killed_run_leaves_a_clean_table(archive, tmp_path):
    root, _ = archive
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "venseg.batch", root, "--out", str(out), "--local", "--model", MODEL, "-q",
           "--fps", "30", "--max-frames", "8"]
    proc = subprocess.Popen(cmd, env=env)
    table = out / "batch.csv"
    deadline = time.monotonic() + 60
    while not table.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not table.exists():
        pytest.skip("the run ended before its first snapshot of the table")
    rows = _raw_rows(table)
    names = [r["clip"] for r in rows]
    assert len(names) == len(set(names))
    assert all(r["status"] == "ok" and (out / r["output"]).exists() for r in rows)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    final = _raw_rows(table)
    assert len(final) == len({r["clip"] for r in final}) == len(batch.find_clips(root))
