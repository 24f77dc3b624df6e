"""The tasks an actor can be switched between by the operator, with their rewards.

Built from the robot config: a legged robot knows ``walk`` (the configured walking band)
and ``stand`` (the same reward with a band of 0 m/s: stay in place); an arm knows ``reach``
(a target drawn from the configured box at each episode start). The configured
``task.kind`` is the one a session starts with.

The observation does not encode the task (the config's observation signals have no task
input yet), so switching changes the reward and the episode boundaries the learner sees,
not what the policy is told; multi-task learning needs a task signal in the observation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.rewards import reach_reward, walk_reward
from robot_rl.robot import RobotState

Reward = Callable[[RobotState, np.ndarray, "np.ndarray | None"], tuple[float, bool, dict]]


def task_rewards(cfg: RobotConfig) -> dict[str, Reward]:
    """Task name -> reward(state, action, target) returning (reward, terminated, info)."""
    if cfg.robot.kind == "legged":
        # on a robot the driver gives body-frame velocity only and a node has no episode
        # start, so nodes reward speed along the current heading whatever ``direction`` says
        walk = dataclasses.replace(cfg.task.walk, direction="heading")
        stand = dataclasses.replace(walk, velocity_low=0.0, velocity_high=0.0)
        return {"walk": lambda s, a, t: walk_reward(s, walk),
                "stand": lambda s, a, t: walk_reward(s, stand)}
    reach = cfg.task.reach
    return {"reach": lambda s, a, t: reach_reward(s, _target(t), a, reach)}


def _target(target: np.ndarray | None) -> np.ndarray:
    assert target is not None, "reach needs a target"
    return target


def sample_target(cfg: RobotConfig, task: str, rng: np.random.Generator) -> np.ndarray | None:
    """The episode's target (reach: uniform in the configured box), else None."""
    if task != "reach":
        return None
    return rng.uniform(cfg.task.reach.target_low, cfg.task.reach.target_high)
