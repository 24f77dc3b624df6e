"""``robot-rl node``, ``robot-rl launch`` and ``robot-rl operator`` (ROS 2 nodes without ROS).

Registered in :data:`robot_rl.cli.EXTRA_COMMANDS`; heavy imports happen inside the commands.
DDS options: ``--domain`` (default ``ROS_DOMAIN_ID`` or 0) and ``--loopback`` (keep all
traffic on this machine; also implied by ``ROS_LOCALHOST_ONLY=1``). Leave ``--loopback``
off for hardware-in-the-loop across machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("sim_bridge", "actor", "learner")


def _add_dds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--domain", type=int, help="DDS domain id (default ROS_DOMAIN_ID or 0)")
    p.add_argument("--loopback", action="store_true",
                   help="keep DDS traffic on the loopback interface (one machine)")


def _node_factory(args: argparse.Namespace) -> Any:
    from robot_rl.ros.api import make_node
    from robot_rl.ros.dds import loopback_config

    config = loopback_config() if args.loopback else None
    return lambda name: make_node(name, backend="dds", domain_id=args.domain, config=config)


def add_node(sub: argparse._SubParsersAction) -> None:
    """``robot-rl node sim_bridge|actor|learner CONFIG``."""
    p = sub.add_parser("node", help="run one ROS 2 node over plain DDS (no ROS install)",
                       description="Runs one node of the ROS 2 topology as a plain process "
                       "speaking ROS 2's wire protocol over DDS (docs/ros2.md).")
    p.add_argument("kind", choices=KINDS, help="which node")
    p.add_argument("config", nargs="?", help="robot config YAML (or robot_config in --params)")
    p.add_argument("--params", metavar="YAML", help="ROS 2 params file (<kind>_node: "
                   "ros__parameters: ...); options below override it")
    _add_dds(p)
    p.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    p.add_argument("--run-dir", help="actor: recording folder; learner: run directory")
    p.add_argument("--learner", metavar="ADDRESS", help="actor: learner address "
                   "(\"\" for none; default tcp://127.0.0.1:5555)")
    p.add_argument("--id", help="actor: name at the learner (default <robot>-<host>)")
    p.add_argument("--no-record", action="store_true", help="actor: no MCAP recording")
    p.add_argument("--bind", metavar="ADDRESS", help="learner: address to listen on")
    p.add_argument("--steps", type=int, help="learner: stop after this many transitions")
    p.add_argument("--keys", metavar="DIR", help="CurveZMQ key directory (learner, actor)")
    p.add_argument("--insecure", action="store_true", help="plaintext to a non-loopback peer")
    p.add_argument("--seed", type=int)
    p.set_defaults(func=_cmd_node)


def _cmd_node(args: argparse.Namespace) -> int:
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


def add_launch(sub: argparse._SubParsersAction) -> None:
    """``robot-rl launch sim CONFIG``."""
    p = sub.add_parser("launch", help="start the simulated ROS 2 topology as processes",
                       description="Starts learner, sim_bridge and actor nodes over plain DDS "
                       "and stops them all on Ctrl-C (docs/ros2.md).")
    p.add_argument("topology", choices=["sim"], help="what to start")
    p.add_argument("config", help="robot config YAML")
    _add_dds(p)
    p.add_argument("--run-dir", help="folder for learner/ and actor/ "
                   "(default runs/<robot>-sim-<time>)")
    p.add_argument("--port", type=int, help="learner port on 127.0.0.1 (default: a free one)")
    p.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    p.set_defaults(func=_cmd_launch)


def _cmd_launch(args: argparse.Namespace) -> int:
    from robot_rl.config import load_config
    from robot_rl.nodes.launcher import launch_sim
    from robot_rl.runs import RunDir

    cfg = load_config(args.config)  # fail here, once, on a bad config
    run_dir = Path(args.run_dir) if args.run_dir else RunDir.create("runs",
                                                                    f"{cfg.name}-sim").path
    return launch_sim(str(Path(args.config).resolve()), run_dir, args.domain, args.loopback,
                      args.seconds, args.port)


def add_operator(sub: argparse._SubParsersAction) -> None:
    """``robot-rl operator estop on|off | pause | resume | heartbeat | task NAME | status``."""
    p = sub.add_parser("operator", help="e-stop, pause/resume learning, switch task, status",
                       description="Operator controls of a running session, sent as ROS 2 "
                       "topics; waits until an actor's status confirms the change.")
    p.add_argument("action", nargs="+", metavar="ACTION",
                   help="estop on|off, pause, resume, heartbeat, task NAME, status")
    p.add_argument("--config", help="robot config YAML whose ros: topics to use "
                   "(default: the standard topic names)")
    _add_dds(p)
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for a confirming status (default 10)")
    p.set_defaults(func=_cmd_operator)


def _cmd_operator(args: argparse.Namespace) -> int:
    from robot_rl.config import RosConfig, load_config
    from robot_rl.nodes.operator import parse, send

    ros = load_config(args.config).ros if args.config else RosConfig()
    try:
        command = parse(args.action, ros)
    except ValueError as err:
        print(f"robot-rl operator: {err}", file=sys.stderr)
        return 2
    node = _node_factory(args)("robot_rl_operator")
    try:
        status = send(node, command, ros, args.timeout)
    finally:
        node.close()
    if status is None:
        print(f"robot-rl operator: no actor confirmed {' '.join(args.action)!r} within "
              f"{args.timeout:g} s (is one running on this DDS domain?)", file=sys.stderr)
        return 1
    print(json.dumps(status, sort_keys=True))
    return 0
