"""rclpy edge: our CDR against rclpy's serialization, rclpy nodes, DDS <-> rclpy.

rclpy comes from PyPI (ros-jazzy-rclpy, ros-jazzy-std-msgs, ros-jazzy-sensor-msgs,
ros-jazzy-rmw-fastrtps-cpp; in the ``test`` extra), so these tests always run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rclpy.serialization import deserialize_message, serialize_message
from ros_testutil import sample_messages

from robot_rl.ros import cdr, msgs
from robot_rl.ros.rclpy_node import RclpyNode, ros_message_class

pytestmark = pytest.mark.timeout(60)


def padding_mask(msg: Any) -> list[bool]:
    """Which bytes of ``cdr.encode(msg)`` are alignment padding (True), found by encoding
    once with zero and once with 0xFF padding."""
    original = cdr._pad

    def pad_ff(buf: bytearray, size: int) -> None:
        buf.extend(b"\xff" * (-(len(buf) - 4) % size))

    zero = cdr.encode(msg)
    cdr._pad = pad_ff
    try:
        ff = cdr.encode(msg)
    finally:
        cdr._pad = original
    assert len(ff) == len(zero)
    return [a != b for a, b in zip(zero, ff)]


@pytest.mark.parametrize("topic", sorted(sample_messages()))
def test_rclpy_serialization_equals_ours_but_for_padding(topic: str) -> None:
    # Fast CDR leaves alignment padding uninitialized and may pad the end to 4 bytes (a Bool
    # is 8 bytes, ours 5): every other byte must be equal, and each side decodes the other's.
    msg = sample_messages()[topic]
    ours = cdr.encode(msg)
    ros_msg = deserialize_message(ours, ros_message_class(msg.ROS_TYPE))
    theirs = serialize_message(ros_msg)
    assert len(theirs) in (len(ours), len(ours) + (-len(ours) % 4))
    mask = padding_mask(msg)
    assert [b for b, pad in zip(theirs, mask) if not pad] == \
        [b for b, pad in zip(ours, mask) if not pad]
    assert msgs.messages_equal(cdr.decode(theirs, type(msg)), msg)


@pytest.mark.parametrize("ros_type", sorted(msgs.TYPE_HASHES))
def test_type_hashes_equal_the_installed_jazzy_type_descriptions(ros_type: str) -> None:
    package, _, name = ros_type.split("/")
    share = Path(sys.prefix) / "share" / package / "msg" / f"{name}.json"
    hashes = {h["type_name"]: h["hash_string"]
              for h in json.loads(share.read_text())["type_hashes"]}
    assert hashes[ros_type] == msgs.TYPE_HASHES[ros_type] == msgs.type_hash(ros_type)


def _spin_until(nodes: list[RclpyNode], done: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        for node in nodes:
            node.spin_once(0.02)
    return bool(done())


def test_rclpy_nodes_exchange_our_messages(domain_id: int) -> None:
    a = RclpyNode("robot_rl_test_pub", domain_id=domain_id)
    b = RclpyNode("robot_rl_test_sub", domain_id=domain_id)
    try:
        got: list[msgs.JointState] = []
        pub = a.publisher("/robot_rl_test/joint_states", msgs.JointState)
        b.subscription("/robot_rl_test/joint_states", msgs.JointState, got.append)
        sample = sample_messages()["/joint_states"]
        assert _spin_until([a, b], lambda: pub.matched_count() > 0)
        pub.publish(sample)
        assert _spin_until([a, b], lambda: bool(got))
        assert msgs.messages_equal(got[0], sample)
    finally:
        b.close()
        a.close()


def test_dds_node_reaches_an_rclpy_node(domain_id: int) -> None:
    # The ROS graph (Fast DDS under rclpy) sees a plain cyclonedds publisher; same domain and
    # discovery settings as rmw (loopback, from ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST).
    from robot_rl.ros.dds import DdsNode

    ros = RclpyNode("robot_rl_test_listener", domain_id=domain_id)
    got: list[msgs.Bool] = []
    ros.subscription("/robot_rl_test/estop", msgs.Bool, got.append)
    try:
        with DdsNode("robot_rl_test_dds", domain_id=domain_id) as dds:
            pub = dds.publisher("/robot_rl_test/estop", msgs.Bool)
            deadline = time.monotonic() + 20
            while not got and time.monotonic() < deadline:
                pub.publish(msgs.Bool(True))
                ros.spin_once(0.1)
        assert got and got[0] == msgs.Bool(True)
    finally:
        ros.close()
