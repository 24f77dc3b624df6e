"""Mixed middleware: the cyclonedds sim bridge (plain DDS) with rclpy (Fast DDS) nodes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import JointState

from robot_rl.config import load_config
from robot_rl.nodes.params import ActorParams, BridgeParams
from robot_rl.nodes.ros_entry import LifecycleActor
from robot_rl.nodes.session_record import TRANSITIONS_TOPIC
from robot_rl.nodes.sim_bridge_node import SimBridgeNode
from robot_rl.ros.dds import DdsNode, loopback_config
from robot_rl.ros.rclpy_node import RclpyNode
from robot_rl.ros.recording import read_recording
from tests.ros.rclpy_driver import spin_all

pytestmark = pytest.mark.timeout(120)


def test_rclpy_actor_closes_the_loop_with_the_dds_sim_bridge(tmp_path: Path, tiny_a1: Path,
                                                              domain_id: int) -> None:
    cfg = load_config(tiny_a1)
    dds = DdsNode("sim_bridge_node", domain_id=domain_id, config=loopback_config())
    ros = RclpyNode("actor_node", domain_id=domain_id, lifecycle=True)
    bridge = SimBridgeNode(dds, cfg, BridgeParams(robot_config=str(tiny_a1)))
    params = ActorParams(robot_config=str(tiny_a1), learner_address="", autostart=True)
    actor = LifecycleActor(ros, cfg, params, tmp_path / "actor")
    try:
        # commands flow (rclpy -> cyclonedds), each the right length for the bridge
        assert spin_all([dds, ros], lambda: bridge.core.commands >= 30, 60), \
            (bridge.core.status(), actor.actor.status())
        assert bridge.core.rejected == 0
    finally:
        actor.close()
        bridge.close()
        ros.close()
        dds.close()
    counts: dict[str, int] = {}
    for item in read_recording(tmp_path / "actor" / "session.mcap"):
        counts[item.topic] = counts.get(item.topic, 0) + 1
    # states flowed the other way (cyclonedds -> rclpy), and the actor learned from them
    assert counts.get(cfg.ros.joint_states_topic, 0) > 0, counts
    assert counts.get(cfg.ros.imu_topic, 0) > 0 and counts.get(cfg.ros.extras_topic, 0) > 0
    assert counts.get(TRANSITIONS_TOPIC, 0) > 0, counts


def test_default_qos_subscriber_receives_the_bridge_joint_states(tiny_a1: Path,
                                                                  domain_id: int) -> None:
    # RViz, robot_state_publisher and `ros2 topic echo` subscribe reliable (the default): the
    # bridge must offer reliable, as joint_state_broadcaster does (SystemDefaultsQoS)
    cfg = load_config(tiny_a1)
    dds = DdsNode("sim_bridge_node", domain_id=domain_id, config=loopback_config())
    bridge = SimBridgeNode(dds, cfg, BridgeParams(robot_config=str(tiny_a1)))
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=domain_id,
               signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("robot_state_publisher", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got: list[JointState] = []
    node.create_subscription(JointState, cfg.ros.joint_states_topic, got.append,
                             QoSProfile(depth=10))

    class Listener:
        def spin_once(self, timeout_s: float | None = None) -> int:
            executor.spin_once(timeout_sec=timeout_s)
            return 0

    try:
        assert spin_all([dds, Listener()], lambda: len(got) >= 3, 60)
        assert list(got[-1].name) == list(cfg.robot.joints)
        assert len(got[-1].position) == cfg.n_joints
        (info,) = node.get_publishers_info_by_topic(cfg.ros.joint_states_topic)
        assert info.qos_profile.reliability == ReliabilityPolicy.RELIABLE
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        bridge.close()
        dds.close()


def test_actor_reads_states_from_a_best_effort_driver_too() -> None:
    # the actor's state reader is best effort: it matches reliable and best-effort writers
    from robot_rl.ros.wire import QOS_SENSOR_DATA, QOS_STATE_WRITER

    best_effort_driver = dataclasses.replace(QOS_STATE_WRITER, reliable=False)
    assert QOS_SENSOR_DATA.compatible_with_writer(QOS_STATE_WRITER)
    assert QOS_SENSOR_DATA.compatible_with_writer(best_effort_driver)
    assert not QOS_STATE_WRITER.compatible_with_writer(best_effort_driver)
