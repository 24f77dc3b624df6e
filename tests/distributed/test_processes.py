"""`robot-rl learner` and two `robot-rl actor` processes on loopback, with CurveZMQ keys.

One scenario, in order: the actors feed the learner and it learns (updates at the config's
UTD, finite critic loss, weights back to both actors); the learner is SIGKILLed mid-run and
restarted with --resume on the same port, and the actors reconnect on their own; an actor with
a key that is not allow-listed, and one with no key, get no weights and add nothing; after
SIGTERM the final checkpoint holds every transition of both actors exactly once.

Then, separately: actor processes refused by the learner (key removed while running, key
never listed) exit 3 saying why; and a learner process fed 10,000 hostile frames by an
allow-listed insider keeps its log short and its checkpoint sane.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.distributed.sources import read_sources
from robot_rl.runs import RunDir, read_metrics
from tests.conftest import write_config

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


def _refused_actor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict, str]:
    capsys.readouterr()
    assert main(["actor", *args, "--max-steps", "5000", "--flush-timeout", "1"]) == 3
    out = capsys.readouterr()
    return json.loads(out.out.strip().splitlines()[-1]), out.err


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

        # 3. a key not in the allow-list, or no key at all: refused, told why, nothing stored
        for args, why in ((["--id", "intruder", "--keys", str(stranger)], "not in its allow"),
                          (["--id", "nokey"], "security mechanism mismatch")):
            refused, err = _refused_actor(capsys, str(tiny_path), "--learner", endpoint, *args)
            assert refused["weights_version"] == -1 and refused["policy_steps"] == 0
            assert refused["transport"]["weights_received"] == 0
            assert refused["transport"]["acked_batches"] == 0 and not refused["committed"]
            assert why in refused["refused"] and f"{args[1]}: refused by the learner" in err

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
    train = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "train"]
    steps = [r["step"] for r in train]
    # the resumed learner dropped the killed one's rows past its checkpoint: steps never go
    # back (the shutdown row may repeat the last periodic row's step with final counters)
    assert steps == sorted(steps)
    last = train[-1]
    assert last["updates"] == UTD * last["update_steps"] > 0
    assert last["handshake_failures"] >= 2  # logged at shutdown, after the refusals
    for report in reports:
        assert report["committed"] and report["steps"] == STEPS
        assert report["policy_steps"] > 0 and report["transport"]["weights_received"] >= 1
        # it saw the learner die and come back: a new incarnation answered (it also counts
        # ``learner_lost`` only when the restart took longer than its peer timeout)
        assert report["transport"]["learner_restarts"] >= 1


# ------------------------------------------------------------------ refused actor processes
def _pump_until(server, cond, timeout_s: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        server.poll(0.02)


def _count_rereads(server) -> list[bool]:  # noqa: ANN001
    """From now on, one entry per re-read of the server's allow-list: whether keys changed."""
    allow = server._gate.allow
    reread, seen = allow.refresh, []

    def counted(force: bool = False) -> bool:
        changed = reread(force)
        seen.append(changed)
        return changed

    allow.refresh = counted
    return seen


def test_refused_actor_processes_exit_3_and_say_why(tmp_path: Path, tiny_path: Path) -> None:
    from robot_rl.transport import LearnerServer, server_curve

    keys, other = tmp_path / "keys", tmp_path / "other"
    assert main(["keys", "generate", str(keys), "--name", "a0"]) == 0
    assert main(["keys", "generate", str(other), "--name", "a9"]) == 0
    shutil.copy(keys / "learner.key", other / "learner.key")  # right learner, unlisted key
    actors: list[subprocess.Popen] = []
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys)) as server:
        try:
            for name, key_dir in (("a0", keys), ("a9", other)):
                actors.append(_cli(tmp_path, name, "actor", str(tiny_path), "--learner",
                                   server.endpoint, "--id", name, "--keys", str(key_dir),
                                   "--rate-hz", "50", "--batch", "4"))
            a0, a9 = actors
            _pump_until(server, lambda: server.metrics["accepted_batches"] > 0
                        and a9.poll() is not None, 30, "a0's first batch and a9's exit")
            rereads = _count_rereads(server)
            (keys / "actors" / "a0.key").unlink()  # revoked while a0 runs
            assert server.metrics["revoked"] == 0
            _pump_until(server, lambda: server.metrics["revoked"] > 0, 10, "the revocation")
            # the first re-read of the allow-list after the removal (every allow_refresh_s,
            # from poll) saw it and refused a0: a cause, not a stopwatch (issue 12)
            assert rereads[0] is True and rereads.count(True) == 1, rereads
            _pump_until(server, lambda: a0.poll() is not None, 10, "a0 to exit")
        finally:
            for p in actors:
                if p.poll() is None:
                    p.kill()
                p.wait(10)
    assert [p.returncode for p in actors] == [3, 3]
    err0, err9 = ((tmp_path / f"{n}.log").read_text() for n in ("a0", "a9"))
    assert ("actor a0: refused by the learner: this actor's key was removed from the "
            "learner's allow-list (revoked)") in err0
    assert ("actor a9: refused by the learner: the learner did not accept this actor's key "
            "'a9' (not in its allow-list; ZAP status 400)") in err9
    assert _last_json(tmp_path / "a0.out")["transport"]["acked_batches"] > 0



