"""Helpers shared by the ROS 2 edge tests (reference encoder, sample messages)."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np

from robot_rl.ros import msgs


def as_plain(value: Any) -> Any:
    """A message dataclass as nested dicts/lists of Python scalars (what mcap_ros2 takes)."""
    if dataclasses.is_dataclass(value):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [as_plain(v) for v in value]
    return value


def mcap_ros2_encode(msg: Any) -> bytes:
    """Encodes ``msg`` with mcap_ros2's writer from the .msg text (the reference encoder)."""
    from mcap.reader import make_reader
    from mcap_ros2.writer import Writer

    from robot_rl.ros import msgs

    buf = io.BytesIO()
    writer = Writer(buf)
    schema = writer.register_msgdef(msg.ROS_TYPE, msgs.full_definition(type(msg)))
    writer.write_message("/t", schema, as_plain(msg), log_time=1, publish_time=1)
    writer.finish()
    buf.seek(0)
    (_, _, record), = list(make_reader(buf).iter_messages())
    return bytes(record.data)


def sample_messages() -> dict[str, Any]:
    """One message of each topic type, with non-trivial content (topic -> message)."""
    imu = msgs.Imu(msgs.Header(msgs.Time(5, 6), "imu_link"), msgs.Quaternion(0.1, 0.2, 0.3, 0.9),
                   np.arange(9.0), msgs.Vector3(1.0, -2.0, 3.5), np.full(9, 0.01),
                   msgs.Vector3(0.0, 0.0, 9.81), np.eye(3).reshape(-1))
    layout = msgs.MultiArrayLayout([msgs.MultiArrayDimension("joints", 3, 3)], 0)
    return {
        "/joint_states": msgs.JointState.from_arrays(
            ["FR_hip", "FR_thigh", "FR_calf"], [0.1, 0.7, -1.4], [0.0, -0.5, 2.0],
            [1.5, 2.5, -3.5], stamp_ns=1_700_000_000_123_456_789, frame_id="base"),
        "/imu": imu,
        "/forward_position_controller/commands": msgs.Float64MultiArray(
            layout, np.array([0.05, 0.7, -1.4])),
        "/estop": msgs.Bool(True),
        "/robot_rl/status": msgs.String('{"state": "running", "note": "\u00e9t\u00e9 ok"}'),
        "/camera/front/image_raw": msgs.Image(
            msgs.Header(msgs.Time(7, 8), "front"), 2, 3, "rgb8", 0, 9,
            np.arange(18, dtype=np.uint8) * 13),
        "/camera/front/image_raw/compressed": msgs.CompressedImage(
            msgs.Header(msgs.Time(7, 8), "front"), "rgb8; jpeg compressed bgr8",
            np.array([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0xFF, 0xD9], dtype=np.uint8)),
    }
