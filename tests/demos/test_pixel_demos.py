"""Demonstrations and interventions for the pixel learner, on the push task: the push expert
is registered, demos keep the camera frames (prior data with images, RLPD), and the scripted
person intervenes on the push task's own distance with the frames going to both buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from robot_rl.config import RobotConfig, load_config
from robot_rl.demos.experts import make_expert
from robot_rl.demos.interventions import (
    InterventionRule,
    InterventionTrainer,
    ScriptedPerson,
    with_demo_buffer,
)
from robot_rl.demos.record import record_scripted
from robot_rl.sac import PixelMixedReplayBuffer, PixelReplayBuffer
from robot_rl.session import build, intervention_trainer
from tests.conftest import CONFIGS


def pixel_push(tmp_path: Path, **learner: object) -> RobotConfig:
    """panda_push.yaml seeing its front camera at 16x16, two frames stacked, a tiny learner."""
    data = yaml.safe_load((CONFIGS / "panda_push.yaml").read_text())
    data["cameras"][0].update(width=16, height=16)
    data["observation"].update(images=["front"], frame_stack=2)
    data["learner"].update(hidden=[16, 16], batch_size=8, buffer_size=500, warmup_steps=5,
                           **learner)
    path = tmp_path / "push_pixels.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(str(path))


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demonstration of the push expert with frames (seed 10000: it succeeds)."""
    folder = tmp_path_factory.mktemp("demos")
    log = record_scripted(pixel_push(folder), episodes=1, seed=10_000)
    assert log.episode_success == [True]
    return log.save(folder / "demos.npz")


def test_push_demos_keep_the_frames_the_policy_sees(demos: Path) -> None:
    with np.load(demos) as f:
        arrays = dict(f)
    n = 100  # task.episode_steps
    assert arrays["obs"].shape == (n, 20) and arrays["pixels"].shape == (n, 6, 16, 16)
    assert arrays["pixels"].dtype == np.uint8 and arrays["next_frame"].shape == (n, 3, 16, 16)
    # the next stack is this one moved on by one frame: next_frame is the next row's newest
    np.testing.assert_array_equal(arrays["next_frame"][:-1], arrays["pixels"][1:, 3:])
    np.testing.assert_array_equal(arrays["pixels"][0, :3], arrays["pixels"][0, 3:])  # reset
    assert arrays["success"][-1] == 1.0 and arrays["success"][0] == 0.0
    assert np.all(arrays["intervention"] == 1.0)


def test_a_pixel_config_trains_with_push_demos_as_prior_data(demos: Path,
                                                             tmp_path: Path) -> None:
    cfg = pixel_push(tmp_path, prior_data=str(demos))
    env, agent, buffer = build(cfg, seed=0)
    try:
        assert isinstance(buffer, PixelMixedReplayBuffer) and len(buffer.prior) == 100
        obs, _ = env.reset(seed=0)
        for _ in range(3):
            action = np.zeros(env.action_space.shape, np.float32)
            nxt, reward, terminated, truncated, _ = env.step(action)
            buffer.add(obs, action, reward, nxt, terminated, truncated)
            obs = nxt
        batch = buffer.sample(8, 2)
        assert batch.pixels is not None and batch.pixels.shape == (2, 8, 6, 16, 16)
        assert np.isfinite(agent.update(batch)["critic_loss"])
    finally:
        env.close()


def test_state_demos_are_refused_by_a_pixel_learner(tmp_path: Path) -> None:
    data = {k: np.zeros((2, 20 if "obs" in k else 3), np.float32) for k in
            ("obs", "next_obs", "action")}
    data.update(reward=np.zeros(2, np.float32), terminated=np.zeros(2, np.float32))
    np.savez(tmp_path / "state.npz", **data)
    with pytest.raises(ValueError, match="pixels.*missing"):
        build(pixel_push(tmp_path, prior_data=str(tmp_path / "state.npz")), seed=0)


def test_the_push_rule_watches_the_gripper_to_block_distance() -> None:
    assert InterventionRule.for_task("push").distance_key == "ee_block_distance"
    assert InterventionRule.for_task("reach").distance_key == "ee_distance"
    assert InterventionRule.for_task("push", stray_steps=2).stray_steps == 2
    person = ScriptedPerson(make_expert(load_config(CONFIGS / "panda_push.yaml")),
                            InterventionRule.for_task("push", stray_steps=2))
    person.reset()  # the push expert is stateless, but a person resets it every episode
    for d in (0.10, 0.11, 0.12):
        person.observe({"ee_block_distance": d, "block_distance": 0.2}, False)
    assert person.streak == 2


def test_interventions_on_pixels_put_the_frames_in_both_buffers(demos: Path,
                                                                tmp_path: Path) -> None:
    cfg = pixel_push(tmp_path, prior_data=str(demos))
    env, agent, buffer = build(cfg, seed=0)
    trainer = intervention_trainer(cfg, env, agent, buffer, 0, None, False,
                                   InterventionRule.for_task("push", stray_steps=1))
    try:
        assert isinstance(trainer, InterventionTrainer)
        trainer.train(40)
    finally:
        env.close()
    mixed = trainer.buffer
    assert isinstance(mixed, PixelMixedReplayBuffer) and len(mixed) == 40
    assert trainer.interventions > 0
    assert len(mixed.prior) == 100 + trainer.interventions  # the demos, then the person's
    added = mixed.prior.gather(np.arange(100, len(mixed.prior)))
    assert added["pixels"].shape == (trainer.interventions, 6, 16, 16)
    assert added["pixels"].any()  # real frames, not the zeros of an empty slot


def test_with_demo_buffer_keeps_a_pixel_replay_and_its_rows() -> None:
    online = PixelReplayBuffer(4, 2, (6, 8, 8), 3, 50)
    online.add_batch({"obs": np.ones((5, 4)), "action": np.zeros((5, 2)),
                      "reward": np.arange(5.0), "next_obs": np.ones((5, 4)),
                      "terminated": np.zeros(5), "truncated": np.zeros(5),
                      "pixels": np.full((5, 6, 8, 8), 3, np.uint8),
                      "next_frame": np.full((5, 3, 8, 8), 4, np.uint8)})
    cfg = load_config(CONFIGS / "panda_push.yaml").learner
    mixed = with_demo_buffer(online, cfg, seed=0)
    assert isinstance(mixed, PixelMixedReplayBuffer) and len(mixed) == 5
    assert len(mixed.prior) == 0 and mixed.prior_count(8) == 0  # no demos yet
    batch = mixed.sample(4)
    assert batch.pixels is not None and int(batch.next_pixels[0, 0, -1, 0, 0]) == 4
