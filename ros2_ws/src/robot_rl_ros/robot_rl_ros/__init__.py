"""ROS 2 nodes for robot_rl: ``actor_node``, ``sim_bridge_node``, ``learner_node``.

The nodes are thin: each console script builds a :class:`robot_rl.ros.rclpy_node.RclpyNode`,
reads its parameters and hands messages to the pure logic in :mod:`robot_rl.nodes`
(:mod:`robot_rl.nodes.ros_entry`). See ``docs/ros2.md``.
"""
