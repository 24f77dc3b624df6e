"""Checkpoints survive kill -9 at any moment of their writing; a resume repeats no metrics.

Kills are not timed with sleeps: the killed process counts its own file operations while it
writes checkpoints (every write chunk, fsync, rename and delete) and sends itself SIGKILL at
a chosen one, so each kill lands at a known, reproducible point inside the checkpoint code.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.runs import RunDir, read_metrics

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
SAVES_PER_CHILD = 4
KILLS = 24


# ----------------------------------------------------------------- the killed process
def kill_at_event(n: int) -> Any:
    """From now on, SIGKILL this process at its n-th file operation (1-based).

    Counts os.fsync, os.replace, os.rename, os.mkdir, shutil.rmtree and every call of the
    returned ``event()`` (the writer calls it between the chunks it writes).
    """
    counter = itertools.count(1)

    def event() -> None:
        if next(counter) == n:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            event()
            result = fn(*args, **kwargs)
            event()
            return result
        return wrapper

    for name in ("fsync", "replace", "rename", "mkdir"):
        setattr(os, name, counted(getattr(os, name)))
    shutil.rmtree = counted(shutil.rmtree)
    return event


def write_checkpoints(run_dir: str, kill_at: int) -> int:
    """Resume from the run's latest checkpoint (checking it is whole), then save again."""
    event = kill_at_event(kill_at)
    run = RunDir(run_dir)
    latest = run.latest_checkpoint()
    step = 0 if latest is None else whole_step(latest)
    rng = np.random.default_rng(step)

    def write(folder: Path) -> None:
        data = rng.bytes(64 * 1024)
        with open(folder / "data.bin", "wb") as f:
            for i in range(0, len(data), 16 * 1024):
                f.write(data[i:i + 16 * 1024])
                f.flush()
                event()
        meta = {"step": step, "sha256": hashlib.sha256(data).hexdigest()}
        (folder / "meta.json").write_text(json.dumps(meta))
        event()

    for i in range(SAVES_PER_CHILD):
        # the first save rewrites the resumed step (as a trainer that saves twice at a step)
        step += 1 if i > 0 or step == 0 else 0
        run.save_checkpoint(step, write)
    return 0


def whole_step(folder: Path) -> int:
    """The step of a checkpoint folder; AssertionError unless every file is whole."""
    meta = json.loads((folder / "meta.json").read_text())
    digest = hashlib.sha256((folder / "data.bin").read_bytes()).hexdigest()
    assert digest == meta["sha256"], f"{folder}: data.bin is torn"
    assert folder.name.startswith(f"ckpt-{meta['step']:08d}"), folder
    return int(meta["step"])


def _child(run_dir: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.test_runs_durability", str(run_dir), str(kill_at)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)


# ----------------------------------------------------------------------- the tests
def test_kill_9_while_checkpointing_always_leaves_a_whole_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rng = np.random.default_rng(12)
    previous, killed = 0, 0
    for trial in range(KILLS):
        # ~25 counted operations per checkpoint: kill somewhere inside one of the first three
        kill_at = int(rng.integers(1, 20 * SAVES_PER_CHILD))
        done = _child(run_dir, kill_at)
        assert done.returncode in (0, -signal.SIGKILL), done.stderr
        killed += done.returncode == -signal.SIGKILL
        latest = RunDir(run_dir).latest_checkpoint()
        if latest is None:  # only before the first checkpoint ever completed
            assert previous == 0, f"trial {trial}: the checkpoints are gone"
            continue
        step = whole_step(latest)
        assert step >= previous, f"trial {trial}: went back from {previous} to {step}"
        previous = step
    assert killed >= 20
    done = _child(run_dir, 0)  # no kill: resumes from the last one and finishes
    assert done.returncode == 0, done.stderr
    run = RunDir(run_dir)
    latest = run.latest_checkpoint()
    assert latest is not None and whole_step(latest) == previous + SAVES_PER_CHILD - 1
    assert not list(run.checkpoints.glob(".tmp-*")), "temp folders left behind"
    for folder in run.checkpoints.glob("ckpt-*"):
        whole_step(folder)


def test_a_rewritten_step_keeps_the_old_checkpoint_until_the_new_one_is_named(
        tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.save_checkpoint(4, lambda f: (f / "x").write_text("four"))
    first = run.save_checkpoint(5, lambda f: (f / "x").write_text("old"))
    seen: list[str] = []

    def write(folder: Path) -> None:  # the old one is still there, still LATEST
        seen.append((first / "x").read_text())
        assert run.latest_checkpoint() == first
        (folder / "x").write_text("new")

    second = run.save_checkpoint(5, write)
    assert seen == ["old"] and second == first and (second / "x").read_text() == "new"
    assert run.latest_checkpoint() == second
    names = sorted(p.name for p in run.checkpoints.iterdir())
    assert names == ["LATEST", "ckpt-00000004", "ckpt-00000005"]
    (run.checkpoints / "LATEST").unlink()  # lost LATEST: the newest folder is found
    assert run.latest_checkpoint() == second


def _kill_in_second_checkpoint(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`robot-rl train` that kill -9s itself while writing its second checkpoint."""
    code = (
        "import sys, os, signal\n"
        "from robot_rl.runs import RunDir\n"
        "save, calls = RunDir.save_checkpoint, []\n"
        "def dying(self, step, write):\n"
        "    calls.append(step)\n"
        "    if len(calls) < 2: return save(self, step, write)\n"
        "    def write_then_die(folder):\n"
        "        write(folder)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return save(self, step, write_then_die)\n"
        "RunDir.save_checkpoint = dying\n"
        "from robot_rl.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.run(
        [sys.executable, "-c", code, "train", str(config), "--out", str(out), "--no-progress",
         "--no-video"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=240)


def _tensorboard_steps(run: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    return [e.step for e in events.Scalars(tag)]


@pytest.mark.timeout(300)
def test_resume_after_kill_9_repeats_no_metrics(tmp_path: Path, tiny_a1: Path) -> None:
    from robot_rl.cli import main

    out = tmp_path / "runs"
    killed = _kill_in_second_checkpoint(tiny_a1, out)  # checkpoints every 40 steps
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = next(out.iterdir())
    latest = RunDir(run).latest_checkpoint()
    assert latest is not None and latest.name == "ckpt-00000040"
    before = read_metrics(run / "metrics.jsonl")
    assert max(r["step"] for r in before) == 80  # logged past the checkpoint, then killed

    assert main(["train", "--resume", str(run), "--no-progress", "--no-video"]) == 0
    rows = read_metrics(run / "metrics.jsonl")
    repeated = [k for k, n in Counter((r["kind"], r["step"]) for r in rows).items() if n > 1]
    assert not repeated, f"rows logged twice: {repeated}"
    assert [r["step"] for r in rows if r["kind"] == "train"] == [20, 40, 60, 80, 100, 120]
    episodes = [r["step"] for r in rows if r["kind"] == "episode"]
    assert episodes == sorted(episodes) and episodes[-1] >= 80
    steps = _tensorboard_steps(run, "train/episodes")
    assert steps == [20, 40, 60, 80, 100, 120]
    names = sorted(p.name for p in RunDir(run).checkpoints.iterdir())
    assert names == ["LATEST", "ckpt-00000080", "ckpt-00000120"]  # one at the end, not two


if __name__ == "__main__":  # the killed process of the first test
    sys.exit(write_checkpoints(sys.argv[1], int(sys.argv[2])))
