"""The task graph of a robot config: tasks, edges between them, and its validation.

``parse_task_graph`` turns the YAML under ``task_graph:`` into a frozen
:class:`TaskGraphSpec`, refusing every mistake with a ``ConfigError`` that names the file, the
key path (e.g. ``task_graph.tasks.walk_forward.failure``) and what was expected, before
anything moves. The schema is documented in ``docs/task_graph.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from robot_rl.taskgraph import _checks
from robot_rl.taskgraph._checks import Where
from robot_rl.taskgraph._nodes import FUNCTIONS
from robot_rl.taskgraph._tokens import KEYWORDS
from robot_rl.taskgraph.predicate import Predicate
from robot_rl.taskgraph.reward_terms import RewardTerm, parse_reward_term
from robot_rl.taskgraph.signal_names import SCHEDULER_SIGNALS

EVENTS = ("success", "failure", "timeout")
MODES = ("reset_free", "episodic")
CHOICES = ("first", "random")
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_GRAPH_KEYS = ("mode", "start", "fallback", "relabel", "fall", "tasks", "edges")
_TASK_KEYS = ("description", "params", "reward", "success", "success_hold_steps", "failure",
              "can_fall", "timeout", "timeout_steps")
_EDGE_KEYS = ("from", "event", "to", "choose")


@dataclass(frozen=True)
class TaskSpec:
    """One task: its reward and the conditions that end it.

    Attributes:
        name: Task name, ``[a-z_][a-z0-9_]*``.
        reward: Weighted terms summed into the task's reward.
        success: Ends the task with ``success`` once it held ``success_hold_steps`` steps.
        failure: Ends the task with ``failure`` (a true end: no bootstrap).
        timeout: Ends the task with ``timeout`` when it holds.
        timeout_steps: Ends the task with ``timeout`` after this many steps in it.
        success_hold_steps: Consecutive steps ``success`` must hold.
        can_fall: The graph's ``fall`` predicate ends this task with ``failure`` (a fall).
        params: Task constants, visible to this task's predicates and reward terms as signals,
            shadowing sim signals of the same name (e.g. ``target_x`` of a reaching task).
        description: Free text for logs.
    """

    name: str
    reward: tuple[RewardTerm, ...]
    success: Predicate | None = None
    failure: Predicate | None = None
    timeout: Predicate | None = None
    timeout_steps: int | None = None
    success_hold_steps: int = 1
    can_fall: bool = False
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    @property
    def events(self) -> frozenset[str]:
        """The events this task can end with."""
        found = set()
        if self.success is not None:
            found.add("success")
        if self.failure is not None or self.can_fall:
            found.add("failure")
        if self.timeout is not None or self.timeout_steps is not None:
            found.add("timeout")
        return frozenset(found)


@dataclass(frozen=True)
class Candidate:
    """A possible next task of an edge, taken only while its ``guard`` holds (None: always)."""

    task: str
    guard: Predicate | None = None


@dataclass(frozen=True)
class EdgeSpec:
    """Where a task goes when it ends with ``event``.

    Attributes:
        source: The task that ended (``from:`` in YAML).
        event: ``success``, ``failure`` or ``timeout``.
        to: Candidates in order; guards see the ended task's signals.
        choose: ``first`` candidate whose guard holds, or a uniformly ``random`` one of them.
    """

    source: str
    event: str
    to: tuple[Candidate, ...]
    choose: str = "first"


@dataclass(frozen=True)
class TaskGraphSpec:
    """A validated task graph.

    Attributes:
        tasks: Tasks in YAML order; a task's index is its position (and one-hot slot).
        edges: One edge per (source, event) pair at most.
        start: Task active after the first spawn.
        fallback: Task taken when an edge exists but no candidate's guard holds.
        mode: ``reset_free`` (never reset the robot) or ``episodic`` (reset after each end).
        relabel: Train every task on every transition with its recomputed reward.
        fall: Condition meaning the robot fell; ends every task with ``can_fall``.
    """

    tasks: tuple[TaskSpec, ...]
    edges: tuple[EdgeSpec, ...]
    start: str
    fallback: str
    mode: str = "reset_free"
    relabel: bool = True
    fall: Predicate | None = None

    @property
    def task_names(self) -> tuple[str, ...]:
        """Task names in index order."""
        return tuple(task.name for task in self.tasks)

    def index(self, name: str) -> int:
        """The index of task ``name``; KeyError if there is none."""
        for i, task in enumerate(self.tasks):
            if task.name == name:
                return i
        raise KeyError(f"no task named {name!r}")

    def edge(self, source: str, event: str) -> EdgeSpec | None:
        """The edge leaving ``source`` on ``event``, if any."""
        for edge in self.edges:
            if edge.source == source and edge.event == event:
                return edge
        return None


def parse_task_graph(data: Any, file: str | None, known_signals: Iterable[str],
                     key: str = "task_graph") -> TaskGraphSpec:
    """Validates the YAML mapping under ``task_graph:`` and returns the graph.

    Args:
        data: The parsed YAML value of the ``task_graph`` key.
        file: The config file, for error messages.
        known_signals: Signals the robot provides (e.g. ``A1_SIGNALS``); ``task_steps`` is added.
        key: Key path of ``data`` in the file.

    Raises:
        ConfigError: Naming file, key path and what was expected, for unknown keys, wrong
            types, bad predicates or unknown signals, unknown reward terms or bad params,
            unknown or unreachable tasks, and missing edges (e.g. no failure edge from a task
            that can fall in reset-free mode).
    """
    where = Where(file, key)
    root = _checks.mapping(data, where, _GRAPH_KEYS, required=("start", "tasks"))
    mode = _checks.text(root.get("mode", "reset_free"), where / "mode", MODES)
    relabel = _checks.boolean(root.get("relabel", True), where / "relabel")
    known = frozenset(known_signals) | SCHEDULER_SIGNALS
    fall = _checks.predicate(root.get("fall"), where / "fall", known)

    tasks_data = _checks.mapping(root["tasks"], where / "tasks")
    if not tasks_data:
        raise (where / "tasks").error("expected at least one task")
    tasks = tuple(_parse_task(name, value, where / "tasks" / name, known, fall is not None)
                  for name, value in tasks_data.items())
    names = tuple(task.name for task in tasks)
    start = _task_name(root["start"], where / "start", names)
    fallback = _task_name(root.get("fallback", start), where / "fallback", names)

    edges_data = root.get("edges", [])
    if not isinstance(edges_data, list):
        raise (where / "edges").error(f"expected a list of edges, got "
                                      f"{_checks.describe(edges_data)}")
    by_name = {task.name: task for task in tasks}
    edges: list[EdgeSpec] = []
    for i, item in enumerate(edges_data):
        for edge in _parse_edge(item, where / "edges" / i, by_name, known):
            if any(e.source == edge.source and e.event == edge.event for e in edges):
                raise (where / "edges" / i).error(
                    f"a second edge from {edge.source!r} on {edge.event}; list every candidate "
                    "in the `to:` of one edge")
            edges.append(edge)

    _check_reachable(tasks, edges, start, fallback, where)
    if mode == "reset_free":
        for task in tasks:
            for event in sorted(task.events):
                if not any(e.source == task.name and e.event == event for e in edges):
                    raise (where / "tasks" / task.name).error(_missing_edge(task, event))
    return TaskGraphSpec(tasks, tuple(edges), start, fallback, mode, relabel, fall)


def _parse_task(name: str, data: Any, where: Where, known: frozenset[str],
                graph_falls: bool) -> TaskSpec:
    if not _NAME.match(name):
        raise where.error("expected a task name of lowercase letters, digits and '_'")
    task = _checks.mapping(data, where, _TASK_KEYS, required=("reward",))
    params: dict[str, float] = {}
    for pname, value in _checks.mapping(task.get("params", {}), where / "params").items():
        if not _NAME.match(pname) or pname in KEYWORDS or pname in FUNCTIONS:
            raise (where / "params" / pname).error("expected a parameter name usable as a "
                                                   "signal: lowercase letters, digits and '_'")
        params[pname] = _checks.number(value, where / "params" / pname)
    own = known | frozenset(params)
    reward_data = task["reward"]
    if not isinstance(reward_data, list) or not reward_data:
        raise (where / "reward").error("expected a non-empty list of reward terms such as "
                                       f"[{{term: upright, weight: 1.0}}], got "
                                       f"{_checks.describe(reward_data)}")
    reward = tuple(parse_reward_term(item, where / "reward" / i, own)
                   for i, item in enumerate(reward_data))
    success = _checks.predicate(task.get("success"), where / "success", own)
    hold = _checks.integer(task.get("success_hold_steps", 1), where / "success_hold_steps", 1)
    if hold > 1 and success is None:
        raise (where / "success_hold_steps").error("only meaningful with a success condition")
    timeout_steps = task.get("timeout_steps")
    if timeout_steps is not None:
        timeout_steps = _checks.integer(timeout_steps, where / "timeout_steps", 1)
    can_fall = _checks.boolean(task.get("can_fall", graph_falls), where / "can_fall")
    if can_fall and not graph_falls:
        raise (where / "can_fall").error("can_fall: true needs a fall condition in "
                                         "task_graph.fall")
    description = _checks.text(task.get("description", ""), where / "description")
    return TaskSpec(
        name=name, reward=reward, success=success,
        failure=_checks.predicate(task.get("failure"), where / "failure", own),
        timeout=_checks.predicate(task.get("timeout"), where / "timeout", own),
        timeout_steps=timeout_steps, success_hold_steps=hold, can_fall=can_fall,
        params=MappingProxyType(params), description=description)


def _task_name(value: Any, where: Where, names: tuple[str, ...]) -> str:
    name = _checks.text(value, where)
    if name not in names:
        raise where.error(f"unknown task {name!r}; expected one of {', '.join(names)}"
                          f"{_checks.suggest(name, names)}")
    return name


def _names(value: Any, where: Where, what: str) -> list[Any]:
    """A single value or a non-empty list of values."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise where.error(f"expected {what} or a non-empty list of them")
    return items


