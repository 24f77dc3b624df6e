"""One replay buffer for every task: store all tasks' rewards, relabel at sample time.

Rewards of a task graph are functions of the state, so every stored transition can be scored
for every task (``StepResult.rewards_all`` / ``terminated_all``). This buffer stores them next
to the usual fields and, at sample time, gives each sampled row a task: a uniformly random one
when relabeling is on, else the task that collected it. It swaps the task one-hot (the last
``num_tasks`` columns of ``obs`` and ``next_obs``) and takes that task's reward and
``terminated``; ``truncated`` stays (it never stops bootstrapping). ``sample`` returns the
plain :class:`~robot_rl.sac.buffer.Batch`, so SAC and the Trainer are unchanged.

Tasks may use different action ranges (``task_graph.action_scale``: the motors got
``nominal + factor[task] * a * action_scale``). A row collected under task ``s`` is relabeled
to task ``k`` with the action ``a * factor[s] / factor[k]``, the same joint targets; when that
leaves [-1, 1] the task ``k`` could not have sent that command and the row keeps task ``s``.

Usage::

    buffer = MultiTaskReplayBuffer(obs_dim, act_dim, capacity, num_tasks=3)
    buffer.add(obs, action, reward, next_obs, terminated, truncated,
               rewards_all=result.rewards_all, terminated_all=result.terminated_all,
               task=result.task)
    batch = buffer.sample(256, k=utd)          # Batch of [k, 256, ...] tensors
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.sac.buffer import FIELDS, Batch, ReplayBuffer, to_batch

TASK_FIELDS = ("rewards_all", "terminated_all", "task")


def tasks_path(path: str | Path) -> Path:
    """Where :meth:`MultiTaskReplayBuffer.save` keeps the per-task arrays for ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_tasks.npz")


