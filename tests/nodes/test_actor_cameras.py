"""The actor with cameras: frames are inputs like states; a stopped camera holds the robot;
with observation.images the policy sees the stacked frames and transitions carry them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.nodes.actor_core import ActorCore
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import image_msg
from robot_rl.spaces import ObservationBuilder, pixels_shape
from tests.conftest import write_config
from tests.nodes.nodes_util import feed

FRONT = {"name": "front", "width": 16, "height": 12, "rate_hz": 10.0,
         "fixed": {"eye": [1.0, 0.0, 0.6], "target": [0.0, 0.0, 0.2]}}


@pytest.fixture
def core(tmp_path: Path, tiny_a1: Path) -> ActorCore:
    cfg = load_config(write_config(tmp_path, tiny_a1, {"cameras": [FRONT]}, "cam.yaml"))
    return ActorCore(cfg, Policy(ObservationBuilder(cfg).size, cfg.n_joints, 0), 0)


def picture(value: int = 7) -> np.ndarray:
    return np.full((12, 16, 3), value, np.uint8)


def test_no_command_before_the_first_frame(core: ActorCore) -> None:
    feed(core, 0.0)
    assert core.inputs.missing() == "camera (front)"
    out = core.step(0.0)
    assert out.hold and out.reason == "no_state" and out.command is None
    core.inputs.camera_image("front", image_msg(picture(), 0, "front"), 0.05)
    feed(core, 0.05)
    out = core.step(0.05)
    assert not out.hold and out.command is not None
    state = core.inputs.state()
    assert state is not None and state.images is not None
    assert np.array_equal(state.images["front"], picture())


def test_a_stale_frame_holds_like_a_stale_state(core: ActorCore) -> None:
    age = core.cfg.safety.max_state_age_s
    core.inputs.camera_image("front", image_msg(picture(), 0, "front"), 0.0)
    feed(core, 0.0)
    obs_size = ObservationBuilder(core.cfg).size
    assert not core.step(0.0).hold
    t = 0.0
    while t < age - 0.06:  # states keep coming, the camera has stopped: fine while young
        t += core.dt
        feed(core, t)
        assert not core.step(t).hold
    t = age + 0.01
    feed(core, t)
    out = core.step(t)
    assert out.hold and out.reason == "stale_state"
    core.inputs.camera_image("front", image_msg(picture(9), 0, "front"), t + core.dt)
    feed(core, t + core.dt)
    assert not core.step(t + core.dt).hold  # a fresh frame releases the hold
    assert ObservationBuilder(core.cfg).size == obs_size  # images ride beside the vector


def test_a_frame_of_another_size_is_rejected(core: ActorCore) -> None:
    assert not core.inputs.camera_image("front", image_msg(picture()[:, :8], 0, "front"), 0.0)
    assert core.inputs.rejected == 1 and "expected 16x12" in core.inputs.last_error
    assert "front" not in core.inputs.frames
    assert core.status(0.0)["rejected_messages"] == 1


@pytest.fixture
def seeing(tmp_path: Path, tiny_a1: Path) -> ActorCore:
    """The policy sees the front camera, 2 frames."""
    cfg = load_config(write_config(tmp_path, tiny_a1, {
        "cameras": [FRONT], "observation": {"images": ["front"], "frame_stack": 2}},
        "seeing.yaml"))
    policy = Policy(ObservationBuilder(cfg).size, cfg.n_joints, 0, pixels_shape(cfg))
    return ActorCore(cfg, policy, 0)


def test_the_policy_sees_stacked_frames_and_transitions_carry_them(seeing: ActorCore) -> None:
    seen: list[dict] = []
    act = seeing.policy.act
    seeing.policy.act = lambda obs, deterministic=False: (seen.append(obs), act(obs))[1]
    transitions = []
    for i, value in enumerate((10, 20, 30)):
        t = i * seeing.dt
        seeing.inputs.camera_image("front", image_msg(picture(value), 0, "front"), t)
        feed(seeing, t)
        out = seeing.step(t)
        assert not out.hold
        if out.transition is not None:
            transitions.append(out.transition)
    first = seen[0]["pixels"]  # an episode starts with k copies of its first frame
    assert first.shape == (6, 12, 16) and first.dtype == np.uint8
    assert [int(first[c, 0, 0]) for c in (0, 3)] == [10, 10]
    assert [int(seen[2]["pixels"][c, 0, 0]) for c in (0, 3)] == [20, 30]
    assert len(transitions) == 2
    for k, t in enumerate(transitions):  # what was acted on, then the next newest frame
        np.testing.assert_array_equal(t.pixels, seen[k]["pixels"])
        np.testing.assert_array_equal(t.next_frame, seen[k + 1]["pixels"][3:])
        np.testing.assert_array_equal(t.obs, seen[k]["state"])


def test_a_state_without_the_policy_frames_is_not_acted_on(seeing: ActorCore) -> None:
    seeing.inputs.camera_image("front", image_msg(picture(), 0, "front"), 0.0)
    feed(seeing, 0.0)
    assert not seeing.step(0.0).hold and seeing.control.pending
    real = seeing.inputs.state
    seeing.inputs.state = lambda: dataclasses.replace(real(), images={})  # type: ignore
    feed(seeing, seeing.dt)
    out = seeing.step(seeing.dt)
    assert out.hold and out.reason == "no_image" and out.transition is None
    assert not seeing.control.pending and seeing.dropped == 1
