"""The actor node's policy: uniform random until the learner's first weights, then those.

As in :class:`robot_rl.distributed.ActorLoop` (the learner publishes only after its warm-up,
so the random phase is the warm-up). Weights arrive as a transport weights message packed by
:mod:`robot_rl.distributed.weights` (``policy/<parameter>`` arrays, with images also
``encoder/<parameter>``, and the networks' sizes in the meta, no pickle) and are loaded into
that module's ``ActorPolicy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robot_rl.distributed.weights import ActorPolicy, Weights, WeightsError, unpack_weights
from robot_rl.spaces import Observation


class Policy:
    """Acts for one observation at a time (the float32 vector, or ``{"state", "pixels"}``
    with images; a normalized action in [-1, 1] out).

    Args:
        obs_dim: The observation size this robot config produces.
        act_dim: The number of joints.
        seed: Seeds the random actions and the exploration noise.
        pixels: ``(C, H, W)`` of the stacked frames the policy sees
            (:func:`robot_rl.spaces.pixels_shape`; None: no images).
    """

    def __init__(self, obs_dim: int, act_dim: int, seed: int = 0,
                 pixels: tuple[int, int, int] | None = None) -> None:
        self.obs_dim, self.act_dim, self.pixels = obs_dim, act_dim, pixels
        self.seed = seed
        self.net: ActorPolicy | None = None
        self.rng = np.random.default_rng(seed)
        self.version = -1  # weights version; -1: none yet (random actions)
        self.state: dict[str, Any] = {}  # the weights message's state slot (e.g. APRL limit)

    def load(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
             version: int) -> Weights:
        """Loads a weights message (returned unpacked, e.g. for APRL's dynamics group);
        raises :class:`WeightsError` if it does not fit."""
        weights = unpack_weights(arrays, meta)
        spec = weights.spec
        if (spec.obs_dim, spec.act_dim, spec.pixels) != (self.obs_dim, self.act_dim,
                                                         self.pixels):
            raise WeightsError(f"weights v{version}: a policy for {spec.obs_dim} observations, "
                               f"{spec.act_dim} actions and images {spec.pixels}; this robot "
                               f"has {self.obs_dim}, {self.act_dim} and {self.pixels} (same "
                               "robot config?)")
        net = self.net if self.net is not None and self.net.spec == spec else \
            ActorPolicy(spec, self.seed)
        net.load(weights.groups)
        self.net, self.version, self.state = net, version, weights.state
        return weights

    @property
    def warming_up(self) -> bool:
        """True until the first weights arrived (actions are uniform random)."""
        return self.net is None

    def act(self, obs: Observation, deterministic: bool = False) -> np.ndarray:
        """A normalized action (float32) for ``obs``."""
        if self.net is None:
            return self.rng.uniform(-1.0, 1.0, self.act_dim).astype(np.float32)
        return np.asarray(self.net.act(obs, deterministic), dtype=np.float32)
