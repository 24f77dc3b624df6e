"""`robot-rl reward collect` then `reward train`, and their mistakes (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.reward_model.classifier import load_model
from robot_rl.reward_model.frames import load_frames, save_frames
from tests.conftest import write_config

from .synthetic import squares
from .test_learned_reward_env import FRONT


@pytest.fixture
def camera_panda(tmp_path: Path, panda_path: Path) -> Path:
    return write_config(tmp_path, panda_path, {
        "cameras": [FRONT], "task": {"episode_steps": 8, "reach": {
            "hindsight": 0, "target_low": [0.5, 0.15, 0.35], "target_high": [0.5, 0.15, 0.35],
            "success_distance": 0.06}}})


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for needle in needles:
        assert needle in err[0], err[0]


@pytest.mark.timeout(120)
def test_collect_then_train(tmp_path: Path, camera_panda: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    frames_path = tmp_path / "frames.npz"
    assert main(["reward", "collect", str(camera_panda), "--episodes", "4", "--out",
                 str(frames_path), "--drive-fraction", "1", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    frames = load_frames(frames_path)
    assert summary["frames"] == len(frames.success) == 32 and frames.camera == "front"
    assert frames.images.shape == (32, 32, 32, 3)
    assert frames.episode is not None and sorted(set(frames.episode)) == [0, 1, 2, 3]
    assert summary["positives"] == int(frames.success.sum()) > 0  # driven to the target
    assert summary["driven_episodes"] == 4 and not frames.success[::8].all()  # starts away
    with np.load(frames_path) as archive:  # the labels are the sim's predicate
        distance = archive["ee_distance"]
    assert np.array_equal(frames.success, distance < 0.06)
    # train on synthetic frames to keep the test fast
    synthetic = tmp_path / "squares.npz"
    s = squares(120)
    save_frames(synthetic, s.images, s.success, "front", s.episode)
    model_dir = tmp_path / "model"
    assert main(["reward", "train", str(synthetic), "--out", str(model_dir), "--epochs", "3",
                 "--quiet"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["split_by"] == "episode" and report["ms_per_frame"] > 0
    assert "held-out:" in out.err and "precision" in out.err and "recall" in out.err
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["metrics"]["val_frames"] == report["val_frames"]
    model = load_model(model_dir)
    assert 0.0 <= model.probability(s.images[0]) <= 1.0


def test_train_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main(["reward", "train", str(tmp_path / "none.npz"), "--out",
                 str(tmp_path / "m")]) == 2
    _one_line_error(capsys, "none.npz", "expected an existing .npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((3, 8, 8, 3), np.uint8), success=np.zeros(2, bool),
             camera=np.array("front"))
    assert main(["reward", "train", str(bad), "--out", str(tmp_path / "m")]) == 2
    _one_line_error(capsys, "bad.npz: success: expected shape [3]")
    s = squares(20)
    good = tmp_path / "good.npz"
    save_frames(good, s.images, np.zeros(20, bool), "front", s.episode)
    assert main(["reward", "train", str(good), "--out", str(tmp_path / "m")]) == 2
    _one_line_error(capsys, "expected both success and failure frames")
    other = tmp_path / "other.npz"
    save_frames(other, s.images, s.success, "wrist", s.episode)
    assert main(["reward", "train", str(good), str(other), "--out", str(tmp_path / "m")]) == 2
    _one_line_error(capsys, "other.npz: images: expected frames of", "got 'wrist'")
    assert not (tmp_path / "m").exists()
    file = tmp_path / "file"
    file.write_text("")
    assert main(["reward", "train", str(good), "--out", str(file)]) == 2
    _one_line_error(capsys, "--out: expected a folder")
    for option in (["--val-fraction", "0.95"], ["--epochs", "0"], ["--val-fraction", "x"]):
        with pytest.raises(SystemExit) as exit_:
            main(["reward", "train", str(good), "--out", "m", *option])
        assert exit_.value.code == 2
        _one_line_error(capsys, option[0])


def test_collect_mistakes_are_one_line(tmp_path: Path, camera_panda: Path, panda_path: Path,
                                       a1_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    out = str(tmp_path / "f.npz")
    assert main(["reward", "collect", str(panda_path), "--out", out]) == 2
    _one_line_error(capsys, "cameras: expected at least one camera")
    assert main(["reward", "collect", str(camera_panda), "--out", out, "--camera", "x"]) == 2
    _one_line_error(capsys, "--camera: expected one of the config's cameras (front)")
    assert main(["reward", "collect", str(camera_panda), "--out", str(tmp_path / "f.txt")]) == 2
    _one_line_error(capsys, "--out: expected a path ending in .npz")
    assert main(["reward", "collect", str(camera_panda), "--out",
                 str(tmp_path / "no" / "f.npz")]) == 2
    _one_line_error(capsys, "--out: expected an existing folder")
    walker = write_config(tmp_path, a1_path, {"cameras": [dict(FRONT, rate_hz=10.0)]},
                          name="a1cam.yaml")
    assert main(["reward", "collect", str(walker), "--out", out]) == 2
    _one_line_error(capsys, "task.kind: expected reach")
    with pytest.raises(SystemExit) as exit_:
        main(["reward", "collect", str(camera_panda), "--out", out, "--drive-fraction", "2"])
    assert exit_.value.code == 2
    _one_line_error(capsys, "--drive-fraction")
    assert not Path(out).exists()
