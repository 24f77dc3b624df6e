"""Assemble a stamped :class:`RobotState` from the newest JointState, Imu and extras messages.

Joints are matched by name into the robot config's order; a message may carry a subset of
the joints (drivers that split arm and gripper) or extra ones (ignored). Every value keeps
the local monotonic time it *arrived*, and the state's stamp is the oldest arrival among the
parts the actor needs, so the safety filter's age check (``now - stamp``) catches any input
that stopped: a dead driver, a lost IMU, a dead extras publisher. Arrival time, not the
header stamp, because the actor and the robot may run on different machines whose wall
clocks disagree (the header stamps are kept for the status, as ``stamp_lag_ms``).

Camera images (``cfg.cameras``) are inputs like the others: the newest frame of each camera
is kept, and its arrival counts in the stamp, so a camera that stops (or falls behind the
state age limit) makes the state stale and the actor holds. The frames ride beside the
observation in ``RobotState.images``; a frame that is not an rgb8/bgr8 image of the
camera's configured size is rejected and counted.

Usage::

    parts = StateAssembler(cfg)
    parts.joint_state(msg, now=time.monotonic())      # from the subscription callbacks
    parts.imu(msg, now=...)
    parts.camera_image("front", msg, now=...)       # each of cfg.cameras
    state = parts.state()                              # None until every needed part arrived
"""

from __future__ import annotations

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.nodes.ros_messages import EXTRA_SIGNALS, frame, imu_arrays, unlabel
from robot_rl.robot import RobotState
from robot_rl.ros import msgs

_IMU_SIGNALS = {"imu_orientation", "imu_angular_velocity", "heading", "projected_gravity"}
_EXTRA_FOR_OBS = {"foot_contacts": "foot_contacts", "ee_position": "ee_position",
                  "target_delta": "ee_position", "base_linear_velocity": "base_linear_velocity"}
# push also needs the block's position, which only the in-process simulator has
_EXTRA_FOR_TASK = {"walk": "base_linear_velocity", "reach": "ee_position",
                   "push": "ee_position"}


def needed_inputs(cfg: RobotConfig) -> tuple[bool, set[str]]:
    """Whether the actor needs the IMU, and which extras signals (observation and reward)."""
    signals = set(cfg.observation.signals)
    needs_imu = bool(signals & _IMU_SIGNALS) or cfg.task.kind == "walk"
    extras = {_EXTRA_FOR_OBS[s] for s in signals if s in _EXTRA_FOR_OBS}
    extras.add(_EXTRA_FOR_TASK[cfg.task.kind])
    return needs_imu, extras


