"""Where each transition in the replay buffer came from: actor name and its number there.

The learner keeps these tags in a ring aligned with its :class:`~robot_rl.sac.ReplayBuffer`
(same capacity, same slots) and saves them next to ``buffer.npz`` in every checkpoint, in the
same order. They make exactly-once delivery checkable: every actor numbers its transitions
``0, 1, 2, ...``, so a checkpoint holds each actor's transitions exactly once if and only if
its numbers there have no repeats (and, once the actor is done, no holes).

Usage::

    tags = SourceTags(buffer.capacity)
    tags.add(buffer, "a1-left", batch["step"])   # right before buffer.add_batch(batch)
    tags.save(folder / "sources.npz", buffer)    # right after buffer.save(...)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.sac import ReplayBuffer

_COMPACT_AT = 4096  # names kept before those with no row left in the buffer are dropped


class SourceTags:
    """Actor index and per-actor transition number of every replay slot.

    Args:
        capacity: the replay buffer's capacity.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.actors: list[str] = []
        self._index: dict[str, int] = {}
        self.actor = np.full(capacity, -1, np.int32)
        self.step = np.full(capacity, -1, np.int64)
        self._compact_at = _COMPACT_AT

    def add(self, buffer: ReplayBuffer, actor: str, steps: np.ndarray) -> None:
        """Tags the rows that ``buffer.add_batch`` is about to write (call it just before)."""
        steps = np.asarray(steps, np.int64)[-self.capacity:]
        if actor not in self._index:
            if len(self.actors) >= self._compact_at:
                self._compact()
            self._index[actor] = len(self.actors)
            self.actors.append(actor)
        idx = (buffer.pos + np.arange(len(steps))) % self.capacity
        self.actor[idx] = self._index[actor]
        self.step[idx] = steps

    def add_derived(self, buffer: ReplayBuffer, n: int) -> None:
        """Tags ``n`` rows derived on the learner (hindsight copies) as from no actor: they
        carry no actor's number, so exactly-once checks see only what actors sent."""
        idx = (buffer.pos + np.arange(min(n, self.capacity))) % self.capacity
        self.actor[idx] = -1
        self.step[idx] = -1

    def _compact(self) -> None:
        # Many actor names over a long run (or from a peer inventing them): keep only names
        # that still tag a row, so neither memory nor sources.npz grows without bound.
        used = np.unique(self.actor[self.actor >= 0])
        remap = np.full(len(self.actors) + 1, -1, np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        self.actor = remap[self.actor]  # -1 indexes the last entry: stays -1
        self.actors = [self.actors[i] for i in used]
        self._index = {a: i for i, a in enumerate(self.actors)}
        self._compact_at = max(_COMPACT_AT, 2 * len(self.actors))  # amortized

    def save(self, path: str | Path, buffer: ReplayBuffer) -> None:
        """Writes the tags of the stored rows in the order ``buffer.save`` writes them."""
        n = buffer.size
        order = (np.arange(n) + (buffer.pos if n == self.capacity else 0)) % self.capacity
        with open(path, "wb") as f:
            np.savez(f, actor=self.actor[order], step=self.step[order],
                     actors=np.array(self.actors, dtype=np.str_))

    def load(self, path: str | Path) -> None:
        """Restores tags saved by :meth:`save` (call after ``buffer.load``; no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            actor, step, names = data["actor"], data["step"], [str(a) for a in data["actors"]]
        n = len(actor)
        self.actors, self._index = names, {a: i for i, a in enumerate(names)}
        self.actor[:] = -1
        self.step[:] = -1
        self.actor[:n], self.step[:n] = actor, step


def read_sources(path: str | Path) -> dict[str, np.ndarray]:
    """Per actor, the transition numbers stored in a checkpoint's ``sources.npz``."""
    with np.load(path, allow_pickle=False) as data:
        actor, step, names = data["actor"], data["step"], [str(a) for a in data["actors"]]
    return {name: step[actor == i] for i, name in enumerate(names)}
