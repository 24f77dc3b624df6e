"""The node interface that robot_rl's ROS 2 nodes are written against, and its factory.

Two transports implement it: :class:`robot_rl.ros.dds.DdsNode` (ROS 2 wire-compatible DDS
through ``cyclonedds``, no ROS install needed) and :class:`robot_rl.ros.rclpy_node.RclpyNode`
(``rclpy``). Both move the same CDR bytes (:mod:`robot_rl.ros.cdr`) and hand the node
:mod:`robot_rl.ros.msgs` dataclasses, so node logic cannot tell them apart.

Usage (what an actor node's edge looks like)::

    node = make_node("actor")                       # rclpy if installed, else DDS
    commands = node.publisher("/forward_position_controller/commands", Float64MultiArray)
    estop = node.subscription("/estop", Bool, on_estop)
    states = node.subscription("/joint_states", JointState, qos=QOS_SENSOR_DATA)
    node.timer(0.05, lambda: step(states.take(), commands))   # 20 Hz control tick
    spin(node, until=stop_requested)                # callbacks and timers run here
    node.close()

Callbacks and timers run inside ``spin_once``/``spin`` on the calling thread. ``publish``
may be called from any thread. A malformed incoming sample is dropped and counted in
``Subscription.rejected``; it never reaches a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from robot_rl.ros.wire import QOS_DEFAULT, QosProfile

M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)


class Publisher(Protocol[M_contra]):
    """Sends messages of one type on one topic."""

    topic: str

    def publish(self, msg: M_contra) -> None:
        """Encodes and sends ``msg`` (raises ``TypeError`` for another message type)."""

    def publish_raw(self, data: bytes) -> None:
        """Sends already encoded CDR bytes (header included) unchanged."""

    def matched_count(self) -> int:
        """Number of matched subscriptions (readers) right now."""


class Subscription(Protocol[M]):
    """Receives messages of one type on one topic."""

    topic: str
    rejected: int

    def take(self, max_samples: int = 64) -> list[M]:
        """Removes and returns received messages, oldest first (at most ``max_samples``)."""

    def matched_count(self) -> int:
        """Number of matched publishers (writers) right now."""


class Timer(Protocol):
    """A periodic callback run by the node's spin loop."""

    def cancel(self) -> None:
        """Stops the timer."""


class Node(Protocol):
    """A ROS 2 node as robot_rl uses it: publishers, subscriptions, timers, a spin loop."""

    name: str

    def publisher(self, topic: str, msg_type: type[M], qos: QosProfile = QOS_DEFAULT
                  ) -> Publisher[M]:
        """Creates a publisher on ``topic`` (absolute or relative ROS name)."""

    def subscription(self, topic: str, msg_type: type[M],
                     callback: Callable[[M], None] | None = None,
                     qos: QosProfile = QOS_DEFAULT) -> Subscription[M]:
        """Creates a subscription; without ``callback``, poll it with ``take()``."""

    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        """Calls ``callback`` every ``period_s`` seconds from the spin loop."""

    def spin_once(self, timeout_s: float | None = None) -> int:
        """Waits up to ``timeout_s`` for work, runs due callbacks/timers, returns how many."""

    def now_ns(self) -> int:
        """ROS time in nanoseconds (wall clock) for message stamps."""

    def close(self) -> None:
        """Destroys the node's entities; safe to call twice."""


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.01) -> bool:
    """Polls ``predicate`` until it is true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def spin(node: Node, until: Callable[[], bool] | None = None,
         timeout_s: float | None = None) -> None:
    """Runs ``node.spin_once`` until ``until()`` is true, ``timeout_s`` passes or Ctrl-C."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while until is None or not until():
            if deadline is not None and time.monotonic() >= deadline:
                return
            node.spin_once(0.1)
    except KeyboardInterrupt:
        return


def rclpy_available() -> bool:
    """Whether ``rclpy`` can be imported (a sourced ROS 2 install)."""
    try:
        import rclpy  # noqa: F401
    except ImportError:
        return False
    return True


def make_node(name: str, backend: str = "auto", **kwargs: Any) -> Node:
    """Creates a node on the chosen transport.

    Args:
        name: Node name.
        backend: ``"rclpy"``, ``"dds"``, or ``"auto"`` (rclpy when importable, else DDS).
        **kwargs: Passed to the backend's constructor (e.g. ``domain_id``, ``config`` for DDS).

    Raises:
        ValueError: For an unknown backend.
        ImportError: If the chosen backend's middleware is not installed.
    """
    if backend == "auto":
        backend = "rclpy" if rclpy_available() else "dds"
    if backend == "rclpy":
        from robot_rl.ros.rclpy_node import RclpyNode

        return RclpyNode(name, **kwargs)
    if backend == "dds":
        from robot_rl.ros.dds import DdsNode

        return DdsNode(name, **kwargs)
    raise ValueError(f"backend must be 'auto', 'rclpy' or 'dds', got {backend!r}")
