"""The safety filter: the last thing between the policy and the motors, in every mode.

Every command that leaves it is inside the hard position limits and moves no faster than the
velocity limits allow in one control period. A NaN or infinite target or state, a state older
than ``max_state_age_s``, or an engaged e-stop makes it hold the last safe pose instead.

Usage::

    safety = SafetyFilter.from_config(cfg)
    safety.reset(state.joint_position)
    command, info = safety.filter(targets, state, now=robot.now())
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

    hold: bool  # True: the last safe pose was held instead of the target
    reason: str  # "", "estop", "nonfinite_action", "nonfinite_state", "stale_state"
    clamped: bool  # the target was clamped to limits or rate-limited


class SafetyFilter:
    """Clamp, rate-limit and hold.

    Args:
        lower: hard lower position limits (rad).
        upper: hard upper position limits (rad).
        velocity_limit: max joint speed (rad/s); the per-step change is limited to
            ``velocity_limit * control_dt``.
        control_dt: the control period (s).
        max_state_age_s: states older than this trigger a hold.
        rate_limit: whether to rate-limit at all.
        home: the pose held before any safe command exists (clamped to the limits).
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, velocity_limit: np.ndarray,
                 control_dt: float, max_state_age_s: float, rate_limit: bool = True,
                 home: np.ndarray | None = None) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.max_step = np.asarray(velocity_limit, dtype=np.float64) * control_dt
        self.max_state_age_s = max_state_age_s
        self.rate_limit = rate_limit
        home = (self.lower + self.upper) / 2 if home is None else np.asarray(home, np.float64)
        self.home = np.clip(home, self.lower, self.upper)
        self.estop = False
        self.holds = 0
        self._last = self.home.copy()

    @classmethod
    def from_config(cls, cfg: RobotConfig) -> SafetyFilter:
        spec = cfg.robot
        return cls(np.array(spec.position_lower), np.array(spec.position_upper),
                   np.array(spec.velocity_limit), cfg.control_dt, cfg.safety.max_state_age_s,
                   cfg.safety.rate_limit, home=np.array(spec.nominal))

    @property
    def last_command(self) -> np.ndarray:
        """The last command that left the filter (the pose a hold keeps)."""
        return self._last.copy()

    def reset(self, joint_position: np.ndarray | None = None) -> None:
        """Start from the measured pose (if finite), else from home."""
        q = None if joint_position is None else np.asarray(joint_position, np.float64)
        if q is not None and q.shape == self.home.shape and np.all(np.isfinite(q)):
            self._last = np.clip(q, self.lower, self.upper)
        else:
            self._last = self.home.copy()

    def set_estop(self, engaged: bool) -> None:
        """Engage or release the e-stop; while engaged every command is a hold."""
        self.estop = bool(engaged)

    def hold(self, reason: str) -> tuple[np.ndarray, SafetyInfo]:
        """Hold the last safe pose."""
        self.holds += 1
        return self._last.copy(), SafetyInfo(hold=True, reason=reason, clamped=False)

    def filter(self, targets: np.ndarray, state: RobotState | None,
               now: float) -> tuple[np.ndarray, SafetyInfo]:
        """Return the command to send for ``targets`` given the latest ``state``.

        Args:
            targets: desired absolute joint positions (rad).
            state: the state the targets were computed from (None: no state yet -> hold).
            now: the current time on the clock that stamps states (s).
        """
        if self.estop:
            return self.hold("estop")
        if state is None or not state.is_finite():
            return self.hold("nonfinite_state")
        if now - state.stamp > self.max_state_age_s:
            return self.hold("stale_state")
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != self._last.shape or not np.all(np.isfinite(targets)):
            return self.hold("nonfinite_action")
        command = np.clip(targets, self.lower, self.upper)
        if self.rate_limit:
            command = np.clip(command, self._last - self.max_step, self._last + self.max_step)
            # The previous command is inside the limits, so this stays inside them too;
            # clip again so float rounding can never push a value past a limit.
            command = np.clip(command, self.lower, self.upper)
        clamped = bool(np.any(command != targets))
        self._last = command
        return command.copy(), SafetyInfo(hold=False, reason="", clamped=clamped)
