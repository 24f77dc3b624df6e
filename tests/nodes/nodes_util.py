"""Helpers for the node tests: robot states as the messages a driver would send."""

from __future__ import annotations

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.nodes.actor_core import ActorCore
from robot_rl.nodes.ros_messages import extras_msg, imu_msg, joint_state_msg
from robot_rl.robot import RobotState


def robot_state(cfg: RobotConfig, position: np.ndarray | None = None, roll: float = 0.0,
                vx: float = 0.0) -> RobotState:
    """A plausible state: the nominal pose (or ``position``), rolled by ``roll`` rad."""
    n = cfg.n_joints
    q = np.array(cfg.robot.nominal) if position is None else np.asarray(position, float)
    quat = np.array([np.sin(roll / 2), 0.0, 0.0, np.cos(roll / 2)])
    legged = cfg.robot.kind == "legged"
    return RobotState(
        stamp=0.0, joint_position=q, joint_velocity=np.zeros(n), joint_effort=np.zeros(n),
        imu_orientation=quat, imu_angular_velocity=np.zeros(3),
        foot_contacts=np.ones(len(cfg.robot.foot_links)) if legged else None,
        base_linear_velocity=np.array([vx, 0.0, 0.0]) if legged else None,
        ee_position=None if legged else np.array([0.4, 0.0, 0.4]))


def feed(core: ActorCore, now: float, state: RobotState | None = None,
         names: list[str] | None = None, **extra: object) -> None:
    """Delivers ``state`` (default: nominal) as Imu, extras and JointState at time ``now``."""
    cfg = core.cfg
    state = state or robot_state(cfg)
    core.inputs.imu(imu_msg(state, 0), now)
    core.inputs.extras_message(extras_msg(state, **extra), now)
    msg = joint_state_msg(state, cfg.robot.joints, 0)
    if names is not None:  # the driver's own joint order
        order = [cfg.robot.joints.index(n) for n in names]
        msg.name = list(names)
        msg.position, msg.velocity = msg.position[order], msg.velocity[order]
        msg.effort = msg.effort[order]
    core.inputs.joint_state(msg, now)
