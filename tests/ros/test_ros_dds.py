"""DDS edge: wire bytes, ROS naming/QoS on real endpoints, traffic between processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_testutil import as_plain, sample_messages

from robot_rl.ros import cdr, msgs
from robot_rl.ros.api import wait_until

pytest.importorskip("cyclonedds")

from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.pub import DataWriter  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

from robot_rl.ros.dds import DdsNode, dds_qos, idl_type, loopback_config  # noqa: E402
from robot_rl.ros.wire import QOS_DEFAULT, QOS_SENSOR_DATA  # noqa: E402

pytestmark = pytest.mark.timeout(60)
HERE = Path(__file__).parent
REPO = HERE.parents[1]


def to_idl(ros_type: str, plain: dict[str, Any]) -> Any:
    """Builds the cyclonedds IdlStruct instance for a plain (dict) message."""
    from robot_rl.ros.typedesc import parse_msg

    values = {}
    for spec in parse_msg(ros_type, msgs.DEFINITIONS[ros_type]):
        value = plain[spec.name]
        if not spec.is_primitive:
            value = ([to_idl(spec.base, v) for v in value] if spec.kind != "scalar"
                     else to_idl(spec.base, value))
        values[spec.name] = value
    return idl_type(ros_type)(**values)


def from_idl(value: Any) -> Any:
    """An IdlStruct instance as plain dicts/lists (comparable with ``as_plain``)."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: from_idl(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, list):
        return [from_idl(v) for v in value]
    return value


@pytest.mark.parametrize("topic", sorted(sample_messages()))
def test_cyclonedds_serializes_exactly_our_cdr(topic: str) -> None:
    msg = sample_messages()[topic]
    idl_msg = to_idl(msg.ROS_TYPE, as_plain(msg))
    assert idl_msg.serialize() == cdr.encode(msg)
    assert from_idl(type(idl_msg).deserialize(cdr.encode(msg))) == as_plain(msg)


def test_idl_types_are_final_structs_with_ros_names() -> None:
    cls = idl_type("sensor_msgs/msg/JointState")
    assert cls.__idl_typename__ == "sensor_msgs::msg::dds_::JointState_"
    assert cls.__idl_annotations__["extensibility"] == "final"
    assert idl_type("std_msgs/msg/Header").__idl_typename__ == "std_msgs::msg::dds_::Header_"
    assert cls.__idl__.keyless


def test_interop_with_a_plain_cyclonedds_application(domain_id: int) -> None:
    # A plain cyclonedds-python app (what REFERENCES.md saw talking to a Jazzy graph) on the
    # same topic: it reads what we publish, and we read what it writes.
    sample = sample_messages()["/joint_states"]
    cls = idl_type(sample.ROS_TYPE)
    with DdsNode("ours", domain_id, loopback_config()) as node:
        ours_pub = node.publisher("/joint_states", msgs.JointState)
        ours_sub = node.subscription("/joint_states_in", msgs.JointState)
        dp = DomainParticipant(domain_id)
        qos = dds_qos(QOS_DEFAULT)
        reader = DataReader(dp, Topic(dp, "rt/joint_states", cls), qos)
        writer = DataWriter(dp, Topic(dp, "rt/joint_states_in", cls), qos)
        assert wait_until(lambda: ours_pub.matched_count() == 1
                          and ours_sub.matched_count() == 1, 10)

        ours_pub.publish(sample)
        taken: list[Any] = []
        assert wait_until(lambda: bool(taken.extend(reader.take(10)) or taken), 5)
        assert from_idl(taken[0]) == as_plain(sample)

        (handle,) = reader.get_matched_publications()
        endpoint = reader.get_matched_publication_data(handle)
        assert endpoint.topic_name == "rt/joint_states"
        assert endpoint.type_name == "sensor_msgs::msg::dds_::JointState_"
        userdata = [p for p in endpoint.qos if type(p).__name__ == "Userdata"]
        assert userdata[0].data == f"typehash={msgs.type_hash(msgs.JointState)};".encode()

        writer.write(to_idl(sample.ROS_TYPE, as_plain(sample)))
        received: list[msgs.JointState] = []
        assert wait_until(lambda: bool(received.extend(ours_sub.take()) or received), 5)
        assert msgs.messages_equal(received[0], sample)
        del reader, writer, dp


def test_reliable_reader_does_not_match_best_effort_writer(domain_id: int) -> None:
    with DdsNode("a", domain_id, loopback_config()) as a, \
            DdsNode("b", domain_id, loopback_config()) as b:
        pub = a.publisher("/joint_states", msgs.JointState, QOS_SENSOR_DATA)
        best_effort = b.subscription("/joint_states", msgs.JointState, qos=QOS_SENSOR_DATA)
        reliable = b.subscription("/joint_states", msgs.JointState, qos=QOS_DEFAULT)
        assert wait_until(lambda: best_effort.matched_count() == 1, 10)
        assert wait_until(
            lambda: reliable.endpoint().get_requested_incompatible_qos_status().total_count > 0,
            5)
        assert reliable.matched_count() == 0
        assert pub.matched_count() == 1


def test_malformed_samples_are_dropped_and_counted(domain_id: int) -> None:
    got: list[msgs.Bool] = []
    with DdsNode("a", domain_id, loopback_config()) as a, \
            DdsNode("b", domain_id, loopback_config()) as b:
        pub = a.publisher("/estop", msgs.Bool)
        sub = b.subscription("/estop", msgs.Bool, got.append)
        assert wait_until(lambda: sub.matched_count() == 1, 10)
        # (cyclonedds itself rewrites a bool byte 7 to 1 and drops header-only samples, so
        # send malformations it passes through.)
        pub.publish_raw(b"\x00\x01\x00\x00\x01" + bytes(range(2, 10)))  # trailing garbage
        pub.publish_raw(b"\x00\x07\x00\x00\x01")        # XCDR2 header
        pub.publish(msgs.Bool(True))
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            b.spin_once(0.1)
        assert got == [msgs.Bool(True)]
        assert sub.rejected == 2


