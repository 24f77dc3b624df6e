"""Teleoperation: ``sensor_msgs/Joy`` or ``geometry_msgs/Twist`` -> normalized actions.

The operator's command is a velocity: of the end effector (``ee_velocity``, arms: through the
arm's Jacobian to joint targets) or of the joints (``joint_delta``). Each control step turns
the newest command into joint targets one control period ahead of the measured pose, and
those into the normalized action the policy would have given; the action then goes through
the same control step and safety filter as a policy's.

Rules (tested in tests/demos/test_teleop.py):

- a malformed message (NaN or inf, too few axes, a Joy axis outside [-1, 1], a button other
  than 0 or 1, a Twist faster than ``10 * max_speed``) is rejected and counted in
  :attr:`Teleop.rejected`; it never changes the command;
- a command older than ``stale_after_s`` (or none yet) is stale: :meth:`Teleop.action`
  returns None and the caller holds the measured pose (never a default pose).

Joy layout: ``axes[0..2]`` are x, y, z of the end effector (``joint_delta``: ``axes[i]`` is
joint ``i``), scaled by ``max_speed``; Twist: ``linear`` (m/s), clipped to ``max_speed``
(``joint_delta``: linear x, y, z then angular x, y, z are joints 0..5, rad/s).

Usage::

    teleop = Teleop(cfg, TeleopSettings(source="joy"))
    teleop.receive(msg, now)                    # from the subscription
    a = teleop.action(state, now)               # None: stale, hold
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.kinematics import ArmKinematics, action_for_targets
from robot_rl.robot import RobotState
from robot_rl.ros import msgs


@dataclass(frozen=True)
class TeleopSettings:
    """How teleoperation commands are read and mapped."""

    source: Literal["joy", "twist"] = "joy"  # message type on the topic
    topic: str = ""  # "" -> /joy (Joy) or /cmd_vel (Twist)
    mode: Literal["auto", "ee_velocity", "joint_delta"] = "auto"  # auto: arms ee_velocity
    max_speed: float = 0.1  # end effector at full stick, and the Twist clip (m/s)
    joint_speed: float = 0.5  # joint_delta: joint speed at full stick (rad/s)
    stale_after_s: float = 0.25  # a command older than this is stale: hold
    deadzone: float = 0.05  # Joy axes below this count as zero (an operator not touching)

    @property
    def topic_name(self) -> str:
        """The topic to subscribe to."""
        return self.topic or ("/joy" if self.source == "joy" else "/cmd_vel")

    @property
    def message_type(self) -> type[Any]:
        """:class:`~robot_rl.ros.msgs.Joy` or :class:`~robot_rl.ros.msgs.Twist`."""
        return msgs.Joy if self.source == "joy" else msgs.Twist


class Teleop:
    """The newest valid operator command, and the action it asks for at each step.

    Args:
        cfg: The robot config.
        settings: Source, mapping and staleness.
        kinematics: The arm's kinematics (made from the URDF when needed and not given).
    """

    def __init__(self, cfg: RobotConfig, settings: TeleopSettings,
                 kinematics: ArmKinematics | None = None) -> None:
        self.cfg, self.settings = cfg, settings
        mode = settings.mode
        if mode == "auto":
            mode = "ee_velocity" if cfg.robot.kind == "arm" else "joint_delta"
        self.mode = mode
        if kinematics is None and (mode == "ee_velocity"
                                   or cfg.robot.action_mode == "ee_delta"):
            kinematics = ArmKinematics(cfg)
        self.kinematics = kinematics
        self.dt = cfg.control_dt
        self.command: np.ndarray | None = None  # ee (3,) m/s or joints (n,) rad/s
        self.received_at: float | None = None
        self.accepted = 0
        self.rejected = 0

    def receive(self, msg: Any, now: float) -> bool:
        """Takes a Joy or Twist message received at ``now``; False (and counted) if rejected."""
        command = self._parse(msg)
        if command is None:
            self.rejected += 1
            return False
        self.command, self.received_at = command, now
        self.accepted += 1
        return True

    def fresh(self, now: float) -> bool:
        """A command newer than ``stale_after_s`` exists."""
        return (self.received_at is not None
                and now - self.received_at <= self.settings.stale_after_s)

    def engaged(self, now: float) -> bool:
        """The operator is commanding motion now (a fresh, non-zero command): an
        intervention takes over while this holds."""
        return self.fresh(now) and self.command is not None and bool(np.any(self.command))

    def action(self, state: RobotState, now: float) -> np.ndarray | None:
        """The normalized action for the newest command; None if stale (hold)."""
        if not self.fresh(now) or self.command is None:
            return None
        q = np.asarray(state.joint_position, dtype=np.float64)
        if self.mode == "ee_velocity":
            assert self.kinematics is not None
            jac = self.kinematics.jacobian(q)
            damping = 1e-4  # damped least squares: bounded near singular poses
            dq = jac.T @ np.linalg.solve(jac @ jac.T + damping * np.eye(3),
                                         self.command * self.dt)
        else:
            dq = np.zeros_like(q)
            k = min(len(q), len(self.command))
            dq[:k] = self.command[:k] * self.dt
        return action_for_targets(self.cfg, q + dq, q, self.kinematics)

    # ------------------------------------------------------------------ parsing
    def _parse(self, msg: Any) -> np.ndarray | None:
        s = self.settings
        if isinstance(msg, msgs.Joy):
            axes = np.asarray(msg.axes, dtype=np.float64)
            buttons = np.asarray(msg.buttons)
            need = 3 if self.mode == "ee_velocity" else 1
            if (axes.ndim != 1 or len(axes) < need or not np.all(np.isfinite(axes))
                    or np.any(np.abs(axes) > 1.0 + 1e-6)
                    or not np.all((buttons == 0) | (buttons == 1))):
                return None
            axes = np.where(np.abs(axes) < s.deadzone, 0.0, axes)
            if self.mode == "ee_velocity":
                return axes[:3] * s.max_speed
            return axes[:self.cfg.n_joints] * s.joint_speed
        if isinstance(msg, msgs.Twist):
            lin = np.array([msg.linear.x, msg.linear.y, msg.linear.z], dtype=np.float64)
            ang = np.array([msg.angular.x, msg.angular.y, msg.angular.z], dtype=np.float64)
            if not (np.all(np.isfinite(lin)) and np.all(np.isfinite(ang))):
                return None
            if self.mode == "ee_velocity":
                speed = float(np.linalg.norm(lin))
                if speed > 10 * s.max_speed:
                    return None
                return lin * (min(1.0, s.max_speed / speed) if speed > 0 else 1.0)
            joints = np.concatenate([lin, ang])[:self.cfg.n_joints]
            if np.any(np.abs(joints) > 10 * s.joint_speed):
                return None
            return np.clip(joints, -s.joint_speed, s.joint_speed)
        return None
