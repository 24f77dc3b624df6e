"""The learner's gate under CURVE: who may connect, and which actor id each key speaks for.

The ZAP authenticator (pyzmq's :class:`ThreadAuthenticator`, with a callback on the
:class:`~robot_rl.transport.allowlist.AllowList`) admits connections; every message of a CURVE
connection then carries the ZAP ``User-Id`` (the Z85 text of the client's public key), which
the gate maps to the actor id it is listed under. Without CURVE the gate admits everything:
there are no identities to check.
"""

from __future__ import annotations

import logging
import time

import zmq
from zmq.auth.thread import ThreadAuthenticator

from robot_rl.transport import protocol as proto
from robot_rl.transport.allowlist import AllowList
from robot_rl.transport.keys import ServerCurve
from robot_rl.transport.protocol import TransportOptions
from robot_rl.transport.wire import encode


class Gate:
    """Allow-list, authenticator and refusals for one learner socket.

    Args:
        ctx: the learner's ZeroMQ context (the authenticator lives in it).
        curve: the learner's CURVE settings; None: no identities.
        options: ``allow_refresh_s``, ``heartbeat_s`` and ``max_peers`` are used.
    """

    def __init__(self, ctx: zmq.Context, curve: ServerCurve | None,
                 options: TransportOptions) -> None:
        self.options = options
        self.allow = AllowList(curve.allowed_dir) if curve is not None else None
        self._auth: ThreadAuthenticator | None = None
        if self.allow is not None:
            log = logging.getLogger("robot_rl.transport.learner_server.zap")
            self._auth = ThreadAuthenticator(ctx, log=log)
            self._auth.start()
            self._auth.configure_curve_callback(domain="*", credentials_provider=self.allow)
        self._checked = time.monotonic()
        self._swept = 0  # allow-list version whose removals the learner has acted on
        self._refused_at: dict[bytes, float] = {}  # routing id -> last refusal sent

    @staticmethod
    def user_id(frames: list[zmq.Frame]) -> str | None:
        """The ZAP User-Id of a received message (frames after the routing id), if any."""
        if len(frames) < 2:
            return None
        try:
            user = frames[1].get("User-Id")
        except zmq.ZMQError:  # no such property: not a CURVE connection
            return None
        return user if isinstance(user, str) else None  # named properties are strings

    def check(self, key: str | None, actor: str | None = None) -> tuple[str, str] | None:
        """None if a message with this key may be handled (and speak for ``actor``, if given);
        else ``(code, reason)`` for the refusal."""
        if self.allow is None:
            return None
        owner = self.allow.name_of(key)
        if owner is None:
            return "revoked", "this actor's key was removed from the learner's allow-list"
        if actor is not None and owner != actor:
            return "forged", (f"the actor id {actor!r} is not the name of this actor's key "
                              f"({owner!r}): use --id {owner}")
        return None

    def owner(self, key: str | None) -> str | None:
        """The actor id a key is listed under now (None: not listed, or no CURVE)."""
        return None if self.allow is None else self.allow.name_of(key)

    def removals_due(self, now: float, force: bool = False) -> bool:
        """Re-reads the allow-list every ``allow_refresh_s`` (or now, with ``force``); True
        when it changed since the learner last acted on it (also via a handshake's re-read)."""
        if self.allow is None:
            return False
        if force or now - self._checked >= self.options.allow_refresh_s:
            self._checked = now
            self.allow.refresh(force)
        if self.allow.version == self._swept:
            return False
        self._swept = self.allow.version
        return True

    def refusal(self, routing_id: bytes, code: str, reason: str, session: int,
                now: float) -> list[bytes] | None:
        """The ``rf`` frames to send, or None: one per connection and heartbeat period."""
        if now - self._refused_at.get(routing_id, float("-inf")) < self.options.heartbeat_s:
            return None
        if len(self._refused_at) >= self.options.max_peers:
            self._refused_at.clear()
        self._refused_at[routing_id] = now
        return encode(proto.REFUSED, {"session": session, "code": code, "reason": reason})

    def close(self) -> None:
        """Stops the authenticator. Idempotent."""
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
