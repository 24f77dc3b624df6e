"""train --init's loading (robot_rl.sac.warmstart): networks copied, the rest fresh, target
critics seeded from the critics when the checkpoint has none, and the recipe's shapes kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robot_rl.errors import ConfigError
from robot_rl.sac import SAC
from robot_rl.sac.warmstart import actor_sizes, critic_sizes, init_from
from tests.sac.tiny import ACT, OBS, filled_buffer, tiny


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("recipe", ["sac", "crossq"])
def test_init_copies_networks_and_keeps_the_rest_fresh(tmp_path: Path, recipe: str) -> None:
    trained = SAC(OBS, ACT, tiny(recipe, init_temperature=0.5), seed=1)
    for _ in range(3):
        trained.update(filled_buffer().sample(8, 3))
    state = trained.state_dict()
    state.pop("critic_target", None)  # a checkpoint without targets: they copy the critics
    torch.save(state, tmp_path / "agent.pt")
    fresh = SAC(OBS, ACT, tiny(recipe), seed=2)
    init_from(fresh, tmp_path / "agent.pt")
    assert _equal(fresh.actor, trained.actor) and _equal(fresh.critic, trained.critic)
    if fresh.critic_target is not None:
        assert _equal(fresh.critic_target, trained.critic)
    assert fresh.updates == 0 and fresh.alpha.item() == pytest.approx(0.1)  # fresh
    assert not fresh.actor_opt.state  # fresh optimizer
    fresh.update(filled_buffer().sample(8, 1))  # and it trains on


def test_sizes_are_read_from_the_weights() -> None:
    agent = SAC(OBS, ACT, tiny("redq", hidden=[16, 8], critic_hidden=[24, 12, 6]))
    assert actor_sizes(agent.actor.state_dict()) == (OBS, ACT, [16, 8])
    assert critic_sizes(agent.critic.state_dict()) == (10, OBS + ACT, [24, 12, 6])


def test_mismatch_names_both_sizes(tmp_path: Path) -> None:
    torch.save(SAC(OBS + 1, ACT, tiny("sac")).state_dict(), tmp_path / "agent.pt")
    with pytest.raises(ConfigError, match=r"expected observation 5, action 2, actor \[16, 16\], "
                       r"critics 2x\[16, 16\] \(the config's learner\), got observation 6"):
        init_from(SAC(OBS, ACT, tiny("sac")), tmp_path / "agent.pt")