def relabel(arrays: dict[str, np.ndarray], new_task: np.ndarray, num_tasks: int,
            factor: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The gathered rows ``arrays`` (with ``TASK_FIELDS``) relabeled to ``new_task``.

    Pure numpy; ``new_task`` has the shape of ``arrays["task"]``. Rows whose action would
    leave [-1, 1] under ``new_task`` (see the module doc) keep their own task.

    Returns:
        The six Batch fields (obs, action, reward, next_obs, terminated, truncated), float32.
    """
    source = arrays["task"].astype(np.int64)
    new_task = np.asarray(new_task, dtype=np.int64)
    rewards = arrays["rewards_all"]
    action = arrays["action"]
    ok = np.isfinite(np.take_along_axis(rewards, new_task[..., None], -1)[..., 0])
    if factor is not None:
        ratio = (factor[source] / factor[new_task])[..., None]
        ok &= np.all(np.abs(action * ratio) <= 1.0 + 1e-6, axis=-1)
    task = np.where(ok, new_task, source)
    if factor is not None:
        action = action * (factor[source] / factor[task])[..., None]
    one_hot = np.eye(num_tasks, dtype=np.float32)[task]
    obs = arrays["obs"].copy()
    next_obs = arrays["next_obs"].copy()
    obs[..., -num_tasks:] = one_hot
    next_obs[..., -num_tasks:] = one_hot
    pick = task[..., None]
    return {
        "obs": obs, "action": action.astype(np.float32),
        "reward": np.take_along_axis(rewards, pick, -1)[..., 0],
        "next_obs": next_obs,
        "terminated": np.take_along_axis(arrays["terminated_all"], pick, -1)[..., 0],
        "truncated": arrays["truncated"],
    }


class MultiTaskReplayBuffer(ReplayBuffer):
    """A :class:`ReplayBuffer` that also keeps every task's reward and terminal flag.

    Args:
        obs_dim: Observation size, the task one-hot (last ``num_tasks`` columns) included.
        act_dim: Action size.
        capacity: The most transitions kept.
        num_tasks: Tasks of the graph.
        relabel: Give each sampled row a uniformly random task (else the one that collected
            it), as ``task_graph.relabel`` says.
        action_factor: Per task, the factor on ``robot.action_scale`` (None: all 1).
        seed: Seeds the sampler and the task draws.
    """

    def __init__(self, obs_dim: int, act_dim: int, capacity: int, num_tasks: int,
                 relabel: bool = True, action_factor: np.ndarray | None = None,
                 seed: int = 0) -> None:
        if num_tasks < 1 or obs_dim <= num_tasks:
            raise ValueError(f"expected 1 <= num_tasks < obs_dim, got {num_tasks}, {obs_dim}")
        super().__init__(obs_dim, act_dim, capacity, seed)
        self.num_tasks = num_tasks
        self.relabel = relabel
        self.factor = None if action_factor is None else np.asarray(action_factor, np.float64)
        self.data["rewards_all"] = np.zeros((capacity, num_tasks), np.float32)
        self.data["terminated_all"] = np.zeros((capacity, num_tasks), np.float32)
        self.data["task"] = np.zeros((capacity,), np.int64)

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
            terminated: bool, truncated: bool, rewards_all: np.ndarray | None = None,
            terminated_all: np.ndarray | None = None, task: int | None = None) -> None:
        """Store one transition; ``obs`` and ``next_obs`` carry ``task``'s one-hot.

        Without ``rewards_all`` (a caller that knows one task) the row is never relabeled.
        """
        if task is None:
            task = int(np.argmax(obs[-self.num_tasks:]))
        if rewards_all is None:
            rewards_all = np.full(self.num_tasks, np.nan, np.float32)
            rewards_all[task] = reward
        if terminated_all is None:
            terminated_all = np.zeros(self.num_tasks, np.float32)
            terminated_all[task] = terminated
        self.add_batch({"obs": obs[None], "action": action[None], "reward": np.array([reward]),
                        "next_obs": next_obs[None], "terminated": np.array([terminated]),
                        "truncated": np.array([truncated]),
                        "rewards_all": np.asarray(rewards_all, np.float32)[None],
                        "terminated_all": np.asarray(terminated_all, np.float32)[None],
                        "task": np.array([task])})

    def add_batch(self, batch: dict[str, np.ndarray]) -> None:
        """Store many transitions; ``batch`` must hold the ``TASK_FIELDS`` too."""
        missing = [key for key in TASK_FIELDS if key not in batch]
        if missing:
            raise KeyError(f"a multi-task batch needs {', '.join(missing)}")
        n = len(batch["reward"])
        start = self.pos
        super().add_batch(batch)
        keep = min(n, self.capacity)  # the base class keeps the newest `keep` rows
        idx = (start + np.arange(keep)) % self.capacity
        for key in TASK_FIELDS:
            self.data[key][idx] = np.asarray(batch[key])[-keep:]

    def gather(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Every stored field at ``idx``, the per-task ones included."""
        out = super().gather(idx)
        out.update({key: self.data[key][idx] for key in TASK_FIELDS})
        return out

    def sample(self, batch_size: int, k: int = 1) -> Batch:
        """``k`` minibatches of ``batch_size`` rows, each relabeled to a random task."""
        idx = self.sample_indices(batch_size, k)
        arrays = self.gather(idx)
        new_task = (self.rng.integers(0, self.num_tasks, size=idx.shape) if self.relabel
                    else arrays["task"])
        return to_batch(relabel(arrays, new_task, self.num_tasks, self.factor))

    # ----------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        """The usual ``.npz`` (valid RLPD prior data) plus ``<stem>_tasks.npz`` beside it."""
        super().save(path)
        n = self.size
        order = (np.arange(n) + (self.pos if n == self.capacity else 0)) % self.capacity
        with open(tasks_path(path), "wb") as f:
            arrays: dict[str, Any] = {key: self.data[key][order] for key in TASK_FIELDS}
            np.savez(f, **arrays)

    def load(self, path: str | Path) -> None:
        """Replace the contents with what :meth:`save` wrote (no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in FIELDS}
        with np.load(tasks_path(path), allow_pickle=False) as data:
            arrays.update({key: data[key] for key in TASK_FIELDS})
        self.size, self.pos = 0, 0
        if len(arrays["reward"]):
            self.add_batch(arrays)
