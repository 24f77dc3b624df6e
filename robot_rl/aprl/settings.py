"""The ``aprl:`` section of a robot YAML: :class:`AprlConfig` plus how training applies it.

Beyond the fields of :class:`~robot_rl.aprl.config.AprlConfig` the section takes three keys
that only make sense next to a robot::

    aprl:
      active: true            # false: keep the section, train without APRL (default true)
      range_factor: 4.0       # the APRL action box is range_factor x robot.action_scale
      surprise_signals: [joint_position, joint_velocity]   # scored observation signals
      l_min: 0.25             # ... and any AprlConfig field

With ``range_factor: 4`` and ``l_min: 0.25`` the starting box is exactly ``action_scale``;
targets beyond the hard joint limits are clamped. ``surprise_signals`` names observation
signals instead of indices (``surprise_dims``); with neither, every signal but the ones that
jump by design (``previous_action``, ``target_delta``) is scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from robot_rl.aprl.config import AprlConfig
from robot_rl.errors import ConfigError

if TYPE_CHECKING:
    from robot_rl.config import RobotConfig

#: observation signals the dynamics model cannot predict (they jump by design)
UNSCORED_SIGNALS = ("previous_action", "target_delta")
#: keys of the section beyond the AprlConfig fields
EXTRA_KEYS = ("active", "range_factor", "surprise_signals")


@dataclass(frozen=True)
class AprlSection(AprlConfig):
    """The ``aprl:`` section as written in a robot YAML: every :class:`AprlConfig` field plus
    the three keys that need the robot. The config loader types and validates it like every
    other section; :func:`aprl_settings` then checks it against the robot."""

    active: bool = True  # false: keep the section, train without APRL
    range_factor: float = 1.0  # the APRL action box is range_factor x robot.action_scale
    surprise_signals: tuple[str, ...] | None = None  # scored observation signals (by name)

    def validate(self, fail: Callable[[str, str], NoReturn]) -> None:
        super().validate(fail)
        if not self.range_factor > 0:
            fail("range_factor", f"expected a number > 0, got {self.range_factor}")
        if self.surprise_signals is not None:
            if self.surprise_dims is not None:
                fail("surprise_signals", "expected surprise_signals or surprise_dims, not both")
            if not self.surprise_signals:
                fail("surprise_signals", "expected a non-empty list of observation signal "
                     "names")

    def aprl_config(self, surprise_dims: tuple[int, ...] | None) -> AprlConfig:
        """The plain :class:`AprlConfig` of this section with ``surprise_dims`` resolved."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(AprlConfig)}
        return AprlConfig(**{**fields, "surprise_dims": surprise_dims})


@dataclass(frozen=True)
class AprlSettings:
    """A validated ``aprl:`` section."""

    active: bool  # train with APRL at all
    range_factor: float  # action box = range_factor * robot.action_scale
    config: AprlConfig  # limits, surprise monitor, penalty and dynamics model


def signal_dims(cfg: RobotConfig, names: list[str] | tuple[str, ...]) -> tuple[int, ...]:
    """Observation indices of the named signals, in observation order.

    Raises:
        ConfigError: a name is not one of ``observation.signals``.
    """
    from robot_rl.spaces import signal_size  # lazily: robot_rl.config imports this

    starts, at = {}, 0
    for name in cfg.observation.signals:
        starts[name] = (at, signal_size(name, cfg))
        at += starts[name][1]
    for name in names:
        if name not in starts:
            raise ConfigError(cfg.source, "aprl.surprise_signals", f"expected names from "
                              f"observation.signals {list(starts)}, got {name!r}")
    return tuple(i for name in cfg.observation.signals if name in names
                 for i in range(starts[name][0], sum(starts[name])))


def aprl_settings(cfg: RobotConfig, file: str | None = None) -> AprlSettings | None:
    """Check ``cfg.aprl`` against the robot; None when the config has no section.

    ``cfg.aprl`` is an :class:`AprlSection` (the loader built and validated it); a plain
    mapping (a config built in code) goes through the same loader first.

    Raises:
        ConfigError: naming ``file``, the ``aprl.<key>`` and what was expected.
    """
    section = cfg.aprl
    if section is None:
        return None
    if not isinstance(section, AprlSection):
        section = AprlSection.from_dict(section, file, "aprl")
    assert isinstance(section, AprlSection)
    signals = section.surprise_signals
    dims = section.surprise_dims
    if signals is None and dims is None:
        signals = tuple(s for s in cfg.observation.signals if s not in UNSCORED_SIGNALS)
    if signals is not None:
        try:
            dims = signal_dims(cfg, signals)
        except ConfigError as err:
            raise ConfigError(file, err.key, err.expected) from None
        if not dims:
            raise ConfigError(file, "aprl.surprise_signals", "expected at least one scored "
                              "observation entry")
    from robot_rl.spaces import signal_size

    obs_dim = sum(signal_size(s, cfg) for s in cfg.observation.signals)
    config = section.aprl_config(dims)
    config.check_robot(cfg.n_joints, obs_dim, file)
    return AprlSettings(section.active, float(section.range_factor), config)
