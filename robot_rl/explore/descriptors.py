"""Behaviour descriptors, the k-nearest-neighbour novelty bonus and the coverage figures.

Pure numpy: no simulator, no torch, no Ray.

A *behaviour descriptor* is a low-dimensional summary of where the robot is, read from the
simulator's state after every control step:

- arms (``robot.kind: arm``): the end effector position in the world frame (x, y, z, m);
- legged robots: the base's planar displacement since the episode began (x, y, m, world
  frame) and the heading turned since then (rad, wrapped to [-pi, pi]).

The novelty of a descriptor is its mean distance to its ``k`` nearest neighbours among the
descriptors the *other* policies visited (Lehman & Stanley's novelty search measure, used as
a reward bonus as in Conti et al. 2018, NSR-ES); coverage counts the voxels of a grid that a
set of descriptors occupies.
"""

from __future__ import annotations

import math

import numpy as np

from robot_rl.robot import RobotState

ARM_DIM, LEGGED_DIM = 3, 3
"""Descriptor sizes: (x, y, z) of the end effector; (dx, dy, dyaw) of the base."""


def default_voxel(kind: str) -> float:
    """The coverage cell edge for a robot of ``kind``: 5 cm for arms, 0.1 (m and rad) for
    legged robots."""
    return 0.05 if kind == "arm" else 0.1


def descriptor(state: RobotState, start: RobotState | None, kind: str) -> np.ndarray:
    """The behaviour descriptor of ``state`` (``start``: the episode's first state, needed
    for legged robots), as float32.

    Raises:
        ValueError: the state lacks what ``kind`` needs (a simulator reports both).
    """
    if kind == "arm":
        if state.ee_position is None:
            raise ValueError("an arm's descriptor needs ee_position in the state")
        return np.asarray(state.ee_position, np.float32)[:3].copy()
    if state.base_position is None or start is None or start.base_position is None:
        raise ValueError("a legged robot's descriptor needs base_position (a simulator's)")
    dx, dy = (np.asarray(state.base_position[:2]) - np.asarray(start.base_position[:2]))
    turned = math.remainder(float(state.yaw) - float(start.yaw), 2 * math.pi)
    return np.array([dx, dy, turned], np.float32)


def knn_distance(points: np.ndarray, reference: np.ndarray, k: int = 10) -> np.ndarray:
    """Mean Euclidean distance of each row of ``points`` ``[N, D]`` to its ``k`` nearest
    rows of ``reference`` ``[M, D]`` (all of them if ``M < k``); zeros if ``reference`` is
    empty (nothing visited yet: no bonus)."""
    points = np.atleast_2d(np.asarray(points, np.float64))
    if len(reference) == 0:
        return np.zeros(len(points))
    diff = points[:, None, :] - np.asarray(reference, np.float64)[None, :, :]
    dist = np.sqrt((diff * diff).sum(-1))
    k = min(k, dist.shape[1])
    nearest = np.partition(dist, k - 1, axis=1)[:, :k]
    return nearest.mean(axis=1)


def voxels(points: np.ndarray, size: float) -> set[tuple[int, ...]]:
    """The grid cells (edge ``size``, origin at 0) that ``points`` ``[N, D]`` occupy."""
    cells = np.floor(np.asarray(points, np.float64) / size).astype(np.int64)
    return {tuple(int(c) for c in row) for row in cells}


def coverage(per_policy: list[np.ndarray], voxel: float) -> dict[str, object]:
    """The coverage figures of K policies' descriptors (each ``[N_i, D]``):

    - ``voxels_per_policy``: cells each policy occupies;
    - ``union_voxels``: cells all of them occupy together (> the best single one when they
      visit different places);
    - ``union_over_best``: ``union_voxels / max(voxels_per_policy)``;
    - ``mean_pairwise_distance``: mean distance between the policies' descriptor means;
    - ``means``: each policy's descriptor mean.
    """
    sets = [voxels(p, voxel) for p in per_policy]
    union: set[tuple[int, ...]] = set().union(*sets)
    means = np.stack([np.asarray(p, np.float64).mean(axis=0) for p in per_policy])
    pairs = [float(np.linalg.norm(means[i] - means[j]))
             for i in range(len(means)) for j in range(i + 1, len(means))]
    best = max(len(s) for s in sets)
    return {"voxel": voxel, "voxels_per_policy": [len(s) for s in sets],
            "union_voxels": len(union), "union_over_best": round(len(union) / best, 3),
            "mean_pairwise_distance": round(float(np.mean(pairs)) if pairs else 0.0, 4),
            "means": [[round(float(x), 4) for x in m] for m in means]}
