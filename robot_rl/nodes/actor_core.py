"""The actor node's logic, free of middleware: state in, safe command and transitions out.

Usage (what :mod:`robot_rl.nodes.actor_node` does; ``now`` is ``time.monotonic()``)::

    core = ActorCore(cfg, policy)
    on JointState/Imu/extras:  core.inputs.joint_state(msg, now) ...
                               if core.due(now): out = core.step(now)
    every control period:      if core.overdue(now): out = core.step(now)    # states stopped
    on e-stop (Bool):          out = core.set_estop(msg.data, now)           # immediate hold
    on operator text:          out = core.operator("pause" | "resume" | "task NAME", now)
    on weights:                core.set_weights(arrays, meta, version)
    on Joy/Twist (teleop):     core.teleop.receive(msg, now)     # operator takes over

    publish(out.command) unless None; send(out.transition); request a reset if out.episode_end

Each step is :class:`~robot_rl.control.ControlStep`'s (the control step every mode shares):
it holds at the measured pose for the e-stop, a pause, a lost learner (if the edge asks for
it), a silent operator (``safety.operator_timeout_s``), a missing, stale or NaN state, a
state without a frame of each camera the policy sees (``no_image``; a camera that stopped
makes the state stale anyway), and commands nothing before the first complete state. Steps
are phase-locked to the control period and triggered by the arriving state, so a command
follows its state with no timer delay. With ``observation.images`` the policy sees the
control step's stack of the cameras' newest frames, and each transition carries ``pixels``
and ``next_frame``.

Transitions: the observation and action of step k and the state of step k+1 make one
transition. One whose period was interrupted (a hold, a state that did not arrive in time, a
simulator respawn) is dropped, not stored. An episode ends on ``terminated`` (the task's end
or a fall), the time limit, or a task switch (both ``truncated``); the next step starts a
new episode.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from robot_rl.aprl.actor_side import make_gate
from robot_rl.config import RobotConfig
from robot_rl.control import Action, ControlStep, Transition
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import reorder
from robot_rl.nodes.state import StateAssembler
from robot_rl.robot import RobotState

if TYPE_CHECKING:
    from robot_rl.demos.teleop import Teleop

__all__ = ["ActorCore", "OperatorError", "StepOutput", "Transition"]


class OperatorError(ValueError):
    """An operator command the actor does not understand."""


class StepOutput(NamedTuple):
    """What one step (or an immediate hold) produced."""

    command: np.ndarray | None  # targets in the controller's order; None: publish nothing
    hold: bool  # the measured pose was held (or nothing sent, before the first state)
    reason: str  # why it held ("" when not)
    transition: Transition | None  # the transition completed by this step
    episode_end: str | None  # "terminated", "time_limit", "task_switch" (ask for a reset)


class ActorCore:
    """Inputs, policy, operator state and episodes around the one control step.

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
        self.control = ControlStep(cfg, seed)
        settings = cfg.aprl_settings()
        if settings is not None and settings.active:  # APRL: the gate in the control step
            self.control.attach_gate(make_gate(cfg, settings, self.control.obs_builder.size),
                                     settings.range_factor)
        if cfg.task.reward_model is not None:  # the learned reward scores the newest frame
            from robot_rl.reward_model.classifier import load_reward_model

            self.control.attach_success_model(load_reward_model(cfg))
        self.safety = self.control.safety
        self.tasks = self.control.tasks
        order = cfg.ros.command_joints or cfg.robot.joints
        self.to_controller = reorder(cfg.robot.joints, order)
        self.estop = False
        self.paused = False
        self.learner_lost = False  # set by the edge when it should hold without a learner
        self.operator_timeout_s = cfg.safety.operator_timeout_s
        self._operator_seen = float("-inf")
        self.events: list[dict[str, Any]] = []  # drained by the edge (recorded, logged)
        self.steps = 0
        self.dropped = 0
        self.episodes = 0
        # interventions (docs/demos.md): while a fresh, non-zero teleop command is held, the
        # operator's action replaces the policy's (same control step, flagged transitions)
        self.teleop: Teleop | None = None
        self.interventions = 0
        self.last = StepOutput(None, True, "no_state", None, None)
        self._switch_to: str | None = None
        self._resets_seen = 0.0
        self._next_due = float("-inf")
        self.control.new_episode()

    @property
    def task(self) -> str:
        """The task being trained."""
        return self.control.task

    @property
    def transitions(self) -> int:
        """Transitions completed so far."""
        return self.control.transitions

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
        fresh = self.safety.fresh(state, now)
        # a state without the policy's frames is not acted on nor completes a transition
        seen = fresh and state is not None and self.control.sees(state)
        if self.inputs.reset_count != self._resets_seen:  # the simulator respawned the robot
            self._resets_seen = self.inputs.reset_count
            self._drop("respawn")
            self.safety.restart()
            self._new_episode()
        transition, end = None, None
        if self.control.pending:
            if seen:
                assert state is not None
                transition, end = self._complete(state)
            else:
                self._drop("state" if not fresh else "image")
        if self._switch_to is not None:
            self._event(event="task", previous=self.task, task=self._switch_to)
            self._new_episode(self._switch_to)
            self._switch_to = None
        elif end is not None:
            self._new_episode()
        out = self._act(state, fresh, seen, now)
        self._set_last(self._output(out, transition, end))
        return self.last

    def hold_reason(self, now: float) -> str:
        """Why the actor holds by its own choice now ("" when it may act)."""
        if self.estop:
            return "estop"
        if self.paused:
            return "paused"
        if self.learner_lost:
            return "learner_lost"
        if self.operator_timeout_s is not None and \
                now - self._operator_seen > self.operator_timeout_s:
            return "operator_timeout"
        return ""

    def _act(self, state: RobotState | None, fresh: bool, seen: bool, now: float) -> Action:
        reason = self.hold_reason(now) or ("no_image" if fresh and not seen else "")
        if reason or not fresh:  # (step() completed or dropped the pending step already)
            return self.control.hold(reason, state, now)
        assert state is not None
        action = self.policy.act(self.control.observation(state))
        teleop = self.teleop
        if teleop is not None and teleop.engaged(now):  # the operator takes over
            operator_action = teleop.action(state, now)
            if operator_action is not None:
                self.interventions += 1
                return self.control.act(operator_action, state, now, intervention=True)
        return self.control.act(action, state, now)

    def _complete(self, state: RobotState) -> tuple[Transition | None, str | None]:
        done = self.control.complete(state, switching=self._switch_to is not None)
        assert done is not None
        if done.held:  # the action never reached the robot
            self._count_drop("hold")
            return None, None
        if done.end is not None:
            self._event(event="episode_end", reason=done.end, task=self.task,
                        episode=self.episodes, length=self.control.episode_steps,
                        **{"return": round(self.control.episode_return, 6)})
        return done.transition, done.end

    def _new_episode(self, task: str | None = None) -> None:
        self.episodes += 1 if self.control.episode_steps else 0
        self.control.new_episode(task)

    def _drop(self, why: str) -> None:
        if self.control.drop():
            self._count_drop(why)

    def _count_drop(self, why: str) -> None:
        self.dropped += 1
        self._event(event="transition_dropped", reason=why)

    def _output(self, out: Action, transition: Transition | None,
                end: str | None) -> StepOutput:
        command = None if out.command is None else out.command[self.to_controller]
        return StepOutput(command, out.safety.hold, out.safety.reason, transition, end)

    def _hold_now(self, reason: str, now: float | None) -> StepOutput:
        now = time.monotonic() if now is None else now
        self._drop(reason)
        self._set_last(self._output(self.control.hold(reason, self.inputs.state(), now),
                                    None, None))
        return self.last

    def _set_last(self, out: StepOutput) -> None:
        if out.reason != self.last.reason:  # holds start and end as events
            self._event(event="safety", hold=out.hold, reason=out.reason)
        self.last = out

    def _event(self, **fields: Any) -> None:
        self.events.append(fields)

    # ------------------------------------------------------------------ operator
    def set_estop(self, engaged: bool, now: float | None = None) -> StepOutput | None:
        """Engages the e-stop (returns an immediate hold to publish) or releases it; the
        release takes effect with the next fresh state, which re-anchors the commands."""
        self.operator_seen(now)
        engaged = bool(engaged)
        if engaged == self.estop:
            return self._hold_now("estop", now) if engaged else None
        self.estop = engaged
        self.safety.set_estop(engaged)
        self._event(event="estop", engaged=engaged)
        if engaged:
            return self._hold_now("estop", now)
        self._new_episode()
        return None

    def operator_seen(self, now: float | None = None) -> None:
        """An operator message arrived (the heartbeat of ``safety.operator_timeout_s``)."""
        self._operator_seen = time.monotonic() if now is None else now

    def operator(self, text: str, now: float | None = None) -> StepOutput | None:
        """Applies ``pause``, ``resume`` or ``task NAME``; pause returns an immediate hold.

        Raises:
            OperatorError: For anything else (the edge reports it in the status).
        """
        self.operator_seen(now)
        words = text.split()
        if words == ["pause"]:
            if not self.paused:
                self.paused = True
                self._event(event="pause")
            return self._hold_now("estop" if self.estop else "paused", now)
        if words == ["resume"]:
            if self.paused:
                self.paused = False
                self._new_episode()
                self._event(event="resume")
            return None
        if words == ["heartbeat"]:
            return None
        if len(words) == 2 and words[0] == "task":
            if words[1] not in self.tasks:
                raise OperatorError(f"unknown task {words[1]!r}; this robot has "
                                    f"{', '.join(self.tasks)}")
            if words[1] != self.task:
                self._switch_to = words[1]  # at the next step: ends the episode (truncated)
            return None
        raise OperatorError(f"unknown operator command {text!r}; expected pause, resume, "
                            "heartbeat or task NAME")

    def set_weights(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                    version: int) -> None:
        """Loads new policy weights (and APRL's dynamics model, when the gate is on).

        Raises:
            WeightsError: The policy does not fit this robot (nothing is loaded).
            ValueError: The dynamics model does not fit (the policy is loaded).
        """
        weights = self.policy.load(arrays, meta, version)
        gate = self.control.gate
        if gate is not None and "dynamics" in weights.groups:
            gate.set_model(weights.groups["dynamics"], version)
        self._event(event="weights", version=version)

    # ------------------------------------------------------------------ status
    def status(self, now: float) -> dict[str, Any]:
        """The actor's status (what the status topic publishes as JSON)."""
        state = self.inputs.state()
        age = None if state is None else round((now - state.stamp) * 1e3, 1)
        return {
            "node": "actor", "robot": self.cfg.name, "task": self.task,
            "tasks": list(self.tasks), "paused": self.paused, "estop": self.estop,
            "hold": self.last.hold, "hold_reason": self.last.reason,
            "policy_version": self.policy.version, "warming_up": self.policy.warming_up,
            "steps": self.steps, "transitions": self.transitions, "dropped": self.dropped,
            "episodes": self.episodes, "episode_steps": self.control.episode_steps,
            "state_age_ms": age, "stamp_lag_ms": round(self.inputs.stamp_lag_ns / 1e6, 2),
            "waiting_for": self.inputs.missing(), "rejected_messages": self.inputs.rejected,
            "safety_holds": self.safety.holds, "interventions": self.interventions,
            "teleop_rejected": None if self.teleop is None else self.teleop.rejected,
            "aprl_L": None if self.control.gate is None else
            [round(float(v), 4) for v in self.control.gate.limits.L],
        }
