"""The push task's config: panda_push.yaml loads as shipped, and each mistake in `task.push`
is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.config import load_config
from robot_rl.errors import ConfigError
from tests.conftest import CONFIGS, write_config

PUSH = CONFIGS / "panda_push.yaml"


def test_panda_push_loads_with_a_camera_and_no_block_in_the_observation() -> None:
    cfg = load_config(PUSH)
    assert cfg.task.kind == "push" and cfg.robot.kind == "arm"
    assert [(c.name, c.width, c.height) for c in cfg.cameras] == [("front", 84, 84)]
    assert cfg.cameras[0].fixed is not None and cfg.cameras[0].rate_hz == cfg.robot.control_hz
    assert not cfg.observation.allow_privileged
    assert "target_delta" not in cfg.observation.signals
    push = cfg.task.push
    assert push.success_predicate().signals == frozenset({"block_x", "block_y", "goal_x",
                                                          "goal_y"})
    # the goal lies outside the placement box: no episode starts solved
    assert not all(lo <= g <= hi for lo, g, hi in zip(push.block_low, push.goal,
                                                       push.block_high, strict=True))


MISTAKES = [
    # (changes to panda_push.yaml, key named in the message, words expected in the message)
    ({"task": {"push": {"block_size": -0.04}}}, "task.push.block_size", "positive"),
    ({"task": {"push": {"block_mass": 0.0}}}, "task.push.block_mass", "positive"),
    ({"task": {"push": {"block_high": [0.3, 0.15]}}}, "task.push.block_high", ">= block_low"),
    ({"task": {"push": {"block_low": [0.4, -0.15, 0.0]}}}, "task.push.block_low", "[x, y]"),
    ({"task": {"push": {"goal": [0.6]}}}, "task.push.goal", "[x, y]"),
    ({"task": {"push": {"push_weight": -1.0}}}, "task.push.push_weight", ">= 0"),
    ({"task": {"push": {"success": "hypot(blok_x - goal_x, block_y - goal_y) < 0.05"}}},
     "task.push.success", "block_x"),
    ({"task": {"push": {"success": "block_distance + 0.05"}}}, "task.push.success",
     "predicate"),
    ({"task": {"push": {"colour": "red"}}}, "task.push.colour", "unknown key"),
    ({"task": {"kind": "shove"}}, "task.kind", "'push'"),
    # robot.action_mode: ee_delta (the shipped mapping) and its keys
    ({"robot": {"ee_low": None}}, "robot.ee_low", "[x, y, z]"),
    ({"robot": {"ee_high": [0.72, 0.28]}}, "robot.ee_high", "3 finite numbers"),
    ({"robot": {"ee_high": [0.72, -0.3, 0.2]}}, "robot.ee_high", "above ee_low"),
    ({"robot": {"ee_step": 0.0}}, "robot.ee_step", "(0, 0.2] m"),
    ({"robot": {"ee_step": 0.5}}, "robot.ee_step", "(0, 0.2] m"),
    ({"robot": {"ee_orientation": [3.14, 0.0]}}, "robot.ee_orientation", "[roll, pitch, yaw]"),
    ({"robot": {"ee_orientation": [0, 0, 0, 0]}}, "robot.ee_orientation", "non-zero length"),
    ({"robot": {"action_mode": "cartesian"}}, "robot.action_mode", "ee_delta"),
    ({"aprl": {"active": True}}, "aprl.active", "ee_delta"),
]


@pytest.mark.parametrize("changes,key,words", MISTAKES, ids=[m[1] + str(i) for i, m in
                                                            enumerate(MISTAKES)])
def test_push_mistake_names_file_key_and_expectation(tmp_path: Path, changes: dict, key: str,
                                                     words: str) -> None:
    path = write_config(tmp_path, PUSH, changes)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message, message


def test_ee_delta_needs_an_arm(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"robot": {"action_mode": "ee_delta",
                                                      "ee_low": [0, 0, 0],
                                                      "ee_high": [1, 1, 1]}})
    with pytest.raises(ConfigError, match=r"robot\.action_mode: expected absolute or delta "
                                          r"for a legged robot"):
        load_config(path)


def test_push_needs_an_arm(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"task": {"kind": "push"}})
    with pytest.raises(ConfigError, match=r"task\.kind: expected 'walk' for a legged robot"):
        load_config(path)
