"""Scripted experts: simulated "people" that solve a task from privileged sim state.

They read what only the simulator knows (the push task's block position) and move the
gripper by PyBullet inverse kinematics; what they return is a normalized action in [-1, 1]
for the config's action mapping, so demonstrations and scripted interventions pass through
the same control step (and safety filter) as the policy's actions.

Usage (a demonstration episode; an intervention calls ``act`` in place of the policy)::

    env = RobotEnv("robot_configs/panda_push.yaml")
    expert = PushExpert(env.cfg)
    obs, _ = env.reset(seed=0)
    for _ in range(env.cfg.task.episode_steps):
        obs, reward, terminated, truncated, info = env.step(expert.act(env))

:class:`PushExpert` is stateless: each call looks at the scene afresh, so it can take over in
the middle of any episode. Its success rate on ``panda_push.yaml`` is in docs/pixels.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pybullet

from robot_rl.config import RobotConfig
from robot_rl.spaces import ee_action

if TYPE_CHECKING:  # annotations only: sim_bridge sits below the environments
    from robot_rl.envs import RobotEnv


@dataclass(frozen=True)
class PushMotion:
    """How the push expert moves (m)."""

    step: float = 0.02  # longest gripper move asked for per control step
    hover_z: float = 0.08  # gripper height for moving over the block
    push_z: float = 0.025  # gripper height while pushing (fingertips ~6 mm lower)
    clearance: float = 0.035  # gap between the block's back face and the gripper to descend
    finger: float = 0.012  # gripper centre to the fingers' pushing face
    align: float = 0.7  # largest sideways offset from the push line that still pushes
    # (a fraction of half the block's edge)
    done: float = 0.01  # block this close to the goal: hold still


def push_waypoint(ee: np.ndarray, block: np.ndarray, goal: np.ndarray, half: float,
                  motion: PushMotion = PushMotion()) -> np.ndarray:
    """Where the gripper should be one control step from now to push ``block`` to ``goal``.

    The push line runs from the goal through the block; "behind" is the side away from the
    goal. Behind, low and near the line: push along it (the contact point moved on by one
    step, back onto the line). Otherwise head for the start, ``clearance`` behind the block
    on the line: sideways only where the gripper cannot hit the block (behind it, or at
    ``hover_z`` above it; elsewhere it rises in place), descending to ``push_z`` within 2 cm
    of the start, at ``hover_z`` farther away.

    Args:
        ee: Gripper position (3,), world frame.
        block: Block centre (2 or 3,), world frame (only x, y are used).
        goal: Goal (2,), world frame.
        half: Half the block's edge length.
        motion: Step sizes, heights and tolerances.

    Returns:
        The next gripper position (3,), at most ``motion.step`` from ``ee``.
    """
    m = motion
    ee = np.asarray(ee, dtype=np.float64)
    block_xy = np.asarray(block, dtype=np.float64)[:2]
    to_goal = np.asarray(goal, dtype=np.float64)[:2] - block_xy
    distance = float(np.linalg.norm(to_goal))
    if distance < m.done:
        return ee.copy()
    d = to_goal / distance
    side = np.array([-d[1], d[0]])
    rel = ee[:2] - block_xy
    along, lateral = float(rel @ d), float(rel @ side)
    contact = half + m.finger  # gripper centre touching the back face, on the line
    corner = half * np.sqrt(2.0) + m.finger  # clear of the block even if it has turned
    start = block_xy - d * (contact + m.clearance)
    low = ee[2] < m.push_z + 0.015
    if low and abs(lateral) < m.align * half and -contact - m.clearance - 0.01 < along < -half:
        # on the line behind the block: push (the contact point advanced by one step)
        xy = block_xy + d * (min(m.step, distance) - contact)
        target = np.array([xy[0], xy[1], m.push_z])
    else:
        # sideways only where the gripper cannot hit the block: behind it, or above it
        # (a gripper that slipped off the line while pushing backs off behind the block)
        free = along < -corner or ee[2] > m.hover_z - 0.01 or (
            low and along < -half and abs(lateral) < half + m.finger)
        xy = start if free else ee[:2]
        near = float(np.linalg.norm(ee[:2] - start)) < 0.02
        z = m.push_z if near or (low and free) else m.hover_z
        target = np.array([xy[0], xy[1], z])
    move = target - ee
    length = float(np.linalg.norm(move))
    return target if length <= m.step else ee + move * (m.step / length)


class PushExpert:
    """Pushes the block of ``task.kind: push`` to the goal (privileged: reads the block).

    Args:
        cfg: The robot config (``task.push``, the action mapping, the end effector).
        motion: Step sizes, heights and tolerances of the push.
    """

    def __init__(self, cfg: RobotConfig, motion: PushMotion = PushMotion()) -> None:
        if cfg.task.kind != "push":
            raise ValueError(f"the push expert needs task.kind: push, got {cfg.task.kind!r}")
        self.cfg = cfg
        self.motion = motion
        self.goal = np.asarray(cfg.task.push.goal, dtype=np.float64)
        self.half = cfg.task.push.block_size / 2
        self.nominal = np.asarray(cfg.robot.nominal, dtype=np.float64)
        self.scale = np.asarray(cfg.robot.action_scale, dtype=np.float64)
        self.down = pybullet.getQuaternionFromEuler([np.pi, 0.0, 0.0])  # gripper points down

    def reset(self) -> None:
        """A new episode: nothing to forget (the expert keeps no state between calls)."""

    def act(self, env: RobotEnv) -> np.ndarray:
        """The normalized action (float32, in [-1, 1]) that moves the gripper one step along
        the push, for ``env``'s current state (``env.robot`` must be a PyBullet robot)."""
        state = env.state
        if state.block_position is None or state.ee_position is None:
            raise ValueError("the push expert needs the block (a PyBullet push scene) and "
                             "the end-effector position")
        waypoint = push_waypoint(state.ee_position, state.block_position, self.goal,
                                 self.half, self.motion)
        if self.cfg.robot.action_mode == "ee_delta":  # the move itself (at most 2 cm)
            return ee_action(self.cfg, waypoint - state.ee_position)
        q = self.inverse_kinematics(env.robot, waypoint)
        return self.normalize(q, state.joint_position, env.limit)

    def inverse_kinematics(self, robot: object, position: np.ndarray) -> np.ndarray:
        """Joint positions (robot.joints order) putting the end effector at ``position``
        with the gripper pointing down; the null space pulls towards the nominal pose."""
        client, body = robot.client, robot.body  # type: ignore[attr-defined]
        movable = [j for j in range(client.getNumJoints(body))
                   if client.getJointInfo(body, j)[2] != pybullet.JOINT_FIXED]
        infos = [client.getJointInfo(body, j) for j in movable]
        lower = [float(info[8]) for info in infos]
        upper = [float(info[9]) for info in infos]
        rest = [float(s[0]) for s in client.getJointStates(body, movable)]
        columns = [movable.index(j) for j in robot.joint_ids]  # type: ignore[attr-defined]
        for column, q0 in zip(columns, self.nominal, strict=True):
            rest[column] = float(q0)
        solution = client.calculateInverseKinematics(
            body, robot.ee_id, position.tolist(), self.down,  # type: ignore[attr-defined]
            lowerLimits=lower, upperLimits=upper,
            jointRanges=[hi - lo for lo, hi in zip(lower, upper, strict=True)],
            restPoses=rest, maxNumIterations=100, residualThreshold=1e-5)
        return np.asarray(solution, dtype=np.float64)[columns]

    def normalize(self, q: np.ndarray, measured: np.ndarray,
                  limit: np.ndarray | float = 1.0) -> np.ndarray:
        """The action whose joint targets are ``q`` under ``robot.action_mode`` (absolute:
        ``nominal + limit * a * action_scale``; delta: around ``measured``), clipped to
        [-1, 1]; joints with no action range get 0."""
        base = measured if self.cfg.robot.action_mode == "delta" else self.nominal
        span = np.asarray(limit, dtype=np.float64) * self.scale
        safe = np.where(span > 0, span, 1.0)
        action = np.where(span > 0, (np.asarray(q) - base) / safe, 0.0)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
