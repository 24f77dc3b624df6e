"""Observation building and action mapping: pure functions of state, task and config.

An observation is the float32 vector of :class:`ObservationBuilder`, or, with
``observation.images``, the dict ``{"state": vector, "pixels": uint8 array}`` whose
``pixels`` are ``(k * cameras * 3, height, width)``: channels grouped by time step, oldest
first, each step holding its cameras in ``observation.images`` order, RGB each
(:class:`FrameStack`). So the newest frame of every camera is the last ``cameras * 3``
channels, and the next observation's stack is this one's minus its first ``cameras * 3``
channels plus the new frame (:class:`robot_rl.sac.pixel_buffer.PixelReplayBuffer` stores, and
the actors send, each transition's new frame only, for that reason).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from robot_rl.robot import RobotState, gravity_in_body, quat_to_rpy

if TYPE_CHECKING:  # annotations only: the config loader imports signal_size from here
    import gymnasium as gym

    from robot_rl.config import RobotConfig

Observation = np.ndarray | dict[str, np.ndarray]
"""A policy's observation: the vector, or ``{"state": vector, "pixels": uint8 frames}``."""


def signal_size(name: str, cfg: RobotConfig) -> int:
    """How many numbers observation signal ``name`` contributes."""
    n = cfg.n_joints
    sizes = {"joint_position": n, "joint_velocity": n, "imu_orientation": 2,
             "imu_angular_velocity": 3, "heading": 2, "gait_phase": 2,
             "projected_gravity": 3, "previous_action": cfg.action_dim,
             "foot_contacts": len(cfg.robot.foot_links), "ee_position": 3, "target_delta": 3,
             "base_linear_velocity": 3, "block_delta": 5}
    return sizes[name]


class ObservationBuilder:
    """Turns a :class:`RobotState` (+ task context) into the policy's observation vector."""

    def __init__(self, cfg: RobotConfig) -> None:
        self.cfg = cfg
        self.signals = list(cfg.observation.signals)
        self.nominal = np.asarray(cfg.robot.nominal, dtype=np.float64)
        # gait_phase: radians per control step
        self.phase_step = 2 * np.pi * cfg.observation.phase_hz / cfg.robot.control_hz
        self.size = sum(signal_size(s, cfg) for s in self.signals)
        self.goal = np.asarray(cfg.task.push.goal, dtype=np.float64)  # block_delta

    def build(self, state: RobotState, previous_action: np.ndarray,
              target: np.ndarray | None = None, start_yaw: float | None = None,
              step: int = 0) -> np.ndarray:
        """The observation (float32) for ``state``; ``target`` is the reach target if any,
        ``start_yaw`` the IMU yaw at the episode's start (rad; None: the current yaw),
        ``step`` the control steps since the episode began (the gait_phase clock)."""
        parts: list[np.ndarray] = []
        for name in self.signals:
            if name == "joint_position":
                parts.append(state.joint_position - self.nominal)
            elif name == "joint_velocity":
                parts.append(0.1 * state.joint_velocity)
            elif name == "imu_orientation":
                parts.append(quat_to_rpy(state.imu_orientation)[:2])
            elif name == "imu_angular_velocity":
                parts.append(0.25 * state.imu_angular_velocity)
            elif name == "heading":
                yaw = quat_to_rpy(state.imu_orientation)[2]
                turned = yaw - (yaw if start_yaw is None else start_yaw)
                parts.append(np.array([np.sin(turned), np.cos(turned)]))
            elif name == "gait_phase":
                phase = self.phase_step * step
                parts.append(np.array([np.sin(phase), np.cos(phase)]))
            elif name == "projected_gravity":
                parts.append(gravity_in_body(state.imu_orientation))
            elif name == "previous_action":
                parts.append(previous_action)
            elif name == "foot_contacts":
                parts.append(_required(state.foot_contacts, name))
            elif name == "ee_position":
                parts.append(_required(state.ee_position, name))
            elif name == "target_delta":
                parts.append(_required(target, name) - _required(state.ee_position, name))
            elif name == "base_linear_velocity":
                parts.append(_required(state.base_linear_velocity, name))
            elif name == "block_delta":
                block = _required(state.block_position, name)
                parts.append(block - _required(state.ee_position, name))
                parts.append(self.goal - block[:2])
        return np.concatenate(parts).astype(np.float32)


def _required(value: np.ndarray | None, name: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"observation signal {name!r} is not provided by this robot")
    return np.asarray(value, dtype=np.float64)


