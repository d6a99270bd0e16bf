"""Tracker, exam and phantom through the cffi binding (venseg_tracking.h).

The tracker gets synthetic label sequences drawn here with numpy (an artery that flattens
and a vein that collapses by a chosen amount); expected areas, centroids, times and
compressibility are counted on those masks, and the defaults are the header's. The vessel
identities (Tracker.vessels()) are checked on the phantom's ground-truth masks, whose artery
and vein are known.
"""

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vslib import binding, status_of as _status  # noqa: E402

vn = binding()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNET16 = os.path.join(ROOT, "weights", "unet16.vseg")
W, H = 128, 112
ART, VEIN = (40.0, 56.0), (84.0, 58.0)  # centres (x, y)


def _pressure():
    """Rest (0..7), press (8..14, full at 14), hold (15..20), release (21..27), rest: 32 frames."""
    return np.concatenate([np.zeros(8), np.linspace(1 / 7, 1, 7), np.ones(6), np.linspace(6 / 7, 0, 7), np.zeros(4)])


def _ellipse(cx, cy, rx, ry):
    y, x = np.mgrid[0:H, 0:W] + 0.5
    if ry <= 0:
        return np.zeros((H, W), bool)
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def _sequence(vein_collapse):
    """Label masks: the artery flattens by 30 % under pressure, the vein's height shrinks by
    vein_collapse x pressure."""
    masks = []
    for p in _pressure():
        m = np.zeros((H, W), np.uint8)
        m[_ellipse(*ART, 10, 10 * (1 - 0.3 * p))] = 1
        m[_ellipse(*VEIN, 14, 12 * (1 - vein_collapse * p))] = 2
        masks.append(m)
    return masks


def _tracker(masks, **cfg):
    t = vn.Tracker(pixel_spacing_x=0.1, pixel_spacing_y=0.1, frame_rate=10, **cfg)
    for m in masks:
        t.push_labels(m)
    return t


# ------------------------------------------------------------------ config

HEADER_DEFAULTS = {  # the bracketed defaults of venseg_tracking.h
    "pixel_spacing_x": 0, "pixel_spacing_y": 0, "frame_rate": 0, "frame_stride": 1, "artery_label": 1,
    "vein_label": 2, "min_area_px": 16, "smooth_window": 3, "compressible_percent": 90,
    "compressible_residual_mm2": 0.5, "noncompressible_percent": 25, "min_frames": 10,
    "artery_deformation_percent": 10, "max_lateral_shift": 0.75, "lost_fraction": 0.5,
    "require_pressure_evidence": 1, "max_area_fraction": 0.25,
    "medial_side": 0, "min_identity_confidence": 0.85, "min_verdict_confidence": 0.6,
    "max_side": 0,
}


def test_track_size_for_follows_venseg_analyze():
    """The applications' tracking size: 320 px, the model's input side if larger, 0 for full."""
    assert vn.DEFAULT_TRACK_SIZE == 320
    assert vn.track_size_for(None) == 320
    assert vn.track_size_for(None, "full") == 0 and vn.track_size_for(None, 0) == 0
    assert vn.track_size_for(None, "480") == 480

    class Wide:  # a model whose input is larger than the default
        input_size = (512, 384, 3)
    assert vn.track_size_for(Wide()) == 512
    cfg = vn.TrackerConfig(max_side=320)
    assert cfg["max_side"] == 320
    with pytest.raises(vn.VensegError, match="VENSEG_TRACKER_MAX_SIDE"):
        cfg["max_side"] = 16


def _fresh_config_has_defaults(cls, defaults):
    """A new cls() whose values are the header's defaults, each within its bounds and equal
    to the default that bounds() reports."""
    cfg = cls()
    assert cfg.as_dict() == pytest.approx(defaults)
    for key, default in defaults.items():
        lo, hi, fallback = cls.bounds(key)
        assert lo <= default <= hi and fallback == pytest.approx(default)
    return cfg


