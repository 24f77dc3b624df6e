"""Turn plain YAML data into validated, typed dataclasses.

The loader walks a dataclass's type hints and checks every value against them: unknown keys,
wrong types, missing required fields and bad list lengths each raise a
:class:`~robot_rl.errors.ConfigError` that names the file, the dotted key and what was
expected. Dataclasses may define ``validate(self, fail)`` for range and cross-field checks;
``fail(key, expected)`` raises the error with the key made relative to the dataclass.

This is the one validator of robot configs: every section, ``aprl`` and ``task_graph``
included, is a dataclass read by :func:`from_dict`. A field whose YAML key is not a Python
name (``from``) names its key in ``field(metadata={"key": "from"})``; a list with one value
per joint says so with ``metadata={"per_joint": True}`` (a single number there is refused
naming that).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, NoReturn, TypeVar, get_args, get_origin, get_type_hints

from robot_rl.errors import ConfigError

T = TypeVar("T")
Fail = Callable[[str, str], NoReturn]

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        inner = _describe(args[0]) if args else "values"
        return f"a list of {inner.removeprefix('a ').removeprefix('an ')}s"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin is dict:
        return "a mapping"
    return str(tp)


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters (never the repr of a huge value)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
        return repr(value)[:-1] + "...'"
    if isinstance(value, (list, tuple, dict)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return f"got {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"got {short(value)}"
    if isinstance(value, str):
        return f"got the string {short(value)}"
    if value is None:
        return "got nothing (null)"
    if isinstance(value, list):
        return "got a list"
    if isinstance(value, dict):
        return "got a mapping"
    return f"got {type(value).__name__}"


class _Ctx:
    """Where we are while converting: the file and the dotted key."""

    def __init__(self, file: str | None, key: str) -> None:
        self.file, self.key = file, key

    def child(self, name: str | int) -> _Ctx:
        if isinstance(name, int):
            return _Ctx(self.file, f"{self.key}[{name}]")
        return _Ctx(self.file, f"{self.key}.{name}" if self.key else name)

    def fail(self, expected: str) -> NoReturn:
        raise ConfigError(self.file, self.key, expected)


def _convert(tp: Any, value: Any, ctx: _Ctx) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        fitting = [a for a in arms if _fits(a, value)]
        if len(fitting) == 1:  # the one arm of the value's shape gives the precise error
            return _convert(fitting[0], value, ctx)
        errors: list[ConfigError] = []
        for arg in fitting or arms:
            try:
                return _convert(arg, value, ctx)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        ctx.fail(f"expected {_describe(tp)}, {_got(value)}")
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            ctx.fail(f"expected true or false, {_got(value)}")
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 1e6 (docs/learner.md writes buffer_size so), 3000.0
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.fail(f"expected an integer, {_got(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            ctx.fail(f"expected a number, {_got(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            ctx.fail(f"expected a finite number, {_got(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            ctx.fail(f"expected a string, {_got(value)}")
        return value
    if origin is Literal:
        if value not in get_args(tp):
            ctx.fail(f"expected {_describe(tp)}, {_got(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            ctx.fail(f"expected {_describe(tp)}, {_got(value)}")
        (inner, *_rest) = [a for a in get_args(tp) if a is not Ellipsis] or [Any]
        items = [_convert(inner, v, ctx.child(i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            ctx.fail(f"expected a mapping, {_got(value)}")
        _, vt = get_args(tp)
        for k in value:
            if not isinstance(k, str):
                ctx.fail(f"expected text keys, got the key {short(k)}")
        return {k: _convert(vt, v, ctx.child(k)) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value, ctx.file, ctx.key)
    raise TypeError(f"unsupported config type {tp!r}")  # a bug in a schema, not user input


def _fits(tp: Any, value: Any) -> bool:
    """Whether ``value`` has the shape of ``tp`` (mapping, list or scalar), ignoring details."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) or origin is dict:
        return isinstance(value, Mapping)
    if origin in (list, tuple):
        return isinstance(value, list)
    return not isinstance(value, (Mapping, list))


def yaml_key(field: dataclasses.Field[Any]) -> str:
    """The YAML key of a dataclass field (``metadata["key"]``, else the field's name).

    A field with ``metadata={"yaml": False}`` (set by code, e.g. ``RobotConfig.source``) is not
    read from YAML.
    """
    return str(field.metadata.get("key", field.name))


def _unknown_key(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    listing = ", ".join(known)
    if len(listing) > 160:
        return f"unknown key; {hint}see docs/configs.md for the keys of this section"
    return f"unknown key; {hint}expected one of: {listing}"


def from_dict(cls: type[T], data: Any, file: str | None = None, key: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, validating types, keys and ranges.

    Args:
        cls: the dataclass type to build.
        data: the parsed YAML mapping (``None`` counts as empty).
        file: the file the data came from, for error messages.
        key: the dotted key of ``data`` inside the file ("" for the root).

    Returns:
        The validated dataclass instance.

    Raises:
        ConfigError: one line naming the file, the key and what was expected.
    """
    ctx = _Ctx(file, key)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        ctx.fail(f"expected a mapping of settings, {_got(data)}")
    hints = get_type_hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if f.init and f.metadata.get("yaml", True)}
    for name in data:
        if not isinstance(name, str):
            what = str(name).lower() if isinstance(name, bool) else short(name)
            ctx.fail(f"expected text keys, got the key {what}"
                     + (" (a bare yes/no/on/off; quote it)" if isinstance(name, bool) else ""))
        if name not in fields:
            ctx.child(name).fail(_unknown_key(name, sorted(fields)))
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data and field.metadata.get("per_joint") and not isinstance(
                data[name], (list, type(None))):
            ctx.child(name).fail(f"expected a list of numbers, one per joint (in the order of "
                                 f"joints), {_got(data[name])}")
        if name in data:
            kwargs[field.name] = _convert(hints[field.name], data[name], ctx.child(name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            ctx.child(name).fail(f"missing required key (expected "
                                 f"{_describe(hints[field.name])})")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):

        def fail(sub: str, expected: str) -> NoReturn:
            target = ctx
            for part in filter(None, sub.split(".")):
                target = target.child(part)
            target.fail(expected)

        validate(fail)
    return obj


def to_dict(obj: Any) -> Any:
    """Turn a config dataclass back into plain YAML-friendly data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {yaml_key(f): to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("yaml", True)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
