"""``robot-rl inspect URDF``: a URDF's joints and links, and a config skeleton for it.

The URDF is read by the config's own reader (:func:`robot_rl.config.urdf.read_urdf`, plain
XML, no simulator). The skeleton lists the actuated joints with the URDF's limits, a nominal
pose in the middle of each joint's range and a guessed ``action_scale``; ``robot.kind`` is
left as ``CHOOSE`` for the user (legged or arm; for an arm, uncomment the ``# arm:`` lines).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from robot_rl.errors import ConfigError

ACTION_SCALE_MAX = 0.5
"""Largest guessed action_scale (rad or m): targets move at most this far from nominal."""
PLACEHOLDER = {"position": math.pi, "velocity_limit": 10.0, "effort_limit": 10.0}
"""Values written where the URDF gives no limit (a continuous joint, a missing attribute)."""


def cmd_inspect(args: argparse.Namespace) -> int:
    from robot_rl.config import resolve_urdf
    from robot_rl.config.urdf import read_urdf

    path = resolve_urdf(args.urdf, Path.cwd())
    if path is None:
        raise ConfigError(args.urdf, "<file>", "expected an existing URDF file (absolute, "
                          "relative to this folder, or inside pybullet_data)")
    urdf = read_urdf(path, args.urdf, "<file>")
    joints = [{"name": j.name, "type": j.type, "lower": j.lower, "upper": j.upper,
               "effort": j.effort, "velocity": j.velocity} for j in urdf.joints.values()]
    skeleton = config_skeleton(urdf)
    if args.json:
        print(json.dumps({"urdf": str(path), "joints": joints, "links": list(urdf.links),
                          "actuated": list(urdf.actuated), "skeleton": skeleton}))
        return 0
    print(f"{path}: {len(joints)} joints ({len(urdf.actuated)} actuated), "
          f"{len(urdf.links)} links\n")
    width = max([28, *(len(j.name) for j in urdf.joints.values())])
    print(f"{'joint':<{width}} {'type':<10} {'lower':>9} {'upper':>9} {'effort':>8} "
          f"{'velocity':>8}")
    for j in urdf.joints.values():
        print(f"{j.name:<{width}} {j.type:<10} {_cell(j.lower):>9} {_cell(j.upper):>9} "
              f"{_cell(j.effort):>8} {_cell(j.velocity):>8}")
    print("\nlinks: " + ", ".join(urdf.links))
    print("\n# ---- config skeleton (save as a .yaml file, then choose robot.kind) ----")
    print(skeleton, end="")
    return 0


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _num(value: float) -> str:
    """A YAML float, exact (PyYAML reads ``1e-05``, without a point, as a string)."""
    text = repr(float(value))
    if "e" in text or "n" in text:  # 1e-05, inf, nan
        text = f"{value:.15f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _nums(values: list[float]) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _robot_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem).lstrip("_-")[:64]
    return name or "robot"


def config_skeleton(urdf: Any) -> str:
    """Robot config YAML for ``urdf`` (a :class:`robot_rl.config.urdf.Urdf`) to start from."""
    names = list(urdf.actuated)
    joints = [urdf.joints[n] for n in names]
    lower = [j.lower if j.lower is not None else -PLACEHOLDER["position"] for j in joints]
    upper = [j.upper if j.upper is not None else PLACEHOLDER["position"] for j in joints]
    nominal = [0.0 if j.lower is None or j.upper is None else (j.lower + j.upper) / 2
               for j in joints]
    scale = [min(ACTION_SCALE_MAX, round((hi - lo) / 4, 3)) for lo, hi in zip(lower, upper,
                                                                               strict=True)]
    velocity = [j.velocity or PLACEHOLDER["velocity_limit"] for j in joints]
    effort = [j.effort or PLACEHOLDER["effort_limit"] for j in joints]
    guessed = {  # which placeholder each joint got, by the key it went into
        f"position limits (+/-{PLACEHOLDER['position']:.4g})":
            [n for n, j in zip(names, joints, strict=True) if None in (j.lower, j.upper)],
        f"velocity_limit ({PLACEHOLDER['velocity_limit']:g})":
            [n for n, j in zip(names, joints, strict=True) if not j.velocity],
        f"effort_limit ({PLACEHOLDER['effort_limit']:g})":
            [n for n, j in zip(names, joints, strict=True) if not j.effort]}
    end_link = urdf.links[-1] if urdf.links else "LINK"
    lines = [
        f"# Robot config skeleton for {urdf.path.name}, written by `robot-rl inspect`",
        "# (docs/configs.md lists every key). Choose robot.kind; for an arm also uncomment",
        "# the lines that start with '# arm: '.",
        f"name: {_robot_name(urdf.path)}",
        "robot:",
        "  kind: CHOOSE  # legged (floating base, learns to walk) or arm (fixed base, reaches)",
        f"  urdf: {json.dumps(str(urdf.path))}",
        f"  joints: {json.dumps(names)}",
        "  # the middle of each joint's range (0 without limits): replace with a rest pose",
        f"  nominal: {_nums(nominal)}",
        "  # hard limits from the URDF (rad, rad/s, N*m; m and N for prismatic joints)",
        f"  position_lower: {_nums(lower)}",
        f"  position_upper: {_nums(upper)}",
        f"  velocity_limit: {_nums(velocity)}",
        f"  effort_limit: {_nums(effort)}",
    ]
    for what, which in guessed.items():
        if which:
            lines.append(f"  # NOT in the URDF, placeholder {what} to replace: "
                         f"{', '.join(which)}")
    lines += [
        f"  # a guess: a quarter of each joint's range, at most {ACTION_SCALE_MAX:g}",
        f"  action_scale: {_nums(scale)}",
        "  base_position: [0.0, 0.0, 0.3]  # spawn (m): a legged robot just above its feet",
        "  # arm: fixed_base: true",
        f"  # arm: end_effector_link: {end_link}  # a guess (the URDF's last link)",
        "  # (an arm's action can move the end effector instead of the joints: action_mode:",
        "  # ee_delta with ee_low and ee_high, its box; docs/configs.md#end-effector-actions)",
        "# arm: task: {kind: reach}",
        "# arm: observation: {signals: [joint_position, joint_velocity, ee_position, "
        "target_delta, previous_action]}",
    ]
    return "\n".join(lines) + "\n"
