"""A plain reference SAC update to check the fast learner against.

Written for clarity, not speed: one ``nn.Module`` per critic and a Python loop over them,
nn.Linear / F.layer_norm layers, batch renormalization written out as in the CrossQ
reference (custom mean and variance), per-tensor Adam, one actor pass per minibatch, a
plain Polyak loop and weight normalization row by row. It draws random numbers in the same
order as :class:`SAC` (next-action noise for the minibatches up to the next actor update,
then per critic update the REDQ subset and the dropout masks, then the actor's noise), so
under the same seed the two must agree to float tolerance.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.sac import SAC, Batch
from robot_rl.sac.networks import (
    CriticEnsemble,
    EnsembleBatchRenorm,
    EnsembleDropout,
    EnsembleLayerNorm,
    EnsembleLinear,
    dropout_positions,
)


def unit_rows(layers: list[nn.Linear]) -> None:
    """Weight normalization as a projection: each output unit's weights (a row of
    ``nn.Linear.weight``) divided by their norm, one layer at a time."""
    with torch.no_grad():
        for lin in layers:
            for row in lin.weight:
                row /= row.norm()


class PlainBatchRenorm(nn.Module):
    """Batch renorm for one critic, in the custom-mean/variance form of CrossQ's code."""

    def __init__(self, src: EnsembleBatchRenorm, e: int) -> None:
        super().__init__()
        self.hp = SimpleNamespace(momentum=src.momentum, warmup=src.warmup, rmax=src.rmax,
                                  dmax=src.dmax, eps=src.eps)
        self.weight = nn.Parameter(src.weight[e, 0].detach().clone())
        self.bias = nn.Parameter(src.bias[e, 0].detach().clone())
        self.mean_run = src.running_mean[e, 0].clone()
        self.var_run = src.running_var[e, 0].clone()
        self.steps = int(src.steps)

    def forward(self, x: torch.Tensor, batch_stats: bool) -> torch.Tensor:
        s = self.hp
        if not batch_stats:
            mean, var = self.mean_run, self.var_run
        else:
            mean = x.mean(0)
            var = ((x - mean) ** 2).mean(0)
            if self.steps >= s.warmup:
                std, std_run = (var + s.eps).sqrt(), (self.var_run + s.eps).sqrt()
                r = (std / std_run).detach().clamp(1 / s.rmax, s.rmax)
                d = ((mean - self.mean_run) / std_run).detach().clamp(-s.dmax, s.dmax)
                custom_mean, custom_var = mean - d * std / r, (var + s.eps) / r**2 - s.eps
            else:
                custom_mean, custom_var = mean, var
            self.mean_run = s.momentum * self.mean_run + (1 - s.momentum) * mean.detach()
            self.var_run = s.momentum * self.var_run + (1 - s.momentum) * var.detach()
            self.steps += 1
            mean, var = custom_mean, custom_var
        return (x - mean) / (var + s.eps).sqrt() * self.weight + self.bias


class PlainCritic(nn.Module):
    """Member ``e`` of a :class:`CriticEnsemble` as an ordinary network."""

    def __init__(self, ens: CriticEnsemble, e: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.kinds: list[str] = []
        for layer in ens.net:
            if isinstance(layer, EnsembleLinear):
                lin = nn.Linear(*layer.weight.shape[1:])
                lin.weight.data.copy_(layer.weight[e].T)
                lin.bias.data.copy_(layer.bias[e, 0])
                self.layers.append(lin)
                self.kinds.append("linear")
            elif isinstance(layer, EnsembleLayerNorm):
                ln = nn.LayerNorm(layer.weight.shape[-1])
                ln.weight.data.copy_(layer.weight[e, 0])
                ln.bias.data.copy_(layer.bias[e, 0])
                self.layers.append(ln)
                self.kinds.append("layernorm")
            elif isinstance(layer, EnsembleDropout):
                self.layers.append(nn.Identity())
                self.kinds.append(f"dropout:{layer.p}:{layer.rescale}")
            elif isinstance(layer, EnsembleBatchRenorm):
                self.layers.append(PlainBatchRenorm(layer, e))
                self.kinds.append("brn")
            else:
                self.layers.append(nn.ReLU())
                self.kinds.append("relu")

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor], batch_stats: bool,
                ) -> torch.Tensor:
        masks = list(masks)
        for kind, layer in zip(self.kinds, self.layers):
            if kind.startswith("dropout"):
                _, p, rescale = kind.split(":")
                x = x * masks.pop(0) / (1.0 - float(p) if rescale == "True" else 1.0)
            elif kind == "brn":
                x = layer(x, batch_stats)
            else:
                x = layer(x)
        return x.squeeze(-1)


