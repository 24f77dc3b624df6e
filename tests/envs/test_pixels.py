"""Observations with images: frame stacks in order, rendered in-process each control step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.session import build
from robot_rl.spaces import FrameStack
from robot_rl.train import Trainer
from tests.conftest import write_config

FRONT = {"name": "front", "width": 32, "height": 24,
         "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}
WRIST = {"name": "wrist", "width": 32, "height": 24, "link": "panda_hand",
         "offset": {"position": [0.0, 0.0, 0.05]}}


def _frames(value: int, cams: tuple[str, ...] = ("a", "b")) -> dict[str, np.ndarray]:
    """Camera i's frame filled with ``value + i`` (so every frame is recognizable)."""
    return {c: np.full((4, 5, 3), value + i, np.uint8) for i, c in enumerate(cams)}


def test_frame_stack_is_oldest_first_cameras_in_order() -> None:
    stack = FrameStack(["a", "b"], 3)
    first = stack.reset(_frames(10))
    assert first.shape == (3 * 2 * 3, 4, 5) and first.dtype == np.uint8
    # k copies of the first frames; per step camera a's 3 channels then camera b's
    assert [int(first[c, 0, 0]) for c in range(0, 18, 3)] == [10, 11, 10, 11, 10, 11]
    stack.push(_frames(20))
    out = stack.push(_frames(30))
    assert [int(out[c, 0, 0]) for c in range(0, 18, 3)] == [10, 11, 20, 21, 30, 31]
    out = stack.push(_frames(40))  # the oldest falls out
    assert [int(out[c, 0, 0]) for c in range(0, 18, 3)] == [20, 21, 30, 31, 40, 41]
    assert not np.shares_memory(out, stack.pixels())


def test_frame_stack_keeps_rgb_channels() -> None:
    frame = np.zeros((4, 5, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 1, 2, 3
    out = FrameStack(["a"], 1).reset({"a": frame})
    assert [int(out[c, 0, 0]) for c in range(3)] == [1, 2, 3]


PANDA = Path(__file__).resolve().parents[2] / "robot_configs" / "panda.yaml"


@pytest.fixture(scope="module")
def pixel_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("pix"), PANDA, {
        "cameras": [FRONT, WRIST], "observation": {"images": ["wrist", "front"],
                                                   "frame_stack": 2},
        "task": {"reach": {"hindsight": 0}},
        "learner": {"buffer_size": 500, "batch_size": 8, "warmup_steps": 4, "hidden": [16]}})


def test_env_observes_state_and_stacked_frames_of_its_cameras(pixel_config: Path,
                                                              panda_path: Path) -> None:
    env = RobotEnv(str(pixel_config))
    plain = RobotEnv(str(panda_path))
    assert env.observation_space["pixels"].shape == (2 * 2 * 3, 24, 32)
    obs, _ = env.reset(seed=3)
    reference, _ = plain.reset(seed=3)
    assert np.array_equal(obs["state"], reference)  # images add to the vector, change nothing
    assert obs["pixels"].dtype == np.uint8 and obs["pixels"] in env.observation_space["pixels"]
    assert np.array_equal(obs["pixels"][:6], obs["pixels"][6:])  # k copies after reset
    frames = env.render_frames()
    assert np.array_equal(obs["pixels"][:3], frames["wrist"].transpose(2, 0, 1))  # wrist first
    action = np.full(7, 0.5, np.float32)
    nxt, *_ = env.step(action)
    assert np.array_equal(nxt["state"], plain.step(action)[0])
    assert np.array_equal(nxt["pixels"][:6], obs["pixels"][6:])  # moved on by one frame
    assert not np.array_equal(nxt["pixels"][6:9], obs["pixels"][6:9])  # the wrist moved
    check_env(env, skip_render_check=True)
    env.close()
    plain.close()


def test_demos_recorded_with_images_keep_the_stacked_frames(pixel_config: Path) -> None:
    import dataclasses

    from robot_rl.demos.record import record_scripted

    cfg = load_config(str(pixel_config))
    cfg.task = dataclasses.replace(cfg.task, episode_steps=5)
    arrays = record_scripted(cfg, episodes=1, seed=0).arrays()
    assert arrays["pixels"].shape == (5, 12, 24, 32) and arrays["pixels"].dtype == np.uint8
    assert arrays["next_frame"].shape == (5, 6, 24, 32)  # two cameras' newest frames
    np.testing.assert_array_equal(arrays["next_frame"][:-1], arrays["pixels"][1:, -6:])
    assert arrays["obs"].ndim == 2 and arrays["obs"].dtype == np.float32  # state vectors


def test_train_builds_a_pixel_learner_and_runs(pixel_config: Path) -> None:
    cfg = load_config(str(pixel_config))
    env, agent, buffer = build(cfg, seed=0)
    assert agent.encoder is not None and agent.pixels_shape == (12, 24, 32)
    summary = Trainer(env, agent, buffer, cfg.learner, progress=False).train(12)
    assert summary["steps"] == 12 and len(buffer) == 12
    assert buffer.data["pixels"].dtype == np.uint8
    env.close()
