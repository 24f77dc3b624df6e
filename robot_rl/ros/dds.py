"""ROS 2 wire-compatible DDS without ROS: the thin ``cyclonedds`` edge.

A :class:`DdsNode` talks to a real ROS 2 graph (rmw_cyclonedds or Fast DDS) the way rmw
does: DDS topic ``rt/<name>``, type ``pkg::msg::dds_::Type_`` declared as a key-less final
struct, XCDR1 data representation, the ROS QoS profiles, and ``typehash=RIHS01_...;`` in
the endpoint user data. The IDL types are generated from :data:`robot_rl.ros.msgs.DEFINITIONS`
only to declare the topic type in discovery; samples go on and off the wire as the bytes of
:mod:`robot_rl.ros.cdr` (which the tests check equal ``cyclonedds``' own serialization), so
incoming data is decoded by one strict decoder and a malformed sample is dropped, counted and
never handed to a callback.

Network scope: by default Cyclone's own configuration applies (``CYCLONEDDS_URI``), as it
does for ROS 2. With ``ROS_LOCALHOST_ONLY=1`` or ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``
(and no ``CYCLONEDDS_URI``), or with ``config=loopback_config()``, all traffic stays on the
loopback interface (unicast discovery to 127.0.0.1, no multicast).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from cyclonedds._clayer import ddspy_take, ddspy_write  # what DataWriter/DataReader call
from cyclonedds.core import (
    GuardCondition,
    InstanceState,
    ReadCondition,
    SampleState,
    ViewState,
    WaitSet,
)
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.idl import IdlStruct, make_idl_struct
from cyclonedds.idl import annotations as idl_annotations
from cyclonedds.idl import types as idl
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from robot_rl.ros import cdr, msgs
from robot_rl.ros.typedesc import FieldSpec, parse_msg
from robot_rl.ros.wire import (
    QOS_DEFAULT,
    QOS_SENSOR_DATA,
    QosProfile,
    dds_topic,
    dds_type_name,
    ros_topic,
    type_hash_user_data,
)

__all__ = ["DdsNode", "DdsPublisher", "DdsSubscription", "QOS_DEFAULT", "QOS_SENSOR_DATA",
           "idl_type", "loopback_config", "dds_qos"]

M = TypeVar("M")
log = logging.getLogger(__name__)

_IDL_PRIMITIVES: dict[str, Any] = {
    "bool": bool, "byte": idl.uint8, "char": idl.uint8, "int8": idl.int8, "uint8": idl.uint8,
    "int16": idl.int16, "uint16": idl.uint16, "int32": idl.int32, "uint32": idl.uint32,
    "int64": idl.int64, "uint64": idl.uint64, "float32": idl.float32,
    "float64": idl.float64, "string": str,
}
_IDL_TYPES: dict[str, type[IdlStruct]] = {}
_DOMAINS: dict[int, list[Any]] = {}  # id -> [config, Domain, users]
_DOMAINS_LOCK = threading.Lock()
_ANY_STATE = SampleState.Any | ViewState.Any | InstanceState.Any


def loopback_config(max_participants: int = 32) -> str:
    """Cyclone DDS XML that keeps discovery and data on the loopback interface.

    Multicast is off (``lo`` has none on Linux), so discovery is unicast to 127.0.0.1 on the
    ports of participant indices 0..``max_participants``.
    """
    return (
        "<CycloneDDS><Domain Id=\"any\"><General>"
        "<Interfaces><NetworkInterface name=\"lo\"/></Interfaces>"
        "<AllowMulticast>false</AllowMulticast></General>"
        "<Discovery><ParticipantIndex>auto</ParticipantIndex>"
        f"<MaxAutoParticipantIndex>{max_participants}</MaxAutoParticipantIndex>"
        "<Peers><Peer Address=\"127.0.0.1\"/></Peers></Discovery>"
        "</Domain></CycloneDDS>"
    )


def _environment_config() -> str | None:
    if os.environ.get("CYCLONEDDS_URI"):
        return None
    localhost = (os.environ.get("ROS_LOCALHOST_ONLY") == "1"
                 or os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST")
    return loopback_config() if localhost else None


def _acquire_domain(domain_id: int, config: str | None) -> bool:
    """Creates (or shares) this process's Domain with ``config``; False if none is needed."""
    if config is None:
        return False
    with _DOMAINS_LOCK:
        entry = _DOMAINS.setdefault(domain_id, [config, None, 0])
        if entry[0] != config:
            raise ValueError(f"DDS domain {domain_id} already runs with another config "
                             "in this process")
        if entry[1] is None:
            entry[1] = Domain(domain_id, config)
        entry[2] += 1
    return True


def _release_domain(domain_id: int) -> None:
    with _DOMAINS_LOCK:
        entry = _DOMAINS[domain_id]
        entry[2] -= 1
        if entry[2] == 0:
            del _DOMAINS[domain_id]
            entry[1].__del__()


