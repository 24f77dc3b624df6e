"""Shared test set-up: one torch thread (2-core CI machines), config paths, small configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "robot_configs"


@pytest.fixture(autouse=True)
def fp32_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """``learner.precision: auto`` resolves to fp32 in the test process whatever the CPU, so
    numerical comparisons (recipes against the reference update, resumes) mean the same on
    every machine; tests of bf16 ask for it (``precision="bf16"``) or set the flag."""
    import robot_rl.sac.device as device

    monkeypatch.setattr(device, "BF16_CPU_LEARNING_CHECKED", False)


@pytest.fixture
def a1_path() -> Path:
    return CONFIGS / "a1.yaml"


@pytest.fixture
def panda_path() -> Path:
    return CONFIGS / "panda.yaml"


def write_config(tmp_path: Path, base: Path, changes: dict, name: str = "robot.yaml") -> Path:
    """A copy of ``base`` with nested ``changes`` merged in (None deletes a key)."""
    data = yaml.safe_load(base.read_text())
    merge(data, changes)
    data["robot"]["urdf"] = data["robot"]["urdf"]  # pybullet_data-relative paths still work
    out = tmp_path / name
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def merge(data: dict, changes: dict) -> None:
    """Merges nested ``changes`` into ``data`` in place (None deletes a key)."""
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            merge(data[key], value)
        else:
            data[key] = value


@pytest.fixture
def tiny_a1(tmp_path: Path, a1_path: Path) -> Path:
    """An A1 config small enough for end-to-end tests (tiny nets, short episodes)."""
    return write_config(tmp_path, a1_path, {
        "learner": {"hidden": [32, 32], "warmup_steps": 40, "batch_size": 32, "utd": 1},
        "task": {"episode_steps": 40},
        "sim": {"render_width": 64, "render_height": 48},
        "train": {"steps": 120, "checkpoint_every": 40, "log_every": 20},
    }, name="tiny_a1.yaml")
