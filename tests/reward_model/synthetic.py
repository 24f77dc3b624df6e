"""Synthetic labelled frames: a red square somewhere in noise is a success."""

from __future__ import annotations

import numpy as np

from robot_rl.reward_model.frames import LabelledFrames


def squares(n: int = 200, size: int = 32, seed: int = 0, episodes: int = 20) -> LabelledFrames:
    """``n`` noisy gray frames; about a third carry a red 8x8 square (label True)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(60, 120, size=(n, size, size, 3), dtype=np.uint8)
    success = rng.random(n) < 0.35
    for i in np.flatnonzero(success):
        x, y = rng.integers(0, size - 8, size=2)
        images[i, y:y + 8, x:x + 8] = (220, 30, 30)
    episode = np.repeat(np.arange(episodes), int(np.ceil(n / episodes)))[:n]
    return LabelledFrames(images, success, "front", episode)
