"""Identity and revocation with CurveZMQ: an actor id is bound to its key, keys can be removed
while the learner runs, and refused actors are told why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zmq

from robot_rl.transport import protocol as proto
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.keys import ClientCurve, client_curve, generate_keys, server_curve
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.protocol import TransportOptions
from robot_rl.transport.wire import decode, encode

from .conftest import pump

pytestmark = pytest.mark.timeout(30)

FAST = TransportOptions(heartbeat_s=0.1, peer_timeout_s=0.6, resend_timeout_s=0.3)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    for name in ("learner", "a0", "a1"):
        generate_keys(tmp_path / "keys", name)
    return tmp_path / "keys"


class CurveDealer:
    """A bare DEALER with a real allow-listed key that writes whatever headers it likes."""

    def __init__(self, endpoint: str, curve: ClientCurve) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.sndtimeo = 2000
        self.sock.curve_publickey, self.sock.curve_secretkey = curve.public, curve.secret
        self.sock.curve_serverkey = curve.server_public
        self.sock.connect(endpoint)

    def send(self, kind: str, meta: dict, arrays: dict | None = None) -> None:
        self.sock.send_multipart(encode(kind, meta, arrays or {}))

    def refusals(self) -> list[proto.Refusal]:
        out = []
        while self.sock.poll(0):
            msg = decode(self.sock.recv_multipart())
            if msg.kind == proto.REFUSED:
                out.append(proto.parse_refusal(msg))
        return out

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def _uids(batches: list, actor: str) -> list[int]:
    return sorted(int(u) for b in batches if b.actor_id == actor for u in b.arrays["uid"])


def test_an_actor_cannot_speak_for_another(keys: Path) -> None:
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys), options=FAST) as srv:
        victim = ActorClient(srv.endpoint, "a0", client_curve(keys, "a0"), options=FAST)
        # a1's key with a0's id: through the actor client, and by hand on the victim's stream
        liar = ActorClient(srv.endpoint, "a0", client_curve(keys, "a1"), options=FAST)
        raw = CurveDealer(srv.endpoint, client_curve(keys, "a1"))
        got: list = []
        try:
            for i in range(3):
                victim.send_transitions({"uid": np.arange(10 * i, 10 * i + 10)})
                liar.send_transitions({"uid": np.full(5, -1)})
            assert pump([srv], [victim, liar], lambda: victim.pending_batches == 3 and len(
                got) == 3 and liar.refusal is not None, 10.0, got)
            before = (dict(srv.state_dict()["streams"]), dict(victim.metrics))
            forged = srv.metrics["forged"]
            inc = victim.incarnation  # the worst case: the forger even knows the victim's inc
            for seq in range(4, 40):
                raw.send(proto.TRANSITIONS, {"actor": "a0", "inc": inc, "seq": seq, "n": 1},
                         {"uid": np.array([-2])})
            raw.send(proto.HEARTBEAT, {"actor": "a0", "inc": inc, "wv": 2**62,
                                       "committed": 2**62})
            assert pump([srv], [victim], lambda: srv.metrics["forged"] == forged + 37, 10.0, got)
            srv.commit(srv.state_dict())
            assert pump([srv], [victim], lambda: victim.pending_batches == 0, 10.0, got)
        finally:
            for c in (victim, liar, raw):
                c.close()
        # nothing of the forger's reached the learner, and the victim's stream is its own
        assert _uids(got, "a0") == list(range(30)) and {b.actor_id for b in got} == {"a0"}
        assert before[0] == {f"a0#{inc:x}": 3} == srv.state_dict()["streams"]
        assert srv.metrics["lost_batches"] == srv.metrics["gaps"] == 0
        assert srv.metrics["duplicates"] == 0 and srv.peers() == {"a0": True}
        m = victim.metrics
        assert m["committed_batches"] == 3 and m["learner_restarts"] == m["rejected"] == 0
        assert before[1]["timeouts"] == m["timeouts"] == 0
        # the forger was told, and its client gives up with the reason
        assert "'a0' is not the name of this actor's key ('a1')" in liar.refusal
        assert "(forged)" in liar.refusal and liar.metrics["acked_batches"] == 0
        assert srv.metrics["refusals_sent"] >= 2


def _count_rereads(srv: LearnerServer) -> list[bool]:
    """From now on, one entry per re-read of the server's allow-list: whether keys changed."""
    allow = srv._gate.allow
    assert allow is not None
    reread, seen = allow.refresh, []

    def counted(force: bool = False) -> bool:
        changed = reread(force)
        seen.append(changed)
        return changed

    allow.refresh = counted  # type: ignore[method-assign]
    return seen


