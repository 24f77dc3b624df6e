"""Names of the state signals that tasks read, per robot, and those the scheduler adds.

A simulator or robot driver hands the scheduler a ``Mapping[str, float]`` holding at least the
signals its robot's graph uses, every control step (SI units: m, m/s, rad, rad/s, s).
"""

from __future__ import annotations

A1_SIGNALS: frozenset[str] = frozenset({
    "roll", "pitch", "yaw",                      # base orientation, rad
    "roll_rate", "pitch_rate", "yaw_rate",       # base angular velocity, rad/s
    "base_height",                               # base height above the ground, m
    "base_vx", "base_vy", "base_vz",             # base linear velocity, m/s
    "forward_velocity",                          # horizontal speed along the heading, m/s
    "upright",                                   # z of the body up axis in the world: 1 upright
    "fallen",                                    # 1.0 when the simulator/driver says fallen
    "time_in_task",                              # s since the active task started
})
"""Signals the A1 simulator/driver provides."""

PANDA_SIGNALS: frozenset[str] = frozenset({
    "ee_x", "ee_y", "ee_z",                      # end-effector position, m, base frame
    "target_x", "target_y", "target_z",          # active task's target, m (tasks shadow it)
    "ee_distance",                               # distance ee -> active target, m
    "joint_velocity_norm",                       # Euclidean norm of joint velocities, rad/s
})
"""Signals the Panda simulator/driver provides."""

PUSH_SIGNALS: frozenset[str] = frozenset({
    "block_x", "block_y", "block_z",             # PRIVILEGED: the block's centre, m, world
    "goal_x", "goal_y",                          # the push goal, m, world
    "ee_x", "ee_y", "ee_z",                      # end-effector position, m, world
    "block_distance",                            # block -> goal, horizontal, m
    "ee_block_distance",                         # end effector -> block centre, m
})
"""Signals the push task's success predicate reads (``task.push.success``); the block's
position is known only to the simulator."""

SCHEDULER_SIGNALS: frozenset[str] = frozenset({"task_steps"})
"""Signals the scheduler adds itself: ``task_steps`` = steps taken in the active task,
counting the current one (1 on the first step after a switch)."""

NON_STATE_SIGNALS: frozenset[str] = frozenset({"task_steps", "time_in_task"})
"""Signals that depend on the task history rather than the state; reward terms may not read
them, because rewards must be recomputable for every task from a stored transition."""
