"""Reading robot config files from disk, and checking them against the robot's URDF.

Before anything is parsed the file must be at most :data:`MAX_CONFIG_BYTES`, UTF-8 text, and
YAML without aliases (``*name``: an alias bomb expands to billions of values) nested at most
:data:`MAX_DEPTH` deep with at most :data:`MAX_NODES` values. The data then goes through the
one loader (:func:`robot_rl.config.loader.from_dict`) and is checked against the URDF
(:func:`check_against_urdf`). Every mistake is a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
import re
from pathlib import Path
from typing import Any

import yaml

from robot_rl.config.loader import from_dict
from robot_rl.config.schema import LIMIT_KEYS, RobotConfig
from robot_rl.config.urdf import ACTUATED, Urdf, read_urdf
from robot_rl.errors import ConfigError

MAX_CONFIG_BYTES = 256 * 1024
"""Largest config file read (the shipped ones are under 8 KiB)."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted."""
MAX_NODES = 50_000
"""Most YAML values (scalars, mappings, lists) in one file."""

log = logging.getLogger("robot_rl.config")

try:
    from yaml import CSafeLoader as _CLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _CLoader  # type: ignore[assignment]  # same interface


def resolve_urdf(urdf: str, config_dir: Path | None) -> Path | None:
    """Find a URDF: absolute, relative to the config file's folder, or in pybullet_data.

    An absolute path into another installation's ``pybullet_data`` (a run's config.yaml
    records the resolved path; the run was copied from another machine or virtualenv) is
    also looked for in this one's.
    """
    candidates = [Path(urdf)] if os.path.isabs(urdf) else []
    if config_dir is not None and not os.path.isabs(urdf):
        candidates.append(config_dir / urdf)
    parts = Path(urdf).parts
    inside = (Path(*parts[len(parts) - parts[::-1].index("pybullet_data"):])
              if os.path.isabs(urdf) and "pybullet_data" in parts[:-1] else None)
    if not os.path.isabs(urdf) or inside is not None:
        try:
            import pybullet_data

            candidates.append(Path(pybullet_data.getDataPath()) / (inside or urdf))
        except ImportError:  # pragma: no cover - pybullet is a hard dependency
            pass
    try:
        return next((c.resolve() for c in candidates if c.is_file()), None)
    except (OSError, ValueError):  # a name too long, a NUL byte: not found
        return None


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool, base: Any) -> Any:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"found the key {key!r} twice in one mapping", key_node.start_mark)
        seen.add(key)
    return base.construct_mapping(loader, node, deep)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain PyYAML keeps
    the last silently: two tasks of one name would merge into one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        return _construct_mapping(self, node, deep, yaml.SafeLoader)


