"""The learner's end: receives transition batches exactly once and sends the newest weights.

Usage loop (one thread; every call returns within its deadline)::

    server = LearnerServer("tcp://*:5555", curve=server_curve("keys/"))
    server.load_state_dict(checkpoint["transport"])       # after a restart
    while running:
        for batch in server.poll(timeout_s=0.01):
            replay.add(batch.arrays)                        # every batch, before state_dict()
        ...learn...
        server.publish_weights(version, policy_arrays, {"limit": 0.4})
        if checkpoint_due:
            state = server.state_dict()
            save_atomically(replay, state, version)         # store and state together
            server.commit(state)                            # now actors may forget those batches

Exactly once: a batch is accepted only if its seq is the stream's high-water mark + 1; lower
seqs are duplicates and dropped, higher ones are a gap (answered so the actor re-sends).
Actors keep every batch until :meth:`commit` reports it durable, so a learner killed between
two checkpoints restores the marks of the last one and receives the rest again.

Identity (with CURVE): a message may only name the actor id its key is allow-listed under
(``actors/<id>.key``); the allow-list is re-read while running, and a peer whose key left it,
or that names another actor, gets a refusal (``rf``) instead of an answer. Marks a peer
sends are checked and streams capped (:mod:`robot_rl.transport.streams`); warnings are
rate-limited per kind (:mod:`robot_rl.transport.ratelog`).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from robot_rl.transport import protocol as proto
from robot_rl.transport.gate import Gate
from robot_rl.transport.keys import ServerCurve, address_problem, curve_required
from robot_rl.transport.protocol import TransitionBatch, TransportError, TransportOptions
from robot_rl.transport.ratelog import RateLimitedLog
from robot_rl.transport.streams import MarkError, StreamMarks, stream_key
from robot_rl.transport.wire import WireError, decode, encode

logger = logging.getLogger(__name__)

_MAX_DRAIN = 1000
_QUEUE = 128
_EVENT_NAMES: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol or security mechanism mismatch (no key?)",
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "key not in the allow-list",
}
_HANDSHAKE_FAILED = sum(_EVENT_NAMES)  # distinct bits: the sum is the event mask


@dataclass
class _Peer:
    routing_id: bytes
    inc: int
    last_seen: float
    last_sent: float = float("-inf")
    alive: bool = True
    weights_held: int = -1
    weights_sent: int = -1
    weights_sent_at: float = float("-inf")
    status_due: bool = True
    gap: bool = False
    key: str | None = None  # Z85 CURVE public key it authenticated with (None: no CURVE)

    def stream(self, actor: str) -> str:
        return stream_key(actor, self.inc)


class LearnerServer:
    """ROUTER socket serving any number of actors; poll-driven, never blocks past a deadline.

    Args:
        bind: ZeroMQ address to bind, e.g. ``tcp://*:5555`` or ``tcp://127.0.0.1:0``.
        curve: CURVE keys and allow-list; required unless ``bind`` is loopback or ``insecure``.
        insecure: allow plaintext on a non-loopback address.
        options: timing and size settings.
    """

    def __init__(
        self,
        bind: str,
        curve: ServerCurve | None = None,
        *,
        insecure: bool = False,
        options: TransportOptions | None = None,
    ) -> None:
        problem = address_problem(bind, bind=True)
        if problem is not None:
            raise TransportError(problem)
        if curve is None and curve_required(bind) and not insecure:
            raise TransportError(f"{bind}: not loopback, so CURVE keys are required "
                                 "(robot-rl keys generate), or allow plaintext (--insecure, "
                                 "insecure=True)")
        self.options = opts = options or TransportOptions()
        self.session = secrets.randbits(63)
        self._ctx = zmq.Context()
        self._gate = Gate(self._ctx, curve, opts)
        self._sock = self._ctx.socket(zmq.ROUTER)
        self._sock.linger = 0
        self._sock.maxmsgsize = opts.limits.max_message_bytes
        self._sock.sndhwm = self._sock.rcvhwm = _QUEUE  # per actor; more is dropped or waits
        self._sock.heartbeat_ivl = int(opts.heartbeat_s * 1000)
        self._sock.heartbeat_timeout = int(opts.peer_timeout_s * 1000)
        if curve is not None:
            self._sock.curve_publickey = curve.public
            self._sock.curve_secretkey = curve.secret
            self._sock.curve_server = True
        self._monitor: zmq.Socket[bytes] | None = self._sock.get_monitor_socket(_HANDSHAKE_FAILED)
        try:
            self._sock.bind(bind)
        except zmq.ZMQError as err:
            self.close()
            raise TransportError(f"cannot bind {bind}: {err}") from None
        self.endpoint: str = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._marks = StreamMarks(opts.max_streams, opts.max_streams_per_actor, opts.max_gap,
                                  protect_s=max(10.0, 5 * opts.peer_timeout_s))
        self._peers: dict[str, _Peer] = {}
        self._weights: tuple[int, list[bytes]] | None = None
        self._log = RateLimitedLog(logger)
        self.metrics: dict[str, int] = dict.fromkeys(
            ["rx_messages", "rx_bytes", "rejected", "handshake_failures", "accepted_batches",
             "accepted_transitions", "duplicates", "gaps", "lost_batches", "weights_sent",
             "heartbeats", "peers_alive", "peer_deaths", "forged", "revoked", "bad_marks",
             "refusals_sent", "streams", "evicted_streams", "refused_streams",
             "log_suppressed"], 0)
        logger.info("learner listening on %s (CURVE %s)", self.endpoint,
                    "on" if curve else "off")

    def poll(self, timeout_s: float = 0.0) -> list[TransitionBatch]:
        """Waits up to ``timeout_s`` for messages, handles all that arrived, sends acks.

        Returns:
            The batches accepted by this call, in arrival order (each exactly once ever).
        """
        out: list[TransitionBatch] = []
        if self._sock.poll(max(0, int(timeout_s * 1000))):
            for _ in range(_MAX_DRAIN):
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._handle(frames, time.monotonic(), out)
        self._drain_monitor()
        now = time.monotonic()
        if self._gate.removals_due(now):
            self._revoke_removed(now)
        self._housekeeping(now)
        return out

    def publish_weights(
        self, version: int, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None
    ) -> None:
        """Sends weights to every live actor now and to every actor that lacks them later.

        Args:
            version: increasing version number (keep it in the learner checkpoint).
            arrays: named parameter arrays (policy, dynamics model, ...).
            meta: msgpack-native extras, e.g. the limit state.
        """
        if self._weights is not None and version <= self._weights[0]:
            raise ValueError(f"weights version {version} is not newer than {self._weights[0]}")
        frames = encode(proto.WEIGHTS, {"session": self.session, "version": int(version),
                                        "meta": dict(meta or {})}, arrays, self.options.limits)
        self._weights = (int(version), frames)
        now = time.monotonic()
        for peer in self._peers.values():
            if peer.alive:
                self._send_weights(peer, now)

    def state_dict(self) -> dict[str, Any]:
        """The de-duplication marks, to checkpoint together with the replay buffer."""
        return {"format": 1, "streams": self._marks.state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores marks from a checkpoint; they count as committed (a checkpoint is durable)."""
        streams = state.get("streams") if state.get("format") == 1 else None
        if not isinstance(streams, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in streams.items()
        ):
            raise ValueError("transport state: expected {'format': 1, 'streams': {str: int}}")
        self._marks.load(streams)
        for peer in self._peers.values():
            peer.status_due = True

    def commit(self, state: Mapping[str, Any]) -> None:
        """Tells actors that everything in ``state`` (from :meth:`state_dict`) is now durable."""
        self._marks.commit(state["streams"])
        for peer in self._peers.values():
            peer.status_due = True
        self._housekeeping(time.monotonic())

    def refuse(self, actor: str, code: str, reason: str) -> bool:
        """Refuses ``actor`` for good: it gets a refusal (``code`` one of
        :data:`~robot_rl.transport.protocol.REFUSAL_CODES`, ``reason`` cut to
        :data:`~robot_rl.transport.protocol.MAX_REASON` characters) and stops sending; its
        peer entry is forgotten (a message it still sends makes a new one). False: no such
        actor."""
        if code not in proto.REFUSAL_CODES:
            raise ValueError(f"refusal code {code!r}: expected one of "
                             f"{sorted(proto.REFUSAL_CODES)}")
        peer = self._peers.pop(actor, None)
        if peer is None:
            return False
        self._log.warning("refused", "refusing actor %s (%s): %s", actor, code, reason)
        self._refuse(peer.routing_id, code, reason[:proto.MAX_REASON], time.monotonic())
        return True

    def peers(self) -> dict[str, bool]:
        """Known actors and whether each is alive."""
        return {actor: peer.alive for actor, peer in self._peers.items()}

    def reload_allowed_keys(self) -> None:
        """Re-reads the allow-list now (:meth:`poll` also does when it changed, every
        ``options.allow_refresh_s``); refuses connected actors whose key left it."""
        if self._gate.removals_due(time.monotonic(), force=True):
            self._revoke_removed(time.monotonic())

    def close(self) -> None:
        """Closes sockets, stops the authenticator and the ZeroMQ context. Idempotent."""
        if self._sock.closed:
            return
        if self._monitor is not None:
            self._sock.disable_monitor()
            self._monitor.close(0)
            self._monitor = None
        self._sock.close(0)
        self._gate.close()
        self._ctx.term()

    def __enter__(self) -> LearnerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- receiving ---------------------------------------------------------------------------

    def _handle(self, frames: list[zmq.Frame], now: float, out: list[TransitionBatch]) -> None:
        self.metrics["rx_messages"] += 1
        self.metrics["rx_bytes"] += sum(len(f) for f in frames)
        routing_id = frames[0].bytes
        key = Gate.user_id(frames)
        try:
            refused = self._gate.check(key)
            if refused is not None:  # its key left the allow-list after the handshake
                self.metrics["revoked"] += 1
                self._refuse(routing_id, *refused, now)
                return
            msg = decode(frames[1:], self.options.limits)
            if msg.kind == proto.HEARTBEAT:
                hb = proto.parse_heartbeat(msg)
                if not self._identify(hb.actor, key, routing_id, now):
                    return
                lost = self._marks.heartbeat(hb.actor, hb.inc, hb.committed)
                peer = self._touch(hb.actor, hb.inc, routing_id, key, now)
                self.metrics["heartbeats"] += 1
                peer.weights_held = max(peer.weights_held, hb.wv)
                if self._weights is not None and hb.wv > self._weights[0]:
                    self._log.warning("version", "actor %s holds weights version %d, newer than "
                                      "ours (%d): keep the version in the checkpoint", hb.actor,
                                      hb.wv, self._weights[0])
                peer.status_due = True
                if lost:  # committed by a checkpoint we do not have: nobody holds them now
                    self.metrics["lost_batches"] += lost
                    self._log.error("lost", "stream %s: %d batches up to %d were committed but "
                                    "are not in the restored state (older checkpoint?); they "
                                    "are lost", peer.stream(hb.actor), lost, hb.committed)
            elif msg.kind == proto.TRANSITIONS:
                head = proto.parse_batch(msg)
                if not self._identify(head.actor, key, routing_id, now):
                    return
                verdict = self._marks.check_batch(head.actor, head.inc, head.seq)
                peer = self._touch(head.actor, head.inc, routing_id, key, now)
                self._accept(peer, head, verdict, msg.arrays, out)
            else:
                raise proto.ProtocolError(f"unexpected kind {msg.kind!r}")
        except MarkError as err:
            self.metrics["bad_marks"] += 1
            self._log.warning("marks", "refused marks (%d so far): %s", self.metrics["bad_marks"],
                              err)
        except WireError as err:
            self.metrics["rejected"] += 1
            self._log.warning("rejected", "rejected a message (%d so far): %s",
                              self.metrics["rejected"], err)
        finally:
            self.metrics["streams"] = len(self._marks)
            self.metrics["evicted_streams"] = self._marks.evicted
            self.metrics["refused_streams"] = self._marks.refused

    def _identify(self, actor: str, key: str | None, routing_id: bytes, now: float) -> bool:
        """With CURVE, the actor id in a message must be the name its key is listed under."""
        refused = self._gate.check(key, actor)
        if refused is None:
            return True
        self.metrics["forged"] += 1
        self._log.warning("forged", "refused a message from actor %s claiming to be %s (%d so "
                          "far)", self._gate.owner(key), actor, self.metrics["forged"])
        self._refuse(routing_id, *refused, now)
        return False

    def _touch(self, actor: str, inc: int, routing_id: bytes, key: str | None,
               now: float) -> _Peer:
        peer = self._peers.get(actor)
        if peer is None:
            if len(self._peers) >= self.options.max_peers:
                dead = next((a for a, p in self._peers.items() if not p.alive), None)
                if dead is None:
                    raise proto.ProtocolError(f"more than {self.options.max_peers} live actors")
                del self._peers[dead]  # its stream marks stay in the state
            peer = self._peers[actor] = _Peer(routing_id, inc, now)
            self._log.info("peers", "actor %s connected", actor)
        elif peer.inc != inc:
            self._log.info("peers", "actor %s restarted (new stream %x)", actor, inc)
            self._peers[actor] = peer = _Peer(routing_id, inc, now)
        elif not peer.alive:
            self._log.info("peers", "actor %s is back after %.1f s", actor, now - peer.last_seen)
            peer.alive = True
        peer.routing_id = routing_id
        peer.key = key
        peer.last_seen = now
        return peer

    def _accept(self, peer: _Peer, head: proto.BatchHeader, verdict: str,
                arrays: dict[str, np.ndarray], out: list[TransitionBatch]) -> None:
        peer.status_due = True
        if verdict == "duplicate":
            self.metrics["duplicates"] += 1
        elif verdict == "gap":
            self.metrics["gaps"] += 1
            peer.gap = True
        else:
            self._marks.accept(head.actor, head.inc, head.seq)
            self.metrics["accepted_batches"] += 1
            self.metrics["accepted_transitions"] += head.n
            out.append(TransitionBatch(head.actor, head.seq, arrays))

    def _revoke_removed(self, now: float) -> None:
        for actor, peer in list(self._peers.items()):
            refused = self._gate.check(peer.key, actor)  # key deleted (or now another's)
            if refused is not None:
                del self._peers[actor]
                self.metrics["revoked"] += 1
                logger.warning("actor %s: its key left the allow-list; refusing it", actor)
                self._refuse(peer.routing_id, *refused, now)

    def _refuse(self, routing_id: bytes, code: str, reason: str, now: float) -> None:
        frames = self._gate.refusal(routing_id, code, reason, self.session, now)
        if frames is not None:  # at most one per connection and heartbeat period
            self._sock.send_multipart([routing_id, *frames], zmq.NOBLOCK, copy=False)
            self.metrics["refusals_sent"] += 1

    def _drain_monitor(self) -> None:
        while self._monitor is not None and self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            self.metrics["handshake_failures"] += 1
            self._log.warning("handshake", "refused a connection (%d so far): %s",
                              self.metrics["handshake_failures"],
                              _EVENT_NAMES.get(event["event"], "?"))

    # -- sending -----------------------------------------------------------------------------

    def _housekeeping(self, now: float) -> None:
        alive = 0
        for actor, peer in self._peers.items():
            if peer.alive and now - peer.last_seen > self.options.peer_timeout_s:
                peer.alive = False
                self.metrics["peer_deaths"] += 1
                self._log.warning("dead", "actor %s is dead: silent for %.2f s", actor,
                                  now - peer.last_seen)
            if not peer.alive:
                continue
            alive += 1
            if peer.status_due or now - peer.last_sent >= self.options.heartbeat_s:
                self._send_status(actor, peer, now)
            if (self._weights is not None and peer.weights_held < self._weights[0]
                    and (peer.weights_sent < self._weights[0]
                         or now - peer.weights_sent_at > self.options.resend_timeout_s)):
                self._send_weights(peer, now)
        self.metrics["peers_alive"] = alive
        self._log.flush()
        self.metrics["log_suppressed"] = self._log.suppressed

    def _send(self, peer: _Peer, frames: list[bytes], now: float) -> None:
        # Never blocks: without ROUTER_MANDATORY a message to a gone or full peer is dropped.
        self._sock.send_multipart([peer.routing_id, *frames], zmq.NOBLOCK, copy=False)
        peer.last_sent = now

    def _send_status(self, actor: str, peer: _Peer, now: float) -> None:
        stream = peer.stream(actor)
        meta = {"session": self.session, "hwm": self._marks.hwm(stream),
                "committed": self._marks.committed(stream), "gap": peer.gap}
        self._send(peer, encode(proto.STATUS, meta), now)
        peer.status_due = peer.gap = False

    def _send_weights(self, peer: _Peer, now: float) -> None:
        assert self._weights is not None
        self._send(peer, self._weights[1], now)
        peer.weights_sent, peer.weights_sent_at = self._weights[0], now
        self.metrics["weights_sent"] += 1
