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


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain PyYAML keeps
    the last silently: two tasks of one name would merge into one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"found the key {key!r} twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


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
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
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