def test_publish_checks_the_message_type(domain_id: int) -> None:
    with DdsNode("a", domain_id, loopback_config()) as node:
        pub = node.publisher("/estop", msgs.Bool)
        with pytest.raises(TypeError):
            pub.publish(msgs.String("stop"))  # type: ignore[arg-type]


class FrozenClock:
    """Stands in for the ``time`` module of robot_rl.ros.dds: time moves only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return time.time_ns()


def test_timer_runs_from_spin_once(domain_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import robot_rl.ros.dds as dds

    ticks: list[float] = []
    with DdsNode("a", domain_id, loopback_config()) as node:
        # on the real clock: a spin_once with no deadline wakes for the timer and runs it
        timer = node.timer(0.02, lambda: ticks.append(0.0))
        while not ticks:
            node.spin_once(None)
        timer.cancel()
        node.spin_once(0)
        assert ticks == [0.0]  # a cancelled timer runs no more
        # the schedule on the node's clock, a tick at a time (not counted over wall-clock
        # time: issue 12): due every period, never early, a late spin runs one tick and
        # keeps the phase, nothing runs outside spin_once
        clock = FrozenClock()
        monkeypatch.setattr(dds, "time", clock)
        t0 = clock.now
        ticks.clear()
        timer = node.timer(0.02, lambda: ticks.append(clock.now - t0))
        for at in (0.0, 0.019, 0.021, 0.021, 0.039, 0.041, 0.099, 0.1001, 0.11, 0.121):
            clock.now = t0 + at
            node.spin_once(0)
        assert ticks == pytest.approx([0.021, 0.041, 0.099, 0.1001, 0.121])
        clock.now = t0 + 1.0  # due long ago, but nobody spins: nothing runs
        assert len(ticks) == 5
        timer.cancel()
        node.spin_once(0)
        assert len(ticks) == 5


def test_one_domain_config_per_process(domain_id: int) -> None:
    with DdsNode("a", domain_id, loopback_config()):
        with pytest.raises(ValueError):
            DdsNode("b", domain_id, loopback_config(max_participants=5))
        with DdsNode("c", domain_id, loopback_config()):
            pass


def test_messages_cross_process_boundaries_both_ways(domain_id: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peer = subprocess.Popen([sys.executable, str(HERE / "ros_dds_peer.py"), str(domain_id),
                             "40"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        samples = sample_messages()
        with DdsNode("test", domain_id, loopback_config()) as node:
            subs = {t: node.subscription(t, type(m)) for t, m in samples.items()}
            states = node.publisher("/echo/joint_states", msgs.JointState)
            replies = node.subscription("/echo/commands", msgs.Float64MultiArray)
            state = msgs.JointState.from_arrays(["a", "b"], [0.25, -1.5])
            got: dict[str, Any] = {}
            echoed: list[msgs.Float64MultiArray] = []
            deadline = time.monotonic() + 30
            while (len(got) < len(samples) or not echoed) and time.monotonic() < deadline:
                assert peer.poll() is None, peer.stderr.read().decode()
                for topic, sub in subs.items():
                    for msg in sub.take():
                        got[topic] = msg
                states.publish(state)
                echoed += replies.take()
                time.sleep(0.02)
        for topic, msg in samples.items():
            assert topic in got, f"nothing received on {topic}"
            assert msgs.messages_equal(got[topic], msg), topic
        assert echoed, "no echo from the peer process"
        np.testing.assert_array_equal(echoed[0].data, [0.5, -3.0])
    finally:
        peer.kill()
        peer.wait(10)


def test_environment_selects_loopback_like_ros(monkeypatch: pytest.MonkeyPatch) -> None:
    from robot_rl.ros.dds import _environment_config

    for var in ("CYCLONEDDS_URI", "ROS_LOCALHOST_ONLY", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.delenv(var, raising=False)
    assert _environment_config() is None
    monkeypatch.setenv("ROS_LOCALHOST_ONLY", "1")
    assert _environment_config() == loopback_config()
    monkeypatch.delenv("ROS_LOCALHOST_ONLY")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    assert _environment_config() == loopback_config()
    monkeypatch.setenv("CYCLONEDDS_URI", "file:///etc/cyclone.xml")  # the user's file wins
    assert _environment_config() is None
    assert "<NetworkInterface name=\"lo\"/>" in loopback_config()
    assert "<AllowMulticast>false</AllowMulticast>" in loopback_config()


def test_make_node_and_spin(domain_id: int) -> None:
    from robot_rl.ros.api import make_node, rclpy_available, spin

    node = make_node("n", backend="dds", domain_id=domain_id, config=loopback_config())
    try:
        assert isinstance(node, DdsNode) and node.domain_id == domain_id
        ticks: list[int] = []
        node.timer(0.01, lambda: ticks.append(1))
        spin(node, until=lambda: len(ticks) >= 3, timeout_s=5)
        assert len(ticks) >= 3
    finally:
        node.close()
    with pytest.raises(ValueError):
        make_node("n", backend="zmq")
    if not rclpy_available():
        with pytest.raises(ImportError):
            make_node("n", backend="rclpy")
