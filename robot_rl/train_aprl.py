"""APRL wired into training: the gate on every control step, the dynamics model on the learner.

Embedded loop (``robot-rl train`` with an active ``aprl:`` section; docs/aprl.md)::

    env, agent, buffer = session.build(cfg, seed)      # AprlEnv and AprlAgent
    trainer = AprlTrainer(env, agent, buffer, cfg.learner, seed=seed, run=run)
    trainer.train(steps)

- :class:`AprlEnv` (actor side, numpy): every ``step(a)`` asks the gate for the applied action
  ``cmd = gate.begin_step(obs, a)``, sends it to the robot (whose ``limit`` is the config's
  ``range_factor``, so targets are ``nominal + range_factor * action_scale * cmd.action``,
  clamped by the safety filter), then ``gate.end_step(next_obs, fell)`` scores the step and
  shrinks L on surprise or a fall. ``info["applied_action"]`` and ``info["aprl"]`` (a
  :class:`GateInfo`) carry what happened.
- :class:`AprlAgent` (learner side, torch): the SAC update, whose actor loss carries the APRL
  penalty at the gate's current L, then one dynamics update per actor update on the same
  minibatches; every ``sync_every`` dynamics updates the gate gets the new weights, tagged
  with the actor-update count (the version the policy would ship with).
- :class:`AprlTrainer`: the embedded :class:`~robot_rl.train.Trainer` storing the applied
  action and logging ``aprl`` rows (L, surprise) and one ``aprl_shrink`` row per shrink.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robot_rl.aprl.actor_side import AprlGate, GateInfo, make_gate
from robot_rl.aprl.config import AprlConfig
from robot_rl.aprl.dynamics import DynamicsEnsemble, DynamicsTrainer
from robot_rl.aprl.penalty import actor_penalty
from robot_rl.aprl.settings import AprlSettings
from robot_rl.config import LearnerConfig, RobotConfig
from robot_rl.runs import RunDir
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.sac.buffer import Batch
from robot_rl.train import Trainer

SHRINK_REASONS = {"surprise": 1.0, "fall": 2.0}  # the ``reason`` code of ``aprl_shrink`` rows


class AprlEnv(gym.Wrapper):
    """A :class:`~robot_rl.envs.RobotEnv` whose control step runs the APRL gate.

    The gate is attached to the environment's :class:`~robot_rl.control.ControlStep` (the
    one control step of every mode), which asks it for the applied action at each step and
    scores the step with the state that followed. Actions are the policy's normalized actions
    in [-1, 1]; what reaches the robot is the gate's action (inside ``[-L, L]`` in clip mode),
    mapped with the limit ``range_factor``. ``info["applied_action"]`` and ``info["aprl"]`` (a
    :class:`GateInfo`) carry what happened. Other attributes (``cfg``, ``robot``, ``safety``,
    ...) are the wrapped environment's.
    """

    def __init__(self, env: Any, gate: AprlGate, range_factor: float = 1.0) -> None:
        super().__init__(env)
        self.gate = gate
        env.control.attach_gate(gate, range_factor)
        self.last_info: GateInfo | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.last_info = info.get("aprl", self.last_info)
        return obs, float(reward), bool(terminated), bool(truncated), info


class AprlAgent:
    """SAC plus the dynamics ensemble: the ``agent`` of the embedded trainer under APRL.

    Args:
        sac: the SAC learner; its ``actor_penalty`` is set to the APRL penalty.
        cfg: APRL settings (penalty, dynamics model).
        gate: the gate whose L the penalty uses and which receives the model (None: the
            caller ships :meth:`dynamics_arrays` itself and sets :attr:`limit`).
        seed: seeds the dynamics model's bootstrap resampling.
        sync_every: dynamics updates between two model hand-overs to the gate.

    Anything else (``actor_updates``, ``policy_arrays``, ...) is the SAC learner's.
    """

    def __init__(self, sac: SAC, cfg: AprlConfig, gate: AprlGate | None = None, seed: int = 0,
                 sync_every: int = 100) -> None:
        self.sac, self.cfg, self.gate, self.sync_every = sac, cfg, gate, sync_every
        with torch.random.fork_rng():  # seeded init without moving SAC's random stream
            torch.manual_seed(seed)
            model = DynamicsEnsemble.from_config(sac.obs_dim, sac.act_dim, cfg.dynamics)
        self.model = model.to(sac.device)  # trains where SAC does (learner.device)
        self.dynamics = DynamicsTrainer(self.model, cfg.dynamics, seed=seed)
        # L for the penalty when there is no gate in this process (distributed learner)
        self.limit = np.ones(sac.act_dim) if gate is None else gate.limits.L
        self.synced_at = 0  # dynamics updates at the last hand-over
        self._dyn_info: dict[str, float] = {}
        sac.actor_penalty = self._penalty

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "sac":
            raise AttributeError(name)
        return getattr(self.sac, name)

    @property
    def current_limit(self) -> np.ndarray:
        """Per-joint L the actor loss keeps the policy inside."""
        return self.gate.limits.L if self.gate is not None else np.asarray(self.limit)

    def _penalty(self, actions: torch.Tensor) -> torch.Tensor:
        return actor_penalty(self.cfg, actions, torch.as_tensor(self.current_limit))

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """The SAC policy's action (the gate limits it on the way to the robot)."""
        return self.sac.act(obs, deterministic)

    def update(self, batch: Batch) -> dict[str, float]:
        """SAC's update, then ``updates_per_actor_update`` dynamics steps per actor step.

        The dynamics model trains on the same minibatches (the last ones of ``batch``); the
        stored action is the applied one, which is what the model is fed on the actor.
        """
        batch = self.sac.to_device(batch)  # once, for SAC and the dynamics model
        before = self.sac.actor_updates
        info = self.sac.update(batch)
        n = (self.sac.actor_updates - before) * self.cfg.dynamics.updates_per_actor_update
        k = batch.reward.shape[0]
        for i in range(n):
            b = batch.slice(k - 1 - i % k)
            self._dyn_info = self.dynamics.update(b.obs, b.action, b.next_obs)
        if self.dynamics.n_updates - self.synced_at >= self.sync_every:
            self.sync()
        return {**info, **self._dyn_info}

    @property
    def model_version(self) -> int:
        """The tag of the current dynamics weights: the SAC actor-update count."""
        return int(self.sac.actor_updates)

    def dynamics_arrays(self) -> dict[str, np.ndarray]:
        """The dynamics weights for the actor (``DynamicsEnsemble.export_numpy``)."""
        return self.model.export_numpy()

    def sync(self) -> None:
        """Hand the current dynamics weights to the gate (if any)."""
        self.synced_at = self.dynamics.n_updates
        if self.gate is not None and self.dynamics.n_updates > 0:
            self.gate.set_model(self.dynamics_arrays(), self.model_version)

    def state_dict(self) -> dict[str, Any]:
        """SAC's state plus ``"aprl"``: dynamics trainer, gate (limits, monitor), sync count."""
        aprl: dict[str, Any] = {"dynamics": self.dynamics.state_dict(),
                                "synced_at": self.synced_at,
                                "limit": [float(x) for x in np.ravel(self.limit)]}
        if self.gate is not None:
            aprl["gate"] = self.gate.state_dict()
        return {**self.sac.state_dict(), "aprl": aprl}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (a plain SAC state leaves the APRL parts alone)."""
        self.sac.load_state_dict(state)
        aprl = state.get("aprl")
        if aprl is None:
            return
        self.dynamics.load_state_dict(aprl["dynamics"])
        self.limit = np.asarray(aprl["limit"], dtype=np.float64)
        if self.gate is not None and "gate" in aprl:
            self.gate.load_state_dict(aprl["gate"])
        self.sync()
        self.synced_at = int(aprl["synced_at"])


class AprlTrainer(Trainer):
    """The embedded trainer under APRL: stores applied actions, logs L, surprise and shrinks.

    Rows in ``metrics.jsonl`` (and TensorBoard): ``aprl`` every ``aprl_log_every`` steps with
    ``L`` (mean over joints), ``surprise`` (the z-score of the last step), ``surprise_max``
    (over the interval), ``error``, ``model_mse``, ``n_shrinks``, ``triggered`` (monitor
    firings in the interval) and ``model_version``; ``aprl_shrink`` at every shrink with
    ``reason`` (1 surprise, 2 fall), ``L_before``, ``L_after`` and ``surprise``.
    """

    def __init__(self, env: AprlEnv, agent: AprlAgent, buffer: ReplayBuffer, cfg: LearnerConfig,
                 seed: int = 0, run: RunDir | None = None, log_every: int = 100,
                 checkpoint_every: int = 1000, progress: bool = True,
                 aprl_log_every: int = 10) -> None:
        super().__init__(env, agent, buffer, cfg, seed=seed, run=run,  # type: ignore[arg-type]
                         log_every=log_every, checkpoint_every=checkpoint_every,
                         progress=progress)
        self.aprl_log_every = aprl_log_every
        self.falls = 0  # terminated episodes (tilt or fall), as the gate counts them
        self._window: list[GateInfo] = []

    def _random_action(self) -> np.ndarray:
        """Warm-up actions uniform in [-L, L]: clipping uniform [-1, 1] to the box would put
        most of them on its faces (3/4 of them per joint at L = 0.25), a bang-bang gait that
        falls more often than the same box sampled evenly."""
        L = self.env.gate.limits.L  # type: ignore[attr-defined]
        return (super()._random_action() * L).astype(np.float32)

    def _store(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
               terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
        applied = info.get("applied_action", action)
        self.buffer.add(obs, applied, reward, next_obs, terminated, truncated)
        self.falls += int(bool(terminated))
        gate_info = info.get("aprl")
        if gate_info is not None:
            self._log_aprl(self.step + 1, gate_info)  # the base class counts the step after

    def _log_aprl(self, step: int, g: GateInfo) -> None:
        self._window.append(g)
        if self.logger is not None and g.event is not None:
            z = g.surprise.surprise_z if g.surprise is not None else math.nan
            self.logger.log(step, "aprl_shrink", {
                "reason": SHRINK_REASONS.get(g.event.reason, 0.0),
                "L_before": float(np.mean(g.event.before)),
                "L_after": float(np.mean(g.event.after)), "surprise": z})
        if step % self.aprl_log_every and g.event is None:
            return
        window, self._window = self._window, []
        if self.logger is None:
            return
        scored = [w.surprise for w in window if w.surprise is not None]
        row = {k: v for k, v in g.metrics().items()
               if k in ("aprl/L", "aprl/n_shrinks", "aprl/model_version")}
        row = {k.removeprefix("aprl/"): v for k, v in row.items()}
        if scored:
            row.update(surprise=scored[-1].surprise_z,
                       surprise_max=max(s.surprise_z for s in scored),
                       error=float(np.mean([s.error for s in scored])),
                       model_mse=float(np.mean([s.mse for s in scored])),
                       triggered=float(sum(s.triggered for s in scored)))
        self.logger.log(step, "aprl", row)


def active_settings(cfg: RobotConfig) -> AprlSettings | None:
    """``cfg``'s aprl settings when the section exists and is active, else None."""
    settings = cfg.aprl_settings()
    return settings if settings is not None and settings.active else None


