"""``ros2 run robot_rl_ros actor_node``: the actor: robot state in, safe joint commands out, transitions to the learner.

Parameters: ``config/params.yaml`` (``actor_node: ros__parameters:``). The node is
:mod:`robot_rl.nodes.actor_node` on rclpy; see docs/ros2.md.
"""

from robot_rl.nodes.ros_entry import actor_main as main

__all__ = ["main"]
