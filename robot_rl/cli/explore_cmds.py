"""``robot-rl explore train`` and ``explore collect`` (options: parser.py; the work is in
:mod:`robot_rl.explore`).

Torch, PyBullet and Ray are imported inside the commands; Ray only by ``explore train``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from robot_rl.errors import ConfigError


def check_explore_train(args: argparse.Namespace) -> None:
    """Mistakes found before anything heavy is imported: Ray missing, ``--out`` not new."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("<environment>", "ray", "expected Ray installed for explore train "
                          "(pip install 'robot_rl[explore]', or pip install 'ray>=2.40')")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(args.out, "--out", "expected a new or empty folder for the "
                          "exploration policies")


def cmd_explore_train(args: argparse.Namespace) -> int:
    """Trains K exploration policies on Ray; writes them and the coverage report."""
    from robot_rl.config import load_config
    from robot_rl.explore.pool import ExploreSettings, train_explorers
    from robot_rl.explore.store import REPORT, save_explorers

    cfg = load_config(args.config)
    settings = ExploreSettings(policies=args.policies, steps=args.steps, beta=args.beta,
                               rounds=args.rounds, eval_episodes=args.eval_episodes,
                               seed=args.seed)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    states, report = train_explorers(cfg, settings, address=args.address,
                                     num_cpus=args.num_cpus, log=log)
    folder = save_explorers(args.out, cfg, states, report)
    print(json.dumps({"out": str(folder), "report": str(folder / REPORT),
                      "coverage": report["coverage"], "wall_s": report["wall_s"]}))
    return 0


def check_explore_collect(args: argparse.Namespace) -> None:
    """The policies' folder must exist (its contents are checked once loaded)."""
    if not Path(args.dir).is_dir():
        raise ConfigError(args.dir, "DIR", "expected the folder of robot-rl explore train "
                          "(no such folder)")


def cmd_explore_collect(args: argparse.Namespace) -> int:
    """Runs the exploration policies on CONFIG's robot; writes the prior data."""
    from robot_rl.config import load_config
    from robot_rl.explore.collect import collect

    cfg = load_config(args.config)
    summary = collect(args.dir, cfg, args.episodes, args.out, seed=args.seed)
    print(json.dumps(summary))
    return 0
