"""Real-time training: the robot paced at its control rate in wall time, the learner beside it.

``robot-rl train CONFIG --realtime`` trains as a real robot has to: the robot steps at
``robot.control_hz`` of wall time and never waits for the learner; the learner updates
concurrently, as fast as the machine allows up to ``learner.utd`` critic updates per
environment step, and publishes the policy after every update step; the robot acts with the
newest weights it has (random actions until the first arrive, i.e. through the warm-up).
When the learner lags, the robot keeps acting on the latest weights and the ratio actually
reached shows as the *effective UTD* (critic updates per environment step past the warm-up;
lock-step training has exactly ``learner.utd``).

It is :func:`~robot_rl.distributed.local.run_local` with one actor paced at the control rate:
the distributed :class:`~robot_rl.distributed.learner_loop.Learner` and
:class:`~robot_rl.distributed.actor_loop.ActorLoop` over ZeroMQ on loopback, as threads of
this process, and the one control step (:class:`~robot_rl.control.ControlStep` via
:class:`~robot_rl.envs.RobotEnv`). Threads rather than a learner process: the paced robot
needs about 4-5 ms of a core per 50 ms step, and measured on the A1 (docs/distributed.md,
"Real-time training") a learner process updated no faster than a learner thread while
a thread keeps one process to stop, checkpoint and evaluate.

Usage::

    result = run_realtime(cfg, steps=4000, run=RunDir.create("runs", cfg.name))
    result.learner.effective_utd, result.actors[0]["steps_per_s"]  # UTD, the robot's rate
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

from robot_rl.config import RobotConfig, load_config
from robot_rl.distributed.actor_loop import ActorEnv, ActorSettings
from robot_rl.distributed.learner_loop import Learner, LearnerSettings
from robot_rl.distributed.local import LocalRun, run_local
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.runs import MetricsLogger, RunDir, plot_learning_curve
from robot_rl.sac.device import resolve_learner
from robot_rl.session import check_more_steps, finish_run, open_run, trained_realtime
from robot_rl.signals_handling import deferred_stop
from robot_rl.train_aprl import actor_env
from robot_rl.transport import TransportOptions


def realtime_settings(cfg: RobotConfig, progress: bool = False
                      ) -> tuple[LearnerSettings, ActorSettings]:
    """The learner's and the actor's settings in real time: a publication per update step,
    the run's checkpoint and log cadence, no "behind" warning (a learner slower than the
    robot is expected: the effective UTD shows it); the actor paced at ``robot.control_hz``,
    sending each transition as it happens (the learner owes its update at once)."""
    learner = LearnerSettings(publish_every=1, checkpoint_every=cfg.train.checkpoint_every,
                              log_every=cfg.train.log_every, progress=progress,
                              warn_behind=False)
    actor = ActorSettings(batch_size=1, rate_hz=cfg.robot.control_hz, report_every_s=0.0)
    return learner, actor


def run_realtime(cfg: RobotConfig, steps: int, seed: int = 0, run: RunDir | None = None, *,
                 checkpoint: Path | None = None, env: ActorEnv | None = None,
                 progress: bool = False, should_stop: Callable[[], bool] | None = None,
                 on_learner_step: Callable[[Learner], None] | None = None,
                 options: TransportOptions | None = None) -> LocalRun:
    """Trains until ``steps`` environment steps in all (resumed ones included) or
    ``should_stop()``, the robot paced at ``cfg.robot.control_hz``.

    Args:
        cfg: the robot config.
        steps: environment steps in all.
        seed: learner seed (the robot's is ``seed + 1000``).
        run: run directory for checkpoints and metrics (None: none).
        checkpoint: a checkpoint folder of ``run`` to resume from.
        env: the robot's environment, left open (default: a new RobotEnv, closed at the end).
        progress: show the learner's progress bar (effective UTD in it).
        should_stop: e.g. Ctrl-C's flag; the robot stops, the learner stores what it sent and
            writes its final checkpoint.
        on_learner_step: called with the learner after each of its steps, in its thread
            (an evaluation there pauses the learner, never the robot).
        options: transport timing.
    """
    settings, actor = realtime_settings(cfg, progress)
    return run_local(cfg, 1, steps, seed, run, settings, actor, options, math.inf,
                     checkpoint=checkpoint, envs=None if env is None else [env],
                     should_stop=should_stop, on_learner_step=on_learner_step)


def train_realtime(config: str | None, steps: int | None, seed: int, out: str,
                   resume: str | None, video: bool = True, progress: bool = True) -> int:
    """``robot-rl train --realtime``: a run directory as :func:`robot_rl.session.train_session`
    writes (config.yaml, metrics, checkpoints, learning curve, final evaluation beside the
    nominal pose, video), trained in real time. Returns an exit status: 130 after Ctrl-C or
    SIGTERM (a checkpoint saved).

    Raises:
        ConfigError: a task graph (lock-step only), or ``resume`` names a run whose
            checkpoints are the embedded trainer's (resume it without --realtime).
    """
    checkpoint = None
    if resume is not None:
        run, cfg = open_run(resume)
        checkpoint = run.latest_checkpoint()
        if checkpoint is None:
            raise ConfigError(resume, "checkpoints", "expected at least one checkpoint to resume")
        if not trained_realtime(checkpoint):
            raise ConfigError(resume, "--realtime", "expected a run trained with --realtime; "
                              "this one trained lock-step: resume it without --realtime")
        check_more_steps(resume, checkpoint, steps, cfg.train.steps)
    else:
        assert config is not None
        cfg = load_config(config)
    graph = cfg.task_graph_settings()
    if graph is not None and graph.enabled:
        raise ConfigError(cfg.source, "task_graph.enabled", "expected false with --realtime "
                          "(task graphs train lock-step only)")
    cfg.learner = resolve_learner(cfg.learner, cfg.source)  # recorded in config.yaml
    env = actor_env(cfg, RobotEnv(cfg, seed=seed + 1000))  # URDF refused before a run dir
    try:
        if resume is None:
            run = RunDir.create(out, cfg.name)
            run.write_config(cfg)
        total = steps if steps is not None else cfg.train.steps
        if checkpoint is not None:
            print(f"resuming {run.path} from {checkpoint.name}", file=sys.stderr)
        print(f"run directory: {run.path} (real time: the robot at {cfg.robot.control_hz:g} Hz, "
              "the learner beside it)", file=sys.stderr)
        with deferred_stop() as stop:
            result = run_realtime(cfg, total, seed, run, checkpoint=checkpoint, env=env,
                                  progress=progress, should_stop=stop.is_set)
    except BaseException:
        env.close()
        raise
    learner = result.learner
    if result.stopped:
        env.close()
        print(f"\ninterrupted at step {learner.received}: checkpoint saved in "
              f"{run.checkpoints}; continue with: robot-rl train --resume {run.path} "
              "--realtime", file=sys.stderr)
        plot_learning_curve(run, f"{cfg.name}: SAC in real time")
        return 130

    def log_eval(values: dict[str, float]) -> None:
        metrics = MetricsLogger(run)
        metrics.log(learner.received, "eval", values)
        metrics.close()

    hz = result.actors[0]["steps_per_s"] if result.actors else math.nan
    return finish_run(cfg, run, learner.agent, env, seed, learner.received, log_eval, video,
                      done=f"done: {learner.received} steps, {learner.episodes} episodes in "
                      f"real time (the robot at {hz:.1f} Hz, robot.control_hz "
                      f"{cfg.robot.control_hz:g}); {learner.update_steps} update steps, "
                      f"effective UTD {learner.effective_utd:.2f} (learner.utd "
                      f"{cfg.learner.utd})")
