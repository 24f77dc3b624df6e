"""Task rewards: pure functions of the robot state (and the task's target)."""

from __future__ import annotations

import numpy as np

from robot_rl.config.schema import PushTask, ReachTask, WalkTask
from robot_rl.robot import RobotState, body_to_world, quat_to_rpy
from robot_rl.taskgraph.predicate import Predicate


def tolerance(x: float, low: float, high: float, margin: float) -> float:
    """1 inside [low, high], falling linearly to 0 at ``margin`` outside (dm_control style)."""
    if low <= x <= high:
        return 1.0
    distance = (low - x) if x < low else (x - high)
    return float(max(0.0, 1.0 - distance / margin))


def forward_velocity(state: RobotState) -> float:
    """Horizontal forward speed v_x * cos(pitch) (m/s) from the privileged base velocity."""
    assert state.base_linear_velocity is not None, "walking reward needs the base velocity"
    pitch = quat_to_rpy(state.imu_orientation)[1]
    return float(state.base_linear_velocity[0] * np.cos(pitch))


def start_heading_velocity(state: RobotState, start_yaw: float) -> float:
    """Horizontal speed (m/s) along the direction the body faced at yaw ``start_yaw`` (rad):
    the privileged base velocity turned into the world frame and projected."""
    assert state.base_linear_velocity is not None, "walking reward needs the base velocity"
    world = body_to_world(state.imu_orientation) @ np.asarray(state.base_linear_velocity)
    return float(world[0] * np.cos(start_yaw) + world[1] * np.sin(start_yaw))


def walk_reward(state: RobotState, task: WalkTask,
                start_yaw: float | None = None) -> tuple[float, bool, dict[str, float]]:
    """"A Walk in the Park" reward: speed in a band, penalised yaw rate; ends when tilted.

    The speed is along the current heading (``task.direction == "heading"``) or along the
    heading at the episode's start (``"start"``, which needs ``start_yaw``).

    Returns:
        (reward, terminated, info) where terminated means |roll| or |pitch| > max_tilt_deg;
        ``info["forward_velocity"]`` is the rewarded speed, ``info["heading_velocity"]`` the
        speed along the current heading.
    """
    roll, pitch, _ = quat_to_rpy(state.imu_orientation)
    heading_v = forward_velocity(state)
    if task.direction == "start":
        assert start_yaw is not None, "direction 'start' needs the episode's start yaw"
        v = start_heading_velocity(state, start_yaw)
    else:
        v = heading_v
    yaw_rate = float(state.imu_angular_velocity[2])
    reward = task.scale * (tolerance(v, task.velocity_low, task.velocity_high, task.margin)
                           - task.yaw_rate_weight * abs(yaw_rate))
    limit = np.radians(task.max_tilt_deg)
    terminated = bool(abs(roll) > limit or abs(pitch) > limit)
    return reward, terminated, {"forward_velocity": v, "heading_velocity": heading_v,
                                "yaw_rate": yaw_rate}


def reach_reward(state: RobotState, target: np.ndarray, action: np.ndarray,
                 task: ReachTask) -> tuple[float, bool, dict[str, float]]:
    """Dense reaching reward: minus the end-effector distance, plus a precision bonus near the
    target (``precision_weight * exp(-(distance / precision_radius)^2)``), minus a small
    action cost.

    Returns:
        (reward, terminated, info); reaching never terminates (the episode is timed).
    """
    assert state.ee_position is not None, "reaching needs the end-effector position"
    distance = float(np.linalg.norm(state.ee_position - target))
    reward = float(reach_reward_at(np.array(distance), action, task))
    return reward, False, {"ee_distance": distance,
                           "success": float(distance < task.success_distance)}


def reach_reward_at(distance: np.ndarray, action: np.ndarray, task: ReachTask) -> np.ndarray:
    """The reaching reward for end-effector distances ``distance`` (m, shape (n,) or ()) after
    actions ``action`` (shape (n, act) or (act,)): what :func:`reach_reward` pays, vectorized
    (hindsight relabelling recomputes it for new targets)."""
    bonus = task.precision_weight * np.exp(-(distance / task.precision_radius) ** 2)
    return -distance + bonus - task.action_penalty * np.sum(np.square(action), axis=-1)


def push_signals(state: RobotState, task: PushTask) -> dict[str, float]:
    """The push task's signals (``PUSH_SIGNALS``, world frame, m) of ``state``: what
    ``task.push.success`` reads. The block's position is privileged (simulator only)."""
    if state.block_position is None or state.ee_position is None:
        raise ValueError("the push task needs the block position (a privileged sim signal: "
                         "PyBullet only) and the end-effector position")
    block = np.asarray(state.block_position, dtype=np.float64)
    ee = np.asarray(state.ee_position, dtype=np.float64)
    goal_x, goal_y = (float(v) for v in task.goal)
    return {
        "block_x": float(block[0]), "block_y": float(block[1]), "block_z": float(block[2]),
        "goal_x": goal_x, "goal_y": goal_y,
        "ee_x": float(ee[0]), "ee_y": float(ee[1]), "ee_z": float(ee[2]),
        "block_distance": float(np.hypot(block[0] - goal_x, block[1] - goal_y)),
        "ee_block_distance": float(np.linalg.norm(ee - block)),
    }


def push_reward(state: RobotState, action: np.ndarray, task: PushTask,
                success: Predicate | None = None) -> tuple[float, bool, dict[str, float]]:
    """Dense pushing reward: ``-reach_weight * |gripper - block|`` (go to the block) ``-
    push_weight * |block - goal|`` (horizontal: bring it to the goal) ``- action_penalty *
    |a|^2``. Both distances shrink as the task progresses, so the reward rises
    monotonically towards 0 as the gripper reaches the block and the block the goal.

    Args:
        state: The state after the action (with the privileged ``block_position``).
        action: The normalized action.
        task: The push settings.
        success: ``task.success`` parsed (default: parsed here, once per call).

    Returns:
        (reward, terminated, info); pushing never terminates (the episode is timed).
        ``info["success"]`` is 1.0 where the success predicate holds (evaluation only: it
        neither pays nor ends the episode), ``info["block_distance"]`` the block-to-goal
        distance and ``info["ee_block_distance"]`` the gripper-to-block distance (m).
    """
    signals = push_signals(state, task)
    predicate = task.success_predicate() if success is None else success
    reward = (-task.reach_weight * signals["ee_block_distance"]
              - task.push_weight * signals["block_distance"]
              - task.action_penalty * float(np.sum(np.square(action))))
    return float(reward), False, {"block_distance": signals["block_distance"],
                                  "ee_block_distance": signals["ee_block_distance"],
                                  "success": float(predicate.evaluate(signals))}


def learned_reward(probability: float, threshold: float, reward: float,
                   terminate: bool) -> tuple[float, bool, dict[str, float]]:
    """A learned success classifier's sparse reward (``task.reward_model``).

    Args:
        probability: the classifier's success probability of the step's frame (NaN when
            there was no frame: never a success).
        threshold: success when ``probability > threshold``.
        reward: paid for a success (0 otherwise).
        terminate: a success ends the episode.

    Returns:
        (reward, terminated, info) with ``learned_success`` (1.0 or 0.0) and
        ``learned_probability``.
    """
    success = bool(probability > threshold)  # False for NaN
    return (reward if success else 0.0, success and terminate,
            {"learned_success": float(success), "learned_probability": float(probability)})
