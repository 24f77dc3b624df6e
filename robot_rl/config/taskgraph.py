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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robot_rl.errors import ConfigError
from robot_rl.taskgraph.graph import TaskGraphSpec, parse_task_graph
from robot_rl.taskgraph.recovery import CONTROLLERS
from robot_rl.taskgraph.signals import A1_SIGNALS, PANDA_SIGNALS

GRAPH_SIGNALS: dict[str, frozenset[str]] = {"legged": A1_SIGNALS, "arm": PANDA_SIGNALS}
"""The signals a robot of each ``robot.kind`` provides to its task graph."""

RUNTIME_KEYS = ("enabled", "action_scale", "scripted")
"""Keys of the section read by the runtime, not by the graph parser."""


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

    Raises:
        ConfigError: Naming the file, the key path and what was expected.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(file, key, "expected a mapping with start, tasks and edges "
                          "(docs/task_graph.md)")
    enabled = data.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(file, f"{key}.enabled", f"expected true or false, got {enabled!r}")
    graph = {k: v for k, v in data.items() if k not in RUNTIME_KEYS}
    spec = parse_task_graph(graph, file, GRAPH_SIGNALS[kind], key=key)
    scales = data.get("action_scale", {}) or {}
    if not isinstance(scales, Mapping):
        raise ConfigError(file, f"{key}.action_scale", "expected a mapping of task name to a "
                          "factor on robot.action_scale, e.g. {self_right: 6.0}")
    factors = [1.0] * len(spec.tasks)
    for name, value in scales.items():
        where = f"{key}.action_scale.{name}"
        if name not in spec.task_names:
            raise ConfigError(file, where, f"unknown task; expected one of "
                              f"{', '.join(spec.task_names)}")
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not 0 < value < math.inf):
            raise ConfigError(file, where, f"expected a positive factor, got {value!r}")
        factors[spec.index(name)] = float(value)
    scripted: list[str | None] = [None] * len(spec.tasks)
    controllers = data.get("scripted", {}) or {}
    if not isinstance(controllers, Mapping):
        raise ConfigError(file, f"{key}.scripted", "expected a mapping of task name to a "
                          f"scripted controller, e.g. {{self_right: a1_self_right}}")
    for name, value in controllers.items():
        where = f"{key}.scripted.{name}"
        if name not in spec.task_names:
            raise ConfigError(file, where, f"unknown task; expected one of "
                              f"{', '.join(spec.task_names)}")
        if value not in CONTROLLERS:
            raise ConfigError(file, where, f"expected one of {', '.join(sorted(CONTROLLERS))}, "
                              f"got {value!r}")
        try:
            CONTROLLERS[value](n_joints)
        except ValueError as err:
            raise ConfigError(file, where, f"expected a controller for this robot ({err})") \
                from None
        scripted[spec.index(name)] = value
    return TaskGraphSettings(spec, enabled, tuple(factors), tuple(scripted))
