"""The ``robot-rl`` command line: ``train``, ``eval`` and friends.

Configuration mistakes print one line (file, key, what was expected) and exit with status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from robot_rl.errors import ConfigError

Command = Callable[[argparse.Namespace], int]


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train in one process on the PyBullet robot",
                       description="Embedded training: robot, actor and learner in one process.")
    p.add_argument("config", nargs="?", help="robot config YAML (not needed with --resume)")
    p.add_argument("--steps", type=int, help="total environment steps (default: train.steps)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="runs", help="folder for new run directories (default runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--no-video", action="store_true", help="skip the evaluation video")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--task-graph", choices=("reset_free", "episodic"),
                   help="train the config's task_graph in this mode (docs/task_graph.md)")
    _add_threads(p)
    p.set_defaults(func=_cmd_train)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="run a trained policy deterministically and record a video")
    p.add_argument("run_dir", help="a run directory written by `robot-rl train`")
    p.add_argument("--episodes", type=int, default=3, help="episodes (default 3)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the first episode")
    p.add_argument("--video", help="MP4 path (default RUN_DIR/eval.mp4)")
    p.add_argument("--no-video", action="store_true", help="do not record a video")
    _add_threads(p)
    p.set_defaults(func=_cmd_eval)


def _add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: small networks gain little from more, "
                   "and oversubscribed cores make them far slower); 0 = torch's default")


def _set_threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", 0) > 0:
        import torch

        torch.set_num_threads(args.threads)


def _cmd_train(args: argparse.Namespace) -> int:
    from robot_rl.session import train_session

    if args.resume is None and args.config is None:
        raise SystemExit("robot-rl train: give a robot config YAML or --resume RUN_DIR")
    return train_session(config=args.config, steps=args.steps, seed=args.seed, out=args.out,
                         resume=args.resume, video=not args.no_video,
                         progress=not args.no_progress, task_graph=args.task_graph)


def _cmd_eval(args: argparse.Namespace) -> int:
    from robot_rl.session import eval_session

    video = None if args.no_video else (args.video or str(Path(args.run_dir) / "eval.mp4"))
    return eval_session(args.run_dir, episodes=args.episodes, seed=args.seed, video=video)


# Subcommands that live in their own modules: "module:function" taking the subparsers object.
# Each module keeps its heavy imports inside its command functions so `--help` stays fast.
EXTRA_COMMANDS: tuple[str, ...] = ("robot_rl.distributed.commands:add_commands",
                                   "robot_rl.nodes.cli:add_node",
                                   "robot_rl.nodes.cli:add_launch",
                                   "robot_rl.nodes.cli:add_operator")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``robot-rl`` (subcommands register themselves here)."""
    import importlib

    parser = argparse.ArgumentParser(prog="robot-rl", description="Real-robot learning runtime.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_eval):
        add(sub)
    for spec in EXTRA_COMMANDS:
        module, func = spec.split(":")
        getattr(importlib.import_module(module), func)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``robot-rl`` console script."""
    args = build_parser().parse_args(argv)
    _set_threads(args)
    try:
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"robot-rl: config error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrobot-rl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
