"""A library of named reward terms: pure functions of a signals mapping.

A task's reward is the weighted sum of its terms. Every term reads only state signals (and the
task's own params, which shadow signals of the same name), so a stored transition can be
re-scored for every task of the graph. YAML form, one list entry per term::

    reward:
      - {term: forward_velocity, weight: 10.0, low: 0.5, high: 1.0, margin: 1.0}
      - {term: yaw_rate, weight: 1.0}

NaN in a signal gives a NaN term (never a silent 0): the safety filter is the place that keeps
NaN states out of the replay buffer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from robot_rl.taskgraph import _checks
from robot_rl.taskgraph._checks import Where
from robot_rl.taskgraph.signal_names import NON_STATE_SIGNALS

Signals = Mapping[str, float]


def tolerance(x: float, low: float, high: float, margin: float) -> float:
    """1 inside ``[low, high]``, falling linearly to 0 at ``margin`` outside; NaN stays NaN.

    The dm_control ``rewards.tolerance`` with ``sigmoid='linear'``, ``value_at_margin=0``, as
    used by "A Walk in the Park". ``margin == 0`` gives a 0/1 indicator.
    """
    if x != x:
        return math.nan
    if low <= x <= high:
        return 1.0
    if margin <= 0.0:
        return 0.0
    distance = (low - x) if x < low else (x - high)
    return max(0.0, 1.0 - distance / margin)


@dataclass(frozen=True)
class Param:
    """One parameter of a term: a number (``default`` None = required) or an expression."""

    doc: str
    default: float | None = None
    minimum: float | None = None
    kind: str = "number"


def _band(**defaults: float) -> dict[str, Param]:
    return {
        "low": Param("lower end of the band where the term is 1", defaults.get("low")),
        "high": Param("upper end of the band", defaults.get("high")),
        "margin": Param("distance outside the band where the term reaches 0",
                        defaults.get("margin"), minimum=0.0),
    }


def _check_band(params: Mapping[str, Any]) -> tuple[str, str] | None:
    if params["low"] > params["high"]:
        return "high", f"expected high >= low ({params['low']:g}), got {params['high']:g}"
    return None


@dataclass(frozen=True)
class TermDef:
    """A named reward term of the library.

    Attributes:
        name: The ``term:`` value in YAML.
        fn: ``fn(signals, params) -> float``, pure.
        signals: Signals the term reads (expression params add theirs).
        params: Parameters the YAML may (or, without default, must) give.
        doc: One line for the docs table.
        check: Cross-parameter check returning ``(param, message)`` on a mistake.
    """

    name: str
    fn: Callable[[Signals, Mapping[str, Any]], float]
    signals: frozenset[str]
    doc: str
    params: Mapping[str, Param] = field(default_factory=dict)
    check: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None


REWARD_TERMS: dict[str, TermDef] = {}
"""The registry: term name -> definition."""


def register_term(term: TermDef) -> TermDef:
    """Adds ``term`` to :data:`REWARD_TERMS`; refuses a name already taken."""
    if term.name in REWARD_TERMS:
        raise ValueError(f"reward term {term.name!r} is already registered")
    REWARD_TERMS[term.name] = term
    return term


def _ee_distance(s: Signals) -> float:
    return math.hypot(s["ee_x"] - s["target_x"], s["ee_y"] - s["target_y"],
                      s["ee_z"] - s["target_z"])


_EE = frozenset({"ee_x", "ee_y", "ee_z", "target_x", "target_y", "target_z"})

for _term in (
    TermDef("forward_velocity",
            lambda s, p: tolerance(s["forward_velocity"], p["low"], p["high"], p["margin"]),
            frozenset({"forward_velocity"}),
            "tolerance(forward_velocity, [low, high], margin): Walk-in-the-Park speed term",
            _band(low=0.5, high=1.0, margin=1.0), _check_band),
    TermDef("backward_velocity",
            lambda s, p: tolerance(-s["forward_velocity"], p["low"], p["high"], p["margin"]),
            frozenset({"forward_velocity"}),
            "tolerance(-forward_velocity, [low, high], margin): walking backwards",
            _band(low=0.5, high=1.0, margin=1.0), _check_band),
    TermDef("yaw_rate", lambda s, p: -abs(s["yaw_rate"]), frozenset({"yaw_rate"}),
            "-|yaw_rate|: keep the heading (Walk in the Park uses weight 0.1 x 10)"),
    TermDef("turn_rate",
            lambda s, p: tolerance(s["yaw_rate"], p["low"], p["high"], p["margin"]),
            frozenset({"yaw_rate"}),
            "tolerance(yaw_rate, [low, high], margin): turn left (negative band: right)",
            _band(low=0.5, high=1.0, margin=0.5), _check_band),
    TermDef("upright", lambda s, p: s["upright"], frozenset({"upright"}),
            "upright (z of the body up axis): 1 upright, -1 upside down"),
    TermDef("base_height",
            lambda s, p: tolerance(s["base_height"], p["low"], p["high"], p["margin"]),
            frozenset({"base_height"}),
            "tolerance(base_height, [low, high], margin): stand at a height",
            _band(margin=0.1), _check_band),
    TermDef("ee_distance_to_target", lambda s, p: -_ee_distance(s), _EE,
            "-|ee - target| from ee_x..z and target_x..z (the task's own params)"),
    TermDef("ee_near_target",
            lambda s, p: tolerance(_ee_distance(s), 0.0, p["radius"], p["margin"]), _EE,
            "tolerance(|ee - target|, [0, radius], margin)",
            {"radius": Param("distance counted as on target, m", 0.02, minimum=0.0),
             "margin": Param("distance beyond radius where the term reaches 0, m", 0.2,
                             minimum=0.0)}),
    TermDef("joint_velocity", lambda s, p: -s["joint_velocity_norm"],
            frozenset({"joint_velocity_norm"}), "-joint_velocity_norm: move smoothly"),
    TermDef("constant", lambda s, p: p["value"], frozenset(),
            "a constant per step, e.g. an alive bonus", {"value": Param("the value", 1.0)}),
    TermDef("expression", lambda s, p: p["expr"].evaluate(s), frozenset(),
            "any numeric expression of the predicate grammar, e.g. '-abs(base_vy)'",
            {"expr": Param("the expression", kind="expression")}),
):
    register_term(_term)


@dataclass(frozen=True)
class RewardTerm:
    """A term of a task, bound to its weight and validated params.

    Attributes:
        term: Name in :data:`REWARD_TERMS`.
        weight: Multiplies the term's value.
        params: Parameter values (numbers, or :class:`Expression` for expression params).
        signals: Every signal the term reads.
    """

    term: str
    weight: float
    params: Mapping[str, Any]
    signals: frozenset[str]

    def __call__(self, signals: Signals) -> float:
        """The weighted value of the term for ``signals``."""
        return self.weight * float(REWARD_TERMS[self.term].fn(signals, self.params))


def parse_reward_term(data: Any, where: Where, known_signals: Iterable[str]) -> RewardTerm:
    """Validates one YAML reward entry ``{term: NAME, weight: W, **params}``.

    Args:
        data: The YAML value.
        where: File and key path of the entry, for errors.
        known_signals: Signals available to the task (sim signals and the task's params).

    Raises:
        ConfigError: Unknown term or param, bad value, or a signal that is unknown or not a
            function of the state.
    """
    if not isinstance(data, Mapping) or "term" not in data:
        raise where.error("expected a mapping such as {term: upright, weight: 1.0}, "
                          f"got {_checks.describe(data)}")
    name = _checks.text(data["term"], where / "term")
    if name not in REWARD_TERMS:
        raise (where / "term").error(f"unknown reward term {name!r}; expected one of "
                                     f"{', '.join(sorted(REWARD_TERMS))}"
                                     f"{_checks.suggest(name, REWARD_TERMS)}")
    definition = REWARD_TERMS[name]
    _checks.mapping(data, where, ("term", "weight", *definition.params))
    weight = _checks.number(data.get("weight", 1.0), where / "weight")
    known = frozenset(known_signals)
    params: dict[str, Any] = {}
    signals = set(definition.signals)
    for key, spec in definition.params.items():
        if key not in data and spec.default is None and spec.kind == "number":
            raise (where / key).error(f"required parameter of {name} is missing: {spec.doc}")
        if spec.kind == "expression":
            if key not in data:
                raise (where / key).error(f"required parameter of {name} is missing: "
                                          "an expression such as '-abs(base_vy)'")
            params[key] = expr = _checks.expression(data[key], where / key, known)
            history = sorted(expr.signals & NON_STATE_SIGNALS)
            if history:
                raise (where / key).error(
                    f"reward terms must be functions of the state, but {', '.join(history)} "
                    "depends on the task history (rewards are recomputed for every task)")
            signals |= expr.signals
        else:
            params[key] = _checks.number(data.get(key, spec.default), where / key, spec.minimum)
    problem = definition.check(params) if definition.check else None
    if problem:
        raise (where / problem[0]).error(problem[1])
    missing = sorted(signals - known)
    if missing:
        raise (where / "term").error(f"{name} needs signals this robot does not provide: "
                                     f"{', '.join(missing)}")
    return RewardTerm(name, weight, MappingProxyType(params), frozenset(signals))

