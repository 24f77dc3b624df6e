"""The actor's session recording (MCAP, ros2 profile) and its conversion into prior data.

What the actor records (topics as configured in ``ros:``):

==========================  ===============================  ==============================
topic                       type                             what
==========================  ===============================  ==============================
joint states, IMU, extras   as received                      the robot's state
command topic               std_msgs/Float64MultiArray       every command sent (held too)
e-stop, operator topics     std_msgs/Bool, std_msgs/String   what the operator did
``/robot_rl/events``        std_msgs/String (JSON)           episode ends, e-stop, pause,
                                                             task switches, weights, holds
status topic                std_msgs/String (JSON)           the status as published
``/robot_rl/transitions``   std_msgs/Float64MultiArray,      one per stored transition:
                            labelled (ros_messages)          obs, action, reward, next_obs,
                                                             terminated, truncated, step
``/robot_rl/transition_``   sensor_msgs/Image, rgb8          with ``observation.images``, one
``pixels``                                                   per stored transition: its
                                                             frames side by side (below)
==========================  ===============================  ==============================

The frames of a transition (``/robot_rl/transition_pixels``) are one rgb8 image ``H`` high
and ``n * W`` wide holding ``n = k * cameras + cameras`` frames of ``W x H`` px left to
right: the stack the action was computed from (oldest time step first, each step's cameras
in ``observation.images`` order), then the next observation's newest frame of each camera.
``header.frame_id`` is the transition's ``step`` (as in ``/robot_rl/transitions``), so
:func:`transition_pixels` gives back exactly the ``pixels`` and ``next_frame`` arrays the
learner got. Images are the bulk of such a recording (about ``n x W x H x 3`` bytes per
transition before zstd); the queue to the writer is bounded in messages and in image bytes,
and what does not fit is dropped and counted, never waited for.

Writing happens on a background thread (encoding and compression never delay a command).
:func:`recording_to_prior` turns the transitions of one or more recordings into the prior-data
``.npz`` that ``learner.prior_data`` reads (RLPD; the fields :meth:`ReplayBuffer.save` writes).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.nodes.actor_core import Transition
from robot_rl.nodes.ros_messages import image_msg, labelled, unlabel
from robot_rl.ros import msgs
from robot_rl.ros.recording import McapRecorder, read_recording
from robot_rl.ros.wire import QOS_DEFAULT, QosProfile
from robot_rl.spaces import frame_channels, pixels_shape

log = logging.getLogger(__name__)

EVENTS_TOPIC = "/robot_rl/events"
TRANSITIONS_TOPIC = "/robot_rl/transitions"
PIXELS_TOPIC = "/robot_rl/transition_pixels"
PRIOR_FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")


FLAG_FIELDS = ("success", "intervention")  # optional 0/1 segments, kept by recording_to_prior


def transition_msg(t: Transition) -> msgs.Float64MultiArray:
    """A transition as a labelled Float64MultiArray (the task name goes in the events); an
    operator's transition carries an ``intervention`` segment of 1."""
    segments: dict[str, Any] = {"obs": t.obs, "action": t.action, "reward": [t.reward],
                                "next_obs": t.next_obs, "terminated": [float(t.terminated)],
                                "truncated": [float(t.truncated)], "step": [t.step]}
    if t.intervention:
        segments["intervention"] = [1.0]
    return labelled(segments)


def pixels_msg(t: Transition, stamp_ns: int) -> msgs.Image:
    """The frames of a transition with images (``pixels``, then ``next_frame``) as one rgb8
    Image, side by side; ``header.frame_id`` is its ``step``."""
    assert t.pixels is not None and t.next_frame is not None, "a transition without images"
    frames = np.concatenate([t.pixels, t.next_frame])  # (3n, H, W): n RGB frames
    n, h, w = frames.shape[0] // 3, frames.shape[1], frames.shape[2]
    strip = frames.reshape(n, 3, h, w).transpose(2, 0, 3, 1).reshape(h, n * w, 3)
    return image_msg(strip, stamp_ns, str(t.step))


