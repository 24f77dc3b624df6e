"""CrossQ + weight normalization (``recipe: crossq_wn``): the recipe's defaults, unit-norm
hidden weights after every update (and only with ``weight_norm``), and it learns a tiny task.

The projection against a plain row-by-row reference and save -> load -> continue are checked
with the other recipes (test_fast_path.py, test_recipes.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robot_rl.config import LearnerConfig, load_config
from robot_rl.evaluate import evaluate
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.sac.networks import CriticEnsemble, unit_norm_
from robot_rl.train import Trainer
from tests.conftest import write_config
from tests.sac.test_fast_path import RECIPES
from tests.sac.tiny import ACT, OBS, PointGoal, filled_buffer, tiny


def test_recipe_defaults_and_explicit_keys_win(tmp_path: Path, a1_path: Path) -> None:
    wn = LearnerConfig(recipe="crossq_wn")
    assert (wn.weight_norm, wn.critic_batchrenorm, wn.target_network, wn.utd,
            wn.policy_delay, wn.critic_hidden, wn.adam_beta1, wn.critic_lr, wn.actor_q) == (
        True, True, False, 2, 3, None, 0.5, 1e-3, "min")  # critic widths follow hidden
    assert all(LearnerConfig(recipe=r).weight_norm is False for r in RECIPES if r != "crossq_wn")
    path = write_config(tmp_path, a1_path, {"learner": {
        "recipe": "crossq_wn", "num_critics": None, "utd": 4, "weight_norm": False,
        "critic_hidden": [512, 512]}})
    learner = load_config(path).learner
    assert (learner.utd, learner.weight_norm, learner.critic_hidden) == (4, False, [512, 512])
    assert learner.num_critics == 2 and learner.critic_batchrenorm  # from the recipe


def test_weight_norm_must_be_a_boolean(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"learner": {"num_critics": None,
                                                        "weight_norm": "sometimes"}})
    with pytest.raises(ValueError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: learner.weight_norm: ") and "true or false" in message
    assert "\n" not in message


def hidden_row_norms(agent: SAC) -> list[torch.Tensor]:
    """Norms of every hidden unit's incoming weights, critics (all members) and actor."""
    norms = [layer.weight.norm(dim=1) for layer in agent.critic.hidden_linears()]
    norms += [m.weight.norm(dim=1) for m in agent.actor.trunk if isinstance(m, torch.nn.Linear)]
    return norms


@pytest.mark.parametrize("recipe", RECIPES)
def test_hidden_rows_have_unit_norm_after_updates_only_with_weight_norm(recipe: str) -> None:
    cfg = tiny(recipe)
    agent = SAC(OBS, ACT, cfg, seed=0)
    buf = filled_buffer()
    for _ in range(4):  # past the policy delay: the actor has stepped too
        agent.update(buf.sample(cfg.batch_size, cfg.utd))
    assert agent.actor_updates >= 1
    norms = hidden_row_norms(agent)
    assert len(norms) == 4  # two hidden layers each in the critics and the actor
    at_one = [torch.allclose(n, torch.ones_like(n), atol=1e-5) for n in norms]
    if recipe == "crossq_wn":
        assert all(at_one)
        out = agent.critic.net[-1].weight.norm(dim=1)  # the output layer is left free
        assert not torch.allclose(out, torch.ones_like(out), atol=1e-3)
    else:
        assert not any(at_one)


def test_unit_norm_is_per_member_and_per_output_unit() -> None:
    torch.manual_seed(0)
    critic = CriticEnsemble(OBS, ACT, [16, 8], 3, layernorm=False, batchrenorm=True)
    first, last = critic.hidden_linears()[0].weight, critic.net[-1].weight  # [E, in, out]
    with torch.no_grad():
        first.mul_(torch.rand(3, 1, 16) * 5)  # a different scale per member and unit
    expected, last_before = first.detach() / first.detach().norm(dim=1, keepdim=True), last.clone()
    critic.normalize_hidden_()
    torch.testing.assert_close(first.detach(), expected)
    assert torch.equal(last, last_before)
    zero = torch.zeros(2, 3)
    unit_norm_(zero, dim=1)  # an all-zero row stays zero (no NaN)
    assert torch.equal(zero, torch.zeros(2, 3))


@pytest.mark.timeout(60)
def test_crossq_wn_learns_point_goal() -> None:
    """600 steps (200 random) at the recipe's UTD 2: from about -10 to about -1.3 (three
    seeds measured -1.21, -1.36, -1.22); a learner that does not learn stays near -10."""
    cfg = LearnerConfig(recipe="crossq_wn", hidden=[64, 64], batch_size=64, warmup_steps=200,
                        gamma=0.9)
    agent = SAC(2, 1, cfg, seed=0)
    policy = lambda o: agent.act(o, deterministic=True)  # noqa: E731
    before = evaluate(policy, PointGoal(), episodes=20).mean_return
    trainer = Trainer(PointGoal(), agent, ReplayBuffer(2, 1, 1000, seed=0), cfg, seed=0,
                      progress=False)
    trainer.train(600)
    after = evaluate(policy, PointGoal(), episodes=20).mean_return
    assert agent.updates == 2 * 400
    assert before < -8 and after > -2.5, (before, after)
