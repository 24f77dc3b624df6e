"""Soft Actor-Critic with an update-to-data ratio k and selectable critic recipes.

One call to :meth:`SAC.update` takes ``k`` stacked minibatches and runs, in this order, for
each of them: a critic update (then, with ``weight_norm``, the projection of the hidden
weights to unit norm, and a Polyak step of the target critics, if the recipe has them);
after every ``policy_delay``-th critic update overall, one actor update and one
temperature update on that minibatch. With the default ``policy_delay == utd`` this is
"k critic updates, then one actor and one temperature update" (Smith et al. 2022).
Each loss has its own method returning ``(loss, info)``. Recipes: docs/learner.md.

Speed (docs/learner.md#speed): all critics run as one batched product; the next actions
for the critic targets of all minibatches up to the next actor update are sampled in one
actor pass; Adam uses fused (or foreach) kernels; dropout masks come from a fast sampler;
``compile`` is opt-in, and so is bf16 on a CPU (``precision``).

Pixels (docs/learner.md#learning-from-pixels): with ``pixels_shape`` a convolutional
encoder (:mod:`robot_rl.sac.encoder`) turns the stacked frames into features concatenated
with the state vector. The critic's optimizer owns it (the critic loss trains it); the actor
reads its features detached; both critic inputs (obs and next_obs) are randomly shifted
(DrQ). As in DrQ-v2 there is no target encoder: the target critics read the online
encoder's features of next_obs, without gradient.

Device (docs/learner.md#device-and-precision): networks, optimizers and the minibatches of
:meth:`SAC.update` live on ``learner.device``; :meth:`SAC.act` takes and returns numpy on the
CPU, and :meth:`SAC.policy_arrays` gives CPU arrays for the actors.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from robot_rl.config import LearnerConfig
from robot_rl.sac.buffer import Batch
from robot_rl.sac.device import bf16_supported, resolve_device, resolve_precision
from robot_rl.sac.encoder import PixelEncoder, random_shift
from robot_rl.sac.networks import CriticEnsemble, TanhGaussianActor

__all__ = ["SAC", "bf16_supported", "make_adam"]


def make_adam(params: Any, lr: float, beta1: float, fused: bool) -> torch.optim.Adam:
    """Adam with fused kernels (foreach where fused is unavailable) or the plain loop."""
    betas = (beta1, 0.999)
    params = list(params)
    if not fused:
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=False, fused=False)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, ValueError):  # pragma: no cover - fused Adam missing on this build
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


class SAC:
    """The learner: actor, critic ensemble (with targets unless CrossQ), temperature.

    Args:
        obs_dim: observation size.
        act_dim: action size (actions are normalized to [-1, 1]).
        cfg: learner settings; ``cfg.recipe`` picks the critic recipe, ``cfg.device`` and
            ``cfg.precision`` (resolved here if not yet: :mod:`robot_rl.sac.device`) where
            and how it trains.
        seed: seeds network initialization and the learner's random numbers.
        pixels_shape: ``(C, H, W)`` of the stacked uint8 frames observations carry beside
            the state vector (``obs_dim``); None: no images.

    Raises:
        ConfigError: ``cfg.device`` names a CUDA device this machine does not have.
    """

    def __init__(self, obs_dim: int, act_dim: int, cfg: LearnerConfig, seed: int = 0,
                 pixels_shape: tuple[int, int, int] | None = None) -> None:
        self.device = resolve_device(cfg.device)
        self.precision = resolve_precision(cfg.precision, self.device)  # "fp32" or "bf16"
        self.bf16 = self.precision == "bf16"  # matmuls under bfloat16 autocast
        torch.manual_seed(seed)
        self.cfg = cfg
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.pixels_shape = pixels_shape
        # built on the CPU and then moved: the same initial weights on every device
        self.encoder: PixelEncoder | None = (
            None if pixels_shape is None else PixelEncoder(*pixels_shape).to(self.device))
        # what actor and critic read: the state vector (+ the encoder's features)
        self.input_dim = obs_dim + (0 if self.encoder is None else self.encoder.feature_dim)
        self.actor = TanhGaussianActor(self.input_dim, act_dim, cfg.hidden).to(self.device)
        self.critic = self._make_critic().to(self.device)
        self.weight_norm = bool(cfg.weight_norm)  # crossq_wn: unit-norm hidden weights
        if self.weight_norm:  # on the sphere from the start, then after every step
            self.critic.normalize_hidden_()
            self.actor.normalize_hidden_()
        # learner.actor_ema: the averaged actor deterministic actions come from; a copy of
        # the actor at its first update (so a warm start or BC before it is averaged from)
        self.actor_avg: TanhGaussianActor | None = None
        self.critic_target: CriticEnsemble | None = None
        if cfg.target_network:
            self.critic_target = self._make_critic().to(self.device)
            self.critic_target.load_state_dict(self.critic.state_dict())
            self.critic_target.requires_grad_(False)
        self.log_alpha = torch.tensor(float(np.log(cfg.init_temperature)), requires_grad=True,
                                      device=self.device)
        self.target_entropy = (cfg.target_entropy if cfg.target_entropy is not None
                               else -act_dim / 2.0)
        beta1 = cfg.adam_beta1 if cfg.adam_beta1 is not None else 0.9
        # LearnerConfig.__post_init__ fills every recipe default: no learning rate is None
        assert cfg.actor_lr is not None and cfg.critic_lr is not None
        assert cfg.temperature_lr is not None
        self.actor_opt = make_adam(self.actor.parameters(), cfg.actor_lr, beta1, cfg.fused)
        critic_params = itertools.chain(  # the critic's loss trains the encoder
            self.critic.parameters(), () if self.encoder is None else self.encoder.parameters())
        self.critic_opt = make_adam(critic_params, cfg.critic_lr, beta1, cfg.fused)
        self.alpha_opt = make_adam([self.log_alpha], cfg.temperature_lr, 0.9, cfg.fused)
        self.updates = 0  # critic updates so far
        self.actor_updates = 0
        self.last_target_members: torch.Tensor | None = None  # REDQ's subset, last update
        self._actor_info: dict[str, float] = {}
        # an extra actor-loss term per sample, given the sampled actions [B, A] -> [B]
        # (APRL's soft limit: robot_rl.aprl.penalty); None: no term
        self.actor_penalty: Callable[[torch.Tensor], torch.Tensor] | None = None
        # what the losses call; torch.compile wraps the same modules (shared parameters)
        self._critic = torch.compile(self.critic, dynamic=False) if cfg.compile else self.critic
        self._target = (torch.compile(self.critic_target, dynamic=False)
                        if cfg.compile and self.critic_target is not None
                        else self.critic_target)
        self._actor = torch.compile(self.actor, dynamic=False) if cfg.compile else self.actor

    def _make_critic(self) -> CriticEnsemble:
        c = self.cfg
        return CriticEnsemble(self.input_dim, self.act_dim, list(c.critic_hidden or c.hidden),
                              int(c.num_critics or 2), bool(c.critic_layernorm),
                              float(c.critic_dropout or 0.0), bool(c.critic_batchrenorm),
                              c.bn_momentum, c.renorm_warmup, c.renorm_rmax, c.renorm_dmax,
                              0 if self.encoder is None else self.encoder.feature_dim)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def to_device(self, batch: Batch) -> Batch:
        """``batch`` on the learner's device (the same tensors where they are already)."""
        return batch.map(lambda t: t.to(self.device, non_blocking=True))

    def encode(self, state: torch.Tensor, pixels: torch.Tensor | None, augment: bool = True,
               grad: bool = False, autocast: bool = True) -> torch.Tensor:
        """What actor and critic read: ``state`` concatenated with the encoder's features of
        ``pixels`` (uint8 ``[..., C, H, W]``, made float by the encoder, randomly shifted with
        ``augment``; gradients reach the encoder only with ``grad``; bf16 only with
        ``autocast`` and ``precision: bf16``). Without images: ``state``."""
        if self.encoder is None:
            return state
        if pixels is None:
            raise ValueError("this learner sees images: the batch has no pixels")
        x = pixels.to(self.device, non_blocking=True)
        if augment:  # shifted while uint8: the same pixels, a quarter of the bytes to move
            x = random_shift(x)
        cast = self._autocast() if autocast else contextlib.nullcontext()
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()), cast:
            features = self.encoder(x).float()
        return torch.cat([state, features], dim=-1)

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act(self, obs: np.ndarray | dict[str, np.ndarray],
            deterministic: bool = False) -> np.ndarray:
        """An action in [-1, 1] for one observation (or a batch), float32 numpy on the CPU
        whatever the learner's device (in float32: acting never autocasts). With images
        ``obs`` is ``{"state", "pixels"}`` (frames not augmented). ``deterministic`` actions
        come from the averaged actor where ``learner.actor_ema`` keeps one."""
        if isinstance(obs, dict):
            o = torch.as_tensor(obs["state"], dtype=torch.float32, device=self.device)
            pixels = torch.as_tensor(obs["pixels"])
            single = o.dim() == 1
            if single:
                o, pixels = o.unsqueeze(0), pixels.unsqueeze(0)
            o = self.encode(o, pixels, augment=False, autocast=False)
        else:
            o = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
            single = o.dim() == 1
            o = o.unsqueeze(0) if single else o
        if deterministic:
            a = (self.actor_avg if self.actor_avg is not None else self.actor).deterministic(o)
        else:
            a = self.actor.sample(o)[0]
        out = a.cpu().numpy()
        return out[0] if single else out

    # ---------------------------------------------------------------- learning
    def next_actions(self, next_obs: torch.Tensor, noise: torch.Tensor | None = None,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """a' ~ pi(.|s') and log pi(a'|s') without gradient, for any leading dims."""
        with torch.no_grad(), self._autocast():
            mean, log_std = self._actor(next_obs)
        return self.actor.sample_from(mean.float(), log_std.float(), noise)

    def target_members(self) -> torch.Tensor | None:
        """REDQ: a fresh random subset of ``target_subset`` critics (None: all of them)."""
        e = self.critic.ensemble
        m = int(self.cfg.target_subset or e)
        if m >= e:
            return None
        return torch.randperm(e)[:m].to(self.device)  # drawn on the CPU: same on every device

    def critic_loss(self, b: Batch, next_action: torch.Tensor | None = None,
                    next_log_prob: torch.Tensor | None = None, metrics: bool = True,
                    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Soft Bellman error; only ``terminated`` stops bootstrapping (not ``truncated``).

        With target networks the target is min over (a random subset of) the target
        critics. Without (CrossQ) the critic runs once over concat([s, s'], [a, a']) so
        both halves share batch statistics; the (s', a') half, detached, gives the target.

        With images, obs and next_obs are randomly shifted and encoded; the encoder gets
        this loss's gradient through obs only. ``metrics=False`` returns no metrics: each
        ``.item()`` waits for a GPU to finish, so only the last update of a call reads them.
        """
        obs = self.encode(b.obs, b.pixels, grad=True)
        next_obs = self.encode(b.next_obs, b.next_pixels)
        if next_action is None or next_log_prob is None:
            next_action, next_log_prob = self.next_actions(next_obs)
        members = self.last_target_members = self.target_members()
        batch = b.reward.shape[0]
        with self._autocast():
            if self._target is not None:
                with torch.no_grad():
                    next_q = self._target(next_obs, next_action, members).float()
                q = self._critic(obs, b.action).float()  # [E, B]
            else:
                q_all = self._critic(torch.cat([obs, next_obs]),
                                     torch.cat([b.action, next_action])).float()
                q, next_q = q_all[:, :batch], q_all[:, batch:].detach()
                next_q = next_q if members is None else next_q[members]
        with torch.no_grad():
            next_v = next_q.min(dim=0).values - self.alpha * next_log_prob
            target = b.reward + self.cfg.gamma * (1.0 - b.terminated) * next_v
        loss = 0.5 * ((q - target.unsqueeze(0)) ** 2).mean(dim=1).sum()
        if not metrics:
            return loss, {}
        return loss, {"critic_loss": loss.item(), "q_mean": q.mean().item()}

    def actor_loss(self, b: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """E[alpha * log pi(a|s) - Q(s, a)] (+ ``actor_penalty(a)`` if set), a ~ pi
        (reparameterized); Q reduces the critics by mean (DroQ, REDQ) or min (CrossQ);
        batch renorm uses its running statistics. With images the actor and the critic read
        the encoder's features of shifted frames, detached (DrQ: no actor gradient in the
        encoder)."""
        obs = self.encode(b.obs, b.pixels, grad=False)
        with self._autocast():
            mean, log_std = self._actor(obs)
        action, log_prob = self.actor.sample_from(mean.float(), log_std.float())
        with self._autocast():
            qs = self._critic(obs, action, batch_stats=False).float()
        q = qs.min(dim=0).values if self.cfg.actor_q == "min" else qs.mean(dim=0)
        loss = (self.alpha * log_prob - q).mean()
        info = {"actor_loss": loss.item(), "entropy": -log_prob.mean().item()}
        if self.actor_penalty is not None:
            penalty = self.actor_penalty(action).mean()
            loss = loss + penalty
            info["actor_penalty"] = penalty.item()
        return loss, {**info, "_log_prob": log_prob.detach()}

    def temperature_loss(self, log_prob: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Drive the policy entropy toward ``target_entropy``."""
        loss = -(self.log_alpha.exp() * (log_prob + self.target_entropy)).mean()
        return loss, {"temperature_loss": loss.item(), "alpha": self.alpha.item()}

    def update(self, batch: Batch) -> dict[str, float]:
        """k critic updates, with an actor and a temperature update every ``policy_delay``.

        Args:
            batch: k stacked minibatches, tensors shaped ``[k, B, ...]`` (moved to the
                learner's device if they are not there).

        Returns:
            The last critic update's metrics and the latest actor/temperature metrics.
        """
        batch = self.to_device(batch)
        k = batch.reward.shape[0]
        delay = int(self.cfg.policy_delay or self.cfg.utd or k)
        info: dict[str, float] = {}
        i = 0
        while i < k:
            # the actor is fixed until the next actor update: sample a' for all of those
            # critic updates in one pass
            n = min(k - i, delay - self.updates % delay)
            segment = batch.map(lambda t, i=i, n=n: t[i:i + n])  # type: ignore[misc]
            if self.encoder is None:
                next_action, next_log_prob = self.next_actions(segment.next_obs)
                for j in range(n):
                    info = self.critic_step(segment.slice(j), next_action[j],
                                            next_log_prob[j], metrics=i + j == k - 1)
            else:  # a' from each step's own encoding of next_obs (freshly shifted)
                for j in range(n):
                    info = self.critic_step(segment.slice(j), metrics=i + j == k - 1)
            if self.updates % delay == 0:
                self._actor_info = self.actor_step(segment.slice(n - 1))
            i += n
        return {**info, **self._actor_info}

    def critic_step(self, b: Batch, next_action: torch.Tensor | None = None,
                    next_log_prob: torch.Tensor | None = None,
                    metrics: bool = True) -> dict[str, float]:
        """One gradient step of the critics (then, with ``weight_norm``, the projection of
        their hidden weights back to unit norm, and the Polyak step of their targets); its
        metrics unless ``metrics=False`` (see :meth:`critic_loss`)."""
        loss, info = self.critic_loss(b, next_action, next_log_prob, metrics=metrics)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        if self.weight_norm:
            self.critic.normalize_hidden_()
        if self.critic_target is not None:
            self._polyak()
        self.updates += 1
        return info

    def actor_step(self, b: Batch) -> dict[str, float]:
        """One gradient step of the actor (projected like the critics' with
        ``weight_norm``), then one of the temperature."""
        self.critic.requires_grad_(False)  # the actor loss must not move the critics
        try:
            loss, info = self.actor_loss(b)
            self.actor_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.actor_opt.step()
            if self.weight_norm:
                self.actor.normalize_hidden_()
        finally:
            self.critic.requires_grad_(True)
        self._average_actor()
        log_prob = info.pop("_log_prob")
        loss, temp_info = self.temperature_loss(log_prob)  # type: ignore[arg-type]
        self.alpha_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.alpha_opt.step()
        self.actor_updates += 1
        return {**info, **temp_info}

    @torch.no_grad()
    def _average_actor(self) -> None:
        """learner.actor_ema: the averaged actor moves toward the actor (a copy of it at the
        first update)."""
        rate = self.cfg.actor_ema
        if not rate:
            return
        if self.actor_avg is None:
            self.actor_avg = copy.deepcopy(self.actor).requires_grad_(False)
            return
        torch._foreach_lerp_(list(self.actor_avg.parameters()), list(self.actor.parameters()),
                             rate)

    @torch.no_grad()
    def _polyak(self) -> None:
        assert self.critic_target is not None
        params: list[torch.Tensor] = list(self.critic.parameters())
        targets: list[torch.Tensor] = list(self.critic_target.parameters())
        torch._foreach_lerp_(targets, params, self.cfg.tau)

    # ------------------------------------------------------------- save/load
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (networks, optimizers, RNG, counters); tensors
        on the learner's device (load with ``map_location``: ``device.load_agent_state``)."""
        state = {
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
            "alpha_opt": self.alpha_opt.state_dict(), "updates": self.updates,
            "actor_updates": self.actor_updates, "actor_info": dict(self._actor_info),
            "torch_rng": torch.get_rng_state(),
        }
        if self.critic_target is not None:
            state["critic_target"] = self.critic_target.state_dict()
        if self.encoder is not None:
            state["encoder"] = self.encoder.state_dict()
        if self.actor_avg is not None:
            state["actor_avg"] = self.actor_avg.state_dict()
        if self.device.type == "cuda":  # acting and dropout draw on the GPU's generator
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state["actor"])
        self.actor_avg = None  # a checkpoint without one (or actor_ema off): from the next update
        if self.cfg.actor_ema and "actor_avg" in state:
            self.actor_avg = copy.deepcopy(self.actor).requires_grad_(False)
            self.actor_avg.load_state_dict(state["actor_avg"])
        self.critic.load_state_dict(state["critic"])
        if self.critic_target is not None:
            self.critic_target.load_state_dict(state["critic_target"])
        if self.encoder is not None:
            self.encoder.load_state_dict(state["encoder"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.alpha_opt.load_state_dict(state["alpha_opt"])
        self.updates = int(state["updates"])
        self.actor_updates = int(state.get("actor_updates", 0))
        self._actor_info = dict(state.get("actor_info", {}))
        torch.set_rng_state(state["torch_rng"].cpu())  # map_location may have moved it
        if self.device.type == "cuda" and "cuda_rng" in state:  # saved on a GPU
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)

    def policy_arrays(self) -> dict[str, np.ndarray]:
        """The actor's weights as CPU numpy arrays (for shipping to actors; with images the
        encoder's are :meth:`encoder_arrays`)."""
        return _arrays(self.actor)

    def encoder_arrays(self) -> dict[str, np.ndarray] | None:
        """The image encoder's weights as CPU numpy arrays (what an actor needs beside
        :meth:`policy_arrays` to act on images); None without images."""
        return None if self.encoder is None else _arrays(self.encoder)


def _arrays(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """``module``'s state dict as CPU numpy copies."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
