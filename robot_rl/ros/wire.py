"""ROS 2 conventions on DDS: topic and type names, QoS profiles, endpoint user data.

Pure Python, shared by the DDS edge, the rclpy edge and the MCAP recorder.

- ROS topic ``/a/b`` is DDS topic ``rt/a/b``; ROS type ``pkg/msg/T`` is DDS type
  ``pkg::msg::dds_::T_``.
- QoS: the ROS default profile is reliable, keep last 10, volatile; the sensor-data profile
  is best effort, keep last 5, volatile. A reliable reader never matches a best-effort writer,
  so state *writers* are reliable (as ros2_control's broadcasters) and state *readers* best
  effort (they match both kinds of writer).
- Jazzy endpoints carry user data ``typehash=RIHS01_<64 hex>;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOPIC_RE = re.compile(r"^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_TYPE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/msg/([A-Za-z][A-Za-z0-9_]*)$")


def ros_topic(topic: str) -> str:
    """Normalizes a ROS topic name to its absolute form (``joint_states`` -> ``/joint_states``).

    Raises:
        ValueError: For names that are not fully expanded ROS 2 names (empty, ``//``,
            trailing ``/``, a token starting with a digit, ``~`` or ``{}`` substitutions).
    """
    if not _TOPIC_RE.match(topic):
        raise ValueError(f"invalid ROS topic name {topic!r}")
    return topic if topic.startswith("/") else "/" + topic


def dds_topic(topic: str) -> str:
    """DDS topic name of a ROS topic: ``/joint_states`` -> ``rt/joint_states``."""
    return "rt" + ros_topic(topic)


def dds_type_name(ros_type: str) -> str:
    """DDS type name of a ROS type: ``std_msgs/msg/Bool`` -> ``std_msgs::msg::dds_::Bool_``."""
    m = _TYPE_RE.match(ros_type)
    if m is None:
        raise ValueError(f"expected 'pkg/msg/Type', got {ros_type!r}")
    return f"{m[1]}::msg::dds_::{m[2]}_"


def type_hash_user_data(type_hash: str) -> bytes:
    """Endpoint user data that ROS 2 Jazzy expects: ``typehash=RIHS01_...;``."""
    if not re.fullmatch(r"RIHS01_[0-9a-f]{64}", type_hash):
        raise ValueError(f"not a RIHS01 hash: {type_hash!r}")
    return f"typehash={type_hash};".encode("ascii")


@dataclass(frozen=True)
class QosProfile:
    """The QoS settings robot_rl uses (a subset of ROS 2's ``rmw_qos_profile_t``).

    Attributes:
        reliable: Reliable (resend until acknowledged) rather than best effort.
        depth: History depth (keep last ``depth`` samples per writer/reader).
        transient_local: Late joiners get the last ``depth`` samples (latched) if True.
    """

    reliable: bool = True
    depth: int = 10
    transient_local: bool = False

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"QoS depth must be >= 1, got {self.depth}")

    def compatible_with_writer(self, writer: QosProfile) -> bool:
        """Whether a reader with this profile matches a writer with ``writer``'s (DDS rules)."""
        reliability_ok = writer.reliable or not self.reliable
        durability_ok = writer.transient_local or not self.transient_local
        return reliability_ok and durability_ok

    def rosbag2_qos(self) -> dict[str, object]:
        """This profile as one entry of rosbag2's ``offered_qos_profiles`` (metadata version 9,
        the Jazzy format: policies as the strings of ``rmw_qos_*_policy_to_str``).

        Durations 0/0 mean unspecified (the default); liveliness is automatic.
        """
        zero = {"sec": 0, "nsec": 0}
        return {"history": "keep_last", "depth": self.depth,
                "reliability": "reliable" if self.reliable else "best_effort",
                "durability": "transient_local" if self.transient_local else "volatile",
                "deadline": dict(zero), "lifespan": dict(zero), "liveliness": "automatic",
                "liveliness_lease_duration": dict(zero),
                "avoid_ros_namespace_conventions": False}

    def rosbag2_yaml(self) -> str:
        """This profile as rosbag2 ``offered_qos_profiles`` YAML (a one-element list, metadata
        version 9) as rosbag2 stores it in an MCAP channel's metadata."""
        q = self.rosbag2_qos()
        lines = [f"- history: {q['history']}", f"  depth: {q['depth']}",
                 f"  reliability: {q['reliability']}", f"  durability: {q['durability']}"]
        for key in ("deadline", "lifespan"):
            lines += [f"  {key}:", "    sec: 0", "    nsec: 0"]
        lines += [f"  liveliness: {q['liveliness']}", "  liveliness_lease_duration:",
                  "    sec: 0", "    nsec: 0", "  avoid_ros_namespace_conventions: false"]
        return "\n".join(lines) + "\n"


QOS_DEFAULT = QosProfile(reliable=True, depth=10)
"""ROS 2 default profile: reliable, keep last 10, volatile (commands, e-stop, status)."""

QOS_SENSOR_DATA = QosProfile(reliable=False, depth=5)
"""ROS 2 sensor-data profile: best effort, keep last 5, volatile (joint states, IMU)."""

QOS_LATCHED = QosProfile(reliable=True, depth=1, transient_local=True)
"""Reliable, keep last 1, transient local: late joiners get the last value (e.g. e-stop)."""

QOS_STATE_WRITER = QosProfile(reliable=True, depth=10)
"""What a ros2_control broadcaster offers for joint states and the IMU: reliable, keep last,
volatile. ``joint_state_broadcaster`` creates its publisher with ``rclcpp::SystemDefaultsQoS()``
(ros2_controllers, ``joint_state_broadcaster/src/joint_state_broadcaster.cpp``, ``on_configure``),
which Fast DDS and Cyclone DDS both resolve to reliable and volatile. A default (reliable)
subscriber such as RViz, robot_state_publisher or ``ros2 topic echo`` matches it; so does the
actor's best-effort reader (:data:`QOS_SENSOR_DATA`)."""