def test_tracker_config_defaults_bounds_and_site():
    cfg = _fresh_config_has_defaults(vn.TrackerConfig, HEADER_DEFAULTS)
    cfg["frame_stride"] = 2
    cfg[vn.TrackerKey.FRAME_RATE] = 25.0
    assert cfg["frame_stride"] == 2 and cfg.get("frame_rate") == 25.0
    assert _status(cfg.set, "smooth_window", 4) == "VENSEG_E_INVALID_ARGUMENT"  # must be odd
    assert _status(cfg.set, "compressible_percent", 101) == "VENSEG_E_INVALID_ARGUMENT"
    assert cfg["smooth_window"] == 3
    assert _status(cfg.get, 999) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.TrackerConfig.bounds, 999) == "VENSEG_E_INVALID_ARGUMENT"
    with pytest.raises(ValueError):
        cfg["no_such_key"] = 1
    assert _status(cfg.set, "frame_rate", "fast") == "VENSEG_E_INVALID_ARGUMENT"
    assert cfg.site == ""
    cfg.site = vn.SITE_COMMON_FEMORAL
    assert cfg.site == "common_femoral"
    assert _status(setattr, cfg, "site", "x" * 64) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(setattr, cfg, "site", "tab\there") == "VENSEG_E_INVALID_ARGUMENT"
    assert cfg.site == "common_femoral"
    cfg.close()


def test_medial_side_round_trips_by_value_and_name():
    cfg = vn.TrackerConfig()
    assert cfg["medial_side"] == 0 and vn.TrackerConfig.bounds("medial_side") == (-1, 1, 0)
    cfg["medial_side"] = "left"
    assert cfg["medial_side"] == -1 == vn.MedialSide.LEFT
    cfg[vn.TrackerKey.MEDIAL_SIDE] = vn.MedialSide.RIGHT
    assert cfg.get("medial_side") == 1
    cfg.set("medial_side", "Unknown")
    assert cfg["medial_side"] == 0
    assert _status(cfg.set, "medial_side", 2) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(cfg.set, "medial_side", 0.5) == "VENSEG_E_INVALID_ARGUMENT"  # integral
    assert _status(cfg.set, "medial_side", "middle") == "VENSEG_E_INVALID_ARGUMENT"
    assert cfg["medial_side"] == 0 and cfg.as_dict()["medial_side"] == 0
    cfg["min_verdict_confidence"] = 0.8
    assert cfg["min_verdict_confidence"] == 0.8
    assert [vn.medial_side_name(v) for v in (-1, 0, 1)] == ["left", "unknown", "right"]
    # a configured side is the one the tracker uses at the common femoral site, and says so
    # (the drawn vein lies right of the artery: medial when the right side is)
    t = _tracker(_sequence(1.0), medial_side="right", site="common_femoral")
    s = t.summary()
    assert (s.medial_side, s.medial_side_source) == (1, 1) and s.as_dict()["medial_side_source"] == "configured"
    assert s.medial_side_name == "right" and s.as_dict()["medial_side"] == "right"
    assert t.vessels()[0].identity is vn.VesselIdentity.VEIN and "medial to the artery" in t.vessels()[0].evidence
    cfg.close()


def test_names_of_verdicts_flags_and_outcomes():
    for v in vn.Verdict:
        assert vn.verdict_name(v) == "VENSEG_VERDICT_" + v.name
    assert vn.verdict_name(99) == "VENSEG_VERDICT_UNKNOWN"
    assert len(vn.Flag) == 17 and vn.Flag.NO_VESSEL == 1 and vn.Flag.UNSTABLE == 1 << 10
    assert vn.Flag.IDENTITY_CONFLICT == 1 << 11 and vn.Flag.VEIN_INTERMITTENT == 1 << 15
    for f in vn.Flag:
        assert vn.flag_name(f) == "VENSEG_FLAG_" + f.name
    assert vn.flag_name(3) == vn.flag_name(1 << 20) == "VENSEG_FLAG_UNKNOWN"
    assert vn.flag_names(vn.Flag.NO_VEIN | vn.Flag.NO_RELEASE) == ["VENSEG_FLAG_NO_VEIN", "VENSEG_FLAG_NO_RELEASE"]
    for o in vn.ExamOutcome:
        assert vn.exam_outcome_name(o) == "VENSEG_EXAM_" + o.name
    assert vn.exam_outcome_name(7) == "VENSEG_EXAM_UNKNOWN"
    assert [(m.name, int(m)) for m in vn.VesselIdentity] == [("UNKNOWN", 0), ("ARTERY", 1), ("VEIN", 2), ("OTHER", 3)]
    for i in vn.VesselIdentity:
        assert vn.identity_name(i) == "VENSEG_IDENTITY_" + i.name
    assert vn.identity_name(9) == "VENSEG_IDENTITY_UNKNOWN"
    assert vn.INFORMATIONAL_FLAGS == (vn.Flag.NO_RELEASE | vn.Flag.SPACING_UNKNOWN | vn.Flag.VESSELS_MERGED
                                      | vn.Flag.VEIN_INTERMITTENT)


