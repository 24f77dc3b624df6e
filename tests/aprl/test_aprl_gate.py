"""AprlGate: the per-step actor integration with a really trained (small) dynamics model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robot_rl.aprl import (
    AprlConfig,
    AprlGate,
    DynamicsConfig,
    DynamicsEnsemble,
    DynamicsTrainer,
    JointBox,
)

OBS, ACT = 6, 3
DYN = DynamicsConfig(ensemble_size=3, hidden=(32, 32), lr=3e-3, batch_size=128)
CFG = AprlConfig(ramp_steps=2000, cooldown_steps=50, dynamics=DYN)
BOX = JointBox.create(nominal=[0.0, 0.7, -1.4], half_range=[0.4, 0.4, 0.4],
                      lower=[-0.5, 0.2, -2.0], upper=[0.5, 1.2, -0.9])


class LinearPlant:
    """``x' = A x + B u + noise``, u the applied normalized action; ``gain`` scales B."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.A = 0.9 * np.eye(OBS) + 0.02 * rng.normal(size=(OBS, OBS))
        self.B = rng.normal(size=(OBS, ACT))
        self.rng = rng
        self.gain = 1.0
        self.x = np.zeros(OBS)

    def step(self, u: np.ndarray) -> np.ndarray:
        noise = 0.01 * self.rng.normal(size=OBS)
        self.x = self.A @ self.x + self.gain * self.B @ u + noise
        return self.x.copy()


@pytest.fixture(scope="module")
def trained() -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    plant = LinearPlant(0)
    rng = np.random.default_rng(1)
    obs, act, nxt = [], [], []
    for _ in range(3000):
        u = rng.uniform(-0.6, 0.6, ACT)
        obs.append(plant.x.copy())
        act.append(u)
        nxt.append(plant.step(u))
    obs, act, nxt = (np.array(x, np.float32) for x in (obs, act, nxt))
    model = DynamicsEnsemble.from_config(OBS, ACT, DYN)
    trainer = DynamicsTrainer(model, DYN, seed=0)
    for _ in range(500):
        idx = rng.integers(0, len(obs), DYN.batch_size)
        trainer.update(obs[idx], act[idx], nxt[idx])
    return model.export_numpy()


def run(gate: AprlGate, plant: LinearPlant, steps: int, rng: np.random.Generator) -> list:
    infos = []
    obs = plant.x.copy()
    for _ in range(steps):
        cmd = gate.begin_step(obs, rng.uniform(-1, 1, ACT))
        assert np.all(cmd.targets >= BOX.lower) and np.all(cmd.targets <= BOX.upper)
        obs = plant.step(cmd.action)
        infos.append(gate.end_step(obs))
    return infos


def test_dynamics_change_shrinks_within_5_steps_then_L_grows(trained: dict) -> None:
    gate = AprlGate(CFG, BOX, obs_dim=OBS)
    gate.set_model(trained, version=7)
    plant, rng = LinearPlant(0), np.random.default_rng(2)
    before = run(gate, plant, 1500, rng)
    assert gate.limits.n_shrinks == 0 and before[-1].surprise is not None
    L_before = gate.limits.L[0]
    assert L_before == pytest.approx(0.35 + 0.25 * 1500 / 2000)
    plant.gain = 3.0  # the robot suddenly responds 3x as strongly
    after = run(gate, plant, 300, rng)
    first = next(i for i, info in enumerate(after) if info.event is not None)
    assert first < 5 and after[first].event.reason == "surprise"
    assert after[first].L[0] == pytest.approx(max(0.35, 0.5 * L_before), abs=1e-3)
    assert after[-1].L[0] > after[first].L[0]  # grows again
    m = after[first].metrics()
    assert m["aprl/shrink"] == 1.0 and m["aprl/shrink_surprise"] == 1.0
    assert m["aprl/model_version"] == 7.0 and m["aprl/surprise"] > CFG.surprise_threshold
    assert {"aprl/L", "aprl/error", "aprl/model_mse", "aprl/n_shrinks"} <= set(m)


