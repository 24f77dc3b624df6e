"""Prior data as in RLPD (Ball et al. 2023): offline transitions mixed into every minibatch.

The file format is the one :meth:`ReplayBuffer.save` writes, so a saved replay buffer is
valid prior data. An ``.npz`` archive (``np.savez``; no pickled objects) with, for ``N``
transitions:

=============  ================  ====================================================
key            shape             meaning
=============  ================  ====================================================
``obs``        ``[N, obs_dim]``  observation before the action
``action``     ``[N, act_dim]``  normalized action in [-1, 1]
``reward``     ``[N]``           reward
``next_obs``   ``[N, obs_dim]``  observation after the action
``terminated`` ``[N]``           1 at a true end (no bootstrapping), else 0
``truncated``  ``[N]``           optional: 1 at a time limit or task switch, else 0
=============  ================  ====================================================

Optional too, from demonstrations (:mod:`robot_rl.demos.record`): ``success`` ``[N]`` (1 where
the task succeeded after the step) and ``intervention`` ``[N]`` (1 where a person or scripted
expert acted); checked (0/1 flags) and returned, not mixed into minibatches.

Usage (what :func:`robot_rl.session.build` does)::

    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed, config_dir)
    batch = buffer.sample(256, k=20)   # each [256] slice: 128 prior rows, then 128 online
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from robot_rl.config import LearnerConfig
from robot_rl.errors import ConfigError
from robot_rl.npz import open_npz
from robot_rl.sac.buffer import FIELDS, Batch, ReplayBuffer, to_batch

REQUIRED = ("obs", "action", "reward", "next_obs", "terminated")
OPTIONAL = ("truncated", "success", "intervention")


def load_transitions(path: str | os.PathLike[str], obs_dim: int,
                     act_dim: int) -> dict[str, np.ndarray]:
    """Read and check a prior-data ``.npz`` file; arrays come back as float32.

    Raises:
        ConfigError: (a ``ValueError``) naming the file, the array and what was expected.
    """
    name = str(path)
    archive = open_npz(path, "expected an existing .npz file of prior transitions")
    with archive:
        keys = set(archive.files)
        for key in REQUIRED:
            if key not in keys:
                raise ConfigError(name, key, f"missing array; expected keys "
                                  f"{', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})")
        unknown = sorted(keys - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise ConfigError(name, unknown[0], f"unknown array; expected only "
                              f"{', '.join(REQUIRED + OPTIONAL)}")
        try:
            raw = {key: archive[key] for key in REQUIRED + OPTIONAL if key in keys}
        except ValueError as err:  # an object array would need pickle
            raise ConfigError(name, "<file>", f"expected numeric arrays ({err})") from None
    if raw["reward"].ndim != 1 or len(raw["reward"]) < 1:
        raise ConfigError(name, "reward", f"expected shape [N] with N >= 1 transitions, "
                          f"got {list(raw['reward'].shape)}")
    n = len(raw["reward"])
    shapes = {"obs": (n, obs_dim), "action": (n, act_dim), "next_obs": (n, obs_dim),
              "reward": (n,), "terminated": (n,), "truncated": (n,), "success": (n,),
              "intervention": (n,)}
    out: dict[str, np.ndarray] = {}
    for key, value in raw.items():
        if value.dtype.kind not in "biuf":
            raise ConfigError(name, key, f"expected a numeric array, got dtype {value.dtype}")
        want = shapes[key]
        if value.shape != want:
            shown = "[" + ", ".join(["N", *map(str, want[1:])]) + "]"
            raise ConfigError(name, key, f"expected shape {shown} with N = {n} (the length "
                              f"of reward), got {list(value.shape)}")
        value = value.astype(np.float32)
        if not np.all(np.isfinite(value)):
            raise ConfigError(name, key, "expected finite values, found NaN or inf")
        out[key] = value
    if np.abs(out["action"]).max() > 1.0 + 1e-6:
        raise ConfigError(name, "action", "expected normalized actions in [-1, 1], found "
                          f"|a| up to {np.abs(out['action']).max():.3g}")
    for key in ("terminated", "truncated", "success", "intervention"):
        if key in out and not np.all((out[key] == 0) | (out[key] == 1)):
            raise ConfigError(name, key, "expected flags of 0 or 1")
    out.setdefault("truncated", np.zeros(n, np.float32))
    return out


class MixedReplayBuffer(ReplayBuffer):
    """The online replay buffer, plus fixed prior data mixed into every minibatch.

    Everything but :meth:`sample` is the online buffer's (``add``, ``len``, ``save``, ...):
    checkpoints hold only online data; the prior data is reloaded from its file (rows added
    with :meth:`add_prior` are not kept: they are in the online data too).

    Args:
        obs_dim: observation size.
        act_dim: action size.
        capacity: online capacity.
        prior: the prior transitions (see :func:`load_transitions`); None: none yet.
        fraction: share of each minibatch drawn from the prior data (rounded to a count;
            0 while the prior data is empty).
        seed: seeds the sampler (one generator for both parts).
        prior_capacity: room for transitions added later with :meth:`add_prior` (taken as
            they come, not reserved).
    """

    def __init__(self, obs_dim: int, act_dim: int, capacity: int,
                 prior: dict[str, np.ndarray] | None, fraction: float = 0.5, seed: int = 0,
                 prior_capacity: int = 100_000) -> None:
        super().__init__(obs_dim, act_dim, capacity, seed)
        n = 0 if prior is None else len(prior["reward"])
        self.prior = ReplayBuffer(obs_dim, act_dim, max(n, 1))
        if prior is not None:
            self.prior.add_batch(prior)
        self.prior_limit = max(n, 1) + prior_capacity  # the prior part grows up to this
        self.fraction = fraction

    def add_prior(self, obs: np.ndarray, action: np.ndarray, reward: float,
                  next_obs: np.ndarray, terminated: bool, truncated: bool = False) -> None:
        """Adds one demonstration transition (an intervention, as in HIL-SERL) to the prior
        data, growing it up to ``prior_capacity`` added rows; beyond that the oldest rows
        (the loaded ones first) are overwritten."""
        prior = self.prior
        if len(prior) == prior.capacity and prior.capacity < self.prior_limit:
            grown = ReplayBuffer(prior.data["obs"].shape[1], prior.data["action"].shape[1],
                                 min(2 * prior.capacity, self.prior_limit))
            grown.add_batch({k: v[:len(prior)] for k, v in prior.data.items()})
            self.prior = prior = grown
        prior.add(obs, action, reward, next_obs, terminated, truncated)

    def prior_count(self, batch_size: int) -> int:
        """Rows of a minibatch of ``batch_size`` that come from the prior data."""
        return int(round(self.fraction * batch_size)) if len(self.prior) else 0

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches shaped ``[k, B, ...]``: the first ``prior_count(B)`` rows of each
        come from the prior data, the rest from online data (all indices in one call each)."""
        n_prior = self.prior_count(batch_size)
        parts = []
        if len(self.prior):
            prior_idx = self.rng.integers(0, len(self.prior), size=(k, n_prior))
            parts.append(self.prior.gather(prior_idx))
        if batch_size > n_prior:
            parts.append(self.gather(self.sample_indices(batch_size - n_prior, k)))
        return to_batch({key: np.concatenate([p[key] for p in parts], axis=1)
                         for key in FIELDS})


def resolve_prior_path(path: str, config_dir: Path | None) -> Path:
    """``path`` if absolute, else next to the config file, else relative to the working
    directory (where a resumed run's copied config looks for it)."""
    p = Path(path)
    if p.is_absolute():
        return p
    candidates = ([config_dir / p] if config_dir is not None else []) + [Path.cwd() / p]
    return next((c for c in candidates if c.is_file()), candidates[0])


def make_replay(cfg: LearnerConfig, obs_dim: int, act_dim: int, seed: int = 0,
                config_dir: Path | None = None) -> ReplayBuffer:
    """The replay buffer a learner config asks for: plain, or mixed with prior data.

    Raises:
        ConfigError: the prior-data file is missing or malformed (names file and array).
    """
    if cfg.prior_data is None:
        return ReplayBuffer(obs_dim, act_dim, cfg.buffer_size, seed=seed)
    path = resolve_prior_path(cfg.prior_data, config_dir)
    prior = load_transitions(path, obs_dim, act_dim)
    return MixedReplayBuffer(obs_dim, act_dim, cfg.buffer_size, prior, cfg.prior_fraction,
                             seed=seed)
