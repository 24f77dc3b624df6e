"""Tokenizer for the predicate grammar: ASCII numbers, lowercase names, operators."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import NamedTuple

KEYWORDS = frozenset({"and", "or", "not", "true", "false"})

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_SPACE = frozenset(" \t\r\n")
_TWO_CHAR = frozenset({"<=", ">=", "==", "!="})
_ONE_CHAR = frozenset("<>+-*/")
_PUNCT = frozenset("(),")
_HINTS = {
    "=": "a single '=' is not allowed; use '==' to compare",
    "!": "use 'not' instead of '!'",
    "&": "use 'and' instead of '&' or '&&'",
    "|": "use 'or' instead of '|' or '||'",
    "'": "text strings are not allowed",
    '"': "text strings are not allowed",
    ".": "attribute access is not allowed",
    "[": "indexing is not allowed",
    "]": "indexing is not allowed",
    "%": "only + - * / are allowed",
    "^": "only + - * / are allowed",
}
_SNIPPET = 60


class PredicateError(ValueError):
    """A predicate or expression that cannot be parsed.

    ``str(err)`` is one line: ``column 12: <what was expected> in '<text>'``.

    Attributes:
        text: The text that was parsed.
        column: 1-based column where the problem starts.
        message: What was expected, without the position.
    """

    def __init__(self, text: str, column: int, message: str) -> None:
        self.text = text
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message} in {_snippet(text, column)}")


def _snippet(text: str, column: int) -> str:
    if len(text) <= _SNIPPET:
        return repr(text)
    start = max(0, min(column - 1 - _SNIPPET // 2, len(text) - _SNIPPET))
    piece = text[start:start + _SNIPPET]
    return ("..." if start else "") + repr(piece) + ("..." if start + _SNIPPET < len(text) else "")


def suggest(name: str, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when ``name`` is close to one of ``options``, else ``""``."""
    close = difflib.get_close_matches(name, sorted(options), n=2)
    return ("; did you mean " + " or ".join(f"'{c}'" for c in close) + "?") if close else ""


class Token(NamedTuple):
    """One token. ``kind`` is number, name, op, '(', ')', ',' or end."""

    kind: str
    text: str
    column: int
    value: float = 0.0

    def describe(self) -> str:
        """How the token reads in an error message."""
        return "the end of the text" if self.kind == "end" else f"'{self.text}'"


class Tokenizer:
    """Produces tokens on demand, so errors are reported left to right."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int) -> PredicateError:
        return PredicateError(self.text, pos + 1, message)

    def next(self) -> Token:
        """Returns the next token, or an ``end`` token after the last one."""
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in _SPACE:
            self.pos += 1
        start = self.pos
        if start >= n:
            return Token("end", "", n + 1)
        ch = text[start]
        if ch in _DIGITS or (ch == "." and start + 1 < n and text[start + 1] in _DIGITS):
            return self._number(start)
        if ch in _NAME_START:
            end = start
            while end < n and text[end] in _NAME_CHARS:
                end += 1
            self.pos = end
            word = text[start:end]
            if word != word.lower():
                hint = f"; write '{word.lower()}'" if word in ("True", "False") else ""
                raise self.error(f"names are lowercase, found '{word}'{hint}", start)
            return Token("name", word, start + 1)
        pair = text[start:start + 2]
        if pair in _TWO_CHAR:
            self.pos = start + 2
            return Token("op", pair, start + 1)
        if pair in ("&&", "||"):
            raise self.error(_HINTS[ch], start)
        if ch in _ONE_CHAR:
            self.pos = start + 1
            return Token("op", ch, start + 1)
        if ch in _PUNCT:
            self.pos = start + 1
            return Token(ch, ch, start + 1)
        hint = _HINTS.get(ch, "expected a number, a name, an operator or a parenthesis")
        raise self.error(f"unexpected character {ch!r}: {hint}", start)

    def _number(self, start: int) -> Token:
        text, n = self.text, len(self.text)
        end = start
        while end < n and text[end] in _DIGITS:
            end += 1
        if end < n and text[end] == ".":
            end += 1
            while end < n and text[end] in _DIGITS:
                end += 1
        if end < n and text[end] in "eE":
            exp = end + 1
            if exp < n and text[exp] in "+-":
                exp += 1
            if exp >= n or text[exp] not in _DIGITS:
                raise self.error("malformed number: expected digits after the exponent", start)
            end = exp
            while end < n and text[end] in _DIGITS:
                end += 1
        if end < n and (text[end] in _NAME_CHARS or text[end] == "."):
            raise self.error(f"malformed number '{text[start:end + 1]}'", start)
        self.pos = end
        literal = text[start:end]
        value = float(literal)
        if not math.isfinite(value):
            raise self.error(f"number '{literal}' is too large", start)
        return Token("number", literal, start + 1, value)
