"""Every function the public headers declare (VENSEG_API) was called through the binding
by the binding tests of this session (recorded by conftest.py). Runs last (file order)."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402
from vslib import binding  # noqa: E402

binding()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADERS = ("venseg.h", "venseg_tracking.h", "venseg_experimental.h")
BINDING_TESTS = ("test_binding_core.py", "test_binding_metrics.py", "test_binding_tracking.py")


def declared():
    names = []
    for h in HEADERS:
        with open(os.path.join(ROOT, "include", "venseg", h), encoding="utf-8") as f:
            text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
        names += re.findall(r"VENSEG_API\b[^;(]*?\b(venseg_\w+)\s*\(", text)
    return names


def test_the_header_parser_finds_the_api():
    names = declared()
    tokens = 0
    for h in HEADERS:
        with open(os.path.join(ROOT, "include", "venseg", h), encoding="utf-8") as f:
            tokens += f.read().count("VENSEG_API ")
    assert len(names) == len(set(names)) == tokens > 80  # one name per declaration
    assert {"venseg_segment", "venseg_tracker_curve", "venseg_session_run_tensor"} <= set(names)


def test_every_public_function_is_exercised(request):
    ran = {os.path.basename(str(item.fspath)) for item in request.session.items}
    if not set(BINDING_TESTS) <= ran:
        pytest.skip("only meaningful when all of " + ", ".join(BINDING_TESTS) + " run in the same session")
    if not conftest.CALLED:
        pytest.fail("conftest.py recorded no calls: is venseg._native._lib wrapped?")
    missing = [n for n in declared() if not conftest.CALLED[n]]
    assert not missing, f"public functions never called through the binding: {missing}"
