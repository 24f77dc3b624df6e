"""Rate-limited logging: no peer can grow a log without bound by repeating one mistake.

Each *kind* (a fixed string chosen by the caller, never text from a peer) may log ``burst``
lines at once and then one more per ``interval_s``; further lines are counted instead. The
next line of that kind says how many were suppressed, and :meth:`RateLimitedLog.flush` (call
it now and then) reports counts of kinds that went quiet. Peer-provided text in the
arguments is cut to ``max_arg_chars``, and shown with ``repr`` escapes if not printable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float
    suppressed: int = 0


class RateLimitedLog:
    """Logs at most ``burst`` lines per kind at once, then one per ``interval_s``.

    Args:
        logger: where lines go.
        interval_s: seconds per refilled line.
        burst: lines a kind may log back to back.
        max_arg_chars: longest argument text kept (longer is cut, with "...").
        clock: seconds, monotonic.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 2.0, burst: int = 3,
                 max_arg_chars: int = 200,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.clock = clock
        self.interval_s = interval_s
        self.burst = burst
        self.max_arg_chars = max_arg_chars
        self.suppressed = 0  # lines not written, over all kinds
        self._buckets: dict[str, _Bucket] = {}

    def log(self, level: int, kind: str, text: str, *args: object) -> bool:
        """Logs ``text % args`` unless ``kind`` is over its rate; returns whether it did."""
        now = self.clock()
        b = self._buckets.get(kind)
        if b is None:
            b = self._buckets[kind] = _Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.at) / self.interval_s)
        b.at = now
        if b.tokens < 1.0:
            b.suppressed += 1
            self.suppressed += 1
            return False
        b.tokens -= 1.0
        suffix = f" (+{b.suppressed} similar suppressed)" if b.suppressed else ""
        b.suppressed = 0
        self.logger.log(level, text + "%s", *(self._cut(a) for a in args), suffix)
        return True

    def warning(self, kind: str, text: str, *args: object) -> bool:
        return self.log(logging.WARNING, kind, text, *args)

    def info(self, kind: str, text: str, *args: object) -> bool:
        return self.log(logging.INFO, kind, text, *args)

    def error(self, kind: str, text: str, *args: object) -> bool:
        return self.log(logging.ERROR, kind, text, *args)

    def flush(self) -> None:
        """Reports, once a kind may log again, how many of its lines were suppressed."""
        now = self.clock()
        for kind, b in self._buckets.items():
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) / self.interval_s)
            b.at = now
            if b.suppressed and b.tokens >= 1.0:
                b.tokens -= 1.0
                self.logger.warning("%d more %s lines were suppressed", b.suppressed, kind)
                b.suppressed = 0

    def _cut(self, arg: object) -> object:
        if isinstance(arg, (int, float)):
            return arg
        text = str(arg)
        if not text.isprintable():  # no newlines or escapes from a peer in the log
            text = repr(text)
        if len(text) > self.max_arg_chars:
            return text[: self.max_arg_chars] + "..."
        return text
