"""Robot state -> the named signals a task graph reads (``docs/task_graph.md``, Signals).

Pure functions of a :class:`~robot_rl.robot.RobotState` and the config: the same code runs on
the simulator and on a robot driver. SI units throughout.

A1 (``robot.kind: legged``) signals use ``base_position`` and ``base_linear_velocity``, which
only a simulator (or a state estimator) provides; the Panda (``arm``) signals use the end
effector position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.config.taskgraph import GRAPH_SIGNALS
from robot_rl.robot import RobotState, body_to_world, is_fallen, quat_to_rpy


def signal_names(cfg: RobotConfig) -> frozenset[str]:
    """The signals :func:`state_signals` returns for this robot."""
    return GRAPH_SIGNALS[cfg.robot.kind]


def legged_signals(state: RobotState, fall_tilt_deg: float, fall_height: float,
                   time_in_task: float = 0.0) -> dict[str, float]:
    """The A1 signals (``A1_SIGNALS``) of ``state``.

    ``forward_velocity`` is the world velocity along the heading, the body x axis projected
    on the ground (0 when that axis points straight up or down); ``upright`` is the world z
    of the body z axis; ``fallen`` is 1.0 when tilted beyond ``fall_tilt_deg`` or the base is
    lower than ``fall_height`` (:func:`robot_rl.robot.is_fallen`, the rule of every path).
    """
    if state.base_position is None or state.base_linear_velocity is None:
        raise ValueError("legged task-graph signals need base_position and "
                         "base_linear_velocity (a simulator or a state estimator)")
    roll, pitch, yaw = quat_to_rpy(state.imu_orientation)
    rot = body_to_world(state.imu_orientation)
    velocity = rot @ np.asarray(state.base_linear_velocity, dtype=np.float64)  # world frame
    heading = rot[:2, 0]
    norm = float(np.hypot(heading[0], heading[1]))
    forward = float(velocity[:2] @ heading / norm) if norm > 1e-6 else 0.0
    height = float(state.base_position[2])
    body_v = state.base_linear_velocity
    rate = state.imu_angular_velocity
    return {
        "roll": float(roll), "pitch": float(pitch), "yaw": float(yaw),
        "roll_rate": float(rate[0]), "pitch_rate": float(rate[1]), "yaw_rate": float(rate[2]),
        "base_height": height,
        "base_vx": float(body_v[0]), "base_vy": float(body_v[1]), "base_vz": float(body_v[2]),
        "forward_velocity": forward,
        "upright": float(rot[2, 2]),
        "fallen": float(is_fallen(state, fall_tilt_deg, fall_height)),
        "time_in_task": float(time_in_task),
    }


def arm_signals(state: RobotState, target: Sequence[float] | np.ndarray,
                base_position: Sequence[float] = (0.0, 0.0, 0.0)) -> dict[str, float]:
    """The Panda signals (``PANDA_SIGNALS``) of ``state`` for the active ``target``.

    Positions are in the base frame of a fixed, unrotated base at ``base_position``.
    """
    if state.ee_position is None:
        raise ValueError("arm task-graph signals need the end-effector position")
    ee = np.asarray(state.ee_position, dtype=np.float64) - np.asarray(base_position)
    goal = np.asarray(target, dtype=np.float64)
    return {
        "ee_x": float(ee[0]), "ee_y": float(ee[1]), "ee_z": float(ee[2]),
        "target_x": float(goal[0]), "target_y": float(goal[1]), "target_z": float(goal[2]),
        "ee_distance": float(np.linalg.norm(ee - goal)),
        "joint_velocity_norm": float(np.linalg.norm(state.joint_velocity)),
    }


def state_signals(cfg: RobotConfig, state: RobotState, *, time_in_task: float = 0.0,
                  target: Sequence[float] | np.ndarray | None = None) -> dict[str, float]:
    """Every graph signal of ``cfg``'s robot for ``state``.

    Args:
        cfg: The robot config (kind, fall thresholds, base position).
        state: The state after the action.
        time_in_task: Seconds since the active task started, counting this step (legged).
        target: The active reaching target, base frame (arms; default: the middle of
            ``task.reach``'s target box).
    """
    if cfg.robot.kind == "legged":
        return legged_signals(state, cfg.sim.fall_tilt_deg, cfg.sim.fall_height, time_in_task)
    if target is None:
        reach = cfg.task.reach
        target = (np.asarray(reach.target_low) + np.asarray(reach.target_high)) / 2
    return arm_signals(state, target, cfg.robot.base_position)
