"""learner.device and learner.precision: resolution, acting on the CPU, checkpoints across
devices, what a run records; and, where a CUDA GPU exists, a few updates on it."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from robot_rl.config import LearnerConfig, load_config
from robot_rl.errors import ConfigError
from robot_rl.runs import RunDir
from robot_rl.sac import SAC
from robot_rl.sac import device as dev
from robot_rl.sac.device import load_agent_state, resolve_learner
from robot_rl.session import build
from tests.sac.tiny import ACT, OBS, filled_buffer, tiny

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def trained(cfg: LearnerConfig, updates: int = 3) -> SAC:
    agent = SAC(OBS, ACT, cfg, seed=0)
    buf = filled_buffer(64)
    for _ in range(updates):
        agent.update(buf.sample(cfg.batch_size, int(cfg.utd or 1)))
    return agent


# ------------------------------------------------------------------ resolution
def test_auto_is_cpu_and_fp32_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "bf16_supported", lambda: True)  # even with native bf16:
    resolved = resolve_learner(LearnerConfig())  # the learning-quality check is not done
    assert (resolved.device, resolved.precision) == ("cpu", "fp32")
    assert resolve_learner(resolved) is resolved  # a resolved config resolves to itself
    monkeypatch.setattr(dev, "BF16_CPU_LEARNING_CHECKED", True)
    assert resolve_learner(LearnerConfig()).precision == "bf16"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_auto_on_this_cpu_only_machine() -> None:
    agent = SAC(OBS, ACT, tiny())
    assert agent.device == torch.device("cpu") and agent.precision == "fp32"
    assert not agent.bf16
    assert next(agent.critic.parameters()).device.type == "cpu"


def test_explicit_bf16_without_native_bf16_warns_and_runs_fp32(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "bf16_supported", lambda: False)
    with pytest.warns(UserWarning, match="no native bfloat16"):
        agent = SAC(OBS, ACT, tiny(device="cpu", precision="bf16"))
    assert agent.precision == "fp32" and not agent.bf16
    monkeypatch.setattr(dev, "bf16_supported", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SAC(OBS, ACT, tiny(device="cpu", precision="bf16")).bf16


def test_cuda_refused_where_there_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for value in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError) as info:
            resolve_learner(LearnerConfig(device=value), "a1.yaml")
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith("a1.yaml: learner.device: expected auto or cpu")


def test_cuda_index_beyond_the_gpus_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError, match=r"learner.device: expected cuda:0 to cuda:1"):
        resolve_learner(LearnerConfig(device="cuda:2"))


def test_bf16_alias_maps_to_precision_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="robot_rl.config"):
        cfg = LearnerConfig(bf16=True)
    assert cfg.precision == "bf16"
    assert "learner.bf16 is deprecated" in caplog.text and "precision: bf16" in caplog.text
    assert LearnerConfig(bf16=False).precision == "fp32"
    assert resolve_learner(cfg).bf16 is None  # folded into precision: not written again


# ------------------------------------------------------------ acting, checkpoints
def test_act_returns_float32_numpy_on_cpu() -> None:
    agent = trained(tiny(device="cpu"))
    one = agent.act(np.zeros(OBS, np.float32))
    many = agent.act(np.zeros((4, OBS), np.float32), deterministic=True)
    for out, shape in ((one, (ACT,)), (many, (4, ACT))):
        assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == shape
        assert np.all(np.abs(out) <= 1)
    arrays = agent.policy_arrays()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())


def test_checkpoint_round_trip_with_map_location(tmp_path: Path) -> None:
    agent = trained(tiny(device="cpu"))
    torch.save(agent.state_dict(), tmp_path / "agent.pt")
    fresh = SAC(OBS, ACT, tiny(device="cpu"), seed=1)
    fresh.load_state_dict(load_agent_state(tmp_path / "agent.pt", fresh.device))
    obs = np.random.default_rng(0).normal(size=(3, OBS)).astype(np.float32)
    np.testing.assert_array_equal(fresh.act(obs, deterministic=True),
                                  agent.act(obs, deterministic=True))
    assert fresh.updates == agent.updates


# ----------------------------------------------------------------- run record
def test_run_config_records_the_resolved_values_and_loads_back(tmp_path: Path,
                                                                tiny_a1: Path) -> None:
    cfg = load_config(tiny_a1)
    assert (cfg.learner.device, cfg.learner.precision) == ("auto", "auto")
    env, agent, _ = build(cfg, seed=0)  # as `robot-rl train`: build, then write the config
    env.close()
    run = RunDir.create(tmp_path / "runs", cfg.name)
    run.write_config(cfg)
    learner = yaml.safe_load(run.config_path.read_text())["learner"]
    assert learner["device"] == str(agent.device) and learner["precision"] == agent.precision
    assert "bf16" not in learner
    if not torch.cuda.is_available():
        assert (learner["device"], learner["precision"]) == ("cpu", "fp32")
    again = load_config(run.config_path)  # what --resume reads
    assert resolve_learner(again.learner, again.source) == again.learner


# ------------------------------------------------------------------------ CUDA
@needs_cuda
@pytest.mark.parametrize("recipe", ["sac", "droq", "redq", "crossq", "crossq_wn"])
def test_training_on_cuda_acts_on_cpu_and_loads_on_cpu(tmp_path: Path, recipe: str) -> None:
    agent = trained(tiny(recipe, device="cuda"))
    assert next(agent.critic.parameters()).device.type == "cuda"
    out = agent.act(np.zeros(OBS, np.float32))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (ACT,)
    assert all(isinstance(v, np.ndarray) for v in agent.policy_arrays().values())
    torch.save(agent.state_dict(), tmp_path / "agent.pt")
    cpu = SAC(OBS, ACT, tiny(recipe, device="cpu"), seed=1)
    cpu.load_state_dict(load_agent_state(tmp_path / "agent.pt", "cpu"))
    assert next(cpu.actor.parameters()).device.type == "cpu"
    obs = np.random.default_rng(0).normal(size=(3, OBS)).astype(np.float32)
    np.testing.assert_allclose(cpu.act(obs, deterministic=True),
                               agent.act(obs, deterministic=True), atol=1e-4)
    cpu.update(filled_buffer(64).sample(8, int(cpu.cfg.utd or 1)))  # trains on from there


@needs_cuda
def test_aprl_dynamics_model_trains_on_cuda() -> None:
    from robot_rl.aprl.config import AprlConfig
    from robot_rl.train_aprl import AprlAgent

    agent = AprlAgent(SAC(OBS, ACT, tiny(device="cuda")), AprlConfig())
    assert next(agent.model.parameters()).device.type == "cuda"
    info = agent.update(filled_buffer(64).sample(8, 1))
    assert np.isfinite(info["dynamics/loss"])
    assert all(v.dtype == np.float32 for v in agent.dynamics_arrays().values())


@pytest.mark.parametrize(("other", "words"), [
    (dict(obs=OBS + 2, cfg=tiny()), f"TanhGaussianActor trunk.0.weight of [16, {OBS}] where "
                                    f"[16, {OBS + 2}] is built"),
    (dict(obs=OBS, cfg=tiny(hidden=[32, 32])), "of [16, 5] where [32, 5] is built"),
    (dict(obs=OBS, cfg=tiny("redq")), "CriticEnsemble net.0.weight of [2, 7, 16] where "
                                       "[10, 7, 16] is built"),
    (dict(obs=OBS, cfg=tiny("crossq")), "CriticEnsemble missing input_norm.weight and"),
])
def test_restore_of_a_checkpoint_from_another_config_is_one_line(
        tmp_path: Path, other: dict, words: str) -> None:
    """A run whose config.yaml was edited after training (another observation, widths or
    recipe): eval and --resume name the first mismatch in one line, not torch's error."""
    path = tmp_path / "ckpt-00000100" / "agent.pt"
    path.parent.mkdir()
    torch.save(SAC(OBS, ACT, tiny(), seed=0).state_dict(), path)
    dev.restore_agent(SAC(OBS, ACT, tiny(), seed=1), path, "run/config.yaml")  # the same: fits
    agent = SAC(other["obs"], ACT, other["cfg"], seed=1)
    with pytest.raises(ConfigError) as info:
        dev.restore_agent(agent, path, "run/config.yaml")
    message = str(info.value)
    assert message.startswith("run/config.yaml: <checkpoint>: expected ckpt-00000100/agent.pt")
    assert words in message, message
    assert "\n" not in message and len(message) < 300 and "changed after training" in message
