"""APRL wired into training, without the simulator: gate, learner side, trainer, config."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from robot_rl.aprl import AprlConfig, AprlGate, DynamicsConfig, JointBox
from robot_rl.aprl.actor_side import joint_box
from robot_rl.config import LearnerConfig, RobotConfig, from_dict, load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.robot import RobotState
from robot_rl.runs import RunDir, plot_aprl, read_metrics
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.train_aprl import AprlAgent, AprlEnv, AprlTrainer
from tests.conftest import CONFIGS, write_config

OBS, ACT = 6, 3
TINY_DYN = DynamicsConfig(ensemble_size=2, hidden=(16,))


FAKE = from_dict(RobotConfig, {
    "name": "fake", "observation": {"signals": ["joint_position", "previous_action"]},
    "robot": {"urdf": "none.urdf", "joints": ["a", "b", "c"], "nominal": [0.0] * ACT,
              "position_lower": [-1.0] * ACT, "position_upper": [1.0] * ACT,
              "velocity_limit": [100.0] * ACT, "effort_limit": [1.0] * ACT,
              "action_scale": [0.5] * ACT},
    "task": {"episode_steps": 50}})


class FakeRobot:
    """A kinematic 3-joint robot (no simulator): goes where it is sent; rolls over (a fall) at
    step ``fall_at`` of each episode. Records the joint targets it gets."""

    def __init__(self, fall_at: int | None = None) -> None:
        self.joint_names, self.control_dt = FAKE.robot.joints, FAKE.control_dt
        self.fall_at, self.t, self.clock = fall_at, 0, 0.0
        self.q = np.zeros(ACT)
        self.received: list[np.ndarray] = []

    def reset(self, seed: int | None = None) -> RobotState:
        self.t, self.q = 0, np.zeros(ACT)
        return self.read_state()

    def read_state(self) -> RobotState:
        roll = 1.5 if self.t == self.fall_at else 0.0  # beyond sim.fall_tilt_deg
        return RobotState(stamp=self.clock, joint_position=self.q.copy(),
                          joint_velocity=np.zeros(ACT), joint_effort=np.zeros(ACT),
                          imu_orientation=np.array([np.sin(roll / 2), 0, 0, np.cos(roll / 2)]),
                          imu_angular_velocity=np.zeros(3), base_linear_velocity=np.zeros(3))

    def send_command(self, targets: np.ndarray) -> None:
        self.received.append(np.array(targets))
        self.q = np.array(targets)

    def tick(self) -> None:
        self.t += 1
        self.clock += self.control_dt

    def now(self) -> float:
        return self.clock


def fake_env(fall_at: int | None = None, horizon: int = 50) -> RobotEnv:
    cfg = dataclasses.replace(FAKE, task=dataclasses.replace(FAKE.task, episode_steps=horizon))
    return RobotEnv(cfg, robot=FakeRobot(fall_at))


def gate_for(cfg: AprlConfig) -> AprlGate:
    box = JointBox.create(np.zeros(ACT), np.full(ACT, 0.5), np.full(ACT, -1.0), np.ones(ACT))
    return AprlGate(cfg, box, OBS)


def learner(**kw: Any) -> LearnerConfig:
    return LearnerConfig(hidden=[16, 16], batch_size=8, warmup_steps=10, buffer_size=1000, **kw)


def test_env_sends_the_gated_action_and_reports_it():
    cfg = AprlConfig(l_min=0.3, l_max=0.3, ramp_steps=0, dynamics=TINY_DYN)
    robot_env = fake_env()
    env = AprlEnv(robot_env, gate_for(cfg), range_factor=0.4)
    assert robot_env.limit == 0.4 and env.cfg is robot_env.cfg  # attributes pass through
    env.reset()
    _, _, _, _, info = env.step(np.array([1.0, -1.0, 0.1], np.float32))
    np.testing.assert_allclose(info["applied_action"], [0.3, -0.3, 0.1], atol=1e-6)
    # sent: nominal + range_factor * applied * action_scale, through the safety filter
    np.testing.assert_allclose(robot_env.robot.received[-1],
                               0.4 * 0.5 * np.array([0.3, -0.3, 0.1]), atol=1e-6)
    assert info["aprl"].event is None and info["aprl"].metrics()["aprl/L"] == pytest.approx(0.3)


def test_a_fall_shrinks_L_through_the_wrapper():
    cfg = AprlConfig(l_min=0.2, l_max=0.8, ramp_steps=10, dynamics=TINY_DYN)
    env = AprlEnv(fake_env(fall_at=12), gate_for(cfg))
    env.reset()
    for _ in range(11):
        env.step(np.zeros(ACT, np.float32))
    _, _, terminated, _, info = env.step(np.zeros(ACT, np.float32))
    assert terminated and info["aprl"].event.reason == "fall"
    assert info["aprl"].event.after == (pytest.approx(0.4),)  # 0.5 * 0.8


def test_one_dynamics_update_per_actor_update_and_the_gate_gets_the_model():
    sac = SAC(OBS, ACT, learner(utd=4, policy_delay=2), seed=0)
    cfg = AprlConfig(dynamics=DynamicsConfig(ensemble_size=2, hidden=(16,),
                                             updates_per_actor_update=3))
    gate = gate_for(cfg)
    agent = AprlAgent(sac, cfg, gate, seed=0, sync_every=1)
    buffer = ReplayBuffer(OBS, ACT, 100, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        o, a = rng.normal(size=OBS), rng.uniform(-1, 1, ACT)
        buffer.add(o, a, 0.0, o + 0.1, False, False)
    info = agent.update(buffer.sample(8, 4))
    assert sac.updates == 4 and sac.actor_updates == 2
    assert agent.dynamics.n_updates == 2 * 3 and info["dynamics/updates"] == 6
    assert gate.predictor is not None and gate.model_version == sac.actor_updates == 2
    agent.update(buffer.sample(8, 4))
    assert agent.dynamics.n_updates == 12 and gate.model_version == 4


def test_the_actor_loss_keeps_the_policy_inside_the_gate_limit():
    sac = SAC(OBS, ACT, learner(), seed=0)
    cfg = AprlConfig(l_min=0.05, l_max=0.05, ramp_steps=0, dynamics=TINY_DYN)
    agent = AprlAgent(sac, cfg, gate_for(cfg))
    np.testing.assert_allclose(agent.current_limit, 0.05)
    a = torch.tensor([[0.0, 0.04, -0.01], [0.0, 0.5, 0.0]])
    np.testing.assert_allclose(sac.actor_penalty(a).numpy(), [0.0, 12 * 0.5], rtol=1e-6)
    buffer = ReplayBuffer(OBS, ACT, 100, seed=0)
    for i in range(20):
        buffer.add(np.full(OBS, i / 20), np.zeros(ACT), 0.0, np.zeros(OBS), False, False)
    info = agent.update(buffer.sample(8, 1))
    assert info["actor_penalty"] > 0  # a random policy leaves [-0.05, 0.05]


def test_agent_state_round_trips_through_a_weights_only_checkpoint(tmp_path: Path):
    cfg = AprlConfig(l_min=0.2, l_max=0.8, ramp_steps=10, dynamics=TINY_DYN)

    def make() -> tuple[AprlAgent, AprlGate]:
        gate = gate_for(cfg)
        return AprlAgent(SAC(OBS, ACT, learner(), seed=0), cfg, gate, sync_every=1), gate

    agent, gate = make()
    buffer = ReplayBuffer(OBS, ACT, 100, seed=0)
    for i in range(20):
        buffer.add(np.full(OBS, i / 20), np.full(ACT, 0.1), 0.0, np.full(OBS, i / 19), False,
                   False)
    agent.update(buffer.sample(8, 1))
    gate.limits.step()
    gate.limits.shrink("fall")
    torch.save(agent.state_dict(), tmp_path / "agent.pt")
    other, other_gate = make()
    other.load_state_dict(torch.load(tmp_path / "agent.pt", weights_only=True))
    for p, q in zip(agent.model.parameters(), other.model.parameters()):
        assert torch.equal(p, q)
    assert other.dynamics.n_updates == agent.dynamics.n_updates == 1
    assert other_gate.state_dict() == gate.state_dict()
    assert other_gate.model_version == gate.model_version == 1


def test_trainer_stores_applied_actions_and_logs_L_surprise_and_shrinks(tmp_path: Path):
    cfg = AprlConfig(l_min=0.25, l_max=0.5, ramp_steps=20, dynamics=TINY_DYN)
    gate = gate_for(cfg)
    env = AprlEnv(fake_env(fall_at=30, horizon=40), gate)
    lcfg = learner()
    agent = AprlAgent(SAC(OBS, ACT, lcfg, seed=0), cfg, gate, sync_every=5)
    buffer = ReplayBuffer(OBS, ACT, 1000, seed=0)
    run = RunDir.create(tmp_path, "fake")
    trainer = AprlTrainer(env, agent, buffer, lcfg, run=run, progress=False, aprl_log_every=5)
    trainer.train(55)
    trainer.close()
    stored = buffer.data["action"][:len(buffer)]
    assert np.all(np.abs(stored) <= 0.5 + 1e-6)  # inside L (warm-up: uniform in [-L, L])
    assert np.abs(stored).max() > 0.2 and trainer.falls == 1
    warm = np.abs(stored[:10])  # L ramps from 0.25 over the 10 warm-up steps
    assert np.mean(np.isclose(warm, 0.25, atol=0.05)) < 0.5  # not piled up on the box faces
    rows = read_metrics(run.path / "metrics.jsonl")
    shrinks = [r for r in rows if r["kind"] == "aprl_shrink"]
    assert [(r["step"], r["reason"]) for r in shrinks] == [(30, 2.0)]
    assert shrinks[0]["L_after"] < shrinks[0]["L_before"]
    aprl = [r for r in rows if r["kind"] == "aprl"]
    assert [r["step"] for r in aprl][:3] == [5, 10, 15] and 30 in [r["step"] for r in aprl]
    assert any("surprise_max" in r for r in aprl)  # the gate had a model after warm-up
    png = plot_aprl(run, "fake: APRL")
    assert png.name == "aprl.png" and png.stat().st_size > 10_000


# ---------------------------------------------------------------------- the aprl: section
def _config(tmp_path: Path, aprl: Any, **more: Any) -> Any:
    """a1.yaml with its aprl section replaced by ``aprl``."""
    bare = write_config(tmp_path, CONFIGS / "a1.yaml", {"aprl": None}, name="bare.yaml")
    return load_config(write_config(tmp_path, bare, {"aprl": aprl, **more}))


def test_section_names_signals_and_keeps_previous_action_out_by_default(tmp_path: Path):
    s = _config(tmp_path, {"range_factor": 4, "surprise_signals": ["joint_velocity"]}
                ).aprl_settings()
    assert s.active and s.range_factor == 4.0 and s.config.surprise_dims == tuple(range(12, 24))
    dims = _config(tmp_path, {}).aprl_settings().config.surprise_dims
    # a1: joint_position 12, joint_velocity 12, imu 2 + 3, heading 2, gait_phase 2,
    # previous_action 12, contacts 4
    assert dims == tuple(range(33)) + tuple(range(45, 49))
    box = joint_box(_config(tmp_path, {}), range_factor=2.0)
    np.testing.assert_allclose(box.half_range[:3], [0.4, 0.8, 0.8])


@pytest.mark.parametrize(("aprl", "key"), [
    ({"surprise_signals": ["base_linear_velocity"]}, "aprl.surprise_signals"),
    ({"surprise_signals": ["joint_position"], "surprise_dims": [0]}, "aprl.surprise_signals"),
    ({"range_factor": 0}, "aprl.range_factor"),
    ({"active": "yes"}, "aprl.active"),
    ({"l_min": 0.7, "l_max": 0.6}, "aprl.l_max"),
    ({"surprise_dims": [49]}, "aprl.surprise_dims"),  # a1 observes 49 numbers
    ({"rangefactor": 4}, "aprl.rangefactor"),
])
def test_section_errors_name_the_key(tmp_path: Path, aprl: dict, key: str):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, aprl)
    assert err.value.key == key and "robot.yaml" in str(err.value)


def test_build_wraps_only_an_active_section(tmp_path: Path):
    from robot_rl.envs import RobotEnv
    from robot_rl.session import build

    env, agent, _ = build(_config(tmp_path, {"active": False}), seed=0)
    assert isinstance(env, RobotEnv) and isinstance(agent, SAC)
    env.close()
    env, agent, _ = build(_config(tmp_path, {"range_factor": 4.0}), seed=0)
    assert isinstance(env, AprlEnv) and isinstance(agent, AprlAgent)
    assert env.unwrapped.limit == 4.0 and agent.sac.actor_penalty is not None
    assert agent.target_entropy == -12.0  # APRL's published setting, as learner sets none
    env.close()
    with pytest.raises(ConfigError, match="aprl.active"):
        build(_config(tmp_path, {}, task_graph={"enabled": True}), seed=0)
