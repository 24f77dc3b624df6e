"""Operator controls while a session runs: e-stop, pause/resume learning, switch task.

All of them are topics (DDS services do not interoperate across vendors), so any ROS 2 tool
works too::

    robot-rl operator estop on   # ros2 topic pub --once /estop std_msgs/msg/Bool "{data: true}"
    robot-rl operator pause      # ros2 topic pub --once /robot_rl/operator std_msgs/msg/String \
                                 #   "{data: pause}"
    robot-rl operator task stand
    robot-rl operator status     # prints the actor's status JSON

``robot-rl operator`` waits until an actor's status confirms the change (and exits 1 if none
does within the timeout), so a silent network is never mistaken for a stopped robot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from robot_rl.config import RobotConfig, RosConfig
from robot_rl.control import task_rewards
from robot_rl.ros import msgs
from robot_rl.ros.api import Node
from robot_rl.ros.wire import QOS_DEFAULT


class OperatorCommand(NamedTuple):
    """One operator action: what to publish where, and the status that confirms it."""

    topic: str
    message: Any  # msgs.Bool or msgs.String (None: only read the status)
    confirmed: Callable[[dict[str, Any]], bool]
    refused: Callable[[dict[str, Any]], bool] = lambda s: False  # the actor said no


def parse(words: Sequence[str], ros: RosConfig) -> OperatorCommand:
    """Turns ``estop on|off``, ``pause``, ``resume``, ``heartbeat``, ``task NAME`` or
    ``status`` into a command.

    Raises:
        ValueError: For anything else.
    """
    words = list(words)
    if len(words) == 2 and words[0] == "estop" and words[1] in ("on", "off"):
        engaged = words[1] == "on"
        return OperatorCommand(ros.estop_topic, msgs.Bool(engaged),
                               lambda s: s.get("estop") is engaged)
    if words == ["heartbeat"]:  # safety.operator_timeout_s: any operator message resets it
        return OperatorCommand(ros.operator_topic, msgs.String("heartbeat"), lambda s: True)
    if words in (["pause"], ["resume"]):
        paused = words == ["pause"]
        return OperatorCommand(ros.operator_topic, msgs.String(words[0]),
                               lambda s: s.get("paused") is paused)
    if len(words) == 2 and words[0] == "task":
        name = words[1]
        return OperatorCommand(ros.operator_topic, msgs.String(f"task {name}"),
                               lambda s: s.get("task") == name,
                               lambda s: repr(name) in str(s.get("operator_error") or ""))
    if words == ["status"]:
        return OperatorCommand(ros.status_topic, None, lambda s: True)
    raise ValueError(f"unknown operator command {' '.join(words)!r}; expected estop on|off, "
                     "pause, resume, heartbeat, task NAME or status")


def check_task(name: str, cfg: RobotConfig) -> None:
    """``task NAME`` with a robot config at hand: NAME must be one of the tasks its actor
    knows (the same list the actor checks against).

    Raises:
        ValueError: Naming the tasks there are.
    """
    tasks = list(task_rewards(cfg))
    if name not in tasks:
        raise ValueError(f"unknown task {name!r}; {cfg.name} has {', '.join(tasks)}")


def send(node: Node, command: OperatorCommand, ros: RosConfig,
         timeout_s: float = 10.0) -> dict[str, Any] | None:
    """Publishes ``command`` and returns the first status that confirms it (None: none did)
    or that refuses it (its ``operator_error`` says why, e.g. an unknown task).

    The message is sent once a subscriber has matched and again every second until
    confirmed (all operator commands are idempotent).
    """
    statuses: list[dict[str, Any]] = []

    def on_status(msg: msgs.String) -> None:
        try:
            status = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(status, dict) and status.get("node") == "actor":
            statuses.append(status)

    node.subscription(ros.status_topic, msgs.String, on_status, QOS_DEFAULT)
    pub = None if command.message is None else node.publisher(
        command.topic, type(command.message), QOS_DEFAULT)
    deadline = time.monotonic() + timeout_s
    sent_at = float("-inf")
    while time.monotonic() < deadline:
        if pub is not None and pub.matched_count() > 0 and time.monotonic() - sent_at >= 1.0:
            pub.publish(command.message)
            sent_at = time.monotonic()
        node.spin_once(0.05)
        for status in statuses:
            if (pub is None or sent_at > float("-inf")) and (command.confirmed(status)
                                                              or command.refused(status)):
                return status
        statuses.clear()
    return None