def test_actor_with_another_robot_config_is_refused_and_exits_3(tmp_path: Path,
                                                                 tiny_path: Path) -> None:
    """An actor whose config gives other observation sizes is told so by the learner (it
    does not exit 0 as if the learner had its data), and the learner stores none of it."""
    from robot_rl.config import load_config
    from robot_rl.distributed import LearnerSettings, make_learner
    from robot_rl.transport import LearnerServer


    other = write_config(tmp_path, tiny_path, {"observation": {
        "signals": ["joint_position", "joint_velocity"]}}, name="other.yaml")
    cfg = load_config(str(tiny_path))
    with LearnerServer("tcp://127.0.0.1:0") as server:
        learner = make_learner(cfg, server, None, LearnerSettings(tensorboard=False,
                                                                  progress=False))
        actor = _cli(tmp_path, "other", "actor", str(other), "--learner", server.endpoint,
                     "--id", "other", "--rate-hz", "50", "--batch", "4")
        try:
            wait_for(lambda: learner.step(0.02) is None and actor.poll() is not None, 60,
                     "the mismatched actor to exit")
        finally:
            if actor.poll() is None:
                actor.kill()
            actor.wait(10)
    assert actor.returncode == 3
    err = (tmp_path / "other.log").read_text()
    assert "actor other: refused by the learner: its transitions do not fit this learner " \
           "(obs: expected numbers shaped" in err and "(mismatch)" in err, err[-2000:]
    assert _last_json(tmp_path / "other.out")["committed"] is False
    assert learner.received == 0 and learner.bad_transitions > 0
    assert learner.mismatched_batches >= 1


# ------------------------------------------------------------------ 10,000 hostile frames
def _hostile_frames(rng: np.random.Generator, n: int) -> list[list[bytes]]:
    """An allow-listed insider's worst: noise, others' names, huge marks, fake streams."""
    from robot_rl.transport import encode
    from robot_rl.transport import protocol as proto

    out, junk = [], {"uid": np.zeros(3, np.int64)}
    for i in range(n):
        kind, big = i % 7, int(rng.integers(2**63))
        inc = int(rng.integers(2**63))
        if kind == 0:
            out.append([rng.bytes(int(rng.integers(0, 64)))])
        elif kind == 1:  # another actor's name
            out.append(encode(proto.HEARTBEAT, {"actor": "a0", "inc": 1, "wv": -1,
                                                "committed": big}))
        elif kind == 2:
            out.append(encode(proto.TRANSITIONS, {"actor": f"ghost{i}", "inc": inc, "seq": 1,
                                                  "n": 3}, junk))
        elif kind == 3:  # huge committed marks on ever new streams of its own
            out.append(encode(proto.HEARTBEAT, {"actor": "mallory", "inc": inc, "wv": big,
                                                "committed": big if i % 2 else 60_000}))
        elif kind == 4:  # huge sequence numbers
            out.append(encode(proto.TRANSITIONS, {"actor": "mallory", "inc": inc, "seq": big,
                                                  "n": 3}, junk))
        elif kind == 5:  # fake streams whose batches the learner's checks drop
            out.append(encode(proto.TRANSITIONS, {"actor": "mallory", "inc": inc, "seq": 1,
                                                  "n": 3}, junk))
        else:
            out.append(encode(proto.STATUS, {"session": 1, "hwm": 1, "committed": 1,
                                             "gap": False}))
    return out


