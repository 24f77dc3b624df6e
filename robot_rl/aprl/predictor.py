"""Numpy-only evaluation of an exported dynamics ensemble, for the actor (no torch needed).

The learner ships ``DynamicsEnsemble.export_numpy()`` with the policy weights (same version
tag); the actor rebuilds it with :meth:`DynamicsPredictor.from_arrays` and calls
:meth:`DynamicsPredictor.predict` once per control step (about 0.1 ms for 5 x 256 x 256).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class DynamicsPredictor:
    """Forward pass of the ensemble in float32 numpy, with the learner's normalizers."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray],
                 obs_mean: np.ndarray, obs_std: np.ndarray,
                 delta_mean: np.ndarray, delta_std: np.ndarray) -> None:
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float32)[:, None, :] for b in biases]
        self.obs_mean = np.asarray(obs_mean, dtype=np.float32)
        self.obs_std = np.asarray(obs_std, dtype=np.float32)
        self.delta_mean = np.asarray(delta_mean, dtype=np.float32)
        self.delta_std = np.asarray(delta_std, dtype=np.float32)
        self.ensemble_size, in_dim, _ = self.weights[0].shape
        self.obs_dim = self.obs_mean.shape[0]
        self.act_dim = in_dim - self.obs_dim

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> DynamicsPredictor:
        """Rebuild from ``DynamicsEnsemble.export_numpy()`` output.

        Raises:
            ValueError: missing arrays or shapes that do not chain.
        """
        n_layers = sum(1 for k in arrays if k.startswith("layer") and k.endswith(".weight"))
        try:
            weights = [np.asarray(arrays[f"layer{i}.weight"]) for i in range(n_layers)]
            biases = [np.asarray(arrays[f"layer{i}.bias"]) for i in range(n_layers)]
            stats = [np.asarray(arrays[k]).reshape(-1) for k in
                     ("obs_mean", "obs_std", "delta_mean", "delta_std")]
        except KeyError as err:
            raise ValueError(f"dynamics arrays lack {err}") from None
        if n_layers == 0:
            raise ValueError("dynamics arrays hold no layers")
        e, d = weights[0].shape[0], stats[0].shape[0]
        width = weights[0].shape[1]
        for w, b in zip(weights, biases, strict=True):
            if w.ndim != 3 or w.shape[0] != e or w.shape[1] != width or b.shape != (e, w.shape[2]):
                raise ValueError(f"dynamics layer shapes do not chain: {w.shape}, {b.shape}")
            width = w.shape[2]
        if width != d or weights[0].shape[1] <= d or any(s.shape != (d,) for s in stats):
            raise ValueError("dynamics arrays disagree on the observation size")
        return cls(weights, biases, *stats)

    def predict(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalized delta for one step: ensemble mean ``[obs_dim]`` and members ``[E, obs_dim]``.

        Args:
            obs: raw observation ``[obs_dim]``.
            action: applied normalized action ``[act_dim]`` (see ``effective_action``).
        """
        x_obs = (np.asarray(obs, dtype=np.float32) - self.obs_mean) / self.obs_std
        x = np.concatenate([x_obs, np.asarray(action, dtype=np.float32)])[None, None, :]
        h = np.broadcast_to(x, (self.ensemble_size, 1, x.shape[-1]))
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = np.matmul(h, w) + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        members = h[:, 0, :]
        return members.mean(0), members

    def normalize_delta(self, obs: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """Observed change in the model's units: ``(next_obs - obs - delta_mean) / delta_std``."""
        delta = np.asarray(next_obs, np.float32) - np.asarray(obs, np.float32)
        return (delta - self.delta_mean) / self.delta_std
