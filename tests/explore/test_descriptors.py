"""The pure parts of exploration: descriptors, the kNN novelty, the coverage figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.explore.descriptors import coverage, descriptor, knn_distance, voxels
from robot_rl.robot import RobotState


def _state(ee: list[float] | None = None, base: list[float] | None = None,
           yaw: float = 0.0) -> RobotState:
    zeros = np.zeros(3)
    return RobotState(stamp=0.0, joint_position=zeros, joint_velocity=zeros,
                      joint_effort=zeros, imu_orientation=np.array([0.0, 0.0, 0.0, 1.0]),
                      imu_angular_velocity=zeros,
                      ee_position=None if ee is None else np.array(ee),
                      base_position=None if base is None else np.array(base), yaw=yaw)


def test_arm_descriptor_is_the_end_effector_position() -> None:
    d = descriptor(_state(ee=[0.4, -0.1, 0.3]), None, "arm")
    assert d.dtype == np.float32 and np.allclose(d, [0.4, -0.1, 0.3])


def test_legged_descriptor_is_displacement_and_wrapped_heading_change() -> None:
    start = _state(base=[1.0, 2.0, 0.3], yaw=3.0)
    d = descriptor(_state(base=[1.5, 1.0, 0.25], yaw=-3.0), start, "legged")
    # turned from 3.0 to -3.0 rad through pi: +0.283 rad, not -6 rad
    assert np.allclose(d, [0.5, -1.0, 2 * math.pi - 6.0], atol=1e-6)
    with pytest.raises(ValueError):
        descriptor(_state(base=[0, 0, 0]), None, "legged")


def test_knn_distance_matches_brute_force_and_is_zero_without_reference() -> None:
    rng = np.random.default_rng(0)
    points, reference = rng.normal(size=(5, 3)), rng.normal(size=(40, 3))
    got = knn_distance(points, reference, k=4)
    for p, g in zip(points, got, strict=True):
        dist = np.sort(np.linalg.norm(reference - p, axis=1))
        assert g == pytest.approx(dist[:4].mean())
    assert np.all(knn_distance(points, np.zeros((0, 3)), k=4) == 0)
    assert knn_distance(points[:1], reference[:2], k=10)[0] == pytest.approx(
        np.linalg.norm(reference[:2] - points[0], axis=1).mean())  # k > M: all of them


def test_coverage_counts_union_and_distance_between_means() -> None:
    a = np.array([[0.01, 0.01, 0.01], [0.06, 0.01, 0.01]])  # two cells
    b = np.array([[1.01, 0.01, 0.01]])  # one other cell
    c = np.array([[0.02, 0.02, 0.02]])  # inside one of a's cells
    assert voxels(a, 0.05) == {(0, 0, 0), (1, 0, 0)}
    report = coverage([a, b, c], 0.05)
    assert report["voxels_per_policy"] == [2, 1, 1]
    assert report["union_voxels"] == 3 and report["union_over_best"] == 1.5
    means = [a.mean(0), b.mean(0), c.mean(0)]
    pairs = [np.linalg.norm(means[i] - means[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert report["mean_pairwise_distance"] == pytest.approx(np.mean(pairs), abs=1e-4)
