"""The actor under rclpy as a ROS 2 user meets it: a plain rclpy driver, the lifecycle
services, read-only parameters, Python logging on /rosout."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rclpy
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from rcl_interfaces.msg import Log, Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import DurabilityPolicy, QoSProfile

from robot_rl.config import load_config
from robot_rl.nodes.params import ActorParams
from robot_rl.nodes.ros_entry import LifecycleActor, ros_params
from robot_rl.ros.rclpy_node import RclpyNode, RosLogHandler
from robot_rl.ros.recording import read_recording
from tests.conftest import write_config
from tests.ros.rclpy_driver import RclpyDriver, RclpyPeer, spin_all

pytestmark = pytest.mark.timeout(90)


def a1_with_controller_order(tmp_path: Path, tiny_a1: Path) -> Any:
    """The tiny A1 whose forward controller lists the joints in reverse order."""
    joints = load_config(tiny_a1).robot.joints
    return load_config(write_config(tmp_path, tiny_a1, {
        "ros": {"command_joints": list(reversed(joints))}}, name="a1_reversed.yaml"))


def actor_params(**changes: Any) -> ActorParams:
    return dataclasses.replace(ActorParams(learner_address="", record_mcap=False), **changes)


def distinct_pose(cfg: Any) -> np.ndarray:
    """The nominal pose with a different small offset on every joint (shows the order)."""
    return np.array(cfg.robot.nominal) + 0.01 * np.arange(1, cfg.n_joints + 1)


def test_plain_rclpy_driver_gets_commands_in_controller_order(tmp_path: Path, tiny_a1: Path,
                                                              domain_id: int) -> None:
    cfg = a1_with_controller_order(tmp_path, tiny_a1)
    joints = list(cfg.robot.joints)
    node = RclpyNode("actor_node", domain_id=domain_id, lifecycle=True)
    # the driver lists its joints in an order of its own, and publishes the Imu and extras
    driver = RclpyDriver(cfg, domain_id, rate_hz=50, names=joints[6:] + joints[:6])
    actor = None
    try:
        driver.set_pose(distinct_pose(cfg))
        actor = LifecycleActor(node, cfg, actor_params(autostart=True, start_paused=True),
                               None)
        # paused: the actor holds the pose it measures, sent in the controller's order
        assert spin_all([node, driver], lambda: len(driver.commands) >= 3, 30), \
            actor.actor.status()
        assert all(c.shape == (cfg.n_joints,) for c in driver.commands)
        np.testing.assert_allclose(driver.commands[-1], driver.pose_as_command(), atol=1e-9)
        assert not np.allclose(driver.commands[-1], driver.position)  # so the order shows
        # resumed: the policy acts (random actions before any weights), still 12 values
        actor.actor.core.operator("resume")
        seen = len(driver.commands)
        assert spin_all([node, driver], lambda: any(
            not np.allclose(c, driver.pose_as_command()) for c in driver.commands[seen:]), 30)
        assert all(c.shape == (cfg.n_joints,) and np.all(np.isfinite(c))
                   for c in driver.commands)
    finally:
        if actor is not None:
            actor.close()
        driver.close()
        node.close()


def change_state(client: RclpyPeer, service: Any, nodes: list[Any], transition: int) -> bool:
    """What `ros2 lifecycle set /actor_node <transition>` does."""
    request = ChangeState.Request()
    request.transition.id = transition
    future = service.call_async(request)
    assert spin_all([*nodes, client], future.done, 20), f"transition {transition}"
    return bool(future.result().success)


def test_lifecycle_no_command_before_activation_then_commands_then_hold(
        tiny_a1: Path, domain_id: int) -> None:
    cfg = load_config(tiny_a1)
    node = RclpyNode("actor_node", domain_id=domain_id, lifecycle=True)
    driver = RclpyDriver(cfg, domain_id, rate_hz=50)
    client = RclpyPeer(driver.context, "robot_rl_test_client")
    actor = LifecycleActor(node, cfg, actor_params(), None)
    nodes = [node, driver]
    try:
        change = client.node.create_client(ChangeState, "/actor_node/change_state")
        assert spin_all([*nodes, client], change.service_is_ready, 20)
        assert actor.actor is None  # unconfigured: nothing built, nothing published
        assert change_state(client, change, nodes, Transition.TRANSITION_CONFIGURE)

        # configured (inactive): the actor reads states and decides holds, but its command
        # publisher, matched with the driver's subscription, sends none of them
        (commands,) = [p for p in node.publishers if p.topic == cfg.ros.command_topic]
        assert spin_all(nodes, lambda: commands.matched_count() > 0, 20)
        dropped = commands.dropped
        assert spin_all(nodes, lambda: commands.dropped >= dropped + 5, 20)
        spin_all(nodes, lambda: False, 0.2)  # anything in flight would arrive by now
        assert driver.commands == []

        assert change_state(client, change, nodes, Transition.TRANSITION_ACTIVATE)
        assert spin_all(nodes, lambda: len(driver.commands) >= 5, 20)
        assert all(c.shape == (cfg.n_joints,) for c in driver.commands)
        assert any(not np.allclose(c, driver.pose_as_command()) for c in driver.commands)

        # deactivated: it holds the pose it measures (the driver's), command after command
        assert change_state(client, change, nodes, Transition.TRANSITION_DEACTIVATE)
        seen = len(driver.commands)

        def held(n: int = 3) -> bool:
            tail = driver.commands[seen:][-n:]
            return len(tail) == n and all(
                np.allclose(c, driver.pose_as_command(), atol=1e-9) for c in tail)

        assert spin_all(nodes, held, 20)
        # cleanup is refused (the node stays inactive); shutdown closes the actor
        assert not change_state(client, change, nodes, Transition.TRANSITION_CLEANUP)
        assert change_state(client, change, nodes,
                            Transition.TRANSITION_INACTIVE_SHUTDOWN)
        assert actor.done and actor.actor is None
    finally:
        actor.close()
        client.close()
        driver.close()
        node.close()


def test_parameters_are_read_only_so_ros2_param_set_is_refused(tiny_a1: Path,
                                                               domain_id: int) -> None:
    node = RclpyNode("actor_node", domain_id=domain_id,
                     parameter_overrides={"robot_config": str(tiny_a1), "batch_size": 8})
    driver = RclpyDriver(load_config(tiny_a1), domain_id, rate_hz=0)
    client = RclpyPeer(driver.context, "robot_rl_test_client")
    try:
        params = ros_params(node.ros_node, ActorParams)
        assert params.robot_config == str(tiny_a1) and params.batch_size == 8
        # what `ros2 param set /actor_node batch_size 4` sends
        set_params = client.node.create_client(SetParameters, "/actor_node/set_parameters")
        assert spin_all([node, client], set_params.service_is_ready, 20)
        request = SetParameters.Request(parameters=[Parameter(
            name="batch_size", value=ParameterValue(type=ParameterType.PARAMETER_INTEGER,
                                                    integer_value=4))])
        future = set_params.call_async(request)
        assert spin_all([node, client], future.done, 20)
        (result,) = future.result().results
        assert not result.successful and "read-only" in result.reason
        assert node.ros_node.get_parameter("batch_size").value == 8
    finally:
        client.close()
        driver.close()
        node.close()


def test_bad_parameter_values_are_refused_like_robot_rl_node(domain_id: int) -> None:
    from robot_rl.errors import ConfigError

    for overrides, key in (({"batch_size": 0}, "batch_size"),
                           ({"batch_size": "lots"}, "batch_size"),
                           ({"batch_sise": 4}, "batch_sise")):
        node = RclpyNode("actor_node", domain_id=domain_id, parameter_overrides=overrides)
        try:
            with pytest.raises(ConfigError, match=f"parameters: {key}: "):
                ros_params(node.ros_node, ActorParams)
        finally:
            node.close()


def test_python_logging_reaches_rosout(domain_id: int) -> None:
    node = RclpyNode("actor_node", domain_id=domain_id)
    listener_ctx = rclpy.context.Context()
    rclpy.init(context=listener_ctx, domain_id=domain_id,
               signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    listener = RclpyPeer(listener_ctx, "rosout_listener")
    got: list[Log] = []
    # what `ros2 topic echo /rosout` asks for: /rosout is offered transient local (a
    # volatile reader of it can stall on Fast DDS until the writer's 10 s lifespan passes)
    listener.node.create_subscription(Log, "/rosout", got.append, QoSProfile(
        depth=1000, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    handler = RosLogHandler(node.ros_node)
    actor_log = logging.getLogger("robot_rl.nodes.actor_node")
    actor_log.addHandler(handler)
    level = actor_log.level
    actor_log.setLevel(logging.INFO)

    last = [0.0]

    def arrived() -> bool:
        if time.monotonic() - last[0] > 0.1:  # again until the listener has discovered it
            last[0] = time.monotonic()
            actor_log.info("hello from the actor, step %d", 7)
        return any(m.name == "actor_node" and m.msg.endswith("hello from the actor, step 7")
                   for m in got)

    try:
        assert spin_all([node, listener], arrived, 30)
        record = next(m for m in got if m.msg.endswith("step 7"))
        assert record.level == Log.INFO and "robot_rl.nodes.actor_node" in record.msg
        actor_log.warning("a warning")
        assert spin_all([node, listener], lambda: any(
            m.level == Log.WARN and m.msg.endswith("a warning") for m in got), 10)
    finally:
        actor_log.removeHandler(handler)
        actor_log.setLevel(level)
        listener.close()
        rclpy.try_shutdown(context=listener_ctx)
        node.close()


def test_panda_needs_and_records_no_imu(tmp_path: Path, panda_path: Path,
                                        domain_id: int) -> None:
    cfg = load_config(panda_path)
    assert cfg.ros.imu_topic == ""  # robot_configs/panda.yaml: an arm has no IMU
    node = RclpyNode("actor_node", domain_id=domain_id, lifecycle=True)
    driver = RclpyDriver(cfg, domain_id, rate_hz=50)  # joint states and extras, no IMU
    actor = LifecycleActor(node, cfg, actor_params(autostart=True, record_mcap=True),
                           tmp_path / "actor")
    try:
        assert driver.imu_pub is None
        assert spin_all([node, driver], lambda: len(driver.commands) >= 3, 30), \
            actor.actor.status()
        assert all(c.shape == (7,) for c in driver.commands)
        assert "/imu" not in node.ros_node.get_topic_names_and_types().__repr__()
    finally:
        actor.close()
        driver.close()
        node.close()
    topics = {item.topic for item in read_recording(tmp_path / "actor" / "session.mcap")}
    assert cfg.ros.joint_states_topic in topics and cfg.ros.command_topic in topics
    assert not any("imu" in t for t in topics), topics
