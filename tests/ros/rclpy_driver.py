"""A robot driver on plain rclpy, for tests: what a ros2_control robot offers the actor.

It uses rclpy's own message classes (``sensor_msgs/JointState``, ``sensor_msgs/Imu``,
``std_msgs/Float64MultiArray``), not robot_rl's codec, so a test with it checks the actor
against real ROS 2 serialization and a real middleware (Fast DDS by default).

Usage::

    with RclpyDriver(cfg, domain_id, rate_hz=50) as driver:
        driver.set_pose(pose)                         # config joint order
        spin_all([driver, actor_node], lambda: len(driver.commands) >= 5, timeout_s=20)
        driver.commands[-1]                           # controller (command_joints) order

Joint states go out reliable, keep last 10, like ``joint_state_broadcaster``; commands are
read with the default (reliable) QoS, like a forward command controller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray, MultiArrayDimension


class Spinnable(Protocol):
    def spin_once(self, timeout_s: float | None = None) -> int: ...


def spin_all(nodes: Iterable[Spinnable], done: Callable[[], bool], timeout_s: float,
             step_s: float = 0.005) -> bool:
    """Spins every node in turn until ``done()`` holds or ``timeout_s`` passes; returns
    ``done()``."""
    nodes = list(nodes)
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() >= deadline:
            return bool(done())
        for node in nodes:
            node.spin_once(step_s)
    return True


def default_extras(cfg: Any) -> dict[str, list[float]]:
    """Extras a driver (with a state estimator) would send for this robot: a legged robot at
    rest on all feet, an arm's end effector in front of it."""
    if cfg.robot.kind == "legged":
        return {"base_linear_velocity": [0.0, 0.0, 0.0],
                "foot_contacts": [1.0] * len(cfg.robot.foot_links)}
    return {"ee_position": [0.4, 0.0, 0.4]}


class RclpyPeer:
    """A plain rclpy node with its own executor on ``context`` (service clients, listeners).

    Args:
        context: An initialized rclpy context (e.g. a driver's).
        name: ROS node name.
    """

    def __init__(self, context: Context, name: str) -> None:
        self.node = Node(name, context=context)
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self.node)

    def spin_once(self, timeout_s: float | None = None) -> int:
        self._executor.spin_once(timeout_sec=timeout_s)
        return 0

    def close(self) -> None:
        self._executor.remove_node(self.node)
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()


class RclpyDriver(RclpyPeer):
    """Publishes a joint pose (plus IMU and extras) at a rate and collects commands.

    Args:
        cfg: The robot config (topic names from ``cfg.ros``, joints, nominal pose).
        domain_id: ROS domain id (a context of its own).
        rate_hz: State rate; 0: publish only on :meth:`publish_state`.
        names: The driver's joint order (default: the config's); drivers need not match it.
        extras: Extras segments (default :func:`default_extras`); {} publishes none.
        name: ROS node name.
    """

    def __init__(self, cfg: Any, domain_id: int, rate_hz: float = 50.0,
                 names: Sequence[str] | None = None,
                 extras: dict[str, list[float]] | None = None,
                 name: str = "fake_driver") -> None:
        self.cfg = cfg
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        super().__init__(self.context, name)
        ros = cfg.ros
        self.names = list(names or cfg.robot.joints)
        self._order = [list(cfg.robot.joints).index(n) for n in self.names]
        self.position = np.array(cfg.robot.nominal, dtype=float)
        self.extras = default_extras(cfg) if extras is None else extras
        self.states_sent = 0
        self.commands: list[np.ndarray] = []
        self.command_times: list[float] = []
        self.joint_pub = self.node.create_publisher(JointState, ros.joint_states_topic, 10)
        self.imu_pub = (self.node.create_publisher(Imu, ros.imu_topic, 10)
                        if ros.imu_topic else None)
        self.extras_pub = (self.node.create_publisher(Float64MultiArray, ros.extras_topic, 10)
                           if ros.extras_topic and self.extras else None)
        self.command_sub = self.node.create_subscription(
            Float64MultiArray, ros.command_topic, self._on_command, 10)
        self.timer = (self.node.create_timer(1.0 / rate_hz, self.publish_state)
                      if rate_hz > 0 else None)

    def set_pose(self, position: Sequence[float]) -> None:
        """The joint positions to publish from now on (config joint order)."""
        self.position = np.array(position, dtype=float)

    def command_order(self) -> list[int]:
        """Config index of each entry of a command (the controller's joint order)."""
        order = self.cfg.ros.command_joints or self.cfg.robot.joints
        return [list(self.cfg.robot.joints).index(n) for n in order]

    def pose_as_command(self) -> np.ndarray:
        """The published pose in the controller's order: what a hold commands."""
        return self.position[self.command_order()]

    def _on_command(self, msg: Float64MultiArray) -> None:
        self.commands.append(np.array(msg.data, dtype=float))
        self.command_times.append(time.monotonic())

    def publish_state(self) -> None:
        """Publishes the IMU and extras, then the joint state (drivers' usual order)."""
        stamp = self.node.get_clock().now().to_msg()
        if self.imu_pub is not None:
            imu = Imu()
            imu.header.stamp, imu.header.frame_id = stamp, "imu_link"
            imu.orientation.w = 1.0
            imu.linear_acceleration.z = 9.81
            self.imu_pub.publish(imu)
        if self.extras_pub is not None:
            extras = Float64MultiArray()
            for label, values in self.extras.items():
                extras.layout.dim.append(MultiArrayDimension(label=label, size=len(values),
                                                             stride=len(values)))
                extras.data.extend(float(v) for v in values)
            self.extras_pub.publish(extras)
        state = JointState()
        state.header.stamp, state.header.frame_id = stamp, "base"
        state.name = list(self.names)
        state.position = [float(v) for v in self.position[self._order]]
        state.velocity = [0.0] * len(self.names)
        state.effort = [0.0] * len(self.names)
        self.joint_pub.publish(state)
        self.states_sent += 1

    def close(self) -> None:
        super().close()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> RclpyDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
