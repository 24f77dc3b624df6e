"""`robot-rl pretrain` then `robot-rl train --init`: the round trip, and its mistakes (one
line, exit status 2, no run directory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from robot_rl.cli import main
from robot_rl.cli.parser import PRETRAIN_METHODS
from robot_rl.config import LearnerConfig
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.sac import SAC
from robot_rl.train import Trainer
from tests.conftest import write_config


def random_dataset(config: Path, path: Path, steps: int = 60) -> Path:
    """Transitions of a uniformly random policy on ``config``'s robot, as prior data."""
    env = RobotEnv(str(config), seed=0)
    rng = np.random.default_rng(0)
    rows: dict[str, list[Any]] = {k: [] for k in ("obs", "action", "reward", "next_obs",
                                                  "terminated", "truncated")}
    obs, _ = env.reset(seed=0)
    low, high = env.action_space.low, env.action_space.high
    for _ in range(steps):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(low + (a + 1) * (high - low) / 2)
        for key, value in zip(rows, (obs, a, reward, next_obs, terminated, truncated),
                              strict=True):
            rows[key].append(value)
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    np.savez(path, **{k: np.asarray(v, np.float32) for k, v in rows.items()})
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


def test_pretrain_methods_match_the_parser() -> None:
    from robot_rl.pretrain import METHODS

    assert tuple(METHODS) == PRETRAIN_METHODS


@pytest.mark.timeout(120)
def test_pretrain_then_train_init_starts_from_its_weights(
        tmp_path: Path, tiny_a1: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = random_dataset(tiny_a1, tmp_path / "demos.npz")
    out = tmp_path / "pre"
    assert main(["pretrain", str(tiny_a1), "--data", str(data), "--steps", "30",
                 "--out", str(out), "--no-progress"]) == 0
    (pre,) = out.iterdir()
    checkpoint = RunDir(pre).latest_checkpoint()
    assert checkpoint is not None and checkpoint.name == "ckpt-00000030"
    summary = json.loads((checkpoint / "pretrain.json").read_text())
    assert summary["method"] == "iql" and summary["steps"] == 30 and summary["critic_trained"]
    assert f"--init {pre}" in capsys.readouterr().out
    saved = torch.load(checkpoint / "agent.pt", weights_only=True)

    # fine-tune: acting with the pretrained policy at once, the demos still mixed in (RLPD)
    fine = write_config(tmp_path, tiny_a1, {"learner": {"warmup_steps": 0,
                                                        "prior_data": str(data)}}, "fine.yaml")
    at_start: dict[str, Any] = {}
    original = Trainer.train

    def spy(self: Trainer, total_steps: int) -> dict[str, float]:
        at_start.update(actor=_copy(self.agent.actor), critic=_copy(self.agent.critic),
                        target=_copy(self.agent.critic_target), buffer=len(self.buffer),
                        prior=len(getattr(self.buffer, "prior", ())))
        return original(self, total_steps)

    monkeypatch.setattr(Trainer, "train", spy)
    runs = tmp_path / "runs"
    assert main(["train", str(fine), "--init", str(pre), "--steps", "40", "--out", str(runs),
                 "--no-progress", "--no-video"]) == 0
    for name in ("actor", "critic"):
        assert _equal(at_start[name], saved[name]), name
    assert _equal(at_start["target"], saved["critic_target"])
    assert at_start["buffer"] == 0 and at_start["prior"] == 60  # replay empty, demos mixed
    (run,) = runs.iterdir()
    latest = RunDir(run).latest_checkpoint()
    assert latest is not None and json.loads((latest / "trainer.json").read_text())["step"] == 40
    trained = torch.load(latest / "agent.pt", weights_only=True)
    assert not _equal(trained["actor"], saved["actor"])  # fine-tuning moved the actor
    assert trained["updates"] > 0

    # a pretraining run is not a training run to resume
    capsys.readouterr()
    assert main(["train", "--resume", str(pre), "--no-progress"]) == 2
    _one_line_error(capsys, "--init")


def _copy(module: torch.nn.Module | None) -> dict[str, torch.Tensor]:
    assert module is not None
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k].to(a[k].device)) for k in a)


