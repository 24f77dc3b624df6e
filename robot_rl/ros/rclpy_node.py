"""The node interface on ``rclpy`` (the thin edge used where ROS 2 is installed).

Messages cross this edge as CDR bytes: subscriptions are created with ``raw=True`` and
decoded by :mod:`robot_rl.ros.cdr`; publishers send ``cdr.encode(msg)`` bytes (rclpy's
``Publisher.publish`` accepts serialized bytes). So rclpy and the DDS edge share one codec
and one strict decoder, and no per-field conversion to rclpy message classes exists. The
rclpy message classes are imported only to declare the topic type.

Needs a sourced ROS 2 install (``rclpy``, ``sensor_msgs``, ``std_msgs``); importing this
module without one raises ``ImportError``.
"""

from __future__ import annotations

import importlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node as _RosNode
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from robot_rl.ros import cdr
from robot_rl.ros.wire import QOS_DEFAULT, QosProfile, ros_topic

M = TypeVar("M")
log = logging.getLogger(__name__)


def rclpy_qos(profile: QosProfile) -> QoSProfile:
    """The rclpy QoS profile for a :class:`robot_rl.ros.wire.QosProfile`."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=profile.depth,
        reliability=ReliabilityPolicy.RELIABLE if profile.reliable
        else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if profile.transient_local
        else DurabilityPolicy.VOLATILE,
    )


def ros_message_class(ros_type: str) -> type[Any]:
    """Imports the rclpy message class for ``pkg/msg/Type`` (e.g. ``sensor_msgs.msg``)."""
    package, _, name = ros_type.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class RclpyPublisher(Generic[M]):
    """See :class:`robot_rl.ros.api.Publisher`."""

    def __init__(self, node: _RosNode, topic: str, msg_type: type[M], qos: QosProfile) -> None:
        self.topic = ros_topic(topic)
        self.msg_type = msg_type
        self._pub = node.create_publisher(ros_message_class(msg_type.ROS_TYPE), self.topic,
                                          rclpy_qos(qos))

    def publish(self, msg: M) -> None:
        """Encodes ``msg`` to CDR and publishes the bytes."""
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"{self.topic}: expected {self.msg_type.__name__}, "
                            f"got {type(msg).__name__}")
        self._pub.publish(cdr.encode(msg))

    def publish_raw(self, data: bytes) -> None:
        """Publishes encoded CDR bytes unchanged."""
        self._pub.publish(bytes(data))

    def matched_count(self) -> int:
        """Matched subscriptions right now."""
        return int(self._pub.get_subscription_count())


class RclpySubscription(Generic[M]):
    """See :class:`robot_rl.ros.api.Subscription`. Without a callback, samples queue (up to
    the QoS depth) until :meth:`take`; either way they arrive during ``spin_once``."""

    def __init__(self, owner: RclpyNode, topic: str, msg_type: type[M],
                 callback: Callable[[M], None] | None, qos: QosProfile) -> None:
        self.topic = ros_topic(topic)
        self.msg_type = msg_type
        self.callback = callback
        self.rejected = 0
        self._owner = owner
        self._queue: deque[M] = deque(maxlen=qos.depth)
        self._sub = owner.ros_node.create_subscription(
            ros_message_class(msg_type.ROS_TYPE), self.topic, self._on_bytes, rclpy_qos(qos),
            raw=True)

    def _on_bytes(self, data: bytes) -> None:
        try:
            msg = cdr.decode(data, self.msg_type)
        except cdr.CdrError as err:
            self.rejected += 1
            if self.rejected == 1 or self.rejected % 100 == 0:
                log.warning("%s: dropped malformed %s (%d so far): %s", self.topic,
                            self.msg_type.__name__, self.rejected, err)
            return
        self._owner.ran += 1
        if self.callback is not None:
            self.callback(msg)
        else:
            self._queue.append(msg)

    def take(self, max_samples: int = 64) -> list[M]:
        """Removes and returns queued messages, oldest first."""
        n = min(max_samples, len(self._queue))
        return [self._queue.popleft() for _ in range(n)]

    def matched_count(self) -> int:
        """Publishers on the topic in the ROS graph right now."""
        return int(self._owner.ros_node.count_publishers(self.topic))


class RclpyNode:
    """A robot_rl node on rclpy; implements :class:`robot_rl.ros.api.Node`.

    Args:
        name: ROS node name.
        args: Command-line arguments for ``rclpy.init`` (``--ros-args`` ...), if this node
            initializes rclpy (it does when rclpy is not initialized yet, and then shuts it
            down on :meth:`close`).
    """

    def __init__(self, name: str, args: list[str] | None = None) -> None:
        self.name = name
        self._owns_rclpy = not rclpy.ok()
        if self._owns_rclpy:
            rclpy.init(args=args)
        self.ros_node = _RosNode(name)
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self.ros_node)
        self.ran = 0
        self._closed = False

    def publisher(self, topic: str, msg_type: type[M], qos: QosProfile = QOS_DEFAULT
                  ) -> RclpyPublisher[M]:
        """Creates an rclpy publisher that sends our CDR bytes."""
        return RclpyPublisher(self.ros_node, topic, msg_type, qos)

    def subscription(self, topic: str, msg_type: type[M],
                     callback: Callable[[M], None] | None = None,
                     qos: QosProfile = QOS_DEFAULT) -> RclpySubscription[M]:
        """Creates a raw rclpy subscription decoded by :func:`robot_rl.ros.cdr.decode`."""
        return RclpySubscription(self, topic, msg_type, callback, qos)

    def timer(self, period_s: float, callback: Callable[[], None]) -> Any:
        """An rclpy timer (has ``cancel()``)."""

        def tick() -> None:
            self.ran += 1
            callback()

        return self.ros_node.create_timer(period_s, tick)

    def spin_once(self, timeout_s: float | None = None) -> int:
        """Runs the executor once; returns the callbacks that ran (messages + timer ticks)."""
        before = self.ran
        self._executor.spin_once(timeout_sec=timeout_s)
        return self.ran - before

    def now_ns(self) -> int:
        """The node clock (ROS time; sim time when ``use_sim_time`` is set)."""
        return int(self.ros_node.get_clock().now().nanoseconds)

    def close(self) -> None:
        """Destroys the node (and shuts rclpy down if this node started it)."""
        if self._closed:
            return
        self._closed = True
        self._executor.remove_node(self.ros_node)
        self.ros_node.destroy_node()
        if self._owns_rclpy:
            rclpy.try_shutdown()
