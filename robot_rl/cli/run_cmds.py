"""``robot-rl train``, ``pretrain`` and ``eval`` (the work is in :mod:`robot_rl.session` and
:mod:`robot_rl.pretrain`)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from robot_rl.errors import ConfigError


def check_resume_robot(config: str, run_dir: str) -> None:
    """A config given with ``--resume`` must be the run's robot: a config for another robot
    is refused; the run's own config.yaml is what resumes, so a config that differs from it
    gets one note line naming the keys whose change does not apply."""
    from robot_rl.config import load_config
    from robot_rl.config.loader import to_dict
    from robot_rl.runs import RunDir

    given = load_config(config, warn=False)
    run_config = RunDir(run_dir).config_path
    if not run_config.is_file():
        return  # not a run: the session says so
    ran = load_config(run_config, warn=False)
    if given.name != ran.name:
        raise ConfigError(config, "--resume", f"expected a config for the run's robot "
                          f"{ran.name!r} ({run_dir}), got one for robot {given.name!r}")
    changed = config_changes(to_dict(given), to_dict(ran))
    if changed:
        shown = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4
                                           else "")
        print(f"robot-rl: note: resuming with the run's own {run_config}; {config} differs "
              f"from it at {shown} (not applied)", file=sys.stderr)


def config_changes(given: Any, ran: Any, key: str = "") -> list[str]:
    """Dotted keys at which config data ``given`` differs from a run's ``ran`` (both
    ``to_dict`` of a loaded config); ``learner.device`` and ``learner.precision`` left at
    ``auto`` match what the run resolved them to."""
    if isinstance(given, dict) and isinstance(ran, dict):
        return [k for name in sorted(set(given) | set(ran))
                for k in config_changes(given.get(name), ran.get(name),
                                        f"{key}.{name}" if key else name)]
    if key in ("learner.device", "learner.precision") and given == "auto":
        return []
    return [] if given == ran else [key]


def check_train(args: argparse.Namespace) -> None:
    """Config and command-line mistakes of ``train``, found before the training stack (torch)
    is imported and long before a run directory is created."""
    if args.resume is None and args.config is None:
        raise ConfigError("<command line>", "config", "expected a robot config YAML or "
                          "--resume RUN_DIR")
    if args.realtime and args.task_graph is not None:
        raise ConfigError("<command line>", "--realtime", "expected no --task-graph with it "
                          "(task graphs train lock-step only)")
    if args.interventions is not None and (args.realtime or args.task_graph is not None):
        raise ConfigError("<command line>", "--interventions", "expected neither --realtime "
                          "nor --task-graph with it (interventions train the plain task "
                          "lock-step)")
    if args.init is not None:
        if args.resume is not None or args.realtime:
            raise ConfigError("<command line>", "--init", "expected neither --resume nor "
                              "--realtime with it (--init starts a new lock-step run)")
        if not Path(args.init).exists():
            raise ConfigError(args.init, "--init", "expected an existing run directory, "
                              "checkpoint folder or agent.pt")
    if args.resume is not None:
        if args.config is not None:
            check_resume_robot(args.config, args.resume)
        return
    from robot_rl.config import load_config

    load_config(args.config, warn=False)  # warnings: once, when the session loads it
    check_out(args.out)


def check_out(out: str, option: str = "--out") -> None:
    """``--out`` (or ``option``, e.g. the learner's ``--run-dir``) must be a folder, or one
    that can be made: its nearest existing parent a folder we may write in."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError("<command line>", option, "expected a folder for run "
                          f"directories, {out!r} is a file")
    parent = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError("<command line>", option, f"expected a folder that can be made, "
                          f"{str(parent)!r} is a file")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError("<command line>", option, f"expected a folder that can be written, "
                          f"{str(parent)!r} cannot be")


def check_pretrain(args: argparse.Namespace) -> None:
    """Mistakes of ``pretrain`` found before torch is imported: the config, the dataset's
    path (its arrays are checked once the robot's sizes are known), ``--out``."""
    from robot_rl.config import load_config

    load_config(args.config, warn=False)
    data = Path(args.data)
    if not data.is_file():
        raise ConfigError(args.data, "--data", "expected an existing .npz of prior "
                          "transitions or an .mcap recording")
    check_out(args.out)


def cmd_train(args: argparse.Namespace) -> int:
    if args.realtime:
        from robot_rl.distributed.realtime import train_realtime

        return train_realtime(config=args.config, steps=args.steps, seed=args.seed,
                              out=args.out, resume=args.resume, video=not args.no_video,
                              progress=not args.no_progress)
    from robot_rl.session import train_session

    return train_session(config=args.config, steps=args.steps, seed=args.seed, out=args.out,
                         resume=args.resume, video=not args.no_video,
                         progress=not args.no_progress, task_graph=args.task_graph,
                         init=args.init, interventions=args.interventions)


def cmd_pretrain(args: argparse.Namespace) -> int:
    from robot_rl.pretrain import pretrain_session

    if Path(args.data).suffix.lower() != ".mcap":
        return pretrain_session(args.config, args.data, method=args.method, steps=args.steps,
                                seed=args.seed, out=args.out, progress=not args.no_progress,
                                source=args.data, critic_steps=args.critic_steps)
    from robot_rl.nodes.session_record import recording_to_prior

    with tempfile.TemporaryDirectory(prefix="robot-rl-pretrain-") as tmp:
        npz = Path(tmp) / (Path(args.data).stem + ".npz")
        try:
            recording_to_prior([args.data], npz)
        except (OSError, ValueError) as err:
            raise ConfigError(args.data, "--data", f"expected an MCAP recording with "
                              f"transitions (robot-rl node actor): {err}") from None
        return pretrain_session(args.config, str(npz), method=args.method, steps=args.steps,
                                seed=args.seed, out=args.out, progress=not args.no_progress,
                                source=args.data, critic_steps=args.critic_steps)


def eval_video_path(run_dir: str | Path) -> Path:
    """Where ``robot-rl eval RUN_DIR`` films by default: a new ``eval-<time>.mp4`` in the run,
    never the training run's own ``eval.mp4``."""
    base = Path(run_dir) / f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base.with_suffix(".mp4"), 1
    while path.exists():
        path, i = Path(f"{base}-{i}.mp4"), i + 1
    return path


def check_eval(args: argparse.Namespace) -> None:
    """``eval --video PATH`` must be a file in an existing folder: found before the episodes
    run, not when the video is written after them."""
    if args.video is None or args.no_video:
        return
    video = Path(args.video)
    if video.suffix.lower() != ".mp4":
        raise ConfigError("<command line>", "--video", f"expected an MP4 file path ending "
                          f"in .mp4, got {args.video!r}")
    if video.is_dir():
        raise ConfigError("<command line>", "--video", f"expected an MP4 file path, "
                          f"{args.video!r} is a folder")
    if not video.parent.is_dir():
        raise ConfigError("<command line>", "--video", f"expected a path in an existing "
                          f"folder, {str(video.parent)!r} does not exist")


def cmd_eval(args: argparse.Namespace) -> int:
    from robot_rl.session import eval_session

    video = None if args.no_video else (args.video or str(eval_video_path(args.run_dir)))
    return eval_session(args.run_dir, episodes=args.episodes, seed=args.seed, video=video,
                        as_json=args.json)
