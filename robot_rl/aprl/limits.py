"""Adaptive limit L on the normalized action and the pure map from actions to joint targets.

Usage on the actor, once per control step::

    limits = AdaptiveLimits(cfg, n_joints=12)
    box = JointBox.create(nominal, half_range, lower, upper)
    while running:
        a = policy(obs)                                   # normalized, in [-1, 1]
        q_target = map_action(a, limits.L, *box, mode=cfg.action_mode)
        ...                                               # safety filter, send, observe
        if surprised or fell:
            limits.shrink("surprise" or "fall")           # L <- max(l_min, 0.5 L), ramp restarts
        limits.step()                                     # ramp advances one control step

Ramp rule: L rises linearly at the slope ``(l_max - l_min) / ramp_steps`` per control step from
wherever it last restarted (``l_min`` at the start, ``max(l_min, shrink_factor * L)`` after a
shrink) and stays at ``l_max``. Keeping the slope, rather than re-spreading the remaining gap
over ``ramp_steps``, makes the time to regain a given L independent of how deep the cut was.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import numpy as np

from robot_rl.aprl.config import AprlConfig, as_tuple

_STATE_FORMAT = "robot_rl.aprl.limits/1"


class ShrinkEvent(NamedTuple):
    """One cut of L: when (control steps since start), why, and L per group before/after."""

    step: int
    reason: str
    before: tuple[float, ...]
    after: tuple[float, ...]


class JointBox(NamedTuple):
    """Per-joint arrays: nominal pose, half range at ``|a| = 1``, hard lower/upper limits."""

    nominal: np.ndarray
    half_range: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def create(cls, nominal: Any, half_range: Any, lower: Any, upper: Any) -> JointBox:
        """Validate and convert to float64 arrays of one shape.

        Raises:
            ValueError: shapes differ, a value is not finite, ``half_range < 0`` or
                ``lower > upper``.
        """
        arrays = [np.array(x, dtype=np.float64).reshape(-1) for x in
                  (nominal, half_range, lower, upper)]
        if len({a.shape for a in arrays}) != 1:
            raise ValueError(f"joint arrays differ in shape: {[a.shape for a in arrays]}")
        if not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("joint arrays must be finite")
        if (arrays[1] < 0).any() or (arrays[2] > arrays[3]).any():
            raise ValueError("expected half_range >= 0 and lower <= upper")
        return cls(*arrays)


def effective_action(a: np.ndarray, L: np.ndarray | float, mode: str = "clip") -> np.ndarray:
    """The normalized joint offset that is actually applied, in [-1, 1].

    Non-finite entries of ``a`` count as 0 (nominal pose); ``a`` is clipped to [-1, 1]; ``L`` is
    clipped to [0, 1] (non-finite L counts as 0). ``"clip"`` (paper) returns ``clip(a, -L, L)``,
    ``"scale"`` returns ``L * a``. This is what the dynamics model should be fed.
    """
    a = np.asarray(a, dtype=np.float64)
    a = np.clip(np.where(np.isfinite(a), a, 0.0), -1.0, 1.0)
    L = np.asarray(L, dtype=np.float64)
    L = np.clip(np.where(np.isfinite(L), L, 0.0), 0.0, 1.0)
    if mode == "clip":
        return np.clip(a, -L, L)
    if mode == "scale":
        return L * a
    raise ValueError(f"mode must be 'clip' or 'scale', got {mode!r}")


def map_action(
    a: np.ndarray,
    L: np.ndarray | float,
    nominal: np.ndarray,
    half_range: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    mode: str = "clip",
) -> np.ndarray:
    """Joint targets ``nominal + effective_action(a, L) * half_range`` clamped to hard limits.

    Never returns a value outside ``[lower, upper]``, whatever ``a`` and ``L`` hold: a NaN or
    infinite action entry gives the nominal pose (clamped); should the target still be
    non-finite (a non-finite nominal or range), the midpoint of the hard limits is used. The
    caller's safety filter still decides whether to hold instead.

    Raises:
        ValueError: ``lower``/``upper`` not finite or ``lower > upper``.
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    if not (np.isfinite(lower).all() and np.isfinite(upper).all()) or (lower > upper).any():
        raise ValueError("hard joint limits must be finite with lower <= upper")
    nominal = np.asarray(nominal, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        target = nominal + effective_action(a, L, mode) * np.asarray(half_range, np.float64)
        target = np.where(np.isfinite(target), target, nominal)
        target = np.where(np.isfinite(target), target, 0.5 * (lower + upper))
    return np.clip(target, lower, upper)


class AdaptiveLimits:
    """The limit L per joint: a linear ramp from ``l_min`` to ``l_max``, cut on :meth:`shrink`.

    Joints share L within a group (``cfg.groups``; per joint when ``l_min``/``l_max`` list one
    value per joint; otherwise one group). When ``cfg.enabled`` is False, L is fixed at
    ``cfg.fixed_limit`` (default ``l_max``) and :meth:`shrink` does nothing.
    """

    def __init__(self, cfg: AprlConfig, n_joints: int, max_events: int = 1000) -> None:
        cfg.check_robot(n_joints)
        self.cfg = cfg
        self.n_joints = n_joints
        sizes = [len(as_tuple(v)) for v in (cfg.l_min, cfg.l_max, cfg.fixed_limit)
                 if v is not None]
        if cfg.groups is not None:
            groups = [list(g) for g in cfg.groups]
        elif max(sizes) == n_joints > 1:
            groups = [[j] for j in range(n_joints)]
        else:
            groups = [list(range(n_joints))]
        self.group_of = np.empty(n_joints, dtype=np.int64)
        for g, joints in enumerate(groups):
            self.group_of[joints] = g
        n_groups = len(groups)
        self._lmin = np.broadcast_to(np.array(as_tuple(cfg.l_min)), (n_groups,)).copy()
        self._lmax = np.broadcast_to(np.array(as_tuple(cfg.l_max)), (n_groups,)).copy()
        fixed = cfg.l_max if cfg.fixed_limit is None else cfg.fixed_limit
        self._fixed = np.broadcast_to(np.array(as_tuple(fixed)), (n_groups,)).copy()
        self._start = self._lmin.copy()
        self._k = 0  # control steps since the ramp (re)started
        self.step_count = 0
        self.n_shrinks = 0
        self.events: deque[ShrinkEvent] = deque(maxlen=max_events)

    @property
    def n_groups(self) -> int:
        """Number of joint groups, each with its own L."""
        return len(self._lmin)

    @property
    def group_L(self) -> np.ndarray:
        """Current L per group (a fresh array)."""
        if not self.cfg.enabled:
            return self._fixed.copy()
        n = self.cfg.ramp_steps
        if self._k >= n:  # start >= l_min, so the ramp has arrived: exactly l_max
            return self._lmax.copy()
        slope = (self._lmax - self._lmin) / n
        return np.minimum(self._lmax, self._start + slope * self._k)

    @property
    def L(self) -> np.ndarray:
        """Current L per joint, shape ``(n_joints,)``."""
        return self.group_L[self.group_of]

    def step(self) -> np.ndarray:
        """Advance the ramp by one control step; returns the new per-joint L."""
        self.step_count += 1
        if self.cfg.enabled:
            self._k += 1
        return self.L

    def shrink(self, reason: str) -> ShrinkEvent | None:
        """Cut L to ``max(l_min, shrink_factor * L)`` per group and restart the ramp there.

        Returns:
            The recorded event, or None when adaptive limits are disabled.
        """
        if not self.cfg.enabled:
            return None
        before = self.group_L
        after = np.maximum(self._lmin, self.cfg.shrink_factor * before)
        self._start, self._k = after, 0
        self.n_shrinks += 1
        event = ShrinkEvent(self.step_count, reason, tuple(map(float, before)),
                            tuple(map(float, after)))
        self.events.append(event)
        return event

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python state (JSON/msgpack friendly) for checkpoints and shipping."""
        return {
            "format": _STATE_FORMAT,
            "step_count": self.step_count,
            "ramp_k": self._k,
            "ramp_start": [float(x) for x in self._start],
            "n_shrinks": self.n_shrinks,
            "events": [[e.step, e.reason, list(e.before), list(e.after)] for e in self.events],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`.

        Raises:
            ValueError: wrong format or a different number of groups.
        """
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"expected {_STATE_FORMAT!r} state, got {state.get('format')!r}")
        start = np.array(state["ramp_start"], dtype=np.float64)
        if start.shape != (self.n_groups,):
            raise ValueError(f"state has {start.size} groups, limits have {self.n_groups}")
        self._start, self._k = start, int(state["ramp_k"])
        self.step_count, self.n_shrinks = int(state["step_count"]), int(state["n_shrinks"])
        self.events.clear()
        for step, reason, before, after in state["events"]:
            self.events.append(ShrinkEvent(int(step), str(reason), tuple(before), tuple(after)))
