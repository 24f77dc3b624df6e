"""One learner and N actors as threads in this process, over the real transport on loopback.

The same :class:`Learner`, :class:`ActorLoop`, :class:`LearnerServer` and
:class:`ActorClient` as the ``robot-rl learner`` / ``robot-rl actor`` processes, only
started as threads on a free localhost port: for tests and quick experiments.

Usage::

    result = run_local(cfg, n_actors=2, steps=2000, run=RunDir.create("runs", cfg.name))
    result.learner.summary()["critic_loss"], result.actors[0]["policy_steps"]
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from robot_rl.config import RobotConfig
from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
from robot_rl.distributed.learner_loop import Learner, LearnerSettings, make_learner
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.train_aprl import actor_env
from robot_rl.transport import ActorClient, LearnerServer, TransportOptions


@dataclass
class LocalRun:
    """What :func:`run_local` leaves behind: the learner and each actor's summary."""

    learner: Learner
    actors: list[dict[str, Any]] = field(default_factory=list)


# Python hands the GIL to a waiting thread only after the holder has run this long. A learner
# thread releases the GIL in every torch op and then waits for an actor thread that steps
# PyBullet without pause: with the default 5 ms each of the ~hundreds of ops per update waited,
# updates took seconds, heartbeats stopped and the actor declared the learner dead (a test
# took 60 s instead of 12). 0.1 ms keeps both threads moving.
THREADS_SWITCH_INTERVAL_S = 1e-4


@contextlib.contextmanager
def thread_friendly_gil(interval_s: float = THREADS_SWITCH_INTERVAL_S) -> Iterator[None]:
    """Shortens the interpreter's thread switch interval while learner and actors share a
    process; restores it afterwards."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval_s))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_local(cfg: RobotConfig, n_actors: int = 2, steps: int = 1000, seed: int = 0,
              run: RunDir | None = None, settings: LearnerSettings | None = None,
              actor_settings: ActorSettings | None = None,
              options: TransportOptions | None = None, timeout_s: float = 600.0) -> LocalRun:
    """Runs a learner and ``n_actors`` actors as threads until ``steps`` transitions arrived.

    Args:
        cfg: the robot config (each actor builds its own PyBullet environment).
        n_actors: number of actor threads, named ``actor0``, ``actor1``, ...
        steps: transitions the learner receives before everything stops.
        seed: learner seed; actor ``i`` uses ``seed + 1000 * (i + 1)``.
        run: run directory for the learner's checkpoints and metrics (None: none).
        settings: learner cadence (``steps`` is overridden).
        actor_settings: actor behaviour (``seed`` is overridden per actor).
        options: transport timing.
        timeout_s: give up (RuntimeError) if the learner has not finished by then.

    Raises:
        RuntimeError: a thread failed or the run timed out (the first error is chained).
    """
    settings = LearnerSettings(**{**(settings or LearnerSettings()).__dict__, "steps": steps})
    server = LearnerServer("tcp://127.0.0.1:0", options=options)
    learner = make_learner(cfg, server, run, settings, seed)
    stop = threading.Event()
    errors: list[BaseException] = []
    result = LocalRun(learner)

    def guard(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as err:  # noqa: BLE001 - reported to the caller below
            errors.append(err)
            stop.set()

    def actor(i: int) -> None:
        env = actor_env(cfg, RobotEnv(cfg, seed=seed + 1000 * (i + 1)))  # APRL gate if active
        client = ActorClient(server.endpoint, f"actor{i}", options=options)
        base = actor_settings or ActorSettings()
        loop = ActorLoop(env, client, ActorSettings(**{**base.__dict__,
                                                       "seed": seed + 1000 * (i + 1)}))
        try:
            loop.run(stop.is_set)
            result.actors.append({"id": client.actor_id, **loop.summary()})
        finally:
            client.close()
            env.close()

    threads = [threading.Thread(target=guard, args=(actor, i), name=f"actor{i}", daemon=True)
               for i in range(n_actors)]
    learner_thread = threading.Thread(target=guard, args=(learner.run_until, stop.is_set),
                                      name="learner", daemon=True)
    with thread_friendly_gil():
        for t in (learner_thread, *threads):
            t.start()
        try:
            learner_thread.join(timeout_s)
            timed_out = learner_thread.is_alive()
            stop.set()
            learner_thread.join(30)
            for t in threads:
                t.join(30)
        finally:
            stop.set()
            server.close()
    if errors:
        raise RuntimeError(f"run_local: a thread failed: {errors[0]!r}") from errors[0]
    if timed_out:
        raise RuntimeError(f"run_local: the learner did not receive {steps} transitions "
                           f"within {timeout_s} s")
    result.actors.sort(key=lambda a: a["id"])
    return result
