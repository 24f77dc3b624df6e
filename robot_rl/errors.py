"""Errors that robot_rl shows to users as one clear line."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration mistake: names the file, the key and what was expected.

    ``str(err)`` is a single line such as
    ``robot_configs/a1.yaml: robot.joints: expected a list of 12 names, got 11``.
    """

    def __init__(self, file: str | None, key: str, expected: str) -> None:
        self.file = file or "<config>"
        self.key = key or "<root>"
        self.expected = expected
        super().__init__(f"{self.file}: {self.key}: {expected}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # Rebuild from the three parts so the error survives crossing a process boundary.
        return (type(self), (self.file, self.key, self.expected))
