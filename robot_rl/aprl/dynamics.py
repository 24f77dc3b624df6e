"""Ensemble dynamics model (torch): predicts the normalized change of the observation.

Runs on the learner. Usage alongside SAC::

    model = DynamicsEnsemble.from_config(obs_dim, act_dim, cfg.dynamics)
    trainer = DynamicsTrainer(model, cfg.dynamics, seed=0)
    for each SAC actor update:
        for _ in range(cfg.dynamics.updates_per_actor_update):
            info = trainer.update(batch.obs, batch.action, batch.next_obs)  # log info
    publish(policy_weights, model.export_numpy(), version)  # same version tag as the policy

The target of member ``e`` is ``(next_obs - obs - delta_mean) / delta_std`` (running statistics
stored as buffers and exported with the weights); inputs are the normalized observation and the
applied normalized action. Members are evaluated together with ``torch.baddbmm`` on weights
shaped ``[E, in, out]``.
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.aprl.config import DynamicsConfig

ArrayLike = torch.Tensor | np.ndarray


class EnsembleLinear(nn.Module):
    """``E`` independent linear layers in one batched matmul: ``[E, B, in] -> [E, B, out]``."""

    def __init__(self, ensemble_size: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble_size, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble_size, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default init, per member
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class RunningNorm(nn.Module):
    """Running mean/variance over all samples seen (parallel Welford merge), as buffers."""

    def __init__(self, dim: int, std_floor: float) -> None:
        super().__init__()
        self.std_floor = std_floor
        self.mean: torch.Tensor
        self.var: torch.Tensor
        self.count: torch.Tensor
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge the statistics of ``x`` (shape ``[N, dim]``) into the running ones."""
        if x.shape[0] == 0:
            return
        x = x.to(torch.float64)
        n, mean, var = x.shape[0], x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = mean - self.mean
        if self.count == 0:
            self.var.copy_(var)
        else:
            m2 = self.var * self.count + var * n + delta.pow(2) * self.count * n / total
            self.var.copy_(m2 / total)
        self.mean.add_(delta * n / total)
        self.count.copy_(total)

    def std(self) -> torch.Tensor:
        """Standard deviation, floored at ``std_floor`` (float32)."""
        return self.var.sqrt().clamp_min(self.std_floor).float()


