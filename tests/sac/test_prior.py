"""RLPD prior data: the .npz format is checked with clear errors, every minibatch takes
exactly the configured share from it, and a config with prior_data builds a mixed buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.config import LearnerConfig
from robot_rl.errors import ConfigError
from robot_rl.sac import (
    SAC,
    MixedReplayBuffer,
    PixelMixedReplayBuffer,
    PixelReplayBuffer,
    ReplayBuffer,
    load_transitions,
    make_pixel_replay,
    make_replay,
)

OBS, ACT = 4, 2


def transitions(n: int, reward: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"obs": rng.normal(size=(n, OBS)).astype(np.float32),
            "action": rng.uniform(-1, 1, (n, ACT)).astype(np.float32),
            "reward": np.full(n, reward, np.float32),
            "next_obs": rng.normal(size=(n, OBS)).astype(np.float32),
            "terminated": np.zeros(n, np.float32), "truncated": np.zeros(n, np.float32)}


def write(tmp_path: Path, arrays: dict[str, np.ndarray], name: str = "prior.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def mixed(fraction: float, seed: int = 0) -> MixedReplayBuffer:
    buf = MixedReplayBuffer(OBS, ACT, 100, transitions(30, reward=1.0), fraction, seed=seed)
    buf.add_batch(transitions(50, reward=0.0))  # online rows are tagged reward 0
    return buf


@pytest.mark.parametrize("fraction,batch,expected", [(0.5, 256, 128), (0.25, 10, 2),
                                                      (0.0, 8, 0), (1.0, 8, 8), (0.3, 7, 2)])
def test_each_minibatch_takes_exactly_the_configured_share(fraction: float, batch: int,
                                                           expected: int) -> None:
    buf = mixed(fraction)
    assert buf.prior_count(batch) == expected
    sample = buf.sample(batch, k=5)
    assert sample.obs.shape == (5, batch, OBS) and sample.reward.shape == (5, batch)
    from_prior = (sample.reward == 1.0).sum(dim=1)
    assert from_prior.tolist() == [expected] * 5
    assert bool((sample.reward[:, :expected] == 1.0).all())  # prior rows come first


def test_online_side_is_the_plain_buffer(tmp_path: Path) -> None:
    buf = mixed(0.5, seed=3)
    assert len(buf) == 50 and len(buf.prior) == 30  # len: online transitions
    buf.save(tmp_path / "online.npz")  # checkpoints hold online data only
    with np.load(tmp_path / "online.npz") as saved:
        assert len(saved["reward"]) == 50 and not saved["reward"].any()
    a, b = mixed(0.5, seed=3), mixed(0.5, seed=3)
    assert np.array_equal(a.sample(16, 2).obs, b.sample(16, 2).obs)  # seeded


def test_saved_replay_buffer_is_valid_prior_data(tmp_path: Path) -> None:
    online = ReplayBuffer(OBS, ACT, 100)
    online.add_batch(transitions(40, reward=2.0))
    online.save(tmp_path / "buffer.npz")
    arrays = load_transitions(tmp_path / "buffer.npz", OBS, ACT)
    assert arrays["obs"].shape == (40, OBS) and arrays["obs"].dtype == np.float32
    no_truncated = {k: v for k, v in transitions(5, 0.0).items() if k != "truncated"}
    arrays = load_transitions(write(tmp_path, no_truncated), OBS, ACT)
    assert not arrays["truncated"].any()  # optional, defaults to 0


def _without(key: str) -> dict[str, np.ndarray]:
    return {k: v for k, v in transitions(5, 0.0).items() if k != key}


def _with(key: str, value: np.ndarray) -> dict[str, np.ndarray]:
    return {**transitions(5, 0.0), key: value}


BAD = [
    (_without("next_obs"), "next_obs", "missing array"),
    (_with("obs", np.zeros((5, OBS + 1))), "obs", "expected shape [N, 4]"),
    (_with("action", np.zeros((4, ACT))), "action", "expected shape [N, 2]"),
    (_with("reward", np.zeros((5, 1))), "reward", "expected shape"),
    (_with("action", np.full((5, ACT), 3.0)), "action", "normalized actions in [-1, 1]"),
    (_with("terminated", np.full(5, 0.5)), "terminated", "0 or 1"),
    (_with("obs", np.full((5, OBS), np.nan)), "obs", "finite"),
    (_with("obs", np.array([["a"] * OBS] * 5)), "obs", "numeric array"),
    ({**transitions(5, 0.0), "infos": np.zeros(5)}, "infos", "unknown array"),
]


@pytest.mark.parametrize("arrays,key,words", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_malformed_prior_data_names_file_and_key(tmp_path: Path, arrays: dict, key: str,
                                                 words: str) -> None:
    path = write(tmp_path, arrays)
    with pytest.raises(ConfigError) as info:
        load_transitions(path, OBS, ACT)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: ") and words in message, message


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="existing .npz file"):
        load_transitions(tmp_path / "nope.npz", OBS, ACT)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="junk.npz: <file>: expected an .npz archive"):
        load_transitions(tmp_path / "junk.npz", OBS, ACT)


def test_make_replay_resolves_next_to_the_config(tmp_path: Path) -> None:
    write(tmp_path, transitions(20, reward=1.0), "demo.npz")
    plain = make_replay(LearnerConfig(buffer_size=100), OBS, ACT)
    assert type(plain) is ReplayBuffer
    cfg = LearnerConfig(buffer_size=100, batch_size=8, prior_data="demo.npz",
                        prior_fraction=0.25)
    buf = make_replay(cfg, OBS, ACT, seed=0, config_dir=tmp_path)
    assert isinstance(buf, MixedReplayBuffer) and len(buf.prior) == 20
    buf.add_batch(transitions(30, reward=0.0))
    batch = buf.sample(8, 4)
    assert (batch.reward == 1.0).sum().item() == 4 * 2
    SAC(OBS, ACT, LearnerConfig(hidden=[8], batch_size=8)).update(batch)  # feeds the learner
    with pytest.raises(ConfigError, match="missing.npz"):
        make_replay(LearnerConfig(prior_data="missing.npz"), OBS, ACT, config_dir=tmp_path)


def test_session_builds_a_mixed_buffer_and_the_trainer_learns_from_it(
        tmp_path: Path, tiny_a1: Path) -> None:
    from robot_rl.config import load_config
    from robot_rl.session import build
    from robot_rl.train import Trainer

    cfg = load_config(tiny_a1)
    env, _, _ = build(cfg, seed=0)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "demos.npz", obs=rng.normal(size=(64, obs_dim)),
             action=rng.uniform(-1, 1, (64, act_dim)), reward=np.ones(64),
             next_obs=rng.normal(size=(64, obs_dim)), terminated=np.zeros(64))
    cfg.learner.prior_data = "demos.npz"  # relative: resolved next to the config file
    env, agent, buffer = build(cfg, seed=0)
    assert isinstance(buffer, MixedReplayBuffer) and len(buffer.prior) == 64
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=0, progress=False)
    trainer.train(60)
    env.close()
    assert len(buffer) == 60 and agent.updates == 60 - cfg.learner.warmup_steps


# ------------------------------------------------------------ prior data with camera frames
SHAPE, FRAME = (6, 8, 8), 3  # two stacked frames of one camera


def pixel_transitions(n: int, reward: float, shade: int) -> dict[str, np.ndarray]:
    """Transitions whose frames are all ``shade`` (to tell prior rows from online rows)."""
    return {**transitions(n, reward), "pixels": np.full((n, *SHAPE), shade, np.uint8),
            "next_frame": np.full((n, FRAME, 8, 8), shade, np.uint8)}


def test_pixel_prior_rows_come_first_in_every_minibatch_with_their_frames() -> None:
    buf = PixelMixedReplayBuffer(OBS, ACT, SHAPE, FRAME, 100, pixel_transitions(30, 1.0, 7),
                                 fraction=0.25, seed=0)
    buf.add_batch(pixel_transitions(50, 0.0, 200))
    assert len(buf) == 50 and len(buf.prior) == 30
    batch = buf.sample(8, k=3)
    assert batch.pixels is not None and batch.next_pixels is not None
    assert batch.pixels.dtype == torch.uint8 and batch.pixels.shape == (3, 8, *SHAPE)
    assert bool((batch.reward[:, :2] == 1.0).all()) and bool((batch.reward[:, 2:] == 0.0).all())
    for frames in (batch.pixels, batch.next_pixels):
        assert bool((frames[:, :2] == 7).all()) and bool((frames[:, 2:] == 200).all())


def test_a_saved_pixel_replay_buffer_is_valid_pixel_prior_data(tmp_path: Path) -> None:
    online = PixelReplayBuffer(OBS, ACT, SHAPE, FRAME, 100)
    online.add_batch(pixel_transitions(12, 2.0, 9))
    online.save(tmp_path / "buffer.npz")
    arrays = load_transitions(tmp_path / "buffer.npz", OBS, ACT, SHAPE, FRAME)
    assert arrays["pixels"].dtype == np.uint8 and arrays["pixels"].shape == (12, *SHAPE)
    assert arrays["next_frame"].shape == (12, FRAME, 8, 8)
    assert arrays["obs"].dtype == np.float32
    learner = LearnerConfig(prior_data=str(tmp_path / "buffer.npz"), buffer_size=50)
    mixed = make_pixel_replay(learner, OBS, ACT, SHAPE, FRAME, seed=0)
    assert isinstance(mixed, PixelMixedReplayBuffer) and len(mixed.prior) == 12
    plain = make_pixel_replay(LearnerConfig(buffer_size=50), OBS, ACT, SHAPE, FRAME)
    assert type(plain) is PixelReplayBuffer


@pytest.mark.parametrize("change,shape,match", [
    ({}, None, "camera frames.*observation.images"),  # the config sees no images
    ({"next_frame": None}, SHAPE, "next_frame.*missing"),
    ({"pixels": np.zeros((4, *SHAPE), np.float32)}, SHAPE, "pixels.*uint8"),
    ({"pixels": np.zeros((4, 3, 8, 8), np.uint8)}, SHAPE, r"pixels.*\[N, 6, 8, 8\]"),
    ({"next_frame": np.zeros((4, FRAME, 9, 8), np.uint8)}, SHAPE, r"next_frame.*\[N, 3, 8, 8\]"),
])
def test_pixel_prior_data_mistakes_are_one_line(tmp_path: Path, change: dict,
                                                shape: tuple[int, int, int] | None,
                                                match: str) -> None:
    arrays = {**pixel_transitions(4, 0.0, 1), **change}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    with pytest.raises(ConfigError, match=match):
        load_transitions(write(tmp_path, arrays), OBS, ACT, shape, FRAME)


def test_state_prior_data_for_a_pixel_learner_names_the_missing_frames(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pixels.*missing"):
        load_transitions(write(tmp_path, transitions(4, 0.0)), OBS, ACT, SHAPE, FRAME)


def test_the_pixel_prior_part_grows_with_interventions_up_to_its_limit() -> None:
    buf = PixelMixedReplayBuffer(OBS, ACT, SHAPE, FRAME, 100, pixel_transitions(3, 1.0, 7),
                                 prior_capacity=5)
    obs = {"state": np.ones(OBS, np.float32), "pixels": np.full(SHAPE, 50, np.uint8)}
    nxt = {"state": np.ones(OBS, np.float32), "pixels": np.full(SHAPE, 50, np.uint8)}
    buf.add_prior(obs, np.zeros(ACT, np.float32), 3.0, nxt, False, False)
    assert len(buf.prior) == 4 and buf.prior.capacity == 6
    buf.add_prior_batch(pixel_transitions(4, 4.0, 60))  # 8 rows: past the limit of 3 + 5
    assert len(buf.prior) == 8 and buf.prior.capacity == 8
    rows = buf.prior.gather(np.arange(8))
    assert rows["reward"].tolist() == [1.0] * 3 + [3.0] + [4.0] * 4
    assert rows["pixels"][3].max() == 50 and rows["next_pixels"][4].min() == 60
    buf.add_prior(obs, np.zeros(ACT, np.float32), 5.0, nxt, False, False)  # full: the oldest go
    assert len(buf.prior) == 8 and buf.prior.gather(np.arange(8))["reward"][0] == 5.0


def test_the_state_prior_part_grows_by_batches_too() -> None:
    buf = MixedReplayBuffer(OBS, ACT, 100, transitions(2, 1.0), prior_capacity=10)
    buf.add_prior_batch(transitions(5, 2.0))
    assert len(buf.prior) == 7 and buf.prior.gather(np.arange(7))["reward"].tolist() == (
        [1.0] * 2 + [2.0] * 5)
