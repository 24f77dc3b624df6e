"""Per-step surprise of the dynamics model, normalized by the model's own recent error.

Two normalizations, both slow running statistics of the model's recent error::

    ratio_t = mean_d (pred_d - observed_d)^2 / (v_d + floor)   # v_d: EMA of dim d's sq. error
    z_t     = (log ratio_t - mu) / max(sigma, min_log_std)       # mu, sigma: EMA of log ratio

Per dimension, so a dimension the model predicts well is not drowned by one it predicts badly
(a change in a well-predicted joint still shows); in log space, because errors are positive,
multiplicative and heavy-tailed: there the spread is scale-free (``z = 4`` at ``sigma = 0.3``
means "3.3x the usual error" on any robot), the upper tail is light, and a genuine change
multiplies the error and stands out at once. The statistics move slowly (``stats_rate``) and
absorb at most ``stats_clip_z`` standard deviations per step, so a jump is seen at full size
when it happens, a sustained change keeps scoring high for a while (tens of seconds at 20 Hz,
unless the shipped model learns it first) and is then accepted as the new normal.

A shrink needs ``trigger_steps`` consecutive steps above the threshold (one-step spikes such
as foot impacts do not shrink), a warm monitor (``warmup_steps`` scored steps) and no cooldown
(``cooldown_steps`` after any shrink).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from robot_rl.aprl.config import AprlConfig


class SurpriseInfo(NamedTuple):
    """What the monitor saw this step (NaN fields: not available this step)."""

    mse: float  # mean squared prediction error, normalized delta units
    error: float  # per-dimension normalized error ratio (about 1 when nothing changed)
    surprise_z: float  # z-score of log error ratio (0 until two steps are scored)
    disagreement: float  # mean over dims of the ensemble variance (NaN with one member)
    disagreement_z: float  # z-score of log disagreement
    exceeded: bool  # above a threshold this step
    triggered: bool  # shrink now
    warm: bool  # past warm-up
    cooldown: int  # steps left in which no trigger is allowed


class LogEma:
    """EMA mean/variance of ``log(x + floor)`` with a plain average until ``1/rate`` samples."""

    def __init__(self, rate: float, floor: float, min_std: float, clip_z: float) -> None:
        self.rate, self.floor, self.min_std, self.clip_z = rate, floor, min_std, clip_z
        self.n, self.mean, self.var = 0, 0.0, 0.0

    @property
    def std(self) -> float:
        """Standard deviation of the log values, floored at ``min_std``."""
        return max(math.sqrt(self.var), self.min_std)

    def z(self, x: float) -> float:
        """Z-score of ``x`` against the current statistics (0 before two samples)."""
        return 0.0 if self.n < 2 else (math.log(x + self.floor) - self.mean) / self.std

    def update(self, x: float, clip: bool) -> None:
        """Absorb ``x``; with ``clip`` at most ``mean + clip_z * std`` (spikes count partly)."""
        v = math.log(x + self.floor)
        if clip and self.n >= 2:
            v = min(v, self.mean + self.clip_z * self.std)
        r = max(self.rate, 1.0 / (self.n + 1))
        d = v - self.mean
        self.mean += r * d
        self.var = (1.0 - r) * (self.var + r * d * d)
        self.n += 1

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python state."""
        return {"n": self.n, "mean": self.mean, "var": self.var}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.n, self.mean, self.var = int(state["n"]), float(state["mean"]), float(state["var"])


