"""Fixtures for the node tests."""

from __future__ import annotations

import itertools
import os

import pytest

# rclpy (Fast DDS, Jazzy's default middleware) and the DDS transport keep to loopback: no
# multicast off this machine. Set here, before any test creates a node, so a plain
# `python -m pytest` needs nothing exported.
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

# DDS domains 100..229, spread by pid (other test runs share this machine), one per test.
_DOMAIN_IDS = itertools.count((os.getpid() * 7) % 130)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id no other test in this run uses."""
    return 100 + next(_DOMAIN_IDS) % 130
