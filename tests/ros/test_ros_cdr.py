"""CDR codec: golden bytes against mcap_ros2's encoder, round trips, strict rejection."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ros_testutil import as_plain, mcap_ros2_encode, sample_messages

from robot_rl.ros import cdr, msgs

# sensor_msgs/JointState{stamp 1 s 2 ns, frame "base", names ["a", "bc"], position [1, 2],
# velocity [], effort [3]} as cyclonedds-python serializes it (worked by hand too: header,
# int32 1, uint32 2, "base\0" len 5 + 3 pad, 2 names, count 2 + 4 pad + 2 doubles, ...).
JOINT_STATE_GOLDEN = bytes.fromhex(
    "00010000" "01000000" "02000000" "05000000" "6261736500000000"
    "02000000" "0200000061000000" "030000006263000"
    "0" "02000000" "00000000" "000000000000f03f" "0000000000000040" "00000000"
    "01000000" "0000000000000840")

# Per-test settings (a global profile would change other packages' hypothesis tests).
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
arrays = st.lists(floats, max_size=8).map(lambda v: np.array(v, dtype=np.float64))
times = st.builds(msgs.Time, st.integers(-2**31, 2**31 - 1), st.integers(0, 2**32 - 1))
headers = st.builds(msgs.Header, times, names)
vectors = st.builds(msgs.Vector3, floats, floats, floats)
cov = st.lists(floats, min_size=9, max_size=9).map(np.array)

joint_states = st.builds(msgs.JointState, headers, st.lists(names, max_size=6), arrays, arrays,
                         arrays)
imus = st.builds(msgs.Imu, headers, st.builds(msgs.Quaternion, floats, floats, floats, floats),
                 cov, vectors, cov, vectors, cov)
dims = st.builds(msgs.MultiArrayDimension, names, st.integers(0, 2**32 - 1),
                 st.integers(0, 2**32 - 1))
multi_arrays = st.builds(msgs.Float64MultiArray,
                         st.builds(msgs.MultiArrayLayout, st.lists(dims, max_size=3),
                                   st.integers(0, 2**32 - 1)), arrays)
any_message = st.one_of(joint_states, imus, multi_arrays, st.builds(msgs.Bool, st.booleans()),
                        st.builds(msgs.String, names))


def test_joint_state_golden_bytes() -> None:
    msg = msgs.JointState.from_arrays(["a", "bc"], [1.0, 2.0], [], [3.0], stamp_ns=1_000_000_002,
                                      frame_id="base")
    assert cdr.encode(msg) == JOINT_STATE_GOLDEN
    assert mcap_ros2_encode(msg) == JOINT_STATE_GOLDEN
    assert msgs.messages_equal(cdr.decode(JOINT_STATE_GOLDEN, msgs.JointState), msg)


@pytest.mark.parametrize("topic", sorted(sample_messages()))
def test_sample_messages_equal_mcap_ros2_encoding(topic: str) -> None:
    msg = sample_messages()[topic]
    data = cdr.encode(msg)
    assert data[:4] == b"\x00\x01\x00\x00"
    assert data == mcap_ros2_encode(msg)


@pytest.mark.parametrize("msg", [msgs.Bool(False), msgs.Bool(True), msgs.String(""),
                                 msgs.JointState(), msgs.Imu(), msgs.Float64MultiArray()],
                         ids=lambda m: type(m).__name__)
def test_empty_and_default_messages_equal_mcap_ros2_encoding(msg: Any) -> None:
    assert cdr.encode(msg) == mcap_ros2_encode(msg)


def test_bool_and_string_exact_bytes() -> None:
    assert cdr.encode(msgs.Bool(True)) == b"\x00\x01\x00\x00\x01"
    assert cdr.encode(msgs.String("hi")) == b"\x00\x01\x00\x00\x03\x00\x00\x00hi\x00"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(joint_states, imus, multi_arrays))
def test_random_messages_equal_mcap_ros2_encoding(msg: Any) -> None:
    assert cdr.encode(msg) == mcap_ros2_encode(msg)


@fuzz
@given(any_message)
def test_round_trip(msg: Any) -> None:
    decoded = cdr.decode(cdr.encode(msg), type(msg))
    assert msgs.messages_equal(decoded, msg)


def test_decoded_arrays_are_owned_float64() -> None:
    state = cdr.decode(cdr.encode(sample_messages()["/joint_states"]), msgs.JointState)
    assert state.position.dtype == np.float64 and state.position.flags.writeable
    state.position[0] = 9.0  # must not touch the input buffer
    assert isinstance(state.name, list)


def test_mcap_ros2_decodes_our_bytes() -> None:
    from mcap_ros2._dynamic import generate_dynamic

    for msg in sample_messages().values():
        decoder = generate_dynamic(msg.ROS_TYPE, msgs.full_definition(type(msg)))[msg.ROS_TYPE]
        assert _plain_equal(as_plain(msg), decoder(cdr.encode(msg)))


def _plain_equal(expected: Any, decoded: Any) -> bool:
    if isinstance(expected, dict):
        return all(_plain_equal(v, getattr(decoded, k)) for k, v in expected.items())
    if isinstance(expected, list):
        return len(expected) == len(decoded) and all(
            _plain_equal(e, d) for e, d in zip(expected, decoded))
    return expected == decoded


def test_big_endian_input_is_decoded() -> None:
    body = struct.pack(">iI", 7, 8) + struct.pack(">I", 1) + b"\x00"
    header = cdr.decode(b"\x00\x00\x00\x00" + body, msgs.Header)
    assert header == msgs.Header(msgs.Time(7, 8), "")


def test_trailing_padding_up_to_three_bytes_is_accepted() -> None:
    data = cdr.encode(msgs.Bool(True))
    assert cdr.decode(data + b"\x00\x00\x00", msgs.Bool) == msgs.Bool(True)
    with pytest.raises(cdr.CdrError):
        cdr.decode(data + b"\x00" * 4, msgs.Bool)


def test_every_truncation_is_rejected() -> None:
    for msg in sample_messages().values():
        data = cdr.encode(msg)
        for cut in range(len(data) - 3 if len(data) > 8 else len(data)):
            with pytest.raises(cdr.CdrError):
                cdr.decode(data[:cut], type(msg))


@pytest.mark.parametrize("data,why", [
    (b"\x00\x07\x00\x00\x01", "XCDR2 header"),
    (b"\x00\x03\x00\x00\x01", "PL_CDR header"),
    (b"\x00\x01\x00\x00\x02", "bool byte 2"),
])
def test_bad_headers_and_bools_are_rejected(data: bytes, why: str) -> None:
    with pytest.raises(cdr.CdrError):
        cdr.decode(data, msgs.Bool)


def test_bad_strings_and_counts_are_rejected() -> None:
    hdr = b"\x00\x01\x00\x00"
    cases = [
        hdr + struct.pack("<I", 3) + b"abc",                 # no NUL terminator
        hdr + struct.pack("<I", 4) + b"a\x00c\x00",          # NUL inside
        hdr + struct.pack("<I", 3) + b"\xff\xfe\x00",        # invalid UTF-8
        hdr + struct.pack("<I", 0xFFFFFFFF) + b"x\x00",      # length beyond the data
    ]
    for data in cases:
        with pytest.raises(cdr.CdrError):
            cdr.decode(data, msgs.String)
    huge = (hdr + struct.pack("<iI", 0, 0) + struct.pack("<I", 1) + b"\x00\x00\x00\x00"
            + struct.pack("<I", 0x7FFFFFFF))                 # 2^31 names from 24 bytes
    with pytest.raises(cdr.CdrError):
        cdr.decode(huge, msgs.JointState)


@fuzz
@given(st.binary(max_size=200), st.sampled_from(msgs.TOPIC_TYPES))
def test_garbage_raises_only_cdr_error(data: bytes, msg_type: type) -> None:
    try:
        cdr.decode(data, msg_type)
    except cdr.CdrError:
        pass


@fuzz
@given(any_message, st.data())
def test_mutated_messages_raise_only_cdr_error(msg: Any, data: st.DataObject) -> None:
    raw = bytearray(cdr.encode(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        cdr.decode(bytes(raw), type(msg))
    except cdr.CdrError:
        pass


def test_cdr_error_is_a_value_error() -> None:
    assert issubclass(cdr.CdrError, ValueError)


def test_encode_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        cdr.encode(msgs.Imu(orientation_covariance=np.zeros(8)))
    with pytest.raises(ValueError):
        cdr.encode(msgs.String("a\x00b"))
    with pytest.raises(ValueError):
        cdr.encode(msgs.Header(msgs.Time(2**31, 0)))
    with pytest.raises(ValueError):
        cdr.encode(msgs.Float64MultiArray(data=np.array(["x"])))
    with pytest.raises(ValueError):
        cdr.encode(msgs.MultiArrayLayout(data_offset=-1))
    with pytest.raises(TypeError):
        cdr.encode(msgs.Header(frame_id=None))  # type: ignore[arg-type]


def test_field_names_match_dataclasses() -> None:
    for cls in msgs.MESSAGE_CLASSES.values():
        assert cdr.dataclass_matches_definition(cls)