class SurpriseMonitor:
    """Scores each step's prediction and decides when surprise should shrink the limits."""

    def __init__(self, cfg: AprlConfig) -> None:
        self.cfg = cfg

        def ema() -> LogEma:
            return LogEma(cfg.stats_rate, cfg.error_floor, cfg.min_log_std, cfg.stats_clip_z)

        self.error_stats, self.disagreement_stats = ema(), ema()
        self.dim_sq: np.ndarray | None = None  # EMA of squared error per dimension
        self.cooldown = 0
        self.streak = 0  # consecutive steps above threshold
        self.n_triggers = 0
        self.n_invalid = 0  # steps skipped for non-finite numbers

    @property
    def warm(self) -> bool:
        """True once ``warmup_steps`` steps have been scored."""
        return self.error_stats.n >= self.cfg.warmup_steps

    def start_cooldown(self) -> None:
        """Block surprise triggers for ``cooldown_steps`` steps (called after any shrink)."""
        self.cooldown = self.cfg.cooldown_steps
        self.streak = 0

    def update(self, pred_mean: np.ndarray, pred_all: np.ndarray | None,
               observed: np.ndarray) -> SurpriseInfo:
        """Score one step.

        Args:
            pred_mean: ensemble-mean normalized delta ``[d]``.
            pred_all: member predictions ``[E, d]`` (None or E = 1: no disagreement).
            observed: observed normalized delta ``[d]``.
        """
        cfg = self.cfg
        blocked = self.cooldown > 0
        self.cooldown = max(0, self.cooldown - 1)
        with np.errstate(all="ignore"):
            sq = (np.asarray(pred_mean, np.float64) - np.asarray(observed, np.float64)) ** 2
            disagreement = math.nan
            if pred_all is not None and len(pred_all) > 1:
                disagreement = float(np.mean(np.var(np.asarray(pred_all), axis=0)))
        warm = self.warm
        if sq.size == 0 or not np.isfinite(sq).all():
            self.n_invalid += 1
            self.streak = 0
            return SurpriseInfo(math.nan, math.nan, math.nan, disagreement, math.nan, False,
                                False, warm, self.cooldown)
        if self.dim_sq is None or self.dim_sq.shape != sq.shape:
            self.dim_sq = sq.copy()  # first step (or new observation size): ratio ~ 1
        mse = float(np.mean(sq))
        error = float(np.mean(sq / (self.dim_sq + cfg.error_floor)))
        z = self.error_stats.z(error)
        exceeded = z > cfg.surprise_threshold
        dz = math.nan
        if math.isfinite(disagreement):
            dz = self.disagreement_stats.z(disagreement)
            exceeded |= cfg.use_disagreement and dz > cfg.disagreement_threshold
        self.streak = self.streak + 1 if (exceeded and warm) else 0
        triggered = warm and not blocked and self.streak >= cfg.trigger_steps
        if triggered:
            self.n_triggers += 1
            self.start_cooldown()
        self._update_dim_sq(sq, clip=warm)
        self.error_stats.update(error, clip=warm)
        if math.isfinite(disagreement):
            self.disagreement_stats.update(disagreement, clip=warm)
        return SurpriseInfo(mse, error, z, disagreement, dz, bool(exceeded), triggered, warm,
                            self.cooldown)

    def _update_dim_sq(self, sq: np.ndarray, clip: bool) -> None:
        assert self.dim_sq is not None
        if clip:  # absorb at most stats_clip_z "sigmas" of a dimension's error per step
            sq = np.minimum(sq, self.cfg.stats_clip_z**2 * (self.dim_sq + self.cfg.error_floor))
        r = max(self.cfg.stats_rate, 1.0 / (self.error_stats.n + 1))
        self.dim_sq += r * (sq - self.dim_sq)

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python state for checkpoints."""
        return {"error": self.error_stats.state_dict(),
                "dim_sq": None if self.dim_sq is None else [float(x) for x in self.dim_sq],
                "disagreement": self.disagreement_stats.state_dict(),
                "cooldown": self.cooldown, "streak": self.streak,
                "n_triggers": self.n_triggers, "n_invalid": self.n_invalid}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.error_stats.load_state_dict(state["error"])
        dim_sq = state["dim_sq"]
        self.dim_sq = None if dim_sq is None else np.array(dim_sq, dtype=np.float64)
        self.disagreement_stats.load_state_dict(state["disagreement"])
        self.cooldown, self.streak = int(state["cooldown"]), int(state["streak"])
        self.n_triggers, self.n_invalid = int(state["n_triggers"]), int(state["n_invalid"])
