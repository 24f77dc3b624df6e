"""The ROS 2 topology's nodes: actor, sim bridge and learner.

Pure logic (no middleware): :mod:`~robot_rl.nodes.actor_core` (state in, safe command and
transitions out), :mod:`~robot_rl.nodes.bridge_core` (a simulated robot behind a driver's
topics), :mod:`~robot_rl.nodes.state`, :mod:`~robot_rl.nodes.ros_messages`,
:mod:`~robot_rl.nodes.operator`.

Thin edges on any :class:`robot_rl.ros.api.Node` (plain DDS or rclpy):
:mod:`~robot_rl.nodes.actor_node`, :mod:`~robot_rl.nodes.sim_bridge_node`,
:mod:`~robot_rl.nodes.learner_node`, run by :mod:`~robot_rl.nodes.runner` from
``robot-rl node`` (:mod:`~robot_rl.cli.node_cmds`) or the ``robot_rl_ros`` console scripts
(:mod:`~robot_rl.nodes.ros_entry`). See ``docs/ros2.md``.
"""
