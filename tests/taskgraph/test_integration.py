"""A1 in PyBullet, reset-free: a short training run never teleports the robot after its
first spawn, follows the graph's edges, and stores every task's reward with each transition."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.envs.task_env import TaskEnv
from robot_rl.runs import read_metrics
from robot_rl.sac.multitask import MultiTaskReplayBuffer
from robot_rl.session import build
from robot_rl.train_tasks import TaskTrainer

STEPS = 300


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One short reset-free training run, shared by the tests below."""
    from robot_rl.runs import RunDir
    from tests.taskgraph.conftest import A1_SHORT, graph_config

    tmp = tmp_path_factory.mktemp("reset_free")
    cfg = load_config(graph_config(tmp, timeouts=A1_SHORT))
    env, agent, buffer = build(cfg, seed=0)
    assert isinstance(env, TaskEnv) and isinstance(buffer, MultiTaskReplayBuffer)
    teleports = []
    reset = env.robot.reset
    env.robot.reset = lambda seed=None: teleports.append(env.total_steps) or reset(seed)  # all
    ends = []
    step = env.step

    def recording_step(action: np.ndarray):  # type: ignore[no-untyped-def]
        out = step(action)
        if out[4]["event"] is not None:
            ends.append((out[4]["task_name"], out[4]["event"],
                         env.scheduler.task_names[out[4]["next_task"]]))
        return out

    env.step = recording_step
    run_dir = RunDir.create(tmp / "runs", "a1")
    run_dir.write_config(cfg)
    trainer = TaskTrainer(env, agent, buffer, cfg.learner, seed=0, run=run_dir, log_every=50,
                          checkpoint_every=10_000, progress=False)
    trainer.train(STEPS)
    trainer.close()
    return {"env": env, "buffer": buffer, "trainer": trainer, "teleports": teleports,
            "ends": ends, "run": run_dir, "cfg": cfg}


def test_zero_teleports_after_the_first_spawn(run: dict) -> None:
    env = run["env"]
    assert run["teleports"] == [0]  # the first spawn, before any step
    assert env.manual_resets == 0 and env.spawns == 1
    assert env.total_steps == STEPS
    assert sum(c.manual_resets for c in env.scheduler.counters.values()) == 0
    assert run["trainer"].episodes > 3  # the Trainer called reset() after every task end


def test_every_switch_follows_an_edge_of_the_graph(run: dict) -> None:
    graph = run["env"].graph
    ends = run["ends"]
    for source, event, target in ends:
        edge = graph.edge(source, event)
        assert edge is not None and target == edge.to[0].task, (source, event, target)
    events = {event for _, event, _ in ends}
    assert events == {"success", "failure", "timeout"}, ends
    edges = {(s, e) for s, e, _ in ends}
    assert ("get_up", "success") in edges  # stood up, then walked
    assert {("walk_forward", "failure"), ("walk_backward", "failure")} & edges  # fell
    # rolled onto its side, the scripted self_right put it back on its feet: no teleport
    assert {("get_up", "failure"), ("self_right", "success")} <= edges
    assert {("walk_forward", "timeout"), ("walk_backward", "timeout")} & edges
    assert len(edges) >= 6, edges
    # the scheduler's counters saw the same ends
    counters = run["env"].scheduler.counters
    assert sum(c.successes + c.failures + c.timeouts for c in counters.values()) == len(ends)
    falls = sum(1 for s, e, _ in ends if e == "failure" and s.startswith("walk"))
    assert sum(c.falls for c in counters.values()) == falls > 0


def test_transitions_are_stored_with_every_tasks_reward(run: dict) -> None:
    buffer = run["buffer"]
    n = len(buffer)
    assert n == STEPS
    rows = buffer.gather(np.arange(n))
    assert rows["rewards_all"].shape == (n, 4) and np.all(np.isfinite(rows["rewards_all"]))
    own = rows["rewards_all"][np.arange(n), rows["task"]]
    assert np.allclose(own, rows["reward"])
    assert np.array_equal(rows["obs"][:, -4:].argmax(1), rows["task"])
    assert np.array_equal(rows["next_obs"][:, -4:].argmax(1), rows["task"])
    # walking forward and backward score the same transitions differently
    assert not np.allclose(rows["rewards_all"][:, 1], rows["rewards_all"][:, 2])
    assert set(np.unique(rows["task"])) >= {0, 1}
    batch = buffer.sample(64, k=2)  # what the SAC updates drew: relabeled rows
    assert batch.obs.shape == (2, 64, 49)
    assert run["trainer"].last_update  # SAC updated on them


def test_metrics_log_task_counters_and_segments(run: dict) -> None:
    from robot_rl.runs import plot_task_timeline

    rows = read_metrics(run["run"].path / "metrics.jsonl")
    tasks = [r for r in rows if r["kind"] == "tasks"]
    segments = [r for r in rows if r["kind"] == "segment"]
    assert len(tasks) == STEPS // 50
    assert tasks[-1]["manual_resets"] == 0 and "walk_forward/falls" in tasks[-1]
    assert len(segments) == len(run["ends"])
    assert all(s["manual_reset"] == 0 for s in segments)
    png = plot_task_timeline(run["run"], "test")
    assert png.name == "task_timeline.png" and png.stat().st_size > 1000
