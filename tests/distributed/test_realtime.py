"""Real-time training (``robot-rl train --realtime``): the robot paced in wall time never waits
for the learner; the run directory is a normal run's; Ctrl-C, resume and eval work on it."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.cli.parser import build_parser
from robot_rl.config import load_config
from robot_rl.distributed.learner_loop import Learner
from robot_rl.distributed.realtime import run_realtime
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir, read_metrics
from tests.conftest import write_config
from tests.distributed.conftest import FAST, wait_for

HZ = 50.0  # the tiny robot's control rate: a few seconds of wall time per test


@pytest.fixture
def realtime_path(tmp_path: Path, tiny_path: Path) -> Path:
    """The distributed tests' tiny A1 (UTD 2), paced at 50 Hz, with a tiny camera."""
    return write_config(tmp_path, tiny_path, {
        "robot": {"control_hz": HZ}, "sim": {"render_width": 64, "render_height": 48},
        "train": {"checkpoint_every": 50, "log_every": 20}}, name="realtime_a1.yaml")


class CountingEnv:
    """A RobotEnv that counts its control steps (read from the learner's thread)."""

    def __init__(self, env: RobotEnv) -> None:
        self.env, self.steps = env, 0
        self.action_space, self.observation_space = env.action_space, env.observation_space

    def reset(self, *, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        return self.env.reset(seed=seed)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.steps += 1
        return self.env.step(action)

    def hold(self, reason: str) -> Any:
        return self.env.hold(reason)


@pytest.mark.timeout(60)
def test_the_paced_robot_keeps_stepping_while_the_learner_is_busy(realtime_path: Path) -> None:
    cfg = load_config(str(realtime_path))
    env = CountingEnv(RobotEnv(cfg, seed=1))
    stalled: dict[str, int] = {}

    def busy_learner(learner: Learner) -> None:
        # once learning, hold the learner's thread (as a long update or an evaluation would)
        # until the robot has made 10 more steps: it must not wait for the learner
        if learner.update_steps >= 1 and not stalled:
            stalled["at"] = env.steps
            wait_for(lambda: env.steps >= stalled["at"] + 10, 20, "the robot to step on")
            stalled["updates"] = learner.update_steps

    try:
        result = run_realtime(cfg, steps=150, seed=0, env=env, options=FAST,
                              on_learner_step=busy_learner)
    finally:
        env.env.close()
    learner, (robot,) = result.learner, result.actors
    assert stalled, "the learner never updated"
    assert learner.received == env.steps == robot["steps"] == 150  # exactly the steps asked
    # updates ran concurrently with the robot, at most learner.utd per step past the warm-up
    assert learner.update_steps > stalled["updates"]
    assert 0 < learner.effective_utd <= cfg.learner.utd
    # weights reached the robot, which then acted with them
    assert robot["weights_version"] >= 0 and robot["policy_steps"] > 0
    # paced: never faster than the control rate (loosely; a late step may catch up), and not
    # held back by the learner far below it (generous: a loaded machine)
    assert HZ / 5 < robot["steps_per_s"] < HZ * 1.5
    assert result.wall_s > 150 / HZ * 0.7


@pytest.mark.timeout(120)
def test_train_realtime_ctrl_c_resume_and_eval(tmp_path: Path, realtime_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"

    def interrupt_once_learning() -> None:  # Ctrl-C once the learner logged past warm-up
        def learning() -> bool:
            runs = list(out.iterdir()) if out.exists() else []
            return bool(runs) and any(r["kind"] == "train" and r["step"] >= 80 and
                                      r.get("update_steps", 0) > 0
                                      for r in read_metrics(runs[0] / "metrics.jsonl"))
        try:
            wait_for(learning, 60, "training past the warm-up", every_s=0.05)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_learning, daemon=True)
    watcher.start()
    status = main(["train", str(realtime_path), "--realtime", "--steps", "100000", "--out",
                   str(out), "--no-progress"])
    watcher.join(5)
    err = capsys.readouterr().err
    assert status == 130, err
    assert "checkpoint saved" in err and "--resume" in err and "--realtime" in err
    (path,) = out.iterdir()
    run = RunDir(path)
    latest = run.latest_checkpoint()
    assert latest is not None
    saved = json.loads((latest / "learner.json").read_text())
    assert saved["received"] >= 80 and saved["update_steps"] > 0 and saved["wall_s"] > 0

    # its checkpoints are the learner's: resumed only in real time
    assert main(["train", "--resume", str(path), "--no-progress"]) == 2
    assert "expected --realtime" in capsys.readouterr().err
    total = saved["received"] + 40
    assert main(["train", "--resume", str(path), "--realtime", "--steps", str(total),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"done: {total} steps" in captured.err and "effective UTD" in captured.err
    assert "nominal-pose policy (action 0, same episodes)" in captured.out
    for name in ("config.yaml", "metrics.jsonl", "learning_curve.png", "eval.mp4"):
        assert (path / name).is_file() and (path / name).stat().st_size > 0, name
    rows = read_metrics(path / "metrics.jsonl")
    train = [r for r in rows if r["kind"] == "train"]
    assert train and all("effective_utd" in r for r in train)
    assert 0 < train[-1]["effective_utd"] <= 2  # the config's learner.utd
    (final,) = [r for r in rows if r["kind"] == "eval"]
    assert final["step"] == total and {"return", "net_velocity", "nominal_return"} <= set(final)
    latest = run.latest_checkpoint()
    assert latest is not None
    state = json.loads((latest / "learner.json").read_text())
    assert state["received"] == total and state["wall_s"] > saved["wall_s"]

    assert main(["eval", str(path), "--json", "--no-video", "--episodes", "1"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["steps"] == total and evaluated["train_wall_s"] > 0
    assert evaluated["nominal_return"] is not None


def test_realtime_refuses_task_graphs_and_lock_step_runs(
        tmp_path: Path, realtime_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(realtime_path), "--realtime", "--task-graph", "reset_free",
                 "--out", str(tmp_path / "runs")]) == 2
    assert "--realtime" in capsys.readouterr().err
    graph = write_config(tmp_path, realtime_path, {"task_graph": {"enabled": True}},
                         name="graph.yaml")
    assert main(["train", str(graph), "--realtime", "--out", str(tmp_path / "runs")]) == 2
    assert "task_graph.enabled" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # refused before a run directory
    # a lock-step run (trainer.json checkpoints) resumes only lock-step
    run = RunDir(tmp_path / "lockstep")
    (run.checkpoints / "ckpt-00000010").mkdir(parents=True)
    (run.checkpoints / "ckpt-00000010" / "trainer.json").write_text("{}")
    (run.checkpoints / "LATEST").write_text("ckpt-00000010\n")
    run.config_path.write_text(realtime_path.read_text())
    assert main(["train", "--resume", str(run.path), "--realtime"]) == 2
    assert "resume it without --realtime" in capsys.readouterr().err


def test_actor_realtime_paces_at_the_control_rate_and_excludes_rate_hz(
        realtime_path: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(["actor", str(realtime_path), "--learner", "tcp://127.0.0.1:1",
                              "--realtime"])
    assert args.realtime and args.rate_hz is None
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["actor", str(realtime_path), "--learner", "tcp://127.0.0.1:1",
                           "--realtime", "--rate-hz", "5"])
    assert exit_info.value.code == 2
