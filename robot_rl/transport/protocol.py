"""Message kinds of the actor/learner protocol, their checked fields, and shared options.

Actor -> learner (DEALER -> ROUTER)::

    "hb"  meta {actor: str, inc: int, wv: int, committed: int}     heartbeat, every heartbeat_s
    "tr"  meta {actor: str, inc: int, seq: int, n: int} + arrays   one batch of n transitions

Learner -> actor::

    "st"  meta {session: int, hwm: int, committed: int, gap: bool} status: ack and heartbeat
    "w"   meta {session: int, version: int, meta: map} + arrays    newest weights
    "rf"  meta {session: int, code: str, reason: str}              refused: stop, and why

``inc`` is a random number drawn when the actor starts, so a restarted actor opens a new
stream ``(actor, inc)`` whose batch numbers ``seq`` start again at 1. ``hwm`` is the highest
seq of that stream the learner has accepted with no gap below it, ``committed`` the highest it
has stored durably. ``wv`` is the newest weights version the actor holds (-1: none).
``code`` of a refusal is one of :data:`REFUSAL_CODES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from robot_rl.transport.wire import DEFAULT_LIMITS, Message, WireError, WireLimits

HEARTBEAT = "hb"
TRANSITIONS = "tr"
STATUS = "st"
WEIGHTS = "w"
REFUSED = "rf"

#: Why a learner refuses an actor: its key left the allow-list (``revoked``), the actor id
#: in the message is not the one its key is allow-listed under (``forged``), or its
#: transitions are not laid out for this learner, e.g. another robot config (``mismatch``).
REFUSAL_CODES = frozenset(["revoked", "forged", "mismatch"])
MAX_REASON = 300  # characters of a refusal's reason

_MAX_ACTOR_ID = 64
_U63 = 2**63 - 1


class ProtocolError(WireError):
    """A well-formed message that breaks the protocol (wrong kind, missing or bad field)."""


class TransportError(RuntimeError):
    """A transport that cannot start as configured (address, keys, options)."""


@dataclass(frozen=True)
class TransportOptions:
    """Timing and size settings shared by learner and actors.

    Attributes:
        heartbeat_s: each side sends a heartbeat at least this often.
        peer_timeout_s: a peer silent for this long is reported dead.
        resend_timeout_s: an actor re-sends batches not acknowledged within this time.
        max_inflight: most batches an actor sends ahead of the learner's acknowledgement.
        max_peers: most actors a learner tracks; messages from more are rejected.
        max_streams: most streams (actor, inc) whose marks a learner keeps.
        max_streams_per_actor: most streams kept per actor id (one per actor restart).
        max_gap: most batches a seq or committed mark from an actor may lie past the
            learner's mark for that stream; further is refused as impossible.
        allow_refresh_s: how often the learner looks for changes in its allow-list.
        limits: wire size limits applied to every received message.
    """

    heartbeat_s: float = 0.5
    peer_timeout_s: float = 2.0
    resend_timeout_s: float = 1.0
    max_inflight: int = 64
    max_peers: int = 1024
    max_streams: int = 4096
    max_streams_per_actor: int = 16
    max_gap: int = 1 << 16
    allow_refresh_s: float = 1.0
    limits: WireLimits = field(default_factory=lambda: DEFAULT_LIMITS)

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_s < self.peer_timeout_s:
            raise TransportError("options: need 0 < heartbeat_s < peer_timeout_s")
        if self.resend_timeout_s <= 0 or self.max_inflight < 1 or self.max_peers < 1:
            raise TransportError("options: resend_timeout_s, max_inflight, max_peers must be > 0")
        if min(self.max_streams, self.max_streams_per_actor, self.max_gap) < 1 or not (
                self.allow_refresh_s > 0):
            raise TransportError("options: max_streams, max_streams_per_actor, max_gap and "
                                 "allow_refresh_s must be > 0")
        if self.max_gap <= self.max_inflight:
            raise TransportError("options: max_gap must exceed max_inflight")


class TransitionBatch(NamedTuple):
    """A batch the learner accepted. Arrays are read-only views: copy them into the replay."""

    actor_id: str
    seq: int
    arrays: dict[str, np.ndarray]


class WeightsUpdate(NamedTuple):
    """Weights from the learner. Arrays are read-only; copy them into the model."""

    version: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


class Heartbeat(NamedTuple):
    actor: str
    inc: int
    wv: int
    committed: int


class BatchHeader(NamedTuple):
    actor: str
    inc: int
    seq: int
    n: int


class Status(NamedTuple):
    session: int
    hwm: int
    committed: int
    gap: bool


class WeightsHeader(NamedTuple):
    session: int
    version: int
    meta: dict[str, Any]


class Refusal(NamedTuple):
    session: int
    code: str
    reason: str


def _field(meta: Mapping[str, Any], key: str, kind: type, lo: int = 0) -> Any:
    if key not in meta:
        raise ProtocolError(f"meta.{key} is missing")
    value = meta[key]
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= _U63:
            raise ProtocolError(f"meta.{key} must be an int in [{lo}, 2**63)")
    elif not isinstance(value, kind):
        raise ProtocolError(f"meta.{key} must be a {kind.__name__}")
    return value


def valid_actor_id(actor: str) -> bool:
    """1..64 printable characters, no white space (ids end up in logs and file names)."""
    return (0 < len(actor) <= _MAX_ACTOR_ID and actor.isprintable()
            and not any(c.isspace() for c in actor))


def _actor_id(meta: Mapping[str, Any]) -> str:
    actor = _field(meta, "actor", str)
    if not valid_actor_id(actor):
        raise ProtocolError(f"meta.actor must have 1..{_MAX_ACTOR_ID} printable characters and "
                            "no white space")
    return actor


def _expect(msg: Message, kind: str, keys: set[str], arrays: bool) -> None:
    if msg.kind != kind:
        raise ProtocolError(f"expected kind {kind!r}, got {msg.kind!r}")
    if set(msg.meta) != keys:
        raise ProtocolError(f"{kind}: meta keys must be {sorted(keys)}, got {sorted(msg.meta)}")
    if not arrays and msg.arrays:
        raise ProtocolError(f"{kind}: carries no arrays")


def parse_heartbeat(msg: Message) -> Heartbeat:
    """Checks an actor heartbeat."""
    _expect(msg, HEARTBEAT, {"actor", "inc", "wv", "committed"}, arrays=False)
    m = msg.meta
    return Heartbeat(_actor_id(m), _field(m, "inc", int), _field(m, "wv", int, -1),
                     _field(m, "committed", int))


def parse_batch(msg: Message) -> BatchHeader:
    """Checks a transition batch: fields, and arrays that all have ``n`` rows."""
    _expect(msg, TRANSITIONS, {"actor", "inc", "seq", "n"}, arrays=True)
    m = msg.meta
    header = BatchHeader(_actor_id(m), _field(m, "inc", int), _field(m, "seq", int, 1),
                         _field(m, "n", int, 1))
    if batch_size(msg.arrays) != header.n:
        raise ProtocolError(f"tr: meta.n = {header.n} does not match the arrays")
    return header


def parse_status(msg: Message) -> Status:
    """Checks a learner status (acknowledgement / heartbeat)."""
    _expect(msg, STATUS, {"session", "hwm", "committed", "gap"}, arrays=False)
    m = msg.meta
    status = Status(_field(m, "session", int), _field(m, "hwm", int), _field(m, "committed", int),
                    _field(m, "gap", bool))
    if status.committed > status.hwm:
        raise ProtocolError("st: committed > hwm")
    return status


def parse_weights(msg: Message) -> WeightsHeader:
    """Checks a weights message."""
    _expect(msg, WEIGHTS, {"session", "version", "meta"}, arrays=True)
    m = msg.meta
    return WeightsHeader(_field(m, "session", int), _field(m, "version", int),
                         _field(m, "meta", dict))


def parse_refusal(msg: Message) -> Refusal:
    """Checks a refusal (the learner will not take this actor's messages)."""
    _expect(msg, REFUSED, {"session", "code", "reason"}, arrays=False)
    m = msg.meta
    refusal = Refusal(_field(m, "session", int), _field(m, "code", str),
                      _field(m, "reason", str))
    if refusal.code not in REFUSAL_CODES or len(refusal.reason) > MAX_REASON:
        raise ProtocolError(f"rf: code must be one of {sorted(REFUSAL_CODES)} and the reason "
                            f"at most {MAX_REASON} characters")
    return refusal


FLAG_ARRAYS = ("intervention",)
"""Optional per-row flags of a transition batch (0 or 1, shape ``[n]``): ``intervention``
marks an operator's transitions (docs/demos.md). Checked before sending
(:func:`check_flags`); the learner checks them again on arrival and drops a bad batch."""


def check_flags(arrays: Mapping[str, np.ndarray], n: int) -> None:
    """Checks the optional flag arrays of a batch of ``n`` rows.

    Raises:
        ProtocolError: a flag array that is not 0/1 integers or booleans shaped ``[n]``.
    """
    for name in FLAG_ARRAYS:
        if name not in arrays:
            continue
        flag = np.asarray(arrays[name])
        if flag.shape != (n,) or flag.dtype.kind not in "biu" or \
                not np.all((flag == 0) | (flag == 1)):
            raise ProtocolError(f"{name}: expected flags of 0 or 1 (bool or int) shaped "
                                f"[{n}], got {flag.dtype} {list(flag.shape)}")


def batch_size(arrays: Mapping[str, np.ndarray]) -> int:
    """Returns the common leading dimension of a transition batch.

    Raises:
        ProtocolError: no arrays, a 0-d array, unequal leading dimensions, or zero rows.
    """
    shapes = [np.shape(a) for a in arrays.values()]
    if not shapes or any(not s for s in shapes) or len({s[0] for s in shapes}) != 1:
        raise ProtocolError("a transition batch needs arrays with one common leading dimension")
    n = shapes[0][0]
    if n < 1:
        raise ProtocolError("a transition batch needs at least one row")
    return int(n)
