"""``ros2 run robot_rl_ros learner_node``: the learner: replay, SAC updates, weights to the actors over ZeroMQ.

Parameters: ``config/params.yaml`` (``learner_node: ros__parameters:``). The node is
:mod:`robot_rl.nodes.learner_node` on rclpy; see docs/ros2.md.
"""

from robot_rl.nodes.ros_entry import learner_main as main

__all__ = ["main"]
