"""Small checks shared by the graph and reward-term parsers; each raises ConfigError."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from robot_rl.errors import ConfigError
from robot_rl.taskgraph._tokens import suggest
from robot_rl.taskgraph.predicate import Expression, Predicate, PredicateError


class Where:
    """A file and a key path, e.g. ``task_graph.tasks.walk_forward``; makes child paths."""

    def __init__(self, file: str | None, key: str) -> None:
        self.file = file
        self.key = key

    def __truediv__(self, child: str | int) -> Where:
        if isinstance(child, int):
            return Where(self.file, f"{self.key}[{child}]")
        return Where(self.file, f"{self.key}.{child}" if self.key else child)

    def error(self, expected: str) -> ConfigError:
        return ConfigError(self.file, self.key, expected)


def describe(value: Any) -> str:
    """How a YAML value reads in an error: its type and a short repr."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def mapping(value: Any, where: Where, allowed: Iterable[str] | None = None,
            required: Iterable[str] = ()) -> Mapping[str, Any]:
    """Checks ``value`` is a mapping with text keys, among ``allowed`` (None: any), holding
    ``required``."""
    if not isinstance(value, Mapping):
        raise where.error(f"expected a mapping, got {describe(value)}")
    allowed = None if allowed is None else tuple(allowed)
    for key in value:
        if isinstance(key, bool):
            raise where.error(f"a key reads as {str(key).lower()} in YAML (a bare on/off/yes/no);"
                              " quote it or use the documented key name")
        if not isinstance(key, str):
            raise where.error(f"expected text keys, got {describe(key)}")
        if allowed is not None and key not in allowed:
            raise (where / key).error(
                f"unknown key; expected one of {', '.join(allowed)}{suggest(key, allowed)}")
    for key in required:
        if key not in value:
            raise (where / key).error("required key is missing")
    return value


def number(value: Any, where: Where, minimum: float | None = None) -> float:
    """A finite number (YAML int or float, not bool), optionally at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(f"expected a number, got {describe(value)}")
    result = float(value)
    if not math.isfinite(result):
        raise where.error(f"expected a finite number, got {value!r}")
    if minimum is not None and result < minimum:
        raise where.error(f"expected a number >= {minimum:g}, got {value!r}")
    return result


def integer(value: Any, where: Where, minimum: int) -> int:
    """An integer (not bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"expected an integer >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise where.error(f"expected an integer >= {minimum}, got {value}")
    return value


def boolean(value: Any, where: Where) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise where.error(f"expected true or false, got {describe(value)}")
    return value


def text(value: Any, where: Where, choices: Iterable[str] | None = None) -> str:
    """A string, optionally one of ``choices``."""
    if not isinstance(value, str):
        raise where.error(f"expected text, got {describe(value)}")
    if choices is not None:
        choices = tuple(choices)
        if value not in choices:
            raise where.error(f"expected one of {', '.join(choices)}, got {value!r}"
                              f"{suggest(value, choices)}")
    return value


def predicate(value: Any, where: Where, known: Iterable[str]) -> Predicate | None:
    """A predicate from text; ``null`` means none; YAML ``true``/``false`` are constants."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, str):
        raise where.error(f"expected a predicate such as 'abs(roll) > 0.5', got {describe(value)}")
    try:
        return Predicate.parse(value, known)
    except PredicateError as err:
        raise where.error(f"bad predicate: {err}") from err


def expression(value: Any, where: Where, known: Iterable[str]) -> Expression:
    """A numeric expression from text, e.g. ``-abs(yaw_rate)``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(f"expected an expression such as '-abs(yaw_rate)', "
                          f"got {describe(value)}")
    try:
        return Expression.parse(str(value), known)
    except PredicateError as err:
        raise where.error(f"bad expression: {err}") from err
