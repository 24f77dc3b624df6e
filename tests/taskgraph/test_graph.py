"""Task-graph parsing: a valid graph, and every kind of mistake refused with its key path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from robot_rl.errors import ConfigError
from robot_rl.taskgraph.graph import Candidate, TaskGraphSpec, parse_task_graph

KNOWN = {"x", "y", "fallen", "upright"}
FILE = "robot_configs/test.yaml"


def base() -> dict[str, Any]:
    return {
        "start": "stand",
        "fall": "fallen > 0.5",
        "tasks": {
            "stand": {"can_fall": False, "reward": [{"term": "upright"}],
                      "success": "upright > 0.9", "success_hold_steps": 3,
                      "timeout_steps": 5},
            "walk": {"reward": [{"term": "expression", "expr": "x", "weight": 2.0}],
                     "timeout_steps": 10},
        },
        "edges": [
            {"from": "stand", "event": "success", "to": "walk"},
            {"from": "stand", "event": "timeout", "to": "stand"},
            {"from": "walk", "event": ["timeout", "failure"], "to": "stand"},
        ],
    }


def parse(data: Any, known: set[str] = KNOWN) -> TaskGraphSpec:
    return parse_task_graph(data, FILE, known)


def test_valid_graph() -> None:
    spec = parse(base())
    assert spec.task_names == ("stand", "walk")
    assert spec.start == spec.fallback == "stand"
    assert spec.mode == "reset_free" and spec.relabel is True
    assert spec.fall is not None and spec.fall.signals == {"fallen"}
    stand, walk = spec.tasks
    assert stand.can_fall is False and walk.can_fall is True
    assert stand.events == {"success", "timeout"}
    assert walk.events == {"failure", "timeout"}
    assert stand.success_hold_steps == 3 and walk.timeout_steps == 10
    assert walk.reward[0].weight == 2.0
    # One edge listing two events expands to one edge per event.
    assert spec.edge("walk", "failure").to == (Candidate("stand"),)
    assert spec.edge("walk", "timeout").to == (Candidate("stand"),)
    assert spec.edge("walk", "success") is None
    assert spec.index("walk") == 1
    with pytest.raises(KeyError):
        spec.index("run")


def test_optional_keys_guards_params_and_yaml_booleans() -> None:
    data = base()
    data.update(mode="episodic", relabel=False, fallback="walk")
    data["tasks"]["walk"].update(description="walk", params={"goal": 3},
                                 failure="x > goal", timeout="y < -1")
    data["edges"][0] = {"from": "stand", "event": "success", "choose": "random",
                        "to": [{"task": "walk", "guard": "x > 0"}, {"task": "stand"}]}
    data["edges"].append({"from": "walk", "event": "success", "to": "stand"})
    data["tasks"]["walk"]["success"] = True          # YAML true is the constant predicate
    spec = parse(data)
    walk = spec.tasks[1]
    assert dict(walk.params) == {"goal": 3.0}
    assert walk.failure.signals == {"x", "goal"}
    assert walk.success.evaluate({}) is True
    edge = spec.edge("stand", "success")
    assert edge.choose == "random" and edge.to[0].guard.text == "x > 0"


def test_episodic_mode_does_not_need_every_edge() -> None:
    data = base()
    data["mode"] = "episodic"
    data["edges"] = [{"from": "stand", "event": "success", "to": "walk"}]
    assert parse(data).edge("walk", "failure") is None


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[int(last) if isinstance(node, list) else last]
    return mutate


def _chain(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)
    return mutate


def _add_task(name: str, **fields: Any) -> Mutation:
    return lambda data: data["tasks"].__setitem__(name, {"reward": [{"term": "upright"}],
                                                         **fields})


def _add_edge(**edge: Any) -> Mutation:
    return lambda data: data["edges"].append(edge)


MISTAKES: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation, key, fragment of the message)
    ("graph not a mapping", lambda d: ["stand"], "task_graph", "expected a mapping"),
    ("unknown top key", _set("sart", "stand"), "task_graph.sart", "did you mean 'start'"),
    ("missing start", _delete("start"), "task_graph.start", "required key is missing"),
    ("unknown start", _set("start", "stnd"), "task_graph.start", "unknown task 'stnd'"),
    ("unknown fallback", _set("fallback", "run"), "task_graph.fallback", "unknown task"),
    ("bad mode", _set("mode", "resetfree"), "task_graph.mode", "reset_free, episodic"),
    ("relabel not bool", _set("relabel", "yes"), "task_graph.relabel", "true or false"),
    ("fall syntax", _set("fall", "fallen >"), "task_graph.fall", "bad predicate: column 9"),
    ("tasks empty", _set("tasks", {}), "task_graph.tasks", "at least one task"),
    ("tasks a list", _set("tasks", ["stand"]), "task_graph.tasks", "expected a mapping"),
    ("bad task name", _add_task("Run"), "task_graph.tasks.Run", "lowercase"),
    ("unknown task key", _set("tasks/walk/sucess", "x > 1"), "task_graph.tasks.walk.sucess",
     "did you mean 'success'"),
    ("missing reward", _delete("tasks/walk/reward"), "task_graph.tasks.walk.reward",
     "required key"),
    ("empty reward", _set("tasks/walk/reward", []), "task_graph.tasks.walk.reward",
     "non-empty list"),
    ("unknown reward term", _set("tasks/walk/reward", [{"term": "speed"}]),
     "task_graph.tasks.walk.reward[0].term", "unknown reward term 'speed'"),
    ("bad term param", _set("tasks/walk/reward", [{"term": "base_height", "low": 0.3}]),
     "task_graph.tasks.walk.reward[0].high", "required parameter"),
    ("term signal missing", _set("tasks/walk/reward", [{"term": "forward_velocity"}]),
     "task_graph.tasks.walk.reward[0].term", "does not provide: forward_velocity"),
    ("predicate syntax", _set("tasks/walk/failure", "abs(x) >> 1"),
     "task_graph.tasks.walk.failure", "bad predicate: column 9"),
    ("unknown signal", _set("tasks/walk/failure", "rol > 1"), "task_graph.tasks.walk.failure",
     "unknown signal 'rol'"),
    ("malicious predicate", _set("tasks/walk/failure", "__import__('os').system('rm')"),
     "task_graph.tasks.walk.failure", "not an allowed function"),
    ("predicate a number", _set("tasks/walk/failure", 1.5), "task_graph.tasks.walk.failure",
     "expected a predicate"),
    ("predicate a number expr", _set("tasks/walk/failure", "x"),
     "task_graph.tasks.walk.failure", "whole text is a number"),
    ("timeout_steps zero", _set("tasks/walk/timeout_steps", 0),
     "task_graph.tasks.walk.timeout_steps", "integer >= 1"),
    ("timeout_steps float", _set("tasks/walk/timeout_steps", 2.5),
     "task_graph.tasks.walk.timeout_steps", "integer >= 1"),
    ("hold without success", _set("tasks/walk/success_hold_steps", 3),
     "task_graph.tasks.walk.success_hold_steps", "only meaningful with a success"),
    ("can_fall without fall", _chain(_delete("fall"), _set("tasks/walk/can_fall", True)),
     "task_graph.tasks.walk.can_fall",
     "needs a fall condition"),
    ("param bad name", _set("tasks/walk/params", {"and": 1.0}),
     "task_graph.tasks.walk.params.and", "parameter name"),
    ("param not number", _set("tasks/walk/params", {"goal": [1, 2]}),
     "task_graph.tasks.walk.params.goal", "expected a number"),
    ("edges not a list", _set("edges", {"from": "stand"}), "task_graph.edges",
     "list of edges"),
    ("edge unknown target", _set("edges/0/to", "wlak"), "task_graph.edges[0].to",
     "unknown task 'wlak'; expected one of stand, walk; did you mean 'walk'"),
    ("edge unknown target in list", _set("edges/0/to", ["walk", {"task": "run"}]),
     "task_graph.edges[0].to[1].task", "unknown task 'run'"),
    ("edge unknown source", _set("edges/0/from", "sit"), "task_graph.edges[0].from",
     "unknown task 'sit'"),
    ("edge unknown event", _set("edges/0/event", "succes"), "task_graph.edges[0].event",
     "did you mean 'success'"),
    ("edge impossible event", _add_edge(**{"from": "walk", "event": "success", "to": "stand"}),
     "task_graph.edges[3].event", "never ends with success: it has no success condition"),
    ("edge missing key", _delete("edges/0/to"), "task_graph.edges[0].to", "required key"),
    ("edge empty to", _set("edges/0/to", []), "task_graph.edges[0].to", "non-empty list"),
    ("edge duplicate", _add_edge(**{"from": "stand", "event": "success", "to": "stand"}),
     "task_graph.edges[3]", "a second edge from 'stand' on success"),
    ("edge yaml on", _set("edges/0", {"from": "stand", True: "success", "to": "walk"}),
     "task_graph.edges[0]", "reads as true in YAML"),
    ("guard unknown signal", _set("edges/0/to", [{"task": "walk", "guard": "z > 1"}]),
     "task_graph.edges[0].to[0].guard", "unknown signal 'z'"),
    ("guard unknown key", _set("edges/0/to", [{"task": "walk", "when": "x > 1"}]),
     "task_graph.edges[0].to[0].when", "unknown key"),
    ("dead candidate", _set("edges/0/to", ["walk", "stand"]), "task_graph.edges[0].to[1]",
     "can never be chosen"),
    ("bad choose", _set("edges/0/choose", "any"), "task_graph.edges[0].choose",
     "first, random"),
    ("unreachable task", _add_task("orphan"), "task_graph.tasks.orphan",
     "not reachable from the start task 'stand'"),
    ("missing failure edge", _set("edges/2/event", "timeout"), "task_graph.tasks.walk",
     "edge from 'walk' on failure in task_graph.edges because the task can fall"),
    ("missing timeout edge", _delete("edges/1"), "task_graph.tasks.stand",
     "edge from 'stand' on timeout"),
    ("missing failure edge no fall", _set("tasks/stand/failure", "x < -5"),
     "task_graph.tasks.stand", "edge from 'stand' on failure"),
]


@pytest.mark.parametrize("mutate, key, fragment", [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_mistakes_are_refused_with_file_key_and_expectation(mutate: Mutation, key: str,
                                                           fragment: str) -> None:
    data = copy.deepcopy(base())
    replaced = mutate(data)
    with pytest.raises(ConfigError) as info:
        parse(replaced if replaced is not None else data)
    err = info.value
    assert (err.file, err.key) == (FILE, key), str(err)
    assert fragment in err.expected, str(err)
    assert str(err) == f"{FILE}: {key}: {err.expected}"
    assert "\n" not in str(err)


def test_fallback_makes_a_task_reachable_only_through_guards() -> None:
    data = base()
    data["tasks"]["sit"] = {"reward": [{"term": "upright"}], "can_fall": False}
    data["fallback"] = "sit"
    with pytest.raises(ConfigError, match="tasks.sit: task is not reachable"):
        parse(copy.deepcopy(data))  # every candidate is unguarded: fallback never used
    data["edges"][0]["to"] = [{"task": "walk", "guard": "x > 0"}]
    assert "sit" in parse(data).task_names


def test_task_params_shadow_signals_for_that_task_only() -> None:
    data = base()
    data["tasks"]["walk"]["params"] = {"goal": 1.0}
    data["tasks"]["walk"]["failure"] = "x > goal"
    parse(copy.deepcopy(data))
    data["tasks"]["stand"]["failure"] = "x > goal"
    with pytest.raises(ConfigError, match="tasks.stand.failure: .*unknown signal 'goal'"):
        parse(data)


def test_yaml_on_key_gives_a_clear_error() -> None:
    text = """
start: a
tasks:
  a: {reward: [{term: upright}], timeout_steps: 3}
edges:
  - {from: a, on: timeout, to: a}
"""
    with pytest.raises(ConfigError, match=r"edges\[0\]: a key reads as true in YAML"):
        parse(yaml.safe_load(text))
