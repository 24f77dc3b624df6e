"""ROS 2 messages used by robot_rl as plain dataclasses, with their definitions and hashes.

Float sequences are float64 numpy arrays, string sequences are lists of str. Each class names
its ROS 2 type in ``ROS_TYPE``; :data:`DEFINITIONS` holds the ``.msg`` text (field lines only,
comments dropped) that :mod:`robot_rl.ros.cdr` encodes from and :mod:`robot_rl.ros.typedesc`
hashes. :data:`TYPE_HASHES` are the RIHS01 hashes read from a ROS 2 Jazzy install; the tests
recompute them from :data:`DEFINITIONS`, which checks every field name, type and order.

Example:
    >>> state = JointState.from_arrays(["hip", "knee"], [0.1, -0.2], stamp_ns=1_500_000_000)
    >>> state.header.stamp
    Time(sec=1, nanosec=500000000)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robot_rl.ros import typedesc

DEFINITIONS: dict[str, str] = {
    "builtin_interfaces/msg/Time": "int32 sec\nuint32 nanosec\n",
    "std_msgs/msg/Header": "builtin_interfaces/Time stamp\nstring frame_id\n",
    "geometry_msgs/msg/Quaternion": "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n",
    "geometry_msgs/msg/Vector3": "float64 x\nfloat64 y\nfloat64 z\n",
    "sensor_msgs/msg/JointState": (
        "std_msgs/Header header\n\nstring[] name\nfloat64[] position\nfloat64[] velocity\n"
        "float64[] effort\n"
    ),
    "sensor_msgs/msg/Imu": (
        "std_msgs/Header header\n\ngeometry_msgs/Quaternion orientation\n"
        "float64[9] orientation_covariance # Row major about x, y, z axes\n\n"
        "geometry_msgs/Vector3 angular_velocity\n"
        "float64[9] angular_velocity_covariance # Row major about x, y, z axes\n\n"
        "geometry_msgs/Vector3 linear_acceleration\n"
        "float64[9] linear_acceleration_covariance # Row major x, y z\n"
    ),
    "std_msgs/msg/MultiArrayDimension": "string label\nuint32 size\nuint32 stride\n",
    "std_msgs/msg/MultiArrayLayout": "MultiArrayDimension[] dim\nuint32 data_offset\n",
    "std_msgs/msg/Float64MultiArray": "MultiArrayLayout  layout\nfloat64[]         data\n",
    "std_msgs/msg/Bool": "bool data\n",
    "std_msgs/msg/String": "string data\n",
    "sensor_msgs/msg/Image": (
        "std_msgs/Header header\n\nuint32 height\nuint32 width\n\nstring encoding\n\n"
        "uint8 is_bigendian\nuint32 step\nuint8[] data\n"
    ),
    "sensor_msgs/msg/CompressedImage": "std_msgs/Header header\n\nstring format\nuint8[] data\n",
    "sensor_msgs/msg/Joy": "std_msgs/Header header\n\nfloat32[] axes\n\nint32[] buttons\n",
    "geometry_msgs/msg/Twist": "Vector3  linear\nVector3  angular\n",
}

# RIHS01 hashes as ROS 2 Jazzy lists them (share/<package>/msg/<Type>.json, "type_hashes";
# tests/ros/test_ros_rclpy.py compares them with the installed Jazzy packages).
TYPE_HASHES: dict[str, str] = {
    "sensor_msgs/msg/JointState":
        "RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e",
    "sensor_msgs/msg/Imu":
        "RIHS01_7d9a00ff131080897a5ec7e26e315954b8eae3353c3f995c55faf71574000b5b",
    "std_msgs/msg/Float64MultiArray":
        "RIHS01_1025ddc6b9552d191f89ef1a8d2f60f3d373e28b283d8891ddcc974e8c55397f",
    "std_msgs/msg/Bool":
        "RIHS01_feb91e995ff9ebd09c0cb3d2aed18b11077585839fb5db80193b62d74528f6c9",
    "std_msgs/msg/String":
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
    "sensor_msgs/msg/Image":
        "RIHS01_d31d41a9a4c4bc8eae9be757b0beed306564f7526c88ea6a4588fb9582527d47",
    "sensor_msgs/msg/CompressedImage":
        "RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a",
    "sensor_msgs/msg/Joy":
        "RIHS01_0d356c79cad3401e35ffeb75a96a96e08be3ef896b8b83841d73e890989372c5",
    "geometry_msgs/msg/Twist":
        "RIHS01_9c45bf16fe0983d80e3cfe750d6835843d265a9a6c46bd2e609fcddde6fb8d2a",
}


def _f64(values: Any = ()) -> np.ndarray:
    return np.array(values, dtype=np.float64).reshape(-1)


@dataclass
class Time:
    """builtin_interfaces/msg/Time: seconds and nanoseconds (ROS time, usually wall clock)."""

    ROS_TYPE: ClassVar[str] = "builtin_interfaces/msg/Time"
    sec: int = 0
    nanosec: int = 0

    @classmethod
    def from_ns(cls, ns: int) -> Time:
        """Builds a stamp from integer nanoseconds."""
        sec, nanosec = divmod(int(ns), 1_000_000_000)
        return cls(sec, nanosec)

    def to_ns(self) -> int:
        """The stamp as integer nanoseconds."""
        return self.sec * 1_000_000_000 + self.nanosec


@dataclass
class Header:
    """std_msgs/msg/Header: stamp and coordinate frame."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/Header"
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class Quaternion:
    """geometry_msgs/msg/Quaternion (identity by default)."""

    ROS_TYPE: ClassVar[str] = "geometry_msgs/msg/Quaternion"
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    w: float = 1.0


