"""The intervention flag through ZeroMQ (real sockets, the learner) and through MCAP."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.control import Transition
from robot_rl.distributed.learner_loop import LearnerSettings, make_learner
from robot_rl.nodes.session_record import SessionRecorder, recording_to_prior
from robot_rl.runs import RunDir, read_metrics
from robot_rl.sac.prior import MixedReplayBuffer
from robot_rl.transport import ActorClient, LearnerServer
from robot_rl.transport.protocol import ProtocolError, TransportOptions
from tests.conftest import write_config

FAST = TransportOptions(heartbeat_s=0.1, peer_timeout_s=1.0, resend_timeout_s=0.3)


def _batch(first: int, n: int, obs_dim: int, act_dim: int,
           flags: np.ndarray | None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(first)
    obs = rng.normal(size=(n, obs_dim)).astype(np.float32)
    out = {"obs": obs, "action": rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
           "reward": np.ones(n, np.float32), "next_obs": obs + 1,
           "terminated": np.zeros(n, bool), "truncated": np.arange(n) == n - 1,
           "step": np.arange(first, first + n, dtype=np.int64)}
    if flags is not None:
        out["intervention"] = flags
    return out


@pytest.mark.timeout(60)
def test_the_actor_client_refuses_bad_flags() -> None:
    client = ActorClient("tcp://127.0.0.1:1", "a", options=FAST)
    try:
        good = _batch(0, 3, 4, 2, np.array([True, False, True]))
        assert client.send_transitions(good) is not None
        for bad in (np.array([0, 2, 1], np.int8), np.array([0.0, 1.0, 1.0]),
                    np.zeros((3, 2), bool)):
            with pytest.raises(ProtocolError, match="intervention"):
                client.send_transitions(_batch(0, 3, 4, 2, bad))
        with pytest.raises(ProtocolError, match="common leading dimension"):
            client.send_transitions(_batch(0, 3, 4, 2, np.zeros(2, bool)))
    finally:
        client.close()


def test_the_flag_crosses_zeromq_into_both_buffers_and_bad_flags_are_dropped(
        tmp_path: Path, a1_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    obs_dim_probe = load_config(str(a1_path))
    from robot_rl.envs import RobotEnv

    env = RobotEnv(obs_dim_probe, seed=0)
    o, a = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    prior = tmp_path / "demos.npz"
    np.savez(prior, **{k: v for k, v in _batch(0, 4, o, a, None).items() if k != "step"})
    cfg = load_config(str(write_config(tmp_path, a1_path, {"learner": {
        "hidden": [8, 8], "warmup_steps": 1000, "batch_size": 4, "buffer_size": 100,
        "prior_data": str(prior)}})))
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    settings = LearnerSettings(publish_every=100, checkpoint_every=1000, log_every=5,
                               checkpoint_idle_s=60, linger_s=0.0, tensorboard=False)
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(cfg, server, run, settings)
    client = ActorClient(server.endpoint, "operator-robot", options=FAST)
    assert isinstance(learner.buffer, MixedReplayBuffer) and len(learner.buffer.prior) == 4
    try:
        flags = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 1], bool)
        client.send_transitions(_batch(10, 10, o, a, flags))
        client.send_transitions(_batch(20, 5, o, a, None))  # a plain actor: no flag
        # a peer that skips the client's check: the learner drops its batches
        monkeypatch.setattr("robot_rl.transport.protocol.check_flags", lambda arrays, n: None)
        client.send_transitions(_batch(30, 5, o, a, np.array([0, 2, 0, 0, 0], np.int8)))
        client.send_transitions(_batch(40, 5, o, a, np.zeros((5, 2), bool)))  # wrong shape
        deadline = time.monotonic() + 30
        while learner.received < 15 or learner.bad_transitions < 10:
            assert time.monotonic() < deadline, (learner.received, learner.bad_transitions)
            client.poll(0.0)
            learner.step(0.005)
        assert learner.interventions == 4 and len(learner.buffer) == 15
        assert len(learner.buffer.prior) == 4 + 4  # the loaded demos kept, 4 operator rows
        stored = learner.buffer.prior.data["obs"][4:8]
        sent = _batch(10, 10, o, a, flags)["obs"][flags]
        np.testing.assert_array_equal(stored, sent)
        learner.shutdown()
    finally:
        client.close()
        server.close()
    episodes = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "episode"]
    assert episodes[0]["intervention_rate"] == pytest.approx(0.4)
    assert "intervention_rate" not in episodes[1]


def test_the_flag_survives_mcap(tmp_path: Path) -> None:
    path = tmp_path / "session.mcap"
    rec = SessionRecorder(path)
    for i, person in enumerate([False, True, True, False]):
        obs = np.full(3, float(i), np.float32)
        rec.transition(Transition(obs, np.zeros(2, np.float32), 1.0, obs + 1, False, i == 3,
                                  i, "reach", None, person), log_time_ns=i * 1000)
    rec.close()
    out = tmp_path / "prior.npz"
    assert recording_to_prior([path], out) == 4
    np.testing.assert_array_equal(np.load(out)["intervention"], [0, 1, 1, 0])
