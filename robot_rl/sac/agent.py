"""Soft Actor-Critic with an update-to-data ratio k (Haarnoja et al. 2018; Smith et al. 2022).

One call to :meth:`SAC.update` takes ``k`` stacked minibatches and, in this order:
k critic updates (each followed by a Polyak step of the target critics), then one actor
update and one temperature update on the last minibatch. Each loss has its own method
returning ``(loss, info)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from robot_rl.config import LearnerConfig
from robot_rl.sac.buffer import Batch
from robot_rl.sac.networks import CriticEnsemble, TanhGaussianActor


class SAC:
    """The learner: actor, critic ensemble with targets, learned temperature.

    Args:
        obs_dim: observation size.
        act_dim: action size (actions are normalized to [-1, 1]).
        cfg: learner settings.
        seed: seeds network initialization and the learner's random numbers.
    """

    def __init__(self, obs_dim: int, act_dim: int, cfg: LearnerConfig, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.cfg = cfg
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.actor = TanhGaussianActor(obs_dim, act_dim, cfg.hidden)
        self.critic = CriticEnsemble(obs_dim, act_dim, cfg.hidden, cfg.num_critics,
                                     cfg.critic_layernorm, cfg.critic_dropout)
        self.critic_target = CriticEnsemble(obs_dim, act_dim, cfg.hidden, cfg.num_critics,
                                            cfg.critic_layernorm, cfg.critic_dropout)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.log_alpha = torch.tensor(float(np.log(cfg.init_temperature)), requires_grad=True)
        self.target_entropy = (cfg.target_entropy if cfg.target_entropy is not None
                               else -act_dim / 2.0)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.temperature_lr)
        self.updates = 0

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach()

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """An action in [-1, 1] for one observation (or a batch)."""
        o = torch.as_tensor(obs, dtype=torch.float32)
        single = o.dim() == 1
        o = o.unsqueeze(0) if single else o
        a = self.actor.deterministic(o) if deterministic else self.actor.sample(o)[0]
        a = a.numpy()
        return a[0] if single else a

    # ---------------------------------------------------------------- learning
    def critic_loss(self, b: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Soft Bellman error; only ``terminated`` stops bootstrapping (not ``truncated``)."""
        with torch.no_grad():
            next_action, next_log_prob = self.actor.sample(b.next_obs)
            next_q = self.critic_target(b.next_obs, next_action).min(dim=0).values
            next_v = next_q - self.alpha * next_log_prob
            target = b.reward + self.cfg.gamma * (1.0 - b.terminated) * next_v
        q = self.critic(b.obs, b.action)  # [E, B]
        loss = 0.5 * ((q - target.unsqueeze(0)) ** 2).mean(dim=1).sum()
        return loss, {"critic_loss": loss.item(), "q_mean": q.mean().item()}

    def actor_loss(self, b: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """E[alpha * log pi(a|s) - mean_e Q_e(s, a)] with a ~ pi (reparameterized)."""
        action, log_prob = self.actor.sample(b.obs)
        q = self.critic(b.obs, action).mean(dim=0)
        loss = (self.alpha * log_prob - q).mean()
        return loss, {"actor_loss": loss.item(), "entropy": -log_prob.mean().item(),
                      "_log_prob": log_prob.detach()}  # type: ignore[dict-item]

    def temperature_loss(self, log_prob: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Drive the policy entropy toward ``target_entropy``."""
        loss = -(self.log_alpha.exp() * (log_prob + self.target_entropy)).mean()
        return loss, {"temperature_loss": loss.item(), "alpha": self.alpha.item()}

    def update(self, batch: Batch) -> dict[str, float]:
        """k critic updates, then one actor and one temperature update.

        Args:
            batch: k stacked minibatches, tensors shaped ``[k, B, ...]``.
        """
        k = batch.reward.shape[0]
        info: dict[str, Any] = {}
        for i in range(k):
            loss, info = self.critic_loss(batch.slice(i))
            self.critic_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.critic_opt.step()
            self._polyak()
        last = batch.slice(k - 1)
        self.critic.requires_grad_(False)  # the actor loss must not move the critics
        loss, actor_info = self.actor_loss(last)
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_opt.step()
        self.critic.requires_grad_(True)
        log_prob = actor_info.pop("_log_prob")
        loss, temp_info = self.temperature_loss(log_prob)
        self.alpha_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.alpha_opt.step()
        self.updates += k
        return {**info, **actor_info, **temp_info}

    @torch.no_grad()
    def _polyak(self) -> None:
        params = list(self.critic.parameters())
        targets = list(self.critic_target.parameters())
        torch._foreach_lerp_(targets, params, self.cfg.tau)

    # ------------------------------------------------------------- save/load
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (networks, optimizers, RNG, counters)."""
        return {
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
            "alpha_opt": self.alpha_opt.state_dict(), "updates": self.updates,
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.critic_target.load_state_dict(state["critic_target"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.alpha_opt.load_state_dict(state["alpha_opt"])
        self.updates = int(state["updates"])
        torch.set_rng_state(state["torch_rng"])

    def policy_arrays(self) -> dict[str, np.ndarray]:
        """The actor's weights as numpy arrays (for shipping to actors)."""
        return {k: v.detach().numpy().copy() for k, v in self.actor.state_dict().items()}
