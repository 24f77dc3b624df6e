"""Networks for SAC: a vectorized critic ensemble and a tanh-Gaussian actor.

All critics of an ensemble are computed as one batched matrix product (``torch.baddbmm``
over weights shaped ``[E, in, out]``), never as a Python loop over critics. Every ensemble
layer takes an optional ``members`` index so a subset of critics (REDQ's random two) runs
as one smaller batched product instead of computing all ``E`` and throwing most away.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0

Members = torch.Tensor | None  # indices into the ensemble dimension; None: all members


class EnsembleLinear(nn.Module):
    """``E`` independent linear layers applied to an input shaped ``[E, B, in]``."""

    def __init__(self, ensemble: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # the same init as nn.Linear
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, members: Members = None) -> torch.Tensor:
        if members is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.baddbmm(self.bias[members], x, self.weight[members])


@torch.no_grad()
def unit_norm_(weight: torch.Tensor, dim: int) -> None:
    """Scale ``weight`` in place so that its norm over ``dim`` is 1 everywhere else.

    Weight normalization as a projection (CrossQ + WN, Palenicek et al. 2025): with ``dim``
    the input axis, every output unit's incoming weights lie on the unit sphere. Batch
    norm after the layer makes the network blind to that scale, so the projection keeps
    the effective learning rate from shrinking as Adam grows the weights. One pass for all
    members of an ensemble; an all-zero row stays zero.
    """
    weight.div_(torch.linalg.vector_norm(weight, dim=dim, keepdim=True).clamp_min_(1e-12))


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over features with separate affine parameters per ensemble member."""

    def __init__(self, ensemble: int, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, features))

    def forward(self, x: torch.Tensor, members: Members = None) -> torch.Tensor:
        w, b = (self.weight, self.bias) if members is None else (self.weight[members],
                                                                  self.bias[members])
        return torch.addcmul(b, F.layer_norm(x, x.shape[-1:]), w)


def dropout_positions(n: int, p: float) -> torch.Tensor:
    """Flat indices of the elements to drop out of ``n``, each independently with
    probability ``p``, drawn from the global torch RNG.

    The dropped positions of a Bernoulli(p) sequence are generated directly as cumulative
    sums of Geometric(p) gaps (exact, not an approximation): about ``n * p`` random numbers
    instead of ``n``. At DroQ's p = 0.01 this makes dropout nearly free, where a dense
    ``bernoulli_`` mask took a fifth of the update time in profiles.
    """
    if p <= 0:
        return torch.empty(0, dtype=torch.long)
    log_q = math.log1p(-p)
    chunks, start = [], 0
    while start < n:  # almost always one round: the draw covers n with a 6-sigma margin
        left = n - start
        m = int(left * p + 6 * math.sqrt(left * p) + 16)
        gaps = torch.floor(torch.log1p(-torch.rand(m, dtype=torch.float64)) / log_q) + 1
        chunks.append(torch.cumsum(gaps, 0).add_(start - 1).long())
        start = int(chunks[-1][-1]) + 1
    positions = torch.cat(chunks) if len(chunks) > 1 else chunks[0]
    return positions[:int(torch.searchsorted(positions, n))]  # sorted: cut at n