def _idl_field(spec: FieldSpec) -> Any:
    base = _IDL_PRIMITIVES.get(spec.base) or idl_type(spec.base)
    if spec.kind == "array":
        return idl.array[base, spec.length]  # type: ignore[misc]  # cyclonedds: __class_getitem__
    if spec.kind == "sequence":
        return idl.sequence[base]  # type: ignore[misc]  # cyclonedds: __class_getitem__
    return base


def idl_type(ros_type: str) -> type[IdlStruct]:
    """The final ``IdlStruct`` for a ROS type, named ``pkg::msg::dds_::Type_`` (cached)."""
    cls = _IDL_TYPES.get(ros_type)
    if cls is None:
        specs = parse_msg(ros_type, msgs.DEFINITIONS[ros_type])
        fields = {spec.name: _idl_field(spec) for spec in specs}
        typename = dds_type_name(ros_type)
        cls = make_idl_struct(typename.rsplit("::", 1)[1], typename, fields)
        cls = idl_annotations.final(cls)
        _IDL_TYPES[ros_type] = cls
    return cls


def dds_qos(profile: QosProfile, type_hash: str | None = None) -> Qos:
    """Cyclone QoS for a ROS profile: reliability, keep-last depth, durability, XCDR1 only."""
    policies = [
        Policy.Reliability.Reliable(duration(milliseconds=100)) if profile.reliable
        else Policy.Reliability.BestEffort,
        Policy.History.KeepLast(profile.depth),
        Policy.Durability.TransientLocal if profile.transient_local
        else Policy.Durability.Volatile,
        Policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    if type_hash:
        policies.append(Policy.Userdata(type_hash_user_data(type_hash)))
    return Qos(*policies)


class DdsPublisher(Generic[M]):
    """Writes one message type on one topic; see :class:`robot_rl.ros.api.Publisher`."""

    def __init__(self, node: DdsNode, topic: str, msg_type: type[M], qos: QosProfile) -> None:
        self.topic = ros_topic(topic)
        self.msg_type = msg_type
        self.qos = qos
        self._writer = DataWriter(node._participant, node._topic(topic, msg_type),
                                  dds_qos(qos, msgs.type_hash(msg_type)))

    def publish(self, msg: M) -> None:
        """Encodes ``msg`` to CDR and writes it."""
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"{self.topic}: expected {self.msg_type.__name__}, "
                            f"got {type(msg).__name__}")
        self.publish_raw(cdr.encode(msg))

    def publish_raw(self, data: bytes) -> None:
        """Writes encoded CDR bytes (header included), zero-padded to 4 bytes like cyclonedds."""
        ddspy_write(self._writer._ref, bytes(data).ljust((len(data) + 3) & ~3, b"\0"))

    def matched_count(self) -> int:
        """Matched readers right now."""
        return int(self._writer.get_publication_matched_status().current_count)

    def endpoint(self) -> DataWriter:
        """The cyclonedds writer (diagnostics, tests)."""
        return self._writer


class DdsSubscription(Generic[M]):
    """Reads one message type from one topic; see :class:`robot_rl.ros.api.Subscription`."""

    def __init__(self, node: DdsNode, topic: str, msg_type: type[M],
                 callback: Callable[[M], None] | None, qos: QosProfile) -> None:
        self.topic = ros_topic(topic)
        self.msg_type = msg_type
        self.callback = callback
        self.qos = qos
        self.rejected = 0
        self._reader = DataReader(node._participant, node._topic(topic, msg_type),
                                  dds_qos(qos, msgs.type_hash(msg_type)))
        self.condition = ReadCondition(self._reader, _ANY_STATE)

    def take_raw(self, max_samples: int = 64) -> list[bytes]:
        """Removes and returns the CDR bytes of received samples (valid data only)."""
        samples = ddspy_take(self._reader._ref, _ANY_STATE, max_samples)
        if isinstance(samples, int):
            raise RuntimeError(f"{self.topic}: dds take failed with code {samples}")
        return [data for data, info in samples if info.valid_data]

    def take(self, max_samples: int = 64) -> list[M]:
        """Removes and returns decoded messages; malformed ones are dropped and counted."""
        out: list[M] = []
        for data in self.take_raw(max_samples):
            try:
                out.append(cdr.decode(data, self.msg_type))
            except cdr.CdrError as err:
                self.rejected += 1
                if self.rejected == 1 or self.rejected % 100 == 0:
                    log.warning("%s: dropped malformed %s (%d so far): %s", self.topic,
                                self.msg_type.__name__, self.rejected, err)
        return out

    def matched_count(self) -> int:
        """Matched writers right now."""
        return int(self._reader.get_subscription_matched_status().current_count)

    def endpoint(self) -> DataReader:
        """The cyclonedds reader (diagnostics, tests)."""
        return self._reader