def _parse_edge(data: Any, where: Where, tasks: Mapping[str, TaskSpec],
                known: frozenset[str]) -> list[EdgeSpec]:
    edge = _checks.mapping(data, where, _EDGE_KEYS, required=("from", "event", "to"))
    names = tuple(tasks)
    sources = [_task_name(v, where / "from", names)
               for v in _names(edge["from"], where / "from", "a task name")]
    events = [_checks.text(v, where / "event", EVENTS)
              for v in _names(edge["event"], where / "event", "an event")]
    choose = _checks.text(edge.get("choose", "first"), where / "choose", CHOICES)
    result: list[EdgeSpec] = []
    for source in sources:
        for event in events:
            if event not in tasks[source].events:
                raise (where / "event").error(_impossible_event(tasks[source], event))
        own = known | frozenset(tasks[source].params)
        to = tuple(_parse_candidate(item, where / "to" / i if isinstance(edge["to"], list)
                                    else where / "to", names, own)
                   for i, item in enumerate(_names(edge["to"], where / "to", "a task name")))
        if choose == "first":
            for i, candidate in enumerate(to[:-1]):
                if candidate.guard is None:
                    raise (where / "to" / (i + 1)).error(
                        "can never be chosen: an earlier candidate has no guard and choose "
                        "is first")
        result.extend(EdgeSpec(source, event, to, choose) for event in events)
    return result


