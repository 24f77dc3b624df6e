"""The folder ``robot-rl explore train`` writes, and reading it back.

Layout::

    DIR/config.yaml            the simulator's config, as trained (robot-rl's loader reads it)
    DIR/explore.json           robot, observation and action sizes, K, settings
    DIR/coverage.json          the coverage report (robot_rl.explore.pool.train_explorers)
    DIR/policy-<i>/agent.pt    policy i's SAC state (the agent.pt of robot-rl train)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.runs import RunDir
from robot_rl.sac import SAC
from robot_rl.sac.device import load_agent_state, resolve_learner

META = "explore.json"
REPORT = "coverage.json"


def sizes(cfg: RobotConfig) -> tuple[int, int]:
    """Observation and action sizes of ``cfg``'s robot."""
    env = RobotEnv(cfg, seed=0)
    try:
        return int(env.observation_space.shape[0]), int(env.action_space.shape[0])
    finally:
        env.close()


def save_explorers(out: str | Path, cfg: RobotConfig, states: list[dict[str, Any]],
                   report: dict[str, Any]) -> Path:
    """Writes the K policies, the config and the report under ``out`` (created)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    RunDir(folder).write_config(cfg)
    obs_dim, act_dim = sizes(cfg)
    for i, state in enumerate(states):
        (folder / f"policy-{i}").mkdir(exist_ok=True)
        torch.save(state, folder / f"policy-{i}" / "agent.pt")
    meta = {"robot": cfg.name, "obs_dim": obs_dim, "act_dim": act_dim,
            "policies": len(states), "settings": report.get("settings", {})}
    (folder / META).write_text(json.dumps(meta, indent=1))
    (folder / REPORT).write_text(json.dumps(report, indent=1))
    return folder


def load_explorers(folder: str | Path, cfg: RobotConfig) -> list[SAC]:
    """The K policies of ``folder``, checked against the robot of ``cfg`` (the robot they
    will act on).

    Raises:
        ConfigError: no such folder or not one of ``explore train``; ``cfg``'s robot has
            other observation or action sizes than the policies'.
    """
    path = Path(folder)
    if not (path / META).is_file() or not (path / "config.yaml").is_file():
        raise ConfigError(str(folder), "<dir>", "expected a folder written by robot-rl "
                          f"explore train (with {META} and config.yaml)")
    meta = json.loads((path / META).read_text())
    obs_dim, act_dim = sizes(cfg)
    if (obs_dim, act_dim) != (meta["obs_dim"], meta["act_dim"]):
        raise ConfigError(cfg.source, "robot", f"expected the robot the policies of {folder} "
                          f"learned on ({meta['robot']}: {meta['obs_dim']} observations, "
                          f"{meta['act_dim']} actions), got {cfg.name}: {obs_dim} "
                          f"observations, {act_dim} actions")
    trained = load_config(path / "config.yaml", warn=False)
    learner = resolve_learner(trained.learner, trained.source)
    agents = []
    for i in range(int(meta["policies"])):
        agent = SAC(obs_dim, act_dim, learner, seed=i)
        agent.load_state_dict(load_agent_state(path / f"policy-{i}" / "agent.pt",
                                               agent.device))
        agents.append(agent)
    return agents