@dataclass
class Vector3:
    """geometry_msgs/msg/Vector3."""

    ROS_TYPE: ClassVar[str] = "geometry_msgs/msg/Vector3"
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass(eq=False)
class JointState:
    """sensor_msgs/msg/JointState: per-joint position (rad), velocity (rad/s), effort (N·m).

    Any of the three arrays may be empty; non-empty ones align with ``name``.
    """

    ROS_TYPE: ClassVar[str] = "sensor_msgs/msg/JointState"
    header: Header = field(default_factory=Header)
    name: list[str] = field(default_factory=list)
    position: np.ndarray = field(default_factory=_f64)
    velocity: np.ndarray = field(default_factory=_f64)
    effort: np.ndarray = field(default_factory=_f64)

    @classmethod
    def from_arrays(cls, names: Sequence[str], position: Any, velocity: Any = (),
                    effort: Any = (), stamp_ns: int = 0, frame_id: str = "") -> JointState:
        """Builds a state from joint names and array-likes (copied to float64)."""
        return cls(Header(Time.from_ns(stamp_ns), frame_id), list(names), _f64(position),
                   _f64(velocity), _f64(effort))


@dataclass(eq=False)
class Imu:
    """sensor_msgs/msg/Imu: orientation, angular velocity (rad/s), linear acceleration (m/s²).

    Covariances are row-major 3x3 as 9 values; ``orientation_covariance[0] == -1`` means no
    orientation estimate (ROS convention).
    """

    ROS_TYPE: ClassVar[str] = "sensor_msgs/msg/Imu"
    header: Header = field(default_factory=Header)
    orientation: Quaternion = field(default_factory=Quaternion)
    orientation_covariance: np.ndarray = field(default_factory=lambda: np.zeros(9))
    angular_velocity: Vector3 = field(default_factory=Vector3)
    angular_velocity_covariance: np.ndarray = field(default_factory=lambda: np.zeros(9))
    linear_acceleration: Vector3 = field(default_factory=Vector3)
    linear_acceleration_covariance: np.ndarray = field(default_factory=lambda: np.zeros(9))


@dataclass
class MultiArrayDimension:
    """std_msgs/msg/MultiArrayDimension."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/MultiArrayDimension"
    label: str = ""
    size: int = 0
    stride: int = 0


@dataclass
class MultiArrayLayout:
    """std_msgs/msg/MultiArrayLayout (empty ``dim`` for a flat vector)."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/MultiArrayLayout"
    dim: list[MultiArrayDimension] = field(default_factory=list)
    data_offset: int = 0


@dataclass(eq=False)
class Float64MultiArray:
    """std_msgs/msg/Float64MultiArray: what ros2_control forward command controllers take."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/Float64MultiArray"
    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: np.ndarray = field(default_factory=_f64)

    @classmethod
    def from_array(cls, values: Any) -> Float64MultiArray:
        """A flat command vector (empty layout, as forward_command_controller expects)."""
        return cls(MultiArrayLayout(), _f64(values))


@dataclass
class Bool:
    """std_msgs/msg/Bool (the e-stop topic)."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/Bool"
    data: bool = False


