"""SurpriseMonitor: quiet under stationary noise, fast on a jump, cooldown, warm-up, NaN."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from robot_rl.aprl import AprlConfig, SurpriseMonitor

CFG = AprlConfig()


class FakeModel:
    """Observed delta ``mult * d`` against a prediction ``d + noise`` (a well-trained model)."""

    def __init__(self, dim: int, seed: int, scales: np.ndarray | None = None,
                 heavy: bool = False) -> None:
        self.rng = np.random.default_rng(seed)
        self.dim, self.heavy = dim, heavy
        self.scales = np.geomspace(0.02, 0.3, dim) if scales is None else scales

    def step(self, monitor: SurpriseMonitor, mult: float = 1.0, members: int = 0):
        d = self.rng.normal(size=self.dim)
        noise = self.rng.standard_t(3, self.dim) if self.heavy else self.rng.normal(size=self.dim)
        pred = d + self.scales * noise
        pred_all = None
        if members:
            pred_all = pred + 0.05 * self.rng.normal(size=(members, self.dim))
        return monitor.update(pred, pred_all, mult * d)


@pytest.mark.parametrize(("dim", "heavy", "seed"), [(3, False, 0), (12, True, 1), (40, False, 2)])
def test_stationary_noise_never_triggers(dim: int, heavy: bool, seed: int) -> None:
    monitor = SurpriseMonitor(dataclasses.replace(CFG, use_disagreement=True))
    model = FakeModel(dim, seed, heavy=heavy)
    infos = [model.step(monitor, members=5) for _ in range(2000)]
    assert not any(i.triggered for i in infos)
    assert monitor.n_triggers == 0 and monitor.warm
    late = [i.error for i in infos[500:]]
    assert 0.5 < float(np.mean(late)) < 2.0  # per-dim normalized: about 1 when nothing changes


@pytest.mark.parametrize(("dim", "seed"), [(6, 3), (12, 4), (40, 5)])
def test_abrupt_3x_change_triggers_within_trigger_steps(dim: int, seed: int) -> None:
    monitor = SurpriseMonitor(CFG)
    model = FakeModel(dim, seed)
    for _ in range(1000):
        model.step(monitor)
    infos = [model.step(monitor, mult=3.0) for _ in range(CFG.trigger_steps)]
    assert infos[0].surprise_z > CFG.surprise_threshold  # the signal reacts at the first step
    assert [i.triggered for i in infos] == [False] * (CFG.trigger_steps - 1) + [True]


def test_cooldown_blocks_then_a_sustained_change_fades_out() -> None:
    cfg = dataclasses.replace(CFG, cooldown_steps=50)
    monitor = SurpriseMonitor(cfg)
    model = FakeModel(12, 6)
    for _ in range(1000):
        model.step(monitor)
    triggers = [t for t in range(3000) if model.step(monitor, mult=3.0).triggered]
    assert triggers[0] == cfg.trigger_steps - 1
    assert all(b - a > cfg.cooldown_steps for a, b in zip(triggers, triggers[1:]))
    assert triggers[1] - triggers[0] == cfg.cooldown_steps + 1  # first allowed step
    assert 2 <= len(triggers) <= 20 and triggers[-1] < 2000  # re-normalizes: new normal
    after = [model.step(monitor, mult=3.0) for _ in range(200)]
    assert not any(i.triggered for i in after)


def test_statistics_do_not_absorb_the_spike() -> None:
    monitor = SurpriseMonitor(CFG)
    model = FakeModel(12, 7)
    for _ in range(1000):
        model.step(monitor)
    mean, std = monitor.error_stats.mean, monitor.error_stats.std
    info = model.step(monitor, mult=5.0)
    assert info.surprise_z > 10
    assert monitor.error_stats.mean <= mean + CFG.stats_rate * CFG.stats_clip_z * std + 1e-12


def test_warmup_and_external_cooldown() -> None:
    cfg = dataclasses.replace(CFG, warmup_steps=50, cooldown_steps=10, trigger_steps=1)
    monitor = SurpriseMonitor(cfg)
    model = FakeModel(8, 8)
    early = [model.step(monitor, mult=1.0 if t < 40 else 4.0) for t in range(45)]
    assert any(i.exceeded for i in early) and not any(i.triggered for i in early)
    assert not early[-1].warm
    for _ in range(1500):
        model.step(monitor)
    monitor.start_cooldown()  # e.g. a fall just shrank L
    blocked = [model.step(monitor, mult=4.0) for _ in range(10)]
    assert not any(i.triggered for i in blocked) and all(i.exceeded for i in blocked)
    assert model.step(monitor, mult=4.0).triggered


def test_disagreement_is_a_second_signal() -> None:
    cfg = dataclasses.replace(CFG, use_disagreement=True, trigger_steps=1)
    monitor = SurpriseMonitor(cfg)
    rng = np.random.default_rng(0)
    for _ in range(500):
        pred_all = 0.05 * rng.normal(size=(5, 6))
        assert not monitor.update(pred_all.mean(0), pred_all, pred_all.mean(0)).triggered
    wide = 2.0 * rng.normal(size=(5, 6))  # members disagree; mean happens to be right
    info = monitor.update(wide.mean(0), wide, wide.mean(0))
    assert info.disagreement_z > cfg.disagreement_threshold and info.triggered
    off = SurpriseMonitor(dataclasses.replace(cfg, use_disagreement=False))
    for _ in range(500):
        pred_all = 0.05 * rng.normal(size=(5, 6))
        off.update(pred_all.mean(0), pred_all, pred_all.mean(0))
    assert not off.update(wide.mean(0), wide, wide.mean(0)).triggered


def test_non_finite_steps_are_skipped() -> None:
    monitor = SurpriseMonitor(dataclasses.replace(CFG, trigger_steps=1))
    model = FakeModel(4, 9)
    for _ in range(300):
        model.step(monitor)
    n = monitor.error_stats.n
    info = monitor.update(np.array([np.nan, 0, 0, 0]), None, np.zeros(4))
    assert math.isnan(info.error) and not info.triggered and not info.exceeded
    info = monitor.update(np.zeros(4), None, np.array([0, np.inf, 0, 0]))
    assert not info.triggered
    assert monitor.error_stats.n == n and monitor.n_invalid == 2
    assert math.isfinite(model.step(monitor).surprise_z)


def test_state_round_trip() -> None:
    monitor = SurpriseMonitor(CFG)
    model = FakeModel(5, 10)
    for _ in range(300):
        model.step(monitor)
    other = SurpriseMonitor(CFG)
    other.load_state_dict(json.loads(json.dumps(monitor.state_dict())))
    obs = np.ones(5)
    assert monitor.update(obs, None, 2 * obs) == other.update(obs, None, 2 * obs)
