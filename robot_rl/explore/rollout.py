"""Episodes of a policy on a :class:`~robot_rl.envs.RobotEnv`: prior-data rows and the
behaviour descriptor after every step (what ``explore collect`` writes and what the
coverage report measures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.envs import RobotEnv
from robot_rl.explore.descriptors import descriptor, knn_distance

FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")
"""The prior-data arrays a rollout fills (robot_rl/sac/prior.py)."""


class NoveltyBonus(gym.Wrapper):
    """Adds ``beta`` x the k-nearest-neighbour novelty of the step's behaviour descriptor
    (among ``others``: what the other policies visited) to the task reward, and keeps the
    descriptors this policy visits in ``visited``.

    ``info["novelty"]`` is the bonus paid (0 while ``others`` is empty); ``bonus_paid``
    their sum, ``task_paid`` that of the task rewards.
    """

    def __init__(self, env: RobotEnv, beta: float, k: int = 10) -> None:
        super().__init__(env)
        self.robot_env, self.beta, self.k = env, beta, k
        self.kind = env.cfg.robot.kind
        self.others = np.zeros((0, 3), np.float32)
        self.visited: list[np.ndarray] = []
        self.bonus_paid = 0.0  # the sum of the bonuses paid so far
        self.task_paid = 0.0  # the sum of the task rewards so far (without the bonus)
        self._start: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._start = self.robot_env.state
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        d = descriptor(self.robot_env.state, self._start, self.kind)
        self.visited.append(d)
        bonus = 0.0
        if self.beta and len(self.others):
            bonus = self.beta * float(knn_distance(d[None], self.others, self.k)[0])
        self.bonus_paid += bonus
        self.task_paid += float(reward)
        info["novelty"] = bonus
        return obs, float(reward) + bonus, terminated, truncated, info


def run_episodes(policy: Callable[[Any], np.ndarray], env: RobotEnv, episodes: int,
                 seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``episodes`` episodes of ``policy`` (normalized actions) on ``env``, the first reset
    with ``seed`` (then ``seed + 1``, ...).

    Returns:
        The transitions as float32 prior-data arrays (:data:`FIELDS`) and the descriptor
        after every step ``[N, 3]``.
    """
    rows: dict[str, list[Any]] = {k: [] for k in FIELDS}
    seen: list[np.ndarray] = []
    kind = env.cfg.robot.kind
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        start = env.state
        while True:
            action = np.clip(np.asarray(policy(obs), np.float32), -1.0, 1.0)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(FIELDS, (obs, action, reward, next_obs, terminated,
                                           truncated), strict=True):
                rows[key].append(value)
            seen.append(descriptor(env.state, start, kind))
            obs = next_obs
            if terminated or truncated:
                break
    arrays = {k: np.asarray(v, np.float32) for k, v in rows.items()}
    return arrays, np.asarray(seen, np.float32).reshape(-1, 3)
