"""RLPD prior data: the .npz format is checked with clear errors, every minibatch takes
exactly the configured share from it, and a config with prior_data builds a mixed buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import LearnerConfig
from robot_rl.errors import ConfigError
from robot_rl.sac import MixedReplayBuffer, ReplayBuffer, SAC, load_transitions, make_replay

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
