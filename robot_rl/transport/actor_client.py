"""The actor's end: sends numbered transition batches until committed, receives newest weights.

Usage loop (one thread; every call returns within its deadline)::

    client = ActorClient("tcp://learner:5555", "a1-left", curve=client_curve("keys/", "a1-left"))
    while running:
        update = client.latest_weights()          # None, or newer than anything returned before
        if update is not None:
            policy.load(update.arrays)
        if not client.learner_alive and hold_when_learner_lost:
            hold()
        ...act, collect a batch...
        client.send_transitions(batch)            # numbered and kept until committed
        client.poll(timeout_s=0.0)                # sends, re-sends, acks, heartbeats, weights

The learner being away never blocks the actor: batches pile up (memory, then disk, then new
ones are refused and counted) and are sent again when a learner answers.

A learner can also refuse the actor for good: at the handshake (its key is not in the
allow-list, or one side has CURVE keys and the other none) or later with a refusal message
(its key was removed, or the actor id is not the name its key is listed under). Then
:attr:`ActorClient.refusal` says why, the client sends nothing more, and the caller should
stop (``robot-rl actor`` exits with status 3).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from robot_rl.transport import protocol as proto
from robot_rl.transport.keys import ClientCurve, address_problem, curve_required
from robot_rl.transport.protocol import TransportError, TransportOptions, WeightsUpdate
from robot_rl.transport.unacked import UnackedStore
from robot_rl.transport.wire import WireError, decode, encode

logger = logging.getLogger(__name__)

_MAX_DRAIN = 1000
_HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                     | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_SUCCEEDED)
_PLAIN_FAILURES_TO_REFUSE = 3
"""Handshakes in a row that an actor without keys sees fail before it takes the learner for
a CURVE one: the mismatch is not always reported as such (the learner may close first)."""


class ActorClient:
    """DEALER socket to one learner; poll-driven, never blocks past a deadline.

    Args:
        connect: learner address, e.g. ``tcp://10.0.0.2:5555``.
        actor_id: this actor's name (1..64 characters), unique among the learner's actors.
        curve: CURVE keys; required unless ``connect`` is loopback or ``insecure``.
        insecure: allow plaintext to a non-loopback address.
        options: timing and size settings.
        max_memory_bytes: unacknowledged batches kept in memory before spilling to disk.
        max_spill_bytes: bytes on disk before new batches are refused.
        spill_dir: parent directory of the spill files (default: system temp dir).
    """

    def __init__(
        self,
        connect: str,
        actor_id: str,
        curve: ClientCurve | None = None,
        *,
        insecure: bool = False,
        options: TransportOptions | None = None,
        max_memory_bytes: int = 64 * 1024 * 1024,
        max_spill_bytes: int = 4 * 1024**3,
        spill_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        problem = address_problem(connect, bind=False)
        if problem is not None:
            raise TransportError(problem)
        if curve is None and curve_required(connect) and not insecure:
            raise TransportError(f"{connect}: not loopback, so CURVE keys are required "
                                 "(robot-rl keys generate), or allow plaintext (--insecure, "
                                 "insecure=True)")
        if not proto.valid_actor_id(actor_id):
            raise TransportError(f"actor id {actor_id!r}: needs 1..64 printable characters "
                                 "and no white space")
        self.options = opts = options or TransportOptions()
        self.actor_id = actor_id
        self.incarnation = secrets.randbits(63)
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.linger = 0
        self._sock.immediate = True  # queue only on a live connection; we re-send ourselves
        self._sock.reconnect_ivl = 100
        self._sock.reconnect_ivl_max = 1000
        self._sock.maxmsgsize = opts.limits.max_message_bytes
        self._sock.rcvhwm = 128  # a paused actor holds at most this many weights/statuses
        self._sock.heartbeat_ivl = int(opts.heartbeat_s * 1000)
        self._sock.heartbeat_timeout = int(opts.peer_timeout_s * 1000)
        self._curve = curve is not None
        self._failed_in_row = 0  # handshake failures since the last success
        if curve is not None:
            self._sock.curve_publickey = curve.public
            self._sock.curve_secretkey = curve.secret
            self._sock.curve_serverkey = curve.server_public
        self._monitor: zmq.Socket | None = self._sock.get_monitor_socket(_HANDSHAKE_EVENTS)
        self._sock.connect(connect)
        self._refusal: str | None = None
        self._store = UnackedStore(max_memory_bytes, max_spill_bytes, spill_dir)
        self._session: int | None = None
        self._synced = False  # heard a status since start or since the learner was lost
        self._next_send = 1
        self._sent_max = 0
        self._acked = 0
        self._committed = 0
        self._progress_at = time.monotonic()
        self._rewound = (0, float("-inf"))
        self._last_rx = float("-inf")
        self._last_hb = float("-inf")
        self._last_reject_log = float("-inf")
        self._alive = False
        self._weights: WeightsUpdate | None = None
        self._weights_version = -1
        self.metrics: dict[str, int] = dict.fromkeys(
            ["sent_batches", "resent_batches", "acked_batches", "committed_batches",
             "refused_transitions", "rejected", "stale_weights", "weights_received",
             "learner_lost", "learner_restarts", "timeouts", "handshake_failures"], 0)

    # -- public API --------------------------------------------------------------------------

    def send_transitions(self, arrays: Mapping[str, np.ndarray]) -> int | None:
        """Numbers and stores one batch (arrays sharing their leading dimension) for sending.

        Returns:
            The batch's sequence number, or None if the store is full (counted, logged).

        Raises:
            ProtocolError: no common leading dimension, or a bad flag array
                (:data:`~robot_rl.transport.protocol.FLAG_ARRAYS`).
        """
        n = proto.batch_size(arrays)
        proto.check_flags(arrays, n)  # e.g. intervention: a bad flag never enters the stream
        meta = {"actor": self.actor_id, "inc": self.incarnation, "seq": self._store.next_seq,
                "n": n}
        seq = self._store.append(encode(proto.TRANSITIONS, meta, arrays, self.options.limits), n)
        if seq is None:
            if self.metrics["refused_transitions"] == 0:
                logger.error("unacknowledged store full: refusing transitions (learner away?)")
            self.metrics["refused_transitions"] += n
        return seq

    def poll(self, timeout_s: float = 0.0) -> int:
        """Sends what is due, waits up to ``timeout_s`` for messages and handles them.

        Returns:
            The number of messages received.
        """
        now = time.monotonic()
        self._send_due(now)
        received = 0
        if self._sock.poll(max(0, int(timeout_s * 1000))):
            for _ in range(_MAX_DRAIN):
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                received += 1
                if self._refusal is None:  # refused: nothing the learner says matters now
                    self._handle(frames, time.monotonic())
        self._drain_monitor()
        now = time.monotonic()
        self._check_liveness(now)
        self._send_due(now)
        return received

    def latest_weights(self) -> WeightsUpdate | None:
        """The newest weights received since the last call, or None. Versions only increase."""
        update, self._weights = self._weights, None
        return update

    def flush(self, timeout_s: float) -> bool:
        """Polls until the learner has committed every batch or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while self.pending_batches and self._refusal is None and time.monotonic() < deadline:
            self.poll(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.pending_batches == 0

    @property
    def learner_alive(self) -> bool:
        """False once the learner has been silent for ``options.peer_timeout_s`` (or refused
        this actor)."""
        self._check_liveness(time.monotonic())
        return self._alive

    @property
    def refusal(self) -> str | None:
        """Why the learner refused this actor for good, or None. Once set the client sends
        nothing more; stop the actor."""
        return self._refusal

    @property
    def weights_version(self) -> int:
        """Newest weights version received (-1: none yet)."""
        return self._weights_version

    @property
    def pending_batches(self) -> int:
        """Batches not yet committed by the learner."""
        return len(self._store)

    @property
    def pending_transitions(self) -> int:
        """Transitions not yet committed by the learner."""
        return self._store.pending_rows

    @property
    def spilled_batches(self) -> int:
        """Pending batches currently on disk."""
        return self._store.spilled_batches

    def close(self) -> None:
        """Closes the socket and deletes spilled batches (logs if some were never committed)."""
        if self._sock.closed:
            return
        if self.pending_batches:
            logger.warning("closing with %d uncommitted batches", self.pending_batches)
        if self._monitor is not None:
            self._sock.disable_monitor()
            self._monitor.close(0)
            self._monitor = None
        self._sock.close(0)
        self._ctx.term()
        self._store.close()

    def __enter__(self) -> ActorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _send(self, frames: list[bytes], now: float) -> bool:
        try:
            self._sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
        except zmq.Again:  # no live connection, or the send queue is full
            return False
        return True

    def _send_due(self, now: float) -> None:
        if self._refusal is not None:
            return
        if now - self._last_hb >= self.options.heartbeat_s:
            meta = {"actor": self.actor_id, "inc": self.incarnation,
                    "wv": self._weights_version, "committed": self._committed}
            if self._send(encode(proto.HEARTBEAT, meta), now):
                self._last_hb = now
        if not self._synced:
            return  # wait for the learner's status to learn where to resume
        if self._next_send - 1 > self._acked and now - self._progress_at > \
                self.options.resend_timeout_s:
            self.metrics["timeouts"] += 1
            self._rewind(self._acked + 1, now)
        while (self._next_send < self._store.next_seq
               and self._next_send - self._acked <= self.options.max_inflight):
            if self._next_send - 1 == self._acked:
                self._progress_at = now  # the ack timer starts with the first batch in flight
            if not self._send(self._store.get(self._next_send), now):
                break
            resent = self._next_send <= self._sent_max
            self.metrics["resent_batches" if resent else "sent_batches"] += 1
            self._sent_max = max(self._sent_max, self._next_send)
            self._next_send += 1

    def _rewind(self, seq: int, now: float) -> None:
        self._next_send = max(seq, self._store.first_seq)
        self._rewound = (seq, now)

    def _handle(self, frames: list[zmq.Frame], now: float) -> None:
        try:
            msg = decode(frames, self.options.limits)
            if msg.kind == proto.STATUS:
                self._on_status(proto.parse_status(msg), now)
            elif msg.kind == proto.WEIGHTS:
                head = proto.parse_weights(msg)
                self._on_contact(head.session, now)
                if head.version > self._weights_version:
                    self._weights_version = head.version
                    self._weights = WeightsUpdate(head.version, msg.arrays, head.meta)
                    self.metrics["weights_received"] += 1
                else:
                    self.metrics["stale_weights"] += 1
            elif msg.kind == proto.REFUSED:
                rf = proto.parse_refusal(msg)
                self._refuse(f"{rf.reason} ({rf.code})")
            else:
                raise proto.ProtocolError(f"unexpected kind {msg.kind!r}")
        except WireError as err:
            self.metrics["rejected"] += 1
            if now - self._last_reject_log >= 1.0:  # at most one line per second
                self._last_reject_log = now
                logger.warning("rejected a message from the learner (%d so far): %s",
                               self.metrics["rejected"], err)

    def _on_contact(self, session: int, now: float) -> None:
        self._last_rx = now
        if not self._alive:
            self._alive = True
            logger.info("learner reachable (session %x)", session)
        if session != self._session:
            if self._session is not None:
                self.metrics["learner_restarts"] += 1
                logger.warning("learner restarted (session %x -> %x): resuming from its marks",
                               self._session, session)
            self._session = session
            self._synced = False

    def _on_status(self, st: proto.Status, now: float) -> None:
        self._on_contact(st.session, now)
        newest = self._store.next_seq - 1  # a learner cannot hold more than we numbered
        st = st._replace(hwm=min(st.hwm, newest), committed=min(st.committed, newest))
        if st.committed > self._committed:
            released = self._store.release_upto(st.committed)
            self.metrics["committed_batches"] += released
            self._committed = st.committed
        if not self._synced:  # (re)start after the learner's hwm: it holds everything below
            self._synced = True
            self._acked = st.hwm
            self._rewind(max(st.hwm, self._committed) + 1, now)
            self._progress_at = now
            return
        if st.hwm > self._acked:
            self.metrics["acked_batches"] += st.hwm - self._acked
            self._acked = st.hwm
            self._progress_at = now
            if self._next_send <= self._acked:  # queued copies got there before a rewind
                self._next_send = self._acked + 1
        if st.gap:
            expected = st.hwm + 1
            last, at = self._rewound
            if expected > last or now - at > self.options.resend_timeout_s:
                self._rewind(expected, now)

    def _refuse(self, why: str) -> None:
        if self._refusal is None:
            self._refusal = why
            self._alive = self._synced = False
            logger.error("the learner refused this actor: %s", why)

    def _drain_monitor(self) -> None:
        # Handshake results: a refusal by the learner's allow-list (ZAP status 400) or a
        # CURVE/no-CURVE mismatch is final; other failures (a wrong learner.key looks like
        # this) are counted and the socket keeps retrying.
        while self._monitor is not None and self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            kind, value = event["event"], event["value"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._failed_in_row = 0
                continue
            self.metrics["handshake_failures"] += 1
            self._failed_in_row += 1
            if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self._refuse(f"the learner did not accept this actor's key {self.actor_id!r} "
                             f"(not in its allow-list; ZAP status {value})")
            elif (kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                  and value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH):
                self._refuse("security mechanism mismatch: the learner uses CURVE keys and this "
                             "actor has none, or the other way round (--keys)")
            elif not self._curve and self._failed_in_row >= _PLAIN_FAILURES_TO_REFUSE:
                # without keys a handshake cannot fail for any other reason
                self._refuse("security mechanism mismatch: the learner uses CURVE keys and this "
                             "actor has none (--keys); its handshakes failed "
                             f"{self._failed_in_row} times in a row")
            elif self.metrics["handshake_failures"] in (1, 10, 100, 1000):
                logger.warning("handshake with the learner failed %d times (wrong learner.key?)",
                               self.metrics["handshake_failures"])

    def _check_liveness(self, now: float) -> None:
        if self._alive and now - self._last_rx > self.options.peer_timeout_s:
            self._alive = False
            self._synced = False
            self.metrics["learner_lost"] += 1
            logger.warning("learner is dead: silent for %.2f s; keeping %d batches for later",
                           now - self._last_rx, self.pending_batches)
