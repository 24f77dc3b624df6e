"""robot.base_orientation: the robot spawns rotated (a Y-up URDF stands up with a 90 degree
roll) and its IMU reads relative to that spawn orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.config import load_config
from robot_rl.robot import quat_to_rpy
from sim_bridge.pybullet_robot import PyBulletRobot
from tests.conftest import write_config


def test_default_spawn_is_unrotated(tiny_a1: Path) -> None:
    robot = PyBulletRobot(load_config(str(tiny_a1)))
    state = robot.reset()
    _, world = robot.client.getBasePositionAndOrientation(robot.body)
    np.testing.assert_array_equal(state.imu_orientation, world)
    robot.close()


def test_a_rotated_spawn_reads_level_on_the_imu(tmp_path: Path, tiny_a1: Path) -> None:
    path = write_config(tmp_path, tiny_a1, {"robot": {"base_orientation": [np.pi / 2, 0, 0.3]},
                                            "sim": {"fall_height": 0.0}}, name="rolled.yaml")
    robot = PyBulletRobot(load_config(str(path)))
    state = robot.reset()
    _, world = robot.client.getBasePositionAndOrientation(robot.body)
    np.testing.assert_allclose(quat_to_rpy(np.asarray(world)), [np.pi / 2, 0, 0.3], atol=1e-6)
    np.testing.assert_allclose(state.imu_orientation, [0, 0, 0, 1], atol=1e-9)
    assert not robot.fallen()  # level in the IMU's frame
    robot.close()
