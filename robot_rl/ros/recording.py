"""Session recording to MCAP with the ``ros2`` profile, and reading recordings back.

Files are what rosbag2's MCAP storage writes, so ``ros2 bag info``/``ros2 bag play`` and
Foxglove open them: profile ``ros2``; one schema per type with encoding ``ros2msg`` and the
``.msg`` text including dependencies; channels with message encoding ``cdr`` and the
metadata ``offered_qos_profiles`` (rosbag2 YAML) and ``topic_type_hash`` (RIHS01); and, at
close, the metadata record ``rosbag2`` that rosbag2's MCAP plugin writes
(``serialized_metadata``: the bag's ``BagMetadata`` as YAML, metadata version 9, with
``ros_distro``; plus ``ROS_DISTRO`` for older readers), so ``ros2 bag info`` shows the
distribution. Message payloads are the same CDR bytes that go on the wire
(:mod:`robot_rl.ros.cdr`).

Example:
    >>> with McapRecorder("run/session.mcap") as rec:               # doctest: +SKIP
    ...     rec.write("/joint_states", state, log_time_ns=t)
    ...     rec.write_json("/robot_rl/events", {"event": "episode_end", "return": 3.2})
    >>> for item in read_recording("run/session.mcap"):              # doctest: +SKIP
    ...     item.topic, item.log_time_ns, item.message

Chunks are compressed in memory and written when full: after a crash the file lacks its
summary, and :func:`read_recording` returns every message up to the last complete chunk.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from mcap.exceptions import McapError
from mcap.reader import NonSeekingReader
from mcap.writer import CompressionType, Writer

from robot_rl.ros import cdr, msgs
from robot_rl.ros.wire import QOS_DEFAULT, QosProfile, ros_topic

log = logging.getLogger(__name__)

PROFILE = "ros2"
SCHEMA_ENCODING = "ros2msg"
MESSAGE_ENCODING = "cdr"
ROSBAG2_METADATA = "rosbag2"  # name of the MCAP metadata record rosbag2 reads
ROS_DISTRO = "jazzy"  # the distribution whose message definitions and type hashes we write
BAG_METADATA_VERSION = 9  # rosbag2's BagMetadata version in Jazzy
_COMPRESSION = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4,
                "none": CompressionType.NONE}


class RecordedMessage(NamedTuple):
    """One message read back from a recording.

    Attributes:
        topic: ROS topic name.
        log_time_ns: When it was recorded (ns since the epoch).
        ros_type: Schema name, e.g. ``sensor_msgs/msg/JointState``.
        message: A :mod:`robot_rl.ros.msgs` dataclass, or for other types the object that
            ``mcap_ros2`` decodes.
    """

    topic: str
    log_time_ns: int
    ros_type: str
    message: Any


@dataclass
class _TopicStats:
    ros_type: str
    qos: QosProfile
    count: int = 0


@dataclass
class _BagStats:
    """What rosbag2 keeps to write its ``BagMetadata`` at the end of a recording."""

    topics: dict[str, _TopicStats] = field(default_factory=dict)
    first_ns: int | None = None
    last_ns: int = 0
    count: int = 0

    def add(self, topic: str, log_time_ns: int) -> None:
        self.topics[topic].count += 1
        self.count += 1
        self.first_ns = log_time_ns if self.first_ns is None else min(self.first_ns,
                                                                      log_time_ns)
        self.last_ns = max(self.last_ns, log_time_ns)

    def metadata(self, file_name: str, ros_distro: str) -> dict[str, Any]:
        """rosbag2's ``BagMetadata`` (the fields of ``YAML::convert<BagMetadata>::encode``)."""
        start = self.first_ns or 0
        duration = {"nanoseconds": max(0, self.last_ns - start)}
        starting = {"nanoseconds_since_epoch": start}
        topics = [{"topic_metadata": {"name": name, "type": t.ros_type,
                                      "serialization_format": MESSAGE_ENCODING,
                                      "offered_qos_profiles": [t.qos.rosbag2_qos()],
                                      "type_description_hash": msgs.type_hash(t.ros_type)},
                   "message_count": t.count} for name, t in self.topics.items()]
        return {"version": BAG_METADATA_VERSION, "storage_identifier": "mcap",
                "duration": duration, "starting_time": starting, "message_count": self.count,
                "topics_with_message_count": topics, "compression_format": "",
                "compression_mode": "", "relative_file_paths": [file_name],
                "files": [{"path": file_name, "starting_time": starting,
                           "duration": duration, "message_count": self.count}],
                "custom_data": {}, "ros_distro": ros_distro}


