"""The actor's session recording: ros2 MCAP, and conversion into prior data for the replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.nodes.actor_core import Transition
from robot_rl.nodes.ros_messages import labelled, unlabel
from robot_rl.nodes.session_record import (
    EVENTS_TOPIC,
    PIXELS_TOPIC,
    TRANSITIONS_TOPIC,
    SessionRecorder,
    recording_to_prior,
    transition_pixels,
)
from robot_rl.ros import msgs
from robot_rl.ros.recording import read_recording
from robot_rl.ros.wire import QOS_SENSOR_DATA
from robot_rl.sac import ReplayBuffer
from robot_rl.sac.prior import load_transitions
from tests.conftest import write_config


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


CAMERAS = [{"name": name, "width": 10, "height": 9, "fixed": {"eye": [1.0, 0.0, 0.6],
                                                            "target": [0.0, 0.0, 0.2]}}
           for name in ("front", "side")]


def test_recording_keeps_the_images_of_transitions(tmp_path: Path, tiny_a1: Path) -> None:
    """Two cameras, 3 frames: each transition's stack and new frame come back exactly."""
    cfg = load_config(write_config(tmp_path, tiny_a1, {"cameras": CAMERAS, "observation": {
        "images": ["side", "front"], "frame_stack": 3}}, "cams.yaml"))
    rng = np.random.default_rng(1)
    ts = [t._replace(pixels=rng.integers(0, 256, (18, 9, 10), dtype=np.uint8),
                     next_frame=rng.integers(0, 256, (6, 9, 10), dtype=np.uint8), step=10 + i)
          for i, t in enumerate(transitions(4))]
    path = tmp_path / "session.mcap"
    rec = SessionRecorder(path)
    for i, t in enumerate(ts):
        rec.transition(t, 1_000 + i)
    rec.close()
    assert rec.dropped == 0
    images = [i for i in read_recording(path) if i.topic == PIXELS_TOPIC]
    assert len(images) == 4 and images[0].ros_type == "sensor_msgs/msg/Image"
    first = images[0].message  # 4 time steps of 2 cameras side by side, rgb8
    assert (first.encoding, first.height, first.width) == ("rgb8", 9, 8 * 10)
    # the leftmost frame is the oldest time step's first camera, channels as RGB
    np.testing.assert_array_equal(first.data.reshape(9, 80, 3)[:, :10].transpose(2, 0, 1),
                                  ts[0].pixels[:3])
    back = transition_pixels(path, cfg)
    assert sorted(back) == [10, 11, 12, 13]
    for t in ts:
        pixels, new = back[t.step]
        assert pixels.dtype == np.uint8 and new.dtype == np.uint8
        np.testing.assert_array_equal(pixels, t.pixels)
        np.testing.assert_array_equal(new, t.next_frame)
    assert recording_to_prior([path], tmp_path / "prior.npz") == 4  # vectors as before


def test_transition_images_beyond_the_queue_budget_are_dropped_and_counted(
        tmp_path: Path) -> None:
    t = transitions(1)[0]._replace(pixels=np.zeros((6, 9, 10), np.uint8),
                                   next_frame=np.zeros((3, 9, 10), np.uint8))
    rec = SessionRecorder(tmp_path / "small.mcap", max_queue_bytes=t.pixels.nbytes)
    for i in range(3):
        rec.transition(t, i)
    rec.close()
    assert rec.dropped == 3  # the images only: the transitions themselves are kept
    topics = [i.topic for i in read_recording(tmp_path / "small.mcap")]
    assert topics.count(TRANSITIONS_TOPIC) == 3 and PIXELS_TOPIC not in topics
