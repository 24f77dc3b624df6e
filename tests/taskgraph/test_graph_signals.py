"""State -> graph signals: every promised name, SI values, the conventions of the doc."""

from __future__ import annotations

import math

import numpy as np
import pybullet
import pytest

from robot_rl.config import load_config
from robot_rl.envs.graph_signals import arm_signals, legged_signals, signal_names, state_signals
from robot_rl.rewards import forward_velocity
from robot_rl.robot import RobotState
from robot_rl.taskgraph import A1_SIGNALS, PANDA_SIGNALS


def state(rpy: tuple[float, float, float] = (0.0, 0.0, 0.0), height: float = 0.3,
          body_velocity: tuple[float, float, float] = (0.0, 0.0, 0.0),
          ee: tuple[float, float, float] | None = None) -> RobotState:
    return RobotState(
        stamp=0.0, joint_position=np.zeros(3), joint_velocity=np.array([3.0, 4.0, 0.0]),
        joint_effort=np.zeros(3),
        imu_orientation=np.asarray(pybullet.getQuaternionFromEuler(rpy)),
        imu_angular_velocity=np.array([0.1, 0.2, 0.3]),
        base_linear_velocity=np.asarray(body_velocity, dtype=float),
        base_position=np.array([1.0, 2.0, height]),
        ee_position=None if ee is None else np.asarray(ee, dtype=float))


def test_legged_signals_are_the_a1_set_in_si_units() -> None:
    s = legged_signals(state((0.1, -0.2, 0.3), 0.28, (0.5, 0.1, 0.0)), 60.0, 0.12, 1.5)
    assert set(s) == A1_SIGNALS
    assert all(isinstance(v, float) for v in s.values())
    assert (s["roll"], s["pitch"], s["yaw"]) == pytest.approx((0.1, -0.2, 0.3))
    assert (s["roll_rate"], s["pitch_rate"], s["yaw_rate"]) == (0.1, 0.2, 0.3)
    assert (s["base_vx"], s["base_vy"], s["base_height"]) == (0.5, 0.1, 0.28)
    assert s["upright"] == pytest.approx(math.cos(0.1) * math.cos(0.2))
    assert s["time_in_task"] == 1.5 and s["fallen"] == 0.0


@pytest.mark.parametrize("pitch", [0.0, 0.3, -0.4])
def test_forward_velocity_is_speed_along_the_heading(pitch: float) -> None:
    st = state((0.0, pitch, 1.2), body_velocity=(0.8, 0.0, 0.0))
    s = legged_signals(st, 60.0, 0.12)
    # Body-x velocity projected on the ground is v_x cos(pitch), whatever the heading:
    # the same number as the plain walking reward's forward velocity.
    assert s["forward_velocity"] == pytest.approx(0.8 * math.cos(pitch))
    assert s["forward_velocity"] == pytest.approx(forward_velocity(st))
    sideways = legged_signals(state((0.0, 0.0, 1.2), body_velocity=(0.0, 0.7, 0.0)), 60, 0.12)
    assert sideways["forward_velocity"] == pytest.approx(0.0, abs=1e-9)


def test_upside_down_and_low_count_as_fallen() -> None:
    back = legged_signals(state((math.pi, 0.0, 0.0)), 60.0, 0.12)
    assert back["upright"] == pytest.approx(-1.0) and back["fallen"] == 1.0
    side = legged_signals(state((math.pi / 2, 0.0, 0.0)), 60.0, 0.12)
    assert side["upright"] == pytest.approx(0.0, abs=1e-9) and side["fallen"] == 1.0
    low = legged_signals(state(height=0.1), 60.0, 0.12)
    assert low["fallen"] == 1.0 and low["upright"] == pytest.approx(1.0)


def test_legged_signals_need_the_privileged_base_state() -> None:
    st = state()
    st.base_position = None
    with pytest.raises(ValueError, match="base_position"):
        legged_signals(st, 60.0, 0.12)


def test_arm_signals_in_the_base_frame() -> None:
    s = arm_signals(state(ee=(0.6, 0.2, 0.4)), (0.5, 0.2, 0.3), base_position=(0.1, 0, 0))
    assert set(s) == PANDA_SIGNALS
    assert (s["ee_x"], s["ee_y"], s["ee_z"]) == pytest.approx((0.5, 0.2, 0.4))
    assert s["ee_distance"] == pytest.approx(0.1)
    assert s["joint_velocity_norm"] == pytest.approx(5.0)


def test_state_signals_dispatch_on_robot_kind(a1_path, panda_path) -> None:
    a1, panda = load_config(a1_path), load_config(panda_path)
    assert signal_names(a1) == A1_SIGNALS and signal_names(panda) == PANDA_SIGNALS
    assert set(state_signals(a1, state())) == A1_SIGNALS
    s = state_signals(panda, state(ee=(0.45, 0.0, 0.4)))  # default target: the box middle
    assert (s["target_x"], s["target_y"], s["target_z"]) == pytest.approx((0.45, 0.0, 0.4))
    assert s["ee_distance"] == pytest.approx(0.0)