class McapRecorder:
    """Writes messages to an MCAP file (thread-safe).

    Args:
        path: Output file (``.mcap``); parent directories are created.
        compression: ``"zstd"`` (default), ``"lz4"`` or ``"none"``.
        chunk_size: Bytes per chunk; at most this much is lost on a crash.
        library: Writer name stored in the MCAP header.
        ros_distro: The ROS distribution named in the ``rosbag2`` metadata record.
    """

    def __init__(self, path: str | Path, compression: str = "zstd",
                 chunk_size: int = 256 * 1024, library: str = "robot_rl",
                 ros_distro: str = ROS_DISTRO) -> None:
        if compression not in _COMPRESSION:
            raise ValueError(f"compression must be one of {sorted(_COMPRESSION)}, "
                             f"got {compression!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb")
        self._writer = Writer(self._file, chunk_size=chunk_size,
                              compression=_COMPRESSION[compression])
        self._writer.start(profile=PROFILE, library=library)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._sequence = 0
        self.message_count = 0
        self.ros_distro = ros_distro
        self._stats = _BagStats()
        self._closed = False

    def add_topic(self, topic: str, msg_type: type[Any] | str,
                  qos: QosProfile = QOS_DEFAULT) -> None:
        """Declares a topic (done on first write otherwise, with the default QoS).

        Raises:
            ValueError: If the topic was declared with another type.
        """
        ros_type = msg_type if isinstance(msg_type, str) else msg_type.ROS_TYPE
        topic = ros_topic(topic)
        with self._lock:
            self._channel(topic, ros_type, qos)

    def _channel(self, topic: str, ros_type: str, qos: QosProfile) -> int:
        known = self._channels.get(topic)
        if known is not None:
            if known[1] != ros_type:
                raise ValueError(f"{topic} is recorded as {known[1]}, not {ros_type}")
            return known[0]
        if ros_type not in self._schemas:
            text = msgs.full_definition(ros_type).encode("utf-8")
            self._schemas[ros_type] = self._writer.register_schema(ros_type, SCHEMA_ENCODING,
                                                                   text)
        metadata = {"offered_qos_profiles": qos.rosbag2_yaml(),
                    "topic_type_hash": msgs.type_hash(ros_type)}
        channel_id = self._writer.register_channel(topic, MESSAGE_ENCODING,
                                                   self._schemas[ros_type], metadata)
        self._channels[topic] = (channel_id, ros_type)
        self._stats.topics[topic] = _TopicStats(ros_type, qos)
        return channel_id

    def write_raw(self, topic: str, msg_type: type[Any] | str, data: bytes,
                  log_time_ns: int | None = None, publish_time_ns: int | None = None) -> None:
        """Records CDR bytes as they came off the wire (not re-encoded or checked)."""
        ros_type = msg_type if isinstance(msg_type, str) else msg_type.ROS_TYPE
        topic = ros_topic(topic)
        log_time = time.time_ns() if log_time_ns is None else int(log_time_ns)
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path}: recorder is closed")
            channel_id = self._channel(topic, ros_type, QOS_DEFAULT)
            self._sequence += 1
            self._writer.add_message(channel_id, log_time, bytes(data),
                                     log_time if publish_time_ns is None else publish_time_ns,
                                     self._sequence)
            self.message_count += 1
            self._stats.add(topic, log_time)

    def write(self, topic: str, msg: Any, log_time_ns: int | None = None,
              publish_time_ns: int | None = None) -> None:
        """Encodes and records a :mod:`robot_rl.ros.msgs` message."""
        self.write_raw(topic, type(msg), cdr.encode(msg), log_time_ns, publish_time_ns)

    def write_json(self, topic: str, payload: Mapping[str, Any],
                   log_time_ns: int | None = None) -> None:
        """Records a learning event or status as std_msgs/String holding JSON text."""
        self.write(topic, msgs.String(json.dumps(payload, sort_keys=True)), log_time_ns)

    def add_metadata(self, name: str, data: Mapping[str, str]) -> None:
        """Stores key-value metadata (e.g. run id, robot config name)."""
        with self._lock:
            self._writer.add_metadata(name, {str(k): str(v) for k, v in data.items()})

    def close(self) -> None:
        """Writes the summary and closes the file; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                meta = self._stats.metadata(self.path.name, self.ros_distro)
                self._writer.add_metadata(ROSBAG2_METADATA, {
                    "serialized_metadata": yaml.safe_dump(meta, sort_keys=False),
                    "ROS_DISTRO": self.ros_distro})
                self._writer.finish()
            finally:
                self._file.close()

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _full_type_name(name: str) -> str:
    parts = name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 else name


def _fallback_decoder(schema: Any) -> Any:
    from mcap_ros2.decoder import DecoderFactory  # only for types robot_rl does not define

    return DecoderFactory().decoder_for(MESSAGE_ENCODING, schema)


def read_recording(path: str | Path, topics: Iterable[str] | None = None,
                   skip_malformed: bool = True) -> Iterator[RecordedMessage]:
    """Yields the messages of an MCAP recording in file order.

    Known types decode to :mod:`robot_rl.ros.msgs` dataclasses with the strict decoder;
    other ``ros2msg``/``cdr`` channels are decoded by ``mcap_ros2``; channels with other
    encodings are skipped. A file cut short by a crash yields what precedes the cut.

    Args:
        path: The ``.mcap`` file.
        topics: Only these topics (all if None).
        skip_malformed: Skip (and log) messages that fail to decode instead of raising.

    Raises:
        cdr.CdrError: For a malformed message when ``skip_malformed`` is False.
    """
    wanted = None if topics is None else {ros_topic(t) for t in topics}
    decoders: dict[int, Any] = {}
    with Path(path).open("rb") as stream:
        reader = NonSeekingReader(stream)
        items = reader.iter_messages(topics=wanted, log_time_order=False)
        while True:
            try:
                schema, channel, message = next(items)
            except StopIteration:
                return
            except (McapError, EOFError, ValueError, struct.error) as err:  # cut short
                log.warning("%s: recording ends early (%r)", path, err)
                return
            if (schema is None or schema.encoding != SCHEMA_ENCODING
                    or channel.message_encoding != MESSAGE_ENCODING):
                continue
            ros_type = _full_type_name(schema.name)
            if channel.id not in decoders:
                decoders[channel.id] = (None if ros_type in msgs.MESSAGE_CLASSES
                                        else _fallback_decoder(schema))
            try:
                fallback = decoders[channel.id]
                value = (cdr.decode(message.data, ros_type) if fallback is None
                         else fallback(message.data))
            except Exception as err:  # noqa: BLE001 - third-party decoders raise anything
                if not skip_malformed:
                    raise cdr.CdrError(f"{channel.topic} @ {message.log_time}: {err}") from err
                log.warning("%s: skipped malformed %s message: %s", path, channel.topic, err)
                continue
            yield RecordedMessage(channel.topic, message.log_time, ros_type, value)


def read_bag_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``rosbag2`` metadata record of a recording as a dict (``BagMetadata`` fields plus
    ``ROS_DISTRO``), or None if the file has none (e.g. cut short by a crash)."""
    from mcap.reader import make_reader

    with Path(path).open("rb") as stream:
        try:
            records = [m for m in make_reader(stream).iter_metadata()
                       if m.name == ROSBAG2_METADATA]
        except (McapError, EOFError, ValueError, struct.error):
            return None
    if not records:
        return None
    data = dict(records[-1].metadata)
    meta = yaml.safe_load(data.get("serialized_metadata", "")) or {}
    meta["ROS_DISTRO"] = data.get("ROS_DISTRO", "")
    return meta
