"""The learner on the workstation, serving actors on robots or in simulation over ZeroMQ.

    ros2 launch robot_rl_ros learner.launch.py robot:=a1 \
        learner_address:=tcp://*:5555 keys:=/secure/keys run_dir:=/data/a1-run

Off loopback the learner needs CurveZMQ keys (``robot-rl keys generate``), or
``insecure:=true`` for plaintext on a trusted network. It resumes from the newest checkpoint
in ``run_dir``. Same as ``robot-rl learner CONFIG --bind ADDRESS``, plus a status topic
(``/robot_rl/learner/status``). The launch ends when the learner exits: non-zero if it failed
(e.g. a config error, printed as one line).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit
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


def stop_all_when_it_exits(node):
    """Ends the whole launch when ``node`` exits: after a failure (status 2: a config or
    parameter error, printed above as one line) with an exception, so ``ros2 launch`` exits
    non-zero; after a normal exit (Ctrl-C, ``steps`` reached) with a Shutdown."""

    def on_exit(event, context):
        if event.returncode != 0:
            raise RuntimeError(f"{event.name} exited with status {event.returncode}; "
                               "stopping the launch")
        return [Shutdown(reason=f"{event.name} exited")]

    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))


def nodes(context):
    params = os.path.join(get_package_share_directory(PACKAGE), "config", "params.yaml")
    learner = Node(
        package=PACKAGE, executable="learner_node", name="learner_node", output="screen",
        # on SIGINT it drains the actors' last transitions, then checkpoints: give it time
        sigterm_timeout="20",
        parameters=[params, {
            "robot_config": robot_config(LaunchConfiguration("robot").perform(context)),
            "bind_address": LaunchConfiguration("learner_address").perform(context),
            "keys": LaunchConfiguration("keys").perform(context),
            "insecure": flag(LaunchConfiguration("insecure").perform(context)),
            "run_dir": LaunchConfiguration("run_dir").perform(context)}])
    return [learner, stop_all_when_it_exits(learner)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="a1",
                              description="robot config name (a1, panda) or YAML path"),
        DeclareLaunchArgument("learner_address", default_value="tcp://127.0.0.1:5555",
                              description="address to listen on (tcp://*:5555 for robots "
                              "on other machines)"),
        DeclareLaunchArgument("keys", default_value="",
                              description="CurveZMQ key directory (needed off loopback)"),
        DeclareLaunchArgument("insecure", default_value="false",
                              description="allow plaintext off loopback (trusted networks)"),
        DeclareLaunchArgument("run_dir", default_value="",
                              description="run directory ('' = runs/<robot>-...)"),
        OpaqueFunction(function=nodes),
    ])