class _FastUniqueKeyLoader(_CLoader):
    """The same with libyaml's parser where PyYAML has it (several times faster)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        return _construct_mapping(self, node, deep, _CLoader)


EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
"""Floats in exponent notation that PyYAML's YAML 1.1 rules read as strings (``3e-4``,
``1e6``: 1.1 wants a dot and a signed exponent, ``3.0e-4``); YAML 1.2, and a reader of
docs/learner.md, call them numbers."""

for _loader in (_UniqueKeyLoader, _FastUniqueKeyLoader):
    _loader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT,
                                  list("-+0123456789."))


def read_text(path: Path, name: str) -> str:
    """The file's text: at most MAX_CONFIG_BYTES, UTF-8. Raises ConfigError."""
    try:
        if not path.is_file():
            if path.exists():
                raise ConfigError(name, "<file>", "expected a robot config file, found a "
                                  "folder or a special file")
            raise ConfigError(name, "<file>", "expected an existing robot config file")
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(name, "<file>", f"expected a readable file ({err.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(name, "<file>", f"expected a config of at most {MAX_CONFIG_BYTES} "
                          "bytes; this file is larger")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(name, "<file>", f"expected UTF-8 text, found the byte "
                          f"0x{data[err.start]:02x} at line {line} (byte {err.start}); save "
                          "the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def _line(event: yaml.Event) -> str:
    """The 1-based line of a YAML event ("?" where the parser gives none)."""
    mark = event.start_mark
    return "?" if mark is None else str(mark.line + 1)


def parse_yaml(text: str, name: str) -> Any:
    """Parse config YAML: no aliases, bounded nesting and size. Raises ConfigError."""
    try:
        depth = nodes = 0
        for event in yaml.parse(text, Loader=_CLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(name, "<yaml>", f"expected no YAML aliases (*{event.anchor}"
                                  f" at line {_line(event)}); write the values out")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(name, "<yaml>", f"expected at most {MAX_DEPTH} levels of "
                                      f"nesting (line {_line(event)})")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent,
                                  yaml.SequenceStartEvent)):
                nodes += 1
                if nodes > MAX_NODES:
                    raise ConfigError(name, "<yaml>", f"expected at most {MAX_NODES} values")
        return yaml.load(text, Loader=_FastUniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except ConfigError:
        raise
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(err, "problem", None) or getattr(err, "reason", None) \
            or "syntax error"
        raise ConfigError(name, "<yaml>", f"expected valid YAML ({problem} at {where})") \
            from None
    except (ValueError, OverflowError, RecursionError) as err:  # e.g. a 5000-digit integer
        raise ConfigError(name, "<yaml>", f"expected valid YAML values "
                          f"({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None


def load_config(path: str | os.PathLike[str], warn: bool = True) -> RobotConfig:
    """Load and validate a robot config YAML file, and check it against its URDF.

    Limits left out of ``robot:`` are filled in from the URDF; limits beyond the URDF's are
    logged as one warning line per key (``robot_rl.config`` logger) once the config is valid,
    unless ``warn`` is false.

    Raises:
        ConfigError: one line naming the file, the key and what was expected.
    """
    path = Path(path)
    name = str(path)
    data = parse_yaml(read_text(path, name), name)
    if isinstance(data, dict) and "source" in data:
        raise ConfigError(name, "source", "unknown key; it is set by the loader")
    cfg = from_dict(RobotConfig, data, name)
    urdf_path = resolve_urdf(cfg.robot.urdf, path.parent)
    if urdf_path is None:
        raise ConfigError(name, "robot.urdf", f"expected an existing URDF file, "
                          f"{cfg.robot.urdf!r} was not found (absolute, next to the config, "
                          "or in pybullet_data)")
    urdf = read_urdf(urdf_path, name)
    filled, warnings = check_against_urdf(cfg, urdf, name)
    if filled:  # validate again with the URDF's limits in place (nominal within them, ...)
        data = copy.deepcopy(data)
        data["robot"].update(filled)
        cfg = from_dict(RobotConfig, data, name)
    cfg.robot.urdf = str(urdf_path)
    if cfg.learner.prior_data is not None:
        cfg.learner.prior_data = str(_prior_data(cfg.learner.prior_data, path.parent, name))
    cfg.source = name
    for line in warnings if warn else ():
        log.warning("robot-rl: config warning: %s", line)
    return cfg


def _prior_data(given: str, config_dir: Path, name: str) -> Path:
    """The prior-data file, found as ``robot_rl.sac.prior.resolve_prior_path`` does
    (absolute, next to the config, or in the working directory), made absolute so that a
    run's copied config finds it too."""
    p = Path(given)
    candidates = [p] if p.is_absolute() else [config_dir / p, Path.cwd() / p]
    try:
        found = next((c.resolve() for c in candidates if c.is_file()), None)
    except (OSError, ValueError):
        found = None
    if found is None:
        raise ConfigError(name, "learner.prior_data", f"expected an existing .npz file, "
                          f"{given!r} was not found (absolute, next to the config, or in the "
                          "working directory)")
    return found


def check_against_urdf(cfg: RobotConfig, urdf: Urdf,
                       file: str | None) -> tuple[dict[str, list[float]], list[str]]:
    """Check the robot section against the URDF.

    Returns:
        The limits to fill in (key -> one value per joint) for keys the config left out, and
        warning lines for limits beyond the URDF's.

    Raises:
        ConfigError: a joint or link is not in the URDF, a joint is not actuated, or a limit
            is given neither in the config nor in the URDF.
    """
    spec, where = cfg.robot, urdf.path.name
    for i, joint in enumerate(spec.joints):
        found = urdf.joints.get(joint)
        if found is None:
            raise ConfigError(file, f"robot.joints[{i}]", f"expected a joint of {where}, got "
                              f"{joint!r}{_hint(joint, urdf.actuated)}")
        if found.type not in ACTUATED:
            raise ConfigError(file, f"robot.joints[{i}]", f"{joint!r} is a {found.type} joint "
                              f"in {where}; expected an actuated ({', '.join(ACTUATED)}) joint")
    for i, link in enumerate(spec.foot_links):
        _check_link(link, f"robot.foot_links[{i}]", urdf, file)
    if spec.end_effector_link:
        _check_link(spec.end_effector_link, "robot.end_effector_link", urdf, file)
    for i, cam in enumerate(cfg.cameras):
        if cam.link is not None and cam.link not in urdf.links:  # the base link is fine here
            raise ConfigError(file, f"cameras[{i}].link", f"expected a link of {where}, got "
                              f"{cam.link!r}{_hint(cam.link, urdf.links)}")

    attrs = {"position_lower": "lower", "position_upper": "upper",
             "velocity_limit": "velocity", "effort_limit": "effort"}
    filled: dict[str, list[float]] = {}
    warnings: list[str] = []
    for key in LIMIT_KEYS:
        given = getattr(spec, key)
        ours = [getattr(urdf.joints[j], attrs[key]) for j in spec.joints]
        if given is None:
            missing = [j for j, v in zip(spec.joints, ours, strict=True) if v is None]
            if missing:
                raise ConfigError(file, f"robot.{key}", f"expected one value per joint: {where}"
                                  f" has no {attrs[key]} limit for {_names(missing)} (e.g. a "
                                  "continuous joint), so the config must give it")
            filled[key] = [float(v) for v in ours]
            continue
        lower = key == "position_lower"
        beyond = [(j, v, u) for j, v, u in zip(spec.joints, given, ours, strict=True)
                  if u is not None and _beyond(key, v, u)]
        if beyond:
            listed = ", ".join(f"{j} {v:g} {'<' if lower else '>'} {u:g}"
                               for j, v, u in beyond[:3])
            more = f" and {len(beyond) - 3} more" if len(beyond) > 3 else ""
            warnings.append(f"{file}: robot.{key}: beyond the limits of {where} for "
                            f"{len(beyond)} joint(s) ({listed}{more}); the config's values apply")
    return filled, warnings


POSITION_TOLERANCE = 0.01
"""Position limits within this of the URDF's (rad or m) count as the same (rounding)."""
RATE_TOLERANCE = 0.01
"""Velocity and effort limits within this fraction of the URDF's count as the same."""


def _beyond(key: str, value: float, urdf: float) -> bool:
    if key == "position_lower":
        return value < urdf - POSITION_TOLERANCE
    if key == "position_upper":
        return value > urdf + POSITION_TOLERANCE
    return value > urdf * (1 + RATE_TOLERANCE)


def _check_link(link: str, key: str, urdf: Urdf, file: str | None) -> None:
    if link not in urdf.links:
        raise ConfigError(file, key, f"expected a link of {urdf.path.name}, got "
                          f"{link!r}{_hint(link, urdf.links)}")
    if link not in urdf.children:
        raise ConfigError(file, key, f"{link!r} is the base link of {urdf.path.name}; expected "
                          "a link below a joint (PyBullet reports those)")


def _hint(name: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")