def aprl_learner(cfg: RobotConfig, sac: SAC, settings: AprlSettings, seed: int = 0,
                 gate: AprlGate | None = None) -> AprlAgent:
    """The learner side: SAC with the penalty and the dynamics model (:class:`AprlAgent`).

    Unless ``learner.target_entropy`` is set, the SAC target entropy becomes ``-|A|`` (APRL's
    published -12 for 12 joints): the default ``-|A|/2`` is more than a policy kept inside
    ``[-L, L]`` can have at small L (a uniform box of half-width 0.25 has ``|A| ln 0.5``), so
    the temperature and the limit penalty would pull against each other.
    """
    if cfg.learner.target_entropy is None:
        sac.target_entropy = -float(sac.act_dim)
    return AprlAgent(sac, settings.config, gate, seed=seed)


def actor_env(cfg: RobotConfig, env: Any) -> Any:
    """The actor side: ``env`` behind a gate when ``cfg`` has an active aprl section."""
    settings = active_settings(cfg)
    if settings is None:
        return env
    gate = make_gate(cfg, settings, int(env.observation_space.shape[0]))
    return AprlEnv(env, gate, settings.range_factor)


def attach_aprl(cfg: RobotConfig, env: Any, agent: SAC, seed: int = 0,
                settings: AprlSettings | None = None) -> tuple[AprlEnv, AprlAgent]:
    """Both sides in one process (embedded training): the gate wraps ``env``, the dynamics
    model joins ``agent`` (see :func:`aprl_learner`); ``settings``: cfg's by default.

    Raises:
        ValueError: the config has no ``aprl`` section.
    """
    settings = settings or cfg.aprl_settings()
    if settings is None:
        raise ValueError("the config has no aprl section")
    gate = make_gate(cfg, settings, int(env.observation_space.shape[0]))
    return (AprlEnv(env, gate, settings.range_factor),
            aprl_learner(cfg, agent, settings, seed, gate))
