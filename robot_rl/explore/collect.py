"""``robot-rl explore collect``: the K exploration policies act on a (shifted) robot and what
they do is written as prior data for SAC there (``learner.prior_data``, RLPD mixing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.envs import RobotEnv
from robot_rl.explore.descriptors import coverage, default_voxel
from robot_rl.explore.rollout import FIELDS, run_episodes
from robot_rl.explore.store import load_explorers
from robot_rl.explore.worker import explorer_config


def collect(folder: str | Path, cfg: RobotConfig, episodes: int, out: str | Path,
            seed: int = 0, voxel: float | None = None) -> dict[str, Any]:
    """Runs the policies of ``folder`` (stochastic, as SAC explores) on ``cfg``'s robot for
    ``episodes`` episodes in all, policy ``e % K`` acting in episode ``e``, and writes the
    transitions to ``out`` (the prior-data ``.npz`` of robot_rl/sac/prior.py).

    Returns:
        A summary: file, transitions, episodes per policy, coverage on this robot.

    Raises:
        ConfigError: a missing or foreign folder, or a config of another robot.
    """
    explorer_config(cfg)  # the same refusals as training
    agents = load_explorers(folder, cfg)
    k = len(agents)
    env = RobotEnv(cfg, seed=seed)
    parts: list[dict[str, np.ndarray]] = []
    seen: list[np.ndarray] = []
    counts = [len(range(i, episodes, k)) for i in range(k)]
    try:
        for e in range(episodes):  # interleaved, so a short collection still has every policy
            arrays, visited = run_episodes(agents[e % k].act, env, 1, seed + e)
            parts.append(arrays)
            seen.append(visited)
    finally:
        env.close()
    data: dict[str, Any] = {key: np.concatenate([p[key] for p in parts]) for key in FIELDS}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # exactly this name (np.savez would append .npz to others)
        np.savez(f, **data)
    per_policy = [np.concatenate(seen[i::k]) for i in range(min(k, episodes))]
    cell = voxel if voxel is not None else default_voxel(cfg.robot.kind)
    return {"out": str(path), "transitions": int(len(data["reward"])),
            "episodes_per_policy": counts,
            "coverage": coverage(per_policy, cell) if len(per_policy) > 1 else None}
