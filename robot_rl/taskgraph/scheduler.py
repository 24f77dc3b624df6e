"""The task scheduler: every control step, the active task's reward, its end, the next task.

Semantics of one step (see ``docs/task_graph.md``):

* Every task's reward is computed from the same next-state signals, each task seeing its own
  params (``rewards_all``), so a stored transition can train every task.
* The active task ends with the first of: ``failure`` (its failure condition, or the graph's
  fall condition when it can fall), ``success`` (held ``success_hold_steps`` steps),
  ``timeout`` (``timeout_steps`` reached or the timeout condition).
* ``failure`` is a true end: ``terminated=True`` (no bootstrap). ``success`` and ``timeout``
  switch task without ending the MDP of the old one: ``truncated=True`` (bootstrap from the
  next state under the old task). ``terminated_all`` says, per task, whether the transition
  would have been terminal for it, for relabeling.
* The next task is the edge's first candidate whose guard holds (``choose: first``) or a
  uniformly random one of them (``choose: random``, from the scheduler's generator). If no
  guard holds, the graph's ``fallback`` task (default: the start task). In episodic mode an
  end without an edge goes to the start task.
* Reset-free mode never asks for a reset; episodic mode sets ``reset_required`` on every end
  and the caller then resets the robot and calls :meth:`TaskScheduler.manual_reset`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from robot_rl.taskgraph.graph import TaskGraphSpec, TaskSpec


class StepResult(NamedTuple):
    """What the scheduler decided for one transition.

    Attributes:
        task: Index of the task the transition belongs to (active during the step).
        reward: That task's reward.
        rewards_all: float32 ``(num_tasks,)``: every task's reward for the same transition.
        terminated: The task failed (fell): a true end, do not bootstrap.
        truncated: The task ended by success or timeout: bootstrap from the next state.
        event: ``"success"``, ``"failure"``, ``"timeout"`` or None.
        next_task: Index of the task active from the next step on.
        terminated_all: bool ``(num_tasks,)``: per task, whether this transition is a failure
            for it (its failure condition, or a fall if it can fall).
        reset_required: Episodic mode only: reset the robot, then call ``manual_reset()``.
        fell: The fall condition held and the task can fall.
    """

    task: int
    reward: float
    rewards_all: np.ndarray
    terminated: bool
    truncated: bool
    event: str | None
    next_task: int
    terminated_all: np.ndarray
    reset_required: bool
    fell: bool


@dataclass
class TaskCounters:
    """Counts for one task (``switches``: ends that moved to a different task)."""

    steps: int = 0
    entries: int = 0
    successes: int = 0
    failures: int = 0
    falls: int = 0
    timeouts: int = 0
    switches: int = 0
    manual_resets: int = 0


_EVENT_COUNTER = {"success": "successes", "failure": "failures", "timeout": "timeouts"}


class TaskScheduler:
    """Runs a :class:`TaskGraphSpec` in the actor.

    The actor's loop::

        scheduler = TaskScheduler(spec, np.random.default_rng(seed))
        task = scheduler.reset()                     # once, after the first spawn
        while training:
            obs = observe(state, scheduler.task_one_hot(task))
            state = robot.step(policy(obs))
            result = scheduler.step(signals(state))   # Mapping[str, float]
            buffer.add(..., task=result.task, rewards=result.rewards_all,
                       terminated=result.terminated, truncated=result.truncated)
            if result.reset_required:                # episodic mode only
                robot.reset()
                scheduler.manual_reset()
            task = result.next_task

    Args:
        spec: The validated graph.
        rng: The scheduler's own generator (its state is saved in ``state_dict``), or a seed.
    """

    def __init__(self, spec: TaskGraphSpec, rng: np.random.Generator | int | None = None) -> None:
        self.spec = spec
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.task_names = spec.task_names
        self.num_tasks = len(spec.tasks)
        self._start = spec.index(spec.start)
        self._fallback = spec.index(spec.fallback)
        self._edges = {(spec.index(e.source), e.event): e for e in spec.edges}
        self._active: int | None = None
        self._task_steps = 0
        self._hold = 0
        self.switches = 0
        self.fallbacks = 0
        self.counters = {name: TaskCounters() for name in self.task_names}

    @property
    def active(self) -> int:
        """Index of the active task."""
        if self._active is None:
            raise RuntimeError("TaskScheduler: call reset() before using it")
        return self._active

    @property
    def active_name(self) -> str:
        """Name of the active task."""
        return self.task_names[self.active]

    @property
    def active_params(self) -> Mapping[str, float]:
        """Params of the active task (e.g. a reach target ``target_x/y/z``)."""
        return self.spec.tasks[self.active].params

    @property
    def task_steps(self) -> int:
        """Steps taken in the active task."""
        return self._task_steps

    @property
    def manual_resets(self) -> int:
        """Manual resets over all tasks (0 in a reset-free run)."""
        return sum(c.manual_resets for c in self.counters.values())

    def reset(self, task: str | int | None = None) -> int:
        """Starts at ``task`` (default: the graph's start) after the first spawn; returns it.

        Counters are kept; this is not a manual reset of the robot.
        """
        index = self._start if task is None else (
            self.spec.index(task) if isinstance(task, str) else int(task))
        if not 0 <= index < self.num_tasks:
            raise IndexError(f"task index {index} out of range 0..{self.num_tasks - 1}")
        self._enter(index)
        return index

    def manual_reset(self) -> int:
        """Records that the robot was reset (teleported or put back by hand); returns the task.

        Restarts the active task's step count. Counted on the task active now (in episodic
        mode, the task the new episode starts in).
        """
        self.counters[self.task_names[self.active]].manual_resets += 1
        self._task_steps = 0
        self._hold = 0
        return self.active

    def task_one_hot(self, task: int | None = None) -> np.ndarray:
        """float32 one-hot of ``task`` (default: the active task), length ``num_tasks``."""
        one_hot = np.zeros(self.num_tasks, dtype=np.float32)
        one_hot[self.active if task is None else task] = 1.0
        return one_hot

    def _views(self, signals: Mapping[str, float], steps: int) -> list[Mapping[str, float]]:
        merged = {**signals, "task_steps": float(steps)}
        return [{**merged, **t.params} if t.params else merged for t in self.spec.tasks]

    def rewards_all(self, signals: Mapping[str, float]) -> np.ndarray:
        """float32 ``(num_tasks,)``: each task's reward for ``signals`` with its own params."""
        views = self._views(signals, self._task_steps)
        return np.array([sum(term(view) for term in task.reward)
                         for task, view in zip(self.spec.tasks, views, strict=True)],
                        dtype=np.float32)

    def step(self, signals: Mapping[str, float]) -> StepResult:
        """Scores the transition that led to ``signals`` and advances the graph.

        Args:
            signals: Next-state signals; must hold every signal the graph reads.

        Raises:
            KeyError: A signal the graph reads is missing (the scheduler's state is unchanged).
            RuntimeError: ``reset()`` was not called.
        """
        active = self.active
        steps = self._task_steps + 1
        views = self._views(signals, steps)
        fall = self.spec.fall
        fallen = fall is not None and fall.evaluate(views[active])
        rewards = np.empty(self.num_tasks, dtype=np.float32)
        terminal = np.zeros(self.num_tasks, dtype=bool)
        for k, (task, view) in enumerate(zip(self.spec.tasks, views, strict=True)):
            rewards[k] = sum(term(view) for term in task.reward)
            terminal[k] = (task.can_fall and fallen) or (
                task.failure is not None and task.failure.evaluate(view))

        spec_task = self.spec.tasks[active]
        fell = bool(spec_task.can_fall and fallen)
        event, hold = self._event(spec_task, bool(terminal[active]), views[active], steps)
        candidates = () if event is None else self._candidates(active, event, views[active])
        # Everything that can raise (a missing signal) is done: commit.
        self._task_steps, self._hold = steps, hold
        counters = self.counters[spec_task.name]
        counters.steps += 1
        next_task = active
        if event is not None:
            setattr(counters, _EVENT_COUNTER[event], getattr(counters, _EVENT_COUNTER[event]) + 1)
            counters.falls += fell
            next_task = self._choose(candidates)
            if next_task != active:
                counters.switches += 1
                self.switches += 1
            self._enter(next_task)
        return StepResult(
            task=active, reward=float(rewards[active]), rewards_all=rewards,
            terminated=event == "failure", truncated=event in ("success", "timeout"),
            event=event, next_task=next_task, terminated_all=terminal,
            reset_required=event is not None and self.spec.mode == "episodic", fell=fell)

    def _event(self, task: TaskSpec, failed: bool, view: Mapping[str, float],
               steps: int) -> tuple[str | None, int]:
        """The event ending ``task`` this step (or None) and the new success-hold count."""
        if failed:
            return "failure", 0
        hold = 0
        if task.success is not None:
            hold = self._hold + 1 if task.success.evaluate(view) else 0
            if hold >= task.success_hold_steps:
                return "success", hold
        if (task.timeout_steps is not None and steps >= task.timeout_steps) or (
                task.timeout is not None and task.timeout.evaluate(view)):
            return "timeout", hold
        return None, hold

    def _candidates(self, active: int, event: str, view: Mapping[str, float]) -> list[int]:
        """Indices of the candidates whose guard holds (for ``first``: only the first one)."""
        edge = self._edges.get((active, event))
        if edge is None:  # only possible in episodic mode (validated)
            return [self._start]
        holding = []
        for candidate in edge.to:
            if candidate.guard is None or candidate.guard.evaluate(view):
                holding.append(self.spec.index(candidate.task))
                if edge.choose == "first":
                    break
        return holding

    def _choose(self, holding: Sequence[int]) -> int:
        if not holding:
            self.fallbacks += 1
            return self._fallback
        pick = int(self.rng.integers(len(holding))) if len(holding) > 1 else 0
        return holding[pick]

    def _enter(self, task: int) -> None:
        self._active = task
        self._task_steps = 0
        self._hold = 0
        self.counters[self.task_names[task]].entries += 1

    def metrics(self) -> dict[str, float]:
        """Flat counters for logging: ``task/<name>/<counter>``, totals and ``task/active``."""
        out: dict[str, float] = {}
        totals = TaskCounters()
        for name, counters in self.counters.items():
            for f in fields(TaskCounters):
                value = getattr(counters, f.name)
                out[f"task/{name}/{f.name}"] = float(value)
                setattr(totals, f.name, getattr(totals, f.name) + value)
        out.update({f"task/total/{k}": float(v) for k, v in asdict(totals).items()})
        out["task/switches"] = float(self.switches)
        out["task/fallbacks"] = float(self.fallbacks)
        if self._active is not None:
            out["task/active"] = float(self._active)
        return out

    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable state: active task, step counts, counters and the generator."""
        return {
            "tasks": list(self.task_names),
            "active": None if self._active is None else self.task_names[self._active],
            "task_steps": self._task_steps,
            "hold": self._hold,
            "switches": self.switches,
            "fallbacks": self.fallbacks,
            "counters": {name: asdict(c) for name, c in self.counters.items()},
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores :meth:`state_dict` output; the graph must have the same task names.

        Raises:
            ValueError: The saved tasks differ from this graph's.
        """
        if list(state["tasks"]) != list(self.task_names):
            raise ValueError(f"saved scheduler has tasks {list(state['tasks'])}, this graph has "
                             f"{list(self.task_names)}")
        self._active = None if state["active"] is None else self.spec.index(state["active"])
        self._task_steps = int(state["task_steps"])
        self._hold = int(state["hold"])
        self.switches = int(state["switches"])
        self.fallbacks = int(state["fallbacks"])
        self.counters = {name: TaskCounters(**state["counters"][name])
                         for name in self.task_names}
        self.rng.bit_generator.state = state["rng"]
