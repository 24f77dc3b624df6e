"""The rclpy entry point behind the ``robot_rl_ros`` console scripts (``ros2 run``/launch).

Declares one ROS parameter per field of the node's parameter dataclass (defaults from
:mod:`robot_rl.nodes.params`; values from ``--ros-args --params-file params.yaml`` or a
launch file), builds the node on :class:`robot_rl.ros.rclpy_node.RclpyNode` and spins it
with :func:`robot_rl.nodes.runner.spin_node`. rclpy is imported only when a node starts, so
the console scripts import without ROS (the packaging tests resolve them).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from robot_rl.nodes.params import PARAMS, declare_defaults
from robot_rl.nodes.runner import NODE_NAMES


def ros_params(ros_node: Any, cls: type[Any]) -> Any:
    """Declares and reads the parameters of ``cls`` on an rclpy node."""
    values = {}
    for name, default in declare_defaults(cls).items():
        values[name] = ros_node.declare_parameter(name, default).value
    return cls(**values)


def main_for(kind: str, args: Sequence[str] | None = None) -> int:
    """Runs node ``kind`` (``actor``, ``sim_bridge``, ``learner``) on rclpy until shutdown."""
    from robot_rl.nodes.runner import spin_node
    from robot_rl.ros.rclpy_node import RclpyNode

    argv = list(sys.argv if args is None else args)
    cls = PARAMS[NODE_NAMES[kind]]
    return spin_node(kind, lambda name: RclpyNode(name, args=argv),
                     lambda node: ros_params(node.ros_node, cls))


def actor_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros actor_node``."""
    return main_for("actor", args)


def sim_bridge_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros sim_bridge_node``."""
    return main_for("sim_bridge", args)


def learner_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros learner_node``."""
    return main_for("learner", args)