@dataclass
class String:
    """std_msgs/msg/String (status text, e.g. JSON)."""

    ROS_TYPE: ClassVar[str] = "std_msgs/msg/String"
    data: str = ""


def _u8(values: Any = ()) -> np.ndarray:
    return np.array(values, dtype=np.uint8).reshape(-1)


@dataclass(eq=False)
class Image:
    """sensor_msgs/msg/Image: ``height`` rows of ``step`` bytes in ``data``.

    robot_rl sends ``rgb8`` (3 bytes per pixel, no row padding); what a frame's shape and
    bytes must satisfy to be used is checked by :func:`robot_rl.nodes.ros_messages.frame`.
    """

    ROS_TYPE: ClassVar[str] = "sensor_msgs/msg/Image"
    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    encoding: str = ""
    is_bigendian: int = 0
    step: int = 0
    data: np.ndarray = field(default_factory=_u8)


@dataclass(eq=False)
class CompressedImage:
    """sensor_msgs/msg/CompressedImage: ``format`` (e.g. ``rgb8; jpeg compressed bgr8``, as
    ``compressed_image_transport`` writes it) and the encoded bytes."""

    ROS_TYPE: ClassVar[str] = "sensor_msgs/msg/CompressedImage"
    header: Header = field(default_factory=Header)
    format: str = ""
    data: np.ndarray = field(default_factory=_u8)


def _f32(values: Any = ()) -> np.ndarray:
    return np.array(values, dtype=np.float32).reshape(-1)


def _i32(values: Any = ()) -> np.ndarray:
    return np.array(values, dtype=np.int32).reshape(-1)


@dataclass(eq=False)
class Joy:
    """sensor_msgs/msg/Joy: a joystick's axes (float32, usually in [-1, 1]) and buttons
    (int32, 0 or 1); teleoperation input (:mod:`robot_rl.demos.teleop`)."""

    ROS_TYPE: ClassVar[str] = "sensor_msgs/msg/Joy"
    header: Header = field(default_factory=Header)
    axes: np.ndarray = field(default_factory=_f32)
    buttons: np.ndarray = field(default_factory=_i32)


@dataclass
class Twist:
    """geometry_msgs/msg/Twist: linear (m/s) and angular (rad/s) velocity; teleoperation
    input (:mod:`robot_rl.demos.teleop`)."""

    ROS_TYPE: ClassVar[str] = "geometry_msgs/msg/Twist"
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


RosMessage = (Time | Header | Quaternion | Vector3 | JointState | Imu | MultiArrayDimension
              | MultiArrayLayout | Float64MultiArray | Bool | String | Image | CompressedImage
              | Joy | Twist)

MESSAGE_CLASSES: dict[str, type[Any]] = {
    cls.ROS_TYPE: cls
    for cls in (Time, Header, Quaternion, Vector3, JointState, Imu, MultiArrayDimension,
                MultiArrayLayout, Float64MultiArray, Bool, String, Image, CompressedImage,
                Joy, Twist)
}

# Top-level types with a known hash: the ones sent on topics.
TOPIC_TYPES: tuple[type[Any], ...] = (JointState, Imu, Float64MultiArray, Bool, String, Image,
                                      CompressedImage, Joy, Twist)


def message_class(ros_type: str) -> type[Any]:
    """The dataclass for a ROS type name (``pkg/msg/Type`` or ``pkg/Type``).

    Raises:
        KeyError: For a type this module does not define.
    """
    parts = ros_type.split("/")
    if len(parts) == 2:
        ros_type = f"{parts[0]}/msg/{parts[1]}"
    return MESSAGE_CLASSES[ros_type]


def full_definition(msg_type: type[Any] | str) -> str:
    """Schema text with dependencies (rosbag2 / mcap ``ros2msg`` format) for a message type."""
    name = msg_type if isinstance(msg_type, str) else msg_type.ROS_TYPE
    return typedesc.full_definition(name, DEFINITIONS)


def type_hash(msg_type: type[Any] | str) -> str:
    """RIHS01 hash of a message type (the Jazzy value where known, else computed)."""
    name = msg_type if isinstance(msg_type, str) else msg_type.ROS_TYPE
    return TYPE_HASHES.get(name) or typedesc.type_hash(name, DEFINITIONS)


def messages_equal(a: Any, b: Any) -> bool:
    """Deep equality of two messages; float arrays compare exactly, NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, list):
        return len(a) == len(b) and all(messages_equal(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a):
        return all(messages_equal(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)
