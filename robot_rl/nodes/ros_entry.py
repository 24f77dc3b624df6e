"""The rclpy entry point behind the ``robot_rl_ros`` console scripts (``ros2 run``/launch).

What a ROS user gets, beyond :func:`robot_rl.nodes.runner.spin_node`:

- **Parameters**: one *read-only* ROS parameter per field of the node's parameter dataclass
  (defaults from :mod:`robot_rl.nodes.params`; values from ``-p``, ``--params-file`` or a
  launch file), validated like ``robot-rl node``: a wrong type, a bad value
  (``-p batch_size:=0``) or an unknown name exits with status 2 and one line on stderr.
  Read-only because a change at run time would do nothing: ``ros2 param set`` is refused.
- **Logging**: Python ``logging`` records go to the node's rclpy logger (ROS console format,
  log files, ``/rosout``).
- **Lifecycle**: the actor is a managed node (:class:`LifecycleActor`): it commands nothing
  until activated (``ros2 lifecycle set /actor_node configure``, then ``activate``, or the
  ``autostart`` parameter); deactivating it holds.
- **Ctrl-C/SIGTERM** stop the node cleanly with exit status 0.

rclpy is imported only when a node starts, so the console scripts import without ROS (the
packaging tests resolve them).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robot_rl.config.loader import from_dict
from robot_rl.errors import ConfigError
from robot_rl.nodes.params import PARAMS, declare_defaults
from robot_rl.nodes.runner import NODE_NAMES, actor_run_dir, build, robot_config, spin_node

log = logging.getLogger("robot_rl.nodes.ros_entry")  # also when run with -m

_ROS_OWN = ("use_sim_time", "start_type_description_service", "qos_overrides.")
"""Parameters rclpy declares or reads by itself (not ours to refuse)."""


def ros_params(ros_node: Any, cls: type[Any]) -> Any:
    """Declares the parameters of ``cls`` read-only on an rclpy node and returns them,
    validated.

    Raises:
        ConfigError: One line naming the node, the parameter and what was expected.
    """
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import ParameterException

    where = "parameters"  # printed after the node's name
    values = {}
    for name, default in declare_defaults(cls).items():
        descriptor = ParameterDescriptor(read_only=True)
        try:
            values[name] = ros_node.declare_parameter(name, default, descriptor).value
        except ParameterException as err:
            kind = type(default).__name__
            raise ConfigError(where, name, f"expected a {kind} ({err})") from None
    given = getattr(ros_node, "_parameter_overrides", {})  # rclpy: -p and params files
    unknown = sorted(n for n in given if n not in values and not n.startswith(_ROS_OWN))
    if unknown:
        raise ConfigError(where, unknown[0], "unknown parameter; expected one of: "
                          + ", ".join(sorted(values)))
    return from_dict(cls, values, where)


class LifecycleActor:
    """The actor as a managed (lifecycle) node, as hardware-facing ROS 2 nodes are.

    - *configure*: builds the :class:`~robot_rl.nodes.actor_node.ActorNode` (subscriptions,
      learner link, recording), paused, with its command and reset topics gated: it reads
      states and publishes its status, but commands nothing.
    - *activate*: opens the gate and resumes, unless ``start_paused`` (then it holds until
      ``robot-rl operator resume``).
    - *deactivate*: pauses: the actor holds (commands the pose it measured when it paused,
      as in every hold) until activated again.
    - *cleanup*: refused (shut the node down and start it again instead).
    - *shutdown*: closes the actor (last transitions sent, recording finished); the process
      then exits.

    Args:
        node: The lifecycle :class:`~robot_rl.ros.rclpy_node.RclpyNode`.
        cfg: The robot config.
        params: The actor's parameters (``autostart``: configure and activate now).
        run_dir: The recording folder (None without ``record_mcap``).
    """

    def __init__(self, node: Any, cfg: Any, params: Any, run_dir: Path | None) -> None:
        self.node, self.cfg, self.params, self.run_dir = node, cfg, params, run_dir
        self.actor: Any = None
        self.done = False
        node.gate_topics([cfg.ros.command_topic, cfg.ros.reset_topic])
        node.gate_open = False
        node.lifecycle_handler = self
        if params.autostart:
            node.ros_node.trigger_configure()
            node.ros_node.trigger_activate()

    def on_configure(self) -> bool:
        from robot_rl.nodes.actor_node import ActorNode

        if self.actor is None:
            self.actor = ActorNode(self.node, self.cfg, self.params, self.run_dir)
        self.actor.core.operator("pause")
        log.info("configured; inactive: commanding nothing until activated")
        return True

    def on_activate(self) -> bool:
        self.node.gate_open = True
        if not self.params.start_paused:
            self.actor.core.operator("resume")
        log.info("active%s", " (paused: robot-rl operator resume)"
                 if self.params.start_paused else "")
        return True

    def on_deactivate(self) -> bool:
        self.actor.core.operator("pause")
        log.info("inactive: holding")
        return True

    def on_cleanup(self) -> bool:
        log.warning("cleanup is not supported: shut the node down and start it again")
        return False

    def on_shutdown(self) -> bool:
        self.close()
        self.done = True
        return True

    def on_error(self) -> bool:
        if self.actor is not None:
            self.actor.core.operator("pause")
        return True

    def close(self) -> None:
        """Closes the actor if it was built (safe to call twice)."""
        actor, self.actor = self.actor, None
        if actor is not None:
            actor.close()


def build_for_ros(kind: str, node: Any, params: Any) -> Any:
    """:func:`robot_rl.nodes.runner.build`, with the actor as a :class:`LifecycleActor`."""
    if kind != "actor":
        return build(kind, node, params)
    cfg = robot_config(kind, params)
    return LifecycleActor(node, cfg, params, actor_run_dir(cfg, params))


def main_for(kind: str, args: Sequence[str] | None = None) -> int:
    """Runs node ``kind`` (``actor``, ``sim_bridge``, ``learner``) on rclpy until shutdown.

    Returns:
        0 after Ctrl-C, SIGTERM or a lifecycle shutdown; 2 with one line on stderr for a
        parameter or config error (and an unusable address or key).
    """
    from rclpy._rclpy_pybind11 import RCLError  # rclpy only where a node runs on it

    from robot_rl.ros.rclpy_node import RclpyNode, RosLogHandler
    from robot_rl.transport import KeyFileError, TransportError

    argv = list(sys.argv if args is None else args)
    cls = PARAMS[NODE_NAMES[kind]]
    root = logging.getLogger()
    handlers: list[logging.Handler] = []

    def make(name: str) -> RclpyNode:
        node = RclpyNode(name, args=argv, lifecycle=kind == "actor")
        handlers.append(RosLogHandler(node.ros_node))
        root.addHandler(handlers[-1])
        root.setLevel(min(root.level or logging.INFO, logging.INFO))
        return node

    try:
        return spin_node(kind, make, lambda node: ros_params(node.ros_node, cls),
                         builder=build_for_ros)
    except (ConfigError, TransportError, KeyFileError) as err:
        text = str(err)
        prefix = "" if text.startswith(f"{NODE_NAMES[kind]}: ") else f"{NODE_NAMES[kind]}: "
        print(prefix + text, file=sys.stderr, flush=True)
        return 2
    except RCLError as err:  # e.g. a malformed --ros-args rule
        print(f"{NODE_NAMES[kind]}: invalid ROS arguments: {err}", file=sys.stderr, flush=True)
        return 2
    finally:
        for handler in handlers:
            root.removeHandler(handler)


def actor_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros actor_node``."""
    return main_for("actor", args)


def sim_bridge_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros sim_bridge_node``."""
    return main_for("sim_bridge", args)


def learner_main(args: Sequence[str] | None = None) -> int:
    """``ros2 run robot_rl_ros learner_node``."""
    return main_for("learner", args)


if __name__ == "__main__":  # python -m robot_rl.nodes.ros_entry KIND --ros-args ...
    if len(sys.argv) < 2 or sys.argv[1] not in NODE_NAMES:
        print(f"usage: python -m robot_rl.nodes.ros_entry {{{','.join(NODE_NAMES)}}} "
              "[--ros-args ...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main_for(sys.argv[1], sys.argv[1:]))
