"""Shared by the pytest files: the cffi binding (venseg._native) or a skip, and helpers.

Every test reaches libvenseg through the binding (built for the library under test by
ctest's python_binding_build; see bindings/python/README.md), never through ctypes tables."""

import os

import numpy as np
import pytest


def binding():
    """venseg._native (the cffi binding), or skip (fail when CI=true) when it is not built."""
    try:
        from venseg import _native
    except ImportError as exc:
        msg = f"the venseg cffi binding is not built ({exc}); see bindings/python/README.md"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " and CI=true", pytrace=False)
        pytest.skip(msg, allow_module_level=True)
    return _native


def raised(fn, *args, **kwargs):
    """The venseg.VensegError that fn(*args, **kwargs) raises (fails if it raises none)."""
    from venseg import _native
    with pytest.raises(_native.VensegError) as e:
        fn(*args, **kwargs)
    return e.value


def status_of(fn, *args, **kwargs):
    """The status name of the VensegError fn(*args, **kwargs) raises."""
    return raised(fn, *args, **kwargs).status


def run_tensor(session, x, activation: bool = True) -> np.ndarray:
    """session.run_tensor(x) into a NaN-filled output, so that a value the library did not
    write shows as NaN."""
    x = np.ascontiguousarray(x, np.float32)
    n, _, h, w = x.shape
    out = np.full((n, session.model.num_classes, h, w), np.nan, np.float32)
    return session.run_tensor(x, apply_activation=activation, out=out)
