"""CurveZMQ: an allow-listed key gets in; no key, an unknown key, or a fake learner key do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.keys import client_curve, generate_keys, server_curve
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.protocol import TransportOptions

from .conftest import pump

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    generate_keys(tmp_path / "keys", "learner")
    generate_keys(tmp_path / "keys", "good")
    generate_keys(tmp_path / "stranger", "bad")  # a valid key pair the learner never allowed
    generate_keys(tmp_path / "stranger", "learner")  # a key pair posing as the learner
    return tmp_path


def test_only_allow_listed_actors_push_transitions_or_get_weights(keys: Path) -> None:
    options = TransportOptions(heartbeat_s=0.1, peer_timeout_s=0.5)
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys / "keys"), options=options) as srv:
        srv.publish_weights(1, {"w": np.ones(8, np.float32)})
        good = ActorClient(srv.endpoint, "good", client_curve(keys / "keys", "good"),
                           options=options)
        bad = ActorClient(srv.endpoint, "bad", client_curve(
            keys / "stranger", "bad", server_key=keys / "keys" / "learner.key"), options=options)
        nokey = ActorClient(srv.endpoint, "nokey", options=options)
        fooled = ActorClient(srv.endpoint, "fooled", client_curve(
            keys / "keys", "good", server_key=keys / "stranger" / "learner.key"), options=options)
        clients = [good, bad, nokey, fooled]
        try:
            for client in clients:
                client.send_transitions({"uid": np.arange(4)})
            got: list = []
            # Each refused client fails its handshake at least once; wait for all three kinds
            # and a second round of retries, while the good actor gets through.
            assert pump([srv], clients, lambda: srv.metrics["handshake_failures"] >= 6
                        and good.weights_version == 1 and good.pending_batches == 1
                        and len(got) == 1, 10.0, got)
            assert [b.actor_id for b in got] == ["good"]
            assert srv.peers() == {"good": True}
            assert srv.metrics["rx_messages"] == srv.metrics["heartbeats"] + 1
            assert good.learner_alive
            for client in (bad, nokey, fooled):
                assert client.weights_version == -1 and client.latest_weights() is None
                assert not client.learner_alive and client.pending_batches == 1
        finally:
            for client in clients:
                client.close()


def test_key_directory_without_the_actor_key_refuses_everyone(keys: Path) -> None:
    allow_list = keys / "keys" / "actors"
    (allow_list / "good.key").unlink()
    with LearnerServer("tcp://127.0.0.1:0", server_curve(keys / "keys")) as srv:
        with ActorClient(srv.endpoint, "good", client_curve(keys / "keys", "good")) as good:
            assert pump([srv], [good], lambda: srv.metrics["handshake_failures"] >= 1, 10.0)
            assert srv.metrics["rx_messages"] == 0 and not good.learner_alive