# ------------------------------------------------------------------ tracker on drawn masks

@pytest.mark.parametrize("collapse, verdict", [(1.0, vn.Verdict.COMPRESSIBLE),
                                               (0.5, vn.Verdict.PARTIALLY_COMPRESSIBLE),
                                               (0.0, vn.Verdict.NON_COMPRESSIBLE)])
def test_tracker_verdicts_and_measurements(collapse, verdict):
    masks = _sequence(collapse)
    t = _tracker(masks)
    vein = np.array([(m == 2).sum() for m in masks])
    artery = np.array([(m == 1).sum() for m in masks])
    s = t.summary()
    assert s.frames_pushed == s.frames_analysed == len(masks)
    assert t.verdict == verdict == s.verdict_enum, vn.flag_names(s.flags)
    # the enums print by name: in the record, its repr and its dict
    assert s.verdict is verdict and isinstance(s.flags, vn.Flag)
    assert f"Verdict.{verdict.name}" in repr(s) and "Flag" in repr(s)
    d = s.as_dict()
    assert d["verdict"] == verdict.name and d["flags"] == [n[len("VENSEG_FLAG_"):] for n in vn.flag_names(s.flags)]
    assert d["indeterminate_reasons"] == [] and s.indeterminate_reasons == []
    assert 0 <= s.verdict_confidence <= 1 and 0 <= s.identity_confidence <= 1, d
    assert s.vessel_count == len(t.vessels()) >= 2 and s.identity_frames > 0, d
    # rest and hold are flat for longer than the median window: baseline and minimum are exact
    assert s.baseline_area_px == vein[0] and s.min_area_px == vein[8 + 7 + 2]
    assert s.compressibility_percent == pytest.approx((vein[0] - vein[17]) / vein[0] * 100)
    assert s.baseline_area_mm2 == pytest.approx(vein[0] * 0.01) and s.min_area_mm2 == pytest.approx(vein[17] * 0.01)
    if collapse > 0:
        assert s.baseline_frame < s.min_frame and 14 <= s.min_frame <= 20  # full pressure: frames 14..20
    assert 15 < s.artery_deformation_percent < 45  # height / width 1 -> 0.7 (30 %), pixelised
    assert s.max_lateral_shift_px < 1.0
    assert not s.flag_set & (vn.Flag.SPACING_UNKNOWN | vn.Flag.NO_ARTERY | vn.Flag.ARTERY_NOT_DEFORMED)
    # per frame
    for i in (0, 10, 17, 31):
        f = t.frame(i)
        assert (f.frame_index, f.analysed_index) == (i, i)
        assert f.time_s == pytest.approx(i / 10)
        assert f.vein_area_px == vein[i] and f.artery_area_px == artery[i]
        assert f.vein_area_mm2 == pytest.approx(vein[i] * 0.01)
        assert f.vein_present == int(vein[i] > 0) and f.artery_present == 1
        ys, xs = np.nonzero(masks[i] == 1)
        assert (f.artery_centroid_x, f.artery_centroid_y) == pytest.approx((xs.mean() + 0.5, ys.mean() + 0.5))
        if vein[i]:
            ys, xs = np.nonzero(masks[i] == 2)
            assert (f.vein_centroid_x, f.vein_centroid_y) == pytest.approx((xs.mean() + 0.5, ys.mean() + 0.5))
        else:
            assert math.isnan(f.vein_centroid_x)
    assert t.frame(-1) == t.frame(31) and len(t.frames()) == 32
    assert _status(t.frame, 32) == "VENSEG_E_NOT_FOUND"
    # curve: raw areas, their running median of 3, artery areas; mm2 = px x 0.01
    c = t.curve()
    assert (c["frame_index"] == np.arange(32)).all()
    assert (c["vein_area"] == vein).all() and (c["artery_area"] == artery).all()
    med = np.array([np.median(vein[i - 1:i + 2]) for i in range(1, 31)])
    assert (c["vein_area_smoothed"][1:31] == med).all()
    assert np.allclose(t.curve("mm2")["vein_area"], vein * 0.01)
    # the vessels of the latest frame, with their roles and track ids
    insts = {i.role: i for i in t.instances}
    assert t.instance_count == 2 and set(insts) == {1, 2}
    assert insts[1].label == 1 and insts[1].area_px == artery[-1] and insts[1].track_id == s.artery_track_id
    assert insts[2].label == 2 and insts[2].area_px == vein[-1] and insts[2].track_id == s.vein_track_id
    ys, xs = np.nonzero(masks[-1] == 2)
    assert (insts[2].bbox_x, insts[2].bbox_y, insts[2].bbox_width, insts[2].bbox_height) == \
        (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert insts[2].area_mm2 == pytest.approx(vein[-1] * 0.01)
    assert _status(t.instance, 2) == "VENSEG_E_NOT_FOUND"


def test_tracker_flags_stride_reset_and_errors():
    masks = _sequence(1.0)
    # too short, and no spacing
    t = vn.Tracker()
    for m in masks[:5]:
        t.push_labels(m)
    s = t.summary()
    assert t.verdict == vn.Verdict.INDETERMINATE
    assert s.flag_set & vn.Flag.SEQUENCE_TOO_SHORT and s.flag_set & vn.Flag.SPACING_UNKNOWN
    # why there is no verdict: its flags that are not informational, by name
    assert "SEQUENCE_TOO_SHORT" in s.indeterminate_reasons and "SPACING_UNKNOWN" not in s.indeterminate_reasons
    assert s.as_dict()["indeterminate_reasons"] == s.indeterminate_reasons
    assert "Verdict.INDETERMINATE" in repr(s)
    assert math.isnan(s.baseline_area_mm2) and math.isnan(t.frame().vein_area_mm2)
    assert _status(t.curve, "mm2") == "VENSEG_E_UNDEFINED"
    assert _status(t.push_labels, np.zeros((H, W + 2), np.uint8)) == "VENSEG_E_INVALID_ARGUMENT"  # size change
    t.reset()
    assert t.summary().frames_pushed == 0 and t.curve()["vein_area"].size == 0
    assert _status(t.frame) == "VENSEG_E_NOT_FOUND"
    # nothing at all
    for _ in range(12):
        t.push_labels(np.zeros((H, W), np.uint8))
    assert t.flags & vn.Flag.NO_VESSEL and t.flags & vn.Flag.NO_VEIN and t.verdict == vn.Verdict.INDETERMINATE
    # stride 2: pushed frames 0, 2, 4 ... are analysed
    t2 = vn.Tracker(vn.TrackerConfig(frame_stride=2, frame_rate=10))
    analysed = [t2.push_labels(m) for m in masks[:6]]
    assert analysed == [True, False] * 3
    f = t2.frame(1)
    assert (f.frame_index, f.analysed_index, f.time_s) == (2, 1, pytest.approx(0.2))
    assert t2.summary().frames_pushed == 6 and t2.summary().frames_analysed == 3


def test_push_result_counts_and_abi1_aliases():
    """push_*_ex say whether the stride analysed a frame; the ABI 1 names stay aliases."""
    masks = _sequence(1.0)
    t = vn.Tracker(vn.TrackerConfig(frame_stride=3))
    results = [t.push_labels_result(m) for m in masks[:7]]
    assert [r.analysed for r in results] == [1, 0, 0, 1, 0, 0, 1]
    assert [r.frame_index for r in results] == list(range(7))
    assert [r.analysed_index for r in results] == [0, -1, -1, 1, -1, -1, 2]
    assert results[-1].frames_analysed == t.frame_count == 3 == len(t.frames())
    lib, ffi = vn._lib, vn.ffi  # the recorded library: aliases count as called
    a = np.ascontiguousarray(masks[7])
    assert lib.venseg_tracker_push_labels(t.handle, ffi.cast("uint8_t *", a.ctypes.data), W, W, H) == 0
    f, g = ffi.new("venseg_track_frame *"), ffi.new("venseg_track_frame *")
    f.struct_size = g.struct_size = ffi.sizeof("venseg_track_frame")
    assert lib.venseg_tracker_frame(t.handle, -1, f) == 0 and lib.venseg_tracker_frame_at(t.handle, -1, g) == 0
    assert f.frame_index == g.frame_index == 6
    i = ffi.new("venseg_tracked_instance *")
    i.struct_size = ffi.sizeof("venseg_tracked_instance")
    assert lib.venseg_tracker_instance(t.handle, 0, i) == 0 and i.track_id >= 1
    s = ffi.new("venseg_track_summary *")
    s.struct_size = ffi.sizeof("venseg_track_summary")
    assert lib.venseg_tracker_summary(t.handle, s) == 0 and s.frames_pushed == 8
    ph = vn.Phantom(width=64, height=48, frames=2)
    tr = ffi.new("venseg_phantom_truth *")
    tr.struct_size = ffi.sizeof("venseg_phantom_truth")
    assert lib.venseg_phantom_truth_get(ph.handle, 1, tr) == 0 and tr.vein_area_px == ph.truth_record(1).vein_area_px
    e = vn.Exam("three_point")
    assert e.site_count == 3 == len(e.sites())


def test_tracker_push_frame_segments_with_the_session():
    if not os.path.exists(UNET16):
        pytest.skip("weights/unet16.vseg is absent")
    ph = vn.Phantom(seed=9, width=160, height=128, frames=12)
    with vn.Model(UNET16) as m, vn.Session(m, threads=1) as s, vn.Session(m, threads=1) as ref:
        cfg = dict(frame_stride=2, site="popliteal", frame_rate=30, pixel_spacing_x=0.15, pixel_spacing_y=0.15)
        t, by_labels = vn.Tracker(**cfg), vn.Tracker(**cfg)  # (no NaN fields: they would not compare equal)
        for i in range(6):
            px, _ = ph.frame(i)
            out = np.full(px.shape, 9, np.uint8)
            got = t.push_frame(s, px, out=out)
            if i % 2:
                assert got is None and (out == 9).all()  # skipped frames are not segmented
            else:
                assert got is out and (out == ref.segment(px)).all()
            by_labels.push_labels(ref.segment(px))
        # = segmenting, then pushing the labels (the header's definition)
        assert t.summary().frames_analysed == 3 and t.frame().frame_index == 4
        # the identity cues of pixels and probabilities (network share, wall) come with push_frame only
        cues = ("verdict_confidence", "identity_confidence", "network_vein_fraction", "wall_contrast", "evidence")
        assert t.frames() == by_labels.frames() and _same(t.summary(), by_labels.summary(), cues)
        assert len(t.vessels()) == len(by_labels.vessels())
        assert all(_same(a, b, cues) for a, b in zip(t.vessels(), by_labels.vessels()))
        assert _status(t.push_frame, s, np.zeros((128, 160), np.int32)) == "VENSEG_E_INVALID_ARGUMENT"
        assert _status(t.push_frame, s, np.zeros((64, 64), np.uint8)) == "VENSEG_E_INVALID_ARGUMENT"  # size
        # the ABI 1 names push_frame and session_instance are aliases
        lib, ffi = vn._lib, vn.ffi
        px = np.ascontiguousarray(ph.frame(6)[0])
        assert lib.venseg_tracker_push_frame(t.handle, s.handle, ffi.cast("void *", px.ctypes.data), 1, 160, 128,
                                             160, ffi.NULL, 0) == 0
        assert t.frame_count == 4
        n = s.instance_count
        if n:
            inst = ffi.new("venseg_instance *")
            inst.struct_size = ffi.sizeof("venseg_instance")
            assert lib.venseg_session_instance(s.handle, 0, inst) == 0 and inst.area_px == s.instance(0).area_px


def _same(a, b, ignore=()) -> bool:
    """Records equal field by field (but the fields in ignore), NaN equal to NaN."""
    da, db = a.as_dict(), b.as_dict()
    return da.keys() == db.keys() and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in ((da[k], db[k]) for k in da if k not in ignore))


