"""``robot-rl demos record`` (options: parser.py; the work is in :mod:`robot_rl.demos`).

Heavy imports (PyBullet, ROS 2 middleware) happen inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SOURCES = ("scripted", "joy", "twist")


def check_demos_record(args: argparse.Namespace) -> None:
    """``--out`` and ``--mcap`` must be files that can be written: found before the episodes
    are recorded (a person's teleoperation too), not when they are saved after them."""
    from robot_rl.errors import ConfigError

    for option, value in (("--out", args.out), ("--mcap", args.mcap)):
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            raise ConfigError("<command line>", option, f"expected a file path, {value!r} is "
                              "a folder")
        parent = next((p for p in path.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ConfigError("<command line>", option, f"expected a path in a folder that "
                              f"can be made, {str(parent)!r} is a file")


def cmd_demos_record(args: argparse.Namespace) -> int:
    """Records demonstrations as prior data (and an MCAP recording with ``--mcap``)."""
    from robot_rl.config import load_config
    from robot_rl.demos.record import DemoLog, record_scripted, record_teleop
    from robot_rl.demos.teleop import TeleopSettings

    cfg = load_config(args.config)
    if args.mcap and cfg.observation.images:
        from robot_rl.errors import ConfigError

        raise ConfigError("<command line>", "--mcap", "expected no --mcap with "
                          "observation.images (the MCAP demo recording holds state vectors "
                          "only; the .npz of --out holds the frames)")
    counts: dict[str, int] = {}
    log: DemoLog
    if args.source == "scripted":
        log = record_scripted(cfg, args.episodes, seed=args.seed)  # ConfigError: no expert
    else:
        from robot_rl.ros.api import make_node

        settings = TeleopSettings(source=args.source, topic=args.topic or "",
                                  max_speed=args.max_speed, stale_after_s=args.stale_after)
        kwargs: dict[str, Any] = {}
        if args.domain is not None:
            kwargs["domain_id"] = args.domain
        node = make_node("robot_rl_demos", backend=args.backend, **kwargs)
        try:
            log, counts = record_teleop(cfg, settings, args.episodes, node, seed=args.seed,
                                        success_topic=args.success_topic or "",
                                        progress=lambda m: print(m, file=sys.stderr))
        finally:
            node.close()
    path = log.save(args.out)
    arrays = log.arrays()
    if args.mcap:
        from robot_rl.nodes.session_record import write_demo_recording

        write_demo_recording(args.mcap, arrays, {"robot": cfg.name, "source": args.source})
    summary = {"out": str(path), "transitions": len(log), "episodes": log.episodes,
               "successful_episodes": int(sum(log.episode_success)),
               "success_labels": "success" in arrays, "mcap": args.mcap or None, **counts}
    print(json.dumps(summary))
    return 0
