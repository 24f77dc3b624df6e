"""Reading robot config files from disk."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from robot_rl.config.loader import from_dict
from robot_rl.config.schema import RobotConfig
from robot_rl.errors import ConfigError


def resolve_urdf(urdf: str, config_dir: Path | None) -> Path | None:
    """Find a URDF: absolute, relative to the config file's folder, or in pybullet_data."""
    candidates = [Path(urdf)] if os.path.isabs(urdf) else []
    if config_dir is not None and not os.path.isabs(urdf):
        candidates.append(config_dir / urdf)
    if not os.path.isabs(urdf):
        try:
            import pybullet_data

            candidates.append(Path(pybullet_data.getDataPath()) / urdf)
        except ImportError:  # pragma: no cover - pybullet is a hard dependency
            pass
    return next((c.resolve() for c in candidates if c.is_file()), None)


def load_config(path: str | os.PathLike[str]) -> RobotConfig:
    """Load and validate a robot config YAML file.

    Raises:
        ConfigError: one line naming the file, the key and what was expected.
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, "<file>", "expected an existing robot config file") from None
    except OSError as err:
        raise ConfigError(name, "<file>", f"expected a readable file ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(err, "problem", None) or "syntax error"
        raise ConfigError(name, "<yaml>", f"expected valid YAML ({problem} at {where})") from None
    if isinstance(data, dict) and "source" in data:
        raise ConfigError(name, "source", "unknown key; it is set by the loader")
    cfg = from_dict(RobotConfig, data, name)
    urdf = resolve_urdf(cfg.robot.urdf, path.parent)
    if urdf is None:
        raise ConfigError(name, "robot.urdf", f"expected an existing URDF file, "
                          f"{cfg.robot.urdf!r} was not found (absolute, next to the config, "
                          "or in pybullet_data)")
    cfg.robot.urdf = str(urdf)
    cfg.source = name
    return cfg
