"""`robot-rl train` / `eval` end to end: run directory, resume, Ctrl-C, video."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from robot_rl.cli import main
from robot_rl.runs import RunDir, read_metrics

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _only_run(out: Path) -> Path:
    runs = list(out.iterdir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.timeout(300)
def test_train_writes_a_complete_run_and_resumes(tmp_path: Path, tiny_a1: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    assert main(["train", str(tiny_a1), "--steps", "80", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    run = _only_run(out)
    for name in ("config.yaml", "metrics.jsonl", "learning_curve.png", "eval.mp4"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
        assert str(run / name) in printed or name in ("config.yaml", "metrics.jsonl")
    assert list((run / "tb").iterdir()), "no TensorBoard events"
    latest = RunDir(run).latest_checkpoint()
    assert latest is not None and latest.name == "ckpt-00000080"
    state = json.loads((latest / "trainer.json").read_text())
    assert state["step"] == 80 and state["wall_s"] > 0
    assert (run / "eval.mp4").read_bytes()[4:8] == b"ftyp"  # an MP4 container
    assert _codec(run / "eval.mp4") == "h264"  # plays in browsers and on GitHub
    # what the evaluation means: velocities along the heading and in a straight line, and
    # the nominal-pose policy on the same episode, logged and drawn with the evaluation
    assert "m/s along its heading" in printed and "m/s in a straight line" in printed
    assert "nominal-pose policy (action 0, same episodes): return " in printed
    (final,) = [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "eval"]
    assert {"return", "net_velocity", "forward_velocity", "nominal_return"} <= set(final)
    # config.yaml records the device and precision learner: auto picked (read back below)
    learner = yaml.safe_load((run / "config.yaml").read_text())["learner"]
    assert learner["device"] in ("cpu", "cuda") and learner["precision"] in ("fp32", "bf16")

    assert main(["train", "--resume", str(run), "--steps", "120", "--no-progress",
                 "--no-video"]) == 0
    latest = RunDir(run).latest_checkpoint()
    assert latest is not None and latest.name == "ckpt-00000120"
    # the resumed run's training wall time adds to the first run's
    assert json.loads((latest / "trainer.json").read_text())["wall_s"] > state["wall_s"]
    steps = [r["step"] for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == sorted(steps) and steps[-1] == 120 and 100 in steps

    assert main(["eval", str(run), "--episodes", "2", "--no-video"]) == 0
    printed = capsys.readouterr().out
    assert "mean return over 2 episodes" in printed and "nominal-pose policy" in printed

    # eval films into a new file of its own: the training run's eval.mp4 stays as it was
    trained_video = (run / "eval.mp4").read_bytes()
    assert main(["eval", str(run), "--episodes", "1"]) == 0
    (filmed,) = run.glob("eval-*.mp4")
    assert f"video: {filmed}" in capsys.readouterr().out
    assert _codec(filmed) == "h264" and (run / "eval.mp4").read_bytes() == trained_video
    assert main(["eval", str(run), "--episodes", "1"]) == 0  # again: yet another file
    assert len(list(run.glob("eval-*.mp4"))) == 2


def _codec(path: Path) -> str:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return str(meta["codec"])


def test_resume_of_a_folder_that_is_not_a_run(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "expected a run directory" in capsys.readouterr().err
    (tmp_path / "learner").mkdir()  # a `robot-rl launch sim` session: its learner's run
    (tmp_path / "learner" / "config.yaml").write_text("name: a1\n")
    assert main(["eval", str(tmp_path)]) == 2
    assert f"the learner's run of this session is {tmp_path / 'learner'}" in \
        capsys.readouterr().err


@pytest.mark.timeout(300)
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path: Path, tiny_a1: Path) -> None:
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot_rl.cli", "train", str(tiny_a1), "--steps", "100000",
         "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    metrics = None
    while time.monotonic() < deadline:  # wait until it is learning (past warm-up)
        runs = list(out.iterdir()) if out.exists() else []
        if runs and (runs[0] / "metrics.jsonl").exists():
            metrics = runs[0] / "metrics.jsonl"
            if any(r["kind"] == "train" and r["step"] >= 60 for r in read_metrics(metrics)):
                break
        time.sleep(0.2)
    assert metrics is not None, "training never started"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr
    latest = RunDir(metrics.parent).latest_checkpoint()
    assert latest is not None
    saved = json.loads((latest / "trainer.json").read_text())["step"]
    assert saved >= 60


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_first_ctrl_c_is_deferred_to_a_safe_point_the_second_raises(first: int) -> None:
    from robot_rl.signals_handling import deferred_stop

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with deferred_stop() as interrupted:
        os.kill(os.getpid(), first)
        time.sleep(0.05)  # the handler runs between bytecodes: nothing was raised here
        assert interrupted.is_set() and interrupted.signum == first
        assert interrupted.exit_status() == (130 if first == signal.SIGINT else 0)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert {s: signal.getsignal(s) for s in before} == before
