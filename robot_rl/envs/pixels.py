"""The pixel part of an observation: the last k frames of the cameras the policy sees.

An observation with images is a dict ``{"state": float32 vector, "pixels": uint8 array}``;
``pixels`` is ``(k * cameras * 3, height, width)``: channels grouped by time step, oldest
first, each step holding its cameras in ``observation.images`` order, RGB each. So the
newest frame of every camera is the last ``cameras * 3`` channels, and the next
observation's stack is this one's minus its first ``cameras * 3`` channels plus the new
frame (:class:`robot_rl.sac.pixel_buffer.PixelReplayBuffer` stores each transition's new
frame only, for that reason).

Usage::

    stack = FrameStack(["front"], k=3)
    pixels = stack.reset(robot.render_cameras())   # k copies of the first frame
    pixels = stack.push(robot.render_cameras())    # after each control step
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import gymnasium as gym
import numpy as np

from robot_rl.config import RobotConfig

Observation = np.ndarray | dict[str, np.ndarray]
"""A policy's observation: the vector, or ``{"state": vector, "pixels": uint8 frames}``."""


class FrameStack:
    """The newest ``k`` frames of the named cameras as one channels-first uint8 array.

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


def pixel_space(cfg: RobotConfig) -> gym.spaces.Box | None:
    """The ``pixels`` space of ``cfg``'s observations (None without ``observation.images``)."""
    names = cfg.observation.images
    if not names:
        return None
    cam = next(c for c in cfg.cameras if c.name == names[0])  # one size (validated)
    channels = cfg.observation.frame_stack * len(names) * 3
    return gym.spaces.Box(0, 255, (channels, cam.height, cam.width), np.uint8)
