"""Teleoperation: Joy/Twist from a plain rclpy publisher move the simulated Panda; a stale
topic holds the measured pose; malformed commands are rejected and counted."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.demos.record import DemoLog, TeleopSession
from robot_rl.demos.teleop import Teleop, TeleopSettings
from robot_rl.envs import RobotEnv
from robot_rl.ros import msgs
from robot_rl.ros.rclpy_node import RclpyNode

PANDA = Path(__file__).resolve().parents[2] / "robot_configs" / "panda.yaml"


@pytest.fixture(scope="module")
def cfg():
    return load_config(PANDA)


@pytest.fixture(scope="module")
def kinematics(cfg):
    from robot_rl.kinematics import ArmKinematics

    kin = ArmKinematics(cfg)
    yield kin
    kin.close()


def joy(*axes: float, buttons: tuple[int, ...] = ()) -> msgs.Joy:
    return msgs.Joy(axes=np.array(axes, np.float32), buttons=np.array(buttons, np.int32))


def test_malformed_joy_and_twist_are_rejected_and_counted(cfg, kinematics) -> None:
    teleop = Teleop(cfg, TeleopSettings(source="joy"), kinematics)
    assert teleop.receive(joy(0.5, 0.0, 0.0), now=0.0)
    good = teleop.command.copy()
    for bad in (joy(np.nan, 0.0, 0.0), joy(0.1, 0.2), joy(2.0, 0.0, 0.0),
                joy(0.1, 0.0, 0.0, buttons=(3,)),
                msgs.Twist(msgs.Vector3(np.inf, 0.0, 0.0)),
                msgs.Twist(msgs.Vector3(5.0, 0.0, 0.0)),  # 50x max_speed
                msgs.String("not a command")):
        assert not teleop.receive(bad, now=0.01)
    assert teleop.rejected == 7 and teleop.accepted == 1
    np.testing.assert_array_equal(teleop.command, good)  # the command is unchanged


def test_twist_is_clipped_to_max_speed_and_staleness_means_hold(cfg, kinematics) -> None:
    teleop = Teleop(cfg, TeleopSettings(source="twist", max_speed=0.1), kinematics)
    assert teleop.receive(msgs.Twist(msgs.Vector3(0.0, 0.3, 0.0)), now=1.0)
    np.testing.assert_allclose(teleop.command, [0.0, 0.1, 0.0])
    env = RobotEnv(cfg, seed=0)
    try:
        env.reset(seed=0)
        assert teleop.action(env.state, now=1.1) is not None
        assert teleop.action(env.state, now=1.0 + 0.26) is None  # stale: the caller holds
    finally:
        env.close()


def _plain_rclpy_publisher(domain_id: int, msg_type: type, topic: str):
    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions

    context = Context()
    rclpy.init(context=context, domain_id=domain_id,
               signal_handler_options=SignalHandlerOptions.NO)
    node = Node("teleop_operator", context=context)
    return context, node, node.create_publisher(msg_type, topic, 10)


@pytest.fixture
def session(cfg, domain_id: int) -> Iterator[TeleopSession]:
    short = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, episode_steps=1000))
    env = RobotEnv(short, seed=0)
    node = RclpyNode("robot_rl_demos", domain_id=domain_id)
    try:
        env.reset(seed=0)
        yield TeleopSession(env, Teleop(short, TeleopSettings(source="joy")), node)
    finally:
        node.close()
        env.close()


def _drive(session: TeleopSession, publish, steps: int, obs: np.ndarray,
           log: DemoLog) -> tuple[np.ndarray, int]:
    """Publishes and steps ``steps`` times (a few ms apart); returns obs and holds."""
    holds = 0
    for _ in range(steps):
        if publish is not None:
            publish()
        time.sleep(0.005)
        out = session.step(obs, log)
        if out is None:
            holds += 1
        else:
            obs = out[0]
    return obs, holds


@pytest.mark.timeout(60)
def test_joy_from_plain_rclpy_moves_the_arm_and_a_stale_topic_holds(session, domain_id) -> None:
    from sensor_msgs.msg import Joy

    context, node, pub = _plain_rclpy_publisher(domain_id, Joy, "/joy")
    try:
        env, log = session.env, DemoLog()
        obs = env.control.observe(env.state)
        deadline = time.monotonic() + 20
        while session.teleop.accepted == 0:  # discovery
            assert time.monotonic() < deadline
            msg = Joy()
            msg.axes = [0.0, 0.0, 0.0]
            pub.publish(msg)
            time.sleep(0.02)
            session.poll()
        start = env.state.ee_position.copy()

        def push_x() -> None:
            msg = Joy()
            msg.axes = [1.0, 0.0, 0.0]  # +x at max_speed (0.1 m/s)
            pub.publish(msg)

        obs, holds = _drive(session, push_x, 30, obs, log)
        moved = env.state.ee_position - start
        assert holds == 0 and len(log) >= 30
        assert moved[0] > 0.06, moved  # 30 steps of 5 mm: 15 cm commanded, rate-limited
        assert abs(moved[1]) < 0.3 * moved[0] and abs(moved[2]) < 0.3 * moved[0], moved
        # malformed on the wire: rejected, counted, the robot keeps the last command
        bad = Joy()
        bad.axes = [float("nan"), 0.0, 0.0]
        pub.publish(bad)
        deadline = time.monotonic() + 5
        while session.rejected == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
            session.poll()
        # stale: nothing published for longer than stale_after_s -> hold the measured pose
        time.sleep(0.3)
        measured = env.state.joint_position.copy()
        before = env.state.ee_position.copy()
        n = len(log)
        obs, holds = _drive(session, None, 20, obs, log)
        assert holds == 20 and len(log) == n  # held steps are no transitions
        assert session.holds >= 20
        np.testing.assert_allclose(env.robot._target, measured, atol=1e-9)  # latched pose
        assert np.linalg.norm(env.state.ee_position - before) < 0.01
    finally:
        node.destroy_node()
        context.try_shutdown()


@pytest.mark.timeout(60)
def test_twist_from_plain_rclpy_moves_the_arm_down(cfg, domain_id: int) -> None:
    from geometry_msgs.msg import Twist

    short = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, episode_steps=1000))
    env = RobotEnv(short, seed=0)
    ours = RclpyNode("robot_rl_demos", domain_id=domain_id)
    context, node, pub = _plain_rclpy_publisher(domain_id, Twist, "/cmd_vel")
    try:
        env.reset(seed=0)
        session = TeleopSession(env, Teleop(short, TeleopSettings(source="twist")), ours)
        obs = env.control.observe(env.state)
        start = env.state.ee_position.copy()
        log = DemoLog()

        def down() -> None:
            msg = Twist()
            msg.linear.z = -0.1
            pub.publish(msg)

        deadline = time.monotonic() + 20
        while session.teleop.accepted == 0:
            assert time.monotonic() < deadline
            down()
            time.sleep(0.02)
            session.poll()
        obs, holds = _drive(session, down, 30, obs, log)
        moved = env.state.ee_position - start
        assert moved[2] < -0.06 and abs(moved[0]) < 0.3 * abs(moved[2]), moved
    finally:
        node.destroy_node()
        context.try_shutdown()
        ours.close()
        env.close()
