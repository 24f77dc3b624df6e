"""Transitions on the wire: the arrays of one batch, packed by the actors, checked by the learner.

A batch of ``n`` transitions (one ``tr`` message of the transport, :mod:`robot_rl.transport`)
holds these arrays, all with ``n`` rows:

==============  ==========================  ==================================================
array           dtype, shape                what
==============  ==========================  ==================================================
``obs``         float32 ``[n, obs_dim]``    the state vector acted on
``action``      float32 ``[n, act_dim]``    the normalized action in [-1, 1]
``reward``      float32 ``[n]``
``next_obs``    float32 ``[n, obs_dim]``    the next state vector
``terminated``  bool ``[n]``                a true end: no bootstrapping
``truncated``   bool ``[n]``                time limit, task switch, lost learner
``step``        int64 ``[n]``               the transition's number at its actor
``pixels``      uint8 ``[n, C, H, W]``      with ``observation.images`` only: the stacked
                                            frames acted on (``C = k * cameras * 3``)
``next_frame``  uint8 ``[n, cameras*3, H,   with ``observation.images`` only: the next
                W]``                        observation's newest frame (its stack is
                                            ``pixels`` moved on by this frame)
``aprl_L``      float32 ``[n, act_dim]``    APRL actors: the limit L in force
``intervention`` bool ``[n]``               an operator acted (only in batches where one did)
==============  ==========================  ==================================================

Images travel as uint8, never as floats, and only the new frame of ``next_obs``: a transition
of 84x84 frames, 3 per camera, 1 camera, costs 84,672 bytes of pixels (docs/distributed.md,
"Learning from pixels").

Usage::

    arrays = pack_transitions(rows)                      # actor: Transition rows -> arrays
    client.send_transitions(arrays)
    problem = check_transitions(arrays, BatchShape.of(cfg))    # learner: None if it fits
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.control import Transition
from robot_rl.sac.buffer import FIELDS
from robot_rl.spaces import ObservationBuilder, frame_channels, pixels_shape
from robot_rl.transport.protocol import ProtocolError, check_flags

TRANSITION_ARRAYS = (*FIELDS, "step")
"""The arrays every batch has: what the replay stores (``FIELDS``) and ``step``, the
transition's number at its actor."""
IMAGE_ARRAYS = ("pixels", "next_frame")
"""The arrays of every batch with ``observation.images``, and of no other."""


def pack_transitions(rows: Sequence[Transition]) -> dict[str, np.ndarray]:
    """The arrays of one batch of ``rows`` (one actor's, in order): the plain ones, plus
    ``pixels`` and ``next_frame`` when the rows carry frames, ``aprl_L`` when they carry a
    limit and ``intervention`` when an operator acted in any of them."""
    arrays = {"obs": np.stack([t.obs for t in rows]).astype(np.float32),
              "action": np.stack([t.action for t in rows]).astype(np.float32),
              "reward": np.array([t.reward for t in rows], np.float32),
              "next_obs": np.stack([t.next_obs for t in rows]).astype(np.float32),
              "terminated": np.array([t.terminated for t in rows], np.bool_),
              "truncated": np.array([t.truncated for t in rows], np.bool_),
              "step": np.array([t.step for t in rows], np.int64)}
    pixels = [t.pixels for t in rows if t.pixels is not None]
    frames = [t.next_frame for t in rows if t.next_frame is not None]
    if len(pixels) == len(frames) == len(rows):
        arrays["pixels"] = np.stack(pixels).astype(np.uint8, copy=False)
        arrays["next_frame"] = np.stack(frames).astype(np.uint8, copy=False)
    limits = [t.aprl_L for t in rows if t.aprl_L is not None]
    if len(limits) == len(rows):  # APRL: L per row, for the penalty
        arrays["aprl_L"] = np.stack(limits).astype(np.float32)
    if any(t.intervention for t in rows):  # an operator acted (docs/demos.md)
        arrays["intervention"] = np.array([t.intervention for t in rows], np.bool_)
    return arrays


@dataclass(frozen=True)
class BatchShape:
    """What a learner accepts: the vector sizes and, with images, the frames' shapes.

    Attributes:
        obs_dim: state vector size.
        act_dim: action size.
        pixels: ``(C, H, W)`` of ``pixels`` (None: the batch must carry no images).
        frame_channels: channels of ``next_frame`` (cameras x 3; 0 without images).
    """

    obs_dim: int
    act_dim: int
    pixels: tuple[int, int, int] | None = None
    frame_channels: int = 0

    @classmethod
    def of(cls, cfg: RobotConfig) -> BatchShape:
        """The shape of ``cfg``'s transitions."""
        return cls(ObservationBuilder(cfg).size, cfg.action_dim, pixels_shape(cfg),
                   frame_channels(cfg))


def shape_mismatch(a: Mapping[str, np.ndarray], shape: BatchShape) -> str | None:
    """Why the batch ``a`` was not made for a learner of ``shape`` (None: its layout fits):
    a missing array, a shape or dtype that does not fit (images exactly uint8 of the
    configured shapes; images to a learner without them). Every later batch of the same
    actor will not fit either: its robot config is not the learner's."""
    missing = [k for k in TRANSITION_ARRAYS if k not in a]
    if missing:
        return f"missing arrays {missing}"
    n, o, m = len(a["step"]), shape.obs_dim, shape.act_dim
    shapes = {"obs": (n, o), "next_obs": (n, o), "action": (n, m), "reward": (n,),
              "terminated": (n,), "truncated": (n,), "step": (n,)}
    for key, want in shapes.items():
        if a[key].shape != want or a[key].dtype.kind not in "biuf":
            return f"{key}: expected numbers shaped {list(want)}, got {a[key].dtype} " \
                   f"{list(a[key].shape)}"
    return _check_images(a, n, shape)


def check_transitions(a: Mapping[str, np.ndarray], shape: BatchShape) -> str | None:
    """Why the batch ``a`` cannot be stored by a learner of ``shape`` (None: it can): a
    :func:`shape_mismatch`, non-finite numbers, actions outside [-1, 1], a bad flag
    array."""
    problem = shape_mismatch(a, shape)
    if problem is not None:
        return problem
    for key in ("obs", "next_obs", "action", "reward"):
        if not np.all(np.isfinite(a[key])):
            return f"{key}: not finite"
    if np.abs(a["action"]).max(initial=0.0) > 1.0 + 1e-6:
        return "action: outside [-1, 1]"
    try:  # optional flags, e.g. intervention (docs/demos.md): the actors' own rule
        check_flags(a, len(a["step"]))
    except ProtocolError as err:
        return str(err)
    return None


def _check_images(a: Mapping[str, np.ndarray], n: int, shape: BatchShape) -> str | None:
    if shape.pixels is None:
        sent = [k for k in IMAGE_ARRAYS if k in a]
        return None if not sent else f"{sent}: images to a learner without " \
                                     "observation.images"
    c, h, w = shape.pixels
    wanted = {"pixels": (n, c, h, w), "next_frame": (n, shape.frame_channels, h, w)}
    for key, want in wanted.items():
        value = a.get(key)
        if value is None:
            return f"missing array {key!r} (this learner sees observation.images)"
        if value.shape != want or value.dtype != np.uint8:
            return f"{key}: expected uint8 shaped {list(want)}, got {value.dtype} " \
                   f"{list(value.shape)}"
    return None
