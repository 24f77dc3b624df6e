"""One learner and N actors as threads in this process, over the real transport on loopback.

The same :class:`Learner`, :class:`ActorLoop`, :class:`LearnerServer` and
:class:`ActorClient` as the ``robot-rl learner`` / ``robot-rl actor`` processes, only
started as threads on a free localhost port: for tests and quick experiments.

Usage::

    result = run_local(cfg, n_actors=2, steps=2000, run=RunDir.create("runs", cfg.name))
    result.learner.summary()["critic_loss"], result.actors[0]["policy_steps"]

Real-time training (``robot-rl train --realtime``, :mod:`robot_rl.distributed.realtime`) is
this with one actor paced at the robot's control rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot_rl.config import RobotConfig
from robot_rl.distributed.actor_loop import ActorEnv, ActorLoop, ActorSettings
from robot_rl.distributed.learner_loop import (
    Learner,
    LearnerSettings,
    make_learner,
    next_incarnation,
)
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.train_aprl import actor_env
from robot_rl.transport import ActorClient, LearnerServer, TransportOptions


@dataclass
class LocalRun:
    """What :func:`run_local` leaves behind: the learner, each actor's summary (its loop's,
    with ``id`` and ``steps_per_s``, its rate while stepping), the wall time (s) the threads
    ran and whether ``should_stop`` ended the run."""

    learner: Learner
    actors: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    stopped: bool = False


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


HANDOVER_S = 5.0
"""After a stop, how long the learner waits for the batches the stopped actors still send."""
FLUSH_S = 10.0
"""How long a stopped actor waits for the learner to commit its last batches."""


def run_local(cfg: RobotConfig, n_actors: int = 2, steps: int = 1000, seed: int = 0,
              run: RunDir | None = None, settings: LearnerSettings | None = None,
              actor_settings: ActorSettings | None = None,
              options: TransportOptions | None = None, timeout_s: float = 600.0, *,
              checkpoint: Path | None = None, envs: Sequence[ActorEnv] | None = None,
              should_stop: Callable[[], bool] | None = None,
              on_learner_step: Callable[[Learner], None] | None = None) -> LocalRun:
    """Runs a learner and ``n_actors`` actors as threads until ``steps`` transitions arrived.

    One actor stops at exactly ``steps`` transitions in all (resumed ones included), sends its
    last batch and waits until the learner committed it; several step until the learner has
    ``steps``. ``should_stop()`` (e.g. Ctrl-C's flag) ends the run early the same way: the
    actors stop, the learner stores what they sent and writes its final checkpoint.

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
        checkpoint: a checkpoint folder of ``run`` to resume the learner from.
        envs: the actors' environments, one per actor, left open (default: a RobotEnv per
            actor, behind APRL's gate if active, closed at the end).
        should_stop: checked every 50 ms by the calling thread; true ends the run.
        on_learner_step: called with the learner after each of its steps, in its thread.

    Raises:
        RuntimeError: a thread failed or the run timed out (the first error is chained).
    """
    if envs is not None and len(envs) != n_actors:
        raise ValueError(f"expected {n_actors} environments, got {len(envs)}")
    settings = dataclasses.replace(settings or LearnerSettings(), steps=steps)
    server = LearnerServer("tcp://127.0.0.1:0", options=options)
    try:
        learner = make_learner(cfg, server, run, settings, seed,
                               next_incarnation(run) if run is not None else 0)
        if checkpoint is not None:
            learner.load(checkpoint)
    except BaseException:
        server.close()
        raise
    result = LocalRun(learner)
    quota = max(steps - learner.received, 0) if n_actors == 1 else None
    accepted_before = learner.accepted
    stop = threading.Event()  # the actors stop stepping and hand over what they hold
    abort = threading.Event()  # everything stops at once (a thread failed, time is up)
    handed: list[int] = []  # per stopped actor: transitions it sent, its last batch included
    handover_deadline = [math.inf]
    errors: list[BaseException] = []

    def guard(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as err:  # noqa: BLE001 - reported to the caller below
            errors.append(err)
            stop.set()
            abort.set()

    def learner_stops() -> bool:
        if abort.is_set():
            return True
        if not stop.is_set():
            return False
        handed_over = (len(handed) == n_actors
                       and learner.accepted - accepted_before >= sum(handed))
        return handed_over or time.monotonic() > handover_deadline[0]

    def actor(i: int) -> None:
        own = envs is None
        env: Any = (actor_env(cfg, RobotEnv(cfg, seed=seed + 1000 * (i + 1))) if envs is None
                    else envs[i])  # APRL gate if active
        client = ActorClient(server.endpoint, f"actor{i}", options=options)
        base = actor_settings or ActorSettings()
        loop = ActorLoop(env, client, ActorSettings(**{**base.__dict__,
                                                       "seed": seed + 1000 * (i + 1)}))
        try:
            started = time.monotonic()
            loop.run(stop.is_set, quota)
            stepped_s = time.monotonic() - started
            loop.finish(0.0)  # the last partial batch, into the client's store
            handed.append(loop.metrics["sent_transitions"])
            if quota is not None and not stop.is_set():  # the one actor made all `steps`
                handover_deadline[0] = time.monotonic() + HANDOVER_S
                stop.set()
            if learner_thread.is_alive() and not abort.is_set():
                client.flush(FLUSH_S)  # sends it; returns once the learner committed it
            result.actors.append({"id": client.actor_id, **loop.summary(),
                                  "steps_per_s": loop.metrics["steps"] / max(stepped_s, 1e-9)})
        finally:
            client.close()
            if own:
                env.close()

    threads = [threading.Thread(target=guard, args=(actor, i), name=f"actor{i}", daemon=True)
               for i in range(n_actors)]
    learner_thread = threading.Thread(
        target=guard, args=(learner.run_until, learner_stops, on_learner_step),
        name="learner", daemon=True)
    t0 = time.monotonic()
    timed_out = False
    with thread_friendly_gil():
        for t in (learner_thread, *threads):
            t.start()
        try:
            deadline = t0 + timeout_s
            while learner_thread.is_alive() and not abort.is_set():
                if should_stop is not None and not stop.is_set() and should_stop():
                    result.stopped = True
                    handover_deadline[0] = time.monotonic() + HANDOVER_S
                    stop.set()
                if time.monotonic() > deadline:
                    timed_out = True
                    abort.set()
                learner_thread.join(0.05)
            stop.set()
            learner_thread.join(300)  # its final checkpoint
            for t in threads:
                t.join(30 + FLUSH_S)
        finally:
            stop.set()
            abort.set()
            server.close()
            result.wall_s = time.monotonic() - t0
    if errors:
        raise RuntimeError(f"run_local: a thread failed: {errors[0]!r}") from errors[0]
    if timed_out:
        raise RuntimeError(f"run_local: the learner did not receive {steps} transitions "
                           f"within {timeout_s} s")
    result.actors.sort(key=lambda a: a["id"])
    return result
