"""The one place that handles Ctrl-C (SIGINT) and SIGTERM for long-running commands.

``robot-rl train``, ``learner``, ``actor``, ``node`` and ``launch`` run a loop; a
``KeyboardInterrupt`` raised at whatever line the interpreter is on (inside a lock, halfway
through a checkpoint) once left a run hung after Ctrl-C. Inside :func:`deferred_stop` the
first SIGINT or SIGTERM only sets a flag, which the loop checks between steps and then stops
cleanly (checkpoint, flush, close); a second one raises ``KeyboardInterrupt`` at once, for a
loop that is stuck. Outside the main thread (where Python installs no handler) the flag never
fires and the handlers stay as they are.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals :func:`deferred_stop` turns into a flag."""


class StopFlag:
    """Set by the first stop signal; ``signum`` tells which (None while not set)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, signum: int = signal.SIGINT) -> None:
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def exit_status(self, default: int = 0) -> int:
        """The conventional shell status: 130 after Ctrl-C, ``default`` otherwise (SIGTERM
        is a requested, normal end for the long-running services)."""
        return 130 if self.signum == signal.SIGINT else default


@contextmanager
def deferred_stop(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[StopFlag]:
    """While active, the first of ``signals`` sets the yielded :class:`StopFlag` instead of
    raising; a second one raises ``KeyboardInterrupt`` at once. The previous handlers are
    restored on exit (a handler installed outside Python reads as None: restored as the
    default)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            if h is None:
                h = signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL
            signal.signal(s, h)