# ------------------------------------------------------------------ vessels on phantom truth

def _phantom_tracker(seed, thrombus="none", **cfg):
    """A tracker fed the ground-truth masks of a phantom clip (256x256, 60 frames, 30 Hz)."""
    ph = vn.Phantom(seed=seed, frames=60, thrombus=thrombus)
    t = vn.Tracker(frame_rate=30, pixel_spacing_x=0.15, pixel_spacing_y=0.15, **cfg)
    for i in range(len(ph)):
        t.push_labels(ph.frame(i, pixels=False)[1])
    return ph, t


@pytest.mark.parametrize("seed, thrombus", [(4, "none"), (5, "full")])
def test_vessels_on_phantom_truth_masks(seed, thrombus):
    ph, t = _phantom_tracker(seed, thrombus, site="common_femoral")
    vessels, s = t.vessels(), t.summary()
    assert t.vessel_count == len(vessels) == s.vessel_count >= 2
    vein, artery = vessels[0], vessels[1]
    # one VEIN track (the vein of interest) and one ARTERY track, the others OTHER
    assert vein.identity is vn.VesselIdentity.VEIN and artery.identity is vn.VesselIdentity.ARTERY, vessels
    assert [v.identity for v in vessels[2:]] == [vn.VesselIdentity.OTHER] * (len(vessels) - 2)
    assert (vein.role, artery.role) == (2, 1) and (vein.role_name, artery.role_name) == ("vein", "artery")
    assert (vein.track_id, artery.track_id) == (s.vein_track_id, s.artery_track_id)
    for v in (vein, artery):
        assert isinstance(v.evidence, str) and 0 < len(v.evidence) < 192, v
        assert 0 <= v.identity_confidence <= 1 and v.frames_present > 0 and v.first_frame >= 0
        assert v.mean_area_px > 0
        assert repr(v).startswith("Vessel(") and f"VesselIdentity.{v.identity.name}" in repr(v)
        d = v.as_dict()
        assert d["identity"] == v.identity.name and d["role"] == v.role_name and d["evidence"] == v.evidence
    truth = ph.truth_record(0)  # before the probe presses
    assert vein.mean_area_px == pytest.approx(truth.rest_vein_area_px, rel=0.05)
    assert artery.mean_area_px == pytest.approx(truth.artery_area_px, rel=0.1)  # it pulses
    assert _same(t.vessel(0), vein) and _status(t.vessel, len(vessels)) == "VENSEG_E_NOT_FOUND"
    # the summary: the verdict of the truth and how sure it is
    want = vn.Verdict.COMPRESSIBLE if thrombus == "none" else vn.Verdict.NON_COMPRESSIBLE
    assert s.verdict is want, s.as_dict()
    assert 0 < s.verdict_confidence <= 1 and 0 < s.identity_confidence <= 1 and s.identity_frames > 0
    assert s.medial_side in (-1, 0, 1) and s.medial_side_source in (0, 2)  # not configured: detected or unknown
    # configured as the phantom's vein side (the femoral vein is medial): used as given, and
    # the position cue points at the vein
    side = truth.vein_side
    _, sided = _phantom_tracker(seed, thrombus, site="common_femoral", medial_side=side)
    ss, sv = sided.summary(), sided.vessels()
    assert (ss.medial_side, ss.medial_side_source) == (side, 1) and ss.verdict is want
    assert [v.identity for v in sv[:2]] == [vn.VesselIdentity.VEIN, vn.VesselIdentity.ARTERY]
    assert sv[0].position_score > 0 > sv[1].position_score and "medial to the artery" in sv[0].evidence
    if s.medial_side_source == 2:  # detected: the same side
        assert s.medial_side == side
    t.reset()
    assert t.vessel_count == 0 and t.vessels() == []


