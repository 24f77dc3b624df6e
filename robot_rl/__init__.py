"""robot_rl: a real-robot learning runtime with ROS 2 integration."""

__version__ = "0.1.0"
