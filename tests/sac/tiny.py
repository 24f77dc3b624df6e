"""Small learners, filled replay buffers and a tiny task shared by the learner tests."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from robot_rl.config import LearnerConfig
from robot_rl.sac import ReplayBuffer

OBS, ACT = 5, 2


def tiny(recipe: str = "sac", **kw: object) -> LearnerConfig:
    """A 16x16 learner of ``recipe`` (UTD 3 for the UTD-20 recipes), ``kw`` overriding."""
    base: dict = dict(hidden=[16, 16], batch_size=8)
    if recipe in ("droq", "redq"):
        base["utd"] = 3
    base.update(kw)
    return LearnerConfig(recipe=recipe, **base)


def filled_buffer(n: int = 200, seed: int = 0) -> ReplayBuffer:
    """A buffer holding ``n`` random transitions (every 17th terminal)."""
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(OBS, ACT, max(n, 256), seed=seed)
    buf.add_batch({"obs": rng.normal(size=(n, OBS)), "action": rng.uniform(-1, 1, (n, ACT)),
                   "reward": rng.normal(size=n), "next_obs": rng.normal(size=(n, OBS)),
                   "terminated": (np.arange(n) % 17 == 0), "truncated": np.zeros(n)})
    return buf


class PointGoal(gym.Env):
    """A point on [-1, 1] moved by the action (up to ``speed`` per step) toward a goal drawn
    per episode; observation (position, goal), reward -|position - goal|, 15 steps.

    Standing still (or a uniformly random policy) returns about -10; going straight to the
    goal about -1.5. Small enough to learn in a few thousand updates of a 64x64 learner.
    """

    steps = 15

    def __init__(self, speed: float = 0.25) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.speed = speed

    def reset(self, *, seed: int | None = None, options: dict | None = None,
              ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pos, self.goal = self.np_random.uniform(-1, 1, 2)
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.pos = float(np.clip(self.pos + self.speed * float(action[0]), -1, 1))
        self.t += 1
        return self._obs(), -abs(self.pos - self.goal), False, self.t >= self.steps, {}

    def _obs(self) -> np.ndarray:
        return np.array([self.pos, self.goal], np.float32)


class DotSide(gym.Env):
    """One-step task whose answer is only in the pixels: a bright 2x2 dot sits in the left
    or the right third of a 24x24 image (at a random height); the reward is ``a * side``
    (side -1 left, +1 right). The state vector is a constant 0.

    A policy blind to the image scores 0 on average whatever it does; one that reads the dot
    scores 1. The dots stay apart under DrQ's +-4 px shift (columns 5-6 and 17-18).
    """

    size = 24

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Dict({
            "state": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
            "pixels": gym.spaces.Box(0, 255, (3, self.size, self.size), np.uint8)})
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.side = 1.0

    def reset(self, *, seed: int | None = None, options: dict | None = None,
              ) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.side = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(int(self.np_random.integers(4, self.size - 6))), {}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        return self._obs(None), float(action[0]) * self.side, True, False, {}

    def _obs(self, row: int | None) -> dict:
        pixels = np.zeros((3, self.size, self.size), np.uint8)
        if row is not None:
            col = 5 if self.side < 0 else 17
            pixels[:, row:row + 2, col:col + 2] = 255
        return {"state": np.zeros(1, np.float32), "pixels": pixels}
