"""Scheduler: transitions on success/failure/timeout, guards, randomness, counters, saving."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest

from robot_rl.taskgraph import (
    A1_SIGNALS,
    TaskScheduler,
    a1_task_graph,
    panda_task_graph,
    parse_task_graph,
)

GRAPH: dict[str, Any] = {
    "start": "stand",
    "fall": "fallen > 0.5",
    "tasks": {
        "stand": {"can_fall": False, "reward": [{"term": "upright"}],
                  "success": "upright > 0.9", "success_hold_steps": 2, "timeout_steps": 4},
        "left": {"reward": [{"term": "expression", "expr": "x"}], "success": "x > 1",
                 "timeout_steps": 3},
        "right": {"reward": [{"term": "expression", "expr": "-x"}], "success": "x < -1",
                  "timeout_steps": 3},
    },
    "edges": [
        {"from": "stand", "event": "success",
         "to": [{"task": "left", "guard": "y > 0"}, {"task": "right", "guard": "y < 0"}]},
        {"from": "stand", "event": "timeout", "to": "stand"},
        {"from": ["left", "right"], "event": "failure", "to": "stand"},
        {"from": "left", "event": ["success", "timeout"], "to": "right"},
        {"from": "right", "event": ["success", "timeout"], "to": "left"},
    ],
}
STAND, LEFT, RIGHT = 0, 1, 2


def make(seed: int = 0, **changes: Any) -> TaskScheduler:
    data = copy.deepcopy(GRAPH)
    data.update(changes)
    return TaskScheduler(parse_task_graph(data, "test", {"x", "y", "fallen", "upright"}), seed)


def sig(x: float = 0.0, y: float = 0.0, fallen: float = 0.0, upright: float = 1.0) -> dict:
    return {"x": x, "y": y, "fallen": fallen, "upright": upright}


def test_step_before_reset_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        make().step(sig())


def test_success_after_hold_steps_then_guarded_edge() -> None:
    s = make()
    assert s.reset() == STAND and s.active_name == "stand"
    first = s.step(sig(y=1.0))
    assert first.event is None and first.next_task == STAND and s.task_steps == 1
    assert not first.terminated and not first.truncated
    second = s.step(sig(y=1.0))
    assert second.event == "success" and second.task == STAND and second.next_task == LEFT
    assert second.truncated and not second.terminated and not second.reset_required
    assert s.active == LEFT and s.task_steps == 0
    c = s.counters
    assert (c["stand"].successes, c["stand"].switches, c["left"].entries) == (1, 1, 1)


def test_hold_restarts_when_success_is_interrupted() -> None:
    s = make()
    s.reset()
    events = [s.step(sig(y=1.0, upright=u)).event for u in (1.0, 0.5, 1.0, 1.0)]
    assert events == [None, None, None, "success"]


def test_guards_pick_the_candidate_and_fallback_when_none_holds() -> None:
    s = make()
    s.reset()
    s.step(sig(y=-1.0))
    assert s.step(sig(y=-1.0)).next_task == RIGHT
    s = make()
    s.reset()
    s.step(sig(y=0.0))
    result = s.step(sig(y=0.0))  # neither guard holds: fallback = start
    assert result.event == "success" and result.next_task == STAND and s.fallbacks == 1
    assert s.counters["stand"].switches == 0 and s.counters["stand"].entries == 2


def test_fall_is_a_terminal_failure_for_tasks_that_can_fall() -> None:
    s = make()
    s.reset(LEFT)
    result = s.step(sig(x=5.0, fallen=1.0))  # failure wins over success in the same step
    assert result.event == "failure" and result.fell
    assert result.terminated and not result.truncated
    assert result.next_task == STAND
    assert result.terminated_all.tolist() == [False, True, True]  # stand cannot fall
    c = s.counters["left"]
    assert (c.failures, c.falls, c.successes) == (1, 1, 0)
    # Standing up while fallen: no event, the fall does not end a task that cannot fall.
    assert s.step(sig(fallen=1.0, upright=0.0)).event is None


def test_timeout_is_a_truncation() -> None:
    s = make()
    s.reset("left")
    results = [s.step(sig()) for _ in range(3)]
    assert [r.event for r in results] == [None, None, "timeout"]
    assert results[-1].truncated and not results[-1].terminated
    assert results[-1].next_task == RIGHT and s.counters["left"].timeouts == 1


def test_timeout_predicate_sees_task_steps() -> None:
    data = copy.deepcopy(GRAPH["tasks"])
    data["left"] = {**data["left"], "timeout": "task_steps >= 2"}
    s = make(tasks=data)
    s.reset(LEFT)
    assert [s.step(sig()).event for _ in range(2)] == [None, "timeout"]


def test_rewards_all_scores_every_task_on_the_same_state() -> None:
    s = make()
    s.reset(LEFT)
    result = s.step(sig(x=0.5, upright=0.8))
    assert result.rewards_all.shape == (3,) and result.rewards_all.dtype == np.float32
    np.testing.assert_allclose(result.rewards_all, [0.8, 0.5, -0.5])
    assert result.reward == pytest.approx(0.5)
    np.testing.assert_allclose(s.rewards_all(sig(x=2.0, upright=1.0)), [1.0, 2.0, -2.0])


def test_random_choice_is_seeded_and_uses_every_candidate() -> None:
    edges = copy.deepcopy(GRAPH["edges"])
    edges[0] = {"from": "stand", "event": "success", "to": ["left", "right"],
                "choose": "random"}

    def run(seed: int) -> list[int]:
        s = make(seed, edges=edges)
        s.reset()
        picks = []
        for _ in range(200):
            s.step(sig())
            picks.append(s.step(sig()).next_task)
            s.reset()
        return picks

    picks = run(1)
    assert picks == run(1)
    assert picks != run(2)
    assert {LEFT, RIGHT} == set(picks) and 60 < picks.count(LEFT) < 140


def test_nan_signals_trigger_no_event_and_give_nan_rewards() -> None:
    s = make()
    s.reset(LEFT)
    result = s.step(sig(x=math.nan, fallen=math.nan))
    assert result.event is None and not result.terminated_all.any()
    assert math.isnan(result.reward)


def test_missing_signal_is_a_key_error() -> None:
    s = make()
    s.reset()
    before = s.state_dict()
    with pytest.raises(KeyError):
        s.step({"x": 0.0})
    assert s.state_dict() == before


def test_episodic_mode_asks_for_resets_and_counts_them() -> None:
    s = make(mode="episodic")
    s.reset(LEFT)
    result = s.step(sig(fallen=1.0))
    assert result.reset_required and result.next_task == STAND
    assert s.manual_reset() == STAND
    assert s.manual_resets == 1 and s.counters["stand"].manual_resets == 1
    assert s.task_steps == 0
    assert not s.step(sig(upright=0.0)).reset_required


def test_episodic_mode_without_an_edge_goes_to_start() -> None:
    s = make(mode="episodic", edges=[{"from": "stand", "event": "success", "to": "left"},
                                     {"from": "left", "event": "success", "to": "right"}])
    s.reset(RIGHT)
    assert s.step(sig(x=-2.0)).next_task == STAND


def test_reset_free_random_run_never_resets_and_counts_add_up() -> None:
    s = TaskScheduler(a1_task_graph(), 3)
    s.reset()
    rng = np.random.default_rng(0)
    names = sorted(A1_SIGNALS)
    events = 0
    for _ in range(3000):
        signals = dict(zip(names, rng.normal(0.0, 0.3, len(names)).tolist()))
        signals["upright"] = 1.0 - abs(signals["upright"]) * 0.1
        signals["base_height"] = 0.25 + signals["base_height"] * 0.1
        signals["fallen"] = float(rng.random() < 0.01)
        result = s.step(signals)
        assert not result.reset_required
        events += result.event is not None
    metrics = s.metrics()
    assert s.manual_resets == 0 and metrics["task/total/manual_resets"] == 0
    assert metrics["task/total/steps"] == 3000
    assert events == sum(metrics[f"task/total/{k}"] for k in ("successes", "failures",
                                                              "timeouts"))
    assert metrics["task/total/entries"] == events + 1
    assert metrics["task/total/falls"] > 0 and metrics["task/get_up/falls"] == 0
    assert metrics["task/total/switches"] == s.switches > 0


def test_a1_shipped_graph_story() -> None:
    s = TaskScheduler(a1_task_graph(), 0)
    names = s.task_names
    base = dict.fromkeys(A1_SIGNALS, 0.0)
    fallen = {**base, "upright": -0.2, "base_height": 0.08, "fallen": 1.0, "roll": 2.5}
    standing = {**base, "upright": 1.0, "base_height": 0.28}
    assert names[s.reset()] == "get_up"
    assert s.step(fallen).event is None  # get_up cannot fall
    events = [s.step(standing).event for _ in range(10)]
    assert events == [None] * 9 + ["success"] and s.active_name == "walk_forward"
    walking = [s.step({**standing, "forward_velocity": 0.7}) for _ in range(400)]
    assert walking[0].reward == pytest.approx(10.0)
    assert walking[-1].event == "timeout" and s.active_name == "walk_backward"
    result = s.step(fallen)
    assert result.terminated and result.fell and s.active_name == "get_up"
    assert s.counters["walk_backward"].falls == 1 and s.manual_resets == 0


def test_panda_rewards_use_each_tasks_own_target() -> None:
    s = TaskScheduler(panda_task_graph(), 0)
    s.reset()
    assert dict(s.active_params) == {"target_x": 0.5, "target_y": 0.2, "target_z": 0.3}
    # The sim reports the active target; each task still sees its own.
    at_a = {"ee_x": 0.5, "ee_y": 0.2, "ee_z": 0.3, "target_x": 0.5, "target_y": 0.2,
            "target_z": 0.3, "ee_distance": 0.0, "joint_velocity_norm": 0.0}
    result = s.step(at_a)
    reach_a, reach_b, home = result.rewards_all
    assert reach_a == pytest.approx(1.0) and reach_b == pytest.approx(-0.4)
    assert home == pytest.approx(-math.hypot(0.15, 0.2, 0.15))
    results = [s.step(at_a) for _ in range(4)]
    assert results[-1].event == "success" and s.active_name == "reach_b"
    assert s.step(at_a).event is None  # reach_b is not satisfied at A
    assert s.step({**at_a, "ee_z": 0.01}).terminated and s.active_name == "return_home"


def test_state_dict_round_trip_continues_identically() -> None:
    edges = copy.deepcopy(GRAPH["edges"])
    edges[3] = {"from": "left", "event": ["success", "timeout"], "to": ["right", "stand"],
                "choose": "random"}
    rng = np.random.default_rng(5)
    stream = [sig(x=float(rng.normal(0, 1.5)), y=float(rng.normal()),
                  fallen=float(rng.random() < 0.05), upright=float(rng.random() + 0.3))
              for _ in range(400)]
    a = make(7, edges=edges)
    a.reset()
    for signals in stream[:200]:
        a.step(signals)
    saved = json.loads(json.dumps(a.state_dict()))
    b = make(99, edges=edges)
    b.load_state_dict(saved)
    assert b.state_dict() == a.state_dict()
    for signals in stream[200:]:
        ra, rb = a.step(signals), b.step(signals)
        assert (ra.task, ra.event, ra.next_task) == (rb.task, rb.event, rb.next_task)
    assert a.metrics() == b.metrics()


def test_load_state_dict_refuses_another_graph() -> None:
    s = make()
    s.reset()
    with pytest.raises(ValueError, match="saved scheduler has tasks"):
        TaskScheduler(a1_task_graph()).load_state_dict(s.state_dict())


def test_one_hot_reset_and_metrics() -> None:
    s = make()
    with pytest.raises(RuntimeError):
        _ = s.active
    s.reset("right")
    assert s.task_one_hot().tolist() == [0.0, 0.0, 1.0]
    assert s.task_one_hot(STAND).dtype == np.float32
    with pytest.raises(IndexError):
        s.reset(3)
    metrics = s.metrics()
    assert metrics["task/active"] == RIGHT and metrics["task/right/entries"] == 1
    assert set(metrics) >= {"task/switches", "task/fallbacks", "task/total/falls"}
