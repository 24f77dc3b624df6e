"""Implicit Q-learning (IQL; Kostrikov, Nair, Levine 2022) on a SAC agent's own networks.

IQL learns from a fixed dataset without ever querying the policy for actions outside it,
so it needs no conservatism term. Each :meth:`IQL.step`, on one minibatch:

1. **value**: V(s) regresses on ``min Q'(s, a)`` (the target critics, or the critics
   themselves without target networks) with the expectile loss
   ``|expectile - 1(u < 0)| * u^2``, ``u = Q' - V``: an expectile above 0.5 estimates the
   value of the better dataset actions;
2. **critic**: every Q(s, a) of the ensemble regresses on ``r + gamma * (1 - terminated) *
   V(s')``, then the Polyak step of the target critics (if the recipe has them);
3. **actor** (advantage-weighted regression): ``-mean(w * log pi(a|s))`` with
   ``w = min(exp(beta * (Q'(s, a) - V(s))), max_weight)``.

The actor and critics are the agent's (a :class:`~robot_rl.sac.SAC`, built from the
config's learner: same recipe, same shapes), so the agent's ``state_dict`` afterwards is a
checkpoint that ``robot-rl train --init`` fine-tunes with SAC. Usage::

    agent = SAC(obs_dim, act_dim, cfg.learner, seed)
    iql = IQL(agent, load_transitions(path, obs_dim, act_dim), IQLSettings(), seed)
    for _ in range(steps):
        info = iql.step()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from robot_rl.sac.agent import SAC, make_adam
from robot_rl.sac.buffer import Batch, ReplayBuffer


@dataclass
class IQLSettings:
    """IQL's settings (the paper's MuJoCo values; AntMaze used expectile 0.9, beta 10)."""

    expectile: float = 0.7  # the value's expectile of Q over dataset actions, in (0.5, 1)
    beta: float = 3.0  # inverse temperature of the advantage weights
    max_weight: float = 100.0  # advantage weights are clipped here


def value_network(obs_dim: int, hidden: list[int], layernorm: bool) -> nn.Sequential:
    """V(s): an MLP ``[B, obs_dim] -> [B, 1]`` (LayerNorm after each hidden layer if the
    critics have it)."""
    layers: list[nn.Module] = []
    width = obs_dim
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if layernorm:
            layers.append(nn.LayerNorm(h))
        layers.append(nn.ReLU())
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """``mean(|expectile - 1(diff < 0)| * diff^2)``: asymmetric least squares."""
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff**2).mean()


class IQL:
    """IQL's updates on ``agent``'s actor and critics, plus its own value network.

    Args:
        agent: the SAC learner whose networks (and actor/critic optimizers) IQL trains.
        data: the dataset (:func:`robot_rl.sac.load_transitions`'s arrays).
        settings: expectile, beta, weight clip.
        seed: seeds minibatch sampling.
    """

    def __init__(self, agent: SAC, data: dict[str, np.ndarray],
                 settings: IQLSettings | None = None, seed: int = 0) -> None:
        self.agent, self.settings = agent, settings or IQLSettings()
        self.data = ReplayBuffer(agent.obs_dim, agent.act_dim, len(data["reward"]), seed=seed)
        self.data.add_batch(data)
        c = agent.cfg
        self.value = value_network(agent.obs_dim, list(c.critic_hidden or c.hidden),
                                   bool(c.critic_layernorm)).to(agent.device)
        assert c.critic_lr is not None
        beta1 = c.adam_beta1 if c.adam_beta1 is not None else 0.9
        self.value_opt = make_adam(self.value.parameters(), c.critic_lr, beta1, c.fused)
        self.steps = 0

    def step(self) -> dict[str, float]:
        """One value, one critic and one actor update on a fresh minibatch."""
        b = self.agent.to_device(self.data.sample(self.agent.cfg.batch_size).slice(0))
        info = self.update(b)
        self.steps += 1
        return info

    def update(self, b: Batch) -> dict[str, float]:
        """The three updates on minibatch ``b`` (tensors ``[B, ...]``), in IQL's order."""
        agent, s = self.agent, self.settings
        q, q_target = self._q_values(b)
        v = self.value(b.obs).squeeze(-1)
        value_loss = expectile_loss(q_target - v, s.expectile)
        self.value_opt.zero_grad(set_to_none=True)
        value_loss.backward()
        self.value_opt.step()

        with torch.no_grad():
            next_v = self.value(b.next_obs).squeeze(-1)
            target = b.reward + agent.cfg.gamma * (1.0 - b.terminated) * next_v
        critic_loss = 0.5 * ((q - target.unsqueeze(0)) ** 2).mean(dim=1).sum()
        agent.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        agent.critic_opt.step()
        if agent.critic_target is not None:
            agent._polyak()
        agent.updates += 1

        with torch.no_grad():
            advantage = q_target - self.value(b.obs).squeeze(-1)
            weight = torch.exp(s.beta * advantage).clamp(max=s.max_weight)
        actor_loss = -(weight * agent.actor.log_prob(b.obs, b.action)).mean()
        agent.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        agent.actor_opt.step()
        agent.actor_updates += 1
        return {"value_loss": value_loss.item(), "critic_loss": critic_loss.item(),
                "actor_loss": actor_loss.item(), "q_mean": q.mean().item(),
                "v_mean": v.mean().item(), "advantage_mean": advantage.mean().item(),
                "weight_mean": weight.mean().item()}

    def _q_values(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Q(s, a) of every critic ``[E, B]`` (with gradient) and the target ``min Q'(s, a)``
        ``[B]`` over the recipe's target subset: from the target critics, or without them
        (CrossQ) from the same forward pass, detached."""
        agent = self.agent
        q = agent.critic(b.obs, b.action)
        members = agent.target_members()
        with torch.no_grad():
            if agent.critic_target is not None:
                q_target = agent.critic_target(b.obs, b.action, members)
            else:
                q_target = q.detach() if members is None else q.detach()[members]
        return q, q_target.min(dim=0).values

    def state_dict(self) -> dict[str, dict]:
        """The value network and its optimizer (the agent's state is the agent's)."""
        return {"value": self.value.state_dict(), "value_opt": self.value_opt.state_dict()}
