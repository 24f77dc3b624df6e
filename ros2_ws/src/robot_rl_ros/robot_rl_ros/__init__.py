"""ROS 2 nodes for robot_rl (actor_node, sim_bridge_node, learner_node; added with the nodes).

The nodes are thin: they build a :class:`robot_rl.ros.api.Node` and hand messages to the pure
logic in ``robot_rl``. See ``docs/ros2.md``.
"""
