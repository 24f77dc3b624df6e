"""APRL: adaptive joint limits on the actor, gated by a learned dynamics model.

Actor side (numpy only): :class:`AprlGate` (or its parts :class:`AdaptiveLimits`,
:func:`map_action`, :class:`DynamicsPredictor`, :class:`SurpriseMonitor`).
Learner side (torch): :class:`DynamicsEnsemble`, :class:`DynamicsTrainer`, :func:`actor_penalty`.
The torch modules are imported lazily so the actor never needs torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from robot_rl.aprl.actor_side import AprlGate, GateCommand, GateInfo
from robot_rl.aprl.config import AprlConfig, DynamicsConfig
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
    from robot_rl.aprl.dynamics import DynamicsEnsemble, DynamicsTrainer
    from robot_rl.aprl.penalty import actor_penalty, aprl_penalty, penalty_active

_TORCH = {
    "DynamicsEnsemble": "robot_rl.aprl.dynamics",
    "DynamicsTrainer": "robot_rl.aprl.dynamics",
    "aprl_penalty": "robot_rl.aprl.penalty",
    "actor_penalty": "robot_rl.aprl.penalty",
    "penalty_active": "robot_rl.aprl.penalty",
}

__all__ = [
    "AdaptiveLimits", "AprlConfig", "AprlGate", "DynamicsConfig", "DynamicsPredictor",
    "GateCommand", "GateInfo", "JointBox", "ShrinkEvent", "SurpriseInfo", "SurpriseMonitor",
    "effective_action", "map_action",
    # from _TORCH, imported on first use
    "DynamicsEnsemble", "DynamicsTrainer", "actor_penalty", "aprl_penalty", "penalty_active",
]


def __getattr__(name: str) -> Any:
    if name in _TORCH:
        import importlib

        return getattr(importlib.import_module(_TORCH[name]), name)
    raise AttributeError(f"module 'robot_rl.aprl' has no attribute {name!r}")