@pytest.mark.timeout(60)
def test_bc_checkpoint_fine_tunes_with_a_fresh_critic_record(
        tmp_path: Path, tiny_a1: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = random_dataset(tiny_a1, tmp_path / "demos.npz", steps=20)
    out = tmp_path / "pre"
    assert main(["pretrain", str(tiny_a1), "--data", str(data), "--method", "posterior_bc",
                 "--steps", "5", "--out", str(out), "--no-progress"]) == 0
    (pre,) = out.iterdir()
    assert pre.name.startswith("a1-posterior_bc-")
    checkpoint = RunDir(pre).latest_checkpoint()
    assert checkpoint is not None and checkpoint.name == "ckpt-00000010"  # two phases of 5
    summary = json.loads((checkpoint / "pretrain.json").read_text())
    assert summary["method"] == "posterior_bc" and not summary["critic_trained"]


@pytest.mark.timeout(60)
def test_bc_with_a_critic_warmup_writes_trained_critics(
        tmp_path: Path, tiny_a1: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = random_dataset(tiny_a1, tmp_path / "demos.npz", steps=20)
    out = tmp_path / "pre"
    assert main(["pretrain", str(tiny_a1), "--data", str(data), "--method", "bc",
                 "--steps", "4", "--critic-steps", "6", "--out", str(out),
                 "--no-progress"]) == 0
    (pre,) = out.iterdir()
    checkpoint = RunDir(pre).latest_checkpoint()
    assert checkpoint is not None and checkpoint.name == "ckpt-00000010"  # 4 + 6
    summary = json.loads((checkpoint / "pretrain.json").read_text())
    assert summary["critic_trained"] and summary["critic_steps"] == 6
    assert "critic_loss" in summary["metrics"]
    assert torch.load(checkpoint / "agent.pt", weights_only=True)["updates"] == 6


def test_critic_steps_with_iql_is_refused(tmp_path: Path, tiny_a1: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = random_dataset(tiny_a1, tmp_path / "demos.npz", steps=5)
    assert main(["pretrain", str(tiny_a1), "--data", str(data), "--critic-steps", "10",
                 "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "--critic-steps", "only with a BC method")
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as stop:
        main(["pretrain", str(tiny_a1), "--data", str(data), "--method", "bc",
              "--critic-steps", "-3"])
    assert stop.value.code == 2
    _one_line_error(capsys, "--critic-steps")


# ------------------------------------------------------------------------------ mistakes
def test_missing_data_file(tmp_path: Path, tiny_a1: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.npz"
    assert main(["pretrain", str(tiny_a1), "--data", str(missing), "--out",
                 str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "nope.npz", "--data", "expected an existing")
    assert not (tmp_path / "out").exists()


def test_unknown_method(tmp_path: Path, tiny_a1: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["pretrain", str(tiny_a1), "--data", "x.npz", "--method", "cql"])
    assert stop.value.code == 2
    _one_line_error(capsys, "--method", "cql")


@pytest.mark.timeout(60)
def test_dataset_of_another_robot(tmp_path: Path, tiny_a1: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    n = 10
    np.savez(tmp_path / "panda.npz", obs=np.zeros((n, 3), np.float32),
             action=np.zeros((n, 7), np.float32), reward=np.zeros(n, np.float32),
             next_obs=np.zeros((n, 3), np.float32), terminated=np.zeros(n, np.float32))
    assert main(["pretrain", str(tiny_a1), "--data", str(tmp_path / "panda.npz"),
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    _one_line_error(capsys, "panda.npz", "obs", "expected shape [N, ")
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(60)
def test_init_with_other_network_sizes(tmp_path: Path, tiny_a1: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    other = SAC(5, 2, LearnerConfig(hidden=[16, 16], device="cpu"), seed=0)
    torch.save(other.state_dict(), tmp_path / "agent.pt")
    runs = tmp_path / "runs"
    assert main(["train", str(tiny_a1), "--init", str(tmp_path / "agent.pt"), "--steps", "1",
                 "--out", str(runs), "--no-progress", "--no-video"]) == 2
    line = _one_line_error(capsys, "agent.pt", "--init", "got observation 5, action 2, "
                           "actor [16, 16], critics 2x[16, 16]")
    assert "expected observation 49, action 12, actor [32, 32], critics 2x[32, 32]" in line
    assert not runs.exists()
    # the same sizes with another recipe's critic layers (CrossQ: batch renorm, no LayerNorm)
    crossq = SAC(49, 12, LearnerConfig(recipe="crossq", hidden=[32, 32], device="cpu"))
    torch.save(crossq.state_dict(), tmp_path / "agent.pt")
    assert main(["train", str(tiny_a1), "--init", str(tmp_path / "agent.pt"), "--steps", "1",
                 "--out", str(runs), "--no-progress", "--no-video"]) == 2
    _one_line_error(capsys, "expected the critic layers of learner.recipe droq, got "
                     "other layers (missing net.")


def test_init_mistakes_on_the_command_line(tmp_path: Path, tiny_a1: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tiny_a1), "--init", str(tmp_path / "none")]) == 2
    _one_line_error(capsys, "none", "--init", "expected an existing")
    assert main(["train", "--resume", str(tmp_path), "--init", str(tmp_path)]) == 2
    _one_line_error(capsys, "--init", "neither --resume nor --realtime")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert main(["train", str(tiny_a1), "--init", str(tmp_path / "junk.pt"),
                 "--out", str(tmp_path / "runs")]) == 2
    _one_line_error(capsys, "junk.pt", "expected an agent checkpoint")


@pytest.mark.timeout(60)
def test_pretrain_reads_an_actor_recording(tmp_path: Path, tiny_a1: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from robot_rl.nodes.actor_core import Transition
    from robot_rl.nodes.session_record import SessionRecorder

    arrays = np.load(random_dataset(tiny_a1, tmp_path / "demos.npz", steps=12))
    rec = SessionRecorder(tmp_path / "session.mcap", {"robot": "a1"})
    for i in range(12):
        rec.transition(Transition(arrays["obs"][i], arrays["action"][i],
                                  float(arrays["reward"][i]), arrays["next_obs"][i],
                                  bool(arrays["terminated"][i]), bool(arrays["truncated"][i]),
                                  i, "walk"), 1_000 + i)
    rec.close()
    out = tmp_path / "pre"
    assert main(["pretrain", str(tiny_a1), "--data", str(tmp_path / "session.mcap"),
                 "--method", "bc", "--steps", "3", "--out", str(out), "--no-progress"]) == 0
    assert "bc: 3 steps on 12 transitions" in capsys.readouterr().out
    SessionRecorder(tmp_path / "empty.mcap").close()
    assert main(["pretrain", str(tiny_a1), "--data", str(tmp_path / "empty.mcap"),
                 "--out", str(out), "--no-progress"]) == 2
    _one_line_error(capsys, "empty.mcap", "--data", "expected an MCAP recording")


@pytest.mark.timeout(60)
def test_init_under_aprl_loads_the_sac_inside(tmp_path: Path, tiny_a1: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    aprl = write_config(tmp_path, tiny_a1, {"aprl": {"active": True},
                                            "learner": {"warmup_steps": 0}}, "aprl.yaml")
    source = SAC(49, 12, LearnerConfig(recipe="droq", hidden=[32, 32], device="cpu"), seed=7)
    torch.save(source.state_dict(), tmp_path / "agent.pt")
    at_start: dict[str, Any] = {}
    original = Trainer.train

    def spy(self: Trainer, total_steps: int) -> dict[str, float]:
        at_start["actor"] = _copy(self.agent.sac.actor)  # type: ignore[attr-defined]
        return original(self, total_steps)

    monkeypatch.setattr(Trainer, "train", spy)
    assert main(["train", str(aprl), "--init", str(tmp_path / "agent.pt"), "--steps", "10",
                 "--out", str(tmp_path / "runs"), "--no-progress", "--no-video"]) == 0
    assert _equal(at_start["actor"], source.actor.state_dict())


@pytest.mark.timeout(60)
def test_ctrl_c_stops_pretraining_and_keeps_a_checkpoint(
        tmp_path: Path, tiny_a1: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import signal

    import robot_rl.pretrain as pretrain

    data = random_dataset(tiny_a1, tmp_path / "demos.npz", steps=20)
    make = pretrain.make_learner

    def interrupted_after_5(*args: Any, **kw: Any) -> Any:
        learner = make(*args, **kw)
        step = learner.step

        def counted() -> dict[str, float]:
            if learner.steps == 4:
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
            return step()

        learner.step = counted
        return learner

    monkeypatch.setattr(pretrain, "make_learner", interrupted_after_5)
    out = tmp_path / "pre"
    assert main(["pretrain", str(tiny_a1), "--data", str(data), "--method", "bc",
                 "--steps", "1000", "--out", str(out), "--no-progress"]) == 130
    (pre,) = out.iterdir()
    checkpoint = RunDir(pre).latest_checkpoint()
    assert checkpoint is not None and checkpoint.name == "ckpt-00000005"
    assert json.loads((checkpoint / "pretrain.json").read_text())["steps"] == 5
    assert "interrupted at step 5 of 1000" in capsys.readouterr().err
