"""The actor's session recording: ros2 MCAP, and conversion into prior data for the replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.nodes.actor_core import Transition
from robot_rl.nodes.ros_messages import labelled, unlabel
from robot_rl.nodes.session_record import (
    EVENTS_TOPIC,
    TRANSITIONS_TOPIC,
    SessionRecorder,
    recording_to_prior,
)
from robot_rl.ros import msgs
from robot_rl.ros.recording import read_recording
from robot_rl.ros.wire import QOS_SENSOR_DATA
from robot_rl.sac import ReplayBuffer
from robot_rl.sac.prior import load_transitions


def transitions(n: int, obs_dim: int = 5, act_dim: int = 2) -> list[Transition]:
    rng = np.random.default_rng(0)
    return [Transition(rng.normal(size=obs_dim).astype(np.float32),
                       rng.uniform(-1, 1, act_dim).astype(np.float32), float(i),
                       rng.normal(size=obs_dim).astype(np.float32), i == n - 1, i == 2, i,
                       "walk") for i in range(n)]


def test_labelled_round_trip_and_bad_layout() -> None:
    msg = labelled({"a": [1.0, 2.0], "b": [3.0]})
    assert {k: v.tolist() for k, v in unlabel(msg).items()} == {"a": [1.0, 2.0], "b": [3.0]}
    msg.data = msg.data[:2]
    with pytest.raises(ValueError):
        unlabel(msg)


def test_recording_holds_states_events_transitions_and_converts_to_prior(
        tmp_path: Path) -> None:
    path = tmp_path / "session.mcap"
    rec = SessionRecorder(path, {"robot": "test"})
    rec.add_topic("/joint_states", msgs.JointState, QOS_SENSOR_DATA)
    rec.write("/joint_states", msgs.JointState.from_arrays(["j0"], [0.5]), 1_000)
    rec.event({"event": "estop", "engaged": True}, 2_000)
    ts = transitions(6)
    for i, t in enumerate(ts):
        rec.transition(t, 3_000 + i)
    rec.close()
    items = list(read_recording(path))
    topics = [i.topic for i in items]
    assert topics.count(TRANSITIONS_TOPIC) == 6 and EVENTS_TOPIC in topics
    assert items[0].ros_type == "sensor_msgs/msg/JointState"

    out = tmp_path / "prior.npz"
    assert recording_to_prior([path, path], out) == 12
    prior = load_transitions(out, obs_dim=5, act_dim=2)  # the RLPD loader accepts it
    np.testing.assert_array_equal(prior["obs"][:6], np.stack([t.obs for t in ts]))
    np.testing.assert_array_equal(prior["reward"][:6], np.arange(6, dtype=np.float32))
    assert prior["terminated"][:6].tolist() == [0, 0, 0, 0, 0, 1]
    assert prior["truncated"][:6].tolist() == [0, 0, 1, 0, 0, 0]
    buffer = ReplayBuffer(5, 2, capacity=32)
    buffer.load(out)  # and so does the replay buffer
    assert len(buffer) == 12


def test_recording_without_transitions_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.mcap"
    SessionRecorder(path).close()
    with pytest.raises(ValueError, match="no /robot_rl/transitions"):
        recording_to_prior([path], tmp_path / "prior.npz")
