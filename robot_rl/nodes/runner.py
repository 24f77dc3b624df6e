"""Build and spin one node of the topology on any middleware node (DDS or rclpy).

Used by ``robot-rl node KIND CONFIG`` (plain DDS, no ROS) and by the ``robot_rl_ros``
console scripts (rclpy). Ctrl-C and SIGTERM stop the spin loop; the node then closes
cleanly (the actor flushes transitions and finishes its recording, the learner writes a
final checkpoint) and the process exits with status 0: a requested stop is a normal end
(``ros2 launch`` reports any other status as "process has died").
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robot_rl.ros.api import Node
from robot_rl.signals_handling import deferred_stop

log = logging.getLogger(__name__)

NODE_NAMES = {"actor": "actor_node", "sim_bridge": "sim_bridge_node",
              "learner": "learner_node"}
"""``robot-rl node`` kind -> ROS node name (and params.yaml section)."""


def robot_config(kind: str, params: Any) -> Any:
    """Loads the robot config named by the ``robot_config`` parameter.

    Raises:
        ConfigError: If the parameter is empty or the config is invalid.
    """
    from robot_rl.config import load_config
    from robot_rl.errors import ConfigError

    if not params.robot_config:
        raise ConfigError(NODE_NAMES[kind], "robot_config", "expected the path of a robot "
                          "config YAML (parameter robot_config)")
    return load_config(params.robot_config)


def actor_run_dir(cfg: Any, params: Any) -> Path | None:
    """Where the actor records (None without ``record_mcap``); created here."""
    from robot_rl.runs import RunDir

    if not params.record_mcap:  # the actor writes nothing else there
        return None
    run_dir = Path(params.run_dir) if params.run_dir else RunDir.create(
        "runs", f"{cfg.name}-actor").path
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def build(kind: str, node: Node, params: Any) -> Any:
    """The node object of ``kind`` (``actor``, ``sim_bridge``, ``learner``) on ``node``."""
    from robot_rl.runs import RunDir

    if kind not in NODE_NAMES:
        raise ValueError(f"unknown node kind {kind!r}; expected one of {sorted(NODE_NAMES)}")
    cfg = robot_config(kind, params)
    if kind == "sim_bridge":
        from robot_rl.nodes.sim_bridge_node import SimBridgeNode

        return SimBridgeNode(node, cfg, params)
    if kind == "actor":
        from robot_rl.nodes.actor_node import ActorNode

        return ActorNode(node, cfg, params, actor_run_dir(cfg, params))
    from robot_rl.nodes.learner_node import LearnerNode

    run_dir = Path(params.run_dir) if params.run_dir else RunDir.create("runs", cfg.name).path
    run_dir.mkdir(parents=True, exist_ok=True)
    return LearnerNode(node, cfg, params, run_dir)


Builder = Callable[[str, Any, Any], Any]
"""``(kind, middleware node, params) -> node object`` (:func:`build` or a variant of it)."""


def spin_node(kind: str, node_factory: Callable[[str], Node], params: Any,
              duration_s: float | None = None, builder: Builder = build) -> int:
    """Creates the middleware node, builds ``kind`` on it and spins until stopped.

    Args:
        kind: ``actor``, ``sim_bridge`` or ``learner``.
        node_factory: Node name -> middleware node (``make_node`` with its options).
        params: The node's parameter dataclass (:mod:`robot_rl.nodes.params`), or a
            function of the middleware node returning it (rclpy: parameters live there).
        duration_s: Stop after this many seconds (None: until Ctrl-C/SIGTERM).
        builder: Builds the node object (default :func:`build`); it may have ``spin_once()``
            and a ``done`` flag, and must have ``close()``.

    Returns:
        0 once stopped (Ctrl-C, SIGTERM, ``duration_s`` or the node being done).
    """
    import torch

    torch.set_num_threads(1)  # small networks; the control loop shares the CPU
    node = node_factory(NODE_NAMES[kind])
    obj: Any = None
    try:
        with deferred_stop() as stop:  # a second Ctrl-C raises: caught below, still closed
            obj = builder(kind, node, params(node) if callable(params) else params)
            print(f"{NODE_NAMES[kind]}: running", file=sys.stderr, flush=True)
            deadline = None if duration_s is None else time.monotonic() + duration_s
            spin_once = getattr(obj, "spin_once", None) or (lambda: node.spin_once(0.1))
            while not stop.is_set() and not getattr(obj, "done", False):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                spin_once()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            if obj is not None:
                obj.close()
        finally:
            node.close()
    print(f"{NODE_NAMES[kind]}: stopped", file=sys.stderr, flush=True)
    return 0
