"""sim_bridge_node: the PyBullet robot on the topics a real robot's driver offers.

Publishes ``sensor_msgs/JointState`` and ``sensor_msgs/Imu`` plus the extras topic with the QoS
of ros2_control's broadcasters (reliable, keep last 10, volatile: ``joint_state_broadcaster``
uses ``rclcpp::SystemDefaultsQoS()``, see :data:`robot_rl.ros.wire.QOS_STATE_WRITER`), so a
default subscriber (RViz, robot_state_publisher, ``ros2 topic echo``) matches. Takes
``std_msgs/Float64MultiArray`` on the command topic (controller joint order) and
``std_msgs/Bool`` on the e-stop topic, and steps physics one control period per tick of a
real-time timer. Each configured camera publishes ``sensor_msgs/Image`` (rgb8) on its topic
at its rate, and with ``compressed: true`` a JPEG ``sensor_msgs/CompressedImage`` on
``<topic>/compressed``, with the same QoS. The logic is in
:class:`~robot_rl.nodes.bridge_core.BridgeCore`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from robot_rl.config import RobotConfig
from robot_rl.nodes.bridge_core import BridgeCore
from robot_rl.nodes.params import BridgeParams
from robot_rl.ros import msgs
from robot_rl.ros.api import Node
from robot_rl.ros.wire import QOS_DEFAULT, QOS_STATE_WRITER

log = logging.getLogger(__name__)


class SimBridgeNode:
    """Runs a simulated robot in real time behind the robot's ROS topics.

    Args:
        node: The middleware node.
        cfg: The robot config.
        params: Node parameters.
        robot: The simulated robot (default: a :class:`~sim_bridge.pybullet_robot.PyBulletRobot`).
    """

    def __init__(self, node: Node, cfg: RobotConfig, params: BridgeParams,
                 robot: Any = None) -> None:
        if robot is None:
            from sim_bridge.pybullet_robot import PyBulletRobot

            robot = PyBulletRobot(cfg, seed=params.seed)
        self.node, self.cfg = node, cfg
        self.core = BridgeCore(cfg, robot, respawn_on_fall=params.respawn_on_fall)
        ros = cfg.ros
        self.publishers: dict[str, Any] = {
            "joint_states": node.publisher(ros.joint_states_topic, msgs.JointState,
                                           QOS_STATE_WRITER)}
        if ros.imu_topic:
            self.publishers["imu"] = node.publisher(ros.imu_topic, msgs.Imu, QOS_STATE_WRITER)
        if ros.extras_topic:
            self.publishers["extras"] = node.publisher(ros.extras_topic, msgs.Float64MultiArray,
                                                       QOS_STATE_WRITER)
        for cam in cfg.cameras:  # sensor_msgs/Image (+ CompressedImage) per camera
            self.publishers[f"image:{cam.name}"] = node.publisher(cam.topic, msgs.Image,
                                                                  QOS_STATE_WRITER)
            if cam.compressed:
                self.publishers[f"compressed:{cam.name}"] = node.publisher(
                    cam.compressed_topic, msgs.CompressedImage, QOS_STATE_WRITER)
        self.status_pub = node.publisher(params.status_topic, msgs.String, QOS_DEFAULT)
        node.subscription(ros.command_topic, msgs.Float64MultiArray, self._on_command,
                          QOS_DEFAULT)
        node.subscription(ros.estop_topic, msgs.Bool, lambda m: self.core.set_estop(m.data),
                          QOS_DEFAULT)
        if ros.reset_topic:
            node.subscription(ros.reset_topic, msgs.String,
                              lambda m: self.core.request_reset(), QOS_DEFAULT)
        node.timer(cfg.control_dt, self.tick)
        node.timer(1.0, self.publish_status)

    def _on_command(self, msg: msgs.Float64MultiArray) -> None:
        if not self.core.command(msg.data) and self.core.rejected in (1, 100, 1000):
            log.warning("ignored %d commands (expected %d finite values)", self.core.rejected,
                        len(self.core.names))

    def tick(self) -> None:
        """One control period: apply the command, step physics, publish the state."""
        for kind, msg in self.core.tick(self.node.now_ns()):
            pub = self.publishers.get(kind)
            if pub is not None:
                pub.publish(msg)

    def publish_status(self) -> None:
        """Publishes the bridge's counters as JSON."""
        self.status_pub.publish(msgs.String(json.dumps(self.core.status(), sort_keys=True)))

    def close(self) -> None:
        """Disconnects the simulator."""
        close = getattr(self.core.robot, "close", None)
        if close is not None:
            close()
