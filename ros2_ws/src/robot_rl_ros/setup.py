"""ament_python packaging for robot_rl_ros (built with colcon in a ROS 2 workspace)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "robot_rl_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        # launch/ and robot_configs/ are symlinks to the repository's top-level folders
        (f"share/{PACKAGE}/robot_configs", glob("robot_configs/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="robot_rl maintainers",
    maintainer_email="robot-rl@example.com",
    description="ROS 2 nodes for robot_rl: actor, PyBullet sim bridge and learner",
    license="TODO: License declaration",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            # ros2 run robot_rl_ros <name>; the node logic is in robot_rl.nodes
            "actor_node = robot_rl_ros.actor_node:main",
            "sim_bridge_node = robot_rl_ros.sim_bridge_node:main",
            "learner_node = robot_rl_ros.learner_node:main",
        ],
    },
)
