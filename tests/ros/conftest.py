"""Fixtures for the ROS 2 edge tests."""

from __future__ import annotations

import itertools
import os

import pytest

# Domain ids 0..232 are valid; spread concurrent runs by pid, one fresh id per test.
_DOMAIN_IDS = itertools.count(1 + (os.getpid() % 40) * 5)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id no other test in this run uses (no crosstalk between tests)."""
    return next(_DOMAIN_IDS) % 230 + 1
