"""Multi-task replay: every task's reward stored, rows relabeled at sample time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robot_rl.sac.buffer import Batch
from robot_rl.sac.multitask import MultiTaskReplayBuffer, relabel, tasks_path
from robot_rl.sac.prior import load_transitions

K, BASE, ACT = 3, 4, 2


def fill(buffer: MultiTaskReplayBuffer, n: int, seed: int = 0,
         action_scale: float = 1.0) -> dict[str, np.ndarray]:
    """n transitions; row i: task i % K, rewards_all = [10 i + k], terminal for task 2 on
    every 5th row, base obs = i."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("task", "rewards_all", "terminated_all", "action")}
    for i in range(n):
        task = i % K
        one_hot = np.eye(K, dtype=np.float32)[task]
        obs = np.concatenate([np.full(BASE, i, np.float32), one_hot])
        next_obs = np.concatenate([np.full(BASE, i + 0.5, np.float32), one_hot])
        rewards = 10.0 * i + np.arange(K, dtype=np.float32)
        terminal = np.array([0, 0, i % 5 == 0], np.float32)
        action = (rng.uniform(-1, 1, ACT) * action_scale).astype(np.float32)
        buffer.add(obs, action, float(rewards[task]), next_obs, bool(terminal[task]),
                   i % 7 == 0, rewards_all=rewards, terminated_all=terminal, task=task)
        for key, value in (("task", task), ("rewards_all", rewards),
                           ("terminated_all", terminal), ("action", action)):
            rows[key].append(value)
    return {k: np.asarray(v) for k, v in rows.items()}


def test_sample_keeps_the_batch_api() -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 100, K, seed=0)
    fill(buffer, 50)
    batch = buffer.sample(8, k=3)
    assert isinstance(batch, Batch)
    assert batch.obs.shape == batch.next_obs.shape == (3, 8, BASE + K)
    assert batch.action.shape == (3, 8, ACT) and batch.reward.shape == (3, 8)
    assert all(t.dtype == torch.float32 for t in batch if t is not None)
    assert batch.pixels is None and batch.next_pixels is None  # no observation.images
    assert batch.slice(1).obs.shape == (8, BASE + K)


def test_relabeled_rows_are_consistent() -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 100, K, seed=1)
    fill(buffer, 60)
    b = buffer.sample(256, k=2)
    obs, next_obs = b.obs.numpy(), b.next_obs.numpy()
    task = obs[..., BASE:].argmax(-1)
    row = obs[..., 0].astype(int)
    assert np.all(obs[..., BASE:].sum(-1) == 1)
    assert np.array_equal(obs[..., BASE:], next_obs[..., BASE:])  # same task in both
    assert np.array_equal(next_obs[..., 0], obs[..., 0] + 0.5)  # state part untouched
    assert np.array_equal(b.reward.numpy(), 10.0 * row + task)  # that task's reward
    assert np.array_equal(b.terminated.numpy(), ((task == 2) & (row % 5 == 0)).astype(float))
    assert np.array_equal(b.truncated.numpy(), (row % 7 == 0).astype(float))
    # every task is drawn, about uniformly, from rows of every source task
    counts = np.bincount(task.ravel(), minlength=K) / task.size
    assert np.all(np.abs(counts - 1 / K) < 0.07)
    assert np.any(task != row % K)


def test_relabel_off_keeps_the_collecting_task() -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 100, K, relabel=False, seed=0)
    fill(buffer, 30)
    b = buffer.sample(64)
    row = b.obs.numpy()[..., 0].astype(int)
    assert np.array_equal(b.obs.numpy()[..., BASE:].argmax(-1), row % K)


def test_rows_without_task_rewards_are_never_relabeled() -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 10, K, seed=0)
    one_hot = np.eye(K, dtype=np.float32)[1]
    obs = np.concatenate([np.zeros(BASE, np.float32), one_hot])
    buffer.add(obs, np.zeros(ACT, np.float32), 2.5, obs, False, False)  # a plain Trainer
    b = buffer.sample(32)
    assert np.all(b.obs.numpy()[..., BASE:].argmax(-1) == 1)
    assert np.all(b.reward.numpy() == 2.5)


