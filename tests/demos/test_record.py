"""Scripted demonstrations: the reach expert reaches, demos load as RLPD prior data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.config import load_config
from robot_rl.demos.experts import EXPERTS, ReachExpert, make_expert, register_expert
from robot_rl.demos.record import record_scripted
from robot_rl.nodes.session_record import recording_to_prior
from robot_rl.sac import make_replay
from robot_rl.sac.prior import MixedReplayBuffer, load_transitions


@pytest.fixture(scope="module")
def short_panda():
    cfg = load_config(Path(__file__).resolve().parents[2] / "robot_configs" / "panda.yaml")
    cfg.task = dataclasses.replace(cfg.task, episode_steps=40)
    return cfg


def test_reach_expert_brings_the_gripper_within_2_cm(short_panda) -> None:
    log = record_scripted(short_panda, episodes=5, seed=3)
    assert isinstance(make_expert(short_panda), ReachExpert)
    assert log.episodes == 5 and len(log) == 5 * 40
    assert sum(log.episode_success) >= 4  # success: closer than task.reach.success_distance
    arrays = log.arrays()
    assert arrays["success"].shape == (200,) and arrays["success"][-1] == 1.0
    assert arrays["success"][0] == 0.0  # the first step starts far from the target
    assert np.all(arrays["intervention"] == 1.0)
    assert np.abs(arrays["action"]).max() <= 1.0


def test_demos_load_as_learner_prior_data(short_panda, tmp_path: Path) -> None:
    path = record_scripted(short_panda, episodes=1, seed=0).save(tmp_path / "demos.npz")
    obs_dim, act_dim = len(np.load(path)["obs"][0]), short_panda.n_joints
    learner = dataclasses.replace(short_panda.learner, prior_data=str(path))
    buffer = make_replay(learner, obs_dim, act_dim, seed=0)
    assert isinstance(buffer, MixedReplayBuffer) and len(buffer.prior) == 40
    buffer.add(np.zeros(obs_dim), np.zeros(act_dim), 0.0, np.zeros(obs_dim), False, False)
    batch = buffer.sample(8, k=1)
    assert batch.obs.shape == (1, 8, obs_dim)
    loaded = load_transitions(path, obs_dim, act_dim)
    assert set(loaded) >= {"success", "intervention"}


def test_prior_data_rejects_a_success_label_other_than_0_or_1(tmp_path: Path) -> None:
    n = 3
    arrays = {"obs": np.zeros((n, 2)), "action": np.zeros((n, 1)), "reward": np.zeros(n),
              "next_obs": np.zeros((n, 2)), "terminated": np.zeros(n),
              "success": np.array([0.0, 0.5, 1.0])}
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="success"):
        load_transitions(tmp_path / "bad.npz", 2, 1)


def test_experts_are_chosen_by_task_kind(short_panda) -> None:
    class Still:
        def __init__(self, cfg) -> None:
            self.n = cfg.n_joints

        def act(self, env) -> np.ndarray:
            return np.zeros(self.n, np.float32)

        def reset(self) -> None:
            pass

    register_expert("push_test", Still)
    try:
        other = dataclasses.replace(short_panda, task=dataclasses.replace(short_panda.task,
                                                                          kind="push_test"))
        assert isinstance(make_expert(other), Still)
    finally:
        del EXPERTS["push_test"]
    with pytest.raises(ValueError, match="no scripted expert"):
        make_expert(dataclasses.replace(short_panda, task=dataclasses.replace(
            short_panda.task, kind="nope")))


def test_cli_records_demos_and_mcap_that_round_trip(tmp_path: Path, panda_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, mcap = tmp_path / "demos.npz", tmp_path / "demos.mcap"
    assert main(["demos", "record", str(panda_path), "--source", "scripted", "--episodes", "1",
                 "--out", str(out), "--mcap", str(mcap)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["transitions"] == 100 and summary["success_labels"] is True
    back = tmp_path / "back.npz"
    assert recording_to_prior([mcap], back) == 100
    a, b = np.load(out), np.load(back)
    for key in ("obs", "action", "reward", "success", "intervention"):
        np.testing.assert_array_equal(a[key], b[key])


def test_cli_names_the_task_without_an_expert(tmp_path: Path, a1_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demos", "record", str(a1_path), "--source", "scripted",
                 "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "task.kind" in err and "no scripted expert for 'walk'" in err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("option", ["--out", "--mcap"])
@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_an_output_that_cannot_be_written_is_refused_before_recording(
        tmp_path: Path, panda_path: Path, option: str, where: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`demos record --out FOLDER` recorded every episode, then raised IsADirectoryError
    (a person's teleoperation lost); now one line and status 2 before the first episode."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    bad = str(tmp_path) if where == "folder" else str(a_file / "demos.npz")
    paths = {"--out": str(tmp_path / "demos.npz"), "--mcap": str(tmp_path / "demos.mcap")}
    paths[option] = bad
    argv = ["demos", "record", str(panda_path), "--source", "scripted", "--episodes", "1",
            "--out", paths["--out"], "--mcap", paths["--mcap"]]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and option in captured.err, captured.err
    assert captured.out == ""  # nothing recorded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
