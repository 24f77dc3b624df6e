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
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node as _RosNode
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

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


def _ros_type(msg_type: type[Any]) -> str:
    """``pkg/msg/Type`` of a :mod:`robot_rl.ros.msgs` class (its ``ROS_TYPE``)."""
    return str(msg_type.ROS_TYPE)


def ros_message_class(ros_type: str) -> type[Any]:
    """Imports the rclpy message class for ``pkg/msg/Type`` (e.g. ``sensor_msgs.msg``)."""
    package, _, name = ros_type.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class RclpyPublisher(Generic[M]):
    """See :class:`robot_rl.ros.api.Publisher`. A publisher on a gated topic of its node
    (:meth:`RclpyNode.gate_topics`) drops messages while the node's gate is closed and counts
    them in ``dropped``."""

    def __init__(self, owner: RclpyNode, topic: str, msg_type: type[M], qos: QosProfile) -> None:
        self.topic = ros_topic(topic)
        self.msg_type = msg_type
        self.dropped = 0
        self._owner = owner
        self.gated = self.topic in owner.gated_topics
        self._pub = owner.ros_node.create_publisher(ros_message_class(_ros_type(msg_type)),
                                                    self.topic, rclpy_qos(qos))

    def publish(self, msg: M) -> None:
        """Encodes ``msg`` to CDR and publishes the bytes."""
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"{self.topic}: expected {self.msg_type.__name__}, "
                            f"got {type(msg).__name__}")
        self.publish_raw(cdr.encode(msg))

    def publish_raw(self, data: bytes) -> None:
        """Publishes encoded CDR bytes unchanged (unless gated and the gate is closed)."""
        if self.gated and not self._owner.gate_open:
            self.dropped += 1
            return
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
            ros_message_class(_ros_type(msg_type)), self.topic, self._on_bytes, rclpy_qos(qos),
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


class LifecycleHandler(Protocol):
    """What a managed node does on each lifecycle transition; True means success.

    An exception counts as an error (the node goes through ``on_error``)."""

    def on_configure(self) -> bool: ...

    def on_activate(self) -> bool: ...

    def on_deactivate(self) -> bool: ...

    def on_cleanup(self) -> bool: ...

    def on_shutdown(self) -> bool: ...

    def on_error(self) -> bool: ...


class _ManagedRosNode(LifecycleNode):
    """An rclpy LifecycleNode whose transitions call a :class:`LifecycleHandler`."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.handler: LifecycleHandler | None = None

    def _run(self, transition: str) -> TransitionCallbackReturn:
        handler = self.handler
        if handler is None:
            return TransitionCallbackReturn.SUCCESS
        try:
            ok = getattr(handler, transition)()
        except Exception:  # noqa: BLE001 - a failed transition must not kill the spin loop
            log.exception("%s failed", transition)
            return TransitionCallbackReturn.ERROR
        return TransitionCallbackReturn.SUCCESS if ok else TransitionCallbackReturn.FAILURE

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_configure")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_activate")

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_deactivate")

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_cleanup")

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_shutdown")

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._run("on_error")


class RclpyNode:
    """A robot_rl node on rclpy; implements :class:`robot_rl.ros.api.Node`.

    Args:
        name: ROS node name.
        args: Command-line arguments for ``rclpy.init`` (``--ros-args`` ...), if this node
            initializes rclpy (it does when rclpy is not initialized yet, or when
            ``domain_id`` asks for a context of its own; it then shuts it down on
            :meth:`close`). rclpy's signal handlers are not installed: the caller handles
            Ctrl-C/SIGTERM (:func:`robot_rl.nodes.runner.spin_node`).
        domain_id: A ROS domain id for a context of this node's own (tests: one per test);
            None: the default context (``ROS_DOMAIN_ID``).
        lifecycle: Make it a managed node (``rclpy.lifecycle.LifecycleNode``); transitions
            go to :attr:`lifecycle_handler`.
        parameter_overrides: Initial values of parameters declared later (name -> value).
    """

    def __init__(self, name: str, args: list[str] | None = None, domain_id: int | None = None,
                 lifecycle: bool = False,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        from rclpy.parameter import Parameter

        self.name = name
        self.context: Context | None = None
        self._owns_rclpy = False
        if domain_id is not None:
            self.context = Context()
            rclpy.init(args=args, context=self.context, domain_id=domain_id,
                       signal_handler_options=SignalHandlerOptions.NO)
            self._owns_rclpy = True
        elif not rclpy.ok():
            rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
            self._owns_rclpy = True
        overrides = [Parameter(k, value=v) for k, v in (parameter_overrides or {}).items()]
        kwargs: dict[str, Any] = {"context": self.context, "parameter_overrides": overrides}
        self.ros_node: _RosNode = _ManagedRosNode(name, **kwargs) if lifecycle \
            else _RosNode(name, **kwargs)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.ros_node)
        self.ran = 0
        self.gated_topics: set[str] = set()
        self.gate_open = True
        self.publishers: list[RclpyPublisher[Any]] = []
        self._closed = False

    @property
    def lifecycle_handler(self) -> LifecycleHandler | None:
        """Who handles the lifecycle transitions (managed nodes only)."""
        return getattr(self.ros_node, "handler", None)

    @lifecycle_handler.setter
    def lifecycle_handler(self, handler: LifecycleHandler) -> None:
        if not isinstance(self.ros_node, _ManagedRosNode):
            raise TypeError(f"{self.name} is not a lifecycle node")
        self.ros_node.handler = handler

    def gate_topics(self, topics: Iterable[str]) -> None:
        """Publishers created from now on for these topics send nothing while
        :attr:`gate_open` is False (and count what they drop)."""
        self.gated_topics |= {ros_topic(t) for t in topics if t}

    def publisher(self, topic: str, msg_type: type[M], qos: QosProfile = QOS_DEFAULT
                  ) -> RclpyPublisher[M]:
        """Creates an rclpy publisher that sends our CDR bytes."""
        pub = RclpyPublisher(self, topic, msg_type, qos)
        self.publishers.append(pub)
        return pub

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
        self._executor.shutdown(timeout_sec=1.0)
        self.ros_node.destroy_node()
        if self._owns_rclpy:
            rclpy.try_shutdown(context=self.context)


class RosLogHandler(logging.Handler):
    """Forwards Python log records to an rclpy node's logger, so they reach the ROS console
    format, the log files and ``/rosout`` like any ROS node's log.

    Example::

        handler = RosLogHandler(node.ros_node)
        logging.getLogger().addHandler(handler)
    """

    def __init__(self, ros_node: _RosNode, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._logger = ros_node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"[{record.name}] {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            # one call site per severity: rclpy's logger fixes the severity of each call site
            if record.levelno >= logging.CRITICAL:
                self._logger.fatal(text)
            elif record.levelno >= logging.ERROR:
                self._logger.error(text)
            elif record.levelno >= logging.WARNING:
                self._logger.warning(text)
            elif record.levelno >= logging.INFO:
                self._logger.info(text)
            else:
                self._logger.debug(text)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
