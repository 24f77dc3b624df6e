"""Immutable syntax-tree nodes of the predicate grammar and their evaluation.

Sums, products, ``and`` and ``or`` are n-ary nodes rather than left-deep binary chains, so a
long flat expression stays shallow and evaluation never recurses deeper than the nesting the
parser allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

_NAN = math.nan


def _any_nan(args: tuple[float, ...]) -> bool:
    return any(a != a for a in args)


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else _NAN


def _min(*args: float) -> float:
    return _NAN if _any_nan(args) else min(args)


def _max(*args: float) -> float:
    return _NAN if _any_nan(args) else max(args)


def _clip(x: float, low: float, high: float) -> float:
    return _NAN if _any_nan((x, low, high)) else min(max(x, low), high)


def _divide(a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return _NAN
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


@dataclass(frozen=True)
class Function:
    """A whitelisted function: implementation and (min, max) arity; max None = any."""

    fn: Callable[..., float]
    arity: tuple[int, int | None]
    doc: str


FUNCTIONS: dict[str, Function] = {
    "abs": Function(abs, (1, 1), "absolute value"),
    "sqrt": Function(_sqrt, (1, 1), "square root; NaN for negative input"),
    "min": Function(_min, (2, None), "smallest argument; NaN if any is NaN"),
    "max": Function(_max, (2, None), "largest argument; NaN if any is NaN"),
    "clip": Function(_clip, (3, 3), "clip(x, low, high) = min(max(x, low), high)"),
    "hypot": Function(math.hypot, (1, None), "Euclidean norm of the arguments"),
}

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    # IEEE says NaN != x is True; here every comparison with NaN is False.
    "!=": lambda a, b: a != b and a == a and b == b,
}


class Node:
    """Base of all nodes. ``kind`` is ``num`` or ``bool``."""

    kind: ClassVar[str] = "num"
    __slots__ = ()

    def compute(self, env: Mapping[str, float]) -> float | bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: float | bool
    kind: str = "num"  # type: ignore[misc]

    def compute(self, env: Mapping[str, float]) -> float | bool:
        return self.value


@dataclass(frozen=True, slots=True)
class Signal(Node):
    name: str

    def compute(self, env: Mapping[str, float]) -> float:
        return float(env[self.name])


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Node

    def compute(self, env: Mapping[str, float]) -> float:
        return -self.operand.compute(env)


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """``first op1 x1 op2 x2 ...`` for one precedence level (+ - or * /), left to right."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def compute(self, env: Mapping[str, float]) -> float:
        acc = self.first.compute(env)
        for op, node in self.rest:
            x = node.compute(env)
            if op == "+":
                acc = acc + x
            elif op == "-":
                acc = acc - x
            elif op == "*":
                acc = acc * x
            else:
                acc = _divide(acc, x)
        return acc


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]

    def compute(self, env: Mapping[str, float]) -> float:
        return float(FUNCTIONS[self.name].fn(*(a.compute(env) for a in self.args)))


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison chain: ``a < b <= c`` means ``a < b and b <= c``."""

    operands: tuple[Node, ...]
    ops: tuple[str, ...]
    kind: ClassVar[str] = "bool"

    def compute(self, env: Mapping[str, float]) -> bool:
        left = self.operands[0].compute(env)
        for op, node in zip(self.ops, self.operands[1:], strict=True):
            right = node.compute(env)
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node
    kind: ClassVar[str] = "bool"

    def compute(self, env: Mapping[str, float]) -> bool:
        return not self.operand.compute(env)


@dataclass(frozen=True, slots=True)
class And(Node):
    items: tuple[Node, ...]
    kind: ClassVar[str] = "bool"

    def compute(self, env: Mapping[str, float]) -> bool:
        return all(item.compute(env) for item in self.items)


@dataclass(frozen=True, slots=True)
class Or(Node):
    items: tuple[Node, ...]
    kind: ClassVar[str] = "bool"

    def compute(self, env: Mapping[str, float]) -> bool:
        return any(item.compute(env) for item in self.items)
