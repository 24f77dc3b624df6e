"""Reading a URDF's joints, links and limits, to check a robot config against its robot.

Only what the config refers to is read, with :mod:`xml.etree` (no PyBullet): joint names,
types and ``<limit>``\\ s, and link names. A file that is not a URDF (not XML, another root
element, an unexpanded xacro, a DTD) is a :class:`~robot_rl.errors.ConfigError` naming the
config file and ``robot.urdf``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from robot_rl.errors import ConfigError

MAX_URDF_BYTES = 32 * 1024 * 1024
"""Largest URDF read (meshes are separate files; real URDFs are well under 1 MiB)."""

ACTUATED = ("revolute", "continuous", "prismatic")
"""Joint types a config may command."""


@dataclass(frozen=True)
class UrdfJoint:
    """One ``<joint>``: its type and limits (None where the URDF gives none)."""

    name: str
    type: str
    lower: float | None = None
    upper: float | None = None
    velocity: float | None = None
    effort: float | None = None


@dataclass(frozen=True)
class Urdf:
    """The parts of a URDF a robot config refers to."""

    path: Path
    joints: dict[str, UrdfJoint]
    links: tuple[str, ...]
    children: frozenset[str] = frozenset()  # links below a joint (all but the base link)

    @property
    def actuated(self) -> tuple[str, ...]:
        """Names of the joints that can be commanded, in file order."""
        return tuple(name for name, j in self.joints.items() if j.type in ACTUATED)


def read_urdf(path: Path, config: str | None, key: str = "robot.urdf") -> Urdf:
    """Parse ``path`` as a URDF.

    Args:
        path: the URDF file (already resolved).
        config: the config file that names it, for errors.
        key: the config key naming it, for errors.

    Raises:
        ConfigError: the file is unreadable, too large or not a URDF.
    """
    def fail(expected: str) -> ConfigError:
        return ConfigError(config, key, f"expected a URDF (XML with a <robot> root): {path.name} "
                           f"{expected}")

    try:
        size = path.stat().st_size
        if size > MAX_URDF_BYTES:
            raise fail(f"has {size} bytes, more than the {MAX_URDF_BYTES} read")
        data = path.read_bytes()
    except OSError as err:
        raise fail(f"could not be read ({err.strerror})") from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise fail("has a DTD (<!DOCTYPE or <!ENTITY); URDFs have none")
    # blank lines before <?xml ...?> or NUL bytes after </robot>, which PyBullet's parser
    # accepts (pybullet_data's biped2d_pybullet.urdf, humanoid.urdf have them)
    data = data.lstrip().rstrip(b"\x00 \t\r\n")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise fail(f"is not XML ({err})") from None
    if root.tag != "robot":
        raise fail(f"has the root element <{_short(root.tag)}>")
    if any(el.tag.startswith("{") and "xacro" in el.tag for el in root.iter()):
        raise fail("is a xacro template; expand it first (xacro FILE > robot.urdf)")
    joints: dict[str, UrdfJoint] = {}
    children: set[str] = set()
    links = tuple(name for el in root.iter("link") if (name := el.get("name")) is not None)
    for el in root.iter("joint"):
        name, kind = el.get("name"), el.get("type")
        if name is None or kind is None:  # <joint> inside <transmission> has no type
            continue
        for end in ("parent", "child"):  # PyBullet refuses the whole file otherwise
            tag = el.find(end)
            named = tag.get("link") if tag is not None else None
            if named not in links:
                what = f"the <{end}> link {_short(named)!r}" if named else f"no <{end}> link"
                raise fail(f"has joint {_short(name)!r} with {what}, which is not a <link> "
                           "of the file")
        child = el.find("child")
        link = child.get("link") if child is not None else None
        if link:
            children.add(link)
        limit = el.find("limit")
        lower = upper = velocity = effort = None
        if limit is not None:
            values = {a: _number(limit.get(a), fail, name, a)
                      for a in ("lower", "upper", "velocity", "effort")}
            if kind in ("revolute", "prismatic"):  # URDF: lower/upper default to 0
                lo, hi = values["lower"] or 0.0, values["upper"] or 0.0
                if lo < hi:
                    lower, upper = lo, hi
            velocity = values["velocity"] if (values["velocity"] or 0) > 0 else None
            effort = values["effort"] if (values["effort"] or 0) > 0 else None
        joints[name] = UrdfJoint(name, kind, lower, upper, velocity, effort)
    if not joints and not links:
        raise fail("has no <link> or <joint>")
    return Urdf(path, joints, links, frozenset(children))


def _number(text: str | None, fail: object, joint: str, attr: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise fail(f"has <limit {attr}={_short(text)!r}> on joint {_short(joint)!r}, "  # type: ignore[operator]
                   "not a finite number")
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
