"""The robot interface: what every backend (PyBullet, ROS 2 driver) offers the actor.

Usage loop (the actor's view; it cannot tell simulation from hardware)::

    robot.reset()                       # sim: spawn; hardware: no-op
    while running:
        state = robot.read_state()      # stamped arrays
        command = safety(policy(state))
        robot.send_command(command)     # absolute joint position targets (rad)
        robot.tick()                    # sim: advance one control period; hw: wait for it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class RobotState:
    """One stamped reading of the robot's sensors (SI units, joint order of the config)."""

    stamp: float  # monotonic time of the reading (s)
    joint_position: np.ndarray  # (n,) rad
    joint_velocity: np.ndarray  # (n,) rad/s
    joint_effort: np.ndarray  # (n,) N*m
    imu_orientation: np.ndarray  # (4,) quaternion x, y, z, w
    imu_angular_velocity: np.ndarray  # (3,) body-frame rad/s
    imu_linear_acceleration: np.ndarray = field(default_factory=lambda: np.zeros(3))  # m/s^2
    foot_contacts: np.ndarray | None = None  # (feet,) 1.0 in contact (legged robots)
    ee_position: np.ndarray | None = None  # (3,) end effector in the world frame (arms)
    # Privileged signals: only a simulator knows them; never used on hardware.
    base_linear_velocity: np.ndarray | None = None  # (3,) body frame, m/s
    base_position: np.ndarray | None = None  # (3,) world frame, m
    block_position: np.ndarray | None = None  # (3,) the push task's block centre, world, m
    yaw: float = 0.0  # heading (rad) from the IMU quaternion
    # camera name -> newest (H, W, 3) uint8 RGB frame (cfg.cameras), beside the observation
    images: dict[str, np.ndarray] | None = None

    def is_finite(self) -> bool:
        """True when every reported number is finite (the optional signals too, when
        present: a NaN base velocity or foot contact reaches the policy and the reward)."""
        arrays = [self.joint_position, self.joint_velocity, self.imu_orientation,
                  self.imu_angular_velocity, self.imu_linear_acceleration, self.foot_contacts,
                  self.ee_position, self.base_linear_velocity, self.base_position,
                  self.block_position]
        return bool(np.isfinite(self.stamp) and all(
            np.all(np.isfinite(a)) for a in arrays if a is not None))

    def has_orientation(self) -> bool:
        """True when ``imu_orientation`` is a rotation: a quaternion of norm within 0.5 of 1
        (an all-zero one, which IMU drivers send when they estimate no orientation, is not;
        a slightly unnormalized one is)."""
        norm = float(np.linalg.norm(self.imu_orientation))
        return bool(np.shape(self.imu_orientation) == (4,) and 0.5 <= norm <= 1.5)


class Robot(Protocol):
    """A robot the actor can drive: read stamped state, send joint targets, keep time."""

    joint_names: list[str]
    control_dt: float

    def reset(self, seed: int | None = None) -> RobotState:
        """Bring the robot to its start (sim: spawn, ``seed`` reseeds its noise; hardware:
        current state)."""
        ...

    def read_state(self) -> RobotState:
        """Return the newest stamped state."""
        ...

    def send_command(self, targets: np.ndarray) -> None:
        """Send absolute joint position targets (rad), in config joint order."""
        ...

    def tick(self) -> None:
        """Let one control period pass (sim: step physics; hardware: wait)."""
        ...

    def now(self) -> float:
        """The clock that stamps states (s)."""
        ...


def quat_to_rpy(q: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (rad) of an x, y, z, w quaternion."""
    x, y, z, w = (float(v) for v in q)
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def body_to_world(q: np.ndarray) -> np.ndarray:
    """Body -> world rotation matrix of an x, y, z, w quaternion."""
    x, y, z, w = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def gravity_in_body(q: np.ndarray) -> np.ndarray:
    """The unit gravity direction (world -z) expressed in the body frame."""
    x, y, z, w = (float(v) for v in q)
    # third row of the rotation matrix R (body->world), negated: R^T @ [0, 0, -1]
    return -np.array([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def is_fallen(state: RobotState, max_tilt_deg: float, min_height: float) -> bool:
    """Tilted (roll or pitch) beyond ``max_tilt_deg``, or, where the state knows the base's
    height (a simulator or a state estimator), lower than ``min_height`` (m)."""
    roll, pitch, _ = quat_to_rpy(state.imu_orientation)
    if np.degrees(max(abs(roll), abs(pitch))) > max_tilt_deg:
        return True
    return state.base_position is not None and float(state.base_position[2]) < min_height
