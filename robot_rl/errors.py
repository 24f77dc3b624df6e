"""Errors that robot_rl shows to users as one clear line."""

from __future__ import annotations

import re

#: most characters of the file and the key in a message, and of the whole message; a longer
#: part is cut in the middle so that a huge value, key or path can never flood a terminal
#: (the expectation gets what is left, at least 100 characters)
LIMITS = {"file": 100, "key": 60, "message": 270}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (control characters as ``\\xNN``), at most about ``limit`` chars."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    if len(text) > limit:
        head = (limit - 5) * 2 // 3
        tail = limit - 5 - head
        text = f"{text[:head]} ... {text[len(text) - tail:]}"
    return text


class ConfigError(ValueError):
    """A configuration mistake: names the file, the key and what was expected.

    ``str(err)`` is a single line such as
    ``robot_configs/a1.yaml: robot.joints: expected a list of 12 names, got 11``; each part is
    kept to one line of bounded length (:data:`LIMITS`) whatever the input was.
    """

    def __init__(self, file: str | None, key: str, expected: str) -> None:
        self.file = one_line(file or "<config>", LIMITS["file"])
        self.key = one_line(key or "<root>", LIMITS["key"])
        room = max(100, LIMITS["message"] - len(self.file) - len(self.key) - 4)
        self.expected = one_line(expected, room)
        super().__init__(f"{self.file}: {self.key}: {self.expected}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # Rebuild from the three parts so the error survives crossing a process boundary.
        return (type(self), (self.file, self.key, self.expected))
