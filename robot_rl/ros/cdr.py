"""Strict XCDR1 (plain CDR) encode/decode of the messages in :mod:`robot_rl.ros.msgs`.

This is the byte format of ROS 2 topics on DDS and of ``cdr`` messages in MCAP/rosbag2:

- a 4-byte encapsulation header ``00 01 00 00`` (CDR little endian; ``00 00`` big endian is
  accepted on decode), the last two bytes being options whose low bits count end padding;
- primitives aligned to their size (8 at most), measured from the byte after the header;
- strings as a uint32 length that counts the terminating NUL, the UTF-8 bytes, then NUL;
- sequences as a uint32 element count, then the elements; fixed arrays without a count.

Decoding is strict: truncated input, counts larger than the bytes left, a bool that is not
0 or 1, a string without its NUL or with invalid UTF-8, an XCDR2 or unknown header, or more
than 3 trailing bytes all raise :class:`CdrError` (a ``ValueError``). Nothing else escapes
:func:`decode`, so a node can drop a malformed sample and carry on. Values are not judged
(NaN and inf pass); that is the safety filter's job.
"""

from __future__ import annotations

import dataclasses
import struct
from functools import cache
from typing import Any, TypeVar

import numpy as np

from robot_rl.ros import msgs
from robot_rl.ros.typedesc import FieldSpec, parse_msg

M = TypeVar("M")

HEADER_LE = b"\x00\x01\x00\x00"
_HEADER_ORDER = {b"\x00\x01": "<", b"\x00\x00": ">"}
_MAX_TRAILING = 3

# primitive -> (struct code, size, numpy dtype code or None for non-numeric)
_PRIMITIVES: dict[str, tuple[str, int, str | None]] = {
    "bool": ("?", 1, None), "byte": ("B", 1, "u1"), "char": ("B", 1, "u1"),
    "int8": ("b", 1, "i1"), "uint8": ("B", 1, "u1"), "int16": ("h", 2, "i2"),
    "uint16": ("H", 2, "u2"), "int32": ("i", 4, "i4"), "uint32": ("I", 4, "u4"),
    "int64": ("q", 8, "i8"), "uint64": ("Q", 8, "u8"), "float32": ("f", 4, "f4"),
    "float64": ("d", 8, "f8"),
}


class CdrError(ValueError):
    """Bytes that are not a valid CDR encoding of the expected message type."""


@cache
def _specs(ros_type: str) -> tuple[FieldSpec, ...]:
    specs = parse_msg(ros_type, msgs.DEFINITIONS[ros_type])
    for spec in specs:
        if spec.base == "wstring":
            raise NotImplementedError(f"{ros_type}.{spec.name}: wstring is not supported")
    return specs


def _type_name(msg_type: type[Any] | str) -> str:
    return msg_type if isinstance(msg_type, str) else msg_type.ROS_TYPE


# ----------------------------------------------------------------------------- encoding


def _pad(buf: bytearray, size: int) -> None:
    pad = -(len(buf) - 4) % size
    if pad:
        buf.extend(bytes(pad))


def _put_string(buf: bytearray, text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        raise ValueError(f"string contains NUL: {text!r}")
    _pad(buf, 4)
    buf += struct.pack("<I", len(raw) + 1)
    buf += raw
    buf.append(0)


def _put_scalar(buf: bytearray, base: str, value: Any) -> None:
    if base == "string":
        _put_string(buf, value)
    elif base in _PRIMITIVES:
        code, size, _ = _PRIMITIVES[base]
        _pad(buf, size)
        try:
            buf += struct.pack("<" + code, value)
        except struct.error as err:
            raise ValueError(f"{base} value {value!r}: {err}") from None
    else:
        _put_struct(buf, base, value)


def _check_numeric(spec: FieldSpec, array: np.ndarray, target: np.dtype) -> None:
    allowed = "biuf" if target.kind == "f" else "biu"
    if array.dtype.kind not in allowed:
        raise ValueError(f"{spec.name}: cannot encode dtype {array.dtype} as {spec.base}")
    if target.kind in "iu" and array.dtype.kind != "b":
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            raise ValueError(f"{spec.name}: values out of range for {spec.base}")


def _put_many(buf: bytearray, spec: FieldSpec, values: Any) -> None:
    code, size, dtype = _PRIMITIVES.get(spec.base, ("", 0, None))
    if dtype is not None:
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"{spec.name}: expected a 1-D array, got shape {array.shape}")
        if array.size:
            _check_numeric(spec, array, np.dtype(dtype))
        count = array.size
    else:
        count = len(values)
    if spec.kind == "array" and count != spec.length:
        raise ValueError(f"{spec.name}: expected {spec.length} elements, got {count}")
    if spec.kind == "sequence":
        _pad(buf, 4)
        buf += struct.pack("<I", count)
    if dtype is not None:
        if count:
            _pad(buf, size)
            buf += np.ascontiguousarray(array, dtype="<" + dtype).tobytes()
    else:
        for value in values:
            _put_scalar(buf, spec.base, value)


