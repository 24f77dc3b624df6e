"""The PyBullet robot: control and physics rates, effort limits, sensors, falls, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from sim_bridge.pybullet_robot import PyBulletRobot
from tests.conftest import write_config


def _run(robot: PyBulletRobot, targets: list[np.ndarray]) -> np.ndarray:
    out = []
    for t in targets:
        robot.send_command(t)
        robot.tick()
        s = robot.read_state()
        out.append(np.concatenate([s.joint_position, s.joint_velocity, s.imu_orientation]))
    return np.array(out)


def test_rates_and_clock(a1_path: Path) -> None:
    cfg = load_config(a1_path)
    robot = PyBulletRobot(cfg)
    assert robot.substeps == 25 and robot.physics_dt == pytest.approx(1 / 500)
    t0 = robot.now()
    robot.tick()
    assert robot.now() - t0 == pytest.approx(0.05)
    assert robot.read_state().stamp == pytest.approx(robot.now())


def test_deterministic_under_seed_with_noise(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"sim": {"joint_position_noise": 0.01,
                                                    "imu_noise": 0.01}})
    cfg = load_config(path)
    rng = np.random.default_rng(0)
    nominal = np.array(cfg.robot.nominal)
    targets = [nominal + rng.uniform(-0.3, 0.3, 12) for _ in range(20)]
    a = _run(PyBulletRobot(cfg, seed=3), targets)
    b = _run(PyBulletRobot(cfg, seed=3), targets)
    c = _run(PyBulletRobot(cfg, seed=4), targets)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stands_at_nominal_with_feet_down(a1_path: Path) -> None:
    cfg = load_config(a1_path)
    robot = PyBulletRobot(cfg)
    _run(robot, [np.array(cfg.robot.nominal)] * 40)
    s = robot.read_state()
    assert np.max(np.abs(s.joint_position - cfg.robot.nominal)) < 0.15
    assert s.foot_contacts is not None and s.foot_contacts.sum() == 4
    assert s.base_position is not None and 0.2 < s.base_position[2] < 0.35
    assert not robot.fallen()
    assert np.allclose(s.imu_linear_acceleration, [0, 0, 9.81], atol=0.5)


def test_torques_respect_effort_limits(a1_path: Path) -> None:
    cfg = load_config(a1_path)
    robot = PyBulletRobot(cfg)
    far = np.array(cfg.robot.nominal) + 2.0  # a huge step: PD torque saturates
    robot.send_command(far)
    robot.tick()
    effort = robot.read_state().joint_effort
    assert np.all(np.abs(effort) <= np.array(cfg.robot.effort_limit) + 1e-9)
    assert np.any(np.isclose(np.abs(effort), cfg.robot.effort_limit))


def test_fall_detection(a1_path: Path) -> None:
    cfg = load_config(a1_path)
    robot = PyBulletRobot(cfg)
    robot.client.resetBasePositionAndOrientation(robot.body, [0, 0, 0.3],
                                                 robot.client.getQuaternionFromEuler([1.6, 0, 0]))
    robot.tick()
    assert robot.fallen()


def test_latency_reports_an_older_state(tmp_path: Path, a1_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, a1_path, {"sim": {"latency_s": 0.02}}))
    robot = PyBulletRobot(cfg)
    robot.tick()
    assert robot.now() - robot.read_state().stamp == pytest.approx(0.02)


def test_arm_reports_end_effector(panda_path: Path) -> None:
    cfg = load_config(panda_path)
    robot = PyBulletRobot(cfg)
    _run(robot, [np.array(cfg.robot.nominal)] * 10)
    s = robot.read_state()
    assert s.ee_position is not None and s.ee_position.shape == (3,)
    assert np.max(np.abs(s.joint_position - cfg.robot.nominal)) < 0.15
    frame = robot.render()
    assert frame.shape == (cfg.sim.render_height, cfg.sim.render_width, 3)
    assert frame.dtype == np.uint8 and frame.std() > 0


@pytest.mark.parametrize("compensate", [False, True])
def test_gravity_compensation_removes_the_arms_sag(tmp_path: Path, panda_path: Path,
                                                   compensate: bool) -> None:
    cfg = load_config(write_config(tmp_path, panda_path,
                                   {"sim": {"gravity_compensation": compensate}}))
    robot = PyBulletRobot(cfg)
    pose = np.array(cfg.robot.nominal) + np.array([0.3, 0.5, -0.2, 0.4, 0.1, -0.3, 0.2])
    _run(robot, [pose] * 60)  # 3 s at 20 Hz: settled
    sag = np.max(np.abs(robot.read_state().joint_position - pose))
    if compensate:
        assert sag < 1e-3  # the PD alone tracks once gravity is held
    else:
        assert sag > 0.02  # kp 300 against the arm's weight: several cm at the gripper


def test_gravity_compensation_needs_a_fixed_base(tmp_path: Path, a1_path: Path) -> None:
    from robot_rl.errors import ConfigError

    with pytest.raises(ConfigError, match="sim.gravity_compensation"):
        load_config(write_config(tmp_path, a1_path, {"sim": {"gravity_compensation": True}}))


def test_a_urdf_pybullet_refuses_is_a_config_error(tmp_path: Path,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    """Valid XML that PyBullet cannot load (here a mesh file that is not there) is one
    ConfigError naming robot.urdf and PyBullet's reason, not pybullet.error; PyBullet's own
    printout stays off stdout."""
    from robot_rl.errors import ConfigError
    from tests.config.test_mistakes import one_joint_arm

    (tmp_path / "arm.yaml").write_bytes(one_joint_arm(arm_extra=(
        '<collision><geometry><mesh filename="nope.stl"/></geometry></collision>'))(tmp_path))
    cfg = load_config(tmp_path / "arm.yaml")
    with pytest.raises(ConfigError) as info:
        PyBulletRobot(cfg)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'arm.yaml'}: robot.urdf: expected a URDF PyBullet "
                              "can load; it refused arm.urdf: "), message
    assert "nope.stl" in message and "\n" not in message
    assert "nope.stl" not in capfd.readouterr().out
    (tmp_path / "arm.yaml").write_bytes(one_joint_arm()(tmp_path))
    robot = PyBulletRobot(load_config(tmp_path / "arm.yaml"))  # without the mesh: loads
    assert robot.joint_names == ["j"]
    robot.close()
