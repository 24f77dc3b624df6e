"""The ROS actor's control step pays the learned reward on the camera's newest frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.config import load_config
from robot_rl.nodes.actor_core import ActorCore
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import image_msg
from robot_rl.spaces import ObservationBuilder
from tests.conftest import write_config
from tests.nodes.nodes_util import feed

from .test_learned_reward_env import constant_model

FRONT = {"name": "front", "width": 16, "height": 12, "rate_hz": 10.0,
         "fixed": {"eye": [1.0, 0.0, 0.6], "target": [0.0, 0.0, 0.2]}}


def test_actor_step_is_paid_and_ended_by_the_classifier(tmp_path: Path, tiny_a1: Path) -> None:
    constant_model(tmp_path / "model", logit=4.0, size=(12, 16))
    cfg = load_config(write_config(tmp_path, tiny_a1, {
        "cameras": [FRONT], "task": {"reward_model": {"path": "model", "camera": "front",
                                                      "reward": 3.0}}}, "cam.yaml"))
    core = ActorCore(cfg, Policy(ObservationBuilder(cfg).size, cfg.n_joints, 0), 0)
    assert core.control.judge is not None
    frame = np.full((12, 16, 3), 7, np.uint8)
    core.inputs.camera_image("front", image_msg(frame, 0, "front"), 0.0)
    feed(core, 0.0)
    assert core.step(0.0).transition is None
    core.inputs.camera_image("front", image_msg(frame, 0, "front"), core.dt)
    feed(core, core.dt)
    out = core.step(core.dt)
    assert out.transition is not None
    assert out.transition.reward == 3.0 and out.transition.terminated
    assert out.episode_end == "terminated"
