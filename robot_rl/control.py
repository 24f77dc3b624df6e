"""The one control step, shared by every mode (embedded, distributed actor, ROS actor node).

::

    state (complete, fresh?) -> obs -> policy -> a -> limit L (APRL) -> safety filter -> command
            `--------------> reward, terminated / truncated, fall -> transition

:class:`ControlStep` is the only caller of the :class:`~robot_rl.safety.SafetyFilter` and the
only place a transition is packed. Modes differ in where the state comes from and where the
command and the transition go: :class:`~robot_rl.envs.RobotEnv` (PyBullet in-process, also
under the distributed actor) and :class:`~robot_rl.nodes.actor_core.ActorCore` (ROS topics).

Usage (what both callers do; ``now`` is the clock that stamps states)::

    control = ControlStep(cfg, seed)
    control.new_episode()
    obs = control.observe(state)
    out = control.act(policy(obs), state, now)      # or control.hold("paused", state, now)
    if out.command is not None:
        robot.send_command(out.command)
    ... one control period later, with the next state:
    done = control.complete(next_state)             # the transition and why the episode ended

With ``observation.images`` the policy also sees the newest ``observation.frame_stack`` frames
of those cameras (:class:`~robot_rl.spaces.FrameStack`), taken from ``RobotState.images``:
:meth:`ControlStep.observation` is then ``{"state": vector, "pixels": uint8 stack}``, the
stack restarts with each episode and takes the frames of every state acted on or completed,
and each transition carries the stack it acted on (``pixels``) and the next state's frames
(``next_frame``). A state without a frame of each of those cameras must not be acted on
(:meth:`ControlStep.sees`: the ROS actor holds).

A transition is the observation and action of one step and the state of the next. A fall
(``sim.fall_tilt_deg``/``sim.fall_height``) or the task's own end is ``terminated``; the
time limit or a task switch is ``truncated``. A step that was held carries ``held=True``:
the action never reached the robot (the ROS actor drops it; a Gymnasium env must return it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.kinematics import EndEffectorMapper
from robot_rl.rewards import learned_reward, push_reward, reach_reward, walk_reward
from robot_rl.robot import RobotState, is_fallen, quat_to_rpy
from robot_rl.safety import SafetyFilter, SafetyInfo
from robot_rl.spaces import ActionMapper, FrameStack, Observation, ObservationBuilder

if TYPE_CHECKING:
    from robot_rl.aprl.actor_side import AprlGate, GateInfo

logger = logging.getLogger(__name__)

QUICK_FALL_S = 0.5  # a legged robot's episode ending in a fall (or the walk task's tilt)
# this soon after its start is a "quick fall" ...
QUICK_FALLS_WARN = 10  # ... and this many in a row say the robot starts fallen or unstable

Reward = Callable[[RobotState, np.ndarray, "np.ndarray | None", float],
                  tuple[float, bool, dict[str, float]]]
"""reward(state, action, target, start_yaw) -> (reward, terminated, info)."""


class SuccessJudge(Protocol):
    """A learned success classifier (:class:`robot_rl.reward_model.classifier.SuccessModel`):
    scores the frame of its ``camera`` in ``RobotState.images``."""

    camera: str
    threshold: float

    def probability(self, frame: np.ndarray) -> float:
        """The success probability of one (H, W, 3) uint8 frame."""
        ...


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
    aprl_L: np.ndarray | None = None  # APRL: the limit L in force for this step
    intervention: bool = False  # a person's (or scripted expert's) action, not the policy's
    # observation.images: the stacked frames the action was computed from, uint8
    # (k * cameras * 3, H, W), and the next state's newest frames, uint8 (cameras * 3, H, W)
    pixels: np.ndarray | None = None
    next_frame: np.ndarray | None = None


class _Pending(NamedTuple):
    """A step acted on, waiting for the state that follows it."""

    obs: np.ndarray
    action: np.ndarray  # clipped to [-1, 1]
    held: bool
    aprl_L: np.ndarray | None
    intervention: bool
    pixels: np.ndarray | None


class Action(NamedTuple):
    """What :meth:`ControlStep.act` or :meth:`ControlStep.hold` produced."""

    command: np.ndarray | None  # joint targets, config order (None: send nothing)
    safety: SafetyInfo


class Completed(NamedTuple):
    """What :meth:`ControlStep.complete` produced."""

    transition: Transition
    held: bool  # the step's action was held by the safety filter (never reached the robot)
    end: str | None  # "terminated", "time_limit", "task_switch" or None
    info: dict[str, float]  # the reward's info plus ``fallen``
    aprl: GateInfo | None = None  # APRL: the gate's verdict on the step


def task_rewards(cfg: RobotConfig) -> dict[str, Reward]:
    """Task name -> reward. A legged robot knows ``walk`` (its config's band) and ``stand``
    (a band of 0 m/s: stay in place); an arm knows ``reach`` (its episode's target) and,
    with ``task.kind: push``, ``push`` (the simulator's block to ``task.push.goal``)."""
    if cfg.robot.kind == "legged":
        walk = cfg.task.walk
        stand = dataclasses.replace(walk, velocity_low=0.0, velocity_high=0.0)
        return {"walk": lambda s, a, t, yaw: walk_reward(s, walk, yaw),
                "stand": lambda s, a, t, yaw: walk_reward(s, stand, yaw)}
    reach = cfg.task.reach

    def reach_task(s: RobotState, a: np.ndarray, t: np.ndarray | None,
                   yaw: float) -> tuple[float, bool, dict[str, float]]:
        assert t is not None, "reach needs a target"
        return reach_reward(s, t, a, reach)

    tasks: dict[str, Reward] = {"reach": reach_task}
    if cfg.task.kind == "push":
        push, success = cfg.task.push, cfg.task.push.success_predicate()
        tasks["push"] = lambda s, a, t, yaw: push_reward(s, a, push, success)
    return tasks


def sample_target(cfg: RobotConfig, task: str, rng: np.random.Generator) -> np.ndarray | None:
    """The episode's target (reach: uniform in the configured box), else None."""
    if task != "reach":
        return None
    return rng.uniform(cfg.task.reach.target_low, cfg.task.reach.target_high)


def fallen(cfg: RobotConfig, state: RobotState) -> bool:
    """A legged robot tilted beyond ``sim.fall_tilt_deg``, or (where the base height is
    known) lower than ``sim.fall_height``. Arms never fall."""
    return cfg.robot.kind == "legged" and is_fallen(state, cfg.sim.fall_tilt_deg,
                                                    cfg.sim.fall_height)


class ControlStep:
    """Observation, action mapping, APRL limit, safety filter, reward and episode bounds.

    Args:
        cfg: The robot config.
        seed: Seeds the reach targets.
    """

    def __init__(self, cfg: RobotConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.obs_builder = ObservationBuilder(cfg)
        self.mapper: Callable[..., np.ndarray] = (
            EndEffectorMapper(cfg) if cfg.robot.action_mode == "ee_delta" else ActionMapper(cfg))
        self.safety = SafetyFilter.from_config(cfg)
        self.tasks = task_rewards(cfg)
        self.task: str = cfg.task.kind  # a key of self.tasks
        self.rng = np.random.default_rng(seed)
        self.limit: float | np.ndarray = 1.0  # action range factor (APRL: range_factor)
        self.gate: AprlGate | None = None  # APRL: applies L, scores each step
        self.judge: SuccessJudge | None = None  # task.reward_model: the learned reward
        self.target: np.ndarray | None = None
        self.prev_action = np.zeros(cfg.action_dim, np.float32)
        self.episode_steps = 0
        self.episode_return = 0.0
        self.transitions = 0  # completed transitions (numbers them)
        self.quick_falls = 0  # episodes in a row that fell within QUICK_FALL_S
        self._quick_steps = max(1, round(QUICK_FALL_S * cfg.robot.control_hz))
        self._start_yaw: float | None = None
        self._pending: _Pending | None = None
        images = cfg.observation.images
        self.frames = FrameStack(images, cfg.observation.frame_stack) if images else None
        self._stacked: RobotState | None = None  # the state whose frames the stack ends with

    def attach_gate(self, gate: AprlGate, range_factor: float) -> None:
        """APRL: every step's action passes ``gate`` (its limit L) before the safety filter;
        targets are ``nominal + range_factor * a * action_scale``."""
        self.gate, self.limit = gate, range_factor

    def attach_success_model(self, judge: SuccessJudge) -> None:
        """``task.reward_model``: every step is paid by ``judge``'s verdict on the next
        state's camera frame instead of the task's reward; a success ends the episode if
        the section says so. The task's own reward still runs for its info (the sim's
        ``success`` next to ``learned_success``)."""
        self.judge = judge

    def seed(self, seed: int) -> None:
        """Reseeds the reach targets."""
        self.rng = np.random.default_rng(seed)

    def new_episode(self, task: str | None = None) -> None:
        """Starts an episode (of ``task``, default the current one): previous action zero,
        a new target, the start heading taken from the next state acted on."""
        if task is not None:
            self.task = task
        self.prev_action[:] = 0.0
        self.episode_steps = 0
        self.episode_return = 0.0
        self.target = sample_target(self.cfg, self.task, self.rng)
        self._start_yaw = None
        self._pending = None
        self._stacked = None  # the next state observed restarts the frame stack

    def _count_quick_falls(self, quick: bool) -> None:
        """Warns (at QUICK_FALLS_WARN episodes in a row, then at 2x, 4x, ... as many) when
        episodes keep ending in a fall right after their start: learning from them is
        wasted, and the cause is the start pose, not the policy."""
        self.quick_falls = n = self.quick_falls + 1 if quick else 0
        times, rest = divmod(n, QUICK_FALLS_WARN)
        if rest == 0 and times > 0 and times & (times - 1) == 0:
            logger.warning(
                "robot-rl: %d episodes in a row fell within %d steps of their start: the robot "
                "starts fallen or unstable. In simulation check robot.base_position (height) "
                "and robot.base_orientation in %s; sim.fall_tilt_deg (%g) and sim.fall_height "
                "(%g m) decide what counts as a fall", n, self._quick_steps,
                self.cfg.source or "the robot config", self.cfg.sim.fall_tilt_deg,
                self.cfg.sim.fall_height)

    def _judged(self, state: RobotState, terminated: bool, info: dict[str, float]
                ) -> tuple[float, bool, dict[str, float]]:
        """The learned reward of ``state`` (the task's terminations, e.g. a tilt, stay)."""
        assert self.judge is not None and self.cfg.task.reward_model is not None
        spec = self.cfg.task.reward_model
        frame = (state.images or {}).get(self.judge.camera)
        p = float("nan") if frame is None else self.judge.probability(frame)
        reward, end, extra = learned_reward(p, self.judge.threshold, spec.reward,
                                            spec.terminate)
        return reward, terminated or end, {**info, **extra}

    def observe(self, state: RobotState) -> np.ndarray:
        """The policy's observation of ``state`` in the current episode (the first state
        observed in an episode sets its start heading)."""
        if self._start_yaw is None:
            self._start_yaw = float(quat_to_rpy(state.imu_orientation)[2])
        return self.obs_builder.build(state, self.prev_action, self.target, self._start_yaw,
                                      self.episode_steps)

    def sees(self, state: RobotState) -> bool:
        """Whether ``state`` carries a frame of every camera the policy sees (always, without
        ``observation.images``); a state that does not must not be acted on."""
        if self.frames is None:
            return True
        images = state.images or {}
        return all(name in images for name in self.frames.cameras)

    def pixels(self, state: RobotState) -> np.ndarray | None:
        """The frame stack ending with ``state``'s frames (restarted from them in a new
        episode), uint8 ``(k * cameras * 3, H, W)``; None without ``observation.images``.

        Raises:
            ValueError: ``state`` lacks a camera's frame (see :meth:`sees`).
        """
        if self.frames is None:
            return None
        if state is not self._stacked:  # each state's frames enter the stack once
            if not self.sees(state):
                raise ValueError(f"the state has no frame of each of the cameras "
                                 f"{self.frames.cameras} (observation.images)")
            assert state.images is not None
            if self._stacked is None:
                self.frames.reset(state.images)
            else:
                self.frames.push(state.images)
            self._stacked = state
        return self.frames.pixels()

    def observation(self, state: RobotState) -> Observation:
        """What the policy sees of ``state``: :meth:`observe`'s vector, or with
        ``observation.images`` ``{"state": vector, "pixels": uint8 frames}``."""
        obs = self.observe(state)
        pixels = self.pixels(state)
        return obs if pixels is None else {"state": obs, "pixels": pixels}

    def act(self, action: np.ndarray, state: RobotState, now: float, hold: str = "",
            scale: float = 1.0, gated: bool = True, intervention: bool = False) -> Action:
        """Maps ``action`` (normalized) through the limit and the safety filter; the step is
        pending until :meth:`complete`.

        Args:
            action: The policy's action in [-1, 1] (NaN holds).
            state: The newest state (the one ``action`` was computed from).
            now: The current time on the clock that stamps states (s).
            hold: Hold for this reason instead (e.g. "paused"); "" to act.
            scale: Widens the action range (a task graph's per-task ``action_scale``) and
                the safety filter's step and tracking bounds with it; the previous-action
                observation is the physical offset ``a * scale``.
            gated: Pass the action through the APRL gate, if any (a task graph's scripted
                controller is not gated).
            intervention: The action is an operator's, not the policy's (the transition is
                flagged ``intervention``).
        """
        obs = self.observe(state)
        pixels = self.pixels(state)
        action = np.asarray(action, dtype=np.float32)
        limit_l = None
        if self.gate is not None and gated:  # APRL: the applied action is inside [-L, L]
            limit_l = self.gate.limits.L.astype(np.float32)
            action = self.gate.begin_step(obs, action).action.astype(np.float32)
        targets = self.mapper(action, np.asarray(self.limit) * scale, state.joint_position)
        command, info = self.safety.step(targets, state, now, hold, widen=scale)
        clean = np.clip(np.nan_to_num(action), -1.0, 1.0).astype(np.float32)
        self._pending = _Pending(obs, clean, info.hold, limit_l, intervention, pixels)
        if not info.hold:
            self.prev_action = (clean * scale).astype(np.float32)
        return Action(command, info)

    def hold(self, reason: str, state: RobotState | None, now: float) -> Action:
        """Holds (the measured pose latched when the hold began; nothing before a state)."""
        command, info = self.safety.step(None, state, now, reason)
        return Action(command, info)

    @property
    def pending(self) -> bool:
        """Whether an action awaits its next state."""
        return self._pending is not None

    def drop(self) -> bool:
        """Forgets the pending step (its period was interrupted); True if there was one."""
        had = self._pending is not None
        self._pending = None
        return had

    def complete(self, state: RobotState, switching: bool = False) -> Completed | None:
        """Scores the pending step with the state that followed it (None if none pends).

        Args:
            state: The state one control period after the action.
            switching: The operator switches the task now (ends the episode, truncated).
        """
        if self._pending is None:
            return None
        obs, action, held, limit_l, intervention, pixels = self._pending
        self._pending = None
        self.episode_steps += 1  # before next_obs: its clock (gait_phase) is one step on
        next_obs = self.observe(state)
        next_frame = None
        if self.pixels(state) is not None:
            assert self.frames is not None
            next_frame = self.frames.newest()
        assert self._start_yaw is not None  # observe() sets it
        reward, terminated, info = self.tasks[self.task](state, action, self.target,
                                                         self._start_yaw)
        if self.judge is not None:
            reward, terminated, info = self._judged(state, terminated, info)
        fell = fallen(self.cfg, state)
        terminated = bool(terminated or fell)
        self.episode_return += reward
        time_up = self.episode_steps >= self.cfg.task.episode_steps
        truncated = not terminated and (time_up or switching)
        transition = Transition(obs, action, float(reward), next_obs, terminated,
                                bool(truncated), self.transitions, self.task, limit_l,
                                intervention, pixels, next_frame)
        self.transitions += 1
        end = ("terminated" if terminated else "time_limit" if time_up
               else "task_switch" if switching else None)
        if end is not None and self.cfg.robot.kind == "legged":
            self._count_quick_falls(terminated and self.episode_steps <= self._quick_steps)
        gate = None
        if self.gate is not None and not held:  # a fall is not scored; it may shrink L
            gate = self.gate.end_step(next_obs, fell=terminated)
        return Completed(transition, held, end, {**info, "fallen": float(fell)}, gate)
