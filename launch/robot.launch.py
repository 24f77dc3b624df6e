"""The actor on a real robot: state from the robot's driver, commands to its controller.

    ros2 launch robot_rl_ros robot.launch.py robot:=/path/to/my_robot.yaml \
        learner_address:=tcp://workstation:5555 run_dir:=/data/session-01

Start the robot's driver and its ros2_control forward command controller first (their
launch files come with the robot; see docs/ros2.md for the controller YAML), and the learner
on the workstation (``learner.launch.py`` or ``robot-rl learner``). The topics and the
controller's joint order are in the robot config's ``ros:`` section; remap with
``-r`` if the driver uses other names. The actor holds the last safe pose until it has a
complete, fresh state, whenever the e-stop (``/estop``) is engaged, and here by default
also until the operator resumes (``robot-rl operator resume``) and while the learner is
unreachable.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = "robot_rl_ros"


def robot_config(robot: str) -> str:
    """A robot name installed with the package (robot_configs/<robot>.yaml), or a path."""
    if robot.endswith((".yaml", ".yml")):
        return os.path.abspath(robot)
    return os.path.join(get_package_share_directory(PACKAGE), "robot_configs", f"{robot}.yaml")


def flag(text: str) -> bool:
    """A launch argument as a bool parameter (declared as bool by the node)."""
    return text.strip().lower() in ("1", "true", "yes", "on")


def nodes(context):
    params = os.path.join(get_package_share_directory(PACKAGE), "config", "params.yaml")
    return [
        Node(package=PACKAGE, executable="actor_node", name="actor_node", output="screen",
             parameters=[params, {
                 "robot_config": robot_config(LaunchConfiguration("robot").perform(context)),
                 "learner_address": LaunchConfiguration("learner_address").perform(context),
                 "keys": LaunchConfiguration("keys").perform(context),
                 "run_dir": LaunchConfiguration("run_dir").perform(context),
                 "start_paused": flag(LaunchConfiguration("start_paused").perform(context)),
                 "hold_without_learner": flag(
                     LaunchConfiguration("hold_without_learner").perform(context))}]),
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="a1",
                              description="robot config name (a1, panda) or YAML path"),
        DeclareLaunchArgument("learner_address", default_value="tcp://127.0.0.1:5555",
                              description="ZeroMQ address of the learner"),
        DeclareLaunchArgument("keys", default_value="",
                              description="CurveZMQ key directory (needed off loopback)"),
        DeclareLaunchArgument("run_dir", default_value="",
                              description="recording folder ('' = runs/<robot>-actor-...)"),
        DeclareLaunchArgument("start_paused", default_value="true",
                              description="hold until `robot-rl operator resume`"),
        DeclareLaunchArgument("hold_without_learner", default_value="true",
                              description="hold while the learner is unreachable"),
        OpaqueFunction(function=nodes),
    ])
