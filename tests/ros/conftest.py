"""Fixtures for the ROS 2 edge tests."""

from __future__ import annotations

import itertools
import os

import pytest

# rclpy (Fast DDS, Jazzy's default middleware) and the DDS transport keep to loopback: no
# multicast off this machine. Set here, before any test creates a node, so a plain
# `python -m pytest` needs nothing exported.
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

# Domain ids 0..232 are valid; spread concurrent runs by pid, one fresh id per test.
_DOMAIN_IDS = itertools.count(1 + (os.getpid() % 40) * 5)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id no other test in this run uses (no crosstalk between tests)."""
    return next(_DOMAIN_IDS) % 230 + 1
