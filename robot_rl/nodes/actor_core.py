"""The actor node's logic, free of middleware: state in, safe command and transitions out.

Usage (what :mod:`robot_rl.nodes.actor_node` does; ``now`` is ``time.monotonic()``)::

    core = ActorCore(cfg, policy)
    on JointState/Imu/extras:  core.inputs.joint_state(msg, now) ...; if core.due(now): out = core.step(now)
    every control period:      if core.overdue(now): out = core.step(now)    # states stopped
    on e-stop (Bool):          out = core.set_estop(msg.data)                # immediate hold
    on operator text:          out = core.operator("pause" | "resume" | "task NAME")
    on weights:                core.set_weights(arrays, meta, version)
    publish(out.command); send(out.transition); request a reset if out.episode_end

Every command leaves through the :class:`~robot_rl.safety.SafetyFilter`: no complete state
yet, a state older than ``safety.max_state_age_s`` (by arrival time), NaN, the e-stop, a
paused session or (if the edge asks for it) a lost learner hold the last safe pose. Steps are phase-locked to the control period and
triggered by the arriving state, so a command follows its state with no timer delay.

Transitions: the observation and action of step k and the state of step k+1 make one
transition (reward from the active task). One whose period was interrupted (e-stop, pause,
a state that did not arrive in time, a simulator respawn) is dropped, not stored. An
episode ends on ``terminated`` (the task's true end), the time limit, or a task switch
(both ``truncated``); the next step starts a new episode (previous action zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.envs.spaces import ActionMapper, ObservationBuilder
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.signals import reorder
from robot_rl.nodes.state import StateAssembler
from robot_rl.nodes.tasks import sample_target, task_rewards
from robot_rl.robot import RobotState
from robot_rl.safety import SafetyFilter, SafetyInfo


class OperatorError(ValueError):
    """An operator command the actor does not understand."""


class Transition(NamedTuple):
    """One stored experience (normalized action; ``step`` numbers it on this actor)."""

    obs: np.ndarray
    action: np.ndarray
    reward: float
    next_obs: np.ndarray
    terminated: bool
    truncated: bool
    step: int
    task: str


class StepOutput(NamedTuple):
    """What one step (or an immediate hold) produced."""

    command: np.ndarray  # joint targets in the controller's order (ros.command_joints)
    hold: bool  # the last safe pose was held
    reason: str  # why it held ("" when not)
    transition: Transition | None  # the transition completed by this step
    episode_end: str | None  # "terminated", "time_limit", "task_switch" (ask for a reset)


class ActorCore:
    """Observation, policy, limits, safety, episodes, e-stop, pause and task switches.

    Args:
        cfg: The robot config.
        policy: The policy (warm-up random actions, then the learner's weights).
        seed: Seeds reach targets.
    """

    def __init__(self, cfg: RobotConfig, policy: Policy, seed: int = 0) -> None:
        self.cfg = cfg
        self.policy = policy
        self.dt = cfg.control_dt
        self.inputs = StateAssembler(cfg)
        self.obs_builder = ObservationBuilder(cfg)
        self.mapper = ActionMapper(cfg)
        self.safety = SafetyFilter.from_config(cfg)
        self.tasks = task_rewards(cfg)
        self.task = cfg.task.kind
        order = cfg.ros.command_joints or cfg.robot.joints
        self.to_controller = reorder(cfg.robot.joints, order)
        self.rng = np.random.default_rng(seed)
        self.estop = False
        self.paused = False
        self.learner_lost = False  # set by the edge when it should hold without a learner
        self.limit: float | np.ndarray = 1.0  # action limit L from the learner (APRL), else 1
        self.events: list[dict[str, Any]] = []  # drained by the edge (recorded, logged)
        self.steps = 0
        self.transitions = 0
        self.dropped = 0
        self.episodes = 0
        self.episode_steps = 0
        self.episode_return = 0.0
        self.last = StepOutput(self._out(self.safety.last_command), True, "no_state", None, None)
        self._pending: tuple[np.ndarray, np.ndarray] | None = None
        self._prev_action = np.zeros(cfg.n_joints, np.float32)
        self._target = sample_target(cfg, self.task, self.rng)
        self._switch_to: str | None = None
        self._started = False
        self._resets_seen = 0.0
        self._next_due = float("-inf")

    # ------------------------------------------------------------------ timing
    def due(self, now: float) -> bool:
        """Whether a state arriving now should trigger a step (a quarter period early is ok)."""
        return now >= self._next_due - 0.25 * self.dt

    def overdue(self, now: float) -> bool:
        """Whether no state triggered the step due half a period ago (the watchdog steps)."""
        return now >= self._next_due + 0.5 * self.dt

    def _mark(self, now: float) -> None:
        self._next_due += self.dt
        if self._next_due <= now:  # more than a period behind: restart the phase here
            self._next_due = now + self.dt

    # ------------------------------------------------------------------ the step
    def step(self, now: float) -> StepOutput:
        """Completes the pending transition, then acts (or holds) on the newest state."""
        self._mark(now)
        self.steps += 1
        state = self.inputs.state()
        fresh = (state is not None and state.is_finite()
                 and now - state.stamp <= self.safety.max_state_age_s)
        if self.inputs.reset_count != self._resets_seen:  # the simulator respawned the robot
            self._resets_seen = self.inputs.reset_count
            self._drop("respawn")
            self._new_episode()
        transition, end = None, None
        if self._pending is not None:
            if fresh:
                assert state is not None
                transition, end = self._complete(state)
            else:
                self._drop("state")
        if self._switch_to is not None:
            self._event(event="task", previous=self.task, task=self._switch_to)
            self.task, self._switch_to = self._switch_to, None
            self._new_episode()
        elif end is not None:
            self._new_episode()
        command, info = self._act(state, fresh, now)
        self._set_last(StepOutput(self._out(command), info.hold, info.reason, transition, end))
        return self.last

    def _act(self, state: RobotState | None, fresh: bool,
             now: float) -> tuple[np.ndarray, SafetyInfo]:
        if self.estop:
            return self.safety.hold("estop")
        if state is None:
            return self.safety.hold("no_state")
        if self.paused:
            return self.safety.hold("paused")
        if self.learner_lost:
            self._drop("learner_lost")
            return self.safety.hold("learner_lost")
        if not fresh:  # the filter names it: stale_state or nonfinite_state
            return self.safety.filter(self.safety.last_command, state, now)
        if not self._started:  # first complete state: hold where the robot is, then move
            self.safety.reset(state.joint_position)
            self._started = True
        obs = self.obs_builder.build(state, self._prev_action, self._target)
        action = self.policy.act(obs)
        command, info = self.safety.filter(self.mapper(action, self.limit), state, now)
        if not info.hold:
            self._pending = (obs, action)
            self._prev_action = np.clip(action, -1.0, 1.0).astype(np.float32)
        return command, info

    def _complete(self, state: RobotState) -> tuple[Transition, str | None]:
        assert self._pending is not None
        obs, action = self._pending
        self._pending = None
        next_obs = self.obs_builder.build(state, self._prev_action, self._target)
        reward, terminated, _ = self.tasks[self.task](state, action, self._target)
        self.episode_steps += 1
        self.episode_return += reward
        time_up = self.episode_steps >= self.cfg.task.episode_steps
        switching = self._switch_to is not None
        truncated = not terminated and (time_up or switching)
        transition = Transition(obs, action, float(reward), next_obs, bool(terminated),
                                bool(truncated), self.transitions, self.task)
        self.transitions += 1
        end = ("terminated" if terminated else "time_limit" if time_up
               else "task_switch" if switching else None)
        if end is not None:
            self._event(event="episode_end", reason=end, task=self.task,
                        episode=self.episodes, length=self.episode_steps,
                        **{"return": round(self.episode_return, 6)})
        return transition, end

    def _new_episode(self) -> None:
        self.episodes += 1 if self.episode_steps else 0
        self.episode_steps = 0
        self.episode_return = 0.0
        self._prev_action[:] = 0.0
        self._target = sample_target(self.cfg, self.task, self.rng)

    def _drop(self, why: str) -> None:
        if self._pending is not None:
            self._pending = None
            self.dropped += 1
            self._event(event="transition_dropped", reason=why)

    def _out(self, command: np.ndarray) -> np.ndarray:
        return command[self.to_controller]

    def _hold_now(self, reason: str) -> StepOutput:
        command, info = self.safety.hold(reason)
        self._set_last(StepOutput(self._out(command), True, info.reason, None, None))
        return self.last

    def _set_last(self, out: StepOutput) -> None:
        if out.reason != self.last.reason:  # holds start and end as events
            self._event(event="safety", hold=out.hold, reason=out.reason)
        self.last = out

    def _event(self, **fields: Any) -> None:
        self.events.append(fields)

    # ------------------------------------------------------------------ operator
    def set_estop(self, engaged: bool) -> StepOutput | None:
        """Engages (returns an immediate hold to publish) or releases the e-stop."""
        engaged = bool(engaged)
        if engaged == self.estop:
            return self._hold_now("estop") if engaged else None
        self.estop = engaged
        self.safety.set_estop(engaged)
        self._event(event="estop", engaged=engaged)
        if engaged:
            self._drop("estop")
            return self._hold_now("estop")
        self._new_episode()
        return None

    def operator(self, text: str) -> StepOutput | None:
        """Applies ``pause``, ``resume`` or ``task NAME``; pause returns an immediate hold.

        Raises:
            OperatorError: For anything else (the edge reports it in the status).
        """
        words = text.split()
        if words == ["pause"]:
            if not self.paused:
                self.paused = True
                self._drop("pause")
                self._event(event="pause")
            return self._hold_now("estop" if self.estop else "paused")
        if words == ["resume"]:
            if self.paused:
                self.paused = False
                self._new_episode()
                self._event(event="resume")
            return None
        if len(words) == 2 and words[0] == "task":
            if words[1] not in self.tasks:
                raise OperatorError(f"unknown task {words[1]!r}; this robot has "
                                    f"{', '.join(self.tasks)}")
            if words[1] != self.task:
                self._switch_to = words[1]  # at the next step: ends the episode (truncated)
            return None
        raise OperatorError(f"unknown operator command {text!r}; expected pause, resume "
                            "or task NAME")

    def set_weights(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                    version: int) -> None:
        """Loads new policy weights (and the action limit from their state slot, if any)."""
        self.policy.load(arrays, meta, version)
        limit = self.policy.state.get("limit")
        if limit is not None:
            value = np.asarray(limit, dtype=np.float64)
            if value.shape in ((), (self.cfg.n_joints,)) and np.all((value > 0) & (value <= 1)):
                self.limit = float(value) if value.shape == () else value
        self._event(event="weights", version=version)

    # ------------------------------------------------------------------ status
    def status(self, now: float) -> dict[str, Any]:
        """The actor's status (what the status topic publishes as JSON)."""
        state = self.inputs.state()
        age = None if state is None else round((now - state.stamp) * 1e3, 1)
        limit = self.limit if isinstance(self.limit, float) else [
            round(float(v), 4) for v in self.limit]
        return {
            "node": "actor", "robot": self.cfg.name, "task": self.task,
            "tasks": list(self.tasks), "paused": self.paused, "estop": self.estop,
            "hold": self.last.hold, "hold_reason": self.last.reason, "limit": limit,
            "policy_version": self.policy.version, "warming_up": self.policy.warming_up,
            "steps": self.steps, "transitions": self.transitions, "dropped": self.dropped,
            "episodes": self.episodes, "episode_steps": self.episode_steps,
            "state_age_ms": age, "stamp_lag_ms": round(self.inputs.stamp_lag_ns / 1e6, 2),
            "waiting_for": self.inputs.missing(), "rejected_messages": self.inputs.rejected,
            "safety_holds": self.safety.holds,
        }
