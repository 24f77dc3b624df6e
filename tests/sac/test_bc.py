"""Behavioral cloning into SAC's actor (robot_rl.sac.bc): bc and bc_noise learn the demos
with a fixed std; posterior_bc keeps bc's mean where demos agree and spreads its std where
they are few and contradict each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.sac import SAC
from robot_rl.sac.bc import BCSettings, CriticWarmup, PosteriorBC, make_bc
from tests.sac.tiny import ACT, OBS, tiny


def demos(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Many consistent demos for x in [-1, -0.3] (action [0.5, -0.5]) and 8 contradictory
    ones for x in [0.3, 1] (actions +-0.8, alternating); x is the first coordinate."""
    rng = np.random.default_rng(seed)
    xa, xb = rng.uniform(-1, -0.3, 200), np.linspace(0.3, 1, 8)
    obs = np.zeros((208, OBS), np.float32)
    obs[:, 0] = np.concatenate([xa, xb])
    action = np.concatenate([np.tile([0.5, -0.5], (200, 1)),
                             0.8 * np.where(np.arange(8)[:, None] % 2 == 0, 1, -1)
                             * np.ones((8, ACT))]).astype(np.float32)
    data = {"obs": obs, "action": action, "reward": np.zeros(208, np.float32),
            "next_obs": obs, "terminated": np.zeros(208, np.float32),
            "truncated": np.zeros(208, np.float32)}
    return data, obs[:200], obs[200:]


def fitted(method: str, steps: int) -> tuple[SAC, dict[str, np.ndarray]]:
    torch.manual_seed(0)
    agent = SAC(OBS, ACT, tiny("sac", hidden=[32, 32], batch_size=64), seed=0)
    data, _, _ = demos()
    learner = make_bc(method, agent, data, BCSettings(), steps, seed=0)
    for _ in range(learner.total_steps):
        info = learner.step()
    assert all(np.isfinite(v) for v in info.values())
    return agent, data


def policy(agent: SAC, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tanh(mean) and std of the actor at ``obs``."""
    with torch.no_grad():
        mean, log_std = agent.actor(torch.as_tensor(obs))
    return torch.tanh(mean).numpy(), log_std.exp().numpy()


@pytest.mark.timeout(60)
def test_posterior_bc_std_grows_where_the_demos_disagree() -> None:
    agent, _ = fitted("posterior_bc", 1500)
    _, consistent, contradictory = demos()
    mean_a, std_a = policy(agent, consistent)
    _, std_b = policy(agent, contradictory)
    assert np.abs(mean_a - [0.5, -0.5]).max() < 0.1  # bc's mean where the demos agree
    assert std_a.mean() < 0.1  # about min_std there
    assert std_b.mean() > 2 * std_a.mean(), (std_a.mean(), std_b.mean())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method,std", [("bc", 0.05), ("bc_noise", 0.3)])
def test_bc_std_is_fixed_and_its_mean_fits_the_demos(method: str, std: float) -> None:
    agent, _ = fitted(method, 800)
    _, consistent, contradictory = demos()
    mean_a, std_a = policy(agent, consistent)
    _, std_b = policy(agent, contradictory)
    assert np.abs(mean_a - [0.5, -0.5]).max() < 0.1
    assert std_a.mean() == pytest.approx(std, rel=0.2)
    assert std_b.mean() == pytest.approx(std, rel=0.2)  # no more spread where demos disagree


def test_posterior_targets_follow_the_formula() -> None:
    agent = SAC(OBS, ACT, tiny("sac"), seed=0)
    data, _, _ = demos()
    settings = BCSettings(members=3, min_std=0.1, scale=2.0)
    pbc = PosteriorBC(agent, data, settings, steps=1, seed=0)
    obs = torch.as_tensor(data["obs"][:4])
    mean, log_std = pbc.targets(obs)
    with torch.no_grad():
        u = pbc.ensemble(obs)
    assert torch.allclose(mean, u.mean(0), atol=1e-6)
    expected = (0.1**2 + 2.0 * u.var(0)).sqrt().log().clamp(-5 + 1e-3, 2 - 1e-3)
    assert torch.allclose(log_std, expected, atol=1e-5)
    assert pbc.total_steps == 2 and len(np.unique(pbc.bootstrap[0])) < len(data["obs"])


@pytest.mark.timeout(60)
def test_critic_warmup_learns_q_of_the_demos_and_leaves_the_clone_alone() -> None:
    """With critic_steps, the critics learn Q on the demos after cloning while the actor
    stays the clone: here every demo ends its episode, so Q(s, a) must equal its reward."""
    torch.manual_seed(0)
    agent = SAC(OBS, ACT, tiny("sac", hidden=[32, 32], batch_size=64), seed=0)
    data, _, _ = demos()
    data = {**data, "reward": (2.0 * data["obs"][:, 0] + 1.0).astype(np.float32),
            "terminated": np.ones(len(data["obs"]), np.float32)}
    learner = make_bc("bc", agent, data, BCSettings(), steps=300, seed=0, critic_steps=1500)
    assert isinstance(learner, CriticWarmup) and learner.total_steps == 1800
    obs, action = torch.as_tensor(data["obs"]), torch.as_tensor(data["action"])

    def q() -> np.ndarray:
        with torch.no_grad():
            return agent.critic(obs, action).min(dim=0).values.numpy()

    for _ in range(300):
        learner.step()
    cloned = {k: v.clone() for k, v in agent.actor.state_dict().items()}
    before = np.abs(q() - data["reward"]).mean()
    for _ in range(1500):
        info = learner.step()
    assert "critic_loss" in info
    after = np.abs(q() - data["reward"]).mean()
    assert after < 0.1 < before, (before, after)
    assert all(torch.equal(v, agent.actor.state_dict()[k]) for k, v in cloned.items())


def test_critic_warmup_is_off_by_default_and_refuses_negative_counts() -> None:
    agent = SAC(OBS, ACT, tiny("sac"), seed=0)
    data, _, _ = demos()
    assert not isinstance(make_bc("posterior_bc", agent, data, BCSettings(), 3), CriticWarmup)
    with pytest.raises(ValueError, match="critic_steps >= 0"):
        make_bc("bc", agent, data, BCSettings(), 3, critic_steps=-1)
