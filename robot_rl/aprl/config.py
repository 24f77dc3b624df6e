"""Configuration of APRL adaptive joint limits and of the dynamics model that gates them.

A robot YAML overrides a few fields under ``aprl:``; :meth:`AprlConfig.from_dict` validates
that mapping and raises :class:`robot_rl.errors.ConfigError` naming file, key and expectation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from robot_rl.errors import ConfigError

Limit = float | tuple[float, ...]


@dataclass(frozen=True)
class DynamicsConfig:
    """The learned dynamics ensemble (trained on the learner, evaluated on the actor)."""

    ensemble_size: int = 5  # members; disagreement needs >= 2
    hidden: tuple[int, ...] = (256, 256)  # hidden widths (published: 256x256)
    lr: float = 3e-4  # Adam learning rate (published)
    weight_decay: float = 0.0  # Adam L2 weight decay
    batch_size: int = 256  # transitions per update (published)
    bootstrap: bool = True  # each member trains on its own resample of the batch
    updates_per_actor_update: int = 1  # model steps per SAC actor step (published: 1)
    std_floor: float = 1e-3  # lower bound on normalizer std (constant observation dims)


@dataclass(frozen=True)
class AprlConfig:
    """Adaptive limits on the normalized action, grown on a schedule, cut on surprise.

    Defaults are the published legged-robot settings where the paper has one; the surprise
    fields are ours (the paper's raw-MSE threshold does not transfer across robots).
    """

    enabled: bool = True  # False: fixed limit ``fixed_limit`` (baseline for comparison)
    action_mode: str = "clip"  # "clip": a clipped to [-L, L] (paper); "scale": a * L
    l_min: Limit = 0.35  # start and floor of L; scalar, per group or per joint
    l_max: Limit = 0.6  # end of the ramp; same shape rules as l_min
    ramp_steps: int = 30_000  # control steps from l_min to l_max (0: jump to l_max)
    shrink_factor: float = 0.5  # on shrink L <- max(l_min, shrink_factor * L)
    fixed_limit: Limit | None = None  # L when disabled; None means l_max
    groups: tuple[tuple[int, ...], ...] | None = None  # joint-index groups, each its own L
    shrink_on_fall: bool = True  # a fall shrinks L like a surprise does
    surprise_threshold: float = 4.0  # z-score of the log error ratio that counts as surprise
    use_disagreement: bool = False  # also trigger on ensemble disagreement
    disagreement_threshold: float = 4.0  # z-score of log disagreement
    stats_rate: float = 0.002  # EMA rate of the error statistics (~500 steps, 25 s at 20 Hz)
    stats_clip_z: float = 2.0  # stats absorb at most mean + stats_clip_z * std per step
    min_log_std: float = 0.1  # floor of the log-error std (deterministic systems)
    error_floor: float = 1e-3  # added to per-dim error scales (normalized units squared)
    warmup_steps: int = 200  # model steps that only fill the statistics, never trigger
    trigger_steps: int = 3  # consecutive steps above threshold needed to trigger
    cooldown_steps: int = 100  # steps after a shrink in which surprise cannot shrink again
    surprise_dims: tuple[int, ...] | None = None  # observation dims scored (None: all)
    penalty_coef: float = 12.0  # actor-loss penalty weight (published)
    penalty_form: str = "published"  # "published": coef*|a|_1 if outside; "hinge": smooth
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | None, file: str | None = None, key_prefix: str = "aprl"
    ) -> AprlConfig:
        """Build a validated config from a YAML mapping; missing keys keep their defaults.

        The mapping goes through the robot config loader
        (:func:`robot_rl.config.loader.from_dict`), which checks keys and types against the
        field annotations and then calls :meth:`validate`.

        Raises:
            ConfigError: unknown key, wrong type or out-of-range value.
        """
        from robot_rl.config.loader import from_dict

        return from_dict(cls, data, file, key_prefix)

    def validate(self, fail: Callable[[str, str], NoReturn]) -> None:
        """Check ranges and cross-field rules (the loader's hook; ``fail(key, expected)``
        raises a ConfigError with ``key`` relative to this section)."""
        if self.action_mode not in ("clip", "scale"):
            fail("action_mode", f"expected 'clip' or 'scale', got {self.action_mode!r}")
        if self.penalty_form not in ("published", "hinge"):
            fail("penalty_form", f"expected 'published' or 'hinge', got {self.penalty_form!r}")
        lo, hi = as_tuple(self.l_min), as_tuple(self.l_max)
        for name, vals in (("l_min", lo), ("l_max", hi), ("fixed_limit", self.fixed_limit)):
            if vals is None:
                continue
            if any(not 0.0 <= v <= 1.0 for v in as_tuple(vals)):
                fail(name, f"expected values in [0, 1], got {vals}")
        for name in ("l_min", "l_max", "fixed_limit"):
            if getattr(self, name) == ():
                fail(name, "expected a number or a non-empty list of numbers")
        if len(lo) > 1 and len(hi) > 1 and len(lo) != len(hi):
            fail("l_max", f"expected {len(lo)} values like l_min, got {len(hi)}")
        n = max(len(lo), len(hi))
        if any(a > b for a, b in zip(_broadcast(lo, n), _broadcast(hi, n), strict=False)):
            fail("l_max", f"expected l_min <= l_max, got l_min={self.l_min}, l_max={self.l_max}")
        if self.ramp_steps < 0:
            fail("ramp_steps", f"expected an integer >= 0, got {self.ramp_steps}")
        if not 0.0 < self.shrink_factor < 1.0:
            fail("shrink_factor", f"expected 0 < shrink_factor < 1, got {self.shrink_factor}")
        if self.groups is not None:
            flat = [j for g in self.groups for j in g]
            if not self.groups or any(len(g) == 0 for g in self.groups):
                fail("groups", "expected a non-empty list of non-empty lists of joint indices")
            if any(j < 0 for j in flat) or len(set(flat)) != len(flat):
                fail("groups", f"expected disjoint non-negative joint indices, got {self.groups}")
            for name, vals in (("l_min", lo), ("l_max", hi)):
                if len(vals) not in (1, len(self.groups)):
                    fail(name, f"expected a scalar or {len(self.groups)} values (one per group)")
        for name in ("surprise_threshold", "disagreement_threshold", "stats_clip_z"):
            if getattr(self, name) <= 0.0:
                fail(name, f"expected a value > 0, got {getattr(self, name)}")
        if not 0.0 < self.stats_rate <= 1.0:
            fail("stats_rate", f"expected 0 < stats_rate <= 1, got {self.stats_rate}")
        for name in ("min_log_std", "error_floor"):
            if getattr(self, name) <= 0.0:
                fail(name, f"expected a value > 0, got {getattr(self, name)}")
        for name in ("warmup_steps", "cooldown_steps"):
            if getattr(self, name) < 0:
                fail(name, f"expected an integer >= 0, got {getattr(self, name)}")
        if self.trigger_steps < 1:
            fail("trigger_steps", f"expected an integer >= 1, got {self.trigger_steps}")
        if self.surprise_dims is not None and (
            not self.surprise_dims or any(d < 0 for d in self.surprise_dims)
        ):
            fail("surprise_dims", "expected a non-empty list of observation indices >= 0")
        if self.penalty_coef < 0.0:
            fail("penalty_coef", f"expected a value >= 0, got {self.penalty_coef}")
        d = self.dynamics
        checks = (
            ("ensemble_size", d.ensemble_size >= 1, "an integer >= 1"),
            ("hidden", len(d.hidden) >= 1 and all(h >= 1 for h in d.hidden), "widths >= 1"),
            ("lr", d.lr > 0.0, "a value > 0"),
            ("weight_decay", d.weight_decay >= 0.0, "a value >= 0"),
            ("batch_size", d.batch_size >= 1, "an integer >= 1"),
            ("updates_per_actor_update", d.updates_per_actor_update >= 0, "an integer >= 0"),
            ("std_floor", d.std_floor > 0.0, "a value > 0"),
        )
        for name, ok, expected in checks:
            if not ok:
                fail(f"dynamics.{name}", f"expected {expected}, got {getattr(d, name)}")
        if self.use_disagreement and d.ensemble_size < 2:
            fail("use_disagreement", "expected dynamics.ensemble_size >= 2 for disagreement")

    def check_robot(self, n_joints: int, obs_dim: int | None = None,
                    file: str | None = None, key_prefix: str = "aprl") -> None:
        """Check the fields that depend on the robot (joint count, observation size).

        Raises:
            ConfigError: groups do not cover ``range(n_joints)`` exactly once, per-joint limits
                have the wrong length, or ``surprise_dims`` index past the observation.
        """
        if self.groups is not None:
            flat = sorted(j for g in self.groups for j in g)
            if flat != list(range(n_joints)):
                raise ConfigError(file, f"{key_prefix}.groups", f"expected every joint index "
                                  f"0..{n_joints - 1} exactly once, got {self.groups}")
        else:
            for name in ("l_min", "l_max", "fixed_limit"):
                vals = getattr(self, name)
                if vals is not None and len(as_tuple(vals)) not in (1, n_joints):
                    raise ConfigError(file, f"{key_prefix}.{name}", f"expected a scalar or "
                                      f"{n_joints} values (one per joint)")
        if self.groups is not None and self.fixed_limit is not None:
            if len(as_tuple(self.fixed_limit)) not in (1, len(self.groups)):
                raise ConfigError(file, f"{key_prefix}.fixed_limit", f"expected a scalar or "
                                  f"{len(self.groups)} values (one per group)")
        if obs_dim is not None and self.surprise_dims is not None:
            if max(self.surprise_dims) >= obs_dim:
                raise ConfigError(file, f"{key_prefix}.surprise_dims", f"expected indices "
                                  f"< obs_dim={obs_dim}, got {self.surprise_dims}")


def as_tuple(value: Limit) -> tuple[float, ...]:
    """A limit field as a tuple: one value (scalar) or one per group/joint."""
    return tuple(value) if isinstance(value, tuple) else (float(value),)


def _broadcast(values: tuple[float, ...], n: int) -> tuple[float, ...]:
    return values * n if len(values) == 1 else values
