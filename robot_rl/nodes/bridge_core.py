"""The sim bridge's logic: a simulated robot behind the topics a real robot's driver offers.

Usage (what :mod:`robot_rl.nodes.sim_bridge_node` does)::

    bridge = BridgeCore(cfg, PyBulletRobot(cfg))
    on the command topic:  bridge.command(msg.data)      # controller order, as ros2_control
    on the e-stop topic:   bridge.set_estop(msg.data)    # hold the measured pose while true
    on the reset topic:    bridge.request_reset()        # respawn at the next tick
    every control period:  for kind, msg in bridge.tick(stamp_ns): publish(kind, msg)

Like a forward command controller it keeps applying the last command (a position target)
and ignores commands of the wrong length or with NaN. What a real driver would not do, and
only the simulator can: respawn the robot when asked or when it has fallen, and publish the
privileged base velocity and position on the extras topic with a ``reset_count``.

Cameras (``cfg.cameras``) are rendered at their ``rate_hz`` (in simulated time, at most once
per tick) and published as ``sensor_msgs/Image`` (rgb8, ``frame_id`` = the camera's name)
and, for ``compressed: true``, as a JPEG ``sensor_msgs/CompressedImage``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.nodes.ros_messages import (
    compressed_image_msg,
    extras_msg,
    image_msg,
    imu_msg,
    joint_state_msg,
    reorder,
)
from robot_rl.robot import Robot


class BridgeCore:
    """Steps a :class:`~robot_rl.robot.Robot` (PyBullet) one control period per tick.

    Args:
        cfg: The robot config (joints, controller order, control rate).
        robot: The simulated robot (``reset``, ``send_command``, ``tick``, ``read_state``;
            ``fallen()`` if it can fall).
        respawn_on_fall: Respawn a fallen robot by itself (legged robots in simulation).
    """

    def __init__(self, cfg: RobotConfig, robot: Robot, respawn_on_fall: bool = True) -> None:
        self.cfg = cfg
        self.robot = robot
        self.names = list(cfg.robot.joints)
        order = cfg.ros.command_joints or cfg.robot.joints
        self.from_controller = reorder(order, cfg.robot.joints)  # controller -> config order
        self.respawn_on_fall = respawn_on_fall
        self.state = robot.reset()
        self.target = self.state.joint_position.copy()
        self.estop = False
        self.ticks = 0
        self.resets = 0
        self.commands = 0
        self.rejected = 0
        self._reset_requested = False
        self.cameras = list(cfg.cameras)
        # CameraSpec -> (H, W, 3) uint8 RGB; PyBulletRobot.render_camera
        self._render: Any = getattr(robot, "render_camera", None)
        if self.cameras and self._render is None:
            raise ValueError(f"{cfg.source}: cameras: this robot cannot render camera images")
        self.frames = {cam.name: 0 for cam in self.cameras}  # frames published per camera
        self._next_frame = {cam.name: float("-inf") for cam in self.cameras}  # sim time (s)

    def command(self, data: np.ndarray) -> bool:
        """Takes a command in the controller's joint order; False if ignored."""
        data = np.asarray(data, dtype=np.float64)
        if data.shape != (len(self.names),) or not np.all(np.isfinite(data)):
            self.rejected += 1
            return False
        self.commands += 1
        if not self.estop:
            self.target = data[self.from_controller]
        return True

    def set_estop(self, engaged: bool) -> None:
        """While engaged, hold the pose measured when it engaged; commands are ignored."""
        if engaged and not self.estop:
            self.target = self.state.joint_position.copy()
        self.estop = bool(engaged)

    def request_reset(self) -> None:
        """Respawn the robot at the next tick (an episode reset in simulation)."""
        self._reset_requested = True

    def tick(self, stamp_ns: int) -> list[tuple[str, Any]]:
        """One control period of physics; returns ``(kind, message)`` to publish in order.

        Kinds: ``"imu"``, ``"extras"``, ``"image:<camera>"`` and ``"compressed:<camera>"``
        for the cameras due, ``"joint_states"`` (joint states last: the actor steps when they
        arrive, so the others are current by then).
        """
        fallen = getattr(self.robot, "fallen", lambda: False)()
        if self._reset_requested or (self.respawn_on_fall and fallen):
            self._reset_requested = False
            self.state = self.robot.reset()
            self.target = self.state.joint_position.copy()
            self.resets += 1
        self.robot.send_command(self.target)
        self.robot.tick()
        self.ticks += 1
        self.state = self.robot.read_state()
        return [("imu", imu_msg(self.state, stamp_ns)),
                ("extras", extras_msg(self.state, reset_count=[self.resets],
                                      sim_time=[self.robot.now()])),
                *self._camera_frames(stamp_ns),
                ("joint_states", joint_state_msg(self.state, self.names, stamp_ns, "base"))]

    def _camera_frames(self, stamp_ns: int) -> list[tuple[str, Any]]:
        """The images of the cameras due now (simulated time, phase-locked to each rate)."""
        out: list[tuple[str, Any]] = []
        now = self.robot.now()
        for cam in self.cameras:
            due = self._next_frame[cam.name]
            if now + 1e-6 < due:
                continue
            period = 1.0 / cam.rate_hz
            self._next_frame[cam.name] = due + period if due + period > now else now + period
            rgb = self._render(cam)
            out.append((f"image:{cam.name}", image_msg(rgb, stamp_ns, cam.name)))
            if cam.compressed:
                out.append((f"compressed:{cam.name}",
                            compressed_image_msg(rgb, stamp_ns, cam.name, cam.jpeg_quality)))
            self.frames[cam.name] += 1
        return out

    def status(self) -> dict[str, Any]:
        """The bridge's counters (published as JSON)."""
        return {"node": "sim_bridge", "robot": self.cfg.name, "ticks": self.ticks,
                "sim_time": round(self.robot.now(), 4), "commands": self.commands,
                "rejected_commands": self.rejected, "resets": self.resets,
                "estop": self.estop, "frames": dict(self.frames)}
