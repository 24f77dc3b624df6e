"""SAC: it learns Pendulum; save -> load -> continue is exact; the update does what it says."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from robot_rl.config import LearnerConfig
from robot_rl.evaluate import evaluate
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.sac.device import bf16_supported
from robot_rl.spaces import ActionRescale
from robot_rl.train import Trainer


def _filled_buffer(obs_dim: int = 5, act_dim: int = 2, n: int = 500, seed: int = 0,
                   ) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(obs_dim, act_dim, 1000, seed=seed)
    for i in range(n):
        buf.add(rng.normal(size=obs_dim).astype(np.float32),
                rng.uniform(-1, 1, act_dim).astype(np.float32), float(rng.normal()),
                rng.normal(size=obs_dim).astype(np.float32), i % 50 == 49, i % 70 == 69)
    return buf


@pytest.mark.timeout(600)
@pytest.mark.parametrize("precision", [
    "fp32",
    # bf16 autocast: half of the learning-quality check that precision: auto needs before it
    # may pick bf16 on a CPU (robot_rl/sac/device.py); runs where the CPU has native bf16
    pytest.param("bf16", marks=pytest.mark.skipif(
        not bf16_supported(), reason="this CPU has no native bf16 matmuls")),
])
def test_sac_solves_pendulum_within_5000_steps(precision: str) -> None:
    env = gym.make("Pendulum-v1")
    cfg = LearnerConfig(hidden=[128, 128], batch_size=128, utd=1, warmup_steps=500,
                        init_temperature=1.0, target_entropy=-1.0, device="cpu",
                        precision=precision)
    agent = SAC(3, 1, cfg, seed=0)
    trainer = Trainer(env, agent, ReplayBuffer(3, 1, 10_000, seed=0), cfg, seed=0,
                      progress=False)
    trainer.train(5000)
    assert trainer.step == 5000
    result = evaluate(lambda o: agent.act(o, deterministic=True), env, episodes=5,
                      action_transform=ActionRescale(env.action_space))
    assert result.mean_return >= -250, result.returns
    assert agent.precision == precision  # not silently fp32


def test_save_load_continue_gives_identical_actions_and_losses() -> None:
    cfg = LearnerConfig(hidden=[32, 32], batch_size=16, utd=3, critic_dropout=0.1)
    buf = _filled_buffer()
    a = SAC(5, 2, cfg, seed=1)
    for _ in range(5):
        a.update(buf.sample(16, 3))
    saved = io.BytesIO()
    torch.save({"agent": a.state_dict(), "rng": buf.rng_state()}, saved)
    obs = np.ones(5, np.float32)

    def continue_run(agent: SAC) -> list:
        out = []
        for _ in range(4):
            out.append(agent.update(buf.sample(16, 3)))
            out.append(agent.act(obs).tolist())
        return out

    first = continue_run(a)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)
    b = SAC(5, 2, cfg, seed=99)  # different init: everything must come from the checkpoint
    b.load_state_dict(state["agent"])
    buf.set_rng_state(state["rng"])
    second = continue_run(b)
    assert first == second


def test_update_runs_exactly_k_critic_steps_and_one_actor_step() -> None:
    cfg = LearnerConfig(hidden=[16], batch_size=8, utd=7)
    agent = SAC(5, 2, cfg)
    agent.update(_filled_buffer().sample(8, 7))
    assert agent.updates == 7
    assert agent.critic_opt.state_dict()["state"][0]["step"].item() == 7
    assert agent.actor_opt.state_dict()["state"][0]["step"].item() == 1
    assert agent.alpha_opt.state_dict()["state"][0]["step"].item() == 1


def test_polyak_equals_plain_formula() -> None:
    cfg = LearnerConfig(hidden=[16], tau=0.1)
    agent = SAC(5, 2, cfg)
    with torch.no_grad():
        for p in agent.critic.parameters():
            p.add_(1.0)
    before = [t.clone() for t in agent.critic_target.parameters()]
    agent._polyak()
    for t, b, p in zip(agent.critic_target.parameters(), before, agent.critic.parameters()):
        assert torch.allclose(t, 0.9 * b + 0.1 * p, atol=1e-6)


def test_only_terminated_stops_bootstrapping() -> None:
    cfg = LearnerConfig(hidden=[16], gamma=0.5)
    agent = SAC(5, 2, cfg)
    buf = _filled_buffer(n=4)
    batch = buf.sample(4, 1).slice(0)
    ones, zeros = torch.ones(4), torch.zeros(4)
    torch.manual_seed(0)
    _, plain = agent.critic_loss(batch._replace(terminated=zeros, truncated=zeros))
    torch.manual_seed(0)
    _, truncated = agent.critic_loss(batch._replace(terminated=zeros, truncated=ones))
    torch.manual_seed(0)
    _, terminated = agent.critic_loss(batch._replace(terminated=ones, truncated=zeros))
    assert plain["critic_loss"] == truncated["critic_loss"]
    assert plain["critic_loss"] != terminated["critic_loss"]


def test_actions_are_in_range_and_deterministic_mode_is_repeatable() -> None:
    agent = SAC(5, 3, LearnerConfig(hidden=[16]))
    obs = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32) * 100
    a = agent.act(obs)
    assert a.shape == (64, 3) and a.dtype == np.float32
    assert np.all(np.abs(a) <= 1.0)
    assert np.array_equal(agent.act(obs[0], deterministic=True),
                          agent.act(obs[0], deterministic=True))


def test_same_seed_same_learning() -> None:
    cfg = LearnerConfig(hidden=[16], batch_size=8, utd=2)
    infos = []
    for _ in range(2):
        agent = SAC(5, 2, cfg, seed=3)
        buf = _filled_buffer(seed=4)
        infos.append([agent.update(buf.sample(8, 2)) for _ in range(3)])
    assert infos[0] == infos[1]


def test_actor_ema_averages_the_actor_and_gives_the_deterministic_actions() -> None:
    buf = _filled_buffer()
    obs = np.linspace(-1, 1, 5, dtype=np.float32)
    plain = SAC(5, 2, LearnerConfig(hidden=[16], batch_size=8, utd=1))
    plain.update(buf.sample(8, 1))
    assert plain.actor_avg is None and "actor_avg" not in plain.state_dict()

    cfg = LearnerConfig(hidden=[16], batch_size=8, utd=1, actor_ema=0.25)
    agent = SAC(5, 2, cfg, seed=3)
    agent.update(buf.sample(8, 1))  # the first actor update: the average starts as a copy
    assert agent.actor_avg is not None
    for avg, live in zip(agent.actor_avg.parameters(), agent.actor.parameters()):
        assert torch.equal(avg, live) and not avg.requires_grad
    before = [p.clone() for p in agent.actor_avg.parameters()]
    agent.update(buf.sample(8, 1))
    for avg, old, live in zip(agent.actor_avg.parameters(), before, agent.actor.parameters()):
        torch.testing.assert_close(avg, 0.75 * old + 0.25 * live)
    with torch.no_grad():
        want = torch.tanh(agent.actor_avg(torch.as_tensor(obs)[None])[0])[0].numpy()
        online = agent.actor.deterministic(torch.as_tensor(obs)[None])[0].numpy()
    np.testing.assert_allclose(agent.act(obs, deterministic=True), want, atol=1e-6)
    assert not np.allclose(want, online, atol=1e-5)  # the average is not the actor itself

    resumed = SAC(5, 2, cfg, seed=99)
    resumed.load_state_dict(agent.state_dict())
    np.testing.assert_array_equal(resumed.act(obs, deterministic=True),
                                  agent.act(obs, deterministic=True))
    resumed.load_state_dict(plain.state_dict())  # a checkpoint from before: starts afresh
    assert resumed.actor_avg is None

