"""Records which libvenseg functions the tests call through the cffi binding.

venseg._native calls every C function as ``_lib.venseg_x(...)``, looked up at call time;
this wraps that object so that tests/python/test_binding_zcoverage.py can check that the
suite exercised every function the public headers declare. Nothing else changes.
"""

import collections
import os
import sys

# as the test files do; appended, so that PYTHONPATH or an installed venseg comes first
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))

CALLED = collections.Counter()


class _RecordingLib:
    def __init__(self, lib):
        self._lib = lib

    def __getattr__(self, name):
        target = getattr(self._lib, name)
        if not (name.startswith("venseg_") and callable(target)):
            return target

        def call(*args):
            CALLED[name] += 1
            return target(*args)

        return call


def _install():
    try:
        from venseg import _native
    except ImportError:  # binding not built: the binding tests skip or fail on their own
        return
    if not isinstance(_native._lib, _RecordingLib):
        _native._lib = _RecordingLib(_native._lib)


_install()
