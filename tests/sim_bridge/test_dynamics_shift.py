"""sim.dynamics on the PyBullet robot: each shift applied, reproducible, kept over resets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import sim_bridge.pybullet_robot as pybullet_robot
from robot_rl.config import load_config
from sim_bridge.pybullet_robot import PyBulletRobot
from tests.conftest import write_config


def _robot(tmp_path: Path, base: Path, sim: dict, seed: int = 0,
           name: str = "robot.yaml") -> PyBulletRobot:
    return PyBulletRobot(load_config(write_config(tmp_path, base, {"sim": sim}, name)), seed)


def _links(robot: PyBulletRobot) -> list[tuple[float, np.ndarray]]:
    """(mass, inertia diagonal) of every link, the base first."""
    c = robot.client
    return [(c.getDynamicsInfo(robot.body, link)[0],
             np.asarray(c.getDynamicsInfo(robot.body, link)[2]))
            for link in range(-1, c.getNumJoints(robot.body))]


def _trajectory(robot: PyBulletRobot, steps: int = 15) -> np.ndarray:
    rng = np.random.default_rng(0)
    nominal = np.array(robot.cfg.robot.nominal)
    out = []
    for _ in range(steps):
        robot.send_command(nominal + rng.uniform(-0.3, 0.3, nominal.shape))
        robot.tick()
        s = robot.read_state()
        out.append(np.concatenate([s.joint_position, s.joint_velocity, s.joint_effort,
                                   s.imu_orientation]))
    return np.array(out)


def test_masses_inertias_and_payload_are_applied(tmp_path: Path, a1_path: Path) -> None:
    plain = _links(PyBulletRobot(load_config(a1_path)))
    robot = _robot(tmp_path, a1_path, {"dynamics": {"mass_scale": 1.2, "inertia_scale": 1.5}})
    for (m0, i0), (m, i) in zip(plain, _links(robot), strict=True):
        assert m == pytest.approx(1.2 * m0)
        assert i == pytest.approx(1.2 * 1.5 * i0)
    heavy = _robot(tmp_path, a1_path, {"dynamics": {"mass_scale": 1.2, "payload_kg": 2.0}})
    assert _links(heavy)[0][0] == pytest.approx(1.2 * plain[0][0] + 2.0)
    report = heavy.dynamics_report()
    assert report["payload_kg"] == 2.0
    assert report["total_mass_kg"] == pytest.approx(1.2 * sum(m for m, _ in plain) + 2.0)


def test_friction_scales_the_configured_ground_friction(tmp_path: Path, a1_path: Path) -> None:
    robot = _robot(tmp_path, a1_path, {"lateral_friction": 0.8, "dynamics": {"friction": 0.5}})
    assert robot.client.getDynamicsInfo(robot.plane, -1)[1] == pytest.approx(0.4)
    assert robot.dynamics_report()["ground_friction"] == pytest.approx(0.4)


def test_gains_scale_the_pd_torque(tmp_path: Path, a1_path: Path) -> None:
    cfg = load_config(a1_path)
    target = np.array(cfg.robot.nominal) + 0.01  # small: far below the effort limits
    torques = []
    for kp_scale in (1.0, 0.5):
        robot = _robot(tmp_path, a1_path, {"dynamics": {"kp_scale": kp_scale}})
        robot.send_command(target)
        robot._physics_step()  # one physics step from rest: torque = kp * error
        torques.append(robot._last_torque)
    assert np.allclose(torques[1], 0.5 * torques[0]) and np.any(torques[0] != 0)
    plain = _trajectory(PyBulletRobot(cfg))
    for dynamics in ({"kp_scale": 0.8}, {"kd_scale": 1.5}):
        assert not np.allclose(_trajectory(_robot(tmp_path, a1_path, {"dynamics": dynamics})),
                               plain, atol=1e-3)


def test_motor_strength_lowers_the_effort_limits(tmp_path: Path, a1_path: Path) -> None:
    robot = _robot(tmp_path, a1_path, {"dynamics": {"motor_strength": 0.5}})
    limit = 0.5 * np.array(robot.cfg.robot.effort_limit)
    robot.send_command(np.array(robot.cfg.robot.nominal) + 2.0)  # saturates the PD
    robot.tick()
    effort = np.abs(robot.read_state().joint_effort)
    assert np.all(effort <= limit + 1e-9) and np.any(np.isclose(effort, limit))


def test_same_config_and_seed_give_the_same_robot(tmp_path: Path, a1_path: Path) -> None:
    sim = {"dynamics": {"friction": 0.7, "randomize": {"mass_scale": [0.8, 1.2],
                                                       "kp_scale": [0.7, 1.0]}}}
    a, b = _robot(tmp_path, a1_path, sim, seed=3), _robot(tmp_path, a1_path, sim, seed=3)
    c = _robot(tmp_path, a1_path, sim, seed=4)
    assert a.dynamics_report() == b.dynamics_report()
    assert a.dynamics["mass_scale"] != c.dynamics["mass_scale"]
    path_a = _trajectory(a)
    assert np.array_equal(path_a, _trajectory(b))
    assert not np.array_equal(path_a, _trajectory(c))


def test_shifts_survive_reset(tmp_path: Path, panda_path: Path, a1_path: Path) -> None:
    for base, robot in (("a1", a1_path), ("panda", panda_path)):
        sim = {"dynamics": {"mass_scale": 1.2, "inertia_scale": 0.8, "friction": 0.6,
                            "kd_scale": 1.5, "motor_strength": 0.9, "payload_kg": 1.0}}
        fresh = _robot(tmp_path, robot, sim, seed=2, name=f"{base}.yaml")
        links, report = _links(fresh), fresh.dynamics_report()
        first = _trajectory(fresh)
        fresh.reset()  # restoreState: the state comes back, the dynamics stay as shifted
        assert fresh.dynamics_report() == report
        for (m0, i0), (m, i) in zip(links, _links(fresh), strict=True):
            assert m == m0 and np.array_equal(i, i0)
        assert np.array_equal(_trajectory(fresh), first)


def test_a_shifted_robot_says_so_once_on_stderr(tmp_path: Path, a1_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pybullet_robot, "_ANNOUNCED", set())
    PyBulletRobot(load_config(a1_path))
    assert capsys.readouterr().err.count("shifted") == 0
    sim = {"latency_s": 0.02, "dynamics": {"mass_scale": 1.15, "motor_strength": 0.85}}
    for _ in range(2):
        _robot(tmp_path, a1_path, sim)
    lines = [line for line in capsys.readouterr().err.splitlines() if "shifted" in line]
    assert len(lines) == 1
    assert "mass_scale 1.15" in lines[0] and "motor_strength 0.85" in lines[0]
    assert "latency_s 0.02" in lines[0]


def test_benchmark_shifts_load_and_apply(tmp_path: Path, a1_path: Path,
                                         panda_path: Path) -> None:
    from benchmarks.common import SHIFTS, shifted

    for name, base in (("a1", a1_path), ("panda", panda_path)):
        data = shifted(yaml.safe_load(base.read_text()), name)
        assert data["sim"]["physics_hz"] == 500.0  # the config's other sim keys are kept
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        report = PyBulletRobot(load_config(path)).dynamics_report()
        for key, value in {**SHIFTS[name]["dynamics"],
                           "latency_s": SHIFTS[name]["latency_s"]}.items():
            assert report[key] == value


def test_an_arms_payload_hangs_at_its_end_effector(tmp_path: Path, panda_path: Path) -> None:
    plain = _robot(tmp_path, panda_path, {}, name="plain.yaml")
    loaded = _robot(tmp_path, panda_path, {"dynamics": {"payload_kg": 1.0}}, name="load.yaml")
    ee = loaded.ee_id
    assert ee is not None
    c = loaded.client
    assert c.getDynamicsInfo(loaded.body, ee)[0] == pytest.approx(
        plain.client.getDynamicsInfo(plain.body, ee)[0] + 1.0)
    assert c.getDynamicsInfo(loaded.body, -1)[0] == plain.client.getDynamicsInfo(plain.body, -1)[0]
    # gravity compensation (panda.yaml) holds the extra kilogram too: targets are reached
    pose = np.array(loaded.cfg.robot.nominal) + 0.2
    for _ in range(60):
        loaded.send_command(pose)
        loaded.tick()
    assert np.max(np.abs(loaded.read_state().joint_position - pose)) < 1e-3