class PlainEnsemble:
    """E plain critics; ``forward`` loops over members and stacks their Q-values."""

    def __init__(self, ens: CriticEnsemble) -> None:
        self.members = [PlainCritic(ens, e) for e in range(ens.ensemble)]
        self.input_norm = (PlainBatchRenorm(ens.input_norm, 0)
                           if ens.input_norm is not None else None)
        self.n_dropout = sum(isinstance(m, EnsembleDropout) for m in ens.net)
        self.widths = [m.weight.shape[-1] for m in ens.net if isinstance(m, EnsembleLinear)]

    def parameters(self) -> list[nn.Parameter]:
        params = [p for m in self.members for p in m.parameters()]
        if self.input_norm is not None:
            params += [self.input_norm.weight, self.input_norm.bias]
        return params

    def forward(self, obs: torch.Tensor, action: torch.Tensor, members: list[int] | None = None,
                batch_stats: bool = True) -> torch.Tensor:
        x = torch.cat([obs, action], -1)
        if self.input_norm is not None:
            x = self.input_norm(x, batch_stats)
        chosen = range(len(self.members)) if members is None else members
        # the fast ensemble draws one [E', B, H] mask per dropout layer, in layer order
        masks = [self._mask((len(chosen), x.shape[0], w), float(p))
                 for w, p in zip(self.widths, self._dropout_ps())]
        return torch.stack([self.members[e](x, [m[i] for m in masks], batch_stats)
                            for i, e in enumerate(chosen)])

    @staticmethod
    def _mask(shape: tuple[int, int, int], p: float) -> torch.Tensor:
        mask = torch.ones(shape)
        mask.view(-1)[dropout_positions(mask.numel(), p)] = 0.0
        return mask

    def _dropout_ps(self) -> list[str]:
        ps = [k.split(":")[1] for k in self.members[0].kinds if k.startswith("dropout")]
        return ps

    __call__ = forward


