"""A numpy ring-buffer replay memory that stores ``terminated`` and ``truncated`` apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")


class Batch(NamedTuple):
    """A minibatch (torch tensors). Leading dims: ``[B]`` or ``[k, B]`` for k updates.

    With images (:class:`robot_rl.sac.pixel_buffer.PixelReplayBuffer`) ``obs`` and
    ``next_obs`` are the state vectors and ``pixels``/``next_pixels`` the stacked frames,
    uint8 ``[..., C, H, W]`` (the learner makes them float on its device); else both None.
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor  # 1.0 at a true end: no bootstrapping from next_obs
    truncated: torch.Tensor  # 1.0 at a time limit or task switch: still bootstrap
    pixels: torch.Tensor | None = None  # uint8 frames of obs (observation.images)
    next_pixels: torch.Tensor | None = None  # uint8 frames of next_obs

    def slice(self, i: int) -> Batch:
        """The i-th of k stacked minibatches."""
        return self.map(lambda t: t[i])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """``fn`` applied to every tensor (the missing pixel fields stay None)."""
        return Batch(*(None if t is None else fn(t) for t in self))  # type: ignore[arg-type]


class ReplayBuffer:
    """Fixed-capacity FIFO of transitions.

    Args:
        obs_dim: observation size.
        act_dim: action size.
        capacity: the most transitions kept; the oldest are overwritten.
        seed: seeds the sampler.
    """

    def __init__(self, obs_dim: int, act_dim: int, capacity: int, seed: int = 0) -> None:
        self.capacity = capacity
        self.data = {
            "obs": np.zeros((capacity, obs_dim), np.float32),
            "action": np.zeros((capacity, act_dim), np.float32),
            "reward": np.zeros((capacity,), np.float32),
            "next_obs": np.zeros((capacity, obs_dim), np.float32),
            "terminated": np.zeros((capacity,), np.float32),
            "truncated": np.zeros((capacity,), np.float32),
        }
        self.size = 0
        self.pos = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
            terminated: bool, truncated: bool) -> None:
        """Store one transition."""
        self.add_batch({"obs": obs[None], "action": action[None], "reward": np.array([reward]),
                        "next_obs": next_obs[None], "terminated": np.array([terminated]),
                        "truncated": np.array([truncated])})

    def add_batch(self, batch: dict[str, np.ndarray]) -> None:
        """Store many transitions (arrays with a leading batch dimension)."""
        n = len(batch["reward"])
        if n > self.capacity:
            batch = {k: v[-self.capacity:] for k, v in batch.items()}
            n = self.capacity
        idx = (self.pos + np.arange(n)) % self.capacity
        for key in FIELDS:
            self.data[key][idx] = batch[key]
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample_indices(self, batch_size: int, k: int = 1) -> np.ndarray:
        """Uniform indices shaped ``[k, batch_size]`` (one call for all k minibatches)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return self.rng.integers(0, self.size, size=(k, batch_size))

    def gather(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The stored fields at ``idx`` (any shape)."""
        return {key: self.data[key][idx] for key in FIELDS}

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches of ``batch_size``, stacked: tensors shaped ``[k, B, ...]``."""
        return to_batch(self.gather(self.sample_indices(batch_size, k)))

    # ----------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        """Write the stored transitions and sampler state to an ``.npz`` file."""
        n = self.size
        order = (np.arange(n) + (self.pos if n == self.capacity else 0)) % self.capacity
        # Any: numpy's stub would let a **dict of arrays fill savez's allow_pickle: bool
        arrays: dict[str, Any] = {key: self.data[key][order] for key in FIELDS}
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def load(self, path: str | Path) -> None:
        """Replace the contents with an ``.npz`` written by :meth:`save` (no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in FIELDS}
        self.size, self.pos = 0, 0
        if len(arrays["reward"]):
            self.add_batch(arrays)

    def rng_state(self) -> dict[str, Any]:
        """The sampler's generator state (for checkpoints)."""
        return dict(self.rng.bit_generator.state)

    def set_rng_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state


def to_batch(arrays: dict[str, np.ndarray], device: str | torch.device = "cpu") -> Batch:
    """Numpy fields -> a :class:`Batch` of float32 tensors."""
    return Batch(*(torch.as_tensor(arrays[key], dtype=torch.float32, device=device)
                   for key in FIELDS))
