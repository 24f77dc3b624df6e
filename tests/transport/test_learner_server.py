"""LearnerServer: exactly-once acceptance, marks, liveness, weights, and 1,000 malformed frames."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import msgpack
import numpy as np
import pytest
import zmq

from robot_rl.transport import protocol as proto
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.protocol import TransportError, TransportOptions
from robot_rl.transport.wire import WireError, decode, encode

pytestmark = pytest.mark.timeout(30)


class RawActor:
    """A bare DEALER that speaks the protocol by hand, to test the server's decisions."""

    def __init__(self, endpoint: str, actor: str = "raw", inc: int = 1) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.actor, self.inc = actor, inc

    def heartbeat(self, wv: int = -1, committed: int = 0) -> None:
        self.sock.send_multipart(encode(proto.HEARTBEAT, {"actor": self.actor, "inc": self.inc,
                                                          "wv": wv, "committed": committed}))

    def batch(self, seq: int, n: int = 2) -> None:
        meta = {"actor": self.actor, "inc": self.inc, "seq": seq, "n": n}
        self.sock.send_multipart(encode(proto.TRANSITIONS, meta, {"uid": np.full(n, seq)}))

    def received(self, server: LearnerServer, timeout_s: float = 5.0) -> Iterator:
        """Polls the server until this socket has a message; yields decoded messages."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            server.poll(0.005)
            while self.sock.poll(0):
                yield decode(self.sock.recv_multipart())

    def status_where(self, server: LearnerServer, cond: Callable[[proto.Status], bool]):
        for msg in self.received(server):
            if msg.kind == proto.STATUS and cond(st := proto.parse_status(msg)):
                return st
        raise AssertionError("no matching status from the learner")

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def server() -> Iterator[LearnerServer]:
    with LearnerServer("tcp://127.0.0.1:0") as srv:
        yield srv


def _collect(server: LearnerServer, want: int, timeout_s: float = 5.0) -> list:
    out: list = []
    deadline = time.monotonic() + timeout_s
    while len(out) < want and time.monotonic() < deadline:
        out += server.poll(0.005)
    return out


def test_accepts_in_order_drops_duplicates_and_flags_gaps(server: LearnerServer) -> None:
    raw = RawActor(server.endpoint)
    try:
        for seq in [1, 2, 2, 1, 4, 3, 3]:
            raw.batch(seq)
        batches = _collect(server, 3)
        assert [(b.actor_id, b.seq) for b in batches] == [("raw", 1), ("raw", 2), ("raw", 3)]
        assert [b.arrays["uid"][0] for b in batches] == [1, 2, 3]
        assert server.metrics["duplicates"] == 3 and server.metrics["gaps"] == 1
        raw.status_where(server, lambda st: st.hwm == 3 and st.committed == 0)
        raw.batch(4)
        assert [b.seq for b in _collect(server, 1)] == [4]
    finally:
        raw.close()


def test_gap_is_answered_so_the_actor_can_go_back(server: LearnerServer) -> None:
    raw = RawActor(server.endpoint)
    try:
        raw.batch(5)
        st = raw.status_where(server, lambda st: st.gap)
        assert st.hwm == 0 and server.metrics["accepted_batches"] == 0
    finally:
        raw.close()


def test_commit_and_restored_state_keep_exactly_once(server: LearnerServer) -> None:
    raw = RawActor(server.endpoint)
    try:
        for seq in (1, 2, 3):
            raw.batch(seq)
        assert len(_collect(server, 3)) == 3
        state = server.state_dict()
        raw.status_where(server, lambda st: st.hwm == 3 and st.committed == 0)
        server.commit(state)
        raw.status_where(server, lambda st: st.committed == 3)
        endpoint = server.endpoint
    finally:
        raw.close()
    server.close()
    with LearnerServer(endpoint) as restarted:  # same port, new session, restored marks
        restarted.load_state_dict(state)
        raw = RawActor(endpoint)
        try:
            raw.heartbeat(committed=3)
            st = raw.status_where(restarted, lambda st: True)
            assert (st.hwm, st.committed) == (3, 3) and st.session != server.session
            for seq in (2, 3, 4):
                raw.batch(seq)
            assert [b.seq for b in _collect(restarted, 1)] == [4]
            assert restarted.metrics["duplicates"] == 2
        finally:
            raw.close()


def test_hole_behind_actor_commit_is_skipped_and_counted(server: LearnerServer) -> None:
    raw = RawActor(server.endpoint)
    try:
        raw.heartbeat(committed=5)  # told "durable up to 5" by a checkpoint we do not have
        raw.batch(6)
        assert [b.seq for b in _collect(server, 1)] == [6]
        assert server.metrics["lost_batches"] == 5
    finally:
        raw.close()


def test_bad_state_is_refused(server: LearnerServer) -> None:
    for bad in [{}, {"format": 2, "streams": {}}, {"format": 1, "streams": {"a": -1}},
                {"format": 1, "streams": {"a": "1"}}]:
        with pytest.raises(ValueError, match="transport state"):
            server.load_state_dict(bad)


def test_weights_go_to_live_and_late_actors_newest_only(server: LearnerServer) -> None:
    early = ActorClient(server.endpoint, "early")
    try:
        assert _pump_until(server, [early], lambda: early.learner_alive)
        server.publish_weights(1, {"w": np.zeros(3, np.float32)})
        server.publish_weights(2, {"w": np.ones(3, np.float32)}, {"limit": 0.5})
        with pytest.raises(ValueError, match="not newer"):
            server.publish_weights(2, {"w": np.ones(3, np.float32)})
        late = ActorClient(server.endpoint, "late")
        try:
            assert _pump_until(server, [early, late],
                               lambda: early.weights_version == late.weights_version == 2)
            for client in (early, late):
                update = client.latest_weights()
                assert update is not None and update.version == 2 and update.meta == {
                    "limit": 0.5}
                np.testing.assert_array_equal(update.arrays["w"], 1.0)
                assert client.latest_weights() is None
        finally:
            late.close()
    finally:
        early.close()


def _pump_until(server: LearnerServer, clients: list, cond: Callable[[], bool],
                timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.poll(0.005)
        for client in clients:
            client.poll(0)
        if cond():
            return True
    return False


def test_refuse_tells_only_that_actor_why_and_cuts_a_long_reason(server: LearnerServer) -> None:
    wrong, right = ActorClient(server.endpoint, "wrong"), ActorClient(server.endpoint, "right")
    try:
        assert _pump_until(server, [wrong, right],
                           lambda: wrong.learner_alive and right.learner_alive)
        with pytest.raises(ValueError, match="refusal code 'nope'"):
            server.refuse("wrong", "nope", "why")
        assert not server.refuse("nobody", "mismatch", "why")
        assert server.refuse("wrong", "mismatch", "x" * 1000)
        assert _pump_until(server, [wrong, right], lambda: wrong.refusal is not None)
        assert wrong.refusal == "x" * proto.MAX_REASON + " (mismatch)"
        assert not wrong.learner_alive
        assert right.refusal is None and right.learner_alive
        assert server.metrics["refusals_sent"] == 1 and "wrong" not in server.peers()
    finally:
        wrong.close()
        right.close()


class FrozenClock:
    """Stands in for the ``time`` module of the server: time moves only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


