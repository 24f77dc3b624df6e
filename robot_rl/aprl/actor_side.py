"""APRL on the actor: limits, the shipped dynamics predictor and the surprise monitor together.

The per-step integration point (no torch needed)::

    gate = AprlGate(cfg.aprl, JointBox.create(nominal, half_range, lower, upper), obs_dim)
    while running:
        if new_weights:                          # policy + dynamics, one version tag
            gate.set_model(weights.dynamics, weights.version)
        a = policy(obs)
        cmd = gate.begin_step(obs, a)            # cmd.targets within hard limits
        send(safety(cmd.targets))
        next_obs, fell, reset = observe()
        info = gate.end_step(None if reset else next_obs, fell=fell)
        store(obs, cmd.action, ...)              # the applied normalized action
        log(info.metrics())                      # L, surprise, shrink events
        obs = next_obs

``end_step(None)`` says "no comparable next observation" (an episode reset): the ramp still
advances but the step is not scored. A fall shrinks L (``shrink_on_fall``) and is not scored.
Before the first model arrives, L follows its schedule and falls alone shrink it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from robot_rl.aprl.config import AprlConfig
from robot_rl.aprl.limits import (
    AdaptiveLimits,
    JointBox,
    ShrinkEvent,
    effective_action,
    map_action,
)
from robot_rl.aprl.predictor import DynamicsPredictor
from robot_rl.aprl.surprise import SurpriseInfo, SurpriseMonitor

if TYPE_CHECKING:
    from robot_rl.aprl.settings import AprlSettings
    from robot_rl.config import RobotConfig


class GateCommand(NamedTuple):
    """What :meth:`AprlGate.begin_step` decided."""

    targets: np.ndarray  # joint position targets, inside the hard limits
    action: np.ndarray  # applied normalized action (store it; the model is fed it)
    L: np.ndarray  # per-joint limit used


class GateInfo(NamedTuple):
    """What :meth:`AprlGate.end_step` saw and did."""

    L: np.ndarray  # per-joint limit after this step
    group_L: np.ndarray  # limit per group
    surprise: SurpriseInfo | None  # None when the step was not scored
    event: ShrinkEvent | None  # the shrink made at this step, if any
    n_shrinks: int
    model_version: int | None

    def metrics(self) -> dict[str, float]:
        """Flat scalar metrics (keys under ``aprl/``); unavailable ones are omitted."""
        out = {"aprl/L": float(np.mean(self.L)), "aprl/n_shrinks": float(self.n_shrinks),
               "aprl/shrink": float(self.event is not None)}
        if len(self.group_L) > 1:
            out.update({f"aprl/L_group{g}": float(v) for g, v in enumerate(self.group_L)})
        if self.event is not None:
            out[f"aprl/shrink_{self.event.reason}"] = 1.0
        s = self.surprise
        if s is not None:
            values = {
                "aprl/model_mse": s.mse, "aprl/error": s.error, "aprl/surprise": s.surprise_z,
                "aprl/disagreement": s.disagreement, "aprl/disagreement_z": s.disagreement_z,
                "aprl/triggered": float(s.triggered), "aprl/cooldown": float(s.cooldown),
            }
            out.update({k: float(v) for k, v in values.items() if math.isfinite(v)})
        if self.model_version is not None:
            out["aprl/model_version"] = float(self.model_version)
        return out


class AprlGate:
    """Per-step APRL logic for one actor: see the module docstring for the loop."""

    def __init__(self, cfg: AprlConfig, box: JointBox, obs_dim: int | None = None) -> None:
        cfg.check_robot(len(box.nominal), obs_dim)
        self.cfg, self.box, self.obs_dim = cfg, box, obs_dim
        self.limits = AdaptiveLimits(cfg, len(box.nominal))
        self.monitor = SurpriseMonitor(cfg)
        self.predictor: DynamicsPredictor | None = None
        self.model_version: int | None = None
        self._dims = None if cfg.surprise_dims is None else np.array(cfg.surprise_dims)
        self._pending: tuple[DynamicsPredictor, np.ndarray, np.ndarray, np.ndarray] | None = None

    def set_model(self, arrays: Mapping[str, np.ndarray] | None,
                  version: int | None = None) -> None:
        """Install shipped dynamics weights (``DynamicsEnsemble.export_numpy()``); None removes.

        Raises:
            ValueError: the arrays are malformed or do not match the observation/action size.
        """
        if arrays is None:
            self.predictor, self.model_version = None, None
            return
        predictor = DynamicsPredictor.from_arrays(arrays)
        if self.obs_dim is not None and predictor.obs_dim != self.obs_dim:
            raise ValueError(f"dynamics model obs_dim {predictor.obs_dim} != {self.obs_dim}")
        if predictor.act_dim != len(self.box.nominal):
            raise ValueError(f"dynamics model act_dim {predictor.act_dim} != "
                             f"{len(self.box.nominal)} joints")
        if self._dims is not None and self._dims.max() >= predictor.obs_dim:
            raise ValueError("surprise_dims index past the model's observation")
        self.predictor, self.model_version = predictor, version

    def begin_step(self, obs: np.ndarray, action: np.ndarray) -> GateCommand:
        """Apply L to the policy's action and remember the model's prediction for this step."""
        L = self.limits.L
        applied = effective_action(action, L, self.cfg.action_mode)
        targets = map_action(applied, 1.0, *self.box, mode="clip")
        self._pending = None
        if self.predictor is not None:
            obs = np.asarray(obs, dtype=np.float32)
            mean, members = self.predictor.predict(obs, applied)
            self._pending = (self.predictor, obs, mean, members)
        return GateCommand(targets, applied, L)

    def end_step(self, next_obs: np.ndarray | None, fell: bool = False) -> GateInfo:
        """Score the step, shrink L on surprise or a fall, and advance the ramp one step."""
        pending, self._pending = self._pending, None
        event: ShrinkEvent | None = None
        info: SurpriseInfo | None = None
        if fell:  # not scored: the model is not meant to predict a fall
            if self.cfg.shrink_on_fall:
                event = self.limits.shrink("fall")
                self.monitor.start_cooldown()
        elif pending is not None and next_obs is not None:
            predictor, obs, mean, members = pending
            observed = predictor.normalize_delta(obs, next_obs)
            if self._dims is not None:
                d = self._dims
                mean, members, observed = mean[d], members[:, d], observed[d]
            info = self.monitor.update(mean, members, observed)
            if info.triggered:
                event = self.limits.shrink("surprise")
        L = self.limits.step()
        return GateInfo(L, self.limits.group_L, info, event, self.limits.n_shrinks,
                        self.model_version)

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python state of limits and monitor (the model comes from the learner)."""
        return {"limits": self.limits.state_dict(), "monitor": self.monitor.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.limits.load_state_dict(state["limits"])
        self.monitor.load_state_dict(state["monitor"])


def joint_box(cfg: RobotConfig, range_factor: float = 1.0) -> JointBox:
    """Nominal pose, half range at ``|a| = 1`` (``range_factor * action_scale``), hard limits."""
    r = cfg.robot
    return JointBox.create(r.nominal, range_factor * np.asarray(r.action_scale, np.float64),
                           r.position_lower, r.position_upper)


def make_gate(cfg: RobotConfig, settings: AprlSettings, obs_dim: int) -> AprlGate:
    """The actor-side gate for a robot config's ``aprl`` settings."""
    return AprlGate(settings.config, joint_box(cfg, settings.range_factor), obs_dim)
