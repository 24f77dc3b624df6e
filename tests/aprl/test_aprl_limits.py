"""AdaptiveLimits (ramp, shrink, groups, fixed) and the action -> joint target map."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robot_rl.aprl import AdaptiveLimits, AprlConfig, JointBox, effective_action, map_action

CFG = AprlConfig(l_min=0.35, l_max=0.6, ramp_steps=100)


def test_ramp_reaches_l_max_in_exactly_n_steps_then_stays() -> None:
    lim = AdaptiveLimits(CFG, n_joints=3)
    assert np.array_equal(lim.L, np.full(3, 0.35))
    values = [lim.step()[0] for _ in range(150)]
    assert values[98] < 0.6 and values[99] == 0.6
    assert all(v == 0.6 for v in values[99:])
    assert np.allclose(values[:99], 0.35 + 0.25 * np.arange(1, 100) / 100)
    assert np.all(np.diff(values) >= 0)
    assert lim.step_count == 150


def test_shrink_halves_with_floor_and_restarts_at_the_same_slope() -> None:
    lim = AdaptiveLimits(CFG, n_joints=2)
    for _ in range(100):
        lim.step()
    event = lim.shrink("surprise")
    assert event is not None and event.reason == "surprise" and event.step == 100
    assert event.before == (0.6,) and event.after == (0.35,)  # 0.3 floored at l_min
    assert np.allclose(lim.L, 0.35)
    for _ in range(40):
        lim.step()
    assert np.allclose(lim.L, 0.35 + 0.25 * 40 / 100)  # ramp restarted at 0.35
    before = lim.L[0]
    lim.shrink("fall")
    assert np.allclose(lim.L, 0.35)  # 0.5 * 0.45 floored
    lim2 = AdaptiveLimits(dataclasses.replace(CFG, l_min=0.1, l_max=0.9, ramp_steps=80), 1)
    for _ in range(80):
        lim2.step()
    lim2.shrink("surprise")
    assert lim2.L[0] == pytest.approx(0.45)  # not floored: exactly half
    lim2.step()
    assert lim2.L[0] == pytest.approx(0.45 + 0.8 / 80)  # same slope as the first ramp
    steps = 0
    while lim2.L[0] < 0.9:
        lim2.step()
        steps += 1
    assert steps == 44  # (0.9 - 0.45) / 0.01 - 1 already taken
    assert lim.n_shrinks == 2 and [e.reason for e in lim.events] == ["surprise", "fall"]
    assert before > 0.35


def test_disabled_keeps_fixed_limit_and_ignores_shrink() -> None:
    lim = AdaptiveLimits(dataclasses.replace(CFG, enabled=False), n_joints=4)
    assert np.allclose(lim.L, 0.6)  # fixed_limit None -> l_max
    assert lim.shrink("surprise") is None
    for _ in range(10):
        lim.step()
    assert np.allclose(lim.L, 0.6) and lim.n_shrinks == 0
    fixed = AdaptiveLimits(dataclasses.replace(CFG, enabled=False, fixed_limit=0.3), 4)
    assert np.allclose(fixed.L, 0.3)


def test_zero_ramp_and_equal_bounds() -> None:
    lim = AdaptiveLimits(dataclasses.replace(CFG, ramp_steps=0), 2)
    assert np.allclose(lim.L, 0.6)
    lim.shrink("fall")
    assert np.allclose(lim.L, 0.6)  # ramp_steps 0: back at l_max at once
    flat = AdaptiveLimits(dataclasses.replace(CFG, l_min=0.5, l_max=0.5), 2)
    flat.step()
    flat.shrink("fall")
    assert np.allclose(flat.L, 0.5)


def test_per_group_limits() -> None:
    cfg = dataclasses.replace(CFG, groups=((0, 3), (1, 4), (2, 5)), l_min=(0.2, 0.3, 0.4),
                              l_max=(0.4, 0.6, 0.8))
    lim = AdaptiveLimits(cfg, n_joints=6)
    assert lim.n_groups == 3
    assert np.allclose(lim.L, [0.2, 0.3, 0.4, 0.2, 0.3, 0.4])
    for _ in range(50):
        lim.step()
    assert np.allclose(lim.group_L, [0.3, 0.45, 0.6])
    lim.shrink("surprise")
    assert np.allclose(lim.group_L, [0.2, 0.3, 0.4])  # each floored at its own l_min
    for _ in range(100):
        lim.step()
    assert np.allclose(lim.L, [0.4, 0.6, 0.8, 0.4, 0.6, 0.8])


def test_per_joint_limits_without_groups() -> None:
    lim = AdaptiveLimits(dataclasses.replace(CFG, l_max=(0.4, 0.5, 0.6)), n_joints=3)
    assert lim.n_groups == 3
    for _ in range(100):
        lim.step()
    assert np.allclose(lim.L, [0.4, 0.5, 0.6])


def test_state_dict_round_trip_is_plain_json() -> None:
    lim = AdaptiveLimits(CFG, 3)
    for _ in range(70):
        lim.step()
    lim.shrink("surprise")
    for _ in range(5):
        lim.step()
    state = json.loads(json.dumps(lim.state_dict()))
    other = AdaptiveLimits(CFG, 3)
    other.load_state_dict(state)
    assert np.array_equal(other.L, lim.L) and other.step_count == 75
    assert list(other.events) == list(lim.events)
    other.step()
    lim.step()
    assert np.array_equal(other.L, lim.L)
    with pytest.raises(ValueError, match="groups"):
        AdaptiveLimits(dataclasses.replace(CFG, l_max=(0.5, 0.6, 0.6)), 3).load_state_dict(state)


def test_map_action_examples() -> None:
    box = JointBox.create(nominal=[0.0, 0.7, -1.4], half_range=[1.0, 1.0, 1.0],
                          lower=[-0.5, 0.0, -2.0], upper=[0.5, 1.0, -1.0])
    a = np.array([1.0, -0.5, 0.2])
    assert np.allclose(map_action(a, 0.4, *box), [0.4, 0.3, -1.2])  # clip mode
    assert np.allclose(map_action(a, 0.4, *box, mode="scale"), [0.4, 0.5, -1.32])
    assert np.allclose(map_action(np.array([np.nan, np.inf, -np.inf]), 0.4, *box), box.nominal)
    assert np.allclose(map_action(np.array([5.0, 0.0, 0.0]), 1.0, *box), [0.5, 0.7, -1.4])
    assert np.allclose(effective_action(np.array([0.9, -0.1]), np.array([0.5, 0.05])),
                       [0.5, -0.05])
    with pytest.raises(ValueError):
        map_action(a, 0.4, box.nominal, box.half_range, box.upper, box.lower)
    with pytest.raises(ValueError):
        JointBox.create([0.0], [1.0], [-np.inf], [1.0])


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def joint_problems(draw: st.DrawFn) -> tuple:
    n = draw(st.integers(1, 12))
    finite = st.floats(-10.0, 10.0, allow_nan=False)
    lo = draw(hnp.arrays(np.float64, n, elements=finite))
    width = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 10.0)))
    hi = lo + width
    frac = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 1.0)))
    nominal = np.clip(lo + frac * width, lo, hi)
    half_range = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 1e6)))
    a = draw(hnp.arrays(np.float64, n, elements=floats))
    L = draw(st.one_of(st.floats(0.0, 2.0),
                       hnp.arrays(np.float64, n, elements=st.floats(0.0, 2.0))))
    mode = draw(st.sampled_from(["clip", "scale"]))
    return a, L, nominal, half_range, lo, hi, mode


@settings(max_examples=300, deadline=None)
@given(joint_problems())
def test_command_never_leaves_hard_limits(problem: tuple) -> None:
    a, L, nominal, half_range, lo, hi, mode = problem
    q = map_action(a, L, nominal, half_range, lo, hi, mode=mode)
    assert q.shape == lo.shape and np.isfinite(q).all()
    assert np.all(q >= lo) and np.all(q <= hi)
    bad = ~np.isfinite(a)
    assert np.array_equal(q[bad], nominal[bad])  # non-finite action -> nominal pose


@settings(max_examples=100, deadline=None)
@given(a=hnp.arrays(np.float64, 6, elements=floats), L=st.floats(0.0, 2.0))
def test_effective_action_stays_within_L_and_the_unit_box(a: np.ndarray, L: float) -> None:
    for mode in ("clip", "scale"):
        eff = effective_action(a, L, mode)
        assert np.isfinite(eff).all() and np.all(np.abs(eff) <= min(L, 1.0))


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.sampled_from(["step", "step", "step", "shrink"]), max_size=300),
       a=hnp.arrays(np.float64, 4, elements=floats),
       shrink_factor=st.floats(0.01, 0.99), ramp_steps=st.integers(0, 50))
def test_any_limits_state_keeps_L_in_range_and_command_in_limits(
    ops: list[str], a: np.ndarray, shrink_factor: float, ramp_steps: int
) -> None:
    cfg = AprlConfig(groups=((0, 1), (2, 3)), l_min=(0.1, 0.3), l_max=(0.5, 0.9),
                     shrink_factor=shrink_factor, ramp_steps=ramp_steps)
    lim = AdaptiveLimits(cfg, 4)
    box = JointBox.create([0.0, 0.1, 0.2, 0.3], [0.5, 0.5, 2.0, 2.0], [-0.2] * 4, [0.4] * 4)
    for op in ops:
        lim.step() if op == "step" else lim.shrink("surprise")
    L = lim.group_L
    assert np.all(L >= np.array([0.1, 0.3]) - 1e-12) and np.all(L <= np.array([0.5, 0.9]))
    q = map_action(a, lim.L, *box)
    assert np.all(q >= box.lower) and np.all(q <= box.upper)