def test_dead_actor_is_detected_and_logged(
    server: LearnerServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = ActorClient(server.endpoint, "mortal")
    assert _pump_until(server, [client], lambda: server.peers() == {"mortal": True})
    client.close()
    with caplog.at_level(logging.WARNING, logger="robot_rl.transport.learner_server"):
        assert _pump_until(server, [], lambda: server.peers() == {"mortal": False}, 10.0)
    assert server.metrics["peer_deaths"] == 1 and server.metrics["peers_alive"] == 0
    assert "actor mortal is dead" in caplog.text


def test_an_actor_is_dead_after_peer_timeout_s_of_silence_not_before(
    server: LearnerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from robot_rl.transport import learner_server

    assert server.options.peer_timeout_s == 2.0
    clock = FrozenClock()  # the server's clock: the rule is checked, not timed (issue 12)
    monkeypatch.setattr(learner_server, "time", clock)
    raw = RawActor(server.endpoint, "quiet")
    try:
        raw.heartbeat()  # its only message: heard at clock.now
        assert _pump_until(server, [], lambda: server.peers() == {"quiet": True})
        heard = clock.now
        clock.now = heard + 0.99 * server.options.peer_timeout_s
        server.poll(0)
        assert server.peers() == {"quiet": True} and server.metrics["peer_deaths"] == 0
        clock.now = heard + 1.01 * server.options.peer_timeout_s
        server.poll(0)
        assert server.peers() == {"quiet": False} and server.metrics["peer_deaths"] == 1
        assert server.metrics["rx_messages"] == 1 and server.metrics["peers_alive"] == 0
        raw.heartbeat()  # and back when it speaks again
        assert _pump_until(server, [], lambda: server.peers() == {"quiet": True})
        assert server.metrics["peers_alive"] == 1
    finally:
        raw.close()


def test_non_loopback_needs_keys_unless_insecure() -> None:
    with pytest.raises(TransportError, match="CURVE"):
        LearnerServer("tcp://*:0")
    with LearnerServer("tcp://*:0", insecure=True) as srv:
        assert srv.endpoint.startswith("tcp://")
    with pytest.raises(TransportError, match="heartbeat_s"):
        TransportOptions(heartbeat_s=3.0, peer_timeout_s=2.0)


def test_too_many_actors_are_rejected() -> None:
    with LearnerServer("tcp://127.0.0.1:0", options=TransportOptions(max_peers=1)) as srv:
        first, second = RawActor(srv.endpoint, "one"), RawActor(srv.endpoint, "two")
        try:
            first.heartbeat()
            second.heartbeat()
            assert _pump_until(srv, [], lambda: srv.metrics["rx_messages"] == 2)
            assert len(srv.peers()) == 1 and srv.metrics["rejected"] == 1
        finally:
            first.close()
            second.close()


# -- 1,000 malformed frames --------------------------------------------------------------------

def _valid_messages() -> list[list[bytes]]:
    hb = {"actor": "fz", "inc": 9, "wv": -1, "committed": 0}
    tr = {"actor": "fz", "inc": 9, "seq": 1, "n": 2}
    arrays = {"obs": np.zeros((2, 46), np.float32), "done": np.array([True, False])}
    return [encode(proto.HEARTBEAT, hb), encode(proto.TRANSITIONS, tr, arrays)]


def _is_malformed(frames: list[bytes]) -> bool:
    """True if the server must reject this message (decode or protocol check fails)."""
    try:
        msg = decode(frames)
        parse = {proto.HEARTBEAT: proto.parse_heartbeat, proto.TRANSITIONS: proto.parse_batch}
        if msg.kind not in parse:
            return True
        parse[msg.kind](msg)
    except WireError:
        return True
    return False


def _mutations(rng: np.random.Generator) -> Iterator[list[bytes]]:
    """Endless mix of malformed messages: noise, bit flips, truncation, bad headers/fields."""
    valid = _valid_messages()
    bad_headers = [
        {"v": 2, "kind": "tr", "meta": {}, "arrays": []},
        {"v": 1, "kind": "tr", "meta": {}, "arrays": [["obs", "|O", [2]]]},
        {"v": 1, "kind": "hb", "meta": {"actor": "x", "inc": -1, "wv": 0, "committed": 0},
         "arrays": []},
        {"v": 1, "kind": "hb", "meta": {"actor": "", "inc": 1, "wv": 0, "committed": 0},
         "arrays": []},
        {"v": 1, "kind": "tr", "meta": {"actor": "x", "inc": 1, "seq": 0, "n": 1},
         "arrays": [["a", "<f4", [1]]]},
        {"v": 1, "kind": "tr", "meta": {"actor": "x", "inc": 1, "seq": 1, "n": 3},
         "arrays": [["a", "<f4", [1]]]},
        {"v": 1, "kind": "st", "meta": {}, "arrays": []},
        {"v": 1, "kind": "w", "meta": {}, "arrays": []},
        {"v": 1, "kind": "hb", "meta": {"actor": "x", "inc": 1.5, "wv": 0, "committed": True},
         "arrays": []},
        [1, 2, 3],
        "hello",
    ]
    while True:
        choice = rng.integers(6)
        base = [bytes(f) for f in valid[rng.integers(len(valid))]]
        if choice == 0:
            yield [rng.bytes(int(rng.integers(0, 200))) for _ in range(rng.integers(1, 4))]
        elif choice == 1:
            header = bytearray(base[0])
            for _ in range(rng.integers(1, 4)):
                header[rng.integers(len(header))] ^= 1 << int(rng.integers(8))
            yield [bytes(header), *base[1:]]
        elif choice == 2:
            i = int(rng.integers(len(base)))
            base[i] = base[i][: int(rng.integers(0, max(1, len(base[i]))))]
            yield base
        elif choice == 3:
            header = bad_headers[rng.integers(len(bad_headers))]
            n = len(header["arrays"]) if isinstance(header, dict) else 0
            yield [msgpack.packb(header), *[b"\0\0\0\0"] * n]
        elif choice == 4:
            yield base + [rng.bytes(int(rng.integers(0, 16)))] * int(rng.integers(1, 70))
        else:
            yield base[: max(1, len(base) - 1)] if len(base) > 1 else [b"", *base]


def test_thousand_malformed_messages_are_rejected_counted_and_server_keeps_serving(
    server: LearnerServer,
) -> None:
    rng = np.random.default_rng(1234)
    sent = 0
    raw = RawActor(server.endpoint)
    try:
        for frames in _mutations(rng):
            if _is_malformed(frames):
                raw.sock.send_multipart(frames)
                sent += 1
                if sent == 1000:
                    break
        assert _pump_until(server, [], lambda: server.metrics["rx_messages"] == 1000, 15.0)
        assert server.metrics["rejected"] == 1000
        assert server.metrics["accepted_batches"] == 0 and server.peers() == {}
        good = ActorClient(server.endpoint, "good")
        try:
            good.send_transitions({"uid": np.arange(3)})
            batches: list = []
            deadline = time.monotonic() + 5.0
            while not batches and time.monotonic() < deadline:
                batches += server.poll(0.005)
                good.poll(0)
            assert [b.arrays["uid"].tolist() for b in batches] == [[0, 1, 2]]
        finally:
            good.close()
        assert server.metrics["rejected"] == 1000
    finally:
        raw.close()
