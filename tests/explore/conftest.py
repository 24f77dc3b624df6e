"""Tiny Panda configs for the exploration tests (small networks, short episodes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIGS, write_config

TINY = {"learner": {"hidden": [32, 32], "warmup_steps": 100, "batch_size": 64},
        "task": {"episode_steps": 50}}
"""What makes the shipped Panda config tiny."""

SHIFT = {"sim": {"latency_s": 0.02,
                 "dynamics": {"mass_scale": 1.2, "kd_scale": 1.5, "motor_strength": 0.9}}}
"""The Panda shift of benchmarks/common.py SHIFTS: the 'real' robot."""


def tiny_panda_config(folder: Path, shifted: bool = False) -> Path:
    changes = {**TINY, **(SHIFT if shifted else {})}
    name = "panda-shifted.yaml" if shifted else "panda-sim.yaml"
    return write_config(folder, CONFIGS / "panda.yaml", changes, name=name)


@pytest.fixture
def tiny_panda(tmp_path: Path) -> Path:
    return tiny_panda_config(tmp_path)
