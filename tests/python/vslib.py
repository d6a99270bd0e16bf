"""Shared by the pytest files: where the built libvenseg is (env VENSEG_LIBRARY)."""

import ctypes
import os

import pytest


def library_path():
    """VENSEG_LIBRARY, or skip (fail when CI=true) when it is not set."""
    path = os.environ.get("VENSEG_LIBRARY")
    if not path:
        msg = "VENSEG_LIBRARY is not set (path to the built libvenseg.so)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " and CI=true", pytrace=False)
        pytest.skip(msg)
    if not os.path.exists(path):
        pytest.fail(f"VENSEG_LIBRARY={path} does not exist", pytrace=False)
    return path


def load_library(path):
    """libvenseg with the signatures of the inference calls the tests use."""
    L = ctypes.CDLL(path)
    vp, pvp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
    fp, i32 = ctypes.POINTER(ctypes.c_float), ctypes.c_int32
    sig = {
        "venseg_last_error": (ctypes.c_char_p, []),
        "venseg_status_name": (ctypes.c_char_p, [ctypes.c_int]),
        "venseg_model_load_memory": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, pvp]),
        "venseg_model_free": (None, [vp]),
        "venseg_session_create": (ctypes.c_int, [vp, vp, pvp]),
        "venseg_session_free": (None, [vp]),
        "venseg_session_run_tensor": (ctypes.c_int, [vp, fp, i32, i32, i32, i32, ctypes.c_int, fp]),
        "venseg_version_string": (ctypes.c_char_p, []),
        "venseg_build_info": (ctypes.c_char_p, []),
        "venseg_session_describe": (ctypes.c_char_p, [vp]),
        "venseg_options_create": (ctypes.c_int, [pvp]),
        "venseg_options_set": (ctypes.c_int, [vp, ctypes.c_int, ctypes.c_int64]),
        "venseg_options_free": (None, [vp]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(L, name)
        fn.restype, fn.argtypes = res, args
    return L


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