def _put_struct(buf: bytearray, ros_type: str, msg: Any) -> None:
    for spec in _specs(ros_type):
        value = getattr(msg, spec.name)
        if spec.kind == "scalar":
            _put_scalar(buf, spec.base, value)
        else:
            _put_many(buf, spec, value)


def encode(msg: Any) -> bytes:
    """Encodes a message dataclass as CDR little endian, header included.

    Raises:
        ValueError: On a value that does not fit its field (wrong fixed-array length, integer
            out of range, NUL inside a string, non-numeric array).
        TypeError: On a string field holding something else.
    """
    buf = bytearray(HEADER_LE)
    _put_struct(buf, msg.ROS_TYPE, msg)
    return bytes(buf)


# ----------------------------------------------------------------------------- decoding


class _Reader:
    __slots__ = ("data", "pos", "end", "order")

    def __init__(self, data: bytes, order: str) -> None:
        self.data = data
        self.pos = 4
        self.end = len(data)
        self.order = order

    def take(self, size: int, count: int = 1) -> int:
        """Aligns to ``size``, reserves ``size * count`` bytes, returns their offset."""
        self.pos += -(self.pos - 4) % size
        start = self.pos
        if start + size * count > self.end:
            raise CdrError(f"truncated: need {size * count} bytes at offset {start}, "
                           f"have {max(0, self.end - start)}")
        self.pos = start + size * count
        return start

    def count(self, min_element_size: int) -> int:
        n = struct.unpack_from(self.order + "I", self.data, self.take(4))[0]
        if n * min_element_size > self.end - self.pos:
            raise CdrError(f"count {n} at offset {self.pos - 4} exceeds the bytes left")
        return n

    def string(self) -> str:
        n = struct.unpack_from(self.order + "I", self.data, self.take(4))[0]
        if n == 0:  # not valid CDR, but unambiguous: some writers send it for ""
            return ""
        if n > self.end - self.pos:
            raise CdrError(f"string length {n} at offset {self.pos - 4} exceeds the bytes left")
        start = self.take(1, n)
        raw = self.data[start:start + n - 1]
        if self.data[start + n - 1] != 0 or b"\x00" in raw:
            raise CdrError(f"string at offset {start} is not NUL-terminated exactly once")
        return raw.decode("utf-8")

    def scalar(self, base: str) -> Any:
        if base == "string":
            return self.string()
        if base in _PRIMITIVES:
            code, size, _ = _PRIMITIVES[base]
            if base == "bool":
                byte = self.data[self.take(1)]
                if byte > 1:
                    raise CdrError(f"bool byte {byte} at offset {self.pos - 1}")
                return bool(byte)
            return struct.unpack_from(self.order + code, self.data, self.take(size))[0]
        return self.struct(base)

    def many(self, spec: FieldSpec) -> Any:
        _, size, dtype = _PRIMITIVES.get(spec.base, ("", 0, None))
        min_size = size or (4 if spec.base == "string" else 1)
        n = spec.length if spec.kind == "array" else self.count(min_size)
        if dtype is not None:
            if n == 0:
                return np.zeros(0, dtype=dtype)
            start = self.take(size, n)
            raw = np.frombuffer(self.data, dtype=self.order + dtype, count=n, offset=start)
            return raw.astype(dtype)
        return [self.scalar(spec.base) for _ in range(n)]

    def struct(self, ros_type: str) -> Any:
        values = {}
        for spec in _specs(ros_type):
            values[spec.name] = (self.scalar(spec.base) if spec.kind == "scalar"
                                 else self.many(spec))
        return msgs.MESSAGE_CLASSES[ros_type](**values)


def decode(data: bytes | bytearray | memoryview, msg_type: type[M] | str) -> M:
    """Decodes CDR bytes (header included) into a message dataclass.

    Args:
        data: The serialized message as received from DDS, rclpy (raw) or MCAP.
        msg_type: The dataclass (or its ROS type name) the bytes must encode.

    Raises:
        CdrError: If the bytes are not a valid encoding of ``msg_type``.
    """
    data = bytes(data)
    if len(data) < 4:
        raise CdrError(f"{len(data)} bytes: shorter than the encapsulation header")
    order = _HEADER_ORDER.get(data[:2])
    if order is None:
        raise CdrError(f"encapsulation {data[:2].hex()} is not plain CDR (XCDR1)")
    reader = _Reader(data, order)
    try:
        msg = reader.struct(_type_name(msg_type))
    except CdrError:
        raise
    except (struct.error, UnicodeDecodeError, ValueError, OverflowError) as err:
        raise CdrError(f"malformed {_type_name(msg_type)}: {err}") from None
    if reader.end - reader.pos > _MAX_TRAILING:
        raise CdrError(f"{reader.end - reader.pos} trailing bytes after the message")
    return msg


def field_names(msg_type: type[Any] | str) -> tuple[str, ...]:
    """Field names of a message type in wire order (equals its dataclass fields)."""
    return tuple(spec.name for spec in _specs(_type_name(msg_type)))


def dataclass_matches_definition(msg_type: type[Any]) -> bool:
    """Whether a dataclass declares exactly the fields of its ``.msg`` definition, in order."""
    return tuple(f.name for f in dataclasses.fields(msg_type)) == field_names(msg_type)
