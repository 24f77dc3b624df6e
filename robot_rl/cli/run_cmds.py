"""``robot-rl train`` and ``robot-rl eval`` (the work is in :mod:`robot_rl.session`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from robot_rl.errors import ConfigError


def check_resume_robot(config: str, run_dir: str) -> None:
    """A config given with ``--resume`` must be the run's robot: a config for another robot
    is refused (the run's own config.yaml is what resumes)."""
    from robot_rl.config import load_config
    from robot_rl.runs import RunDir

    given = load_config(config, warn=False)
    run_config = RunDir(run_dir).config_path
    if not run_config.is_file():
        return  # not a run: the session says so
    ran = load_config(run_config, warn=False)
    if given.name != ran.name:
        raise ConfigError(config, "--resume", f"expected a config for the run's robot "
                          f"{ran.name!r} ({run_dir}), got one for robot {given.name!r}")


def check_train(args: argparse.Namespace) -> None:
    """Config and command-line mistakes of ``train``, found before the training stack (torch)
    is imported and long before a run directory is created."""
    if args.resume is None and args.config is None:
        raise ConfigError("<command line>", "config", "expected a robot config YAML or "
                          "--resume RUN_DIR")
    if args.realtime and args.task_graph is not None:
        raise ConfigError("<command line>", "--realtime", "expected no --task-graph with it "
                          "(task graphs train lock-step only)")
    if args.resume is not None:
        if args.config is not None:
            check_resume_robot(args.config, args.resume)
        return
    from robot_rl.config import load_config

    load_config(args.config, warn=False)  # warnings: once, when the session loads it
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError("<command line>", "--out", "expected a folder for run "
                          f"directories, {args.out!r} is a file")


def cmd_train(args: argparse.Namespace) -> int:
    if args.realtime:
        from robot_rl.distributed.realtime import train_realtime

        return train_realtime(config=args.config, steps=args.steps, seed=args.seed,
                              out=args.out, resume=args.resume, video=not args.no_video,
                              progress=not args.no_progress)
    from robot_rl.session import train_session

    return train_session(config=args.config, steps=args.steps, seed=args.seed, out=args.out,
                         resume=args.resume, video=not args.no_video,
                         progress=not args.no_progress, task_graph=args.task_graph)


def eval_video_path(run_dir: str | Path) -> Path:
    """Where ``robot-rl eval RUN_DIR`` films by default: a new ``eval-<time>.mp4`` in the run,
    never the training run's own ``eval.mp4``."""
    base = Path(run_dir) / f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base.with_suffix(".mp4"), 1
    while path.exists():
        path, i = Path(f"{base}-{i}.mp4"), i + 1
    return path


def cmd_eval(args: argparse.Namespace) -> int:
    from robot_rl.session import eval_session

    video = None if args.no_video else (args.video or str(eval_video_path(args.run_dir)))
    return eval_session(args.run_dir, episodes=args.episodes, seed=args.seed, video=video,
                        as_json=args.json)
