"""Arm kinematics from the robot's URDF, for scripted experts and teleoperation.

A kinematic copy of the arm in its own PyBullet client (DIRECT, no physics steps): it never
touches the simulated robot, and works the same for hardware (it only needs the URDF).

Usage::

    kin = ArmKinematics(cfg)
    q = kin.inverse(target_xyz, seed=state.joint_position)   # config joint order
    kin.forward(q)                                             # -> end-effector xyz
"""

from __future__ import annotations

import numpy as np

from robot_rl.config import RobotConfig


def action_for_targets(cfg: RobotConfig, q: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """The normalized action (clipped to [-1, 1], float32) whose joint targets are ``q``
    under ``cfg``'s action mapping (absolute: around ``robot.nominal``; delta: from the
    measured pose), the inverse of :class:`~robot_rl.spaces.ActionMapper` at limit 1."""
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

    def inverse(self, target: np.ndarray, seed: np.ndarray, iterations: int = 100) -> np.ndarray:
        """Joint positions (config order) that bring the end effector to ``target``, found by
        damped least squares from ``seed`` inside the box around the nominal pose."""
        q = np.clip(np.asarray(seed, dtype=np.float64), self.lower, self.upper)
        self._set(q)
        n = len(self.movable)
        lower, upper = np.full(n, -1e3), np.full(n, 1e3)
        rest = np.zeros(n)
        lower[self.columns], upper[self.columns] = self.lower, self.upper
        rest[self.columns] = self.nominal
        solution = self.client.calculateInverseKinematics(
            self.body, self.ee_id, [float(x) for x in target],
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
