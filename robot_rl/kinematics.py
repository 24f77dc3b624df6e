"""Arm kinematics from the robot's URDF: scripted experts, teleoperation and the
end-effector action mapping (``robot.action_mode: ee_delta``).

A kinematic copy of the arm in its own PyBullet client (DIRECT, no physics steps): it never
touches the simulated robot, and works the same for hardware (it only needs the URDF).

Usage::

    kin = ArmKinematics(cfg)
    q = kin.inverse(target_xyz, seed=state.joint_position)   # config joint order
    kin.forward(q)                                             # -> end-effector xyz

    mapper = EndEffectorMapper(cfg)                # ee_delta: a in [-1, 1]^3 -> joint targets
    targets = mapper(action, measured=state.joint_position)
"""

from __future__ import annotations

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.spaces import ee_action


def action_for_targets(cfg: RobotConfig, q: np.ndarray, measured: np.ndarray,
                       kinematics: ArmKinematics | None = None) -> np.ndarray:
    """The normalized action (clipped to [-1, 1], float32) whose joint targets are ``q``
    under ``cfg``'s action mapping (absolute: around ``robot.nominal``; delta: from the
    measured pose; ee_delta: the end effector's move from the measured pose to ``q``'s,
    which needs ``kinematics``), the inverse of the control step's mapping at limit 1."""
    if cfg.robot.action_mode == "ee_delta":
        if kinematics is None:
            raise ValueError("robot.action_mode ee_delta: the action for joint targets needs "
                             "the arm's kinematics")
        move = kinematics.forward(q) - kinematics.forward(measured)
        return ee_action(cfg, move)
    scale = np.asarray(cfg.robot.action_scale, dtype=np.float64)
    base = (np.asarray(measured, dtype=np.float64) if cfg.robot.action_mode == "delta"
            else np.asarray(cfg.robot.nominal, dtype=np.float64))
    a = (np.asarray(q, dtype=np.float64) - base) / scale
    return np.clip(a, -1.0, 1.0).astype(np.float32)


class ArmKinematics:
    """Forward and inverse kinematics of ``cfg``'s arm (its ``robot.end_effector_link``).

    Args:
        cfg: An arm config (``robot.kind: arm`` with an end-effector link).
        box: Joint range of the IK solution around ``robot.nominal`` as a multiple of
            ``robot.action_scale`` (1.0: the poses an absolute action in [-1, 1] reaches).
    """

    def __init__(self, cfg: RobotConfig, box: float = 1.0) -> None:
        import pybullet
        import pybullet_data
        from pybullet_utils.bullet_client import BulletClient

        from sim_bridge.pybullet_robot import stdout_to_stderr

        spec = cfg.robot
        if spec.kind != "arm" or not spec.end_effector_link:
            raise ValueError(f"{cfg.source}: robot: expected kind arm with an "
                             "end_effector_link for arm kinematics")
        with stdout_to_stderr():
            self.client = BulletClient(connection_mode=pybullet.DIRECT)
        self.client.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.body = self.client.loadURDF(spec.urdf, spec.base_position, spec.base_quaternion(),
                                         useFixedBase=True)
        joints: dict[str, int] = {}
        links: dict[str, int] = {}
        movable: list[int] = []
        for j in range(self.client.getNumJoints(self.body)):
            info = self.client.getJointInfo(self.body, j)
            joints[info[1].decode()] = j
            links[info[12].decode()] = j
            if info[2] != pybullet.JOINT_FIXED:
                movable.append(j)
        self.joint_ids = [joints[name] for name in spec.joints]
        self.ee_id = links[spec.end_effector_link]
        self.columns = [movable.index(j) for j in self.joint_ids]  # IK output -> config joints
        self.movable = movable
        nominal = np.asarray(spec.nominal, dtype=np.float64)
        scale = box * np.asarray(spec.action_scale, dtype=np.float64)
        self.lower = np.maximum(nominal - scale, np.asarray(spec.position_lower))
        self.upper = np.minimum(nominal + scale, np.asarray(spec.position_upper))
        self.nominal = nominal

    def _set(self, q: np.ndarray) -> None:
        for j, value in zip(self.joint_ids, q, strict=True):
            self.client.resetJointState(self.body, j, float(value))

    def forward(self, q: np.ndarray) -> np.ndarray:
        """End-effector position (world frame, m) at joint positions ``q``."""
        self._set(np.asarray(q, dtype=np.float64))
        link = self.client.getLinkState(self.body, self.ee_id, computeForwardKinematics=True)
        return np.asarray(link[4], dtype=np.float64)

    def inverse(self, target: np.ndarray, seed: np.ndarray, iterations: int = 100,
                orientation: tuple[float, float, float, float] | None = None) -> np.ndarray:
        """Joint positions (config order) that bring the end effector to ``target``, found by
        damped least squares from ``seed`` inside the box around the nominal pose; with
        ``orientation`` (a quaternion ``(x, y, z, w)``, world frame) the end effector's
        orientation too, as well as the box allows."""
        q = np.clip(np.asarray(seed, dtype=np.float64), self.lower, self.upper)
        self._set(q)
        n = len(self.movable)
        lower, upper = np.full(n, -1e3), np.full(n, 1e3)
        rest = np.zeros(n)
        lower[self.columns], upper[self.columns] = self.lower, self.upper
        rest[self.columns] = self.nominal
        pose = [[float(x) for x in target]]
        if orientation is not None:
            pose.append([float(x) for x in orientation])
        solution = self.client.calculateInverseKinematics(
            self.body, self.ee_id, *pose,
            lowerLimits=lower.tolist(), upperLimits=upper.tolist(),
            jointRanges=(upper - lower).tolist(), restPoses=rest.tolist(),
            maxNumIterations=iterations, residualThreshold=1e-5)
        out = np.asarray(solution, dtype=np.float64)[self.columns]
        return np.clip(out, self.lower, self.upper)

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """The end-effector's linear Jacobian (3 x joints, config order) at ``q``."""
        q = np.asarray(q, dtype=np.float64)
        self._set(q)
        full = np.zeros(len(self.movable))
        full[self.columns] = q
        zeros = [0.0] * len(self.movable)
        lin, _ = self.client.calculateJacobian(self.body, self.ee_id, [0.0, 0.0, 0.0],
                                               full.tolist(), zeros, zeros)
        return np.asarray(lin, dtype=np.float64)[:, self.columns]

    def close(self) -> None:
        """Disconnects the kinematic copy."""
        try:
            self.client.disconnect()
        except Exception:  # pragma: no cover - already gone
            pass


