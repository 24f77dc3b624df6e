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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robot_rl.aprl.config import AprlConfig
from robot_rl.errors import ConfigError

if TYPE_CHECKING:
    from robot_rl.config import RobotConfig

#: observation signals the dynamics model cannot predict (they jump by design)
UNSCORED_SIGNALS = ("previous_action", "target_delta")
#: keys of the section beyond the AprlConfig fields
EXTRA_KEYS = ("active", "range_factor", "surprise_signals")


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
    """Parse and check ``cfg.aprl`` against the robot; None when the config has no section.

    Raises:
        ConfigError: naming ``file``, the ``aprl.<key>`` and what was expected.
    """
    if cfg.aprl is None:
        return None
    data = dict(cfg.aprl)  # the loader checked it is a mapping
    active = data.pop("active", True)
    if not isinstance(active, bool):
        raise ConfigError(file, "aprl.active", f"expected true or false, got {active!r}")
    factor = data.pop("range_factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
        raise ConfigError(file, "aprl.range_factor", f"expected a number > 0, got {factor!r}")
    signals = data.pop("surprise_signals", None)
    if signals is not None and "surprise_dims" in data:
        raise ConfigError(file, "aprl.surprise_signals", "expected surprise_signals or "
                          "surprise_dims, not both")
    if signals is None and "surprise_dims" not in data:
        signals = [s for s in cfg.observation.signals if s not in UNSCORED_SIGNALS]
    if signals is not None:
        if not isinstance(signals, list | tuple) or not signals:
            raise ConfigError(file, "aprl.surprise_signals", "expected a non-empty list of "
                              "observation signal names")
        try:
            dims = signal_dims(cfg, signals)
        except ConfigError as err:
            raise ConfigError(file, err.key, err.expected) from None
        if not dims:
            raise ConfigError(file, "aprl.surprise_signals", "expected at least one scored "
                              "observation entry")
        data["surprise_dims"] = list(dims)
    from robot_rl.spaces import signal_size

    obs_dim = sum(signal_size(s, cfg) for s in cfg.observation.signals)
    known = sorted({f.name for f in dataclasses.fields(AprlConfig)} | set(EXTRA_KEYS))
    for key in data:
        if key not in known:
            raise ConfigError(file, f"aprl.{key}", f"unknown key; expected one of {known}")
    config = AprlConfig.from_dict(data, file, "aprl")
    config.check_robot(cfg.n_joints, obs_dim, file)
    return AprlSettings(active, float(factor), config)
