"""Shared by the pytest files: where the built libvenseg is (env VENSEG_LIBRARY)."""

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