def test_fall_shrinks_and_is_not_scored(trained: dict) -> None:
    gate = AprlGate(CFG, BOX, obs_dim=OBS)
    gate.set_model(trained)
    plant, rng = LinearPlant(0), np.random.default_rng(3)
    run(gate, plant, 1000, rng)
    L = gate.limits.L[0]
    n = gate.monitor.error_stats.n
    gate.begin_step(plant.x, np.zeros(ACT))
    info = gate.end_step(plant.x + 100.0, fell=True)
    assert info.event is not None and info.event.reason == "fall" and info.surprise is None
    assert info.L[0] == pytest.approx(max(0.35, 0.5 * L) + 0.25 / 2000)
    assert gate.monitor.error_stats.n == n and gate.monitor.cooldown == CFG.cooldown_steps
    gate.begin_step(plant.x, np.zeros(ACT))
    assert gate.end_step(None).surprise is None  # episode reset: not comparable
    assert gate.end_step(plant.x).surprise is None  # no begin_step: nothing to score
    no_shrink = AprlGate(dataclasses.replace(CFG, shrink_on_fall=False), BOX, obs_dim=OBS)
    no_shrink.set_model(trained)
    no_shrink.begin_step(plant.x, np.zeros(ACT))
    info = no_shrink.end_step(plant.x + 100.0, fell=True)
    assert info.event is None and info.surprise is None


def test_without_model_only_schedule_and_falls() -> None:
    gate = AprlGate(CFG, BOX)
    for _ in range(10):
        gate.begin_step(np.zeros(OBS), np.ones(ACT))
        info = gate.end_step(np.zeros(OBS))
    assert info.surprise is None and info.L[0] == pytest.approx(0.35 + 0.25 * 10 / 2000)
    assert "aprl/surprise" not in info.metrics()
    cmd = gate.begin_step(np.zeros(OBS), np.array([1.0, -1.0, np.nan]))
    assert np.allclose(cmd.action, [info.L[0], -info.L[0], 0.0])
    assert np.allclose(cmd.targets, BOX.nominal + cmd.action * BOX.half_range)


def test_disabled_reports_surprise_but_keeps_fixed_limits(trained: dict) -> None:
    gate = AprlGate(dataclasses.replace(CFG, enabled=False), BOX, obs_dim=OBS)
    gate.set_model(trained)
    plant, rng = LinearPlant(0), np.random.default_rng(4)
    run(gate, plant, 600, rng)
    plant.gain = 3.0
    infos = run(gate, plant, 20, rng) + [gate.end_step(None, fell=True)]
    assert any(i.surprise.triggered for i in infos[:-1])  # would have shrunk
    assert gate.limits.n_shrinks == 0 and np.allclose(gate.limits.L, 0.6)


def test_set_model_checks_sizes(trained: dict) -> None:
    with pytest.raises(ValueError, match="obs_dim"):
        AprlGate(CFG, BOX, obs_dim=OBS + 1).set_model(trained)
    wide = JointBox.create(*(np.resize(x, 4) for x in BOX))
    with pytest.raises(ValueError, match="act_dim"):
        AprlGate(CFG, wide).set_model(trained)
    gate = AprlGate(CFG, BOX)
    gate.set_model(trained, 1)
    gate.set_model(None)
    assert gate.predictor is None and gate.model_version is None


def test_state_round_trip(trained: dict) -> None:
    gate = AprlGate(CFG, BOX, obs_dim=OBS)
    gate.set_model(trained)
    run(gate, LinearPlant(0), 300, np.random.default_rng(5))
    gate.limits.shrink("fall")
    other = AprlGate(CFG, BOX, obs_dim=OBS)
    other.load_state_dict(gate.state_dict())
    other.set_model(trained)
    assert np.array_equal(other.limits.L, gate.limits.L)
    assert other.monitor.state_dict() == gate.monitor.state_dict()


@settings(max_examples=100, deadline=None)
@given(action=hnp.arrays(np.float64, ACT, elements=st.floats(allow_nan=True)),
       shrinks=st.integers(0, 5), steps=st.integers(0, 3000))
def test_gate_targets_always_inside_hard_limits(action: np.ndarray, shrinks: int,
                                                steps: int) -> None:
    gate = AprlGate(CFG, BOX)
    gate.limits._k = steps  # any point of the ramp
    for _ in range(shrinks):
        gate.limits.shrink("surprise")
    cmd = gate.begin_step(np.zeros(OBS), action)
    assert np.all(cmd.targets >= BOX.lower) and np.all(cmd.targets <= BOX.upper)
    assert np.all(np.abs(cmd.action) <= cmd.L + 1e-12)
