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

With ``observation.images`` (the pixel learner) ``obs`` and ``next_obs`` are the state
vectors, and two uint8 arrays hold the camera frames, as
:meth:`~robot_rl.sac.pixel_buffer.PixelReplayBuffer.save` writes them (so a saved pixel replay
buffer is valid prior data too):

=============== ==================== ================================================
``pixels``      ``[N, C, H, W]``     the frame stack acted on (``C = k * cameras * 3``)
``next_frame``  ``[N, F, H, W]``     the new frame of ``next_obs`` (``F = cameras * 3``)
=============== ==================== ================================================

Both are required with images and refused without them.

Usage (what :func:`robot_rl.session.build` does)::

    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed, config_dir)
    batch = buffer.sample(256, k=20)   # each [256] slice: 128 prior rows, then 128 online
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import LearnerConfig
from robot_rl.errors import ConfigError
from robot_rl.npz import open_npz
from robot_rl.sac.buffer import FIELDS, Batch, ReplayBuffer, to_batch
from robot_rl.sac.pixel_buffer import PixelReplayBuffer

REQUIRED = ("obs", "action", "reward", "next_obs", "terminated")
OPTIONAL = ("truncated", "success", "intervention")
PIXELS = ("pixels", "next_frame")


def load_transitions(path: str | os.PathLike[str], obs_dim: int, act_dim: int,
                     pixels_shape: tuple[int, int, int] | None = None,
                     frame_channels: int = 0) -> dict[str, np.ndarray]:
    """Read and check a prior-data ``.npz`` file; arrays come back as float32 (the frames,
    with ``pixels_shape``, as uint8).

    Args:
        path: the file.
        obs_dim: size of the observation (with images: of the state vector).
        act_dim: action size.
        pixels_shape: ``(C, H, W)`` of the stacked frames of a config with
            ``observation.images`` (then ``pixels`` and ``next_frame`` are required); None:
            a file with frames is refused.
        frame_channels: channels of one time step's frames (``cameras * 3``), with images.

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
        frames = sorted(keys & set(PIXELS))
        if pixels_shape is None and frames:
            raise ConfigError(name, frames[0], "camera frames in prior data; expected a "
                              "config with observation.images to learn from them (or a file "
                              "of state vectors only)")
        if pixels_shape is not None:
            for key in PIXELS:
                if key not in keys:
                    raise ConfigError(name, key, "missing array; expected the camera frames "
                                      "of a config with observation.images: pixels [N, C, H, W] "
                                      "and next_frame [N, F, H, W] (uint8)")
        known = REQUIRED + OPTIONAL + (PIXELS if pixels_shape is not None else ())
        unknown = sorted(keys - set(known))
        if unknown:
            raise ConfigError(name, unknown[0], f"unknown array; expected only "
                              f"{', '.join(known)}")
        try:
            raw = {key: archive[key] for key in known if key in keys}
        except ValueError as err:  # an object array would need pickle
            raise ConfigError(name, "<file>", f"expected numeric arrays ({err})") from None
    images = {key: raw.pop(key) for key in PIXELS if key in raw}
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
    if pixels_shape is not None:
        c, h, w = pixels_shape
        for key, want in (("pixels", (n, c, h, w)), ("next_frame", (n, frame_channels, h, w))):
            value = images[key]
            if value.dtype != np.uint8:
                raise ConfigError(name, key, f"expected uint8 frames, got dtype {value.dtype}")
            if value.shape != want:
                raise ConfigError(name, key, f"expected shape [N, {', '.join(map(str, want[1:]))}]"
                                  f" with N = {n} (the config's frames), got {list(value.shape)}")
            out[key] = value
    return out


class _DemoPart:
    """The prior (demonstration) part of an RLPD mix, shared by :class:`MixedReplayBuffer`
    (state vectors) and :class:`PixelMixedReplayBuffer` (with camera frames): it grows as
    transitions are added (interventions) up to a limit, then overwrites its oldest rows."""

    prior: ReplayBuffer
    prior_limit: int
    fraction: float
    rng: np.random.Generator

    def _empty_prior(self, capacity: int) -> ReplayBuffer:
        raise NotImplementedError

    def _init_prior(self, prior: dict[str, np.ndarray] | None, fraction: float,
                    prior_capacity: int) -> None:
        n = 0 if prior is None else len(prior["reward"])
        self.prior = self._empty_prior(max(n, 1))
        if prior is not None:
            self.prior.add_batch(prior)
        self.prior_limit = max(n, 1) + prior_capacity  # the prior part grows up to this
        self.fraction = fraction

    def add_prior(self, obs: Any, action: np.ndarray, reward: float, next_obs: Any,
                  terminated: bool, truncated: bool = False) -> None:
        """Adds one demonstration transition (an intervention, as in HIL-SERL) to the prior
        data, growing it up to ``prior_capacity`` added rows; beyond that the oldest rows
        (the loaded ones first) are overwritten."""
        self._make_room(1)
        self.prior.add(obs, action, reward, next_obs, terminated, truncated)

    def add_prior_batch(self, batch: dict[str, np.ndarray]) -> None:
        """Adds many demonstration transitions (arrays as the buffer's ``add_batch`` takes)."""
        self._make_room(len(batch["reward"]))
        self.prior.add_batch(batch)

    def _make_room(self, n: int) -> None:
        prior = self.prior
        if len(prior) + n > prior.capacity and prior.capacity < self.prior_limit:
            grown = self._empty_prior(min(max(2 * prior.capacity, len(prior) + n),
                                          self.prior_limit))
            grown.add_batch({k: v[:len(prior)] for k, v in prior.data.items()})
            self.prior = grown

    def prior_count(self, batch_size: int) -> int:
        """Rows of a minibatch of ``batch_size`` that come from the prior data."""
        return int(round(self.fraction * batch_size)) if len(self.prior) else 0

    def _mixed(self, online: ReplayBuffer, batch_size: int, k: int) -> dict[str, np.ndarray]:
        """``k`` minibatches of arrays ``[k, B, ...]``: the first ``prior_count(B)`` rows of
        each from the prior data, the rest from ``online`` (all indices in one call each)."""
        n_prior = self.prior_count(batch_size)
        parts = []
        if len(self.prior):
            prior_idx = self.rng.integers(0, len(self.prior), size=(k, n_prior))
            parts.append(self.prior.gather(prior_idx))
        if batch_size > n_prior:
            parts.append(online.gather(online.sample_indices(batch_size - n_prior, k)))
        return {key: np.concatenate([p[key] for p in parts], axis=1) for key in parts[0]}


class MixedReplayBuffer(_DemoPart, ReplayBuffer):
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
        ReplayBuffer.__init__(self, obs_dim, act_dim, capacity, seed)
        self._init_prior(prior, fraction, prior_capacity)

    def _empty_prior(self, capacity: int) -> ReplayBuffer:
        return ReplayBuffer(self.data["obs"].shape[1], self.data["action"].shape[1], capacity)

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches shaped ``[k, B, ...]``: the first ``prior_count(B)`` rows of each
        come from the prior data, the rest from online data (all indices in one call each)."""
        arrays = self._mixed(self, batch_size, k)
        return to_batch({key: arrays[key] for key in FIELDS})


class PixelMixedReplayBuffer(_DemoPart, PixelReplayBuffer):
    """:class:`MixedReplayBuffer` for observations with images: the online part and the prior
    part are :class:`~robot_rl.sac.pixel_buffer.PixelReplayBuffer` s (uint8 frames); the
    minibatch's ``pixels``/``next_pixels`` hold the prior rows first, like the vectors.

    Args:
        obs_dim: size of the state vector.
        act_dim: action size.
        pixels_shape: ``(k * cameras * 3, H, W)`` of the stacked frames.
        frame_channels: channels of one time step (``cameras * 3``).
        capacity: online capacity.
        prior: the prior transitions with ``pixels`` and ``next_frame``
            (:func:`load_transitions` with ``pixels_shape``); None: none yet.
        fraction, seed, prior_capacity: as for :class:`MixedReplayBuffer`.
    """

    def __init__(self, obs_dim: int, act_dim: int, pixels_shape: tuple[int, int, int],
                 frame_channels: int, capacity: int, prior: dict[str, np.ndarray] | None,
                 fraction: float = 0.5, seed: int = 0, prior_capacity: int = 100_000) -> None:
        PixelReplayBuffer.__init__(self, obs_dim, act_dim, pixels_shape, frame_channels,
                                   capacity, seed)
        self._init_prior(prior, fraction, prior_capacity)

    def _empty_prior(self, capacity: int) -> ReplayBuffer:
        return PixelReplayBuffer(self.data["obs"].shape[1], self.data["action"].shape[1],
                                 self.pixels_shape, self.frame_channels, capacity)

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches: the first ``prior_count(B)`` rows of each from the prior data
        (frames included), the rest online; frames uint8 ``[k, B, C, H, W]``."""
        return self.to_pixel_batch(self._mixed(self, batch_size, k))


def resolve_prior_path(path: str, config_dir: Path | None) -> Path:
    """``path`` if absolute, else next to the config file, else relative to the working
    directory (where a resumed run's copied config looks for it)."""
    p = Path(path)
    if p.is_absolute():
        return p
    candidates = ([config_dir / p] if config_dir is not None else []) + [Path.cwd() / p]
    return next((c for c in candidates if c.is_file()), candidates[0])


def make_pixel_replay(cfg: LearnerConfig, obs_dim: int, act_dim: int,
                      pixels_shape: tuple[int, int, int], frame_channels: int, seed: int = 0,
                      config_dir: Path | None = None) -> PixelReplayBuffer:
    """:func:`make_replay` for a config with ``observation.images``: a replay of uint8
    frames, mixed with ``learner.prior_data`` (which then holds frames) where set.

    Raises:
        ConfigError: the prior-data file is missing, malformed or of other frames.
    """
    if cfg.prior_data is None:
        return PixelReplayBuffer(obs_dim, act_dim, pixels_shape, frame_channels,
                                 cfg.buffer_size, seed=seed)
    path = resolve_prior_path(cfg.prior_data, config_dir)
    prior = load_transitions(path, obs_dim, act_dim, pixels_shape, frame_channels)
    return PixelMixedReplayBuffer(obs_dim, act_dim, pixels_shape, frame_channels,
                                  cfg.buffer_size, prior, cfg.prior_fraction, seed=seed)


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
