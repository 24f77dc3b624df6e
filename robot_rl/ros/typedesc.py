"""ROS 2 ``.msg`` parsing, full-definition text and RIHS01 type hashes (pure Python).

The field specs parsed here drive the CDR codec (:mod:`robot_rl.ros.cdr`); the same specs
give the RIHS01 hash that ROS 2 Jazzy puts in ``typehash=`` endpoint user data. Comparing
that hash with the one a real ROS 2 install reports checks the definitions field by field.

RIHS01 (REP 2011, ``rosidl_generator_type_description``): SHA-256 of the JSON text
``{"type_description": {...}, "referenced_type_descriptions": [...]}`` with Python's default
``json.dumps`` separators, default values left out, referenced types sorted by name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

# type_description_interfaces/FieldType ids; arrays add 48, bounded sequences 96,
# unbounded sequences 144.
PRIMITIVE_TYPE_IDS: dict[str, int] = {
    "int8": 2, "uint8": 3, "int16": 4, "uint16": 5, "int32": 6, "uint32": 7,
    "int64": 8, "uint64": 9, "float32": 10, "float64": 11, "char": 13,
    "bool": 15, "byte": 16, "string": 17, "wstring": 18,
}
_NESTED_TYPE_ID = 1
_ARRAY_OFFSET = 48
_SEQUENCE_OFFSET = 144
SEPARATOR = "=" * 80

_FIELD_RE = re.compile(r"^(?P<type>[A-Za-z0-9_/]+)(?:\[(?P<len>[0-9]*)\])?"
                       r"\s+(?P<name>[a-z][a-z0-9_]*)(?:\s+(?P<default>.+))?$")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message.

    Attributes:
        name: Field name.
        base: Primitive name (``float64``, ``string``...) or full type ``pkg/msg/Type``.
        kind: ``"scalar"``, ``"array"`` (fixed length) or ``"sequence"`` (unbounded).
        length: Element count for ``"array"``, else 0.
        default: Default value text from the ``.msg`` file, if any (not part of the hash).
    """

    name: str
    base: str
    kind: str = "scalar"
    length: int = 0
    default: str | None = None

    @property
    def is_primitive(self) -> bool:
        """Whether ``base`` is a primitive (not a nested message)."""
        return self.base in PRIMITIVE_TYPE_IDS


def _full_name(type_text: str, package: str) -> str:
    if type_text in PRIMITIVE_TYPE_IDS:
        return type_text
    parts = type_text.split("/")
    if len(parts) == 1:
        return f"{package}/msg/{parts[0]}"
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    if len(parts) == 3 and parts[1] == "msg":
        return type_text
    raise ValueError(f"bad type name {type_text!r}")


def parse_msg(ros_type: str, text: str) -> tuple[FieldSpec, ...]:
    """Parses a ``.msg`` definition into field specs.

    Supports primitive and nested fields, fixed arrays ``T[N]`` and unbounded sequences
    ``T[]``. Constants, bounded sequences and bounded strings are rejected (not needed here).

    Args:
        ros_type: Full type name, e.g. ``sensor_msgs/msg/JointState`` (gives the package
            used to resolve short nested names such as ``MultiArrayLayout``).
        text: The ``.msg`` text.

    Returns:
        The fields in declaration order.

    Raises:
        ValueError: On a line that is not a supported field declaration.
    """
    package = ros_type.split("/")[0]
    fields: list[FieldSpec] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _FIELD_RE.match(line)
        if m is None or "=" in line.split()[1]:
            raise ValueError(f"{ros_type}: unsupported line {raw!r}")
        base = _full_name(m["type"], package)
        length_text = m["len"]
        if length_text is None:
            kind, length = "scalar", 0
        elif length_text == "":
            kind, length = "sequence", 0
        else:
            kind, length = "array", int(length_text)
        fields.append(FieldSpec(m["name"], base, kind, length, m["default"]))
    return tuple(fields)


def dependencies(ros_type: str, definitions: Mapping[str, str]) -> list[str]:
    """Nested message types used by ``ros_type``, depth first, each once.

    Raises:
        KeyError: If a definition is missing from ``definitions``.
    """
    seen: list[str] = []

    def visit(name: str) -> None:
        for spec in parse_msg(name, definitions[name]):
            if not spec.is_primitive and spec.base not in seen:
                seen.append(spec.base)
                visit(spec.base)

    visit(ros_type)
    return seen


def full_definition(ros_type: str, definitions: Mapping[str, str]) -> str:
    """The concatenated definition text that rosbag2 and ``mcap_ros2`` use as schema data.

    The type's own text, then per dependency a line of 80 ``=``, ``MSG: pkg/Type`` and its text.
    """
    parts = [definitions[ros_type].strip()]
    for dep in dependencies(ros_type, definitions):
        pkg, _, name = dep.split("/")
        parts.append(f"{SEPARATOR}\nMSG: {pkg}/{name}\n{definitions[dep].strip()}")
    return "\n".join(parts) + "\n"


def _field_description(spec: FieldSpec) -> dict[str, object]:
    type_id = PRIMITIVE_TYPE_IDS.get(spec.base, _NESTED_TYPE_ID)
    if spec.kind == "array":
        type_id += _ARRAY_OFFSET
    elif spec.kind == "sequence":
        type_id += _SEQUENCE_OFFSET
    return {
        "name": spec.name,
        "type": {
            "type_id": type_id,
            "capacity": spec.length,
            "string_capacity": 0,
            "nested_type_name": "" if spec.is_primitive else spec.base,
        },
    }


def _type_description(ros_type: str, definitions: Mapping[str, str]) -> dict[str, object]:
    fields = [_field_description(s) for s in parse_msg(ros_type, definitions[ros_type])]
    return {"type_name": ros_type, "fields": fields}


def type_hash(ros_type: str, definitions: Mapping[str, str]) -> str:
    """Computes the RIHS01 type hash of ``ros_type`` (``RIHS01_<64 hex>``)."""
    document = {
        "type_description": _type_description(ros_type, definitions),
        "referenced_type_descriptions": [
            _type_description(dep, definitions)
            for dep in sorted(dependencies(ros_type, definitions))
        ],
    }
    text = json.dumps(document, ensure_ascii=True, allow_nan=False)
    return "RIHS01_" + hashlib.sha256(text.encode("utf-8")).hexdigest()
