"""The ``robot-rl`` command line: ``train``, ``eval`` and friends.

Configuration mistakes print one line (file, key, what was expected) and exit with status 2,
never a traceback; so do command-line mistakes (argparse's usage block is left out: ``--help``
prints it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from robot_rl.errors import ConfigError, one_line

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one bounded line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message, 240)} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    """A count >= 1 (argparse type of --steps)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train in one process on the PyBullet robot",
                       description="Embedded training: robot, actor and learner in one process.")
    p.add_argument("config", nargs="?", help="robot config YAML (not needed with --resume)")
    p.add_argument("--steps", type=_count,
                   help="total environment steps (default: train.steps)")
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


def _check_train(args: argparse.Namespace) -> None:
    """Config and command-line mistakes of ``train``, found before the training stack (torch)
    is imported and long before a run directory is created."""
    if args.resume is None and args.config is None:
        raise ConfigError("<command line>", "config", "expected a robot config YAML or "
                          "--resume RUN_DIR")
    if args.resume is None:
        from robot_rl.config import load_config

        load_config(args.config, warn=False)  # warnings: once, when the session loads it
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ConfigError("<command line>", "--out", "expected a folder for run "
                              f"directories, {args.out!r} is a file")


def _cmd_train(args: argparse.Namespace) -> int:
    from robot_rl.session import train_session

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

    parser = _Parser(prog="robot-rl", description="Real-robot learning runtime.")
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
    try:
        if args.func is _cmd_train:
            _check_train(args)  # before _set_threads imports torch
        _set_threads(args)
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"robot-rl: config error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrobot-rl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
