"""Actor and learner as threads over loopback: the learner goes away and comes back.

``hold``: the actor holds the safe pose (every command the last safe one) and produces no
transitions; ``continue``: it keeps acting on its last weights. Either way a restarted learner
gets everything, exactly once. Also :func:`run_local`, the embedded threads mode.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import RobotConfig
from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
from robot_rl.distributed.learner_loop import LearnerSettings, make_learner
from robot_rl.distributed.local import run_local
from robot_rl.distributed.sources import read_sources
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.transport import ActorClient, LearnerServer

from .conftest import FAST, wait_for

SETTINGS = LearnerSettings(publish_every=5, checkpoint_every=40, checkpoint_idle_s=0.3,
                           linger_s=0.2, tensorboard=False)


class LearnerThread:
    """A learner with its server in a thread; ``stop()`` checkpoints and closes the port."""

    def __init__(self, cfg: RobotConfig, bind: str, run: RunDir, incarnation: int) -> None:
        self.server = LearnerServer(bind, options=FAST)
        self.learner = make_learner(cfg, self.server, run, SETTINGS, incarnation=incarnation)
        if run.latest_checkpoint() is not None:
            self.learner.load(run.latest_checkpoint())
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.learner.run_until, args=(self._stop.is_set,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)
        self.server.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["hold", "continue"])
def test_actor_without_learner_holds_or_continues_then_delivers_everything(
        tmp_path: Path, tiny_cfg: RobotConfig, mode: str) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    first = LearnerThread(tiny_cfg, "tcp://127.0.0.1:0", run, incarnation=1)
    endpoint = first.server.endpoint
    env = RobotEnv(tiny_cfg, seed=1)
    commands: list[np.ndarray] = []
    send = env.robot.send_command
    env.robot.send_command = lambda q: (commands.append(np.array(q)), send(q))[1]
    client = ActorClient(endpoint, "a0", options=FAST)
    loop = ActorLoop(env, client, ActorSettings(on_learner_loss=mode, hold_period_s=0.01,
                                                seed=1))
    stop = threading.Event()
    actor = threading.Thread(target=loop.run, args=(stop.is_set,), daemon=True)
    actor.start()
    m = loop.metrics
    try:
        wait_for(lambda: m["policy_steps"] >= 10, 30, "acting on the first weights",
                 actor.is_alive)
        first.stop()  # the learner is gone (after a final checkpoint)
        held_before = m["hold_steps"]
        wait_for(lambda: not loop.learner_alive, 5, "the actor to notice", actor.is_alive)
        version = loop.weights_version  # nothing newer can come now
        if mode == "hold":
            wait_for(lambda: m["hold_steps"] > held_before, 5, "the hold", actor.is_alive)
            steps, n0, h0 = m["steps"], len(commands), m["hold_steps"]
            wait_for(lambda: m["hold_steps"] >= h0 + 10, 10, "10 held steps", actor.is_alive)
            held = commands[n0:len(commands)]  # (n0 may include one hold not yet in h0)
            assert m["steps"] == steps  # no transitions while holding
            assert len(held) >= 9 and all(np.array_equal(q, held[0]) for q in held)
            np.testing.assert_array_equal(held[0], env.safety.previous)  # the latch
        else:
            steps = m["policy_steps"]
            wait_for(lambda: m["policy_steps"] >= steps + 40, 10, "acting without a learner",
                     actor.is_alive)
            assert m["hold_steps"] == 0 and loop.weights_version == version
            assert client.pending_batches > 0  # kept for the next learner

        second = LearnerThread(tiny_cfg, endpoint, run, incarnation=2)  # same port
        try:
            resumed = m["policy_steps"]
            wait_for(lambda: loop.weights_version >= 2 << 32 and m["policy_steps"] > resumed + 5,
                     20, "acting on the new learner's weights", actor.is_alive)
            stop.set()
            actor.join(10)
            assert loop.finish(10), "not everything was committed"
        finally:
            second.stop()
    finally:
        stop.set()
        actor.join(10)
        client.close()
        env.close()
    stored = read_sources(run.latest_checkpoint() / "sources.npz")["a0"]
    np.testing.assert_array_equal(np.sort(stored), np.arange(m["steps"]))  # exactly once


@pytest.mark.timeout(60)
def test_run_local_learns_from_two_actor_threads(tmp_path: Path, tiny_cfg: RobotConfig) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    result = run_local(tiny_cfg, n_actors=2, steps=120, run=run, settings=SETTINGS,
                       options=FAST, timeout_s=45)
    s = result.learner.summary()
    assert s["received"] >= 120 and s["update_steps"] > 0 and np.isfinite(s["critic_loss"])
    assert [a["id"] for a in result.actors] == ["actor0", "actor1"]
    sources = read_sources(run.latest_checkpoint() / "sources.npz")
    assert sorted(sources) == ["actor0", "actor1"]
    for steps in sources.values():  # each actor's transitions, each once
        assert len(steps) > 0 and len(np.unique(steps)) == len(steps)
    assert any(a["policy_steps"] > 0 for a in result.actors)


def test_thread_friendly_gil_shortens_the_switch_interval_and_restores_it() -> None:
    import sys

    from robot_rl.distributed.local import THREADS_SWITCH_INTERVAL_S, thread_friendly_gil

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        with thread_friendly_gil():
            assert sys.getswitchinterval() == pytest.approx(THREADS_SWITCH_INTERVAL_S)
        assert sys.getswitchinterval() == pytest.approx(0.005)
    finally:
        sys.setswitchinterval(before)
