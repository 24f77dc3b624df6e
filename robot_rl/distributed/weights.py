"""Policy weights as named numpy arrays, and the actor-side policy that loads them.

What the learner publishes (one ``w`` message of the transport)::

    arrays  "policy/<parameter>"   the actor network's state dict, float32 numpy arrays
            "encoder/<parameter>"  with images: the image encoder's state dict
            "<group>/<parameter>"  others, e.g. "dynamics/..." (APRL's dynamics model)
    meta    {"policy": {"obs_dim": int, "act_dim": int, "hidden": [int, ...],
                        "pixels": [C, H, W]},    # only with images (observation.images)
             "state": {...}}        a slot for small msgpack-native state (e.g. the APRL limit)

Usage::

    # learner (with images also groups["encoder"] = agent.encoder_arrays())
    groups = {"policy": agent.policy_arrays()}
    spec = policy_spec(agent.obs_dim, agent.act_dim, hidden, agent.pixels_shape)
    server.publish_weights(version, *pack_weights(groups, spec))
    # actor
    w = unpack_weights(update.arrays, update.meta)
    policy = ActorPolicy(w.spec)
    policy.load(w.groups)
    action = policy.act(obs)        # obs: the vector, or {"state", "pixels"} with images

Nothing here unpickles: arrays come from the wire as raw buffers and are copied into networks
built from the numbers and lists in ``meta["policy"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robot_rl.config.cameras import MAX_IMAGE_SIDE, MIN_POLICY_IMAGE_SIDE
from robot_rl.config.schema import MAX_FRAME_STACK
from robot_rl.sac.encoder import PixelEncoder
from robot_rl.sac.networks import TanhGaussianActor

POLICY = "policy"
ENCODER = "encoder"
_SEP = "/"
_MAX_PIXEL_CHANNELS = 3 * MAX_FRAME_STACK * 16  # frames x cameras x RGB: 16 cameras is plenty


class WeightsError(ValueError):
    """Weights that do not fit the policy they are meant for (names, shapes, dtypes, meta)."""


@dataclass(frozen=True)
class PolicySpec:
    """The shape of the actor network (and of its image encoder): enough to build it on the
    actor side.

    Attributes:
        obs_dim: size of the state vector.
        act_dim: action size.
        hidden: the actor MLP's hidden sizes.
        pixels: ``(C, H, W)`` of the stacked uint8 frames the policy also sees (its encoder
            then comes in the ``encoder`` group); None: no images.
    """

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...]
    pixels: tuple[int, int, int] | None = None

    def to_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"obs_dim": self.obs_dim, "act_dim": self.act_dim,
                                "hidden": list(self.hidden)}
        if self.pixels is not None:
            meta["pixels"] = list(self.pixels)
        return meta

    @classmethod
    def from_meta(cls, meta: Any) -> PolicySpec:
        """Parses ``meta["policy"]`` of a weights message; raises :class:`WeightsError`."""
        try:
            pixels = meta.get("pixels")
            spec = cls(int(meta["obs_dim"]), int(meta["act_dim"]),
                       tuple(int(h) for h in meta["hidden"]),
                       None if pixels is None else _three_ints(pixels))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise WeightsError(f"weights meta 'policy': expected obs_dim, act_dim, hidden "
                               f"and optionally pixels [C, H, W] ({err!r})") from None
        if spec.obs_dim < 1 or spec.act_dim < 1 or not all(0 < h <= 65536 for h in spec.hidden):
            raise WeightsError(f"weights meta 'policy': bad sizes {spec}")
        if spec.pixels is not None:
            c, h, w = spec.pixels
            if not (0 < c <= _MAX_PIXEL_CHANNELS and c % 3 == 0
                    and MIN_POLICY_IMAGE_SIDE <= min(h, w) and max(h, w) <= MAX_IMAGE_SIDE):
                raise WeightsError(f"weights meta 'policy': pixels {list(spec.pixels)}: "
                                   f"expected [C, H, W] with C a multiple of 3 in [3, "
                                   f"{_MAX_PIXEL_CHANNELS}] and sides in "
                                   f"[{MIN_POLICY_IMAGE_SIDE}, {MAX_IMAGE_SIDE}] px")
        return spec


def _three_ints(value: Any) -> tuple[int, int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"pixels: expected three ints, got {value!r}"[:120])
    return int(value[0]), int(value[1]), int(value[2])


def policy_spec(obs_dim: int, act_dim: int, hidden: list[int] | tuple[int, ...],
                pixels: tuple[int, int, int] | None = None) -> PolicySpec:
    """The :class:`PolicySpec` of a SAC actor (``cfg.learner.hidden``; ``pixels`` the
    agent's ``pixels_shape``)."""
    return PolicySpec(int(obs_dim), int(act_dim), tuple(int(h) for h in hidden),
                      None if pixels is None else _three_ints([int(v) for v in pixels]))


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
    """The actor's copy of the SAC policy (a tanh-Gaussian MLP, behind the image encoder when
    the spec has pixels), loaded from numpy arrays.

    Args:
        spec: the networks' sizes (from the weights message).
        seed: seeds the exploration noise.
    """

    def __init__(self, spec: PolicySpec, seed: int = 0) -> None:
        self.spec = spec
        self.encoder = None if spec.pixels is None else PixelEncoder(*spec.pixels)
        features = 0 if self.encoder is None else self.encoder.feature_dim
        self.net = TanhGaussianActor(spec.obs_dim + features, spec.act_dim, list(spec.hidden))
        self._nets: dict[str, torch.nn.Module] = {POLICY: self.net}
        if self.encoder is not None:
            self._nets[ENCODER] = self.encoder
        for net in self._nets.values():
            net.requires_grad_(False)
        self._gen = torch.Generator().manual_seed(seed)

    def load(self, groups: Mapping[str, Mapping[str, np.ndarray]]) -> None:
        """Copies the ``policy`` group's arrays (and, with pixels, the ``encoder`` group's)
        into the networks: all names, exact shapes, finite floats; other groups (e.g.
        ``dynamics``) are not this policy's and are left alone. Nothing is loaded unless
        everything fits.

        Raises:
            WeightsError: a group is missing or does not fit.
        """
        states = {}
        for group, net in self._nets.items():
            arrays = groups.get(group)
            if arrays is None:
                raise WeightsError(f"weights: no '{group}/...' arrays")
            states[group] = _checked_state(group, arrays, net.state_dict())
        for group, net in self._nets.items():
            net.load_state_dict(states[group], strict=True)

    @torch.no_grad()
    def act(self, obs: np.ndarray | Mapping[str, np.ndarray],
            deterministic: bool = False) -> np.ndarray:
        """An action in [-1, 1] for one observation (the vector, or with pixels ``{"state",
        "pixels"}``, the frames uint8 and not augmented, as the learner's ``SAC.act`` reads
        them): sampled (exploring) or the mode."""
        if isinstance(obs, Mapping):
            o = torch.as_tensor(np.asarray(obs["state"], np.float32)).unsqueeze(0)
            if self.encoder is None:
                raise WeightsError("an observation with pixels for a policy without images")
            pixels = torch.as_tensor(np.asarray(obs["pixels"], np.uint8)).unsqueeze(0)
            o = torch.cat([o, self.encoder(pixels).float()], dim=-1)
        else:
            if self.encoder is not None:
                raise WeightsError("this policy sees images: expected {'state', 'pixels'}")
            o = torch.as_tensor(np.asarray(obs, np.float32)).unsqueeze(0)
        if deterministic:
            return self.net.deterministic(o)[0].numpy()
        mean, log_std = self.net(o)
        noise = torch.randn(mean.shape, generator=self._gen)
        return self.net.sample_from(mean, log_std, noise)[0][0].numpy()


def _checked_state(group: str, arrays: Mapping[str, np.ndarray],
                   expected: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``arrays`` as a state dict for a network whose own is ``expected``: the same names,
    exact shapes, finite floats (copied: wire buffers are views).

    Raises:
        WeightsError: naming ``group`` and what does not fit.
    """
    names, wanted = set(arrays), set(expected)
    if names != wanted:
        missing, extra = sorted(wanted - names), sorted(names - wanted)
        raise WeightsError(f"{group} weights: missing {missing}, unexpected {extra}")
    state = {}
    for name, like in expected.items():
        value = np.asarray(arrays[name])
        if value.shape != tuple(like.shape) or value.dtype.kind != "f":
            raise WeightsError(f"{group} weights {name!r}: expected float {list(like.shape)}, "
                               f"got {value.dtype} {list(value.shape)}")
        if not np.all(np.isfinite(value)):
            raise WeightsError(f"{group} weights {name!r}: not finite")
        state[name] = torch.tensor(value, dtype=like.dtype)
    return state
