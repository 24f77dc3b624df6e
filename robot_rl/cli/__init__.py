"""The ``robot-rl`` command line: ``train``, ``pretrain``, ``eval``, ``inspect``, ``learner``,
``actor``, ``keys``, ``node``, ``launch``, ``operator``, ``demos``, ``reward`` and
``explore``.

Every option is defined in :mod:`robot_rl.cli.parser`; the commands live in the modules next
to it. Configuration mistakes print one line (file, key, what was expected) and exit with
status 2, never a traceback; so do command-line mistakes (argparse's usage block is left out:
``--help`` prints it). Ctrl-C and SIGTERM go through :mod:`robot_rl.signals_handling`; an
interrupt that still reaches here exits with status 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from robot_rl.cli.parser import build_parser
from robot_rl.errors import ConfigError

__all__ = ["build_parser", "main"]


def _set_threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", 0) > 0:
        import torch

        torch.set_num_threads(args.threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``robot-rl`` console script."""
    args = build_parser().parse_args(argv)
    try:
        check = getattr(args, "check", None)
        if check is not None:
            check(args)  # before _set_threads imports torch
        _set_threads(args)
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"robot-rl: config error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrobot-rl: interrupted", file=sys.stderr)
        return 130
