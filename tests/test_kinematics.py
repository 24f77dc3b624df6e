"""``robot.action_mode: ee_delta``: an action moves the end effector, inverse kinematics turns
the move into joint targets, and the one control step's safety filter bounds them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from robot_rl.config import RobotConfig, load_config
from robot_rl.control import ControlStep
from robot_rl.kinematics import EndEffectorMapper, action_for_targets
from tests.conftest import CONFIGS
from tests.nodes.nodes_util import robot_state

PUSH = CONFIGS / "panda_push.yaml"  # ships with ee_delta: 3 cm per step, gripper down


@pytest.fixture(scope="module")
def push() -> Iterator[tuple[RobotConfig, EndEffectorMapper]]:
    cfg = load_config(PUSH)
    mapper = EndEffectorMapper(cfg)
    yield cfg, mapper
    mapper.kinematics.close()


def _start(cfg: RobotConfig, mapper: EndEffectorMapper) -> np.ndarray:
    """A pose well inside the workspace box, the gripper 14 cm above the table (the
    nominal pose puts it 3.6 cm above ``ee_high``: tested below)."""
    q = np.asarray(cfg.robot.nominal, dtype=np.float64)
    for action in ([0, 0, 0], [0, 0, -1], [0, 0, -1]):
        q = mapper(np.asarray(action, dtype=np.float64), measured=q)
    return q


def test_a_start_outside_the_box_is_brought_into_it(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    kin = mapper.kinematics
    nominal = np.asarray(cfg.robot.nominal, dtype=np.float64)
    assert kin.forward(nominal)[2] > cfg.robot.ee_high[2] + 0.03
    inside = kin.forward(mapper(np.zeros(3), measured=nominal))
    np.testing.assert_allclose(inside, [*kin.forward(nominal)[:2], cfg.robot.ee_high[2]],
                               atol=2e-3)


def test_the_action_has_three_numbers_and_so_does_the_previous_action(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, _ = push
    assert cfg.robot.action_mode == "ee_delta" and cfg.action_dim == 3
    control = ControlStep(cfg)
    assert control.prev_action.shape == (3,)


def test_a_zero_action_keeps_the_end_effector_where_it_is(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    kin = mapper.kinematics
    q = _start(cfg, mapper)
    here = kin.forward(q)
    assert np.linalg.norm(kin.forward(mapper(np.zeros(3), measured=q)) - here) < 2e-3


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("sign", [1.0, -0.5])
def test_each_axis_moves_the_end_effector_by_its_share_of_ee_step(
        push: tuple[RobotConfig, EndEffectorMapper], axis: int, sign: float) -> None:
    cfg, mapper = push
    kin = mapper.kinematics
    q = _start(cfg, mapper)
    action = np.zeros(3)
    action[axis] = sign
    moved = kin.forward(mapper(action, measured=q)) - kin.forward(q)
    expected = np.zeros(3)
    expected[axis] = sign * cfg.robot.ee_step
    np.testing.assert_allclose(moved, expected, atol=3e-3)


def test_the_gripper_keeps_pointing_down(push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    kin = mapper.kinematics
    q = _start(cfg, mapper)
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = mapper(rng.uniform(-1, 1, 3), measured=q)
        kin.forward(q)
        quat = kin.client.getLinkState(kin.body, kin.ee_id, computeForwardKinematics=True)[5]
        z_axis = np.asarray(kin.client.getMatrixFromQuaternion(quat)).reshape(3, 3)[:, 2]
        assert z_axis[2] < -0.99, z_axis  # the gripper's z axis points at the table


def test_the_target_never_leaves_the_workspace_box(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    kin = mapper.kinematics
    low, high = np.asarray(cfg.robot.ee_low), np.asarray(cfg.robot.ee_high)
    for push_towards in ([0, 0, -1], [1, 1, 1], [-1, -1, 0]):
        q = _start(cfg, mapper)
        for _ in range(30):  # well past the box at 3 cm per step
            q = mapper(np.asarray(push_towards, dtype=np.float64), measured=q)
        ee = kin.forward(q)
        assert np.all(ee >= low - 5e-3) and np.all(ee <= high + 5e-3), (push_towards, ee)
        if push_towards == [0, 0, -1]:  # the floor of the box, 1.5 cm above the table
            assert ee[2] == pytest.approx(low[2], abs=3e-3)
        # (the corners past x 0.68 m or |y| 0.22 m lie outside the joint box the inverse
        # kinematics keeps to: the gripper stops short of them, still inside)


def test_non_finite_actions_make_the_control_step_hold_the_measured_pose(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    q = _start(cfg, mapper)
    for bad in ([np.nan, 0, 0], [0, np.inf, 0], [0, 0]):  # a wrong length too
        assert np.all(np.isnan(mapper(np.asarray(bad, dtype=np.float64), measured=q)))
    control = ControlStep(cfg)
    control.new_episode()
    measured = q + 0.05
    state = robot_state(cfg, position=measured)
    out = control.act(np.array([np.nan, 0.0, 0.0], np.float32), state, 0.0)
    assert out.safety.hold and out.safety.reason == "nonfinite_action"
    np.testing.assert_allclose(out.command, measured)


def test_commands_pass_the_safety_filter_step_bound(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    control = ControlStep(cfg)
    control.new_episode()
    measured = _start(cfg, mapper)
    out = control.act(np.array([1.0, 1.0, -1.0], np.float32), robot_state(cfg, measured), 0.0)
    assert out.command is not None and not out.safety.hold
    bound = np.asarray(control.safety.max_step)
    assert np.all(np.abs(out.command - measured) <= bound + 1e-9)


def test_action_for_targets_inverts_the_mapping(
        push: tuple[RobotConfig, EndEffectorMapper]) -> None:
    cfg, mapper = push
    q = _start(cfg, mapper)
    action = np.array([0.5, -0.3, 0.2])
    targets = mapper(action, measured=q)
    back = action_for_targets(cfg, targets, q, mapper.kinematics)
    assert back.dtype == np.float32 and back.shape == (3,)
    np.testing.assert_allclose(back, action, atol=0.1)
    with pytest.raises(ValueError, match="kinematics"):
        action_for_targets(cfg, targets, q)