class EndEffectorMapper:
    """``robot.action_mode: ee_delta``: a normalized action in [-1, 1]^3 moves the end
    effector by ``a * robot.ee_step`` (m, world frame) from where the measured joint
    positions put it, clipped to the box ``robot.ee_low`` .. ``ee_high``; inverse kinematics
    (``robot.ee_orientation`` held if given, the joints inside ``nominal +/- action_scale``)
    turns it into joint targets for the safety filter. A zero action commands the measured
    pose's end-effector position; a non-finite action gives non-finite targets, which the
    safety filter holds on.

    Args:
        cfg: An arm config with ``robot.action_mode: ee_delta``.
        kinematics: The arm's kinematic copy (made from the URDF if not given).
    """

    def __init__(self, cfg: RobotConfig, kinematics: ArmKinematics | None = None) -> None:
        spec = cfg.robot
        if spec.action_mode != "ee_delta" or spec.ee_low is None or spec.ee_high is None:
            raise ValueError(f"{cfg.source}: robot: expected action_mode ee_delta with ee_low "
                             "and ee_high for the end-effector mapping")
        self.kinematics = kinematics or ArmKinematics(cfg)
        self.step = float(spec.ee_step)
        self.low = np.asarray(spec.ee_low, dtype=np.float64)
        self.high = np.asarray(spec.ee_high, dtype=np.float64)
        self.orientation = spec.ee_quaternion()
        self.n = len(spec.joints)

    def __call__(self, action: np.ndarray, limit: np.ndarray | float = 1.0,
                 measured: np.ndarray | None = None) -> np.ndarray:
        """Joint targets for ``action`` from the ``measured`` joint positions (required);
        ``limit`` (a task graph's action scale) scales the step."""
        if measured is None:
            raise ValueError("robot.action_mode ee_delta needs the measured joint positions")
        a = np.asarray(action, dtype=np.float64)
        q = np.asarray(measured, dtype=np.float64)
        if a.shape != (3,) or not np.all(np.isfinite(a)) or not np.all(np.isfinite(q)):
            return np.full(self.n, np.nan)
        factor = float(np.min(np.asarray(limit, dtype=np.float64)))
        here = self.kinematics.forward(q)
        target = np.clip(here + factor * np.clip(a, -1.0, 1.0) * self.step,
                         self.low, self.high)
        return self.kinematics.inverse(target, q, orientation=self.orientation)
