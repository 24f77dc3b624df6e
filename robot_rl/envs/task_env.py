"""A robot learning a task graph: the scheduler in the loop, the task one-hot in the obs.

Every step the :class:`~robot_rl.taskgraph.TaskScheduler` scores the transition for every
task, ends the active task (success, failure/fall, timeout) and picks the next one. The
Gymnasium flags are the active task's: ``terminated`` on a failure (no bootstrap),
``truncated`` on a success or timeout. ``reset()`` after an end starts the next task:

* reset-free mode: the robot is never teleported after the first spawn; ``reset()`` only
  returns the current observation with the new task's one-hot;
* episodic mode: ``reset()`` teleports the robot to the spawn pose and counts a manual reset.

Usage (what :class:`robot_rl.train_tasks.TaskTrainer` does)::

    env = TaskEnv(cfg, seed=0)                 # cfg has a task_graph section
    obs, _ = env.reset()                       # first spawn; the start task
    while training:
        obs2, r, terminated, truncated, info = env.step(policy(obs))
        buffer.add(obs, a, r, obs2, terminated, truncated, rewards_all=info["rewards_all"],
                   terminated_all=info["terminated_all"], task=info["task"])
        obs = env.reset()[0] if terminated or truncated else obs2
    env.manual_resets                          # 0 in reset-free mode

The stored ``next_obs`` carries the one-hot of the task the transition belongs to
(``info["task"]``), never of the next task. The previous-action part of the observation is
the physical offset ``a * action_scale_factor`` of the task that acted, so it means the same
under every task's one-hot (relabeling swaps only the one-hot).

A task under ``task_graph.scripted`` is driven by its scripted controller
(:mod:`robot_rl.taskgraph.recovery`): ``step`` ignores the given action and reports the one it
applied as ``info["applied_action"]``, which is what must be stored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs.graph_signals import state_signals
from robot_rl.envs.robot_env import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.spaces import ObservationBuilder
from robot_rl.taskgraph import StepResult, TaskGraphSpec, TaskScheduler
from robot_rl.taskgraph.recovery import make_controller

EVENT_CODES = {None: 0, "success": 1, "failure": 2, "timeout": 3}
"""Numeric codes of task ends, as logged in ``metrics.jsonl`` (``segment`` rows)."""


class TaskEnv(RobotEnv):
    """The simulated robot with its config's task graph.

    Args:
        cfg: A robot config (or YAML path) with a ``task_graph`` section (enabled or not).
        seed: Seeds sensor noise and the scheduler's random choices.
        render_mode: "rgb_array" to allow :meth:`render`.
        mode: Overrides the graph's ``mode`` (``reset_free`` or ``episodic``).
        fixed_task: Evaluation: every ``reset()`` spawns the robot and starts this task;
            an episode is one run of it.
    """

    def __init__(self, cfg: RobotConfig | str, seed: int = 0, render_mode: str | None = None,
                 mode: str | None = None, fixed_task: str | None = None) -> None:
        cfg = load_config(cfg) if isinstance(cfg, str) else cfg
        settings = cfg.task_graph_settings()
        if settings is None:
            raise ConfigError(cfg.source, "task_graph", "expected a task_graph section "
                              "(docs/task_graph.md) to train with a task graph")
        super().__init__(cfg, seed=seed, render_mode=render_mode)
        spec = settings.spec
        if mode is not None:
            spec = dataclasses.replace(spec, mode=mode)
        if fixed_task is not None:
            spec.index(fixed_task)  # KeyError for an unknown task
        self.graph: TaskGraphSpec = spec  # not `spec`: gymnasium uses that name
        self.fixed_task = fixed_task
        self.scheduler = TaskScheduler(spec, np.random.default_rng([seed, 7]))
        self.num_tasks = self.scheduler.num_tasks
        self.action_factor = np.asarray(settings.action_scale, dtype=np.float64)
        self.controllers = {i: make_controller(name, cfg.n_joints)
                            for i, name in enumerate(settings.scripted) if name is not None}
        self._signals: dict[str, float] | None = None  # of the current state
        # The one-hot names the target of a reaching task; a target_delta of the active task
        # would be wrong under relabeling, so it is left out.
        signals = [s for s in cfg.observation.signals if s != "target_delta"]
        self.obs_builder = self.control.obs_builder = ObservationBuilder(dataclasses.replace(
            cfg, observation=dataclasses.replace(cfg.observation, signals=signals)))
        self.base_obs_dim = self.obs_builder.size
        self.observation_space = gym.spaces.Box(
            -np.inf, np.inf, (self.base_obs_dim + self.num_tasks,), np.float32)
        self.spawns = 0  # first spawns (and restarts after resume); not manual resets
        self.total_steps = 0
        self._pending_reset = False
        self._resumed = False
        self.last_result: StepResult | None = None
        self.segment_start = 0  # total_steps when the active task started
        self.last_segment: dict[str, float] | None = None  # the task run that ended last

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts the next task; teleports only on the first call, in episodic mode after an
        end, for ``fixed_task`` evaluation, or when ``options={"spawn": True}``."""
        gym.Env.reset(self, seed=seed)
        first = self._state is None
        spawn = (first or self.fixed_task is not None or self._pending_reset
                 or bool((options or {}).get("spawn")))
        if spawn:
            self._spawn(seed)
            self.control.new_episode()
            self._pending_reset = False
            if first:
                self.spawns += 1
            if self.fixed_task is not None:
                self.scheduler.reset(self.fixed_task)
            elif first and not self._resumed:
                self.scheduler.reset()
            if not first:
                self.manual_resets += 1
                self.scheduler.manual_reset()
            self.segment_start = self.total_steps
            self._signals = None
            self._enter(self.scheduler.active)
        self.control.target = self._active_target()
        return self._observe_task(self.scheduler.active), {"task": self.scheduler.active_name}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self._state is not None, "call reset() before step()"
        task = self.scheduler.active
        factor = float(self.action_factor[task])
        action = np.asarray(action, dtype=np.float32)
        controller = self.controllers.get(task)
        if controller is not None:
            signals = self._signals or self._current_signals()
            action = np.clip(controller(signals) / factor, -1.0, 1.0).astype(np.float32)
        out = self._send(self.control.act(action, self._state, self.robot.now(),
                                          scale=factor, gated=controller is None))
        # the scheduler scores the step (rewards of every task); the control step's own
        # scoring matters only to APRL's gate
        done = self.control.complete(self.state)
        safety = out.safety
        command = out.command
        self.total_steps += 1
        dt = self.cfg.control_dt
        signals = state_signals(self.cfg, self.state,
                                time_in_task=(self.scheduler.task_steps + 1) * dt,
                                target=self.control.target)
        result = self.scheduler.step(signals)
        self.last_result = result
        self._signals = signals
        obs = self._observe_task(result.task)  # the transition's own task, not the next one
        if result.event is not None:
            self._pending_reset = result.reset_required or self.fixed_task is not None
            self.last_segment = {
                "task": float(result.task), "start": float(self.segment_start),
                "length": float(self.total_steps - self.segment_start),
                "event": float(EVENT_CODES[result.event]), "fell": float(result.fell),
                "next_task": float(result.next_task),
                "manual_reset": float(result.reset_required)}
            self.segment_start = self.total_steps
            self._enter(result.next_task)
        info: dict[str, Any] = {
            "task": result.task, "task_name": self.scheduler.task_names[result.task],
            "event": result.event, "next_task": result.next_task, "fell": result.fell,
            "rewards_all": result.rewards_all, "terminated_all": result.terminated_all,
            "fallen": bool(signals.get("fallen", 0.0) > 0.5), "safety_hold": safety.hold,
            "safety_clamped": safety.clamped, "command": command}
        for key in ("forward_velocity", "ee_distance", "upright"):
            if key in signals:
                info[key] = signals[key]
        if controller is not None:
            info["applied_action"] = action
        if done is not None and done.aprl is not None:
            info.update(applied_action=done.transition.action, aprl=done.aprl)
        return obs, result.reward, result.terminated, result.truncated, info

    # ------------------------------------------------------------------ helpers
    def _enter(self, task: int) -> None:
        """A task starts: its scripted controller (if any) starts afresh."""
        if task in self.controllers:
            self.controllers[task].reset()

    def _current_signals(self) -> dict[str, float]:
        assert self._state is not None
        return state_signals(self.cfg, self.state, target=self.control.target,
                             time_in_task=self.scheduler.task_steps * self.cfg.control_dt)

    def _observe_task(self, task: int) -> np.ndarray:
        base = self.control.observe(self.state)
        return np.concatenate([base, self.scheduler.task_one_hot(task)])

    def _active_target(self) -> np.ndarray | None:
        """The active reaching task's target (its params ``target_x/y/z``), if any."""
        params = self.scheduler.active_params
        if all(f"target_{c}" in params for c in "xyz"):
            return np.array([params[f"target_{c}"] for c in "xyz"])
        return None

    def metrics(self) -> dict[str, float]:
        """Per-task counters (``<task>/<counter>``, ``total/<counter>``), switches, manual
        resets and spawns, for logging."""
        out = {k.removeprefix("task/"): v for k, v in self.scheduler.metrics().items()}
        out.update(manual_resets=float(self.manual_resets), spawns=float(self.spawns))
        return out

    def success_rates(self) -> dict[str, float]:
        """Per task: the fraction of its ends that were a success; for a task without a
        success condition, the fraction that reached the timeout without failing (NaN for a
        task that never ended)."""
        rates = {}
        for task in self.graph.tasks:
            c = self.scheduler.counters[task.name]
            ends = c.successes + c.failures + c.timeouts
            good = c.successes if task.success is not None else c.timeouts
            rates[task.name] = good / ends if ends else float("nan")
        return rates

    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable: the scheduler and the counters (checkpointed by the Trainer)."""
        return {"scheduler": self.scheduler.state_dict(), "manual_resets": self.manual_resets,
                "spawns": self.spawns, "total_steps": self.total_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict`. The simulator restarts from its spawn pose (counted in
        ``spawns``); the scheduler keeps its active task."""
        self.scheduler.load_state_dict(state["scheduler"])
        self.manual_resets = int(state["manual_resets"])
        self.spawns = int(state["spawns"])
        self.total_steps = self.segment_start = int(state["total_steps"])
        self._resumed = True


def make_task_env(config: RobotConfig | str, seed: int = 0, **kwargs: Any) -> TaskEnv:
    """Build the task-graph environment for a robot config (object or YAML path)."""
    return TaskEnv(config, seed=seed, **kwargs)
