"""Small learners and filled replay buffers shared by the learner tests."""

from __future__ import annotations

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
