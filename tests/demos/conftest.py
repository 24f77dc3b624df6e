"""Teleop tests talk ROS 2 over loopback only (as tests/ros and tests/nodes do)."""

from __future__ import annotations

import itertools
import os

import pytest

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

_DOMAIN_IDS = itertools.count(100 + (os.getpid() % 20) * 5)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id no other test in this run uses."""
    return next(_DOMAIN_IDS) % 230 + 1
