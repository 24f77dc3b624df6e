"""Replay buffer: ring semantics, separate terminated/truncated, one-call k sampling, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.sac import ReplayBuffer


def test_ring_overwrites_oldest_and_keeps_flags_apart() -> None:
    buf = ReplayBuffer(2, 1, capacity=4)
    for i in range(6):
        buf.add(np.full(2, i, np.float32), np.zeros(1, np.float32), float(i),
                np.full(2, i + 1, np.float32), terminated=i == 4, truncated=i == 5)
    assert len(buf) == 4
    assert sorted(buf.data["reward"].tolist()) == [2.0, 3.0, 4.0, 5.0]
    i4 = int(np.where(buf.data["reward"] == 4.0)[0][0])
    i5 = int(np.where(buf.data["reward"] == 5.0)[0][0])
    assert buf.data["terminated"][i4] == 1 and buf.data["truncated"][i4] == 0
    assert buf.data["terminated"][i5] == 0 and buf.data["truncated"][i5] == 1


def test_sample_k_minibatches_in_one_call() -> None:
    buf = ReplayBuffer(3, 2, capacity=100)
    buf.add_batch({"obs": np.ones((50, 3)), "action": np.zeros((50, 2)),
                   "reward": np.arange(50), "next_obs": np.ones((50, 3)),
                   "terminated": np.zeros(50), "truncated": np.zeros(50)})
    batch = buf.sample(16, k=5)
    assert batch.obs.shape == (5, 16, 3) and batch.action.shape == (5, 16, 2)
    assert batch.reward.shape == (5, 16) and batch.terminated.shape == (5, 16)
    assert float(batch.reward.max()) < 50


def test_save_load_round_trip_in_order(tmp_path: Path) -> None:
    buf = ReplayBuffer(2, 1, capacity=5, seed=1)
    for i in range(8):
        buf.add(np.full(2, i, np.float32), np.zeros(1, np.float32), float(i),
                np.zeros(2, np.float32), False, i % 2 == 0)
    buf.save(tmp_path / "b.npz")
    other = ReplayBuffer(2, 1, capacity=5)
    other.load(tmp_path / "b.npz")
    assert len(other) == 5
    assert sorted(other.data["reward"].tolist()) == [3.0, 4.0, 5.0, 6.0, 7.0]
    other.set_rng_state(buf.rng_state())
    assert np.array_equal(other.sample_indices(4, 2), buf.sample_indices(4, 2))
