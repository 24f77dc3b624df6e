"""One exploration policy: its own simulated robot, SAC and novelty bonus.

A plain class; :mod:`robot_rl.explore.pool` runs one per Ray actor. Usage (what the pool
does, one round at a time)::

    worker = Explorer(cfg, index=0, beta=1.0, seed=0)
    out = worker.train_round(total_steps=500, others=descriptors_of_the_other_policies)
    out["descriptors"]        # a sample of what this policy visited in the round
    worker.agent_state()      # the SAC state_dict (robot-rl's agent.pt format)
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from robot_rl.config import RobotConfig
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.explore.rollout import NoveltyBonus, run_episodes
from robot_rl.session import build
from robot_rl.train import Trainer


def explorer_config(cfg: RobotConfig) -> RobotConfig:
    """``cfg`` as an exploration policy trains on it: hindsight relabelling off (its copies
    would carry the task reward without the novelty bonus).

    Raises:
        ConfigError: a task graph, APRL or camera images (not wired into exploration).
    """
    settings = cfg.task_graph_settings()
    aprl = cfg.aprl_settings()
    for on, key in ((settings is not None and settings.enabled, "task_graph.enabled"),
                    (aprl is not None and aprl.active, "aprl.active"),
                    (bool(cfg.observation.images), "observation.images")):
        if on:
            raise ConfigError(cfg.source, key, "expected it off for explore (exploration "
                              "policies train on the plain task with state observations)")
    out = copy.deepcopy(cfg)
    out.task.reach.hindsight = 0
    out.learner.prior_data = None
    return out


class Explorer:
    """Exploration policy ``index``: SAC on the task reward + ``beta`` x novelty.

    Args:
        cfg: the simulator's robot config.
        index: which of the K policies (seeds differ by it).
        beta: weight of the novelty bonus (0: plain SAC).
        seed: the run's seed; this policy's is ``seed + 1000 * index``.
        k: neighbours of the novelty measure.
        sample: descriptors a round hands back (a uniform sample of those visited).
    """

    def __init__(self, cfg: RobotConfig, index: int, beta: float, seed: int = 0, k: int = 10,
                 sample: int = 1000) -> None:
        torch.set_num_threads(1)  # one core per actor; small networks gain nothing from more
        self.cfg = explorer_config(cfg)
        self.index, self.sample = index, sample
        self.seed = seed + 1000 * index
        env, self.agent, buffer = build(self.cfg, self.seed)
        assert isinstance(env, RobotEnv)
        self.env = NoveltyBonus(env, beta, k)
        self.trainer = Trainer(self.env, self.agent, buffer, self.cfg.learner, seed=self.seed,
                               progress=False)
        self.rng = np.random.default_rng(self.seed)

    def train_round(self, total_steps: int, others: np.ndarray) -> dict[str, Any]:
        """Train until ``total_steps`` steps in all, the bonus measured against ``others``
        ``[M, 3]``; returns ``descriptors`` (a sample of this round's), ``steps``,
        ``episodes``, ``recent_return`` (bonus included), ``mean_bonus`` and
        ``mean_task_reward`` (per step of the round)."""
        self.env.others = np.asarray(others, np.float32).reshape(-1, 3)
        self.env.visited = []
        bonus_before, task_before = self.env.bonus_paid, self.env.task_paid
        summary = self.trainer.train(total_steps)
        visited = np.asarray(self.env.visited, np.float32).reshape(-1, 3)
        steps = max(len(visited), 1)
        if len(visited) > self.sample:
            visited = visited[self.rng.choice(len(visited), self.sample, replace=False)]
        return {"index": self.index, "descriptors": visited, "steps": int(summary["steps"]),
                "episodes": int(summary["episodes"]),
                "recent_return": float(summary["recent_return"]),
                "mean_bonus": (self.env.bonus_paid - bonus_before) / steps,
                "mean_task_reward": (self.env.task_paid - task_before) / steps}

    def evaluate(self, episodes: int, seed: int) -> np.ndarray:
        """Descriptors of ``episodes`` stochastic episodes (as ``explore collect`` acts) on a
        fresh copy of the simulator."""
        env = RobotEnv(self.cfg, seed=seed)
        try:
            _, seen = run_episodes(self.agent.act, env, episodes, seed)
        finally:
            env.close()
        return seen

    def agent_state(self) -> dict[str, Any]:
        """The SAC ``state_dict`` (saved as ``agent.pt``)."""
        return self.agent.state_dict()

    def close(self) -> None:
        self.env.close()
