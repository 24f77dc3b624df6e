"""IQL (robot_rl.sac.offline): runs on every critic recipe, and learns from a fixed dataset
which of two actions leads to reward, through V(s') bootstrapping, and extracts it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.sac import SAC
from robot_rl.sac.offline import IQL, expectile_loss
from tests.sac.tiny import ACT, OBS, filled_buffer, tiny

START, GOOD, BAD = np.eye(OBS, dtype=np.float32)[:3]


def two_step_data(n: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    """A random behavior on a two-step problem: from START, a[0] > 0 leads to GOOD, else to
    BAD (reward 0, no end); any action at GOOD earns 1 and ends, at BAD 0 and ends. Only
    bootstrapping V(s') tells the actions at START apart."""
    rng = np.random.default_rng(seed)
    action = rng.uniform(-1, 1, (3 * n, ACT)).astype(np.float32)
    first = action[:n, 0] > 0
    obs = np.concatenate([np.tile(START, (n, 1)), np.tile(GOOD, (n, 1)), np.tile(BAD, (n, 1))])
    next_obs = np.concatenate([np.where(first[:, None], GOOD, BAD), np.zeros((2 * n, OBS))])
    reward = np.concatenate([np.zeros(n), np.ones(n), np.zeros(n)])
    terminated = np.concatenate([np.zeros(n), np.ones(2 * n)])
    return {"obs": obs.astype(np.float32), "action": action, "reward": reward.astype(np.float32),
            "next_obs": next_obs.astype(np.float32), "terminated": terminated.astype(np.float32),
            "truncated": np.zeros(3 * n, np.float32)}


def test_expectile_loss_weights_the_two_sides() -> None:
    diff = torch.tensor([2.0, -2.0])
    assert expectile_loss(diff, 0.7).item() == pytest.approx((0.7 * 4 + 0.3 * 4) / 2)
    assert expectile_loss(diff[:1], 0.9).item() == pytest.approx(0.9 * 4)


@pytest.mark.parametrize("recipe", ["sac", "droq", "redq", "crossq"])
def test_iql_steps_on_every_recipe(recipe: str) -> None:
    agent = SAC(OBS, ACT, tiny(recipe), seed=0)
    buf = filled_buffer(64)
    data = {k: v[:64] for k, v in buf.data.items()}
    iql = IQL(agent, data, seed=0)
    before = [p.detach().clone() for p in agent.actor.parameters()]
    for _ in range(3):
        info = iql.step()
    assert all(np.isfinite(v) for v in info.values())
    assert {"value_loss", "critic_loss", "actor_loss", "advantage_mean"} <= set(info)
    after = list(agent.actor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert agent.updates == 3 and agent.actor_updates == 3 and iql.steps == 3
    if agent.critic_target is not None:  # the Polyak step moved the targets
        assert not torch.equal(agent.critic_target.net[0].weight, agent.critic.net[0].weight)
    assert set(agent.state_dict()) >= {"actor", "critic"}  # a checkpoint train --init reads


def test_iql_ranks_the_action_that_leads_to_reward_and_extracts_it() -> None:
    torch.manual_seed(0)
    agent = SAC(OBS, ACT, tiny("sac", hidden=[32, 32], batch_size=64), seed=0)
    iql = IQL(agent, two_step_data(), seed=0)
    for _ in range(1500):
        iql.step()
    start = torch.as_tensor(np.tile(START, (2, 1)))
    with torch.no_grad():
        q = agent.critic(start, torch.tensor([[0.5, 0.0], [-0.5, 0.0]])).mean(0)
        v = iql.value(torch.as_tensor(np.stack([START, GOOD, BAD]))).squeeze(-1)
    gamma = agent.cfg.gamma
    assert q[0].item() == pytest.approx(gamma, abs=0.2)  # r + gamma V(GOOD), V(GOOD) ~ 1
    assert q[1].item() == pytest.approx(0.0, abs=0.2)  # V(BAD) ~ 0
    assert v[1].item() > v[2].item() + 0.7
    # the behavior's a[0] has mean 0; the advantage-weighted actor goes for a[0] > 0
    action = agent.act(START, deterministic=True)
    assert action[0] > 0.2, action


def test_actor_log_prob_of_given_actions_matches_sampling() -> None:
    agent = SAC(OBS, ACT, tiny("sac"), seed=0)
    obs = torch.randn(6, OBS)
    with torch.no_grad():
        action, log_prob = agent.actor.sample(obs)
        assert torch.allclose(agent.actor.log_prob(obs, action), log_prob, atol=1e-3)
        edge = agent.actor.log_prob(obs, torch.ones(6, ACT))  # +-1 is clipped, not inf
    assert torch.isfinite(edge).all()
