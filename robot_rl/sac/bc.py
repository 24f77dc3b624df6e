"""Behavioral cloning into SAC's tanh-Gaussian actor: ``bc``, ``bc_noise``, ``posterior_bc``.

All three fit the actor of a :class:`~robot_rl.sac.SAC` agent to demonstrations (the
prior-data arrays), so the agent's ``state_dict`` is a checkpoint that ``robot-rl train
--init`` fine-tunes; the critics are not trained here (SAC learns them from scratch
online). The actor's mean head learns the demonstrated actions, its log-std head a target:

- ``bc``: a small fixed std (``min_std``), i.e. nearly the deterministic BC policy;
- ``bc_noise``: a larger fixed std (``noise_std``) everywhere;
- ``posterior_bc`` (after Wagenmaker et al. 2025, "Posterior Behavioral Cloning"): an
  ensemble of ``members`` BC regressors, each on its own bootstrap resample of the demos
  and its own initialization, stands in for the posterior over the demonstrator's policy.
  The actor is then fitted to the ensemble's mean with a per-state std
  ``sqrt(min_std^2 + scale * var_ensemble)`` (clipped to the actor's log-std bounds): where
  the demos agree the policy stays as sharp as ``bc``; where they are few or contradict each
  other it spreads over the actions the demonstrator might have taken, so RL fine-tuning
  can still sample them.

Means and variances are in the actor's pre-tanh space (where its Gaussian lives).

With ``critic_steps > 0`` (``robot-rl pretrain --critic-steps``) the cloned actor is then
held fixed while the critics learn its soft Q-values on the demos (:class:`CriticWarmup`):
SAC's own critic update, ``r + gamma * (1 - terminated) * (min Q'(s', a') - alpha log pi(a'|s'))``
with ``a'`` from the cloned actor. Fine-tuning then starts from critics that already rank
actions near the demos, instead of random ones whose gradient pulls the actor away from
them in the first updates. Usage::

    learner = make_bc("posterior_bc", agent, data, BCSettings(), steps=2000, seed=0,
                      critic_steps=2000)
    for _ in range(learner.total_steps):
        info = learner.step()
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from robot_rl.sac.agent import SAC, make_adam
from robot_rl.sac.buffer import ReplayBuffer
from robot_rl.sac.networks import LOG_STD_MAX, LOG_STD_MIN, EnsembleLinear

BC_METHODS = ("bc", "bc_noise", "posterior_bc")


@dataclass
class BCSettings:
    """Settings of the BC methods (stds in the actor's pre-tanh space)."""

    min_std: float = 0.05  # bc's std, and the floor of posterior_bc's
    noise_std: float = 0.3  # bc_noise's std
    members: int = 5  # posterior_bc's ensemble size
    scale: float = 1.0  # posterior_bc: std^2 = min_std^2 + scale * ensemble variance


def clipped_log_std(std: torch.Tensor) -> torch.Tensor:
    """log(std) inside the actor's log-std bounds (just within, where its tanh can reach)."""
    return std.log().clamp(LOG_STD_MIN + 1e-3, LOG_STD_MAX - 1e-3)


class BehaviorCloning:
    """``bc`` and ``bc_noise``: per step, ``MSE(tanh(mean), a) + MSE(log_std, log(std))``.

    Args:
        agent: the SAC learner whose actor (and actor optimizer) this trains.
        data: the demonstrations (``obs`` and ``action`` are used).
        std: the fixed standard deviation the log-std head learns.
        steps: gradient steps (:attr:`total_steps`).
        seed: seeds minibatch sampling.
    """

    def __init__(self, agent: SAC, data: dict[str, np.ndarray], std: float, steps: int,
                 seed: int = 0) -> None:
        self.agent, self.total_steps = agent, steps
        self.data = ReplayBuffer(agent.obs_dim, agent.act_dim, len(data["reward"]), seed=seed)
        self.data.add_batch(data)
        self.log_std = math.log(std)
        self.steps = 0

    def step(self) -> dict[str, float]:
        agent = self.agent
        b = agent.to_device(self.data.sample(agent.cfg.batch_size).slice(0))
        mean, log_std = agent.actor(b.obs)
        target = clipped_log_std(torch.full_like(log_std, math.exp(self.log_std)))
        mean_loss = ((torch.tanh(mean) - b.action) ** 2).mean()
        std_loss = ((log_std - target) ** 2).mean()
        agent.actor_opt.zero_grad(set_to_none=True)
        (mean_loss + std_loss).backward()
        agent.actor_opt.step()
        self.steps += 1
        return {"bc_loss": mean_loss.item(), "log_std_loss": std_loss.item(),
                "std_mean": log_std.exp().mean().item()}


class BCEnsemble(nn.Module):
    """``E`` independent MLPs ``obs -> pre-tanh action`` in one batched pass:
    ``[E, B, obs_dim]`` (or ``[B, obs_dim]``, shared) -> ``[E, B, act_dim]``."""

    def __init__(self, ensemble: int, obs_dim: int, act_dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.ensemble = ensemble
        layers: list[nn.Module] = []
        width = obs_dim
        for h in hidden:
            layers += [EnsembleLinear(ensemble, width, h), nn.ReLU()]
            width = h
        layers.append(EnsembleLinear(ensemble, width, act_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dim() == 2:
            obs = obs.unsqueeze(0).expand(self.ensemble, *obs.shape)
        out: torch.Tensor = self.net(obs)
        return out


class PosteriorBC:
    """``posterior_bc``: ``steps`` ensemble updates, then ``steps`` updates of the actor.

    Phase 1 (the first ``steps`` calls of :meth:`step`): each member takes a minibatch of
    its own bootstrap resample and minimizes ``MSE(tanh(u), a)``. Phase 2: the actor's mean
    regresses on the ensemble's mean ``u`` and its log-std on
    ``log sqrt(min_std^2 + scale * var_ensemble(u))`` at the demonstrated states.

    Args:
        agent: the SAC learner whose actor (and actor optimizer) this trains.
        data: the demonstrations (``obs`` and ``action`` are used).
        settings: ensemble size, ``min_std``, ``scale``.
        steps: gradient steps of each phase (:attr:`total_steps` is twice this).
        seed: seeds the bootstraps and minibatch sampling.
    """

    def __init__(self, agent: SAC, data: dict[str, np.ndarray], settings: BCSettings,
                 steps: int, seed: int = 0) -> None:
        self.agent, self.settings = agent, settings
        self.member_steps, self.total_steps = steps, 2 * steps
        self.rng = np.random.default_rng(seed)
        self.obs = np.asarray(data["obs"], np.float32)
        self.action = np.asarray(data["action"], np.float32)
        n = len(self.obs)
        self.bootstrap = self.rng.integers(0, n, size=(settings.members, n))  # [E, N]
        self.ensemble = BCEnsemble(settings.members, agent.obs_dim, agent.act_dim,
                                   list(agent.cfg.hidden)).to(agent.device)
        assert agent.cfg.actor_lr is not None
        self.ensemble_opt = make_adam(self.ensemble.parameters(), agent.cfg.actor_lr, 0.9,
                                      agent.cfg.fused)
        self.steps = 0

    def step(self) -> dict[str, float]:
        info = self._member_step() if self.steps < self.member_steps else self._actor_step()
        self.steps += 1
        return info

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=self.agent.device)

    def _member_step(self) -> dict[str, float]:
        e, n = self.bootstrap.shape
        pick = self.rng.integers(0, n, size=(e, self.agent.cfg.batch_size))
        idx = np.take_along_axis(self.bootstrap, pick, axis=1)  # [E, B] rows of the data
        u = self.ensemble(self._tensor(self.obs[idx]))
        loss = ((torch.tanh(u) - self._tensor(self.action[idx])) ** 2).mean()
        self.ensemble_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.ensemble_opt.step()
        return {"member_loss": loss.item()}

    @torch.no_grad()
    def targets(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor's targets at ``obs`` ``[B, obs_dim]``: the ensemble's mean pre-tanh
        action and ``log sqrt(min_std^2 + scale * var)``, both ``[B, act_dim]``."""
        u = self.ensemble(obs)
        var = u.var(dim=0) if u.shape[0] > 1 else torch.zeros_like(u[0])
        s = self.settings
        return u.mean(dim=0), clipped_log_std((s.min_std**2 + s.scale * var).sqrt())

    def _actor_step(self) -> dict[str, float]:
        agent = self.agent
        rows = self.rng.integers(0, len(self.obs), size=agent.cfg.batch_size)
        obs = self._tensor(self.obs[rows])
        mean_target, log_std_target = self.targets(obs)
        mean, log_std = agent.actor(obs)
        mean_loss = ((mean - mean_target) ** 2).mean()
        std_loss = ((log_std - log_std_target) ** 2).mean()
        agent.actor_opt.zero_grad(set_to_none=True)
        (mean_loss + std_loss).backward()
        agent.actor_opt.step()
        return {"mean_loss": mean_loss.item(), "log_std_loss": std_loss.item(),
                "std_mean": log_std.exp().mean().item(),
                "target_std_mean": log_std_target.exp().mean().item()}


class CriticWarmup:
    """A BC learner's steps, then ``critic_steps`` updates of the critics alone.

    The critic phase is SAC's critic update (:meth:`SAC.critic_step`, target critics
    included) on minibatches of the demos, with the next action drawn from the cloned actor,
    which does not change: policy evaluation of the BC policy on the demos. ``reward``,
    ``next_obs`` and ``terminated`` of the data are used here.

    Args:
        clone: the BC learner (``bc``, ``bc_noise`` or ``posterior_bc``).
        data: the demonstrations.
        critic_steps: critic updates after the clone's ``total_steps``.
        seed: seeds minibatch sampling.
    """

    def __init__(self, clone: BehaviorCloning | PosteriorBC, data: dict[str, np.ndarray],
                 critic_steps: int, seed: int = 0) -> None:
        self.clone, self.agent = clone, clone.agent
        self.data = ReplayBuffer(self.agent.obs_dim, self.agent.act_dim, len(data["reward"]),
                                 seed=seed + 1)
        self.data.add_batch(data)
        self.total_steps = clone.total_steps + critic_steps
        self.steps = 0

    def step(self) -> dict[str, float]:
        if self.steps < self.clone.total_steps:
            info = self.clone.step()
        else:
            batch = self.agent.to_device(self.data.sample(self.agent.cfg.batch_size).slice(0))
            info = self.agent.critic_step(batch)
        self.steps += 1
        return info


def make_bc(method: str, agent: SAC, data: dict[str, np.ndarray], settings: BCSettings,
            steps: int, seed: int = 0, critic_steps: int = 0
            ) -> BehaviorCloning | PosteriorBC | CriticWarmup:
    """The learner of a BC ``method`` (one of :data:`BC_METHODS`); with ``critic_steps``,
    followed by that many critic updates (:class:`CriticWarmup`).

    Raises:
        ValueError: ``method`` is not a BC method, or ``critic_steps`` is negative.
    """
    if critic_steps < 0:
        raise ValueError(f"expected critic_steps >= 0, got {critic_steps}")
    clone: BehaviorCloning | PosteriorBC
    if method == "bc":
        clone = BehaviorCloning(agent, data, settings.min_std, steps, seed)
    elif method == "bc_noise":
        clone = BehaviorCloning(agent, data, settings.noise_std, steps, seed)
    elif method == "posterior_bc":
        clone = PosteriorBC(agent, data, settings, steps, seed)
    else:
        raise ValueError(f"expected one of {', '.join(BC_METHODS)}, got {method!r}")
    return CriticWarmup(clone, data, critic_steps, seed) if critic_steps else clone