def test_a_key_deleted_while_running_is_refused_within_seconds(keys: Path) -> None:
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys), options=FAST) as srv:
        a0 = ActorClient(srv.endpoint, "a0", client_curve(keys, "a0"), options=FAST)
        a1 = ActorClient(srv.endpoint, "a1", client_curve(keys, "a1"), options=FAST)
        raw = CurveDealer(srv.endpoint, client_curve(keys, "a1"))  # a1's key, connected too
        clients = [a0, a1]
        got: list = []
        try:
            for c in clients:
                c.send_transitions({"uid": np.arange(3)})
            assert pump([srv], clients, lambda: len(got) == 2, 10.0, got)
            rereads = _count_rereads(srv)  # the learner's own re-reads of its allow-list
            (keys / "actors" / "a1.key").unlink()
            assert a1.refusal is None and srv.metrics["revoked"] == 0
            assert pump([srv], clients, lambda: a1.refusal is not None, 10.0, got)
            # not a stopwatch (issue 12) but the cause: the first re-read after the removal
            # (every allow_refresh_s, from poll; no restart, no reload call) saw the key gone,
            # and that re-read is what refused a1
            assert rereads[0] is True and rereads.count(True) == 1, rereads
            assert srv.metrics["revoked"] >= 1
            assert "removed from the learner's allow-list (revoked)" in a1.refusal
            assert not a1.learner_alive and a1.flush(1.0) is False
            # the connection authenticated before the removal is refused message by message
            accepted = srv.metrics["accepted_batches"]
            raw.send(proto.TRANSITIONS, {"actor": "a1", "inc": 5, "seq": 1, "n": 1},
                     {"uid": np.array([7])})
            told: list[proto.Refusal] = []
            assert pump([srv], [a0], lambda: bool(told.extend(raw.refusals()) or told), 5.0,
                        got)
            assert {r.code for r in told} == {"revoked"}
            assert srv.metrics["accepted_batches"] == accepted
            # the other actor goes on; the revoked one adds nothing
            a0.send_transitions({"uid": np.arange(3, 6)})
            assert pump([srv], [a0], lambda: srv.metrics["accepted_batches"] == accepted + 1,
                        5.0, got)
            assert {b.actor_id for b in got[2:]} == {"a0"} and srv.peers() == {"a0": True}
            # a new connection with the removed key fails the handshake, and says so
            again = ActorClient(srv.endpoint, "a1", client_curve(keys, "a1"), options=FAST)
            clients.append(again)
            assert pump([srv], [again], lambda: again.refusal is not None, 5.0)
            assert "not in its allow-list" in again.refusal
            # putting the key back lets a new a1 in, again without a restart
            generate_keys(keys, "a1", overwrite=True)
            back = ActorClient(srv.endpoint, "a1", client_curve(keys, "a1"), options=FAST)
            clients.append(back)
            back.send_transitions({"uid": np.arange(2)})
            assert pump([srv], [back], lambda: any(b.actor_id == "a1" for b in got[3:]), 5.0,
                        got)
            assert back.refusal is None
        finally:
            for c in (*clients, raw):
                c.close()
        assert srv.metrics["revoked"] >= 2


def test_unlisted_key_and_missing_key_are_refused_with_a_reason(keys: Path,
                                                                 tmp_path: Path) -> None:
    generate_keys(tmp_path / "other", "a9")
    stranger = client_curve(tmp_path / "other", "a9", server_key=keys / "learner.key")
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys), options=FAST) as srv:
        unlisted = ActorClient(srv.endpoint, "a9", stranger, options=FAST)
        nokey = ActorClient(srv.endpoint, "a0", options=FAST)
        try:
            assert pump([srv], [unlisted, nokey], lambda: None not in (
                unlisted.refusal, nokey.refusal), 10.0)
            assert "'a9' (not in its allow-list; ZAP status 400)" in unlisted.refusal
            assert "security mechanism mismatch" in nokey.refusal
        finally:
            unlisted.close()
            nokey.close()
