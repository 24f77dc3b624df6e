"""Hindsight relabelling of reaching targets: HER's "future" strategy (Andrychowicz et al.,
2017) for ``task.kind: reach``.

A reaching episode teaches one target. Every place the end effector reached later in the same
episode is a target the episode *did* reach, so each transition is stored again ``copies``
times with such a target: the target part of the observation and the reward are recomputed,
the rest is kept. The relabelled copies go into the replay buffer when the episode ends,
beside the original transitions (stored as they happen).

Only the observation's ``target_delta`` (target - end effector, metres) depends on the target,
and the target is fixed within an episode, so the relabelling needs nothing but the stored
observations: the end effector after step j is ``target - next_delta[j]``, and moving the
target there shifts every delta of the episode by ``-next_delta[j]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from robot_rl.rewards import reach_reward_at
from robot_rl.spaces import signal_size

if TYPE_CHECKING:
    from robot_rl.config import RobotConfig
    from robot_rl.config.schema import ReachTask


class HindsightRelabeller:
    """Collects one episode's transitions; at its end returns the relabelled copies.

    Args:
        delta: where ``target_delta`` sits in the observation vector.
        task: the reach task (its reward is recomputed for the new targets).
        copies: relabelled copies of each transition (HER's k).
        seed: seeds the choice of future steps.
        max_steps: the longest episode kept; a longer one (a peer that never ends its
            episodes) is dropped unrelabelled, so memory stays bounded.
    """

    def __init__(self, delta: slice, task: ReachTask, copies: int, seed: int = 0,
                 max_steps: int = 10_000) -> None:
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        self.delta, self.task, self.copies, self.max_steps = delta, task, copies, max_steps
        self.rng = np.random.default_rng(seed)
        self._episode: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    @classmethod
    def for_config(cls, cfg: RobotConfig, seed: int = 0) -> HindsightRelabeller | None:
        """The relabeller ``cfg`` asks for (``task.reach.hindsight`` > 0), else None."""
        copies = cfg.task.reach.hindsight
        if cfg.task.kind != "reach" or copies == 0:
            return None
        signals = list(cfg.observation.signals)
        start = sum(signal_size(s, cfg) for s in signals[:signals.index("target_delta")])
        return cls(slice(start, start + 3), cfg.task.reach, copies, seed,
                   max_steps=2 * cfg.task.episode_steps)

    def fresh(self, seed: int) -> HindsightRelabeller:
        """A relabeller with these settings and no episode (one per actor on a learner)."""
        return HindsightRelabeller(self.delta, self.task, self.copies, seed, self.max_steps)

    def reset(self) -> None:
        """Forget the running episode (a resumed run starts a new one)."""
        self._episode.clear()

    def step(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray,
             episode_over: bool) -> dict[str, np.ndarray] | None:
        """Record one transition; when ``episode_over``, the episode's relabelled transitions
        (a batch for ``ReplayBuffer.add_batch``), else None."""
        if len(self._episode) >= self.max_steps:
            self._episode.clear()
        self._episode.append((obs, action, next_obs))
        if not episode_over:
            return None
        batch = self._relabel()
        self._episode.clear()
        return batch

    def _relabel(self) -> dict[str, np.ndarray]:
        obs = np.stack([t[0] for t in self._episode])
        action = np.stack([t[1] for t in self._episode])
        next_obs = np.stack([t[2] for t in self._episode])
        n, k = len(obs), self.copies
        t = np.repeat(np.arange(n), k)
        # a future step j in [t, n): the end effector after step j is the new target
        j = t + (self.rng.random(n * k) * (n - t)).astype(np.int64)
        shift = -next_obs[j, self.delta].astype(np.float64)  # new target - old target
        new_obs, new_next = obs[t].copy(), next_obs[t].copy()
        new_obs[:, self.delta] += shift
        new_next[:, self.delta] += shift
        distance = np.linalg.norm(new_next[:, self.delta].astype(np.float64), axis=1)
        reward = reach_reward_at(distance, action[t].astype(np.float64), self.task)
        zeros = np.zeros(n * k, np.float32)
        return {"obs": new_obs, "action": action[t], "reward": reward.astype(np.float32),
                "next_obs": new_next, "terminated": zeros, "truncated": zeros.copy()}