def test_actions_are_rescaled_between_action_ranges() -> None:
    factor = np.array([1.0, 1.0, 4.0])  # task 2 acts with 4x the range
    arrays = {
        "obs": np.zeros((3, BASE + K), np.float32), "next_obs": np.zeros((3, BASE + K)),
        "action": np.array([[0.8, -0.4], [0.2, 0.1], [0.9, 0.0]], np.float32),
        "reward": np.zeros(3), "terminated": np.zeros(3), "truncated": np.zeros(3),
        "rewards_all": np.ones((3, K), np.float32), "terminated_all": np.zeros((3, K)),
        "task": np.array([0, 2, 2]),
    }
    out = relabel(arrays, np.array([2, 0, 1]), K, factor)
    # row 0: task 0 -> 2: the same joint targets need a quarter of the action
    # row 1: task 2 -> 0 with |a| <= 1/4: four times the action; row 2: |0.9 * 4| > 1, kept
    assert np.allclose(out["action"], [[0.2, -0.1], [0.8, 0.4], [0.9, 0.0]])
    assert np.array_equal(out["obs"][:, BASE:].argmax(-1), [2, 0, 2])


def test_same_seed_same_batches() -> None:
    a, b = (MultiTaskReplayBuffer(BASE + K, ACT, 100, K, seed=3) for _ in range(2))
    fill(a, 40), fill(b, 40)
    for x, y in zip(a.sample(16, 2), b.sample(16, 2), strict=True):
        assert (x is None and y is None) or torch.equal(x, y)


def test_save_load_round_trip_and_prior_data_format(tmp_path: Path) -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 20, K, seed=0)
    rows = fill(buffer, 27)  # wraps around
    path = tmp_path / "buffer.npz"
    buffer.save(path)
    assert tasks_path(path).is_file()
    other = MultiTaskReplayBuffer(BASE + K, ACT, 20, K, seed=0)
    other.load(path)
    assert len(other) == 20
    got = other.gather(np.arange(20))
    order = np.argsort(got["obs"][:, 0])
    assert np.array_equal(got["task"][order], rows["task"][7:])
    assert np.array_equal(got["rewards_all"][order], rows["rewards_all"][7:])
    # the main file stays valid RLPD prior data
    prior = load_transitions(path, BASE + K, ACT)
    assert len(prior["reward"]) == 20


@settings(max_examples=25, deadline=None)
@given(capacity=st.integers(1, 12), sizes=st.lists(st.integers(1, 15), min_size=1, max_size=5))
def test_task_fields_stay_aligned_through_wraparound(capacity: int, sizes: list[int]) -> None:
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, capacity, K)
    start = 0
    for n in sizes:
        i = np.arange(start, start + n)
        obs = np.concatenate([np.repeat(i[:, None], BASE, 1), np.eye(K)[i % K]], 1)
        buffer.add_batch({"obs": obs, "action": np.zeros((n, ACT)), "reward": i * 10.0,
                          "next_obs": obs, "terminated": np.zeros(n), "truncated": np.zeros(n),
                          "rewards_all": (i[:, None] * 10.0 + np.arange(K)),
                          "terminated_all": np.zeros((n, K)), "task": i % K})
        start += n
    got = buffer.gather(np.arange(len(buffer)))
    row = got["obs"][:, 0]
    assert sorted(row) == list(range(start - len(buffer), start))
    assert np.array_equal(got["rewards_all"][:, 0], row * 10.0)
    assert np.array_equal(got["task"], row % K)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        MultiTaskReplayBuffer(3, ACT, 10, num_tasks=3)
    buffer = MultiTaskReplayBuffer(BASE + K, ACT, 10, K)
    with pytest.raises(KeyError, match="rewards_all"):
        buffer.add_batch({"obs": np.zeros((1, BASE + K))})