def _parse_candidate(data: Any, where: Where, names: tuple[str, ...],
                     known: frozenset[str]) -> Candidate:
    if isinstance(data, str):
        return Candidate(_task_name(data, where, names))
    item = _checks.mapping(data, where, ("task", "guard"), required=("task",))
    return Candidate(_task_name(item["task"], where / "task", names),
                     _checks.predicate(item.get("guard"), where / "guard", known))


def _impossible_event(task: TaskSpec, event: str) -> str:
    reason = {"success": "it has no success condition",
              "failure": "it has no failure condition and cannot fall",
              "timeout": "it has neither timeout nor timeout_steps"}[event]
    return f"task {task.name!r} never ends with {event}: {reason}"


def _missing_edge(task: TaskSpec, event: str) -> str:
    why = ("can fall (task_graph.fall applies to it)" if event == "failure" and task.can_fall
           else f"can end with {event}")
    hint = "; or set can_fall: false" if event == "failure" and task.can_fall else ""
    return (f"expected an edge from {task.name!r} on {event} in task_graph.edges because the "
            f"task {why} and mode is reset_free (e.g. {{from: {task.name}, event: {event}, "
            f"to: ...}}){hint}")


def _check_reachable(tasks: tuple[TaskSpec, ...], edges: list[EdgeSpec], start: str,
                     fallback: str, where: Where) -> None:
    seen, frontier = {start}, [start]
    while frontier:
        source = frontier.pop()
        following: set[str] = set()
        for edge in edges:
            if edge.source == source:
                following.update(c.task for c in edge.to)
                if all(c.guard is not None for c in edge.to):
                    following.add(fallback)
        for name in following - seen:
            seen.add(name)
            frontier.append(name)
    for task in tasks:
        if task.name not in seen:
            raise (where / "tasks" / task.name).error(
                f"task is not reachable from the start task {start!r} through task_graph.edges")
