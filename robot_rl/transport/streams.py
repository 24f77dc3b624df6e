"""The learner's de-duplication marks per stream, with bounds no peer can push past.

A stream is ``(actor id, inc)``; its key is ``"<actor>#<inc in hex>"``. For each the learner
keeps ``hwm`` (highest seq accepted with no gap below) and ``committed`` (highest durable).
Everything a peer says about these numbers is checked before it is believed:

- a batch's ``seq`` may be at most ``max_gap`` past the stream's ``hwm``; a heartbeat's
  ``committed`` may pass ``hwm`` (batches lost with a newer checkpoint, skipped and counted)
  only in the stream's first heartbeat since the marks were loaded, and by at most
  ``max_gap``: later the actor can only repeat what this learner told it;
- an actor keeps at most ``max_per_actor`` streams and the learner at most ``max_streams``:
  a new stream past a cap evicts the least recently active one (of that actor, or of all),
  unless that one was active in the last ``protect_s`` and so may be live (evicting a live
  stream could let its batches in twice): then the new stream is refused.

Violations raise :class:`MarkError` (a :class:`ProtocolError`) and change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from robot_rl.transport.protocol import ProtocolError


class MarkError(ProtocolError):
    """A sequence mark from a peer that cannot be true, or a stream over the caps."""


@dataclass
class _Stream:
    actor: str
    hwm: int = 0
    committed: int = 0
    seen: bool = False  # a heartbeat of this stream was handled since the marks were loaded
    active: float = 0.0  # time.monotonic() of the last accepted batch or heartbeat


def stream_key(actor: str, inc: int) -> str:
    """The stream's name in marks and checkpoints."""
    return f"{actor}#{inc:x}"


class StreamMarks:
    """hwm and committed per stream, capped and sanity-checked.

    Args:
        max_streams: most streams kept in all.
        max_per_actor: most streams kept per actor id.
        max_gap: most batches a seq or a committed mark may lie past a stream's hwm.
        protect_s: a stream active this recently is never evicted.
    """

    def __init__(self, max_streams: int = 4096, max_per_actor: int = 16,
                 max_gap: int = 1 << 16, protect_s: float = 10.0) -> None:
        self.max_streams, self.max_per_actor = max_streams, max_per_actor
        self.max_gap, self.protect_s = max_gap, protect_s
        self._streams: dict[str, _Stream] = {}  # least recently active first
        self._by_actor: dict[str, dict[str, None]] = {}  # same order, per actor
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._streams)

    def hwm(self, key: str) -> int:
        s = self._streams.get(key)
        return 0 if s is None else s.hwm

    def committed(self, key: str) -> int:
        s = self._streams.get(key)
        return 0 if s is None else min(s.hwm, s.committed)

    def state(self) -> dict[str, int]:
        """hwm of every stream that has one (what a checkpoint keeps)."""
        return {k: s.hwm for k, s in self._streams.items() if s.hwm > 0}

    def load(self, streams: Mapping[str, int]) -> None:
        """Restores checkpointed marks; they count as committed. Caps are not applied here:
        nothing durable is dropped, the next new streams evict down to them."""
        now = time.monotonic()
        self._streams, self._by_actor = {}, {}
        for key, hwm in streams.items():
            actor = key.rpartition("#")[0] or key
            self._streams[key] = _Stream(actor, hwm, hwm, False, now)
            self._by_actor.setdefault(actor, {})[key] = None

    def commit(self, streams: Mapping[str, int]) -> None:
        """Marks everything in ``streams`` (from :meth:`state`) as durable."""
        for key, hwm in streams.items():
            s = self._streams.get(key)
            if s is not None and hwm > s.committed:
                s.committed = hwm

    def check_batch(self, actor: str, inc: int, seq: int) -> str:
        """Where a batch stands: ``"accept"``, ``"duplicate"`` or ``"gap"``.

        Raises:
            MarkError: ``seq`` more than ``max_gap`` past the mark, or no room for the stream.
        """
        key = stream_key(actor, inc)
        hwm = self.hwm(key)
        if seq > hwm + self.max_gap:
            raise MarkError(f"stream {key}: seq {seq} is more than {self.max_gap} past {hwm}")
        self._open(key, actor)
        return "duplicate" if seq <= hwm else "gap" if seq > hwm + 1 else "accept"

    def accept(self, actor: str, inc: int, seq: int) -> None:
        """Raises the mark to ``seq`` (after :meth:`check_batch` said ``"accept"``)."""
        s = self._open(stream_key(actor, inc), actor)
        s.hwm = seq

    def heartbeat(self, actor: str, inc: int, committed: int) -> int:
        """Checks the actor's ``committed`` against the marks; returns batches skipped as lost.

        Raises:
            MarkError: a claim this learner cannot have made (see the module doc).
        """
        key = stream_key(actor, inc)
        s = self._streams.get(key)
        hwm, seen = (0, False) if s is None else (s.hwm, s.seen)
        if committed > hwm and (seen or committed > hwm + self.max_gap):
            why = "after its first heartbeat" if seen else f"more than {self.max_gap} past"
            raise MarkError(f"stream {key}: claims {committed} committed, {why} hwm {hwm}")
        s = self._open(key, actor)
        s.seen = True
        if committed <= hwm:
            return 0
        s.hwm = s.committed = committed
        return committed - hwm

    def _open(self, key: str, actor: str) -> _Stream:
        now = time.monotonic()
        s = self._streams.pop(key, None)
        if s is None:
            s = self._make_room(key, actor, now)
        else:
            self._by_actor[actor].pop(key)
        s.active = now
        self._streams[key] = s  # moves to the most recently active end
        self._by_actor.setdefault(actor, {})[key] = None
        return s

    def _make_room(self, key: str, actor: str, now: float) -> _Stream:
        own = self._by_actor.get(actor, {})
        while len(own) >= self.max_per_actor:
            self._evict(next(iter(own)), key, now, f"actor {actor} has {len(own)} streams")
            own = self._by_actor.get(actor, {})
        while len(self._streams) >= self.max_streams:
            self._evict(next(iter(self._streams)), key, now, f"{len(self._streams)} streams")
        return _Stream(actor)

    def _evict(self, old: str, new: str, now: float, why: str) -> None:
        s = self._streams[old]
        if now - s.active < self.protect_s:  # maybe live: evicting it could duplicate
            self.refused += 1
            raise MarkError(f"stream {new}: {why}, all active in the last "
                            f"{self.protect_s:g} s; refusing a new one")
        del self._streams[old]
        own = self._by_actor[s.actor]
        del own[old]
        if not own:
            del self._by_actor[s.actor]
        self.evicted += 1