class DynamicsEnsemble(nn.Module):
    """MLP ensemble: (obs, action) -> normalized delta observation, one prediction per member."""

    def __init__(self, obs_dim: int, act_dim: int, ensemble_size: int = 5,
                 hidden: tuple[int, ...] = (256, 256), std_floor: float = 1e-3) -> None:
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = obs_dim, act_dim, ensemble_size
        sizes = [obs_dim + act_dim, *hidden, obs_dim]
        self.layers = nn.ModuleList(
            EnsembleLinear(ensemble_size, a, b) for a, b in itertools.pairwise(sizes)
        )
        self.obs_norm = RunningNorm(obs_dim, std_floor)
        self.delta_norm = RunningNorm(obs_dim, std_floor)

    @classmethod
    def from_config(cls, obs_dim: int, act_dim: int, cfg: DynamicsConfig) -> DynamicsEnsemble:
        """Build from :class:`DynamicsConfig`."""
        return cls(obs_dim, act_dim, cfg.ensemble_size, cfg.hidden, cfg.std_floor)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Normalized delta per member, ``[E, B, obs_dim]``.

        Args:
            obs: raw observations, ``[B, obs_dim]`` (shared) or ``[E, B, obs_dim]``.
            action: applied normalized actions, ``[B, act_dim]`` or ``[E, B, act_dim]``.
        """
        x_obs = (obs - self.obs_norm.mean.float()) / self.obs_norm.std()
        x = torch.cat([x_obs, action], dim=-1)
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.ensemble_size, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x

    def normalize_delta(self, obs: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """The training target: ``(next_obs - obs - delta_mean) / delta_std``."""
        return (next_obs - obs - self.delta_norm.mean.float()) / self.delta_norm.std()

    @torch.no_grad()
    def update_normalizer(self, obs: torch.Tensor, next_obs: torch.Tensor) -> None:
        """Fold a batch into the observation and delta statistics."""
        self.obs_norm.update(obs.reshape(-1, self.obs_dim))
        self.delta_norm.update((next_obs - obs).reshape(-1, self.obs_dim))

    def loss(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean squared error in normalized delta units, summed over members.

        Shapes are ``[B, ...]`` (all members see the batch) or ``[E, B, ...]`` (one batch per
        member); ``mask`` (``[B]`` or ``[E, B]``, 1 = use) drops transitions.
        """
        pred = self(obs, action)
        target = self.normalize_delta(obs, next_obs).detach()
        sq = (pred - target).pow(2).mean(-1)  # [E, B]
        if mask is None:
            member = sq.mean(-1)
        else:
            w = mask.to(sq.dtype).expand_as(sq)
            member = (sq * w).sum(-1) / w.sum(-1).clamp_min(1.0)
        m = member.detach()
        info = {
            "dynamics/loss": float(m.mean()),
            "dynamics/loss_member_min": float(m.min()),
            "dynamics/loss_member_max": float(m.max()),
        }
        return member.sum(), info

    @torch.no_grad()
    def predict(self, obs: torch.Tensor,
                action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ensemble mean ``[B, obs_dim]`` and members ``[E, B, obs_dim]`` (normalized delta)."""
        members = self(obs, action)
        return members.mean(0), members

    def export_numpy(self) -> dict[str, np.ndarray]:
        """Weights and normalizers as float32 arrays for :class:`DynamicsPredictor`."""
        out: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            assert isinstance(layer, EnsembleLinear)  # the ModuleList holds only these
            out[f"layer{i}.weight"] = layer.weight.detach().cpu().float().numpy().copy()
            out[f"layer{i}.bias"] = layer.bias.detach().cpu().float().numpy()[:, 0, :].copy()
        for name, norm in (("obs", self.obs_norm), ("delta", self.delta_norm)):
            out[f"{name}_mean"] = norm.mean.detach().cpu().float().numpy().copy()
            out[f"{name}_std"] = norm.std().detach().cpu().numpy().copy()
        return out


class DynamicsTrainer:
    """Adam on :meth:`DynamicsEnsemble.loss`; one call to :meth:`update` is one gradient step.

    With ``cfg.bootstrap`` each member trains on its own resample (with replacement) of the
    batch, which keeps members apart at the cost of nothing but an index gather; otherwise all
    members see the same batch and differ only by initialization.
    """

    def __init__(self, model: DynamicsEnsemble, cfg: DynamicsConfig | None = None,
                 seed: int = 0) -> None:
        cfg = cfg or DynamicsConfig()
        self.model, self.cfg = model, cfg
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr,
                                          weight_decay=cfg.weight_decay)
        device = next(model.parameters()).device
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.n_updates = 0

    def update(self, obs: ArrayLike, action: ArrayLike, next_obs: ArrayLike,
               mask: ArrayLike | None = None) -> dict[str, float]:
        """One gradient step on a batch of transitions (``[B, ...]``; numpy or torch).

        The normalizers absorb the batch first. ``mask`` (``[B]``, 1 = use) excludes
        transitions whose next observation is not a consequence of the action (e.g. a reset).

        Returns:
            ``dynamics/loss`` (mean over members), member min/max, ``dynamics/updates``.
        """
        device = next(self.model.parameters()).device
        obs, action, next_obs = (torch.as_tensor(x, dtype=torch.float32, device=device)
                                 for x in (obs, action, next_obs))
        m = None if mask is None else torch.as_tensor(mask, device=device).float()
        keep = slice(None) if m is None else m > 0
        self.model.update_normalizer(obs[keep], next_obs[keep])
        if self.cfg.bootstrap and self.model.ensemble_size > 1:
            b = obs.shape[0]
            idx = torch.randint(b, (self.model.ensemble_size, b), generator=self.generator,
                                device=device)
            obs, action, next_obs = obs[idx], action[idx], next_obs[idx]
            m = None if m is None else m[idx]
        loss, info = self.model.loss(obs, action, next_obs, m)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.n_updates += 1
        info["dynamics/updates"] = float(self.n_updates)
        return info

    def state_dict(self) -> dict[str, Any]:
        """Model, optimizer and RNG state for checkpoints (a snapshot: shares no tensors)."""
        return copy.deepcopy({
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(), "n_updates": self.n_updates,
            "generator_device": self.generator.device.type,
        })

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (written on this or another device: tensors move
        to the model's; the resampling generator continues only on the same kind of device,
        a CPU's and a GPU's generator states being different things)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("generator_device", "cpu") == self.generator.device.type:
            self.generator.set_state(state["generator"].cpu())  # map_location may move it
        self.n_updates = int(state["n_updates"])
