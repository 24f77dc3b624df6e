"""Reset-free training via a task graph: safe predicates, reward terms, graph, scheduler.

Pure Python and numpy; the environment hands the scheduler a ``Mapping[str, float]`` of state
signals each step. See ``docs/task_graph.md``.
"""

from robot_rl.taskgraph.graph import (
    Candidate,
    EdgeSpec,
    TaskGraphSpec,
    TaskSpec,
    parse_task_graph,
)
from robot_rl.taskgraph.predicate import Expression, Predicate, PredicateError
from robot_rl.taskgraph.reward_terms import REWARD_TERMS, RewardTerm, TermDef, register_term
from robot_rl.taskgraph.scheduler import StepResult, TaskCounters, TaskScheduler
from robot_rl.taskgraph.shipped import (
    A1_TASK_GRAPH_YAML,
    PANDA_TASK_GRAPH_YAML,
    a1_task_graph,
    panda_task_graph,
)
from robot_rl.taskgraph.signal_names import A1_SIGNALS, PANDA_SIGNALS, SCHEDULER_SIGNALS

__all__ = [
    "A1_SIGNALS",
    "A1_TASK_GRAPH_YAML",
    "PANDA_SIGNALS",
    "PANDA_TASK_GRAPH_YAML",
    "REWARD_TERMS",
    "SCHEDULER_SIGNALS",
    "Candidate",
    "EdgeSpec",
    "Expression",
    "Predicate",
    "PredicateError",
    "RewardTerm",
    "StepResult",
    "TaskCounters",
    "TaskGraphSpec",
    "TaskScheduler",
    "TaskSpec",
    "TermDef",
    "a1_task_graph",
    "panda_task_graph",
    "parse_task_graph",
    "register_term",
]