class _ZeroAt(torch.autograd.Function):
    """x with the flat ``positions`` zeroed in place; the gradient is zeroed there too."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(positions)
        ctx.mark_dirty(x)
        x.view(-1).index_fill_(0, positions, 0.0)
        return x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (positions,) = ctx.saved_tensors
        grad = grad.contiguous()
        return grad.view(-1).index_fill(0, positions, 0.0).view_as(grad), None


class EnsembleDropout(nn.Module):
    """Dropout with an independent mask per member and sample (active in train mode).

    It zeroes the dropped elements in place, so it must follow a layer that does not keep
    its output for the backward pass (a linear layer; autograd raises an error otherwise).
    ``rescale=False`` skips the 1 / (1 - p) factor: right before a LayerNorm it only changes
    LayerNorm's epsilon term (by a factor (1 - p)^2), and it saves a pass over the tensor.
    """

    def __init__(self, p: float, rescale: bool = True) -> None:
        super().__init__()
        self.p, self.rescale = p, rescale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if x.device.type != "cpu":  # the sparse sampler is a CPU trick; a GPU draws a mask
            x = x * (torch.rand_like(x) >= self.p).to(x.dtype)
        else:
            x = _ZeroAt.apply(x.contiguous(), dropout_positions(x.numel(), self.p))
        return x * (1.0 / (1.0 - self.p)) if self.rescale else x

    def extra_repr(self) -> str:
        return f"p={self.p}, rescale={self.rescale}"


class EnsembleBatchRenorm(nn.Module):
    """Batch renormalization (Ioffe 2017) per ensemble member, over inputs ``[E, N, F]``.

    With ``batch_stats=True`` the layer normalizes with the batch mean and variance and
    updates the running statistics (momentum ``momentum``). For the first ``warmup`` such
    calls it is plain batch norm; afterwards it renormalizes toward the running statistics
    with the corrections r = std_B / std_run clipped to [1/rmax, rmax] and
    d = (mean_B - mean_run) / std_run clipped to [-dmax, dmax], both without gradient.
    With ``batch_stats=False`` (or in eval mode) it uses the running statistics only.
    The statistics and the epsilon follow CrossQ's reference implementation (biased batch
    variance, eps 1e-3).
    """

    def __init__(self, ensemble: int, features: int, momentum: float = 0.99,
                 warmup: int = 100_000, rmax: float = 3.0, dmax: float = 5.0,
                 eps: float = 1e-3) -> None:
        super().__init__()
        self.momentum, self.warmup, self.rmax, self.dmax, self.eps = (momentum, warmup, rmax,
                                                                      dmax, eps)
        self.weight = nn.Parameter(torch.ones(ensemble, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, features))
        self.running_mean: torch.Tensor
        self.running_var: torch.Tensor
        self.steps: torch.Tensor
        self.register_buffer("running_mean", torch.zeros(ensemble, 1, features))
        self.register_buffer("running_var", torch.ones(ensemble, 1, features))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor, members: Members = None,
                batch_stats: bool = True) -> torch.Tensor:
        w: torch.Tensor = self.weight
        b: torch.Tensor = self.bias
        mean_run, var_run = self.running_mean, self.running_var
        if members is not None:
            w, b, mean_run, var_run = w[members], b[members], mean_run[members], var_run[members]
        std_run = (var_run + self.eps).sqrt()
        if not (batch_stats and self.training):
            scale = w / std_run
            return torch.addcmul(b - mean_run * scale, x, scale)
        var, mean = torch.var_mean(x, dim=-2, keepdim=True, correction=0)
        std = (var + self.eps).sqrt()
        # y = (x - mean) / std * r + d, then * w + b, folded into one pass: x * scale + shift
        scale = w / std
        shift = b - mean * scale
        if int(self.steps) >= self.warmup:
            with torch.no_grad():
                r = (std / std_run).clamp(1.0 / self.rmax, self.rmax)
                d = ((mean - mean_run) / std_run).clamp(-self.dmax, self.dmax)
            scale = scale * r
            shift = b + w * d - mean * scale
        with torch.no_grad():
            if members is None:
                self.running_mean.lerp_(mean.to(mean_run.dtype), 1 - self.momentum)
                self.running_var.lerp_(var.to(var_run.dtype), 1 - self.momentum)
            else:
                self.running_mean[members] = mean_run.lerp(mean, 1 - self.momentum)
                self.running_var[members] = var_run.lerp(var, 1 - self.momentum)
            self.steps += 1
        return torch.addcmul(shift, x, scale)


class CriticEnsemble(nn.Module):
    """``E`` Q-functions Q(s, a), all computed in one batched pass; ``forward`` -> ``[E, B]``.

    Hidden layers are Linear -> [Dropout] -> [LayerNorm] -> ReLU -> [BatchRenorm]: DroQ uses
    dropout and LayerNorm, REDQ and plain SAC LayerNorm, CrossQ batch renormalization (also
    on the input, shared by all members since they see the same input). CrossQ + WN keeps
    the hidden Linear weights at unit norm per output unit (:meth:`normalize_hidden_`,
    called by the learner after each optimizer step).

    The last ``features`` numbers of an observation (an image encoder's, already
    LayerNorm-ed per sample) skip the input batch renormalization: across a batch of frames
    of one scene many of them barely vary, and dividing by that spread (eps 1e-3) would
    blow the augmentation's jitter up to the scale of the state (measured on the push task:
    docs/results/push_actions.md).
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], ensemble: int,
                 layernorm: bool = True, dropout: float = 0.0, batchrenorm: bool = False,
                 bn_momentum: float = 0.99, renorm_warmup: int = 100_000,
                 renorm_rmax: float = 3.0, renorm_dmax: float = 5.0,
                 features: int = 0) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.features = features

        def brn(ens: int, features: int) -> EnsembleBatchRenorm:
            return EnsembleBatchRenorm(ens, features, bn_momentum, renorm_warmup, renorm_rmax,
                                       renorm_dmax)

        width = obs_dim + act_dim
        self.input_norm = brn(1, width - features) if batchrenorm else None
        layers: list[nn.Module] = []
        for h in hidden:
            layers.append(EnsembleLinear(ensemble, width, h))
            if dropout > 0:
                layers.append(EnsembleDropout(dropout, rescale=not layernorm))
            if layernorm:
                layers.append(EnsembleLayerNorm(ensemble, h))
            layers.append(nn.ReLU(inplace=layernorm))  # in place on addcmul's output
            if batchrenorm:
                layers.append(brn(ensemble, h))
            width = h
        layers.append(EnsembleLinear(ensemble, width, 1))
        self.net = nn.Sequential(*layers)

    def hidden_linears(self) -> list[EnsembleLinear]:
        """The hidden layers' linear maps (all but the output layer)."""
        return [m for m in self.net if isinstance(m, EnsembleLinear)][:-1]

    def normalize_hidden_(self) -> None:
        """Project each hidden layer's weights onto unit norm per output unit, for every
        member at once (:func:`unit_norm_`; weights are ``[E, in, out]``: norm over ``in``).
        The output layer and the biases keep their scale."""
        for layer in self.hidden_linears():
            unit_norm_(layer.weight, dim=1)

    def forward(self, obs: torch.Tensor, action: torch.Tensor, members: Members = None,
                batch_stats: bool = True) -> torch.Tensor:
        """Q-values ``[E, B]`` (``[len(members), B]`` for a subset).

        Args:
            obs: observations ``[B, obs_dim]``.
            action: actions ``[B, act_dim]``.
            members: which critics to evaluate (None: all).
            batch_stats: batch renormalization normalizes with (and updates) batch
                statistics; False uses the running statistics (CrossQ's actor loss).
        """
        if self.input_norm is None:
            x = torch.cat([obs, action], dim=-1).unsqueeze(0)
        else:  # [state, action] normalized, then the encoder's features as they are
            split = obs.shape[-1] - self.features
            x = self.input_norm(torch.cat([obs[..., :split], action], dim=-1).unsqueeze(0),
                                batch_stats=batch_stats)
            if self.features:
                x = torch.cat([x, obs[..., split:].unsqueeze(0).to(x.dtype)], dim=-1)
        n = self.ensemble if members is None else len(members)
        x = x.expand(n, *x.shape[1:])
        for layer in self.net:
            if isinstance(layer, EnsembleBatchRenorm):
                x = layer(x, members, batch_stats)
            elif isinstance(layer, (EnsembleLinear, EnsembleLayerNorm)):
                x = layer(x, members)
            else:
                x = layer(x)
        return x.squeeze(-1)


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

    def normalize_hidden_(self) -> None:
        """Project each hidden layer's weights onto unit norm per output unit
        (:func:`unit_norm_`; ``nn.Linear`` weights are ``[out, in]``: norm over ``in``). The
        mean and log-std heads and the biases keep their scale."""
        for layer in self.trunk:
            if isinstance(layer, nn.Linear):
                unit_norm_(layer.weight, dim=1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log standard deviation (bounded) of the pre-tanh Gaussian."""
        z = self.trunk(obs)
        log_std = torch.tanh(self.log_std(z))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return self.mean(z), log_std

    def sample(self, obs: torch.Tensor, noise: torch.Tensor | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized action in [-1, 1] and its log-probability (shape ``[...]``).

        ``obs`` may have any leading dimensions (``[k, B, obs_dim]`` samples k minibatches
        in one pass); ``noise`` (standard normal, the action's shape) replaces the draw.
        """
        mean, log_std = self(obs)
        return self.sample_from(mean, log_std, noise)

    @staticmethod
    def sample_from(mean: torch.Tensor, log_std: torch.Tensor,
                    noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`sample` given the Gaussian's mean and log standard deviation."""
        eps = torch.randn_like(mean) if noise is None else noise
        u = mean + log_std.exp() * eps
        action = torch.tanh(u)
        # log N(u; mean, std) with (u - mean) / std = eps (same value and gradient)
        log_prob = -0.5 * eps**2 - log_std - 0.5 * math.log(2 * math.pi)
        # change of variables for tanh, in the numerically stable form
        log_prob = log_prob - 2 * (math.log(2) - u - F.softplus(-2 * u))
        return action, log_prob.sum(-1)

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor,
                 eps: float = 1e-5) -> torch.Tensor:
        """log pi(action|obs) of given actions in [-1, 1] (shape ``[...]``): the offline
        learners' likelihood of dataset actions (robot_rl.sac.offline, robot_rl.sac.bc).

        Actions are clipped to ``[-1 + eps, 1 - eps]`` first: at exactly +-1 the pre-tanh
        value would be infinite.
        """
        mean, log_std = self(obs)
        a = action.clamp(-1.0 + eps, 1.0 - eps)
        u = torch.atanh(a)
        z = (u - mean) / log_std.exp()
        log_prob = -0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)
        log_prob = log_prob - 2 * (math.log(2) - u - F.softplus(-2 * u))
        return log_prob.sum(-1)

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """The mode of the squashed Gaussian: tanh(mean)."""
        return torch.tanh(self(obs)[0])
