"""The model-in-the-loop verdict study (venseg.toolkit.verdict_study) on a short seeded subset.

The shipped ResUNet-34 segments every analysed frame through Tracker.push_frame:
3 phantom sequences (seeds >= 2**31, never trained on: normal, partial, occlusive),
3 compression sequences warped from the committed groin validation frame
(examples/data/groin_sample_227.png, normal / partial / non-compressible), and the real
FloWave brachial cine when ../shared/data is present (skipped with a message otherwise).
Asserts that the study runs, that its truths are what the sequences were built to be, and
that no verdict is wrong without a warning flag (wrong with no flag: the target is 0). The
full study (docs/tracking.md, "Study: the model in the loop") is
``python -m venseg.toolkit.verdict_study``.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding  # noqa: E402

vn = binding()
np = pytest.importorskip("numpy")
pytest.importorskip("scipy")
pytest.importorskip("PIL")

from venseg.toolkit import verdict_study as vs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "weights", "resunet34.vseg")
DATA = os.environ.get("VENSEG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


@pytest.fixture(scope="module")
def session():
    if not os.path.exists(MODEL):
        pytest.skip(f"{MODEL} is absent: the study needs the shipped model")
    s = vn.Session(vn.Model(MODEL), threads=2)
    s.segment(np.zeros((160, 160), np.uint8))
    yield s
    s.close()


def _check_row(r):
    assert r["outcome"] in ("right", "indeterminate", "wrong")
    assert r["verdict"] in vs.VERDICTS
    assert r["frames_analysed"] > 10
    assert all(isinstance(f, str) and f for f in r["flags"])
    assert not r["wrong_no_flag"], (
        f"{r['study']} {r['id']} ({r['kind']}): {r['verdict']} where the truth is {r['truth_verdict']} "
        f"with no warning flag ({r['flags']})")


def test_scoring_rules():
    assert vs.truth_verdict(100.0) == vs.truth_verdict(90.0) == "COMPRESSIBLE"
    assert vs.truth_verdict(89.9) == vs.truth_verdict(25.0) == "PARTIALLY_COMPRESSIBLE"
    assert vs.truth_verdict(24.9) == "NON_COMPRESSIBLE"
    assert vs.truth_verdict(float("nan")) == "INDETERMINATE"
    assert vs.score("COMPRESSIBLE", [], "COMPRESSIBLE") == ("right", False)
    assert vs.score("INDETERMINATE", ["NO_VEIN"], "COMPRESSIBLE") == ("indeterminate", False)
    assert vs.score("COMPRESSIBLE", ["NO_RELEASE", "SPACING_UNKNOWN"], "NON_COMPRESSIBLE") == ("wrong", True)
    assert vs.score("COMPRESSIBLE", ["IDENTITY_CONFLICT"], "NON_COMPRESSIBLE") == ("wrong", False)
    s = vs.summarise([{"outcome": "right", "wrong_no_flag": False, "kind": "normal", "verdict": "COMPRESSIBLE",
                       "compressibility_percent": 98.0, "truth_percent": 100.0, "seconds": 1.0},
                      {"outcome": "wrong", "wrong_no_flag": True, "kind": "non", "verdict": "COMPRESSIBLE",
                       "compressibility_percent": 95.0, "truth_percent": 5.0, "seconds": 3.0}])
    assert (s["right"], s["wrong"], s["wrong_no_flag"], s["accuracy"]) == (1, 1, 1, 0.5)
    assert s["mean_abs_compressibility_error"] == pytest.approx(46.0)


def test_rates_carry_wilson_intervals_and_runs_compare_sequence_by_sequence():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in ((48, 100), (11, 100), (0, 66), (66, 66), (1, 1)):
        ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert vs.wilson_interval(k, n) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert vs.wilson_interval(0, 0) is None

    def row(i, outcome, no_flag=False):
        return {"id": f"s{i}", "kind": "normal", "outcome": outcome, "wrong_no_flag": no_flag,
                "verdict": "COMPRESSIBLE", "truth_verdict": "COMPRESSIBLE", "compressibility_percent": None,
                "truth_percent": None, "seconds": 1.0, "flags": []}
    base = [row(0, "right"), row(1, "wrong", True), row(2, "indeterminate"), row(3, "right"), row(9, "right")]
    now = [row(0, "right"), row(1, "indeterminate"), row(2, "right"), row(3, "wrong", True), row(4, "right")]
    assert vs.paired_changes(now, base) == {"matched": 4, "changed": 3, "to_right": 1, "from_right": 1,
                                            "new_wrong_no_flag": 1, "gone_wrong_no_flag": 1}
    res = {"library": "x", "git": None, "model": "m", "session": "s", "stride": 2,
           "studies": {"phantom": {"summary": vs.summarise(now), "rows": now}}}
    old = {**res, "studies": {"phantom": {"summary": vs.summarise(base), "rows": base}}}
    md = vs.markdown(res, old)
    lo, hi = vs.wilson_interval(3, 5)
    assert f"60.0 % ({100 * lo:.0f}–{100 * hi:.0f} %)" in md
    assert "3 of 4 changed outcome (1 became right, 1 stopped being right); unflagged wrong 1 new, 1 gone" in md


def test_phantom_seeds_never_trained():
    specs = vs.phantom_specs(100)
    seeds = [s["keys"]["seed"] for s in specs]
    assert min(seeds) >= 2 ** 31 and len(set(seeds)) == 100  # training draws from [1, 2**31)
    assert {s["kind"] for s in specs} == set(vs.KINDS)
    assert {s["keys"]["vein_side"] for s in specs} == {1, 2}
    hr = [s["keys"]["heart_rate"] for s in specs]
    assert 50 <= min(hr) and max(hr) <= 110


# Known misses of the target, by phantom seed: expected failures while they last (any other
# wrong verdict with no flag fails). Seen with the tracker of 131e00b: the shipped model
# segments only part of this partly thrombosed vein (6 % of its area at rest in the full
# study; the echogenic thrombus is left out); that part collapses fully, so the tracker says
# COMPRESSIBLE, confident, with no flag (docs/tracking.md, "Study: the model in the loop").
# (2**31 + 4, a partial acute clot, was listed here until 0.5.0: the 0.4.0 model segmented only
# the open lumen, which collapsed; the 0.5.0 model outlines the acute clot and gets it right.)
KNOWN_WRONG_NO_FLAG: dict = {}


def test_phantom_subset(session):
    specs = vs.phantom_specs(10)
    rows, known = [], []
    for i in (0, 4, 7):  # normal, partial, occlusive
        spec = dict(specs[i], keys=dict(specs[i]["keys"], frames=120, baseline_s=1.6))
        r = vs.run_phantom(spec, session, stride=2)
        assert r["truth_verdict"] == vs.KIND_VERDICT[spec["kind"]], r["truth_percent"]
        if r["wrong_no_flag"] and spec["keys"]["seed"] in KNOWN_WRONG_NO_FLAG:
            known.append(f"{r['id']}: {r['verdict']} with no flag ({KNOWN_WRONG_NO_FLAG[spec['keys']['seed']]})")
        else:
            _check_row(r)
        rows.append(r)
    md = vs.markdown({"library": vn.version(), "git": None, "model": "resunet34.vseg", "session": "s", "stride": 2,
                      "studies": {"phantom": {"summary": vs.summarise(rows), "rows": rows}}})
    assert "| Phantom |" in md and "| 3 |" in md
    if known:
        pytest.xfail("; ".join(known))


def test_real_frame_subset(session):
    item = vs.sample_frames()[0]  # the committed groin validation frame: never trained on
    rows = []
    for k, kind in enumerate(vs.KINDS):
        r = vs.run_real(item, kind, session, seed=0, index=0, stride=2)
        assert r["truth_verdict"] == vs.KIND_VERDICT[kind], (kind, r["truth_percent"])
        clip = r["clip"]
        assert 10 <= clip["truth_artery_aspect_change_percent"] <= 26
        if kind == "normal":
            assert clip["truth_min_vein_px"] <= 0.05 * clip["truth_rest_vein_px"]
        _check_row(r)
        rows.append(r)
    rest = int((item["labels"] == 2).sum())
    for r in rows:  # the rest frame is the labelled frame (the pulsing artery beside it moves a little)
        assert abs(r["clip"]["truth_rest_vein_px"] - rest) <= 0.05 * rest


def test_compression_clip_warp_is_smooth_and_consistent():
    item = vs.sample_frames()[0]
    clip = vs.CompressionClip(item["image"], item["labels"], "normal", np.random.default_rng(3))
    px0, lab0 = clip.frame(0)
    assert (lab0 == item["labels"]).mean() > 0.99          # rest: the frame itself (artery pulsing)
    hold = int(clip.bounds[2]) + 2
    ys, xs = clip.maps(hold)
    assert np.all(np.diff(ys, axis=0) > -1e-6)               # no fold along depth
    px, lab = clip.frame(hold)
    assert (lab == 2).sum() <= 0.05 * (lab0 == 2).sum()      # the vein collapsed
    assert (lab == 1).sum() > 0.7 * (lab0 == 1).sum()        # the artery did not
    ring = item["labels"] == 0
    assert abs(float(px[ring].mean()) - float(px0[ring].mean())) < 12  # tissue stays tissue


def test_flowave_never_compressible(session):
    ok, why = vs.flowave_available(DATA)
    if not ok:
        pytest.skip(f"FloWave cine not run: {why} (needs ../shared/data and the ffmpeg CLI)")
    r = vs.run_flowave(DATA, session, stride=2, max_frames=240)
    assert r["frames_pushed"] == 240
    assert r["verdict"] != "COMPRESSIBLE", r["flags"]
    assert r["never_compressible"]
    _check_row(r)
