"""The module under test is the one CMake built: PYTHONPATH=<build>/python (set by CTest)."""
import os

import pytest

FIXTURES = os.environ.get("GROKSCOPE_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "fixtures"))


@pytest.fixture
def fixtures():
    return FIXTURES
