"""Robot state <-> ROS messages, and labelled ``Float64MultiArray`` segments.

Pure functions shared by the actor, the sim bridge, the recorder and the benchmark.

A *labelled* ``std_msgs/Float64MultiArray`` carries named segments: one layout dimension per
segment, ``label`` = its name, ``size`` = ``stride`` = its length, and ``data`` the segments
back to back. robot_rl uses it for two things ROS 2 has no common message for:

- the extras topic (``ros.extras_topic``): signals beyond joints and IMU that the policy or
  reward needs, e.g. ``base_linear_velocity`` (3, body frame, m/s), ``base_position`` (3),
  ``foot_contacts`` (one per foot), ``ee_position`` (3), and from the simulator
  ``reset_count`` (1: respawns so far) and ``sim_time`` (1, s);
- recorded transitions (``obs``, ``action``, ``reward``, ``next_obs``, ``terminated``,
  ``truncated``).

Example:
    >>> msg = labelled({"ee_position": [0.4, 0.0, 0.3], "reset_count": [2]})
    >>> {k: v.tolist() for k, v in unlabel(msg).items()}
    {'ee_position': [0.4, 0.0, 0.3], 'reset_count': [2.0]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robot_rl.images import encode_jpeg
from robot_rl.robot import RobotState
from robot_rl.ros import msgs

EXTRA_SIGNALS = ("base_linear_velocity", "base_position", "foot_contacts", "ee_position")
"""RobotState fields the extras topic may carry (each optional)."""


def labelled(segments: Mapping[str, Any]) -> msgs.Float64MultiArray:
    """A Float64MultiArray holding ``segments`` (name -> 1-D array-like) back to back."""
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in segments.values()]
    dims = [msgs.MultiArrayDimension(str(k), a.size, a.size)
            for k, a in zip(segments, arrays, strict=True)]
    data = np.concatenate(arrays) if arrays else np.zeros(0)
    return msgs.Float64MultiArray(msgs.MultiArrayLayout(dims, 0), data)


def unlabel(msg: msgs.Float64MultiArray) -> dict[str, np.ndarray]:
    """The named segments of a labelled Float64MultiArray.

    Raises:
        ValueError: If the layout does not describe ``data`` (sizes, offset, duplicates).
    """
    dims = msg.layout.dim
    sizes = [d.size for d in dims]
    if msg.layout.data_offset != 0 or sum(sizes) != msg.data.size:
        raise ValueError(f"labelled array: segment sizes {sizes} (offset "
                         f"{msg.layout.data_offset}) do not cover {msg.data.size} values")
    if len({d.label for d in dims}) != len(dims) or any(not d.label for d in dims):
        raise ValueError("labelled array: expected unique, non-empty segment labels")
    out: dict[str, np.ndarray] = {}
    start = 0
    for d in dims:
        out[d.label] = msg.data[start:start + d.size].copy()
        start += d.size
    return out


def joint_state_msg(state: RobotState, names: Sequence[str], stamp_ns: int,
                    frame_id: str = "") -> msgs.JointState:
    """The JointState a driver publishes for ``state`` (config joint order)."""
    return msgs.JointState.from_arrays(names, state.joint_position, state.joint_velocity,
                                       state.joint_effort, stamp_ns=stamp_ns,
                                       frame_id=frame_id)


def imu_msg(state: RobotState, stamp_ns: int, frame_id: str = "imu_link") -> msgs.Imu:
    """The Imu message for ``state`` (orientation x, y, z, w; body rates; acceleration)."""
    q, w, a = state.imu_orientation, state.imu_angular_velocity, state.imu_linear_acceleration
    return msgs.Imu(msgs.Header(msgs.Time.from_ns(stamp_ns), frame_id),
                    msgs.Quaternion(*(float(v) for v in q)), np.zeros(9),
                    msgs.Vector3(*(float(v) for v in w)), np.zeros(9),
                    msgs.Vector3(*(float(v) for v in a)), np.zeros(9))


def extras_msg(state: RobotState, **more: Any) -> msgs.Float64MultiArray:
    """The extras message: the optional RobotState fields that are set, plus ``more``."""
    segments: dict[str, Any] = {}
    for name in EXTRA_SIGNALS:
        value = getattr(state, name)
        if value is not None:
            segments[name] = value
    segments.update(more)
    return labelled(segments)


IMAGE_ENCODINGS = ("rgb8", "bgr8")
"""Image encodings :func:`frame` reads (robot_rl sends rgb8)."""
MAX_FRAME_SIDE = 4096
"""Largest image side (px) :func:`frame` reads; a bigger header is forged or a mistake."""
JPEG_FORMAT = "rgb8; jpeg compressed bgr8"
"""``CompressedImage.format`` of our JPEGs, as ``compressed_image_transport`` writes it."""


def image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str) -> msgs.Image:
    """The rgb8 Image of an (H, W, 3) uint8 frame (rows back to back: step = 3 W)."""
    height, width = rgb.shape[:2]
    return msgs.Image(msgs.Header(msgs.Time.from_ns(stamp_ns), frame_id), height, width,
                      "rgb8", 0, 3 * width, np.ascontiguousarray(rgb, np.uint8).reshape(-1))


def compressed_image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str,
                         quality: int = 90) -> msgs.CompressedImage:
    """The JPEG CompressedImage of an (H, W, 3) uint8 RGB frame."""
    data = np.frombuffer(encode_jpeg(rgb, quality), np.uint8)
    return msgs.CompressedImage(msgs.Header(msgs.Time.from_ns(stamp_ns), frame_id),
                                JPEG_FORMAT, data)


def frame(msg: msgs.Image) -> np.ndarray:
    """The (height, width, 3) uint8 RGB frame of an rgb8 or bgr8 Image (a new array).

    Rows may be padded (``step`` > 3 ``width``), as ROS allows.

    Raises:
        ValueError: another encoding, a size of 0 or above :data:`MAX_FRAME_SIDE`, a
            ``step`` shorter than a row, or ``data`` that is not ``step * height`` bytes.
    """
    if msg.encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"Image encoding {msg.encoding[:20]!r}: expected one of "
                         f"{', '.join(IMAGE_ENCODINGS)}")
    h, w, step = msg.height, msg.width, msg.step
    if not (1 <= h <= MAX_FRAME_SIDE and 1 <= w <= MAX_FRAME_SIDE):
        raise ValueError(f"Image of {w}x{h} px: expected sides in [1, {MAX_FRAME_SIDE}]")
    if not 3 * w <= step <= 3 * w + 64:
        raise ValueError(f"Image step {step} for width {w}: expected {3 * w} (3 bytes per "
                         "pixel) plus at most 64 bytes of row padding")
    if msg.data.size != step * h:
        raise ValueError(f"Image of {msg.data.size} bytes: expected step x height = "
                         f"{step * h}")
    rows = msg.data.reshape(h, step)[:, :3 * w].reshape(h, w, 3)
    return np.ascontiguousarray(rows[:, :, ::-1] if msg.encoding == "bgr8" else rows).copy()


def imu_arrays(msg: msgs.Imu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orientation (x, y, z, w), angular velocity and linear acceleration as arrays."""
    q, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
    return (np.array([q.x, q.y, q.z, q.w]), np.array([w.x, w.y, w.z]),
            np.array([a.x, a.y, a.z]))


def reorder(names: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """Indices ``idx`` with ``[names[i] for i in idx] == list(order)``.

    Raises:
        ValueError: If a name of ``order`` is missing from ``names``.
    """
    where = {name: i for i, name in enumerate(names)}
    missing = [n for n in order if n not in where]
    if missing:
        raise ValueError(f"joints {missing} missing (have {list(names)})")
    return np.array([where[n] for n in order], dtype=np.intp)
