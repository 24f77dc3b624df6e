"""Evaluation: forward velocity along the heading against straight-line (net) velocity."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.evaluate import evaluate



class _PathEnv(gym.Env):
    """A base moving at 1 m/s along its heading, turning at ``yaw_rate`` rad/s."""

    def __init__(self, yaw_rate: float) -> None:
        self.cfg = SimpleNamespace(control_dt=0.05, task=SimpleNamespace(episode_steps=40))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,))
        self.yaw_rate = yaw_rate

    def reset(self, *, seed=None, options=None):
        self.t, self.heading = 0, 0.0
        self.state = SimpleNamespace(base_position=np.array([3.0, -2.0, 0.3]))
        return np.zeros(1, np.float32), {}

    def step(self, action):
        dt = self.cfg.control_dt
        self.heading += self.yaw_rate * dt
        step = dt * np.array([math.cos(self.heading), math.sin(self.heading), 0.0])
        self.state = SimpleNamespace(base_position=self.state.base_position + step)
        self.t += 1
        return (np.zeros(1, np.float32), 1.0, False, self.t >= 40,
                {"forward_velocity": 1.0})


def test_running_in_circles_has_forward_but_no_net_velocity() -> None:
    # 40 steps of 0.05 s: one full turn in the episode's 2 s
    circling = evaluate(lambda o: np.zeros(1), _PathEnv(yaw_rate=math.pi), 1).summary()
    straight = evaluate(lambda o: np.zeros(1), _PathEnv(yaw_rate=0.0), 1).summary()
    assert circling["forward_velocity"] == pytest.approx(1.0)
    assert straight["forward_velocity"] == pytest.approx(1.0)
    assert straight["net_velocity"] == pytest.approx(1.0)
    assert circling["net_velocity"] < 0.05


def test_standing_a1_in_pybullet_has_neither(a1_path) -> None:
    cfg = load_config(str(a1_path))
    cfg.task.episode_steps = 20
    env = RobotEnv(cfg, seed=0)
    try:
        result = evaluate(lambda o: np.zeros(env.action_space.shape), env, 2)
    finally:
        env.close()
    summary = result.summary()
    assert len(result.net_velocity) == 2
    assert abs(summary["forward_velocity"]) < 0.05 and summary["net_velocity"] < 0.05
