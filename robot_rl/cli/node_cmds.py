"""``robot-rl node``, ``robot-rl launch`` and ``robot-rl operator`` (options: parser.py).

ROS 2 nodes without ROS; heavy imports happen inside the commands. DDS options: ``--domain``
(default ``ROS_DOMAIN_ID`` or 0) and ``--loopback`` (keep all traffic on this machine; also
implied by ``ROS_LOCALHOST_ONLY=1``). Leave ``--loopback`` off for hardware-in-the-loop
across machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("sim_bridge", "actor", "learner")


def _node_factory(args: argparse.Namespace) -> Any:
    from robot_rl.ros.api import make_node
    from robot_rl.ros.dds import loopback_config

    config = loopback_config() if args.loopback else None
    return lambda name: make_node(name, backend="dds", domain_id=args.domain, config=config)


# the options of `robot-rl node` that only some kinds take (the rest take every kind's)
_BOTH = ("actor", "learner")
_NODE_OPTIONS = {"learner": ("--learner", ("actor",)), "id": ("--id", ("actor",)),
                 "no_record": ("--no-record", ("actor",)), "bind": ("--bind", ("learner",)),
                 "steps": ("--steps", ("learner",)), "run_dir": ("--run-dir", _BOTH),
                 "keys": ("--keys", _BOTH), "insecure": ("--insecure", _BOTH)}


def check_node(args: argparse.Namespace) -> None:
    """An option the node kind does not take is refused (it was ignored: ``node actor --bind``
    ran the actor and said nothing)."""
    from robot_rl.errors import ConfigError

    for dest, (option, kinds) in _NODE_OPTIONS.items():
        value = getattr(args, dest)
        if args.kind not in kinds and value is not None and value is not False:
            raise ConfigError("<command line>", option, f"expected it only with node "
                              f"{' or '.join(kinds)}; node {args.kind} does not take it")


def cmd_node(args: argparse.Namespace) -> int:
    import logging

    from robot_rl.nodes.params import PARAMS, load_params
    from robot_rl.nodes.runner import NODE_NAMES, spin_node

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    name = NODE_NAMES[args.kind]
    overrides: dict[str, Any] = {"robot_config": args.config, "seed": args.seed,
                                 "keys": args.keys, "insecure": args.insecure or None}
    if args.kind == "actor":
        overrides.update(learner_address=args.learner, actor_id=args.id, run_dir=args.run_dir,
                         record_mcap=False if args.no_record else None)
    elif args.kind == "learner":
        overrides.update(bind_address=args.bind, run_dir=args.run_dir, steps=args.steps)
    else:
        overrides = {"robot_config": args.config, "seed": args.seed}
    params = load_params(PARAMS[name], args.params, name, overrides)
    from robot_rl.transport import KeyFileError, TransportError

    try:
        return spin_node(args.kind, _node_factory(args), params, args.seconds)
    except (TransportError, KeyFileError) as err:  # address, keys: one line, like configs
        print(f"robot-rl node {args.kind}: {err}", file=sys.stderr)
        return 2


def cmd_launch(args: argparse.Namespace) -> int:
    from robot_rl.cli.run_cmds import check_out
    from robot_rl.config import load_config
    from robot_rl.nodes.launcher import launch_sim
    from robot_rl.runs import RunDir

    cfg = load_config(args.config)  # fail here, once, on a bad config
    check_out(args.run_dir or "runs", "--run-dir")
    run_dir = Path(args.run_dir) if args.run_dir else RunDir.create("runs",
                                                                    f"{cfg.name}-sim").path
    return launch_sim(str(Path(args.config).resolve()), run_dir, args.domain, args.loopback,
                      args.seconds, args.port)


def cmd_operator(args: argparse.Namespace) -> int:
    from robot_rl.config import RosConfig, load_config
    from robot_rl.nodes.operator import check_task, parse, send

    cfg = load_config(args.config) if args.config else None
    ros = cfg.ros if cfg is not None else RosConfig()
    try:
        command = parse(args.action, ros)
        if cfg is not None and args.action[0] == "task":
            check_task(args.action[1], cfg)
    except ValueError as err:
        print(f"robot-rl operator: {err}", file=sys.stderr)
        return 2
    node = _node_factory(args)("robot_rl_operator")
    try:
        status = send(node, command, ros, args.timeout)
    finally:
        node.close()
    if status is not None and command.refused(status) and not command.confirmed(status):
        print(f"robot-rl operator: the actor refused {' '.join(args.action)!r}: "
              f"{status['operator_error']}", file=sys.stderr)
        return 2
    if status is None:
        print(f"robot-rl operator: no actor confirmed {' '.join(args.action)!r} within "
              f"{args.timeout:g} s (is one running on this DDS domain?)", file=sys.stderr)
        return 1
    print(json.dumps(status, sort_keys=True))
    return 0