class StateAssembler:
    """Keeps the newest value of every input and builds the state the actor acts on.

    Args:
        cfg: The robot config (joint names and order; what the observation and task need).
    """

    def __init__(self, cfg: RobotConfig) -> None:
        self.joints = list(cfg.robot.joints)
        n = len(self.joints)
        self.needs_imu, self.needs_extras = needed_inputs(cfg)
        self.position = np.full(n, np.nan)
        self.velocity = np.full(n, np.nan)
        self.effort = np.zeros(n)
        self.joint_rx = np.full(n, -np.inf)  # arrival time per joint (monotonic s)
        self.imu_rx = -np.inf
        self.extras_rx: dict[str, float] = {}  # arrival time of each extras segment
        self.orientation = np.array([0.0, 0.0, 0.0, 1.0])
        self.angular_velocity = np.zeros(3)
        self.linear_acceleration = np.zeros(3)
        self.extras: dict[str, np.ndarray] = {}
        # the length of each extras segment the state holds (a vector, or one per foot)
        self.extras_size = {"base_linear_velocity": 3, "base_position": 3, "ee_position": 3,
                            "foot_contacts": len(cfg.robot.foot_links)}
        self.image_size = {cam.name: (cam.height, cam.width) for cam in cfg.cameras}
        self.frames: dict[str, np.ndarray] = {}  # camera name -> newest frame (H, W, 3) uint8
        self.frame_rx = {name: -np.inf for name in self.image_size}  # arrival per camera
        self.reset_count = 0.0  # respawns the simulator reported (extras ``reset_count``)
        self.stamp_lag_ns = 0  # header stamp -> arrival (wall clocks), for the status
        self.rejected = 0
        self.last_error = ""
        self._index_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    def joint_state(self, msg: msgs.JointState, now: float, wall_ns: int | None = None) -> bool:
        """Takes a JointState; returns False (and counts it) if it cannot be used."""
        key = tuple(msg.name)
        cached = self._index_cache.get(key)
        if cached is None:
            if len(set(key)) != len(key):  # which of the two values is the joint's?
                twice = next(name for name in key if key.count(name) > 1)
                return self._reject(f"JointState names the joint {twice[:64]!r} twice")
            where = {name: i for i, name in enumerate(self.joints)}
            pairs = [(i, where[name]) for i, name in enumerate(key) if name in where]
            cached = (np.array([p[0] for p in pairs], np.intp),
                      np.array([p[1] for p in pairs], np.intp))
            if len(self._index_cache) < 64:
                self._index_cache[key] = cached
        src, dst = cached
        n = len(msg.name)
        if dst.size == 0 or msg.position.size != n or msg.velocity.size not in (0, n) \
                or msg.effort.size not in (0, n):
            return self._reject(f"JointState with names {list(msg.name)[:4]}... and "
                                f"{msg.position.size}/{msg.velocity.size}/{msg.effort.size} "
                                "values does not match the robot's joints")
        self.position[dst] = msg.position[src]
        # no velocity from this driver: NaN, so a policy that needs it holds
        self.velocity[dst] = msg.velocity[src] if msg.velocity.size else np.nan
        self.effort[dst] = msg.effort[src] if msg.effort.size else 0.0
        self.joint_rx[dst] = now
        if wall_ns is not None:
            self.stamp_lag_ns = wall_ns - msg.header.stamp.to_ns()
        return True

    def imu(self, msg: msgs.Imu, now: float) -> bool:
        """Takes an Imu message."""
        self.orientation, self.angular_velocity, self.linear_acceleration = imu_arrays(msg)
        self.imu_rx = now
        return True

    def extras_message(self, msg: msgs.Float64MultiArray, now: float) -> bool:
        """Takes a labelled extras message (see :mod:`robot_rl.nodes.ros_messages`); returns
        False (and counts it) if its layout is broken or a segment has the wrong length."""
        try:
            segments = unlabel(msg)
        except ValueError as err:
            return self._reject(str(err))
        for name, size in self.extras_size.items():
            if name in segments and segments[name].size != size:
                return self._reject(f"extras segment {name} has {segments[name].size} "
                                    f"values, expected {size}")
        carried = {k: v for k, v in segments.items() if k in EXTRA_SIGNALS}
        self.extras.update(carried)
        # each segment is as fresh as the last message that carried it: one carrying only
        # reset_count (or other signals) does not refresh a base velocity sent long ago
        self.extras_rx.update(dict.fromkeys(carried, now))
        if "reset_count" in segments and segments["reset_count"].size == 1:
            self.reset_count = float(segments["reset_count"][0])
        return True

    def camera_image(self, name: str, msg: msgs.Image, now: float) -> bool:
        """Takes a camera's Image; returns False (and counts it) if it is malformed or not
        of the camera's configured size."""
        try:
            rgb = frame(msg)
        except ValueError as err:
            return self._reject(f"camera {name}: {err}")
        if rgb.shape[:2] != self.image_size[name]:
            h, w = self.image_size[name]
            return self._reject(f"camera {name}: a {rgb.shape[1]}x{rgb.shape[0]} image, "
                                f"expected {w}x{h} (cameras: width, height)")
        self.frames[name] = rgb
        self.frame_rx[name] = now
        return True

    def _reject(self, why: str) -> bool:
        self.rejected += 1
        self.last_error = why
        return False

    def missing(self) -> str:
        """What has never arrived ("" when every needed part has), for the status."""
        if not np.all(np.isfinite(self.joint_rx)):
            absent = [j for j, t in zip(self.joints, self.joint_rx, strict=True)
                      if not np.isfinite(t)]
            return f"joint_states ({', '.join(absent[:3])}{', ...' if len(absent) > 3 else ''})"
        if self.needs_imu and not np.isfinite(self.imu_rx):
            return "imu"
        absent = sorted(self.needs_extras - set(self.extras))
        if absent:
            return f"extras ({', '.join(absent)})"
        cameras = [name for name in self.image_size if name not in self.frames]
        return f"camera ({', '.join(cameras)})" if cameras else ""

    def state(self) -> RobotState | None:
        """The newest state, stamped with the oldest needed arrival; None if incomplete."""
        if self.missing():
            return None
        stamp = float(self.joint_rx.min())
        if self.needs_imu:
            stamp = min(stamp, self.imu_rx)
        if self.needs_extras:
            stamp = min(stamp, *(self.extras_rx[name] for name in self.needs_extras))
        if self.frame_rx:
            stamp = min(stamp, *self.frame_rx.values())

        def extra(name: str) -> np.ndarray | None:  # one of EXTRA_SIGNALS, if it arrived
            return self.extras[name].copy() if name in self.extras else None

        return RobotState(stamp=stamp, joint_position=self.position.copy(),
                          joint_velocity=self.velocity.copy(), joint_effort=self.effort.copy(),
                          imu_orientation=self.orientation.copy(),
                          imu_angular_velocity=self.angular_velocity.copy(),
                          imu_linear_acceleration=self.linear_acceleration.copy(),
                          foot_contacts=extra("foot_contacts"), ee_position=extra("ee_position"),
                          base_linear_velocity=extra("base_linear_velocity"),
                          base_position=extra("base_position"),
                          images=dict(self.frames) if self.image_size else None)
