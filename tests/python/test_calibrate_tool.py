"""venseg.toolkit.calibrate: int8 ranges stored in a .vseg make int8 work out of the box.

On the tiny q8 fixture (no shared data needed): the rewritten file keeps every tensor and
its dtype (fp32 output bit-identical), int8 sessions refuse the original (naming the remedy)
and accept the calibrated file, and the stored ranges are those the calibration measured.
"""
import os

import numpy as np
import pytest

from vslib import binding  # noqa: E402

N = binding()
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TINY = os.path.join(ROOT, "tests", "data", "tiny_plain_unet_q8.vseg")


def test_stored_ranges_round_trip(tmp_path):
    from venseg.toolkit.calibrate import MAX_KEY, NAMES_KEY, store_ranges
    from venseg.toolkit.weights import read_vseg

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(3)]
    m = N.Model(TINY)
    cal = N.Calibration(m)
    for f in frames:
        cal.add_frame(f)
    entries = [cal.entry(i) for i in range(len(cal))]
    int8 = "onednn" in N.build_info().get("backends", "")  # the reference backend runs fp32 only
    if int8:
        with pytest.raises(N.VensegError) as e:
            N.Session(m, precision="int8", backend="onednn", threads=1)
        assert e.value.status == "VENSEG_E_UNSUPPORTED" and "Calibration" in e.value.detail
    out = tmp_path / "cal.vseg"
    store_ranges(TINY, str(out), entries)
    a, b = read_vseg(TINY), read_vseg(str(out))
    assert a.dtypes == b.dtypes and a.tensors.keys() == b.tensors.keys()
    for k in a.tensors:
        assert np.array_equal(a.tensors[k], b.tensors[k]), k
    assert b.metadata[NAMES_KEY] == [n for n, _ in entries]
    assert np.allclose(b.metadata[MAX_KEY], [v for _, v in entries])
    mc = N.Model(str(out))
    fp32 = [N.Session(x, precision="fp32", backend="reference", threads=1).segment(frames[0]) for x in (m, mc)]
    lab = [r[0] if isinstance(r, tuple) else r for r in fp32]
    assert np.array_equal(np.asarray(lab[0]), np.asarray(lab[1]))
    if int8:
        N.Session(mc, precision="int8", backend="onednn", threads=1).segment(frames[1])  # no calibration needed
    m.close()
    mc.close()
