"""The safety filter, through the actor's control step: properties over random sequences of
states (anywhere within the limits, stale, NaN), e-stop, pause, learner events and actions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_rl.config import load_config
from robot_rl.nodes.actor_core import ActorCore, StepOutput
from robot_rl.robot import RobotState
from robot_rl.safety import SafetyFilter
from tests.nodes.nodes_util import feed, robot_state

A1 = Path(__file__).resolve().parents[1] / "robot_configs" / "a1.yaml"
CFG = load_config(str(A1))
LOWER = np.array(CFG.robot.position_lower)
UPPER = np.array(CFG.robot.position_upper)
N = CFG.n_joints


class Scripted:
    """A policy that returns the drawn actions in turn (NaN and out-of-range included)."""

    warming_up = False
    version = 0

    def __init__(self, actions: list[list[float]]) -> None:
        self.actions = [np.array(a, np.float32) for a in actions] or [np.zeros(N, np.float32)]
        self.k = 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.k += 1
        return self.actions[(self.k - 1) % len(self.actions)]


fraction = st.floats(0.0, 1.0)
pose = st.lists(fraction, min_size=N, max_size=N).map(
    lambda f: np.clip(LOWER + np.array(f) * (UPPER - LOWER), LOWER, UPPER))  # within limits
action = st.lists(st.one_of(st.floats(-3.0, 3.0), st.just(float("nan"))), min_size=N,
                  max_size=N)
event = st.one_of(
    st.tuples(st.just("state"), pose), st.tuples(st.just("nan_state"), pose),
    st.tuples(st.sampled_from(["stale", "estop_on", "estop_off", "pause", "resume",
                               "learner_lost", "learner_back", "step"]), st.none()))


def check_sequence(events: list[tuple[str, Any]], actions: list[list[float]]) -> None:
    core = ActorCore(CFG, Scripted(actions))  # type: ignore[arg-type]
    f = core.safety
    t = 0.0
    measured: np.ndarray | None = None  # the newest fresh measured pose
    latch: np.ndarray | None = None
    previous: np.ndarray | None = None  # the last command sent (None: a hold or nothing)
    fresh_now = False

    def check(out: StepOutput | None, fresh: bool) -> None:
        nonlocal latch, previous
        if out is None:
            return
        if measured is None:
            assert out.command is None  # nothing before the first complete state
            return
        cmd = out.command
        assert cmd is not None and np.all(np.isfinite(cmd))
        assert np.all(cmd >= LOWER) and np.all(cmd <= UPPER)
        if out.hold:
            if latch is None or (out.reason == "estop" and fresh):
                latch = measured.copy()
            np.testing.assert_array_equal(cmd, latch)  # the latched measured pose
            previous = None
            return
        latch = None
        assert fresh
        assert np.all(np.abs(cmd - measured) <= f.max_tracking_error + 1e-9)
        anchor = measured if previous is None else previous  # leaving a hold re-anchors
        inside = np.clip(anchor, measured - f.max_tracking_error,
                         measured + f.max_tracking_error)
        allowed = np.maximum(f.max_step, np.abs(anchor - inside))
        assert np.all(np.abs(cmd - anchor) <= allowed + 1e-9)
        previous = cmd.copy()

    def still_fresh() -> bool:  # no new message, but the newest state is still fresh
        state = core.inputs.state()
        return (measured is not None and state is not None and state.is_finite()
                and t - state.stamp <= f.max_state_age_s)

    for kind, value in events:
        t += core.dt
        fresh_now = False
        if kind == "state":
            feed(core, t, robot_state(CFG, value))
            measured, fresh_now = value.copy(), True
        elif kind == "nan_state":
            q = value.copy()
            q[0] = np.nan
            feed(core, t, robot_state(CFG, q))
        elif kind == "stale":
            t += f.max_state_age_s
        elif kind in ("estop_on", "estop_off"):
            check(core.set_estop(kind == "estop_on", t), still_fresh())
            continue
        elif kind in ("pause", "resume"):
            check(core.operator(kind, t), still_fresh())
            continue
        elif kind in ("learner_lost", "learner_back"):
            core.learner_lost = kind == "learner_lost"
        if kind != "state":
            fresh_now = still_fresh()
        check(core.step(t), fresh_now)


@settings(max_examples=250, deadline=None)
@given(events=st.lists(event, min_size=1, max_size=40),
       actions=st.lists(action, min_size=1, max_size=5))
def test_every_command_is_bounded_and_every_hold_is_the_measured_pose(
        events: list[tuple[str, Any]], actions: list[list[float]]) -> None:
    check_sequence(events, actions)


def test_nothing_is_commanded_before_the_first_state() -> None:
    core = ActorCore(CFG, Scripted([[1.0] * N]))  # type: ignore[arg-type]
    outs = [core.step(k * core.dt) for k in range(80)]  # 4 s of control periods
    outs.append(core.set_estop(True, 4.0))
    outs.append(core.operator("pause", 4.0))
    assert all(o is not None and o.command is None for o in outs)


def test_defaults_bind_on_the_shipped_robots() -> None:
    for name in ("a1", "panda"):
        cfg = load_config(str(A1.parent / f"{name}.yaml"))
        f = SafetyFilter.from_config(cfg)
        full_speed = np.array(cfg.robot.velocity_limit) * cfg.control_dt
        box = 2 * np.array(cfg.robot.action_scale)  # what one step of the policy can ask
        assert np.all(f.max_step < full_speed) and np.any(f.max_step < box), name
        assert np.all(f.max_tracking_error <= box + 1e-12), name


def state(q: np.ndarray, stamp: float = 0.0) -> RobotState:
    return dataclasses.replace(robot_state(CFG, q), stamp=stamp)


def test_targets_are_clamped_by_step_tracking_and_limits() -> None:
    f = SafetyFilter.from_config(CFG)
    q = np.array(CFG.robot.nominal)
    cmd, info = f.step(q + 5.0, state(q), now=0.0)
    assert cmd is not None and info.clamped and not info.hold
    bound = q + f.max_tracking_error
    # the anchor is the measured pose: one step from it, within the tracking bound
    np.testing.assert_allclose(cmd, np.minimum(np.minimum(q + f.max_step, bound), UPPER))
    cmd2, _ = f.step(q + 5.0, state(q), now=0.0)  # the robot did not follow
    assert cmd2 is not None
    np.testing.assert_allclose(cmd2, np.minimum(np.minimum(cmd + f.max_step, bound), UPPER))
    assert np.any(cmd2 > cmd)  # the step bound, not the tracking bound, stopped the first
    low, _ = f.step(np.full(N, -50.0), state(LOWER.copy()), now=0.0)
    assert low is not None and np.all(low >= LOWER)


def test_a_jump_of_the_robot_moves_the_command_towards_it() -> None:
    f = SafetyFilter.from_config(CFG)
    q = np.array(CFG.robot.nominal)
    f.step(q, state(q), now=0.0)
    far = q + 3 * f.max_tracking_error  # pushed far in one period
    cmd, info = f.step(q, state(np.clip(far, LOWER, UPPER)), now=0.0)
    assert cmd is not None and not info.hold
    measured = np.clip(far, LOWER, UPPER)
    assert np.all(np.abs(cmd - measured) <= f.max_tracking_error + 1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_action_holds_at_the_measured_pose(bad: float) -> None:
    f = SafetyFilter.from_config(CFG)
    q = np.array(CFG.robot.nominal) + 0.1
    targets = q.copy()
    targets[3] = bad
    cmd, info = f.step(targets, state(q), now=0.0)
    assert info.hold and info.reason == "nonfinite_action"
    np.testing.assert_array_equal(cmd, q)


def test_a_state_without_an_orientation_is_not_acted_on() -> None:
    """An all-zero IMU quaternion (what a driver sends when it estimates no orientation) is
    no state: nothing before a good one, the latched measured pose after; a slightly
    unnormalized quaternion is still an orientation."""
    f = SafetyFilter.from_config(CFG)
    q = np.array(CFG.robot.nominal)
    blind = dataclasses.replace(state(q + 0.1), imu_orientation=np.zeros(4))
    cmd, info = f.step(q + 0.1, blind, now=0.0)
    assert cmd is None and info.hold and info.reason == "no_state"
    f.step(q, state(q), now=0.0)
    cmd, info = f.step(q + 0.1, blind, now=0.0)
    assert info.hold and info.reason == "no_orientation"
    np.testing.assert_array_equal(cmd, q)  # the pose measured before, not blind's
    sloppy = dataclasses.replace(state(q), imu_orientation=np.array([0.0, 0.0, 0.0, 0.98]))
    assert f.fresh(sloppy, now=0.0)
    _, info = f.step(q, sloppy, now=0.0)
    assert not info.hold
