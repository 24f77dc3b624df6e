"""`robot-rl train --task-graph`: a complete run with the task timeline, resume, eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robot_rl.cli import main
from robot_rl.runs import RunDir, read_metrics
from tests.conftest import write_config
from tests.taskgraph.conftest import A1_SHORT, graph_config


@pytest.mark.timeout(300)
def test_reset_free_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = graph_config(tmp_path, timeouts=A1_SHORT, graph_changes={"enabled": False})
    out = tmp_path / "runs"
    assert main(["train", str(config), "--steps", "80", "--out", str(out), "--no-progress",
                 "--task-graph", "reset_free"]) == 0
    printed = capsys.readouterr().out
    (run,) = out.iterdir()
    for name in ("learning_curve.png", "task_timeline.png", "eval.mp4"):
        assert (run / name).stat().st_size > 0 and str(run / name) in printed, name
    for task in ("get_up", "walk_forward", "walk_backward", "self_right"):
        assert f"{task}: success rate" in printed
    saved = yaml.safe_load((run / "config.yaml").read_text())["task_graph"]
    assert saved["enabled"] is True and saved["mode"] == "reset_free"
    latest = RunDir(run).latest_checkpoint()
    assert latest is not None and (latest / "buffer_tasks.npz").is_file()
    env_state = json.loads((latest / "trainer.json").read_text())["env"]
    assert env_state["manual_resets"] == 0 and env_state["spawns"] == 1
    rows = read_metrics(run / "metrics.jsonl")
    kinds = {r["kind"] for r in rows}
    assert {"segment", "tasks", "task_eval", "episode", "train"} <= kinds
    assert [r["task"] for r in rows if r["kind"] == "task_eval"] == [0, 1, 2, 3]

    assert main(["train", "--resume", str(run), "--steps", "120", "--no-progress",
                 "--no-video"]) == 0
    state = json.loads((RunDir(run).latest_checkpoint() / "trainer.json").read_text())["env"]
    assert state["total_steps"] == 120 and state["manual_resets"] == 0
    assert state["spawns"] == 2  # the resumed simulator started from its spawn pose
    assert sum(c["steps"] for c in state["scheduler"]["counters"].values()) == 120

    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "1", "--no-video"]) == 0
    assert "walk_forward: success rate" in capsys.readouterr().out


def test_task_graph_flag_needs_a_graph(tmp_path: Path, a1_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, a1_path, {"task_graph": None})
    assert main(["train", str(config), "--out", str(tmp_path / "runs"),
                 "--task-graph", "episodic"]) == 2
    assert "task_graph: expected a task_graph section" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
