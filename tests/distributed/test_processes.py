"""`robot-rl learner` and two `robot-rl actor` processes on loopback, with CurveZMQ keys.

One scenario, in order: the actors feed the learner and it learns (updates at the config's
UTD, finite critic loss, weights back to both actors); the learner is SIGKILLed mid-run and
restarted with --resume on the same port, and the actors reconnect on their own; an actor with
a key that is not allow-listed, and one with no key, get no weights and add nothing; after
SIGTERM the final checkpoint holds every transition of both actors exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.distributed.sources import read_sources
from robot_rl.runs import RunDir, read_metrics

from .conftest import wait_for

pytestmark = pytest.mark.timeout(150)

ROOT = Path(__file__).resolve().parents[2]
STEPS = 300  # per actor
WARMUP, UTD = 40, 2  # tiny_path


def _cli(tmp: Path, name: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "robot_rl.cli", *args], cwd=ROOT, env=env,
                            stdout=open(tmp / f"{name}.out", "w"),
                            stderr=open(tmp / f"{name}.log", "w"))


def _state(run: RunDir) -> dict:
    folder = run.latest_checkpoint()
    if folder is None:
        return {"received": 0, "update_steps": 0}
    try:
        return json.loads((folder / "learner.json").read_text())
    except FileNotFoundError:  # pruned between reading LATEST and the file
        return {"received": 0, "update_steps": 0}


def _last_json(path: Path) -> dict:
    # the actor prints its summary as the last line (PyBullet itself may print before it)
    return json.loads(path.read_text().strip().splitlines()[-1])


def _refused_actor(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["actor", *args, "--max-steps", "10", "--flush-timeout", "1"]) == 1
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_two_actors_learner_killed_and_resumed_every_transition_once(
        tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys, stranger = tmp_path / "keys", tmp_path / "stranger"
    assert main(["keys", "generate", str(keys), "--name", "a0", "--name", "a1"]) == 0
    assert main(["keys", "generate", str(stranger), "--name", "intruder"]) == 0
    shutil.copy(keys / "learner.key", stranger / "learner.key")  # right learner, unlisted key
    run = RunDir(tmp_path / "run")
    common = ["--keys", str(keys), "--checkpoint-every", "100", "--publish-every", "10",
              "--log-every", "50", "--no-progress", "--no-tensorboard"]
    procs: list[subprocess.Popen] = []
    try:
        learner = _cli(tmp_path, "learner1", "learner", str(tiny_path), "--bind",
                       "tcp://127.0.0.1:0", "--run-dir", str(run.path), *common)
        procs.append(learner)
        wait_for(lambda: (run.path / "endpoint").is_file(), 60, "the learner to bind",
                 lambda: learner.poll() is None, every_s=0.1)
        endpoint = (run.path / "endpoint").read_text().strip()
        actors = [_cli(tmp_path, f"a{i}", "actor", str(tiny_path), "--learner", endpoint,
                       "--id", f"a{i}", "--keys", str(keys), "--seed", str(i), "--max-steps",
                       str(STEPS), "--rate-hz", "40") for i in range(2)]
        procs += actors

        # 1. it learns: a checkpoint after warm-up with updates, and a finite critic loss
        wait_for(lambda: _state(run)["received"] >= 100 and _state(run)["update_steps"] > 0,
                 60, "a checkpoint with updates", lambda: learner.poll() is None, every_s=0.1)
        rows = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "train"]
        assert any(r["update_steps"] > 0 and np.isfinite(r["critic_loss"]) for r in rows
                   if "critic_loss" in r)

        # 2. SIGKILL mid-run (the actors are still going), restart on the same port
        assert all(a.poll() is None for a in actors), "the actors finished before the kill"
        learner.kill()
        learner.wait(10)
        killed_at = _state(run)["received"]
        learner = _cli(tmp_path, "learner2", "learner", "--resume", str(run.path), "--bind",
                       endpoint, *common)
        procs.append(learner)
        for actor in actors:  # each exits 0 only once the learner committed all it sent
            wait_for(lambda: actor.poll() is not None, 90, "the actors to finish",
                     lambda: learner.poll() is None, every_s=0.1)
        reports = [_last_json(tmp_path / f"a{i}.out") for i in range(2)]
        assert [a.returncode for a in actors] == [0, 0], reports

        # 3. a key not in the allow-list, or no key at all: no weights, nothing stored
        for args in (["--id", "intruder", "--keys", str(stranger)], ["--id", "nokey"]):
            refused = _refused_actor(capsys, str(tiny_path), "--learner", endpoint, *args)
            assert refused["weights_version"] == -1 and refused["policy_steps"] == 0
            assert refused["transport"]["weights_received"] == 0
            assert refused["transport"]["acked_batches"] == 0 and not refused["committed"]

        learner.send_signal(signal.SIGTERM)
        assert learner.wait(30) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)

    # 4. the final checkpoint holds each actor's transitions 0..STEPS-1 exactly once
    state = _state(run)
    assert killed_at < state["received"] == 2 * STEPS
    sources = read_sources(run.latest_checkpoint() / "sources.npz")
    assert sorted(sources) == ["a0", "a1"]
    for steps in sources.values():
        np.testing.assert_array_equal(np.sort(steps), np.arange(STEPS))
    assert state["update_steps"] + state["lag"] + state["dropped_updates"] == 2 * STEPS - WARMUP
    last = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "train"][-1]
    assert last["updates"] == UTD * last["update_steps"] > 0
    assert last["handshake_failures"] >= 2  # logged at shutdown, after the refusals
    for report in reports:
        assert report["committed"] and report["steps"] == STEPS
        assert report["policy_steps"] > 0 and report["transport"]["weights_received"] >= 1
        assert report["transport"]["learner_lost"] >= 1  # it saw the learner die ...
        assert report["transport"]["learner_restarts"] >= 1  # ... and come back
