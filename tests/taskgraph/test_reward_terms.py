"""Reward-term library: values against the plain formulas, parameter validation."""

from __future__ import annotations

import math

import pytest

from robot_rl.errors import ConfigError
from robot_rl.taskgraph._checks import Where
from robot_rl.taskgraph.reward_terms import (
    REWARD_TERMS,
    TermDef,
    parse_reward_term,
    register_term,
    tolerance,
)
from robot_rl.taskgraph.signal_names import A1_SIGNALS, PANDA_SIGNALS, SCHEDULER_SIGNALS

WHERE = Where("a1.yaml", "task_graph.tasks.walk.reward[0]")
A1 = A1_SIGNALS | SCHEDULER_SIGNALS


def term(data: dict, known=A1):  # noqa: ANN001, ANN201
    return parse_reward_term(data, WHERE, known)


@pytest.mark.parametrize("x, expected", [
    (0.5, 1.0), (0.75, 1.0), (1.0, 1.0),     # inside the band
    (0.0, 0.5), (1.5, 0.5),                  # half a margin outside
    (-0.5, 0.0), (2.0, 0.0), (-9.0, 0.0),    # a margin or more outside
])
def test_tolerance_matches_walk_in_the_park(x: float, expected: float) -> None:
    assert tolerance(x, 0.5, 1.0, 1.0) == pytest.approx(expected)


def test_tolerance_edge_cases() -> None:
    assert tolerance(0.4, 0.5, 1.0, 0.0) == 0.0
    assert tolerance(0.5, 0.5, 1.0, 0.0) == 1.0
    assert math.isnan(tolerance(math.nan, 0.5, 1.0, 1.0))


def test_walk_in_the_park_reward_from_two_terms() -> None:
    speed = term({"term": "forward_velocity", "weight": 10.0})
    heading = term({"term": "yaw_rate", "weight": 1.0})
    s = {"forward_velocity": 0.25, "yaw_rate": -0.3}
    expected = 10.0 * (tolerance(0.25, 0.5, 1.0, 1.0) - 0.1 * abs(-0.3))
    assert speed(s) + heading(s) == pytest.approx(expected)
    assert speed.params == {"low": 0.5, "high": 1.0, "margin": 1.0}


@pytest.mark.parametrize("data, signals, expected", [
    ({"term": "backward_velocity"}, {"forward_velocity": -0.7}, 1.0),
    ({"term": "backward_velocity"}, {"forward_velocity": 0.7}, 0.0),
    ({"term": "turn_rate", "low": -1.0, "high": -0.5}, {"yaw_rate": -0.75}, 1.0),
    ({"term": "turn_rate"}, {"yaw_rate": 0.25}, 0.5),
    ({"term": "upright", "weight": 2.0}, {"upright": 0.5}, 1.0),
    ({"term": "base_height", "low": 0.25, "high": 0.3}, {"base_height": 0.2}, 0.5),
    ({"term": "constant", "value": 0.5, "weight": 2.0}, {}, 1.0),
    ({"term": "expression", "expr": "-abs(base_vy) * 2"}, {"base_vy": 0.25}, -0.5),
])
def test_a1_terms(data: dict, signals: dict, expected: float) -> None:
    assert term(data)(signals) == pytest.approx(expected)


def test_panda_terms_read_the_target_from_signals() -> None:
    s = {"ee_x": 0.5, "ee_y": 0.2, "ee_z": 0.33, "target_x": 0.5, "target_y": 0.2,
         "target_z": 0.3, "joint_velocity_norm": 2.0}
    known = PANDA_SIGNALS
    assert term({"term": "ee_distance_to_target"}, known)(s) == pytest.approx(-0.03)
    near = term({"term": "ee_near_target", "radius": 0.02, "margin": 0.02}, known)
    assert near(s) == pytest.approx(0.5)
    assert term({"term": "joint_velocity", "weight": 0.01}, known)(s) == pytest.approx(-0.02)


def test_signals_of_a_term_include_its_expression() -> None:
    t = term({"term": "expression", "expr": "upright - abs(roll)"})
    assert t.signals == frozenset({"upright", "roll"})
    assert term({"term": "forward_velocity"}).signals == frozenset({"forward_velocity"})


@pytest.mark.parametrize("data, key, fragment", [
    ({"term": "forward_velocty"}, ".term", "did you mean 'forward_velocity'"),
    ({"weight": 1.0}, "reward[0]", "expected a mapping such as"),
    ("upright", "reward[0]", "expected a mapping such as"),
    ({"term": "upright", "wieght": 1.0}, ".wieght", "unknown key"),
    ({"term": "upright", "weight": True}, ".weight", "expected a number"),
    ({"term": "upright", "weight": "1"}, ".weight", "expected a number"),
    ({"term": "upright", "weight": math.inf}, ".weight", "finite"),
    ({"term": "base_height"}, ".low", "required parameter of base_height"),
    ({"term": "forward_velocity", "low": 1.0, "high": 0.5}, ".high", "high >= low"),
    ({"term": "forward_velocity", "margin": -1.0}, ".margin", ">= 0"),
    ({"term": "expression"}, ".expr", "required parameter"),
    ({"term": "expression", "expr": "roll >"}, ".expr", "bad expression: column 7"),
    ({"term": "expression", "expr": "roll > 1"}, ".expr", "expected a number"),
    ({"term": "expression", "expr": "__import__('os')"}, ".expr", "bad expression"),
    ({"term": "expression", "expr": "-task_steps"}, ".expr", "functions of the state"),
    ({"term": "expression", "expr": "time_in_task"}, ".expr", "functions of the state"),
    ({"term": "expression", "expr": "ee_x"}, ".expr", "unknown signal 'ee_x'"),
    ({"term": "ee_distance_to_target"}, ".term", "needs signals this robot does not provide"),
    ({"term": 3}, ".term", "expected text"),
])
def test_bad_terms_are_refused_naming_the_key(data: object, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        term(data)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("a1.yaml: task_graph.tasks.walk.reward[0]")
    assert info.value.key.endswith(key), message
    assert fragment in message, message


def test_register_term_refuses_duplicates_and_adds_new_terms() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_term(REWARD_TERMS["upright"])
    custom = TermDef("test_double_roll", lambda s, p: 2.0 * s["roll"], frozenset({"roll"}),
                     "test only")
    register_term(custom)
    try:
        assert term({"term": "test_double_roll"})({"roll": 0.25}) == 0.5
    finally:
        del REWARD_TERMS["test_double_roll"]


def test_every_term_documents_itself() -> None:
    for name, definition in REWARD_TERMS.items():
        assert definition.name == name and definition.doc
        for param in definition.params.values():
            assert param.doc
