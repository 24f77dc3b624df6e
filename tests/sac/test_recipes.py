"""Critic recipes: defaults resolve in one place, explicit keys win, each recipe updates with
the right shapes and structure, and save -> load -> continue is exact for every recipe."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.config import LearnerConfig, load_config
from robot_rl.errors import ConfigError
from robot_rl.sac import SAC
from robot_rl.sac.networks import EnsembleBatchRenorm, EnsembleDropout, EnsembleLayerNorm
from tests.conftest import write_config
from tests.sac.test_fast_path import ACT, OBS, RECIPES, filled_buffer, tiny


def test_recipe_defaults() -> None:
    droq, redq, crossq = (LearnerConfig(recipe=r) for r in ("droq", "redq", "crossq"))
    assert (droq.num_critics, droq.critic_dropout, droq.critic_layernorm, droq.utd) == (
        2, 0.01, True, 20)
    assert (redq.num_critics, redq.target_subset, redq.utd, redq.critic_layernorm) == (
        10, 2, 20, True)
    assert (crossq.critic_batchrenorm, crossq.target_network, crossq.utd,
            crossq.policy_delay, crossq.adam_beta1, crossq.critic_lr) == (
        True, False, 1, 3, 0.5, 1e-3)
    sac = LearnerConfig()  # the foundation's baseline is unchanged
    assert (sac.recipe, sac.num_critics, sac.critic_layernorm, sac.critic_dropout, sac.utd,
            sac.policy_delay, sac.target_network) == ("sac", 2, True, 0.0, 1, None, True)


def test_explicit_keys_override_the_recipe(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"learner": {
        "recipe": "redq", "utd": 5, "num_critics": None, "critic_layernorm": None,
        "target_subset": 3}})
    learner = load_config(path).learner
    assert learner.recipe == "redq"
    assert learner.utd == 5 and learner.target_subset == 3  # explicit
    assert learner.num_critics == 10  # from the recipe
    assert learner.policy_delay is None  # follows utd at use time
    assert LearnerConfig(recipe="droq", critic_dropout=0.1).critic_dropout == 0.1


def test_policy_delay_follows_a_later_utd_change() -> None:
    cfg = LearnerConfig(hidden=[8], batch_size=8, utd=2)
    cfg.utd = 4  # as scripts do after loading a config
    agent = SAC(OBS, ACT, cfg)
    agent.update(filled_buffer().sample(8, 4))
    assert agent.updates == 4 and agent.actor_updates == 1


@pytest.mark.parametrize("changes,key,words", [
    ({"recipe": "td3"}, "learner.recipe",
     "one of 'sac', 'droq', 'redq', 'crossq', 'crossq_wn'"),
    ({"recipe": "redq", "target_subset": 11}, "learner.target_subset", "[1, num_critics=10]"),
    ({"recipe": "crossq", "target_network": True}, "learner.target_network", "CrossQ"),
    ({"prior_fraction": 1.5}, "learner.prior_fraction", "fraction in [0, 1]"),
    ({"policy_delay": 0}, "learner.policy_delay", "count >= 1"),
    ({"adam_beta1": 1.0}, "learner.adam_beta1", "[0, 1)"),
    ({"critic_hidden": []}, "learner.critic_hidden", "non-empty list"),
])
def test_bad_learner_keys_name_file_and_key(tmp_path: Path, a1_path: Path, changes: dict,
                                            key: str, words: str) -> None:
    path = write_config(tmp_path, a1_path, {"learner": {"num_critics": None, **changes}})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {key}: ")
    assert words in str(info.value)


@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_constructs_and_updates_with_correct_shapes(recipe: str) -> None:
    cfg = tiny(recipe)
    agent = SAC(OBS, ACT, cfg, seed=0)
    batch = filled_buffer().sample(cfg.batch_size, cfg.utd)
    q = agent.critic(batch.obs[0], batch.action[0])
    assert q.shape == (cfg.num_critics, cfg.batch_size) and q.dtype == torch.float32
    before = [p.clone() for p in agent.critic.parameters()]
    info = agent.update(batch)
    assert agent.updates == cfg.utd
    assert np.isfinite(info["critic_loss"]) and np.isfinite(info["q_mean"])
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.critic.parameters()))
    kinds = {type(m) for m in agent.critic.modules()}
    assert (EnsembleDropout in kinds) == (recipe == "droq")
    crossq = recipe in ("crossq", "crossq_wn")
    assert (EnsembleLayerNorm in kinds) == (not crossq)
    assert (EnsembleBatchRenorm in kinds) == crossq
    assert (agent.critic_target is None) == crossq
    action = agent.act(np.zeros(OBS, np.float32))
    assert action.shape == (ACT,) and np.all(np.abs(action) <= 1)


def test_redq_target_uses_exactly_two_of_ten_random_critics() -> None:
    agent = SAC(OBS, ACT, tiny("redq", utd=1), seed=0)
    assert agent.critic_target is not None
    last = agent.critic_target.net[-1]
    with torch.no_grad():  # target critic e outputs the constant 10 * (e + 1)
        last.weight.zero_()
        last.bias.copy_(10.0 * torch.arange(1, 11).view(10, 1, 1))
    agent.log_alpha.data.fill_(-30.0)  # alpha ~ 0: the target is r + gamma * min_subset Q
    batch = filled_buffer().sample(8, 1).slice(0)
    batch = batch._replace(reward=torch.zeros(8), terminated=torch.zeros(8))
    seen = set()
    for _ in range(30):
        calls = []
        forward = agent.critic_target.forward
        agent._target = lambda o, a, m=None, **kw: calls.append(m) or forward(o, a, m, **kw)
        agent.critic_loss(batch)
        (members,) = calls
        assert members is not None and len(set(members.tolist())) == 2
        assert torch.equal(members, agent.last_target_members)
        seen.add(tuple(sorted(members.tolist())))
        # the target really is the min over the chosen two
        with torch.no_grad():
            next_q = forward(batch.next_obs, batch.action, members)
        assert next_q.shape == (2, 8)
        assert torch.allclose(next_q.min(0).values, 10.0 * (members.min() + 1).float())
    assert len(seen) > 5  # a fresh random subset per update


def test_crossq_has_no_target_network_and_updates_batch_statistics() -> None:
    cfg = tiny("crossq")
    agent = SAC(OBS, ACT, cfg, seed=0)
    assert agent.critic_target is None and "critic_target" not in agent.state_dict()
    norms = [m for m in agent.critic.modules() if isinstance(m, EnsembleBatchRenorm)]
    assert len(norms) == 3  # input + one per hidden layer
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    buf = filled_buffer()
    agent.update(buf.sample(8, 1))
    for m, (mean, var) in zip(norms, before):
        assert int(m.steps) == 1  # one joint forward per critic update; actor loss uses stats
        assert not torch.equal(m.running_mean, mean) and not torch.equal(m.running_var, var)
    for _ in range(5):
        agent.update(buf.sample(8, 1))
    assert agent.updates == 6 and agent.actor_updates == 2  # policy delay 3


def test_crossq_joint_forward_shares_batch_statistics() -> None:
    agent = SAC(OBS, ACT, tiny("crossq"), seed=0)
    batch = filled_buffer().sample(8, 1).slice(0)
    calls = []
    agent._critic = lambda o, a, **kw: calls.append(o.shape) or agent.critic(o, a, **kw)
    agent.critic_loss(batch)
    assert calls == [(16, OBS)]  # one pass over concat([s, s'])


def test_batch_renorm_clips_r_and_d_after_warmup() -> None:
    torch.manual_seed(0)
    brn = EnsembleBatchRenorm(1, 3, momentum=0.9, warmup=1, rmax=1.5, dmax=0.5)
    x = torch.randn(1, 64, 3)
    y0 = brn(x)  # warm-up: plain batch norm
    torch.testing.assert_close(y0.mean(1), torch.zeros(1, 3), atol=1e-5, rtol=0)
    x2 = 10 + 5 * torch.randn(1, 64, 3)  # far from the running statistics
    y = brn(x2)
    mean, var = x2.mean(1, keepdim=True), x2.var(1, keepdim=True, correction=0)
    std = (var + brn.eps).sqrt()
    mean_run = 0.9 * (0.9 * 0 + 0.1 * x.mean(1, keepdim=True))  # before this call's update
    var_run = 0.9 + 0.1 * x.var(1, keepdim=True, correction=0)
    std_run = (var_run + brn.eps).sqrt()
    r = (std / std_run).clamp(1 / 1.5, 1.5)
    d = ((mean - mean_run) / std_run).clamp(-0.5, 0.5)
    assert torch.all(r == 1.5) and torch.all(d == 0.5)  # both clipped
    torch.testing.assert_close(y, (x2 - mean) / std * r + d, rtol=1e-4, atol=1e-4)
    brn.eval()
    torch.testing.assert_close(brn(x2), (x2 - brn.running_mean)
                               / (brn.running_var + brn.eps).sqrt())


@pytest.mark.parametrize("recipe", RECIPES)
def test_save_load_round_trip_per_recipe(recipe: str) -> None:
    cfg = tiny(recipe)
    buf = filled_buffer()
    a = SAC(OBS, ACT, cfg, seed=1)
    for _ in range(2):
        a.update(buf.sample(8, cfg.utd))
    saved = io.BytesIO()
    torch.save({"agent": a.state_dict(), "rng": buf.rng_state()}, saved)
    obs = np.ones(OBS, np.float32)

    def run(agent: SAC) -> list:
        return [(agent.update(buf.sample(8, cfg.utd)), agent.act(obs).tolist())
                for _ in range(4)]

    first = run(a)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)
    b = SAC(OBS, ACT, cfg, seed=7)
    b.load_state_dict(state["agent"])
    buf.set_rng_state(state["rng"])
    assert run(b) == first


def test_actor_penalty_hook_adds_to_the_actor_loss() -> None:
    agent = SAC(OBS, ACT, tiny("sac"), seed=0)
    batch = filled_buffer().sample(8, 1).slice(0)
    torch.manual_seed(0)
    plain, _ = agent.actor_loss(batch)
    agent.actor_penalty = lambda a: 12.0 * a.abs().sum(-1)
    torch.manual_seed(0)
    penalized, info = agent.actor_loss(batch)
    assert info["actor_penalty"] > 0
    assert penalized.item() == pytest.approx(plain.item() + info["actor_penalty"], rel=1e-5)
