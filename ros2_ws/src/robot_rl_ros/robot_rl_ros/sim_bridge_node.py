"""``ros2 run robot_rl_ros sim_bridge_node``: the PyBullet robot behind the topics of a robot driver.

Parameters: ``config/params.yaml`` (``sim_bridge_node: ros__parameters:``). The node is
:mod:`robot_rl.nodes.sim_bridge_node` on rclpy; see docs/ros2.md.
"""

from robot_rl.nodes.ros_entry import sim_bridge_main as main

__all__ = ["main"]
