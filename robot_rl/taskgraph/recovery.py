"""Scripted recovery controllers for tasks the policy cannot learn in time (pure numpy).

A task listed under ``task_graph.scripted`` (e.g. ``{self_right: a1_self_right}``) is driven
by one of these controllers instead of the policy, as "A Walk in the Park" rights its A1 with
a separately trained reset controller. Its transitions still go to the replay buffer with the
action that was applied, so the critic learns from them and relabeling can reuse them.

A controller sees the graph signals of the current state and returns joint-target offsets in
units of ``robot.action_scale`` (``target = nominal + offset * action_scale``); the
environment divides by the task's ``action_scale`` factor to get the stored normalized action.

Usage::

    controller = make_controller("a1_self_right", n_joints=12)
    controller.reset()                          # when the task starts
    offset = controller(signals)                # every step while the task is active
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

# A1 joint order: FR, FL, RR, RL x (hip, thigh, calf). Mirroring left <-> right swaps the
# legs of each pair and negates the hip abduction.
_A1_MIRROR = np.array([3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8])
_A1_MIRROR_SIGN = np.array([-1.0, 1.0, 1.0] * 4)

# Open-loop keyframes (normalized at 6 x action_scale, each held `hold` steps) found by
# cross-entropy search in PyBullet (robot_configs/a1.yaml: kp 60, kd 2, 33.5 N*m): `side`
# from lying on the left side (roll > 0), `back` from lying on the back. From 25 random-fall
# poses the closed loop below stood the robot up 25 times, in 82 steps on average (<= 200).
_A1_SIDE = np.array([
    [0.27, -0.58, -1.00, 1.00, -0.74, 1.00, -0.36, 1.00, -0.54, 0.78, 1.00, 0.18],
    [0.62, -1.00, -0.63, 1.00, 0.02, 1.00, -0.36, -0.37, -1.00, -1.00, 1.00, -0.33],
    [-0.56, -0.60, 0.88, -1.00, 0.03, 0.06, -0.40, 1.00, -0.30, -0.95, -0.90, 0.30],
    [-0.07, -0.17, 0.30, 0.19, -0.56, -0.20, -0.77, 1.00, -1.00, 0.18, -0.43, 1.00],
    [1.00, 0.32, -0.85, 1.00, -0.54, 1.00, 0.98, 0.30, -0.69, -0.07, -0.11, -0.36],
    [-1.00, -1.00, 0.30, 0.19, -0.80, -0.20, -1.00, 0.13, -1.00, -0.19, 0.06, 0.14]])
_A1_BACK = np.array([
    [-0.72, 0.86, 0.00, -0.54, 0.00, -1.00, -0.02, -0.45, 0.93, -0.50, -0.95, -1.00],
    [0.34, 0.53, -0.18, -0.17, 0.53, 0.54, 1.00, 0.38, -0.25, -0.18, -0.31, -1.00],
    [0.17, -1.00, -1.00, -0.11, -0.50, 1.00, 0.23, 0.95, 1.00, -1.00, -1.00, -1.00],
    [1.00, 0.36, -1.00, -0.75, 0.26, -1.00, 0.26, 0.40, -0.46, 0.39, -0.24, 0.47],
    [1.00, -0.92, -0.66, 0.71, 1.00, -1.00, -0.93, 0.80, -1.00, 0.16, 0.68, 0.17],
    [-0.42, -0.09, -0.13, 0.94, -0.34, 0.45, -0.08, -1.00, -1.00, 0.10, 0.16, 0.75]])


@dataclass
class KeyframeSelfRight:
    """Closed loop over open-loop keyframe sequences: pick one by how the body lies, play it,
    settle at the nominal pose, look again.

    Reads the signals ``upright`` and ``roll``. Upright (``upright > upright_above``): the
    nominal pose. On the back (``upright < back_below``): ``back``. Otherwise ``side``,
    mirrored when lying on the right side (``roll < 0``).

    Attributes:
        side: Keyframes ``[k, n]`` from the left side, normalized at ``factor``.
        back: Keyframes ``[k, n]`` from the back.
        factor: The ``action_scale`` factor the keyframes were made for.
        mirror: Joint permutation for the mirror image; ``mirror_sign`` flips abduction.
        hold: Steps each keyframe is held.
        settle: Steps at the nominal pose after a sequence.
    """

    side: np.ndarray
    back: np.ndarray
    factor: float
    mirror: np.ndarray
    mirror_sign: np.ndarray
    hold: int = 8
    settle: int = 10
    upright_above: float = 0.8
    back_below: float = -0.3

    def __post_init__(self) -> None:
        self._plan: list[np.ndarray] = []

    def reset(self) -> None:
        """Forget the sequence in progress (call when the task starts)."""
        self._plan = []

    def __call__(self, signals: Mapping[str, float]) -> np.ndarray:
        """Joint-target offsets in units of ``action_scale`` for this step."""
        if not self._plan:
            if signals["upright"] > self.upright_above:
                return np.zeros(self.side.shape[1])
            keys = self.back if signals["upright"] < self.back_below else self.side
            if signals["roll"] < 0:
                keys = keys[:, self.mirror] * self.mirror_sign
            offsets = [k * self.factor for k in keys for _ in range(self.hold)]
            self._plan = offsets + [np.zeros(keys.shape[1])] * self.settle
        return self._plan.pop(0)


def _a1_self_right(n_joints: int) -> KeyframeSelfRight:
    if n_joints != 12:
        raise ValueError(f"a1_self_right drives the A1's 12 joints, this robot has {n_joints}")
    return KeyframeSelfRight(_A1_SIDE, _A1_BACK, 6.0, _A1_MIRROR, _A1_MIRROR_SIGN)


CONTROLLERS: dict[str, Callable[[int], KeyframeSelfRight]] = {"a1_self_right": _a1_self_right}
"""Scripted controllers by name: ``factory(n_joints) -> controller``."""


def make_controller(name: str, n_joints: int) -> KeyframeSelfRight:
    """The controller ``name`` for a robot with ``n_joints`` joints (KeyError if unknown)."""
    return CONTROLLERS[name](n_joints)
