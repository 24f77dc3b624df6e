"""ActorClient: buffering without a learner, re-sending after loss or restart, newest weights."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from robot_rl.transport import protocol as proto
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.protocol import TransportError, TransportOptions
from robot_rl.transport.wire import decode, encode

from .conftest import pump

pytestmark = pytest.mark.timeout(30)
FAST = TransportOptions(heartbeat_s=0.1, peer_timeout_s=0.5, resend_timeout_s=0.3)


def _free_endpoint() -> str:
    with LearnerServer("tcp://127.0.0.1:0") as probe:
        return probe.endpoint


def _batch(first_uid: int, n: int = 5) -> dict[str, np.ndarray]:
    return {"obs": np.random.default_rng(first_uid).random((n, 46), dtype=np.float32),
            "uid": np.arange(first_uid, first_uid + n, dtype=np.int64)}


def _uids(batches: list) -> list[int]:
    return [int(u) for b in batches for u in b.arrays["uid"]]


def test_buffers_and_spills_while_no_learner_then_delivers_exactly_once(tmp_path: Path) -> None:
    endpoint = _free_endpoint()
    with ActorClient(endpoint, "a", options=FAST, max_memory_bytes=4000,
                     spill_dir=tmp_path) as client:
        for i in range(40):  # nothing waits for the absent learner: each batch is stored
            assert client.send_transitions(_batch(5 * i)) == i + 1
            client.poll(0)
        assert not client.learner_alive and client.metrics["sent_batches"] == 0
        assert client.pending_transitions == 200 and client.spilled_batches > 30
        with LearnerServer(endpoint, options=FAST) as server:
            got: list = []
            assert pump([server], [client], lambda: len(got) == 40, 10.0, got)
            assert _uids(got) == list(range(200))
            server.commit(server.state_dict())
            assert client.flush(5.0) and client.spilled_batches == 0
        assert not list(tmp_path.glob("*/*.bin"))


def test_learner_death_is_noticed_and_restart_resumes_exactly_once() -> None:
    endpoint = _free_endpoint()
    stored: list = []
    with ActorClient(endpoint, "a", options=FAST) as client:
        server = LearnerServer(endpoint, options=FAST)
        for i in range(10):
            client.send_transitions(_batch(5 * i))
        got: list = []
        assert pump([server], [client], lambda: len(got) == 10, 5.0, got)
        stored += got[:6]  # the learner checkpoints after 6 batches, then "crashes"
        checkpoint = {"format": 1, "streams": {k: 6 for k in server.state_dict()["streams"]}}
        server.commit(checkpoint)
        assert pump([server], [client], lambda: client.pending_batches == 4, 5.0)
        assert client.learner_alive and client.metrics["learner_lost"] == 0
        server.close()
        for i in range(10, 20):  # the actor keeps producing while the learner is away
            client.send_transitions(_batch(5 * i))
            client.poll(0.01)
        # the learner's silence, not a stopwatch (issue 12): alive until it closed, then lost
        # once, with everything uncommitted kept for the next learner
        assert pump([], [client], lambda: not client.learner_alive, 10.0)
        assert client.metrics["learner_lost"] == 1 and client.pending_batches == 14
        with LearnerServer(endpoint, options=FAST) as restarted:
            restarted.load_state_dict(checkpoint)
            got = []
            assert pump([restarted], [client], lambda: len(got) == 14, 10.0, got)
            stored += got
            restarted.commit(restarted.state_dict())
            assert client.flush(5.0)
            assert client.metrics["learner_restarts"] == 1 and client.learner_alive
    assert sorted(_uids(stored)) == list(range(100)) and len(_uids(stored)) == 100


def test_full_store_refuses_and_counts() -> None:
    with ActorClient(_free_endpoint(), "a", max_memory_bytes=3000, max_spill_bytes=0) as client:
        assert client.send_transitions(_batch(0)) == 1
        refused = [client.send_transitions(_batch(i)) for i in range(5)]
        assert refused[-1] is None and client.metrics["refused_transitions"] > 0
        with pytest.raises(proto.ProtocolError, match="leading dimension"):
            client.send_transitions({"a": np.zeros(3), "b": np.zeros(4)})


class FakeLearner:
    """A bare ROUTER playing the learner, to make acks go missing on purpose."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind("tcp://127.0.0.1:0")
        self.endpoint = self.sock.last_endpoint.decode()
        self.peer = b""

    def status(self, hwm: int, gap: bool = False) -> None:
        self.sock.send_multipart([self.peer, *encode(proto.STATUS, {
            "session": 7, "hwm": hwm, "committed": 0, "gap": gap})])

    def next_batch(self, client: ActorClient, timeout_s: float = 5.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            client.poll(0)
            if self.sock.poll(5):
                self.peer, *frames = self.sock.recv_multipart()
                msg = decode(frames)
                if msg.kind == proto.HEARTBEAT:
                    self.status(self._hwm)
                else:
                    return proto.parse_batch(msg).seq
        raise AssertionError("no batch from the actor")

    _hwm = 0

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


class FrozenClock:
    """Stands in for the ``time`` module of the client: time moves only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


def test_unacknowledged_batches_are_resent_after_timeout_and_after_a_gap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from robot_rl.transport import actor_client

    clock = FrozenClock()  # the client's clock: the resend timer is checked, not timed
    monkeypatch.setattr(actor_client, "time", clock)
    fake = FakeLearner()
    try:
        with ActorClient(fake.endpoint, "a", options=FAST) as client:
            client.send_transitions(_batch(0))
            client.send_transitions(_batch(5))
            assert fake.next_batch(client) == 1
            assert fake.next_batch(client) == 2
            # both "lost": no ack. Not before resend_timeout_s of the client's time ...
            clock.now += 0.9 * FAST.resend_timeout_s
            client.poll(0)
            assert client.metrics["timeouts"] == client.metrics["resent_batches"] == 0
            # ... and at once after it: both again, from the first
            clock.now += 0.2 * FAST.resend_timeout_s
            client.poll(0)
            assert client.metrics["timeouts"] == 1 and client.metrics["resent_batches"] == 2
            assert fake.next_batch(client) == 1
            assert fake.next_batch(client) == 2
            fake._hwm = 1
            fake.status(1, gap=True)  # got 1, lost 2: the gap answer makes it go back to 2
            assert fake.next_batch(client) == 2
            assert client.metrics["timeouts"] == 1 and client.metrics["resent_batches"] == 3
    finally:
        fake.close()


def test_learner_never_sends_older_weights_than_the_actor_holds() -> None:
    endpoint = _free_endpoint()
    with ActorClient(endpoint, "a", options=FAST) as client:
        with LearnerServer(endpoint, options=FAST) as server:
            for v in (3, 5):
                server.publish_weights(v, {"w": np.full(4, v, np.float32)})
            assert pump([server], [client], lambda: client.weights_version == 5, 5.0)
        assert client.latest_weights().version == 5
        with LearnerServer(endpoint, options=FAST) as forgetful:  # restarted without its version
            forgetful.publish_weights(4, {"w": np.zeros(4, np.float32)})
            assert pump([forgetful], [client], lambda: forgetful.metrics["heartbeats"] >= 3, 5.0)
            assert forgetful.metrics["weights_sent"] == 0 and client.latest_weights() is None
            forgetful.publish_weights(6, {"w": np.ones(4, np.float32)})
            assert pump([forgetful], [client], lambda: client.weights_version == 6, 5.0)
        assert client.latest_weights().version == 6


def test_actor_applies_only_newer_weights_whatever_arrives() -> None:
    fake = FakeLearner()
    try:
        with ActorClient(fake.endpoint, "a", options=FAST) as client:
            client.send_transitions(_batch(0))
            assert fake.next_batch(client) == 1  # learns the actor's routing id
            returned = []
            for i, version in enumerate((5, 4, 5, 7, 6)):
                fake.sock.send_multipart([fake.peer, *encode(proto.WEIGHTS, {
                    "session": 7, "version": version, "meta": {}}, {"w": np.zeros(2)})])
                assert pump([], [client], lambda i=i: client.metrics["weights_received"]
                            + client.metrics["stale_weights"] == i + 1, 5.0)
                update = client.latest_weights()
                returned.append(update.version if update else None)
            assert returned == [5, None, None, 7, None]
            assert client.weights_version == 7 and client.metrics["stale_weights"] == 3
    finally:
        fake.close()


def test_non_loopback_needs_keys_unless_insecure() -> None:
    with pytest.raises(TransportError, match="CURVE"):
        ActorClient("tcp://10.255.255.1:5555", "a")
    with pytest.raises(TransportError, match="actor id"):
        ActorClient("tcp://127.0.0.1:5555", "")
    ActorClient("tcp://10.255.255.1:5555", "a", insecure=True).close()


def test_malformed_messages_from_the_learner_are_rejected_and_counted() -> None:
    fake = FakeLearner()
    rng = np.random.default_rng(7)
    try:
        with ActorClient(fake.endpoint, "a", options=FAST) as client:
            client.send_transitions(_batch(0))
            assert fake.next_batch(client) == 1
            garbage = [[rng.bytes(int(rng.integers(0, 64)))] for _ in range(50)]
            garbage += [encode(proto.STATUS, {"session": 7, "hwm": 1, "committed": 2,
                                              "gap": False})]  # committed > hwm
            garbage += [encode(proto.HEARTBEAT, {"actor": "x", "inc": 1, "wv": 0,
                                                 "committed": 0})]  # wrong direction
            for frames in garbage:
                fake.sock.send_multipart([fake.peer, *frames])
            assert pump([], [client], lambda: client.metrics["rejected"] == 52, 5.0)
            assert client.pending_batches == 1 and client.weights_version == -1
    finally:
        fake.close()
