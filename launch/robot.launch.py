"""The actor on a real robot: state from the robot's driver, commands to its controller.

    ros2 launch robot_rl_ros robot.launch.py robot:=/path/to/my_robot.yaml \
        learner_address:=tcp://workstation:5555 keys:=/path/to/keys run_dir:=/data/session-01

Start the robot's driver and its ros2_control forward command controller first (their
launch files come with the robot; see docs/ros2.md for the controller YAML), and the learner
on the workstation (``learner.launch.py`` or ``robot-rl learner``). The topics and the
controller's joint order are in the robot config's ``ros:`` section; remap with
``-r`` if the driver uses other names.

The actor is a managed (lifecycle) node and starts *unconfigured*: it commands nothing until
it is activated, by hand once the robot is ready::

    ros2 lifecycle set /actor_node configure    # builds it: reads states, publishes status
    ros2 lifecycle set /actor_node activate     # may command (holds: start_paused below)
    ros2 lifecycle set /actor_node deactivate   # holds the measured pose
    ros2 lifecycle set /actor_node shutdown     # last transitions sent, recording closed

or with ``autostart:=true`` (configure and activate at start). Once active, it still holds
the last safe pose until it has a complete, fresh state, whenever the e-stop (``/estop``)
is engaged, and here by default also until the operator resumes (``robot-rl operator
resume``) and while the learner is unreachable. The launch ends when the actor exits:
non-zero if it failed (e.g. a config error, printed as one line).
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
    non-zero; after a normal exit (Ctrl-C, a lifecycle shutdown) with a Shutdown."""

    def on_exit(event, context):
        if event.returncode != 0:
            raise RuntimeError(f"{event.name} exited with status {event.returncode}; "
                               "stopping the launch")
        return [Shutdown(reason=f"{event.name} exited")]

    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))


def nodes(context):
    params = os.path.join(get_package_share_directory(PACKAGE), "config", "params.yaml")
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    actor = Node(
        package=PACKAGE, executable="actor_node", name="actor_node", output="screen",
        parameters=[params, {
            "robot_config": robot_config(arg("robot")),
            "learner_address": arg("learner_address"),
            "keys": arg("keys"),
            "insecure": flag(arg("insecure")),
            "run_dir": arg("run_dir"),
            "autostart": flag(arg("autostart")),
            "start_paused": flag(arg("start_paused")),
            "hold_without_learner": flag(arg("hold_without_learner"))}])
    return [actor, stop_all_when_it_exits(actor)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="a1",
                              description="robot config name (a1, panda) or YAML path"),
        DeclareLaunchArgument("learner_address", default_value="tcp://127.0.0.1:5555",
                              description="ZeroMQ address of the learner"),
        DeclareLaunchArgument("keys", default_value="",
                              description="CurveZMQ key directory (needed off loopback)"),
        DeclareLaunchArgument("insecure", default_value="false",
                              description="allow plaintext to a non-loopback learner"),
        DeclareLaunchArgument("run_dir", default_value="",
                              description="recording folder ('' = runs/<robot>-actor-...)"),
        DeclareLaunchArgument("autostart", default_value="false",
                              description="configure and activate the actor at start "
                              "(else: ros2 lifecycle set /actor_node configure, activate)"),
        DeclareLaunchArgument("start_paused", default_value="true",
                              description="once active, hold until `robot-rl operator resume`"),
        DeclareLaunchArgument("hold_without_learner", default_value="true",
                              description="hold while the learner is unreachable"),
        OpaqueFunction(function=nodes),
    ])