class DdsTimer:
    """A periodic callback driven by :meth:`DdsNode.spin_once` (phase-locked, no catch-up)."""

    def __init__(self, period_s: float, callback: Callable[[], None]) -> None:
        if period_s <= 0:
            raise ValueError(f"timer period must be > 0, got {period_s}")
        self.period_s = period_s
        self.callback = callback
        self.next_due = time.monotonic() + period_s
        self.cancelled = False

    def cancel(self) -> None:
        """Stops the timer."""
        self.cancelled = True


class DdsNode:
    """A ROS 2 node on plain DDS; implements :class:`robot_rl.ros.api.Node`.

    Args:
        name: Node name (for logs; plain DDS nodes do not show in ``ros2 node list``).
        domain_id: DDS domain; default ``ROS_DOMAIN_ID`` or 0.
        config: Cyclone XML (or file URI) for this domain, e.g. :func:`loopback_config`;
            default from the environment (see the module docstring).
    """

    def __init__(self, name: str, domain_id: int | None = None, config: str | None = None
                 ) -> None:
        self.name = name
        self.domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0") if domain_id is None
                             else domain_id)
        self._owns_domain = _acquire_domain(
            self.domain_id, config if config is not None else _environment_config())
        try:
            self._participant = DomainParticipant(self.domain_id)
        except Exception:
            if self._owns_domain:
                _release_domain(self.domain_id)
            raise
        self._topics: dict[str, Topic] = {}
        self._publishers: list[DdsPublisher[Any]] = []
        self._subscriptions: list[DdsSubscription[Any]] = []
        self._timers: list[DdsTimer] = []
        self._waitset = WaitSet(self._participant)
        self._wake = GuardCondition(self._participant)
        self._waitset.attach(self._wake)
        self._closed = False

    def _topic(self, topic: str, msg_type: type[Any]) -> Topic:
        name = dds_topic(topic)
        if name not in self._topics:
            self._topics[name] = Topic(self._participant, name, idl_type(msg_type.ROS_TYPE))
        return self._topics[name]

    def publisher(self, topic: str, msg_type: type[M], qos: QosProfile = QOS_DEFAULT
                  ) -> DdsPublisher[M]:
        """Creates a publisher (writer) on ``rt/<topic>``."""
        pub = DdsPublisher(self, topic, msg_type, qos)
        self._publishers.append(pub)
        return pub

    def subscription(self, topic: str, msg_type: type[M],
                     callback: Callable[[M], None] | None = None,
                     qos: QosProfile = QOS_DEFAULT) -> DdsSubscription[M]:
        """Creates a subscription (reader); with ``callback`` it is served by spin_once."""
        sub = DdsSubscription(self, topic, msg_type, callback, qos)
        self._subscriptions.append(sub)
        if callback is not None:
            self._waitset.attach(sub.condition)
        return sub

    def timer(self, period_s: float, callback: Callable[[], None]) -> DdsTimer:
        """Calls ``callback`` every ``period_s`` seconds from spin_once."""
        timer = DdsTimer(period_s, callback)
        self._timers.append(timer)
        return timer

    def wake(self) -> None:
        """Makes a blocked spin_once return early (thread-safe)."""
        self._wake.set(True)

    def spin_once(self, timeout_s: float | None = None) -> int:
        """Waits for data or the next timer (at most ``timeout_s``), then runs callbacks."""
        self._timers = [t for t in self._timers if not t.cancelled]
        wait_s = 3600.0 if timeout_s is None else max(0.0, timeout_s)
        for timer in self._timers:
            wait_s = min(wait_s, max(0.0, timer.next_due - time.monotonic()))
        self._waitset.wait(int(wait_s * 1e9))
        self._wake.set(False)
        ran = 0
        for sub in self._subscriptions:
            if sub.callback is not None:
                for msg in sub.take():
                    sub.callback(msg)
                    ran += 1
        now = time.monotonic()
        for timer in self._timers:
            if not timer.cancelled and now >= timer.next_due:
                timer.next_due += timer.period_s
                if timer.next_due <= now:  # fell behind: skip missed ticks, keep the phase
                    missed = int((now - timer.next_due) // timer.period_s) + 1
                    timer.next_due += missed * timer.period_s
                timer.callback()
                ran += 1
        return ran

    def now_ns(self) -> int:
        """Wall-clock time in nanoseconds (ROS time without a /clock source)."""
        return time.time_ns()

    def close(self) -> None:
        """Deletes readers, writers, topics and the participant; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.wake()
        entities: list[Any] = [self._waitset, self._wake]
        entities += [s.condition for s in self._subscriptions]
        entities += [s._reader for s in self._subscriptions]
        entities += [p._writer for p in self._publishers]
        entities += [*self._topics.values(), self._participant]
        for entity in entities:
            entity.__del__()  # cyclonedds deletes on __del__; explicit for a prompt close
        self._subscriptions.clear()
        self._publishers.clear()
        self._timers.clear()
        if self._owns_domain:
            _release_domain(self.domain_id)

    def __enter__(self) -> DdsNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