# ------------------------------------------------------------------ exam

def _site_tracker(site, collapse):
    t = _tracker(_sequence(collapse), site=site)
    return t


def test_exam_two_and_three_point():
    e = vn.Exam("two_point")
    r = e.report()
    assert (r.outcome_enum, r.protocol, r.site_count, r.required_missing) == (vn.ExamOutcome.INCOMPLETE, 2, 2, 2)
    e.add(_site_tracker("Common_Femoral", 1.0))  # names match case-insensitively
    assert e.report().required_missing == 1 and e.outcome == vn.ExamOutcome.INCOMPLETE
    e.add(_site_tracker("popliteal", 1.0))
    r = e.report()
    assert r.outcome_enum == vn.ExamOutcome.NORMAL and r.compressible == 2 and r.required_missing == 0
    sites = e.sites()
    assert [s.site.lower() for s in sites] == ["common_femoral", "popliteal"]
    assert all(s.required == 1 and s.recorded == 1 and s.verdict == vn.Verdict.COMPRESSIBLE for s in sites)
    assert sites[0].compressibility_percent == pytest.approx(100.0) and sites[0].residual_area_mm2 == 0.0
    # an extra, abnormal site makes the exam abnormal
    e.add(_site_tracker("femoral", 0.5))
    r = e.report()
    assert r.outcome_enum == vn.ExamOutcome.ABNORMAL and r.site_count == 3 and r.partially_compressible == 1
    assert e.site(2).required == 0 and e.site(2).verdict == vn.Verdict.PARTIALLY_COMPRESSIBLE
    assert _status(e.site, 3) == "VENSEG_E_NOT_FOUND"
    assert _status(e.add, vn.Tracker()) == "VENSEG_E_INVALID_ARGUMENT"  # no site
    three = vn.Exam(vn.ExamProtocol.THREE_POINT)
    assert [s.site for s in three.sites()] == [vn.SITE_COMMON_FEMORAL, vn.SITE_FEMORAL, vn.SITE_POPLITEAL]
    assert all(s.recorded == 0 and s.verdict == vn.Verdict.INDETERMINATE for s in three.sites())
    custom = vn.Exam("custom")
    custom.add(_site_tracker("left arm", 1.0))
    assert custom.outcome == vn.ExamOutcome.NORMAL
    assert _status(vn.Exam, 1) == "VENSEG_E_INVALID_ARGUMENT"
    for x in (e, three, custom):
        x.close()


