"""The fast learner equals a plain reference: vectorized critics vs a loop over members,
fused Adam vs the per-tensor loop, one actor pass for k minibatches vs one per minibatch,
and whole updates of every recipe vs tests/sac/reference.py under the same seed."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

from robot_rl.sac import SAC
from robot_rl.sac.device import bf16_supported
from robot_rl.sac.networks import (
    CriticEnsemble,
    EnsembleDropout,
    TanhGaussianActor,
    dropout_positions,
)
from tests.sac.reference import PlainEnsemble, ReferenceSAC, max_param_diff
from tests.sac.tiny import ACT, OBS, filled_buffer, tiny

RECIPES = ["sac", "droq", "redq", "crossq", "crossq_wn"]


@pytest.mark.parametrize("layernorm,dropout,brn", [(True, 0.0, False), (True, 0.2, False),
                                                    (False, 0.2, False), (False, 0.0, True)])
def test_vectorized_ensemble_equals_loop_over_members(layernorm: bool, dropout: float,
                                                       brn: bool) -> None:
    torch.manual_seed(0)
    ens = CriticEnsemble(OBS, ACT, [16, 8], 4, layernorm, dropout, brn)
    with torch.no_grad():  # non-trivial affine parameters
        for name, p in ens.named_parameters():
            if "net." in name and p.shape[-1] in (16, 8) and p.dim() == 3 and p.shape[1] == 1:
                p.add_(0.1 * torch.randn_like(p))
    plain = PlainEnsemble(ens)
    obs, act, target = torch.randn(32, OBS), torch.randn(32, ACT), torch.randn(32)
    torch.manual_seed(1)
    q = ens(obs, act)
    torch.manual_seed(1)  # the same dropout masks
    q_ref = plain(obs, act)
    assert q.shape == (4, 32)
    torch.testing.assert_close(q, q_ref, rtol=1e-5, atol=1e-5)
    loss = 0.5 * ((q - target) ** 2).mean(1).sum()
    loss_ref = sum(0.5 * ((q_ref[e] - target) ** 2).mean() for e in range(4))
    loss.backward()
    loss_ref.backward()  # type: ignore[union-attr]
    for e, member in enumerate(plain.members):
        lin = [m for m in member.layers if isinstance(m, torch.nn.Linear)][0]
        torch.testing.assert_close(ens.net[0].weight.grad[e], lin.weight.grad.T,
                                   rtol=1e-4, atol=1e-6)


def test_member_subset_equals_indexing_all_members() -> None:
    torch.manual_seed(0)
    ens = CriticEnsemble(OBS, ACT, [16, 16], 10, layernorm=True)
    obs, act = torch.randn(8, OBS), torch.randn(8, ACT)
    members = torch.tensor([7, 2])
    torch.testing.assert_close(ens(obs, act, members), ens(obs, act)[members])


@pytest.mark.parametrize("p", [0.01, 0.3])
def test_dropout_positions_are_an_iid_bernoulli_sequence(p: float) -> None:
    torch.manual_seed(0)
    n, trials = 20_000, 200
    drops = torch.zeros(n)
    pairs = 0
    for _ in range(trials):
        pos = dropout_positions(n, p)
        assert pos.dtype == torch.long and bool((pos[1:] > pos[:-1]).all())
        assert len(pos) == 0 or 0 <= int(pos[0]) and int(pos[-1]) < n
        drops[pos] += 1
        pairs += int(((pos[1:] - pos[:-1]) == 1).sum())  # neighbours both dropped
    rate = drops.sum().item() / (n * trials)
    assert abs(rate - p) < 4 * (p * (1 - p) / (n * trials)) ** 0.5 + 1e-6
    # independence of neighbours: P(both dropped) = p^2
    expected = p * p * (n - 1) * trials
    assert abs(pairs - expected) < 5 * expected**0.5 + 5
    # uniform over positions: first and second half equally often
    half = drops[: n // 2].sum() / drops.sum()
    assert abs(half.item() - 0.5) < 0.01


def test_dropout_zeroes_in_place_and_keeps_gradients_right() -> None:
    torch.manual_seed(0)
    drop = EnsembleDropout(0.2, rescale=True)
    w = torch.randn(3, 8, requires_grad=True)
    x = torch.randn(2, 16, 3)
    y = drop(x @ w)
    zero = y == 0
    assert 0 < zero.float().mean().item() < 0.5
    y.sum().backward()
    expected = (x.unsqueeze(-1) * (~zero).unsqueeze(-2) / 0.8).sum((0, 1))
    torch.testing.assert_close(w.grad, expected)


def test_one_actor_pass_for_k_minibatches_equals_one_per_minibatch() -> None:
    torch.manual_seed(0)
    actor = TanhGaussianActor(OBS, ACT, [16, 16])
    obs, noise = torch.randn(3, 8, OBS), torch.randn(3, 8, ACT)
    a, lp = actor.sample(obs, noise)
    for i in range(3):
        a_i, lp_i = actor.sample(obs[i], noise[i])
        torch.testing.assert_close(a[i], a_i)
        torch.testing.assert_close(lp[i], lp_i)


def test_log_prob_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    mean, log_std = torch.randn(64, ACT), torch.randn(64, ACT).clamp(-2, 1)
    noise = torch.randn(64, ACT)
    action, log_prob = TanhGaussianActor.sample_from(mean, log_std, noise)
    u = mean + log_std.exp() * noise
    normal = torch.distributions.Normal(mean, log_std.exp())
    expected = (normal.log_prob(u) - torch.log(1 - torch.tanh(u) ** 2)).sum(-1)
    torch.testing.assert_close(log_prob, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(action, torch.tanh(u))


@pytest.mark.parametrize("recipe", RECIPES)
def test_update_equals_plain_reference_under_same_seed(recipe: str) -> None:
    # crossq: also past the batch-renorm warm-up, so the r/d corrections are checked
    cfg = tiny(recipe, renorm_warmup=2) if "crossq" in recipe else tiny(recipe)
    agent = SAC(OBS, ACT, cfg, seed=3)
    ref = ReferenceSAC(agent)
    buf = filled_buffer()
    for step in range(4):
        batch = buf.sample(cfg.batch_size, cfg.utd)
        torch.manual_seed(100 + step)
        agent.update(batch)
        torch.manual_seed(100 + step)
        ref.update(batch)
    assert agent.updates == ref.updates == 4 * cfg.utd
    assert max_param_diff(agent, ref) < 1e-4


def test_update_reads_critic_metrics_once_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # each .item() waits for a GPU: of k critic updates only the last reads its metrics, and
    # they are the same numbers as when every update reads them
    cfg = tiny("droq", utd=5)
    agent, twin = SAC(OBS, ACT, cfg, seed=3), SAC(OBS, ACT, cfg, seed=3)
    batch = filled_buffer().sample(cfg.batch_size, cfg.utd)
    flags: list[bool] = []
    critic_loss = SAC.critic_loss

    def spy(self: SAC, *args: object, metrics: bool = True, **kwargs: object) -> object:
        flags.append(metrics)
        return critic_loss(self, *args, metrics=metrics, **kwargs)  # type: ignore[arg-type]

    def always(self: SAC, *args: object, metrics: bool = True, **kwargs: object) -> object:
        return critic_loss(self, *args, metrics=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SAC, "critic_loss", always)
    torch.manual_seed(7)
    expected = twin.update(batch)
    monkeypatch.setattr(SAC, "critic_loss", spy)
    torch.manual_seed(7)
    info = agent.update(batch)
    assert flags == [False] * 4 + [True]
    assert set(info) >= {"critic_loss", "q_mean", "actor_loss", "alpha"}
    assert info == expected


def test_fused_adam_equals_plain_loop() -> None:
    buf = filled_buffer()
    batches = [buf.sample(8, 3) for _ in range(3)]
    runs = []
    for fused in (True, False):
        agent = SAC(OBS, ACT, tiny("droq", fused=fused), seed=5)
        torch.manual_seed(0)
        for batch in batches:
            agent.update(batch)
        runs.append(agent)
    fast, plain = runs
    assert fast.critic_opt.defaults["fused"] and not plain.critic_opt.defaults["fused"]
    for a, b in zip(fast.critic.parameters(), plain.critic.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(fast.actor.parameters(), plain.actor.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_bf16_falls_back_with_a_warning_or_runs() -> None:
    cfg = tiny("sac", device="cpu", precision="bf16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent = SAC(OBS, ACT, cfg)
    if bf16_supported():
        assert agent.bf16
    else:
        assert not agent.bf16 and any("bfloat16" in str(w.message) for w in caught)
    agent.bf16 = True  # the autocast path runs (emulated where the CPU lacks bf16)
    info = agent.update(filled_buffer().sample(8, 1))
    assert np.isfinite(info["critic_loss"])


@pytest.mark.skipif(not os.environ.get("ROBOT_RL_SLOW_TESTS"),
                    reason="torch.compile takes a minute here; ROBOT_RL_SLOW_TESTS=1 runs it")
def test_compile_matches_eager() -> None:
    batch = filled_buffer().sample(8, 1)
    infos = []
    for compile_ in (False, True):
        agent = SAC(OBS, ACT, tiny("sac", hidden=[8], compile=compile_), seed=1)
        torch.manual_seed(0)
        infos.append(agent.update(batch))
    assert infos[0]["critic_loss"] == pytest.approx(infos[1]["critic_loss"], rel=1e-4)
