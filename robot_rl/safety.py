"""The safety filter: the last thing between the policy and the motors, in every mode.

Only :class:`robot_rl.control.ControlStep` calls it. Its rules (docs/safety.md):

- nothing is commanded before the first complete, finite state (``step`` returns None);
- a hold commands the *measured* joint positions latched when the hold began, never a
  default pose or an old target. Holds: an engaged e-stop, a state that is NaN or older than
  ``max_state_age_s``, a non-finite action, and whatever the caller asks to hold for (pause,
  learner lost, operator silent, not activated). During an e-stop the latch follows each fresh
  measured pose (the robot may be moved by hand while stopped);
- leaving a hold re-anchors on the measured pose: the next command moves from there;
- every other command is clamped to the hard position limits, to ``max_step`` from the
  previous command and to ``max_tracking_error`` from the measured position (per joint). Where
  the robot itself moved so far that no value satisfies both of the last two, the command is
  the one nearest the previous command within ``max_tracking_error`` of the measured pose;
- the e-stop latches: after an explicit release it stays engaged until a fresh state arrives.

Usage::

    safety = SafetyFilter.from_config(cfg)
    command, info = safety.step(targets, state, now=robot.now(), hold="")
    if command is not None:
        robot.send_command(command)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.robot import RobotState


@dataclass
class SafetyInfo:
    """Why the filter did what it did this step."""

    hold: bool  # True: the latched measured pose was commanded (or nothing, before a state)
    reason: str  # "" or why it held: "estop", "no_state", "stale_state", "nonfinite_state",
    # "no_orientation", "nonfinite_action", or the caller's reason ("paused", ...)
    clamped: bool  # the target was clamped (limits, step or tracking bound)


class SafetyFilter:
    """Clamp, rate-limit, bound the tracking error and hold at the measured pose.

    Args:
        lower: Hard lower position limits (rad).
        upper: Hard upper position limits (rad).
        max_step: Largest change from the previous command per step (rad, per joint).
        max_tracking_error: Largest distance from the measured position (rad, per joint).
        max_state_age_s: States older than this (by the caller's clock) lead to a hold.
        step_ceiling: What ``max_step`` never exceeds, even widened (``velocity_limit *
            control_dt``; default ``max_step``).
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, max_step: np.ndarray,
                 max_tracking_error: np.ndarray, max_state_age_s: float,
                 step_ceiling: np.ndarray | None = None) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        n = self.lower.shape
        self.max_step = np.broadcast_to(np.asarray(max_step, np.float64), n).copy()
        self.max_tracking_error = np.broadcast_to(
            np.asarray(max_tracking_error, np.float64), n).copy()
        self.step_ceiling = self.max_step.copy() if step_ceiling is None else \
            np.broadcast_to(np.asarray(step_ceiling, np.float64), n).copy()
        self.max_state_age_s = max_state_age_s
        self.estop = False
        self.holds = 0  # held steps so far
        self._release_pending = False
        self._previous: np.ndarray | None = None  # the last command; None: none since a hold
        self._latch: np.ndarray | None = None  # the pose held while holding
        self._measured: np.ndarray | None = None  # the newest finite measured position

    @classmethod
    def from_config(cls, cfg: RobotConfig) -> SafetyFilter:
        spec, safety = cfg.robot, cfg.safety
        ceiling = np.asarray(spec.velocity_limit, np.float64) * cfg.control_dt
        step = np.minimum(safety.per_joint("max_step", list(0.5 * ceiling)), ceiling)
        tracking = safety.per_joint("max_tracking_error", list(
            2.0 * np.asarray(spec.action_scale)))
        return cls(np.array(spec.position_lower), np.array(spec.position_upper), step,
                   np.array(tracking), safety.max_state_age_s, step_ceiling=ceiling)

    # ------------------------------------------------------------------ state
    @property
    def previous(self) -> np.ndarray | None:
        """The last command that left the filter (None before the first)."""
        return None if self._previous is None else self._previous.copy()

    def set_estop(self, engaged: bool) -> None:
        """Engages the e-stop at once; a release takes effect with the next fresh state."""
        if engaged:
            self.estop, self._release_pending = True, False
        elif self.estop:
            self._release_pending = True

    def restart(self) -> None:
        """Forget the previous command: the next command starts from the measured pose (a
        simulator respawn or a new session, where the old command means nothing)."""
        self._previous = None
        self._latch = None

    # ------------------------------------------------------------------ the filter
    def step(self, targets: np.ndarray | None, state: RobotState | None, now: float,
             hold: str = "", widen: float = 1.0) -> tuple[np.ndarray | None, SafetyInfo]:
        """The command for ``targets`` given the newest ``state`` (None: nothing to send).

        Args:
            targets: Desired absolute joint positions (rad); None holds.
            state: The newest complete state (None: none has arrived yet).
            now: The current time on the clock that stamps states (s).
            hold: A reason to hold chosen by the caller ("" for none).
            widen: Scales both bounds (a task graph task whose action range is ``widen``
                times ``action_scale``); ``max_step`` stays within ``step_ceiling``.
        """
        fresh = self.fresh(state, now)
        if fresh:
            assert state is not None
            self._measured = np.clip(np.asarray(state.joint_position, np.float64),
                                     self.lower, self.upper)
            if self.estop and self._release_pending:
                self.estop, self._release_pending = False, False
        reason = self._hold_reason(state, fresh, hold)
        if not reason and (targets is None or not np.all(np.isfinite(targets))
                           or np.shape(targets) != self.lower.shape):
            reason = "nonfinite_action"
        if reason:
            return self._hold(reason, fresh)
        assert targets is not None and self._measured is not None
        if self._latch is not None or self._previous is None:  # leave a hold: re-anchor
            self._previous = self._measured.copy()
            self._latch = None
        targets = np.asarray(targets, dtype=np.float64)
        step = np.minimum(self.max_step * widen, self.step_ceiling) if widen != 1.0 \
            else self.max_step
        tracking = self.max_tracking_error * widen
        command = np.clip(targets, self._previous - step, self._previous + step)
        command = np.clip(command, self._measured - tracking, self._measured + tracking)
        command = np.clip(command, self.lower, self.upper)
        self._previous = command
        return command.copy(), SafetyInfo(False, "", bool(np.any(command != targets)))

    def fresh(self, state: RobotState | None, now: float) -> bool:
        """Whether ``state`` may be acted on: complete, finite and at most
        ``max_state_age_s`` old at ``now``."""
        return (state is not None and state.is_finite() and state.has_orientation()
                and np.shape(state.joint_position) == self.lower.shape
                and now - state.stamp <= self.max_state_age_s)

    def _hold_reason(self, state: RobotState | None, fresh: bool, hold: str) -> str:
        if self.estop:
            return "estop"
        if self._measured is None:
            return "no_state"
        if hold:
            return hold
        if fresh:
            return ""
        assert state is not None
        if not state.is_finite():
            return "nonfinite_state"
        return "no_orientation" if not state.has_orientation() else "stale_state"

    def _hold(self, reason: str, fresh: bool) -> tuple[np.ndarray | None, SafetyInfo]:
        if self._measured is None:  # no state ever: nothing to command
            return None, SafetyInfo(True, reason, False)
        if self._latch is None or (reason == "estop" and fresh):
            self._latch = self._measured.copy()
        self._previous = self._latch.copy()
        self.holds += 1
        return self._latch.copy(), SafetyInfo(True, reason, False)
