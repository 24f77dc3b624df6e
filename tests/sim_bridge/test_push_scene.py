"""The push task's scene (panda_push.yaml): a block placed at random per episode, reproducibly
per seed, whose position is a privileged sim signal and never part of the observation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from tests.conftest import CONFIGS, write_config

PUSH = CONFIGS / "panda_push.yaml"


@pytest.fixture(scope="module")
def env() -> Iterator[RobotEnv]:
    env = RobotEnv(str(PUSH))
    yield env
    env.close()


def _placement(env: RobotEnv, seed: int | None) -> np.ndarray:
    env.reset(seed=seed)
    assert env.state.block_position is not None
    return env.state.block_position.copy()


def test_the_block_lies_in_its_box_on_the_floor(env: RobotEnv) -> None:
    push = env.cfg.task.push
    places = np.array([_placement(env, seed) for seed in range(12)])
    assert np.all(places[:, :2] >= np.asarray(push.block_low) - 1e-9)
    assert np.all(places[:, :2] <= np.asarray(push.block_high) + 1e-9)
    assert np.allclose(places[:, 2], push.block_size / 2, atol=1e-6)
    # spread over the box, not stuck in a corner: both coordinates vary by more than a third
    span = np.asarray(push.block_high) - np.asarray(push.block_low)
    assert np.all(np.ptp(places[:, :2], axis=0) > span / 3)


def test_placements_differ_per_seed_and_repeat_for_the_same_seed(env: RobotEnv) -> None:
    first = _placement(env, 7)
    other = _placement(env, 8)
    env.step(np.ones(env.action_space.shape, np.float32))  # whatever ran before does not matter
    again = _placement(env, 7)
    assert not np.allclose(first, other)
    np.testing.assert_array_equal(first, again)
    # without a seed the next placement of the same sequence: a run repeats its placements
    follow = _placement(env, None)
    _placement(env, 7)
    np.testing.assert_array_equal(_placement(env, None), follow)
    assert not np.allclose(follow, first)


def test_the_block_is_not_in_the_observation(env: RobotEnv) -> None:
    # the same robot with the block elsewhere sees exactly the same numbers
    obs_a, _ = env.reset(seed=1)
    obs_b, _ = env.reset(seed=2)
    assert not np.allclose(_placement(env, 1), _placement(env, 2))
    np.testing.assert_array_equal(obs_a, obs_b)
    assert env.observation_space.shape == (2 * 7 + 3 + 3,)  # joints, velocities, ee, action
    assert not any("block" in s for s in env.cfg.observation.signals)


def test_the_block_is_solid_and_the_reward_sees_it(env: RobotEnv) -> None:
    env.reset(seed=3)
    _, reward, terminated, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    state = env.state
    assert state.block_position is not None and state.ee_position is not None
    assert state.block_position[2] == pytest.approx(env.cfg.task.push.block_size / 2,
                                                    abs=1e-3)  # rests on the floor
    goal = np.asarray(env.cfg.task.push.goal)
    assert info["block_distance"] == pytest.approx(np.linalg.norm(state.block_position[:2]
                                                                  - goal))
    assert info["success"] == 0.0 and not terminated
    assert reward < 0.0


def test_a_reach_config_has_no_block() -> None:
    env = RobotEnv(load_config(CONFIGS / "panda.yaml"))
    try:
        env.reset(seed=0)
        assert env.state.block_position is None
    finally:
        env.close()


def test_block_delta_puts_the_block_in_the_state_only_when_privileged_is_allowed(
        tmp_path: Path) -> None:
    """The diagnostic signal (benchmarks/pixels.py --state-block): block minus gripper and
    goal minus block, refused unless ``allow_privileged``, and only for a push task."""
    signals = ["joint_position", "joint_velocity", "ee_position", "previous_action",
               "block_delta"]
    with pytest.raises(ConfigError, match=r"observation\.signals\[4\]: 'block_delta' is "
                                          r"sim-only; set allow_privileged: true"):
        load_config(write_config(tmp_path, PUSH, {"observation": {"signals": signals}}))
    with pytest.raises(ConfigError, match=r"'block_delta' needs task\.kind: push"):
        load_config(write_config(tmp_path, CONFIGS / "panda.yaml", {"observation": {
            "signals": ["joint_position", "block_delta"], "allow_privileged": True}}))
    cfg = load_config(write_config(tmp_path, PUSH, {"observation": {
        "signals": signals, "allow_privileged": True}}))
    env = RobotEnv(cfg)
    try:
        for seed in (1, 2):
            obs, _ = env.reset(seed=seed)
            state = env.state
            assert state.block_position is not None and state.ee_position is not None
            np.testing.assert_allclose(obs[-5:-2], state.block_position - state.ee_position,
                                       atol=1e-6)
            np.testing.assert_allclose(obs[-2:], np.asarray(cfg.task.push.goal)
                                       - state.block_position[:2], atol=1e-6)
    finally:
        env.close()
