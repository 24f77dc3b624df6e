"""Fixtures for the node tests."""

from __future__ import annotations

import itertools
import os

import pytest

# DDS domains 100..229, spread by pid (other test runs share this machine), one per test.
_DOMAIN_IDS = itertools.count((os.getpid() * 7) % 130)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id no other test in this run uses."""
    return 100 + next(_DOMAIN_IDS) % 130
