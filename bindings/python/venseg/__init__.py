"""libvenseg Python package.

* ``venseg.Model``, ``Session``, ``Tracker``, ``Exam``, ``Phantom``, metrics ... - the cffi
  binding of the C library (``venseg._native``), loaded on first use
* ``venseg.toolkit``  - model development: weights files, reference networks, training,
  conversion, evaluation, model cards (``pip install venseg[train]`` for torch); it uses the
  binding, the binding never imports it

Importing ``venseg`` imports neither torch nor the compiled extension, so the pure-Python
parts work without a built libvenseg.
"""

import importlib
import importlib.util
import pkgutil

# An in-tree build puts venseg/_venseg_cffi*.so in another directory on sys.path
# (venseg_build.py --out DIR); this lets the package find it there.
__path__ = pkgutil.extend_path(__path__, __name__)

__version__ = "0.5.0"

_BINDING = None


def __getattr__(name):
    global _BINDING
    # submodules (from . import arch) are imported by the import system, not here
    if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(f"module 'venseg' has no attribute {name!r}")
    if _BINDING is None:
        try:
            _BINDING = importlib.import_module("._native", __name__)
        except ImportError as exc:
            raise AttributeError(f"venseg.{name} needs the compiled binding, which is not available: {exc}") from exc
    if name in _BINDING.__all__:
        return getattr(_BINDING, name)
    raise AttributeError(f"module 'venseg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(importlib.import_module("._native", __name__).__all__))
