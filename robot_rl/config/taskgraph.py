"""The optional ``task_graph`` section of a robot config.

The section is a task graph exactly as :func:`robot_rl.taskgraph.parse_task_graph` reads it
(``docs/task_graph.md``), plus three keys that only the training runtime reads::

    task_graph:
      enabled: false                      # train with the graph (TaskEnv + multi-task replay)
      action_scale: {self_right: 6.0}     # per task: multiplies robot.action_scale (default 1)
      scripted: {self_right: a1_self_right}  # per task: a scripted controller drives it
      mode: reset_free
      start: get_up
      ...

``enabled`` is false by default so a robot config can ship its graph while
``robot-rl train CONFIG`` stays the plain task of ``task:``; ``robot-rl train CONFIG
--task-graph reset_free`` (or ``enabled: true``) turns it on.

The section is typed by the dataclasses below and read by the one config loader
(:func:`robot_rl.config.loader.from_dict`): keys and types of the section, its tasks and
its edges are checked there, with the same messages as every other section. What is left
is the graph's own language, checked by :func:`robot_rl.taskgraph.parse_task_graph`
(predicates, reward terms and their parameters, task names, reachability, missing edges)
and, here, the runtime keys against the graph's tasks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from robot_rl.config.loader import from_dict, to_dict, yaml_key
from robot_rl.errors import ConfigError
from robot_rl.taskgraph.graph import TaskGraphSpec, parse_task_graph
from robot_rl.taskgraph.recovery import CONTROLLERS
from robot_rl.taskgraph.signal_names import A1_SIGNALS, PANDA_SIGNALS

GRAPH_SIGNALS: dict[str, frozenset[str]] = {"legged": A1_SIGNALS, "arm": PANDA_SIGNALS}
"""The signals a robot of each ``robot.kind`` provides to its task graph."""

RUNTIME_KEYS = ("enabled", "action_scale", "scripted")
"""Keys of the section read by the runtime, not by the graph parser."""

Condition = str | bool | None
"""A predicate such as ``abs(roll) > 0.5`` (YAML true/false are constants; null: none)."""


@dataclass(kw_only=True)
class TaskSection:
    """One task under ``task_graph.tasks`` (docs/task_graph.md)."""

    reward: list[dict[str, Any]]  # reward terms, e.g. [{term: upright, weight: 1.0}]
    description: str = ""  # free text for logs
    params: dict[str, float] = field(default_factory=dict)  # task constants (signals)
    success: Condition = None  # ends the task with success (after success_hold_steps)
    success_hold_steps: int = 1  # consecutive steps success must hold
    failure: Condition = None  # ends the task with failure
    can_fall: bool | None = None  # task_graph.fall ends it (null: whenever the graph has fall)
    timeout: Condition = None  # ends the task with timeout
    timeout_steps: int | None = None  # ... or after this many steps


@dataclass(kw_only=True)
class CandidateSection:
    """A guarded next task of an edge: ``{task: NAME, guard: PREDICATE}``."""

    task: str
    guard: Condition = None


@dataclass(kw_only=True)
class EdgeSection:
    """One entry of ``task_graph.edges``: where a task goes when it ends with ``event``."""

    source: str | list[str] = field(metadata={"key": "from"})  # task name(s)
    event: str | list[str]  # success, failure or timeout (or a list of them)
    to: str | list[str | CandidateSection]  # next task(s), in order
    choose: Literal["first", "random"] = "first"  # first candidate whose guard holds, or random


@dataclass(kw_only=True)
class TaskGraphSection(Mapping[str, Any]):
    """The ``task_graph:`` section of a robot config.

    It also reads as a mapping of its YAML keys to plain values (``{**cfg.task_graph}``), so
    code written when the section was an untyped dict keeps working.
    """

    enabled: bool = False  # train with the graph instead of the plain task:
    action_scale: dict[str, float] = field(default_factory=dict)  # per task: x action_scale
    scripted: dict[str, str] = field(default_factory=dict)  # per task: scripted controller
    mode: Literal["reset_free", "episodic"] = "reset_free"  # never reset, or after each end
    start: str  # the task active after the first spawn
    fallback: str | None = None  # task taken when no candidate's guard holds (null: start)
    relabel: bool = True  # train every task on every transition
    fall: Condition = None  # the robot fell: ends every task that can fall
    tasks: dict[str, TaskSection]  # tasks in order (a task's index is its one-hot slot)
    edges: list[EdgeSection] = field(default_factory=list)

    def _field(self, key: str) -> dataclasses.Field[Any]:
        for f in dataclasses.fields(self):
            if yaml_key(f) == key:
                return f
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        return to_dict(getattr(self, self._field(key).name))

    def __iter__(self) -> Iterator[str]:
        return (yaml_key(f) for f in dataclasses.fields(self))

    def __len__(self) -> int:
        return len(dataclasses.fields(self))

    def graph_data(self) -> dict[str, Any]:
        """The graph part as :func:`parse_task_graph` reads it (nulls mean: not given)."""
        data = _plain(self)
        return {k: v for k, v in data.items() if k not in RUNTIME_KEYS}


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = ((yaml_key(f), getattr(obj, f.name)) for f in dataclasses.fields(obj))
        return {k: _plain(v) for k, v in values if v is not None}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class TaskGraphSettings:
    """A validated ``task_graph`` section.

    Attributes:
        spec: The task graph.
        enabled: Train with the graph instead of the plain ``task:``.
        action_scale: Per task index, the factor on ``robot.action_scale`` while the task is
            active (a wider range for recovery tasks such as the A1's ``self_right``).
        scripted: Per task index, the name of the scripted controller that drives it
            (:data:`robot_rl.taskgraph.recovery.CONTROLLERS`), or None: the policy.
    """

    spec: TaskGraphSpec
    enabled: bool
    action_scale: tuple[float, ...]
    scripted: tuple[str | None, ...] = ()


def parse_task_graph_section(data: Any, file: str | None, kind: str, n_joints: int,
                             key: str = "task_graph") -> TaskGraphSettings:
    """Validates a ``task_graph`` section for a robot of ``kind`` (``legged`` or ``arm``)
    with ``n_joints`` joints.

    ``data`` is a :class:`TaskGraphSection` or a plain mapping, which goes through the
    config loader first.

    Raises:
        ConfigError: Naming the file, the key path and what was expected.
    """
    if isinstance(data, TaskGraphSection):
        section = data
    else:
        if not isinstance(data, Mapping):
            raise ConfigError(file, key, "expected a mapping with start, tasks and edges "
                              "(docs/task_graph.md)")
        section = from_dict(TaskGraphSection, data, file, key)
    spec = parse_task_graph(section.graph_data(), file, GRAPH_SIGNALS[kind], key=key)
    factors = [1.0] * len(spec.tasks)
    for name, value in section.action_scale.items():
        where = f"{key}.action_scale.{name}"
        if name not in spec.task_names:
            raise ConfigError(file, where, f"unknown task; expected one of "
                              f"{', '.join(spec.task_names)}")
        if not value > 0:
            raise ConfigError(file, where, f"expected a positive factor, got {value!r}")
        factors[spec.index(name)] = float(value)
    scripted: list[str | None] = [None] * len(spec.tasks)
    for name, controller in section.scripted.items():
        where = f"{key}.scripted.{name}"
        if name not in spec.task_names:
            raise ConfigError(file, where, f"unknown task; expected one of "
                              f"{', '.join(spec.task_names)}")
        if controller not in CONTROLLERS:
            raise ConfigError(file, where, f"expected one of {', '.join(sorted(CONTROLLERS))}, "
                              f"got {controller!r}")
        try:
            CONTROLLERS[controller](n_joints)
        except ValueError as err:
            raise ConfigError(file, where, f"expected a controller for this robot ({err})") \
                from None
        scripted[spec.index(name)] = controller
    return TaskGraphSettings(spec, section.enabled, tuple(factors), tuple(scripted))