def _transitions(obs_dim: int, act_dim: int, first: int, n: int) -> dict[str, np.ndarray]:
    return {"obs": np.zeros((n, obs_dim), np.float32), "action": np.zeros((n, act_dim),
            np.float32), "reward": np.zeros(n, np.float32),
            "next_obs": np.zeros((n, obs_dim), np.float32), "terminated": np.zeros(n, bool),
            "truncated": np.zeros(n, bool), "step": np.arange(first, first + n)}


def test_learner_process_survives_ten_thousand_hostile_frames(tmp_path: Path,
                                                              tiny_path: Path) -> None:
    import zmq

    from robot_rl.config import load_config
    from robot_rl.spaces import ObservationBuilder
    from robot_rl.transport import ActorClient, client_curve

    keys, run = tmp_path / "keys", RunDir(tmp_path / "run")
    assert main(["keys", "generate", str(keys), "--name", "a0", "--name", "mallory"]) == 0
    cfg = load_config(str(tiny_path))
    obs_dim, act_dim = ObservationBuilder(cfg).size, cfg.n_joints
    learner = _cli(tmp_path, "learner", "learner", str(tiny_path), "--bind", "tcp://127.0.0.1:0",
                   "--run-dir", str(run.path), "--keys", str(keys), "--no-tensorboard",
                   "--checkpoint-every", "10000")  # with its progress bar
    frames = _hostile_frames(np.random.default_rng(3), 10_000)
    ctx = zmq.Context()
    evil = ctx.socket(zmq.DEALER)
    good = None
    try:
        wait_for(lambda: (run.path / "endpoint").is_file(), 60, "the learner to bind",
                 lambda: learner.poll() is None, every_s=0.1)
        endpoint = (run.path / "endpoint").read_text().strip()
        mallory = client_curve(keys, "mallory")
        evil.linger, evil.sndtimeo = 0, 10_000
        evil.curve_publickey, evil.curve_secretkey = mallory.public, mallory.secret
        evil.curve_serverkey = mallory.server_public
        evil.connect(endpoint)
        good = ActorClient(endpoint, "a0", client_curve(keys, "a0"))
        sent = 0
        for i, message in enumerate(frames):
            evil.send_multipart(message)  # waits while the learner's queue for it is full
            if i % 500 == 0:  # the honest actor goes on meanwhile
                good.send_transitions(_transitions(obs_dim, act_dim, sent, 10))
                sent += 10
            good.poll(0)
        assert good.flush(30), "the honest actor's transitions were not all committed"
        learner.send_signal(signal.SIGTERM)
        assert learner.wait(30) == 0
    finally:
        if good is not None:
            good.close()
        evil.close()
        ctx.term()
        if learner.poll() is None:
            learner.kill()
            learner.wait(10)
    state = _state(run)
    m = state["transport_metrics"]
    streams = state["transport"]["streams"]
    assert state["received"] == sent == 200  # the insider's batches all failed the checks
    assert sorted(read_sources(run.latest_checkpoint() / "sources.npz")) == ["a0"]
    assert {k.split("#")[0] for k in streams} <= {"a0", "mallory"}
    assert len(streams) <= 1 + 16  # mallory: at most max_streams_per_actor
    assert m["lost_batches"] <= 16 * 65536  # at most one bounded skip per stream
    # every kind of hostile frame was met and counted. How many of the 10,000 the learner
    # reached before SIGTERM depends on the machine's load (ZeroMQ queues and the kernel's
    # socket buffers hold thousands of small frames), so no count is asserted: on an idle
    # 2-core machine each counter passes 1,000, under a load of 8 it once stopped at 36
    assert m["forged"] > 0 and m["bad_marks"] > 0 and m["rejected"] > 0
    assert m["forged"] + m["bad_marks"] + m["rejected"] <= len(frames)
    log = (tmp_path / "learner.log").read_text()
    assert log.count("\n") < 300, log.count("\n")
    for line in log.splitlines():  # no log record glued onto the progress bar
        for part in line.split("\r"):
            if " robot_rl." in part and ": " in part:
                assert part[:2] == "20", part
