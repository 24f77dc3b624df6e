"""Safe predicates and expressions over named state signals.

A small grammar parsed by hand (a lazy tokenizer and a recursive-descent parser) into an
immutable tree; nothing here uses ``eval``, ``compile`` or the ``ast`` module, so a config file
can never run code. The grammar (EBNF; full reference in ``docs/task_graph.md``)::

    predicate  = or_expr ;
    or_expr    = and_expr { "or" and_expr } ;
    and_expr   = not_expr { "and" not_expr } ;
    not_expr   = "not" not_expr | comparison ;
    comparison = sum { ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) sum } ;
    sum        = product { ( "+" | "-" ) product } ;
    product    = unary { ( "*" | "/" ) unary } ;
    unary      = ( "-" | "+" ) unary | primary ;
    primary    = NUMBER | "true" | "false" | SIGNAL | FUNCTION "(" or_expr { "," or_expr } ")"
               | "(" or_expr ")" ;

Comparisons chain like Python (``0.2 < base_height < 0.4``). Types are checked when parsing:
``and``/``or``/``not`` take conditions, arithmetic and comparisons take numbers.

Numbers follow IEEE 754 except that any comparison with a NaN operand is False (``!=``
included), so a NaN signal never makes a condition hold; division by zero gives +-inf or NaN.

Example:
    >>> p = Predicate.parse("abs(roll) > 0.5 or base_height < 0.15", {"roll", "base_height"})
    >>> p.evaluate({"roll": 0.1, "base_height": 0.1})
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from robot_rl.taskgraph._nodes import (
    FUNCTIONS,
    And,
    Arith,
    Call,
    Compare,
    Const,
    Neg,
    Node,
    Not,
    Or,
    Signal,
)
from robot_rl.taskgraph._tokens import KEYWORDS, PredicateError, Token, Tokenizer, suggest

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Expression", "Predicate", "PredicateError"]

MAX_LENGTH = 2000
"""Longest accepted text, in characters."""
MAX_DEPTH = 32
"""Deepest accepted nesting of parentheses, function calls, unary minus and ``not``."""

_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


class _Parser:
    """Recursive-descent parser with a nesting limit, so deep input never hits RecursionError."""

    def __init__(self, text: str, known: frozenset[str] | None) -> None:
        self.text = text
        self.known = known
        self.tokens = Tokenizer(text)
        self.tok = self.tokens.next()
        self.depth = 0
        self.signals: set[str] = set()

    def error(self, message: str, column: int | None = None) -> PredicateError:
        return PredicateError(self.text, self.tok.column if column is None else column, message)

    def advance(self) -> Token:
        tok = self.tok
        self.tok = self.tokens.next()
        return tok

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what} but found {self.tok.describe()}")
        return self.advance()

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", column)

    def need(self, node: Node, kind: str, column: int) -> Node:
        if node.kind != kind:
            if kind == "bool":
                raise self.error("expected a condition (a comparison such as 'roll > 0.5') "
                                 "but found a number", column)
            raise self.error("expected a number but found a condition", column)
        return node

    def parse(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error("expected an operator, 'and', 'or' or the end but found "
                             f"{self.tok.describe()}")
        return node

    def or_expr(self) -> Node:
        column = self.tok.column
        items = [self.and_expr()]
        while self.tok.kind == "name" and self.tok.text == "or":
            self.need(items[0], "bool", column)
            self.advance()
            column = self.tok.column
            items.append(self.need(self.and_expr(), "bool", column))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        column = self.tok.column
        items = [self.not_expr()]
        while self.tok.kind == "name" and self.tok.text == "and":
            self.need(items[0], "bool", column)
            self.advance()
            column = self.tok.column
            items.append(self.need(self.not_expr(), "bool", column))
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.tok.kind == "name" and self.tok.text == "not":
            self.enter(self.advance().column)
            column = self.tok.column
            node = Not(self.need(self.not_expr(), "bool", column))
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        column = self.tok.column
        first = self.sum()
        if not (self.tok.kind == "op" and self.tok.text in _COMPARISONS):
            return first
        operands, ops = [self.need(first, "num", column)], []
        while self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            ops.append(self.advance().text)
            column = self.tok.column
            operands.append(self.need(self.sum(), "num", column))
        return Compare(tuple(operands), tuple(ops))

    def sum(self) -> Node:
        return self._arith(self.product, ("+", "-"))

    def product(self) -> Node:
        return self._arith(self.unary, ("*", "/"))

    def _arith(self, operand: Callable[[], Node], ops: tuple[str, ...]) -> Node:
        column = self.tok.column
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.tok.kind == "op" and self.tok.text in ops:
            if not rest:
                self.need(first, "num", column)
            op = self.advance().text
            column = self.tok.column
            rest.append((op, self.need(operand(), "num", column)))
        return Arith(first, tuple(rest)) if rest else first

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in ("-", "+"):
            sign = self.advance()
            self.enter(sign.column)
            column = self.tok.column
            node = self.need(self.unary(), "num", column)
            self.depth -= 1
            if sign.text == "+":
                return node
            if isinstance(node, Const):
                return Const(-node.value)
            return Neg(node)
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return Const(tok.value)
        if tok.kind == "(":
            self.enter(self.advance().column)
            node = self.or_expr()
            self.expect(")", "')'")
            self.depth -= 1
            return node
        if tok.kind == "name" and tok.text not in KEYWORDS:
            self.advance()
            if self.tok.kind == "(":
                return self.call(tok)
            return self.signal(tok)
        if tok.kind == "name" and tok.text in ("true", "false"):
            self.advance()
            return Const(tok.text == "true", kind="bool")
        raise self.error("expected a number, a signal, a function call or '(' but found "
                         f"{tok.describe()}")

    def signal(self, tok: Token) -> Node:
        if tok.text in FUNCTIONS:
            raise self.error(f"expected '(' after the function '{tok.text}'", self.tok.column)
        if self.known is not None and tok.text not in self.known:
            raise self.error(f"unknown signal '{tok.text}'{suggest(tok.text, self.known)}",
                             tok.column)
        self.signals.add(tok.text)
        return Signal(tok.text)

    def call(self, tok: Token) -> Node:
        if tok.text not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            what = "a signal, not a function" if self.known and tok.text in self.known else (
                f"not an allowed function (allowed: {allowed})")
            raise self.error(f"'{tok.text}' is {what}", tok.column)
        self.enter(self.advance().column)
        args = []
        while True:
            column = self.tok.column
            args.append(self.need(self.or_expr(), "num", column))
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect(")", "',' or ')'")
        self.depth -= 1
        low, high = FUNCTIONS[tok.text].arity
        if not low <= len(args) <= (high or len(args)):
            count = str(low) if low == high else f"at least {low}" if high is None else (
                f"{low} to {high}")
            raise self.error(f"{tok.text}() takes {count} argument(s), got {len(args)}",
                             tok.column)
        return Call(tok.text, tuple(args))


class _Compiled:
    """Shared parts of :class:`Predicate` and :class:`Expression`."""

    _kind: ClassVar[str]
    __slots__ = ("_root", "signals", "text")

    def __init__(self, text: str, root: Node, signals: frozenset[str]) -> None:
        self.text = text
        self.signals = signals
        self._root = root

    @classmethod
    def _parse(cls, text: str, known_signals: Iterable[str] | None) -> tuple[str, Node, set[str]]:
        if not isinstance(text, str):
            raise TypeError(f"expected the text of a {cls.__name__.lower()}, "
                            f"got {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise PredicateError(text, MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
        known = None if known_signals is None else frozenset(known_signals)
        parser = _Parser(text, known)
        root = parser.parse()
        if root.kind != cls._kind:
            column = len(text) - len(text.lstrip()) + 1
            raise parser.error("expected a condition (a comparison such as 'fallen > 0.5') but "
                               "the whole text is a number" if cls._kind == "bool" else
                               "expected a number but the whole text is a condition", column)
        return text.strip(), root, parser.signals

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_root"):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Compiled) and type(other) is type(self) and (
            other._root == self._root)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._root))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def __str__(self) -> str:
        return self.text


class Predicate(_Compiled):
    """A parsed condition over named signals, e.g. ``abs(roll) > 0.5 and fallen > 0.5``.

    Attributes:
        text: The source text, stripped.
        signals: The signal names the predicate reads.
    """

    _kind = "bool"
    __slots__ = ()

    @classmethod
    def parse(cls, text: str, known_signals: Iterable[str] | None = None) -> Predicate:
        """Parses ``text``; the only error raised for bad text is :class:`PredicateError`.

        Args:
            text: The predicate, at most :data:`MAX_LENGTH` characters.
            known_signals: Signal names the text may use; None accepts any name.

        Raises:
            PredicateError: Syntax error, type error, unknown signal or function, too long or
                too deeply nested; the message names the 1-based column and what was expected.
            TypeError: ``text`` is not a ``str``.
        """
        stripped, root, signals = cls._parse(text, known_signals)
        return cls(stripped, root, frozenset(signals))

    def evaluate(self, signals: Mapping[str, float]) -> bool:
        """Returns whether the condition holds for ``signals``.

        Raises:
            KeyError: A signal the predicate reads is missing from ``signals``.
        """
        return bool(self._root.compute(signals))


class Expression(_Compiled):
    """A parsed numeric expression over named signals, e.g. ``-abs(yaw_rate)``."""

    _kind = "num"
    __slots__ = ()

    @classmethod
    def parse(cls, text: str, known_signals: Iterable[str] | None = None) -> Expression:
        """Parses ``text`` as a number-valued expression; errors as in :meth:`Predicate.parse`."""
        stripped, root, signals = cls._parse(text, known_signals)
        return cls(stripped, root, frozenset(signals))

    def evaluate(self, signals: Mapping[str, float]) -> float:
        """Returns the value of the expression for ``signals`` (may be inf or NaN).

        Raises:
            KeyError: A signal the expression reads is missing from ``signals``.
        """
        return float(self._root.compute(signals))

