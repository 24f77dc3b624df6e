"""Shared set-up for the distributed tests: a tiny A1 config and waiting with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from robot_rl.config import RobotConfig, load_config
from robot_rl.distributed.local import thread_friendly_gil
from robot_rl.transport import TransportOptions

from tests.conftest import write_config

# fast liveness: a dead learner is noticed within a second (not faster: a loaded machine
# can stall a learner thread for a few hundred ms, e.g. in a checkpoint's fsync)
FAST = TransportOptions(heartbeat_s=0.1, peer_timeout_s=1.0, resend_timeout_s=0.3)


@pytest.fixture(autouse=True)
def _thread_friendly_gil():
    """Learner and actor threads share these tests' process, as in run_local: without a short
    switch interval a learner thread waited 5 ms for the GIL after each torch op."""
    with thread_friendly_gil():
        yield


@pytest.fixture
def tiny_path(tmp_path: Path, a1_path: Path) -> Path:
    """A1 with tiny networks, UTD 2, 40 warm-up steps and 40-step episodes."""
    return write_config(tmp_path, a1_path, {
        "learner": {"hidden": [16, 16], "warmup_steps": 40, "batch_size": 16, "utd": 2},
        "task": {"episode_steps": 40},
        "train": {"checkpoint_every": 100, "log_every": 50},
    }, name="tiny_a1.yaml")


@pytest.fixture
def tiny_cfg(tiny_path: Path) -> RobotConfig:
    return load_config(str(tiny_path))


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str,
             alive: Callable[[], bool] = lambda: True, every_s: float = 0.02) -> None:
    """Waits until ``cond()`` (checking ``alive()`` too) or fails naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if not alive():
            raise AssertionError(f"something died while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)
