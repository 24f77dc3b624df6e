"""Scripted experts: demonstrations and scripted interventions in simulation.

An expert looks at the embedded environment (the robot's measured state and the episode's
task) and returns a normalized action, which then goes through the same control step and
safety filter as a policy's. Experts are chosen by task kind (``task.kind``) from
:data:`EXPERTS`; another task's expert registers itself with :func:`register_expert`.

Usage::

    expert = make_expert(cfg)            # by cfg.task.kind
    obs, _ = env.reset(seed=0)
    while True:
        obs, r, terminated, truncated, info = env.step(expert.act(env))
        if terminated or truncated:
            break
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.errors import ConfigError
from robot_rl.kinematics import ArmKinematics, action_for_targets


class Expert(Protocol):
    """A scripted demonstrator."""

    def act(self, env: Any) -> np.ndarray:
        """The normalized action in [-1, 1] (float32, ``cfg.action_dim`` numbers) for
        ``env``'s current state (``env`` is a :class:`~robot_rl.envs.RobotEnv` with a
        running episode)."""
        ...

    def reset(self) -> None:
        """Forgets anything kept from the previous episode."""
        ...


class ReachExpert:
    """Reach: inverse kinematics to the episode's target, as a joint-target action (or, with
    ``robot.action_mode: ee_delta``, the end effector's move to the solution's).

    Each step solves IK from the measured joint positions to the target, corrected by the
    offset between the measured end effector and the kinematic model's (its solution kept
    inside the poses an action in [-1, 1] reaches) and returns the action that commands it
    (``robot.action_mode`` absolute: around the nominal pose; delta: from the measured
    pose). The safety filter's step bound makes the motion smooth.

    Args:
        cfg: An arm config with ``task.kind: reach``.
    """

    def __init__(self, cfg: RobotConfig) -> None:
        self.cfg = cfg
        self.kinematics = ArmKinematics(cfg)

    def reset(self) -> None:
        pass

    def act(self, env: Any) -> np.ndarray:
        target = env.control.target
        state = env.state
        if target is None:
            return self.hold_action(state.joint_position)
        aim = np.asarray(target, dtype=np.float64)
        if state.ee_position is not None:  # close the loop on the measured end effector
            aim = aim + self.kinematics.forward(state.joint_position) - state.ee_position
        q = self.kinematics.inverse(aim, state.joint_position)
        return self.action_for(q, state.joint_position)

    def action_for(self, q: np.ndarray, measured: np.ndarray) -> np.ndarray:
        """The normalized action whose joint targets are ``q`` (clipped to [-1, 1])."""
        return action_for_targets(self.cfg, q, measured, self.kinematics)

    def hold_action(self, measured: np.ndarray) -> np.ndarray:
        """The action that commands the measured pose."""
        return self.action_for(measured, measured)


ExpertFactory = Callable[[RobotConfig], Expert]


def push_expert(cfg: RobotConfig) -> Expert:
    """The push task's expert (:class:`sim_bridge.experts.PushExpert`: PyBullet inverse
    kinematics from the privileged block position; docs/pixels.md)."""
    from sim_bridge.experts import PushExpert

    return PushExpert(cfg)


EXPERTS: dict[str, ExpertFactory] = {"reach": ReachExpert, "push": push_expert}
"""Task kind -> scripted expert (another task's expert registers itself here)."""


def register_expert(task_kind: str, factory: ExpertFactory) -> None:
    """Makes ``factory(cfg)`` the expert of ``task_kind``."""
    EXPERTS[task_kind] = factory


def make_expert(cfg: RobotConfig) -> Expert:
    """The scripted expert for ``cfg.task.kind``.

    Raises:
        ConfigError: (a ``ValueError``) no expert for this task kind (names the config and
            the kinds that have one).
    """
    kind = cfg.task.kind
    if kind not in EXPERTS:
        raise ConfigError(cfg.source, "task.kind", f"no scripted expert for {kind!r}; "
                          f"expected one of {sorted(EXPERTS)}")
    return EXPERTS[kind](cfg)
