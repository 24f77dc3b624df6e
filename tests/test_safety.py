"""The safety filter: no command ever leaves the limits; bad input leads to a hold."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_rl.robot import RobotState
from robot_rl.safety import SafetyFilter

LOWER = np.array([-0.8, -1.05, -2.7])
UPPER = np.array([0.8, 4.19, -0.92])
VEL = np.array([21.0, 21.0, 2.0])
DT = 0.05


def state(q: np.ndarray, stamp: float = 0.0) -> RobotState:
    n = len(q)
    return RobotState(stamp=stamp, joint_position=np.asarray(q, float),
                      joint_velocity=np.zeros(n), joint_effort=np.zeros(n),
                      imu_orientation=np.array([0, 0, 0, 1.0]), imu_angular_velocity=np.zeros(3))


def make(**kw: object) -> SafetyFilter:
    return SafetyFilter(LOWER, UPPER, VEL, DT, max_state_age_s=0.1, **kw)  # type: ignore[arg-type]


anything = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.lists(anything, min_size=3, max_size=3),
                                st.lists(anything, min_size=3, max_size=3),
                                st.floats(-1.0, 1.0), st.booleans()),
                      min_size=1, max_size=20),
       start=st.lists(anything, min_size=3, max_size=3))
def test_no_command_ever_leaves_the_limits(steps: list, start: list) -> None:
    f = make()
    f.reset(np.array(start))
    previous = f.last_command
    assert np.all(previous >= LOWER) and np.all(previous <= UPPER)
    for targets, measured, age, estop in steps:
        f.set_estop(estop)
        cmd, _ = f.filter(np.array(targets), state(np.array(measured)), now=age)
        assert np.all(np.isfinite(cmd))
        assert np.all(cmd >= LOWER) and np.all(cmd <= UPPER)
        assert np.all(np.abs(cmd - previous) <= VEL * DT + 1e-12)
        previous = cmd


def test_clamps_to_position_limits() -> None:
    f = make(rate_limit=False)
    cmd, info = f.filter(np.array([5.0, -5.0, 0.0]), state(np.zeros(3)), now=0.0)
    assert np.allclose(cmd, [0.8, -1.05, -0.92]) and info.clamped and not info.hold


def test_rate_limits_by_velocity() -> None:
    f = make()
    f.reset(np.array([0.0, 0.0, -1.5]))
    cmd, info = f.filter(np.array([0.5, 0.5, -1.0]), state(np.zeros(3)), now=0.0)
    assert np.allclose(cmd, [0.5, 0.5, -1.5 + 2.0 * DT]) and info.clamped


def test_nan_action_holds_last_safe_pose() -> None:
    f = make()
    first, _ = f.filter(np.array([0.1, 0.2, -1.5]), state(np.zeros(3)), now=0.0)
    cmd, info = f.filter(np.array([np.nan, 0.0, -1.5]), state(np.zeros(3)), now=0.0)
    assert info.hold and info.reason == "nonfinite_action"
    assert np.array_equal(cmd, first)


def test_nan_state_holds() -> None:
    f = make()
    cmd, info = f.filter(np.zeros(3), state(np.array([np.nan, 0, 0])), now=0.0)
    assert info.hold and info.reason == "nonfinite_state"


def test_stale_state_holds() -> None:
    f = make()
    _, info = f.filter(np.zeros(3) - 1.5, state(np.zeros(3), stamp=1.0), now=1.05)
    assert not info.hold
    _, info = f.filter(np.zeros(3) - 1.5, state(np.zeros(3), stamp=1.0), now=1.2)
    assert info.hold and info.reason == "stale_state"


def test_estop_holds_until_released() -> None:
    f = make()
    f.set_estop(True)
    held, info = f.filter(np.array([0.5, 0.5, -1.0]), state(np.zeros(3)), now=0.0)
    assert info.hold and info.reason == "estop"
    f.set_estop(False)
    _, info = f.filter(np.array([0.5, 0.5, -1.0]), state(np.zeros(3)), now=0.0)
    assert not info.hold
