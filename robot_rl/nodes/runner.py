"""Build and spin one node of the topology on any middleware node (DDS or rclpy).

Used by ``robot-rl node KIND CONFIG`` (plain DDS, no ROS) and by the ``robot_rl_ros``
console scripts (rclpy). Ctrl-C and SIGTERM stop the spin loop; the node then closes
cleanly (the actor flushes transitions and finishes its recording, the learner writes a
final checkpoint).
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robot_rl.ros.api import Node

log = logging.getLogger(__name__)

NODE_NAMES = {"actor": "actor_node", "sim_bridge": "sim_bridge_node",
              "learner": "learner_node"}
"""``robot-rl node`` kind -> ROS node name (and params.yaml section)."""


def build(kind: str, node: Node, params: Any) -> Any:
    """The node object of ``kind`` (``actor``, ``sim_bridge``, ``learner``) on ``node``."""
    from robot_rl.config import load_config
    from robot_rl.errors import ConfigError
    from robot_rl.runs import RunDir

    if not params.robot_config:
        raise ConfigError(NODE_NAMES[kind], "robot_config", "expected the path of a robot "
                          "config YAML (parameter robot_config)")
    cfg = load_config(params.robot_config)
    if kind == "sim_bridge":
        from robot_rl.nodes.sim_bridge_node import SimBridgeNode

        return SimBridgeNode(node, cfg, params)
    if kind == "actor":
        from robot_rl.nodes.actor_node import ActorNode

        run_dir = None
        if params.record_mcap:  # the actor writes nothing else there
            run_dir = Path(params.run_dir) if params.run_dir else RunDir.create(
                "runs", f"{cfg.name}-actor").path
            run_dir.mkdir(parents=True, exist_ok=True)
        return ActorNode(node, cfg, params, run_dir)
    if kind != "learner":
        raise ValueError(f"unknown node kind {kind!r}; expected one of {sorted(NODE_NAMES)}")
    from robot_rl.nodes.learner_node import LearnerNode

    run_dir = Path(params.run_dir) if params.run_dir else RunDir.create("runs", cfg.name).path
    run_dir.mkdir(parents=True, exist_ok=True)
    return LearnerNode(node, cfg, params, run_dir)


def spin_node(kind: str, node_factory: Callable[[str], Node], params: Any,
              duration_s: float | None = None) -> int:
    """Creates the middleware node, builds ``kind`` on it and spins until stopped.

    Args:
        kind: ``actor``, ``sim_bridge`` or ``learner``.
        node_factory: Node name -> middleware node (``make_node`` with its options).
        params: The node's parameter dataclass (:mod:`robot_rl.nodes.params`), or a
            function of the middleware node returning it (rclpy: parameters live there).
        duration_s: Stop after this many seconds (None: until Ctrl-C/SIGTERM).

    Returns:
        An exit status: 0, or 130 after Ctrl-C.
    """
    import torch

    torch.set_num_threads(1)  # small networks; the control loop shares the CPU
    stop: list[int] = []
    node = node_factory(NODE_NAMES[kind])
    obj: Any = None
    previous = {s: signal.signal(s, lambda num, _: stop.append(num))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        obj = build(kind, node, params(node) if callable(params) else params)
        print(f"{NODE_NAMES[kind]}: running", file=sys.stderr, flush=True)
        deadline = None if duration_s is None else time.monotonic() + duration_s
        spin_once = getattr(obj, "spin_once", None) or (lambda: node.spin_once(0.1))
        while not stop and not getattr(obj, "done", False):
            if deadline is not None and time.monotonic() >= deadline:
                break
            spin_once()
    except KeyboardInterrupt:
        stop.append(signal.SIGINT)
    finally:
        try:
            if obj is not None:
                obj.close()
        finally:
            node.close()
            for s, h in previous.items():
                signal.signal(s, h)
    print(f"{NODE_NAMES[kind]}: stopped", file=sys.stderr, flush=True)
    return 130 if stop and stop[0] == signal.SIGINT else 0
