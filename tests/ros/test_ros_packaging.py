"""ros2_ws/src/robot_rl_ros packaging checks that run without ROS (colcon ones skip)."""

from __future__ import annotations

import ast
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).parents[2] / "ros2_ws" / "src" / "robot_rl_ros"
NODES = ("actor_node", "sim_bridge_node", "learner_node")


def test_package_xml_is_format_3_ament_python() -> None:
    catkin_pkg = pytest.importorskip("catkin_pkg.package")
    package = catkin_pkg.parse_package(str(PKG / "package.xml"))
    package.validate()
    assert package.package_format == 3
    assert package.name == "robot_rl_ros"
    assert package.get_build_type() == "ament_python"
    run = {d.name for d in package.exec_depends}
    assert {"rclpy", "sensor_msgs", "std_msgs", "launch", "launch_ros",
            "python3-numpy"} <= run


def test_setup_cfg_installs_scripts_where_ros2_run_looks() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(PKG / "setup.cfg")
    assert cfg["develop"]["script_dir"] == "$base/lib/robot_rl_ros"
    assert cfg["install"]["install_scripts"] == "$base/lib/robot_rl_ros"


def test_resource_marker_and_python_package_exist() -> None:
    assert (PKG / "resource" / "robot_rl_ros").is_file()
    assert (PKG / "robot_rl_ros" / "__init__.py").is_file()


def test_setup_py_installs_marker_manifest_launch_and_config() -> None:
    tree = ast.parse((PKG / "setup.py").read_text())
    text = ast.unparse(tree)
    for fragment in ("share/ament_index/resource_index/packages", "resource/{PACKAGE}",
                     "share/{PACKAGE}/launch", "glob('launch/*.launch.py')",
                     "share/{PACKAGE}/config", "glob('config/*.yaml')", "'package.xml'"):
        assert fragment in text, fragment
    out = subprocess.run([sys.executable, "setup.py", "--name", "--version"], cwd=PKG,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["robot_rl_ros", "0.1.0"]


def test_params_yaml_has_ros_parameters_per_node() -> None:
    yaml = pytest.importorskip("yaml")
    params = yaml.safe_load((PKG / "config" / "params.yaml").read_text())
    assert set(params) == set(NODES)
    for node in NODES:
        assert set(params[node]) == {"ros__parameters"}
        assert "robot_config" in params[node]["ros__parameters"]
    actor = params["actor_node"]["ros__parameters"]
    # topics come from the robot config's ros: section (tests/nodes/test_packaging.py)
    assert {"learner_address", "run_dir"} <= set(actor)


@pytest.mark.skipif(shutil.which("colcon") is None, reason="needs colcon (a ROS 2 machine)")
def test_colcon_builds_the_package(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    shutil.copytree(PKG, ws / "src" / "robot_rl_ros")
    subprocess.run(["colcon", "build", "--packages-select", "robot_rl_ros"], cwd=ws,
                   check=True, timeout=300)
    share = ws / "install" / "robot_rl_ros" / "share"
    assert (share / "ament_index" / "resource_index" / "packages" / "robot_rl_ros").exists()
    assert (share / "robot_rl_ros" / "config" / "params.yaml").exists()
