"""Policy weights as named numpy arrays, and the actor-side policy that loads them.

What the learner publishes (one ``w`` message of the transport)::

    arrays  "policy/<parameter>"   the actor network's state dict, float32 numpy arrays
            "<group>/<parameter>"  later also e.g. "dynamics/..." (APRL's dynamics model)
    meta    {"policy": {"obs_dim": int, "act_dim": int, "hidden": [int, ...]},
             "state": {...}}        a slot for small msgpack-native state (e.g. the APRL limit)

Usage::

    # learner                                            # actor
    arrays, meta = pack_weights(                         w = unpack_weights(up.arrays, up.meta)
        {"policy": agent.policy_arrays()},               policy = ActorPolicy(w.spec)
        policy_spec(agent.obs_dim, agent.act_dim, hid))  policy.load(w.groups["policy"])
    server.publish_weights(version, arrays, meta)        action = policy.act(obs)

Nothing here unpickles: arrays come from the wire as raw buffers and are copied into a
network built from the three numbers and the list in ``meta["policy"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robot_rl.sac.networks import TanhGaussianActor

POLICY = "policy"
_SEP = "/"


class WeightsError(ValueError):
    """Weights that do not fit the policy they are meant for (names, shapes, dtypes, meta)."""


@dataclass(frozen=True)
class PolicySpec:
    """The shape of the actor network: enough to build it on the actor side."""

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...]

    def to_meta(self) -> dict[str, Any]:
        return {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "hidden": list(self.hidden)}

    @classmethod
    def from_meta(cls, meta: Any) -> PolicySpec:
        """Parses ``meta["policy"]`` of a weights message; raises :class:`WeightsError`."""
        try:
            spec = cls(int(meta["obs_dim"]), int(meta["act_dim"]),
                       tuple(int(h) for h in meta["hidden"]))
        except (KeyError, TypeError, ValueError) as err:
            raise WeightsError(f"weights meta 'policy': expected obs_dim, act_dim, hidden "
                               f"({err!r})") from None
        if spec.obs_dim < 1 or spec.act_dim < 1 or not all(0 < h <= 65536 for h in spec.hidden):
            raise WeightsError(f"weights meta 'policy': bad sizes {spec}")
        return spec


def policy_spec(obs_dim: int, act_dim: int, hidden: list[int] | tuple[int, ...]) -> PolicySpec:
    """The :class:`PolicySpec` of a SAC actor (``cfg.learner.hidden``)."""
    return PolicySpec(int(obs_dim), int(act_dim), tuple(int(h) for h in hidden))


@dataclass
class Weights:
    """Unpacked weights: arrays grouped by prefix, the policy spec and the state slot."""

    spec: PolicySpec
    groups: dict[str, dict[str, np.ndarray]]
    state: dict[str, Any] = field(default_factory=dict)


def pack_weights(groups: Mapping[str, Mapping[str, np.ndarray]], spec: PolicySpec,
                 state: Mapping[str, Any] | None = None,
                 ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Flattens named array groups into ``"group/name"`` arrays plus the message meta.

    Args:
        groups: e.g. ``{"policy": agent.policy_arrays()}``; must contain ``"policy"``.
        spec: the policy's sizes.
        state: msgpack-native extras for the actors (the APRL limit state, later).

    Returns:
        ``(arrays, meta)`` for :meth:`LearnerServer.publish_weights`.
    """
    if POLICY not in groups:
        raise WeightsError("weights: the 'policy' group is required")
    arrays: dict[str, np.ndarray] = {}
    for group, named in groups.items():
        if not group or _SEP in group:
            raise WeightsError(f"weights group {group!r}: expected a name without '/'")
        for name, value in named.items():
            arrays[f"{group}{_SEP}{name}"] = np.ascontiguousarray(value)
    return arrays, {POLICY: spec.to_meta(), "state": dict(state or {})}


def unpack_weights(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Weights:
    """Inverse of :func:`pack_weights`; raises :class:`WeightsError` on malformed input."""
    spec = PolicySpec.from_meta(meta.get(POLICY))
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        group, sep, name = key.partition(_SEP)
        if not sep or not group or not name:
            raise WeightsError(f"weights array {key!r}: expected 'group/name'")
        groups.setdefault(group, {})[name] = value
    if POLICY not in groups:
        raise WeightsError("weights: no 'policy/...' arrays")
    state = meta.get("state", {})
    if not isinstance(state, Mapping):
        raise WeightsError("weights meta 'state': expected a map")
    return Weights(spec, groups, dict(state))


class ActorPolicy:
    """The actor's copy of the SAC policy (a tanh-Gaussian MLP), loaded from numpy arrays.

    Args:
        spec: the network's sizes (from the weights message).
        seed: seeds the exploration noise.
    """

    def __init__(self, spec: PolicySpec, seed: int = 0) -> None:
        self.spec = spec
        self.net = TanhGaussianActor(spec.obs_dim, spec.act_dim, list(spec.hidden))
        self.net.requires_grad_(False)
        self._expected = {k: (tuple(v.shape), v.dtype) for k, v in self.net.state_dict().items()}
        self._gen = torch.Generator().manual_seed(seed)

    def load(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Copies the ``policy`` group's arrays into the network (all names, exact shapes)."""
        names, expected = set(arrays), set(self._expected)
        if names != expected:
            missing, extra = sorted(expected - names), sorted(names - expected)
            raise WeightsError(f"policy weights: missing {missing}, unexpected {extra}")
        state = {}
        for name, (shape, dtype) in self._expected.items():
            value = np.asarray(arrays[name])
            if value.shape != shape or value.dtype.kind != "f":
                raise WeightsError(f"policy weights {name!r}: expected float {list(shape)}, "
                                   f"got {value.dtype} {list(value.shape)}")
            if not np.all(np.isfinite(value)):
                raise WeightsError(f"policy weights {name!r}: not finite")
            state[name] = torch.tensor(value, dtype=dtype)  # a copy: wire buffers are views
        self.net.load_state_dict(state, strict=True)

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """An action in [-1, 1] for one observation: sampled (exploring) or the mode."""
        o = torch.as_tensor(np.asarray(obs, np.float32)).unsqueeze(0)
        if deterministic:
            return self.net.deterministic(o)[0].numpy()
        mean, log_std = self.net(o)
        noise = torch.randn(mean.shape, generator=self._gen)
        return self.net.sample_from(mean, log_std, noise)[0][0].numpy()
