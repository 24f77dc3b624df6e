"""The actor node on rclpy with our codec on both sides (rclpy from PyPI: always runs)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.nodes.actor_node import ActorNode
from robot_rl.nodes.params import ActorParams
from robot_rl.nodes.ros_entry import ros_params
from robot_rl.nodes.ros_messages import extras_msg, imu_msg, joint_state_msg
from robot_rl.ros import msgs
from robot_rl.ros.rclpy_node import RclpyNode
from robot_rl.ros.wire import QOS_SENSOR_DATA
from tests.nodes.nodes_util import robot_state


@pytest.mark.timeout(60)
def test_actor_node_on_rclpy_takes_parameters_and_answers_states(tiny_a1: Path,
                                                                 domain_id: int) -> None:
    node = RclpyNode("actor_node", domain_id=domain_id,
                     args=["--ros-args", "-p", f"robot_config:={tiny_a1}", "-p", "batch_size:=8"])
    driver = RclpyNode("fake_driver", domain_id=domain_id)
    try:
        params = ros_params(node.ros_node, ActorParams)
        assert params.robot_config == str(tiny_a1) and params.batch_size == 8
        cfg = load_config(tiny_a1)
        actor = ActorNode(node, cfg, dataclasses.replace(params, learner_address="",
                                                         record_mcap=False))
        got: list[np.ndarray] = []
        driver.subscription(cfg.ros.command_topic, msgs.Float64MultiArray,
                            lambda m: got.append(m.data))
        imu = driver.publisher(cfg.ros.imu_topic, msgs.Imu, QOS_SENSOR_DATA)
        extras = driver.publisher(cfg.ros.extras_topic, msgs.Float64MultiArray,
                                  QOS_SENSOR_DATA)
        states = driver.publisher(cfg.ros.joint_states_topic, msgs.JointState, QOS_SENSOR_DATA)
        state = robot_state(cfg)
        deadline = time.monotonic() + 30
        while actor.core.last.hold or len(got) < 5:  # until it acts (not holding)
            assert time.monotonic() < deadline, actor.status()
            stamp = driver.now_ns()
            imu.publish(imu_msg(state, stamp))
            extras.publish(extras_msg(state))
            states.publish(joint_state_msg(state, cfg.robot.joints, stamp))
            for _ in range(5):
                node.spin_once(0.01)
                driver.spin_once(0.0)
        assert all(c.shape == (cfg.n_joints,) for c in got)
        actor.close()
    finally:
        driver.close()
        node.close()
