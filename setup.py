"""Packaging for robot_rl: a real-robot learning runtime with ROS 2 integration."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="robot_rl",
    version="0.1.0",
    description="Real-robot reinforcement learning runtime: high-UTD SAC, APRL, reset-free "
    "task graphs, ZeroMQ actor/learner and ROS 2 integration",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["robot_rl", "robot_rl.*", "sim_bridge", "sim_bridge.*"]),
    package_data={"robot_rl": ["py.typed"]},
    data_files=[("share/robot_rl/robot_configs", [str(p) for p in Path("robot_configs").glob("*.yaml")])],
    install_requires=[
        # torch is pinned by the install commands (torch==2.13.0 CPU build) before this runs.
        "torch>=2.1",
        "numpy>=1.24",
        "pyyaml>=6.0",
        "pyzmq>=25",
        "msgpack>=1.0",
        "opencv-python-headless>=4.8",
        # H.264 evaluation videos (browsers and GitHub play them): its wheels ship ffmpeg
        "imageio-ffmpeg>=0.4.9",
        "pybullet>=3.2.5",
        "gymnasium>=0.29",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "tensorboard>=2.14",
        # ROS 2 without ROS: wire-compatible DDS and MCAP session recordings
        "cyclonedds>=11.0,<12",
        "mcap>=1.1",
        "mcap-ros2-support>=0.5",
    ],
    extras_require={
        # stable-baselines3: the benchmark smoke tests run the SB3 peer for real; the ROS 2
        # Jazzy wheels: the rclpy tests run against real rclpy and Fast DDS
        # ... and the CI gates (.ci/run): ruff, mypy (with the yaml and tqdm stubs) and
        # import-linter, configured in pyproject.toml; Ray for the explore tests (below)
        "test": ["pytest>=7.4", "pytest-timeout>=2.1", "hypothesis>=6.80", "catkin_pkg>=1.0",
                 "stable-baselines3>=2.2", "ros-jazzy-rclpy", "ros-jazzy-std-msgs",
                 "ros-jazzy-sensor-msgs", "ros-jazzy-rmw-fastrtps-cpp",
                 "ruff>=0.17", "mypy>=2.4", "import-linter>=2.17", "types-PyYAML>=6.0",
                 "types-tqdm>=4.70", "ray>=2.40"],
        "bench": ["stable-baselines3>=2.2"],
        # Ray: the engine issue #16 names for scaling simulation out; `robot-rl explore train`
        # runs one Ray actor (its own PyBullet robot and SAC) per exploration policy, locally
        # or on a cluster (--address). Only the explore commands import it (docs/explore.md).
        "explore": ["ray>=2.40"],
        # rclpy and the message packages from PyPI (no ROS install needed), for the
        # robot_rl_ros nodes (ros2_ws/src/robot_rl_ros/package.xml) and RclpyNode
        "ros": ["ros-jazzy-rclpy", "ros-jazzy-std-msgs", "ros-jazzy-sensor-msgs",
                "ros-jazzy-rmw-fastrtps-cpp"],
    },
    entry_points={"console_scripts": ["robot-rl=robot_rl.cli:main"]},
)
