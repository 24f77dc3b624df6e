"""Networks for SAC: a vectorized critic ensemble and a tanh-Gaussian actor.

All critics of an ensemble are computed as one batched matrix product (``torch.baddbmm``
over weights shaped ``[E, in, out]``), never as a Python loop over critics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class EnsembleLinear(nn.Module):
    """``E`` independent linear layers applied to an input shaped ``[E, B, in]``."""

    def __init__(self, ensemble: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # the same init as nn.Linear
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over features with separate affine parameters per ensemble member."""

    def __init__(self, ensemble: int, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:]) * self.weight + self.bias


class CriticEnsemble(nn.Module):
    """``E`` Q-functions Q(s, a); hidden layers are Linear -> Dropout -> LayerNorm -> ReLU.

    Dropout and LayerNorm are optional (DroQ uses both; plain SAC with LayerNorm uses only the
    latter). ``forward`` returns Q-values shaped ``[E, B]``.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], ensemble: int,
                 layernorm: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.ensemble = ensemble
        layers: list[nn.Module] = []
        width = obs_dim + act_dim
        for h in hidden:
            layers.append(EnsembleLinear(ensemble, width, h))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            if layernorm:
                layers.append(EnsembleLayerNorm(ensemble, h))
            layers.append(nn.ReLU())
            width = h
        layers.append(EnsembleLinear(ensemble, width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, action], dim=-1)
        x = x.unsqueeze(0).expand(self.ensemble, *x.shape)
        return self.net(x).squeeze(-1)


class TanhGaussianActor(nn.Module):
    """pi(a|s): a Gaussian squashed by tanh into [-1, 1]; no LayerNorm or dropout."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.mean = nn.Linear(width, act_dim)
        self.log_std = nn.Linear(width, act_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log standard deviation (bounded) of the pre-tanh Gaussian."""
        z = self.trunk(obs)
        log_std = torch.tanh(self.log_std(z))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return self.mean(z), log_std

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized action in [-1, 1] and its log-probability (shape ``[B]``)."""
        mean, log_std = self(obs)
        std = log_std.exp()
        u = mean + std * torch.randn_like(mean)
        action = torch.tanh(u)
        log_prob = (-0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi))
        # change of variables for tanh, in the numerically stable form
        log_prob = log_prob - 2 * (math.log(2) - u - F.softplus(-2 * u))
        return action, log_prob.sum(-1)

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """The mode of the squashed Gaussian: tanh(mean)."""
        return torch.tanh(self(obs)[0])
