"""RobotEnv: a valid Gymnasium env; rewards and ends as specified; safety in the loop."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from robot_rl.envs import ENV_ID, RobotEnv, register
from robot_rl.rewards import tolerance


def test_passes_gymnasium_checker(a1_path: Path, panda_path: Path) -> None:
    for path in (a1_path, panda_path):
        env = RobotEnv(str(path))
        check_env(env, skip_render_check=True)
        env.close()


def test_registered_for_other_libraries(a1_path: Path) -> None:
    register()
    env = gym.make(ENV_ID, cfg=str(a1_path))
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (49,)  # a1.yaml: 12 joints x 3, rpy 2, rates 3, heading 2, phase 2, feet 4
    env.close()


def test_tolerance_band() -> None:
    assert tolerance(0.7, 0.5, 1.0, 1.0) == 1.0
    assert tolerance(0.0, 0.5, 1.0, 1.0) == 0.5
    assert tolerance(-0.5, 0.5, 1.0, 1.0) == 0.0
    assert tolerance(1.5, 0.5, 1.0, 1.0) == 0.5


def test_walk_episode_ends_when_tilted(a1_path: Path) -> None:
    env = RobotEnv(str(a1_path))
    env.reset(seed=0)
    c = env.robot.client
    c.resetBasePositionAndOrientation(env.robot.body, [0, 0, 0.3],
                                      c.getQuaternionFromEuler([0.0, 0.7, 0.0]))
    _, _, terminated, truncated, info = env.step(np.zeros(12, np.float32))
    assert terminated and not truncated
    assert "forward_velocity" in info


def test_time_limit_truncates_not_terminates(a1_path: Path) -> None:
    env = RobotEnv(str(a1_path))
    env.cfg.task.episode_steps = 5
    env.reset(seed=0)
    flags = [env.step(np.zeros(12, np.float32))[2:4] for _ in range(5)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_commands_pass_the_safety_filter(a1_path: Path) -> None:
    env = RobotEnv(str(a1_path))
    env.reset(seed=0)
    lower = np.array(env.cfg.robot.position_lower)
    upper = np.array(env.cfg.robot.position_upper)
    _, _, _, _, info = env.step(np.full(12, np.nan, np.float32))
    assert info["safety_hold"]
    for a in (np.full(12, 1.0), np.full(12, -1.0)):
        env.limit = 50.0  # a wild limit: the safety filter must still clamp
        _, _, _, _, info = env.step(a.astype(np.float32))
        assert np.all(info["command"] >= lower) and np.all(info["command"] <= upper)


def test_panda_reaching_reward_is_minus_distance_plus_the_precision_bonus(
        panda_path: Path) -> None:
    env = RobotEnv(str(panda_path))
    env.reset(seed=1)
    _, reward, terminated, _, info = env.step(np.zeros(7, np.float32))
    assert not terminated
    d, reach = info["ee_distance"], env.cfg.task.reach
    bonus = reach.precision_weight * np.exp(-(d / reach.precision_radius) ** 2)
    assert reward == pytest.approx(-d + bonus)
    assert 0.0 < d < 1.5


def test_reach_targets_are_seeded(panda_path: Path) -> None:
    env = RobotEnv(str(panda_path))
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
