"""Wire format: a versioned msgpack header plus raw numpy buffers. Pure functions, no pickle.

A message is a list of frames::

    frame 0    msgpack map {"v": PROTOCOL_VERSION, "kind": str, "meta": map,
                            "arrays": [[name, dtype, shape], ...]}
    frame 1..n the raw bytes of each array, in the order of "arrays": C order, little endian

``meta`` holds only msgpack-native values (None, bool, int, float, str, bytes, lists and
str-keyed maps of those). ``dtype`` is a numpy dtype string from :data:`DTYPES`, ``shape`` a
list of non-negative ints whose product times the item size must equal the frame's length.
:func:`decode` checks all of this against :class:`WireLimits` and raises :class:`WireError`
(a ``ValueError``) on the first problem; it never unpickles and never allocates more than the
limits allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack
import numpy as np

PROTOCOL_VERSION = 1

#: dtypes allowed on the wire, as numpy dtype strings (little endian or byte-order free).
DTYPES: frozenset[str] = frozenset(
    ["|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"]
)

_MAX_NAME_LEN = 128
_MAX_KIND_LEN = 64


class WireError(ValueError):
    """A message that cannot be encoded or decoded; the text says what is wrong."""


@dataclass(frozen=True)
class WireLimits:
    """Size limits that :func:`decode` enforces before it trusts anything in a message.

    Attributes:
        max_frames: most frames in one message, header included.
        max_message_bytes: most bytes in one message, all frames together.
        max_header_bytes: most bytes in the msgpack header frame.
        max_ndim: most dimensions of one array.
        max_meta_depth: deepest nesting of lists and maps inside ``meta``.
    """

    max_frames: int = 65
    max_message_bytes: int = 64 * 1024 * 1024
    max_header_bytes: int = 64 * 1024
    max_ndim: int = 8
    max_meta_depth: int = 8


DEFAULT_LIMITS = WireLimits()


class Message(NamedTuple):
    """A decoded message. Arrays are read-only views on the received frames."""

    kind: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def _check_meta(value: Any, depth: int, max_depth: int, where: str = "meta") -> None:
    if depth > max_depth:
        raise WireError(f"{where}: nested deeper than {max_depth}")
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        if isinstance(value, int) and not isinstance(value, bool):
            if not -(2**63) <= value < 2**64:
                raise WireError(f"{where}: integer {value} does not fit in 64 bits")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_meta(item, depth + 1, max_depth, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError(f"{where}: map key {key!r} is not a str")
            _check_meta(item, depth + 1, max_depth, f"{where}.{key}")
        return
    raise WireError(f"{where}: {type(value).__name__} is not a msgpack-native type")


def _wire_dtype(array: np.ndarray, name: str) -> np.dtype:
    dtype = array.dtype
    if dtype.byteorder == ">" or (dtype.byteorder == "=" and not np.little_endian):
        dtype = dtype.newbyteorder("<")
    if dtype.str not in DTYPES:
        raise WireError(f"array {name!r}: dtype {array.dtype} is not allowed on the wire")
    return dtype


def encode(
    kind: str,
    meta: Mapping[str, Any] | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    limits: WireLimits = DEFAULT_LIMITS,
) -> list[bytes]:
    """Encodes one message into frames.

    Args:
        kind: message kind, a short non-empty str.
        meta: msgpack-native values only (no numpy scalars).
        arrays: named numpy arrays; copied into C-contiguous little-endian buffers.
        limits: the same limits the receiver will apply, so a sender fails early.

    Returns:
        ``[header, buffer_0, ..., buffer_n]`` as bytes.

    Raises:
        WireError: unsupported dtype or meta value, or a message over the limits.
    """
    if not isinstance(kind, str) or not 0 < len(kind) <= _MAX_KIND_LEN:
        raise WireError(f"kind must be a str of 1..{_MAX_KIND_LEN} characters, got {kind!r}")
    meta = dict(meta or {})
    _check_meta(meta, 0, limits.max_meta_depth)
    specs: list[list[Any]] = []
    buffers: list[bytes] = []
    for name, array in (arrays or {}).items():
        if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME_LEN:
            raise WireError(f"array name must be a str of 1..{_MAX_NAME_LEN} characters")
        array = np.asarray(array)
        if array.ndim > limits.max_ndim:
            raise WireError(f"array {name!r}: {array.ndim} dimensions > {limits.max_ndim}")
        dtype = _wire_dtype(array, name)
        specs.append([name, dtype.str, list(array.shape)])
        buffers.append(np.ascontiguousarray(array, dtype=dtype).tobytes())
    header = msgpack.packb(
        {"v": PROTOCOL_VERSION, "kind": kind, "meta": meta, "arrays": specs}, use_bin_type=True
    )
    frames = [header, *buffers]
    _check_sizes(len(frames), len(header), sum(len(f) for f in frames), limits)
    return frames


def _check_sizes(n_frames: int, header_bytes: int, total: int, limits: WireLimits) -> None:
    if n_frames > limits.max_frames:
        raise WireError(f"{n_frames} frames > limit {limits.max_frames}")
    if header_bytes > limits.max_header_bytes:
        raise WireError(f"header of {header_bytes} bytes > limit {limits.max_header_bytes}")
    if total > limits.max_message_bytes:
        raise WireError(f"message of {total} bytes > limit {limits.max_message_bytes}")


def _reject_ext(code: int, data: bytes) -> Any:
    raise WireError(f"msgpack extension type {code} is not allowed")


def _unpack_header(raw: memoryview, limits: WireLimits) -> dict[str, Any]:
    n = len(raw)
    try:
        header = msgpack.unpackb(
            raw,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_reject_ext,
            max_str_len=n,
            max_bin_len=n,
            max_array_len=n,
            max_map_len=n,
            max_ext_len=0,
        )
    except WireError:
        raise
    except Exception as err:  # msgpack raises several types for broken input
        raise WireError(f"header is not valid msgpack: {type(err).__name__}: {err}") from None
    if not isinstance(header, dict):
        raise WireError(f"header must be a map, got {type(header).__name__}")
    return header


def _array_from_spec(spec: Any, frame: memoryview, limits: WireLimits) -> tuple[str, np.ndarray]:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise WireError(f"array spec must be [name, dtype, shape], got {spec!r:.100}")
    name, dtype_str, shape = spec
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME_LEN:
        raise WireError(f"array name must be a str of 1..{_MAX_NAME_LEN} characters")
    if not isinstance(dtype_str, str) or dtype_str not in DTYPES:
        raise WireError(f"array {name!r}: dtype {dtype_str!r:.40} is not allowed")
    if not isinstance(shape, list) or len(shape) > limits.max_ndim:
        raise WireError(f"array {name!r}: shape must be a list of at most {limits.max_ndim} ints")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise WireError(f"array {name!r}: shape {shape!r:.80} must hold non-negative ints")
    dtype = np.dtype(dtype_str)
    expected = math.prod(shape) * dtype.itemsize
    if expected != frame.nbytes:
        raise WireError(
            f"array {name!r}: shape {shape} x {dtype_str} needs {expected} bytes, "
            f"frame has {frame.nbytes}"
        )
    if dtype == np.bool_ and frame.nbytes and np.frombuffer(frame, np.uint8).max() > 1:
        raise WireError(f"array {name!r}: bool bytes must be 0 or 1")
    array = np.frombuffer(frame, dtype=dtype).reshape(shape)
    array.flags.writeable = False
    return name, array


def decode(frames: Sequence[Any], limits: WireLimits = DEFAULT_LIMITS) -> Message:
    """Decodes and validates one message.

    Args:
        frames: the frames as bytes-like objects (bytes, memoryview, ``zmq.Frame``).
        limits: size limits to enforce.

    Returns:
        The message; its arrays are read-only and share memory with ``frames``.

    Raises:
        WireError: anything wrong with the message, named in the text.
    """
    if len(frames) == 0:
        raise WireError("empty message: no header frame")
    views = [memoryview(f).cast("B") for f in frames[: limits.max_frames + 1]]
    _check_sizes(len(frames), views[0].nbytes, sum(v.nbytes for v in views), limits)
    header = _unpack_header(views[0], limits)
    if set(header) != {"v", "kind", "meta", "arrays"}:
        raise WireError(f"header keys must be v, kind, meta, arrays; got {sorted(header)}")
    if header["v"] != PROTOCOL_VERSION or isinstance(header["v"], bool):
        raise WireError(f"protocol version {header['v']!r:.20} != {PROTOCOL_VERSION}")
    kind, meta, specs = header["kind"], header["meta"], header["arrays"]
    if not isinstance(kind, str) or not 0 < len(kind) <= _MAX_KIND_LEN:
        raise WireError(f"kind must be a str of 1..{_MAX_KIND_LEN} characters")
    if not isinstance(meta, dict):
        raise WireError(f"meta must be a map, got {type(meta).__name__}")
    _check_meta(meta, 0, limits.max_meta_depth)
    if not isinstance(specs, list):
        raise WireError("arrays must be a list of [name, dtype, shape]")
    if len(specs) != len(frames) - 1:
        raise WireError(f"header names {len(specs)} arrays but {len(frames) - 1} frames follow")
    arrays: dict[str, np.ndarray] = {}
    for spec, frame in zip(specs, views[1:], strict=True):
        name, array = _array_from_spec(spec, frame, limits)
        if name in arrays:
            raise WireError(f"array {name!r} appears twice")
        arrays[name] = array
    return Message(kind, meta, arrays)