class ActionMapper:
    """Normalized actions in [-1, 1] -> joint targets.

    ``robot.action_mode: absolute``: ``target = nominal + limit * a * action_scale``, with
    ``limit`` = 1 unless an adaptive limit (APRL) narrows it; ``delta``: ``target = measured
    + limit * a * action_scale`` (a step from the measured joint positions). The safety
    filter clamps the result to the hard limits.
    """

    def __init__(self, cfg: RobotConfig) -> None:
        self.nominal = np.asarray(cfg.robot.nominal, dtype=np.float64)
        self.scale = np.asarray(cfg.robot.action_scale, dtype=np.float64)
        self.delta = cfg.robot.action_mode == "delta"

    def __call__(self, action: np.ndarray, limit: np.ndarray | float = 1.0,
                 measured: np.ndarray | None = None) -> np.ndarray:
        """The targets for ``action``; ``measured`` (the joint positions) is the base of a
        delta action (required then)."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.delta:
            if measured is None:
                raise ValueError("robot.action_mode delta needs the measured joint positions")
            base = np.asarray(measured, dtype=np.float64)
        else:
            base = self.nominal
        return base + np.asarray(limit) * a * self.scale


def ee_action(cfg: RobotConfig, move: np.ndarray) -> np.ndarray:
    """The ``ee_delta`` action (float32, clipped to [-1, 1]) that moves the end effector by
    ``move`` (m, world frame): ``move / robot.ee_step``."""
    step = float(cfg.robot.ee_step)
    return np.clip(np.asarray(move, dtype=np.float64) / step, -1.0, 1.0).astype(np.float32)


class ActionRescale:
    """Maps normalized actions in [-1, 1] to a Box action space (``low`` .. ``high``)."""

    def __init__(self, space: gym.spaces.Box) -> None:
        self.low = np.asarray(space.low, dtype=np.float32)
        self.high = np.asarray(space.high, dtype=np.float32)

    def __call__(self, action: np.ndarray) -> np.ndarray:
        return self.low + (np.asarray(action, np.float32) + 1.0) * 0.5 * (self.high - self.low)


def pixels_shape(cfg: RobotConfig) -> tuple[int, int, int] | None:
    """``(k * cameras * 3, height, width)`` of ``cfg``'s stacked frames (None without
    ``observation.images``; the cameras share one size, validated on load)."""
    names = cfg.observation.images
    if not names:
        return None
    cam = next(c for c in cfg.cameras if c.name == names[0])
    return cfg.observation.frame_stack * frame_channels(cfg), cam.height, cam.width


def frame_channels(cfg: RobotConfig) -> int:
    """Channels of one time step of ``cfg``'s frames (``cameras * 3``; 0 without images)."""
    return 3 * len(cfg.observation.images)


class FrameStack:
    """The newest ``k`` frames of the named cameras as one channels-first uint8 array.

    Usage::

        stack = FrameStack(["front"], k=3)
        pixels = stack.reset(state.images)   # k copies of the first frame of an episode
        pixels = stack.push(state.images)    # after each control step

    Args:
        cameras: the camera names, in the order their channels appear.
        k: frames per camera (``observation.frame_stack``).
    """

    def __init__(self, cameras: Sequence[str], k: int) -> None:
        if not cameras or k < 1:
            raise ValueError(f"expected at least one camera and k >= 1, got {cameras}, {k}")
        self.cameras, self.k = list(cameras), k
        self._frames: deque[np.ndarray] = deque(maxlen=k)

    def _step_frame(self, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """One time step: the cameras' ``(H, W, 3)`` frames -> ``(cameras * 3, H, W)``."""
        arrays = [np.asarray(frames[name], np.uint8) for name in self.cameras]
        return np.concatenate([a.transpose(2, 0, 1) for a in arrays], axis=0)

    def reset(self, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """Starts over from ``frames`` (camera name -> ``(H, W, 3)`` uint8): the stack holds
        ``k`` copies of them. Returns :meth:`pixels`."""
        step = self._step_frame(frames)
        self._frames.clear()
        self._frames.extend(step for _ in range(self.k))
        return self.pixels()

    def push(self, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """Adds the newest frames (the oldest fall out). Returns :meth:`pixels`."""
        if not self._frames:
            return self.reset(frames)
        self._frames.append(self._step_frame(frames))
        return self.pixels()

    def pixels(self) -> np.ndarray:
        """``(k * cameras * 3, H, W)`` uint8, oldest time step first (a new array)."""
        return np.concatenate(self._frames, axis=0)

    def newest(self) -> np.ndarray:
        """The newest time step alone, ``(cameras * 3, H, W)`` uint8 (never written to)."""
        return self._frames[-1]
