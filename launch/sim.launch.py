"""The simulated topology on ROS 2: PyBullet sim bridge, actor and learner.

    ros2 launch robot_rl_ros sim.launch.py robot:=a1 run_dir:=/tmp/a1-sim

Arguments: ``robot`` (a robot config installed with the package, e.g. ``a1``, ``panda``, or a
path to a robot config YAML), ``learner_address`` (where the learner listens and the actor
connects), ``run_dir`` (learner checkpoints in ``<run_dir>/learner``, the actor's recording in
``<run_dir>/actor``; empty: ``runs/...`` in the working directory). Parameters come from the
package's ``config/params.yaml`` with these arguments on top. The actor (a lifecycle node)
is configured and activated at start (``autostart``). The launch ends when any node exits
(non-zero if one failed, e.g. on a config error); on Ctrl-C every node stops cleanly: the
actor sends its last transitions and the learner takes them in before its final
checkpoint. Without ROS 2 the same topology runs as processes: ``robot-rl launch sim
robot_configs/a1.yaml``.
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


def stop_all_when_it_exits(node):
    """Ends the whole launch when ``node`` exits: after a failure (status 2: a config or
    parameter error, printed above as one line) with an exception, so ``ros2 launch`` exits
    non-zero; after a normal exit with a Shutdown."""

    def on_exit(event, context):
        if event.returncode != 0:
            raise RuntimeError(f"{event.name} exited with status {event.returncode}; "
                               "stopping the launch")
        return [Shutdown(reason=f"{event.name} exited")]

    return RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))


def nodes(context):
    share = get_package_share_directory(PACKAGE)
    params = os.path.join(share, "config", "params.yaml")
    config = robot_config(LaunchConfiguration("robot").perform(context))
    address = LaunchConfiguration("learner_address").perform(context)
    run_dir = LaunchConfiguration("run_dir").perform(context)
    sub = (lambda name: os.path.join(run_dir, name)) if run_dir else (lambda name: "")
    started = [
        # on SIGINT the learner drains the actor's last transitions, then checkpoints
        Node(package=PACKAGE, executable="learner_node", name="learner_node", output="screen",
             sigterm_timeout="20",
             parameters=[params, {"robot_config": config, "bind_address": address,
                                  "run_dir": sub("learner")}]),
        Node(package=PACKAGE, executable="sim_bridge_node", name="sim_bridge_node",
             output="screen", parameters=[params, {"robot_config": config}]),
        Node(package=PACKAGE, executable="actor_node", name="actor_node", output="screen",
             parameters=[params, {"robot_config": config, "learner_address": address,
                                  "run_dir": sub("actor"), "autostart": True}]),
    ]
    return started + [stop_all_when_it_exits(node) for node in started]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="a1",
                              description="robot config name (a1, panda) or YAML path"),
        DeclareLaunchArgument("learner_address", default_value="tcp://127.0.0.1:5555",
                              description="ZeroMQ address of the learner"),
        DeclareLaunchArgument("run_dir", default_value="",
                              description="folder for learner/ and actor/ ('' = runs/...)"),
        OpaqueFunction(function=nodes),
    ])