# ------------------------------------------------------------------ phantom

PHANTOM_DEFAULTS = {"seed": 1, "width": 256, "height": 256, "frames": 90, "frame_rate": 30, "heart_rate": 72,
                    "thrombus": 0, "compression": 1, "probe_motion": 0, "gain_db": 0, "noise": 0.05,
                    "pixel_spacing": 0.15, "vessels": 1, "vein_side": 0, "vein_to_artery": 0,
                    "pulse_amplitude": 0.06, "respiration": 0, "respiratory_rate": 15, "thrombus_age": 0,
                    "probe_tilt": 0, "out_of_plane": 0, "decorrelation": 0, "attenuation": 0.75, "baseline_s": 0}


def test_phantom_config_and_truth():
    cfg = _fresh_config_has_defaults(vn.PhantomConfig, PHANTOM_DEFAULTS)
    assert _status(cfg.set, "width", -5) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(cfg.get, 999) == "VENSEG_E_INVALID_ARGUMENT"
    assert _status(vn.PhantomConfig.bounds, 999) == "VENSEG_E_INVALID_ARGUMENT"
    cfg["width"], cfg["height"], cfg["frames"], cfg["thrombus"] = 96, 80, 20, "full"
    ph = vn.Phantom(cfg)
    assert (ph.width, ph.height, len(ph), ph.config["thrombus"]) == (96, 80, 20, 2)
    for i in (0, 10, 19):
        px, lab = ph.frame(i)
        t = ph.truth_record(i)
        assert t.vein_area_px == (lab == 2).sum() and t.artery_area_px == (lab == 1).sum()
        assert t.vein_area_mm2 == pytest.approx(t.vein_area_px * 0.15 ** 2)
        assert t.thrombus == vn.Thrombus.FULL and 0 <= t.pressure <= 1
        assert t.min_vein_area_px <= t.vein_area_px <= t.rest_vein_area_px + 1e-9 or t.pressure == 0
        assert t.true_compressibility_percent == pytest.approx(
            (t.rest_vein_area_px - t.min_vein_area_px) / t.rest_vein_area_px * 100)
        only_px, none_lab = ph.frame(i, labels=False)
        assert none_lab is None and (only_px == px).all()
    assert ph.truth(0)["thrombus"] == 2
    assert _status(ph.frame, 20) in ("VENSEG_E_INVALID_ARGUMENT", "VENSEG_E_NOT_FOUND")
    assert _status(ph.truth, -1) in ("VENSEG_E_INVALID_ARGUMENT", "VENSEG_E_NOT_FOUND")
    empty = vn.Phantom(width=64, height=48, frames=3, vessels=0)
    assert not empty.frame(1)[1].any() and math.isnan(empty.truth(1)["true_compressibility_percent"])
    ph.close()
    cfg.close()
