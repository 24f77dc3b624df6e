"""rclpy edge (runs only where ROS 2 is installed and sourced; skipped otherwise)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ros_testutil import sample_messages

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("sensor_msgs.msg")
pytest.importorskip("std_msgs.msg")

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from robot_rl.ros import cdr, msgs  # noqa: E402
from robot_rl.ros.rclpy_node import RclpyNode, ros_message_class  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("topic", sorted(sample_messages()))
def test_rclpy_serialization_equals_ours(topic: str) -> None:
    msg = sample_messages()[topic]
    ros_msg = deserialize_message(cdr.encode(msg), ros_message_class(msg.ROS_TYPE))
    assert serialize_message(ros_msg) == cdr.encode(msg)


def _spin_until(nodes: list[RclpyNode], done: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        for node in nodes:
            node.spin_once(0.02)
    return bool(done())


def test_rclpy_nodes_exchange_our_messages() -> None:
    a = RclpyNode("robot_rl_test_pub")
    b = RclpyNode("robot_rl_test_sub")
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


def test_dds_node_reaches_an_rclpy_node() -> None:
    # The ROS graph sees a plain DDS publisher; same domain and discovery settings as rmw
    # (config from the environment, as rmw_cyclonedds reads it).
    pytest.importorskip("cyclonedds")
    from robot_rl.ros.dds import DdsNode

    ros = RclpyNode("robot_rl_test_listener")
    got: list[msgs.Bool] = []
    ros.subscription("/robot_rl_test/estop", msgs.Bool, got.append)
    try:
        with DdsNode("robot_rl_test_dds") as dds:
            pub = dds.publisher("/robot_rl_test/estop", msgs.Bool)
            deadline = time.monotonic() + 20
            while not got and time.monotonic() < deadline:
                pub.publish(msgs.Bool(True))
                ros.spin_once(0.1)
        assert got and got[0] == msgs.Bool(True)
    finally:
        ros.close()