class ReferenceSAC:
    """The same learner as :class:`SAC`, written plainly; built from a SAC's initial state."""

    def __init__(self, agent: SAC) -> None:
        self.cfg = agent.cfg
        self.actor = copy.deepcopy(agent.actor)
        self.critic = PlainEnsemble(agent.critic)
        self.target = PlainEnsemble(agent.critic_target) if agent.critic_target else None
        self.log_alpha = agent.log_alpha.detach().clone().requires_grad_(True)
        self.target_entropy = agent.target_entropy
        b1 = self.cfg.adam_beta1
        plain = dict(foreach=False, fused=False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=self.cfg.actor_lr,
                                          betas=(b1, 0.999), **plain)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=self.cfg.critic_lr,
                                           betas=(b1, 0.999), **plain)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=self.cfg.temperature_lr,
                                          **plain)
        self.updates = 0

    def update(self, batch: Batch) -> None:
        k = batch.reward.shape[0]
        delay = self.cfg.policy_delay or self.cfg.utd
        i = 0
        while i < k:
            n = min(k - i, delay - self.updates % delay)
            noise = torch.randn(n, *batch.action.shape[1:])  # next-action noise, one draw
            for j in range(i, i + n):
                b = batch.slice(j)
                with torch.no_grad():
                    na, nlp = self.actor.sample(b.next_obs, noise[j - i])
                self.critic_update(b, na, nlp)
                self.updates += 1
            if self.updates % delay == 0:
                self.actor_update(batch.slice(i + n - 1))
            i += n

    def critic_update(self, b: Batch, na: torch.Tensor, nlp: torch.Tensor) -> None:
        cfg = self.cfg
        alpha = self.log_alpha.exp().detach()
        e = len(self.critic.members)
        m = cfg.target_subset or e
        subset = torch.randperm(e)[:m].tolist() if m < e else None
        if self.target is not None:
            with torch.no_grad():
                next_q = self.target(b.next_obs, na, subset)
            q = self.critic(b.obs, b.action)
        else:
            q_all = self.critic(torch.cat([b.obs, b.next_obs]), torch.cat([b.action, na]))
            q, next_q = q_all[:, :len(b.reward)], q_all[:, len(b.reward):].detach()
            next_q = next_q if subset is None else next_q[subset]
        target = b.reward + cfg.gamma * (1 - b.terminated) * (next_q.min(0).values
                                                              - alpha * nlp)
        loss = sum(0.5 * F.mse_loss(q[i], target) for i in range(e))
        self.critic_opt.zero_grad()
        loss.backward()
        self.critic_opt.step()
        if cfg.weight_norm:
            for member in self.critic.members:
                unit_rows([m for m in member.layers if isinstance(m, nn.Linear)][:-1])
        if self.target is not None:
            with torch.no_grad():
                for t, p in zip(self.target.parameters(), self.critic.parameters()):
                    t.copy_((1 - cfg.tau) * t + cfg.tau * p)

    def actor_update(self, b: Batch) -> None:
        alpha = self.log_alpha.exp().detach()
        action, log_prob = self.actor.sample(b.obs)
        qs = self.critic(b.obs, action, batch_stats=False)
        q = qs.min(0).values if self.cfg.actor_q == "min" else qs.mean(0)
        loss = (alpha * log_prob - q).mean()
        self.actor_opt.zero_grad()
        loss.backward()
        self.actor_opt.step()
        if self.cfg.weight_norm:
            unit_rows([m for m in self.actor.trunk if isinstance(m, nn.Linear)])
        for p in self.critic.parameters():  # the actor loss must not move the critics
            p.grad = None
        t_loss = -(self.log_alpha.exp() * (log_prob.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad()
        t_loss.backward()
        self.alpha_opt.step()


def max_param_diff(agent: SAC, ref: ReferenceSAC) -> float:
    """Largest absolute difference between the agent's and the reference's parameters."""
    diffs = [(a - r).abs().max().item()
             for a, r in zip(agent.actor.parameters(), ref.actor.parameters())]
    for e, member in enumerate(ref.critic.members):
        plain = PlainCritic(agent.critic, e)
        diffs += [(a - r).abs().max().item()
                  for a, r in zip(plain.parameters(), member.parameters())]
        diffs += [(a.var_run - r.var_run).abs().max().item()
                  for a, r in zip(plain.layers, member.layers)
                  if isinstance(a, PlainBatchRenorm)]
    if ref.target is not None:
        assert agent.critic_target is not None
        for e, member in enumerate(ref.target.members):
            plain = PlainCritic(agent.critic_target, e)
            diffs += [(a - r).abs().max().item() * 100  # Polyak steps are small: scale up
                      for a, r in zip(plain.parameters(), member.parameters())]
    if ref.critic.input_norm is not None:
        assert agent.critic.input_norm is not None
        norm = ref.critic.input_norm
        diffs += [(agent.critic.input_norm.weight[0, 0] - norm.weight).abs().max().item(),
                  (agent.critic.input_norm.running_var[0, 0] - norm.var_run).abs().max().item()]
    diffs.append(abs(agent.log_alpha.item() - ref.log_alpha.item()))
    return max(diffs)
