"""Wire format: round trips, and rejection of empty, huge, truncated, wrong-version/dtype input."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robot_rl.transport.wire import (
    DTYPES,
    PROTOCOL_VERSION,
    WireError,
    WireLimits,
    decode,
    encode,
)

pytestmark = pytest.mark.timeout(60)


def _header(frames: list[bytes]) -> dict:
    return msgpack.unpackb(frames[0], raw=False)


def _with_header(frames: list[bytes], **changes) -> list[bytes]:
    header = _header(frames)
    header.update(changes)
    return [msgpack.packb(header, use_bin_type=True), *frames[1:]]


def test_round_trip_keeps_kind_meta_dtype_shape_and_values() -> None:
    arrays = {
        "obs": np.arange(46 * 3, dtype=np.float32).reshape(3, 46),
        "act": np.linspace(-1, 1, 36).reshape(3, 12),
        "done": np.array([True, False, True]),
        "uid": np.array([1, 2, 3], dtype=np.uint64),
        "scalar": np.float16(2.5),
    }
    meta = {"seq": 7, "nested": {"a": [1, 2.5, None, "x", b"\x00"]}, "flag": False}
    msg = decode(encode("tr", meta, arrays))
    assert msg.kind == "tr" and msg.meta == meta
    assert list(msg.arrays) == list(arrays)
    for name, array in arrays.items():
        assert msg.arrays[name].dtype == np.asarray(array).dtype
        assert msg.arrays[name].shape == np.shape(array)
        np.testing.assert_array_equal(msg.arrays[name], array)
        assert not msg.arrays[name].flags.writeable


def test_big_endian_and_non_contiguous_arrays_arrive_as_little_endian_values() -> None:
    big = np.arange(6, dtype=">i4").reshape(2, 3)
    strided = np.arange(20, dtype=np.float64)[::2]
    msg = decode(encode("x", {}, {"big": big, "strided": strided}))
    assert msg.arrays["big"].dtype == np.dtype("<i4")
    np.testing.assert_array_equal(msg.arrays["big"], big)
    np.testing.assert_array_equal(msg.arrays["strided"], strided)


def test_empty_arrays_and_empty_message_round_trip() -> None:
    msg = decode(encode("empty"))
    assert msg == ("empty", {}, {})
    msg = decode(encode("x", {}, {"none": np.zeros((0, 46), np.float32)}))
    assert msg.arrays["none"].shape == (0, 46)


def test_no_frames_is_rejected() -> None:
    with pytest.raises(WireError, match="empty message"):
        decode([])


def test_huge_messages_are_rejected_on_both_sides() -> None:
    limits = WireLimits(max_message_bytes=1024)
    big = {"a": np.zeros(1024, np.uint8)}
    with pytest.raises(WireError, match="limit"):
        encode("x", {}, big, limits)
    frames = encode("x", {}, big)
    with pytest.raises(WireError, match="limit"):
        decode(frames, limits)
    with pytest.raises(WireError, match="frames"):
        decode(encode("x", {}, {f"a{i}": np.zeros(1) for i in range(70)},
                      WireLimits(max_frames=100)))
    with pytest.raises(WireError, match="header"):
        decode(encode("x", {"s": "y" * 100_000}, limits=WireLimits(max_header_bytes=10**6)))


def test_huge_declared_shape_is_rejected_without_allocating() -> None:
    frames = _with_header(encode("x", {}, {"a": np.zeros(4, np.float32)}),
                          arrays=[["a", "<f4", [2**40, 2**40]]])
    with pytest.raises(WireError, match="needs"):
        decode(frames)


@pytest.mark.parametrize("cut", [1, 5, -1])
def test_truncated_header_is_rejected(cut: int) -> None:
    frames = encode("x", {"k": "v" * 20}, {"a": np.zeros(3)})
    with pytest.raises(WireError, match="msgpack"):
        decode([frames[0][:cut], *frames[1:]])


def test_truncated_or_missing_buffer_is_rejected() -> None:
    frames = encode("x", {}, {"a": np.zeros(3), "b": np.zeros(2)})
    with pytest.raises(WireError, match="needs 24 bytes"):
        decode([frames[0], frames[1][:-1], frames[2]])
    with pytest.raises(WireError, match="2 arrays but 1 frames"):
        decode(frames[:2])
    with pytest.raises(WireError, match="2 arrays but 3 frames"):
        decode([*frames, b""])


@pytest.mark.parametrize("version", [0, 2, PROTOCOL_VERSION + 100, "1", None, True])
def test_wrong_version_is_rejected(version: object) -> None:
    frames = _with_header(encode("x"), v=version)
    with pytest.raises(WireError, match="version"):
        decode(frames)


@pytest.mark.parametrize("dtype", ["|O", "<c8", ">f4", "<M8[s]", "|V8", "<U4", "f4", 7, None])
def test_wrong_dtype_is_rejected(dtype: object) -> None:
    frames = _with_header(encode("x", {}, {"a": np.zeros(8, np.uint8)}),
                          arrays=[["a", dtype, [1]]])
    with pytest.raises(WireError, match="dtype"):
        decode(frames)


@pytest.mark.parametrize("array", [np.array([1 + 2j]), np.array(["s"]), np.array([object()]),
                                   np.zeros(2, dtype="datetime64[s]")])
def test_unsupported_dtypes_cannot_be_encoded(array: np.ndarray) -> None:
    with pytest.raises(WireError, match="dtype"):
        encode("x", {}, {"a": array})


@pytest.mark.parametrize("meta", [{"a": np.float32(1)}, {"a": {1: 2}}, {"a": object()},
                                  {"a": 2**64}, {"a": [[[[[[[[[[1]]]]]]]]]]}])
def test_meta_must_be_msgpack_native(meta: dict) -> None:
    with pytest.raises(WireError, match="meta"):
        encode("x", meta)


@pytest.mark.parametrize(
    "header",
    [
        [1, "x", {}, []],
        {"v": 1, "kind": "x", "meta": {}},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [], "extra": 1},
        {"v": 1, "kind": "", "meta": {}, "arrays": []},
        {"v": 1, "kind": "x", "meta": [], "arrays": []},
        {"v": 1, "kind": "x", "meta": {}, "arrays": {}},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["a", "<f4"]]},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["a", "<f4", [-1]]]},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["a", "<f4", 4]]},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["a", "<f4", [1.0]]]},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["", "<f4", [1]]]},
        {"v": 1, "kind": "x", "meta": {}, "arrays": [["a", "<f4", [1] * 9]]},
    ],
)
def test_malformed_headers_are_rejected(header: object) -> None:
    n_arrays = len(header["arrays"]) if isinstance(header, dict) and isinstance(
        header.get("arrays"), list) else 0
    with pytest.raises(WireError):
        decode([msgpack.packb(header), *[b"\0" * 4] * n_arrays])


def test_duplicate_names_ext_types_int_keys_and_bad_bools_are_rejected() -> None:
    spec = ["a", "<f4", [1]]
    dup = {"v": 1, "kind": "x", "meta": {}, "arrays": [spec, spec]}
    with pytest.raises(WireError, match="twice"):
        decode([msgpack.packb(dup), b"\0" * 4, b"\0" * 4])
    ext = {"v": 1, "kind": "x", "meta": {"e": msgpack.ExtType(5, b"evil")}, "arrays": []}
    with pytest.raises(WireError, match="ext"):
        decode([msgpack.packb(ext)])
    stamp = {"v": 1, "kind": "x", "meta": {"t": msgpack.Timestamp(1)}, "arrays": []}
    with pytest.raises(WireError, match="ext|Timestamp"):
        decode([msgpack.packb(stamp)])
    int_key = {"v": 1, "kind": "x", "meta": {1: 2}, "arrays": []}
    with pytest.raises(WireError, match="msgpack"):
        decode([msgpack.packb(int_key)])
    bools = encode("x", {}, {"b": np.array([True, False])})
    with pytest.raises(WireError, match="bool"):
        decode([bools[0], b"\x02\x00"])


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(WireError):
        decode([b"\x91" * 5000 + b"\xc0"])
    deep: object = 1
    for _ in range(20):
        deep = [deep]
    with pytest.raises(WireError, match="deeper"):
        decode([msgpack.packb({"v": 1, "kind": "x", "meta": {"d": deep}, "arrays": []})])


_dtypes = st.sampled_from(sorted(DTYPES)).map(np.dtype)
_arrays = _dtypes.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=4,
                                                                     min_side=0, max_side=6)))
_meta_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(kind=st.text(min_size=1, max_size=64),
       meta=st.dictionaries(st.text(max_size=8), _meta_values, max_size=5),
       arrays=st.dictionaries(st.text(min_size=1, max_size=20), _arrays, max_size=5))
def test_round_trip_property(kind: str, meta: dict, arrays: dict) -> None:
    msg = decode(encode(kind, meta, arrays))
    assert msg.kind == kind and msg.meta == meta and list(msg.arrays) == list(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(msg.arrays[name], array)
        assert msg.arrays[name].dtype == array.dtype and msg.arrays[name].shape == array.shape


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.binary(max_size=64), max_size=4))
def test_random_bytes_never_crash_decode(frames: list[bytes]) -> None:
    try:
        decode(frames)
    except WireError:
        pass
