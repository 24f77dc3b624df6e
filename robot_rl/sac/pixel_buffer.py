"""Replay for observations with images: state vectors as float32, frames as uint8.

Frames stay uint8 in memory, in the ``.npz`` of a checkpoint and in the sampled
:class:`~robot_rl.sac.buffer.Batch` (``pixels``, ``next_pixels``); the learner turns them into
floats on its own device (:meth:`robot_rl.sac.agent.SAC.encode`), so a batch crosses to a GPU
at a quarter of the float size.

Each transition keeps the whole stack of ``obs`` (``k`` frames per camera) and only the
*new* frame of ``next_obs``: the next stack is the current one without its oldest frame plus
that new frame (:mod:`robot_rl.spaces`), rebuilt at sample time. A transition then
costs ``(k + 1)`` frames instead of ``2k`` (k = 1: no saving; k = 3: a third less). Storing
each frame exactly once (a frame index per slot, as DrQ-v2's replay does by episodes) would
save more at k > 1 and is not done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from robot_rl.sac.buffer import FIELDS, Batch, ReplayBuffer, to_batch

Obs = dict[str, np.ndarray]


class PixelReplayBuffer(ReplayBuffer):
    """A :class:`ReplayBuffer` whose observations are ``{"state", "pixels"}`` dicts.

    Args:
        obs_dim: size of the state vector.
        act_dim: action size.
        pixels_shape: ``(k * cameras * 3, H, W)`` of the stacked frames.
        frame_channels: channels of one time step (``cameras * 3``).
        capacity: the most transitions kept; the oldest are overwritten.
        seed: seeds the sampler.
    """

    def __init__(self, obs_dim: int, act_dim: int, pixels_shape: tuple[int, int, int],
                 frame_channels: int, capacity: int, seed: int = 0) -> None:
        super().__init__(obs_dim, act_dim, capacity, seed)
        c, h, w = pixels_shape
        if frame_channels < 1 or c % frame_channels:
            raise ValueError(f"{c} channels are no whole number of {frame_channels}-channel "
                             "frames")
        self.pixels_shape, self.frame_channels = (c, h, w), frame_channels
        # np.zeros maps pages lazily: memory grows with what is stored, not with capacity
        self.data["pixels"] = np.zeros((capacity, c, h, w), np.uint8)
        self.data["next_frame"] = np.zeros((capacity, frame_channels, h, w), np.uint8)

    @property
    def bytes_per_transition(self) -> int:
        """Bytes each stored transition takes (frames and vectors)."""
        return sum(a[0].nbytes for a in self.data.values())

    @staticmethod
    def transition_bytes(obs_dim: int, act_dim: int, pixels_shape: tuple[int, int, int],
                         frame_channels: int) -> int:
        """:attr:`bytes_per_transition` of a buffer not built yet."""
        c, h, w = pixels_shape
        return (c + frame_channels) * h * w + 4 * (2 * obs_dim + act_dim + 3)

    def add(self, obs: Obs, action: np.ndarray, reward: float,  # type: ignore[override]
            next_obs: Obs, terminated: bool, truncated: bool) -> None:
        """Store one transition (``obs`` and ``next_obs`` dicts of one episode)."""
        self.add_batch({"obs": obs["state"][None], "pixels": obs["pixels"][None],
                        "action": action[None], "reward": np.array([reward]),
                        "next_obs": next_obs["state"][None],
                        "next_pixels": next_obs["pixels"][None],
                        "terminated": np.array([terminated]), "truncated": np.array([truncated])})

    def add_batch(self, batch: dict[str, np.ndarray]) -> None:
        """Store many transitions: the plain fields plus ``pixels`` and ``next_pixels`` (or
        ``next_frame``, the new frame alone, as :meth:`save` writes it).

        Raises:
            ValueError: a ``next_pixels`` stack is not ``pixels`` moved on by one frame.
        """
        batch = dict(batch)
        f = self.frame_channels
        if "next_frame" not in batch:
            pixels, nxt = np.asarray(batch["pixels"]), np.asarray(batch.pop("next_pixels"))
            if not np.array_equal(pixels[:, f:], nxt[:, :-f]):
                raise ValueError("next_obs pixels must be obs pixels moved on by one frame "
                                 "(the same episode's frame stack)")
            batch["next_frame"] = nxt[:, -f:]
        n = len(batch["reward"])
        if n > self.capacity:
            batch = {k: v[-self.capacity:] for k, v in batch.items()}
            n = self.capacity
        idx = (self.pos + np.arange(n)) % self.capacity
        for key in (*FIELDS, "pixels", "next_frame"):
            self.data[key][idx] = batch[key]
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def gather(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The stored fields at ``idx`` plus ``next_pixels`` rebuilt from the new frame."""
        out = {key: self.data[key][idx] for key in (*FIELDS, "pixels", "next_frame")}
        new = out.pop("next_frame")
        out["next_pixels"] = np.concatenate([out["pixels"][..., self.frame_channels:, :, :],
                                             new], axis=-3)
        return out

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches of ``batch_size``: float32 vectors, uint8 frames ``[k, B, C, H,
        W]``."""
        return self.to_pixel_batch(self.gather(self.sample_indices(batch_size, k)))

    @staticmethod
    def to_pixel_batch(arrays: dict[str, np.ndarray]) -> Batch:
        """Gathered arrays (:meth:`gather`'s keys) -> a :class:`Batch`: float32 vectors,
        uint8 frames."""
        batch = to_batch(arrays)
        return batch._replace(pixels=torch.from_numpy(arrays["pixels"]),
                              next_pixels=torch.from_numpy(arrays["next_pixels"]))

    def save(self, path: str | Path) -> None:
        """Write the transitions (frames as uint8, the new frame of next_obs only)."""
        n = self.size
        order = (np.arange(n) + (self.pos if n == self.capacity else 0)) % self.capacity
        arrays: dict[str, Any] = {key: self.data[key][order] for key in self.data}
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def load(self, path: str | Path) -> None:
        """Replace the contents with an ``.npz`` written by :meth:`save` (no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in self.data}
        self.size, self.pos = 0, 0
        if len(arrays["reward"]):
            self.add_batch(arrays)