def transition_pixels(path: str | Path, cfg: RobotConfig
                      ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The images of the transitions of a recording made with ``cfg`` (its
    ``observation.images``): step -> (``pixels`` uint8 ``(C, H, W)``, ``next_frame`` uint8
    ``(cameras * 3, H, W)``), exactly as the actor sent them to the learner.

    Raises:
        ValueError: an image that does not fit ``cfg``'s frames.
    """
    shape, channels = pixels_shape(cfg), frame_channels(cfg)
    if shape is None:
        raise ValueError(f"{cfg.source}: observation.images is empty: no transition images")
    c, h, w = shape
    n = (c + channels) // 3
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for item in read_recording(path, topics=[PIXELS_TOPIC]):
        msg = item.message
        if (msg.encoding, msg.height, msg.width, msg.step) != ("rgb8", h, n * w, 3 * n * w) \
                or msg.data.size != 3 * n * w * h or not msg.header.frame_id.isdigit():
            raise ValueError(f"{path}: a {msg.encoding} image of {msg.width}x{msg.height} px "
                             f"({msg.header.frame_id!r}) on {PIXELS_TOPIC}; expected rgb8 of "
                             f"{n} frames of {w}x{h} px side by side")
        frames = msg.data.reshape(h, n, w, 3).transpose(1, 3, 0, 2).reshape(3 * n, h, w)
        out[int(msg.header.frame_id)] = (frames[:c].copy(), frames[c:].copy())
    return out


def write_demo_recording(path: str | Path, arrays: Mapping[str, np.ndarray],
                         metadata: Mapping[str, str] | None = None,
                         period_s: float = 0.05) -> int:
    """Writes demonstration transitions (the arrays of a prior-data file, with optional
    ``success`` and ``intervention``) to an MCAP recording on ``/robot_rl/transitions``,
    one message per transition ``period_s`` apart; :func:`recording_to_prior` reads it back.
    Returns the number of transitions."""
    n = len(arrays["reward"])
    with McapRecorder(path) as rec:
        if metadata:
            rec.add_metadata("robot_rl", metadata)
        rec.add_topic(TRANSITIONS_TOPIC, msgs.Float64MultiArray, QOS_DEFAULT)
        for i in range(n):
            segments = {k: np.asarray(arrays[k][i]).reshape(-1) for k in PRIOR_FIELDS}
            segments["step"] = np.array([i], np.float64)
            for key in FLAG_FIELDS:
                if key in arrays:
                    segments[key] = np.asarray(arrays[key][i]).reshape(-1)
            rec.write(TRANSITIONS_TOPIC, labelled(segments),
                      log_time_ns=int(round(i * period_s * 1e9)))
    return n


class SessionRecorder:
    """Records messages to ``path`` from any thread; a writer thread does the work.

    Args:
        path: The ``.mcap`` file (parent folders are created).
        metadata: Stored as MCAP metadata ``robot_rl`` (robot, config, actor id).
        max_queue: Messages waiting to be written; beyond that new ones are dropped and
            counted (the control loop never blocks on the disk).
        max_queue_bytes: Bytes of transition images waiting to be written; beyond that
            new ones are dropped and counted, too.
    """

    def __init__(self, path: str | Path, metadata: Mapping[str, str] | None = None,
                 max_queue: int = 10_000, max_queue_bytes: int = 256 * 2**20) -> None:
        self.path = Path(path)
        self._rec = McapRecorder(self.path)
        if metadata:
            self._rec.add_metadata("robot_rl", metadata)
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(max_queue)
        self.max_queue_bytes = max_queue_bytes
        self._queued_bytes = 0  # of transition images in the queue
        self._bytes_lock = threading.Lock()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="mcap-writer", daemon=True)
        self._thread.start()

    def add_topic(self, topic: str, msg_type: type[Any],
                  qos: QosProfile = QOS_DEFAULT) -> None:
        """Declares a topic with its QoS (as rosbag2 stores it)."""
        self._put(("topic", topic, msg_type, qos))

    def write(self, topic: str, msg: Any, log_time_ns: int) -> None:
        """Queues one message."""
        self._put(("msg", topic, msg, log_time_ns))

    def event(self, payload: Mapping[str, Any], log_time_ns: int) -> None:
        """Queues a learning event (JSON on ``/robot_rl/events``)."""
        self._put(("json", EVENTS_TOPIC, dict(payload), log_time_ns))

    def transition(self, t: Transition, log_time_ns: int) -> None:
        """Queues a stored transition (and its images, if it has any: the writer thread
        lays them out, :func:`pixels_msg`)."""
        self._put(("msg", TRANSITIONS_TOPIC, transition_msg(t), log_time_ns))
        if t.pixels is not None and t.next_frame is not None:
            size = t.pixels.nbytes + t.next_frame.nbytes
            with self._bytes_lock:
                if self._queued_bytes + size > self.max_queue_bytes:
                    self.dropped += 1
                    return
                self._queued_bytes += size
            if not self._put(("pixels", PIXELS_TOPIC, t, log_time_ns)):
                self._release(size)

    def _put(self, item: tuple[Any, ...]) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def _release(self, size: int) -> None:
        with self._bytes_lock:
            self._queued_bytes -= size

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                kind, topic, value, extra = item
                if kind == "topic":
                    self._rec.add_topic(topic, value, extra)
                elif kind == "json":
                    self._rec.write_json(topic, value, extra)
                elif kind == "pixels":
                    self._release(value.pixels.nbytes + value.next_frame.nbytes)
                    self._rec.write(topic, pixels_msg(value, extra), extra)
                else:
                    self._rec.write(topic, value, extra)
            except Exception as err:  # noqa: BLE001 - a bad message must not stop recording
                log.warning("%s: not recorded: %r", self.path, err)

    def close(self) -> None:
        """Writes what is queued, then the MCAP summary; safe to call twice."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(30)
        self._rec.close()


def recording_to_prior(recordings: Iterable[str | Path], out: str | Path) -> int:
    """Writes the transitions of MCAP recordings as a prior-data ``.npz`` (RLPD).

    The arrays are those :meth:`robot_rl.sac.ReplayBuffer.save` writes (``obs``, ``action``,
    ``reward``, ``next_obs``, ``terminated``, ``truncated``; float32), so
    ``learner.prior_data: <out>`` loads them; ``intervention`` (0/1) too when any transition
    carries the flag, and ``success`` when every transition does. Returns the number of
    transitions.

    Raises:
        ValueError: If the recordings hold no transitions, or transitions of different sizes.
    """
    rows: dict[str, list[np.ndarray]] = {k: [] for k in PRIOR_FIELDS}
    flags: dict[str, list[float | None]] = {k: [] for k in FLAG_FIELDS}
    for path in recordings:
        for item in read_recording(path, topics=[TRANSITIONS_TOPIC]):
            seg = unlabel(item.message)
            for key in PRIOR_FIELDS:
                rows[key].append(seg[key])
            for key in FLAG_FIELDS:
                flags[key].append(float(seg[key][0]) if key in seg else None)
    if not rows["reward"]:
        raise ValueError(f"no {TRANSITIONS_TOPIC} messages in the recordings")
    try:
        # Any: numpy's stub would let a **dict of arrays fill savez's allow_pickle: bool
        arrays: dict[str, Any] = {k: np.stack(v).astype(np.float32) for k, v in rows.items()}
    except ValueError as err:
        raise ValueError(f"transitions of different sizes (different robots?): {err}") from None
    for key in ("reward", "terminated", "truncated"):
        arrays[key] = arrays[key].reshape(-1)
    if any(v is not None for v in flags["intervention"]):
        arrays["intervention"] = np.array([v or 0.0 for v in flags["intervention"]], np.float32)
    if flags["success"] and all(v is not None for v in flags["success"]):
        arrays["success"] = np.array(flags["success"], np.float32)
    with open(out, "wb") as f:
        np.savez(f, **arrays)
    return len(arrays["reward"])
