"""Shipped graphs: they parse, have the promised shape, and the docs show them verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from robot_rl.taskgraph import (
    A1_SIGNALS,
    A1_TASK_GRAPH_YAML,
    PANDA_TASK_GRAPH_YAML,
    REWARD_TERMS,
    a1_task_graph,
    panda_task_graph,
    parse_task_graph,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "task_graph.md"


def test_a1_graph_shape() -> None:
    spec = a1_task_graph()
    assert spec.task_names == ("get_up", "walk_forward", "walk_backward")
    assert (spec.start, spec.mode, spec.relabel) == ("get_up", "reset_free", True)
    assert not spec.tasks[0].can_fall and all(t.can_fall for t in spec.tasks[1:])
    for walk in ("walk_forward", "walk_backward"):
        assert [c.task for c in spec.edge(walk, "failure").to] == ["get_up"]
    assert spec.edge("walk_forward", "timeout").to[0].task == "walk_backward"
    assert spec.edge("walk_backward", "timeout").to[0].task == "walk_forward"
    assert spec.fall.evaluate(dict.fromkeys(A1_SIGNALS, 0.0) | {"pitch": 0.6})


def test_panda_graph_shape() -> None:
    spec = panda_task_graph()
    assert spec.task_names == ("reach_a", "reach_b", "return_home")
    assert spec.edge("reach_a", "success").to[0].task == "reach_b"
    assert spec.edge("reach_b", "success").to[0].task == "reach_a"
    assert spec.edge("return_home", "success").choose == "random"
    assert spec.tasks[0].params["target_y"] == -spec.tasks[1].params["target_y"]


def test_graphs_need_their_robots_signals() -> None:
    data = yaml.safe_load(PANDA_TASK_GRAPH_YAML)["task_graph"]
    try:
        parse_task_graph(data, "panda.yaml", A1_SIGNALS)
    except ValueError as err:
        assert "needs signals this robot does not provide" in str(err)
    else:
        raise AssertionError("the Panda graph parsed against A1 signals")


def test_docs_show_the_shipped_yaml_and_every_term() -> None:
    text = DOC.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert A1_TASK_GRAPH_YAML in blocks and PANDA_TASK_GRAPH_YAML in blocks
    for name in REWARD_TERMS:
        assert f"| `{name}` |" in text, name
