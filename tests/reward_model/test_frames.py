"""The labelled-frames format: round trip, and one-line errors naming file and array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.reward_model.frames import FramesError, load_frames, save_frames

from .synthetic import squares


def test_round_trip_and_extra_arrays_ignored(tmp_path: Path) -> None:
    frames = squares(30)
    path = tmp_path / "f.npz"
    save_frames(path, frames.images, frames.success, "front", frames.episode)
    back = load_frames(path)
    assert np.array_equal(back.images, frames.images) and back.camera == "front"
    assert back.success.dtype == bool and np.array_equal(back.success, frames.success)
    assert back.episode is not None and np.array_equal(back.episode, frames.episode)
    # a demo recording's own arrays (and 0/1 labels, no episodes) are fine
    np.savez(path, images=frames.images, success=frames.success.astype(np.uint8),
             camera=np.array("wrist"), action=np.zeros((30, 7), np.float32))
    back = load_frames(path)
    assert back.camera == "wrist" and back.episode is None and back.success.sum() > 0


def _write(path: Path, **arrays: np.ndarray) -> Path:
    base = {"images": np.zeros((4, 8, 8, 3), np.uint8), "success": np.zeros(4, bool),
            "camera": np.array("front")}
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


@pytest.mark.parametrize(("arrays", "key", "needle"), [
    ({"images": None}, "images", "missing array"),
    ({"images": np.zeros((4, 8, 8), np.uint8)}, "images", "(N, H, W, 3) uint8"),
    ({"images": np.zeros((4, 8, 8, 3), np.float32)}, "images", "(N, H, W, 3) uint8"),
    ({"images": np.zeros((1, 600, 8, 3), np.uint8)}, "images", "at most 512 px"),
    ({"images": np.zeros((0, 8, 8, 3), np.uint8), "success": np.zeros(0, bool)}, "images",
     "at least one frame"),
    ({"success": np.zeros(3, bool)}, "success", "expected shape [4]"),
    ({"success": np.zeros(1000, bool)}, "success", "expected shape [4]"),  # header check
    ({"success": np.array([0.5, 0, 0, 1])}, "success", "booleans"),
    ({"camera": np.array(3)}, "camera", "one string"),
    ({"episode": np.zeros(4, np.float32)}, "episode", "[4] integers"),
    ({"camera": np.array(["a", "b"], dtype=object)}, "<file>", "plain arrays"),
])
def test_mistakes_are_one_line(tmp_path: Path, arrays: dict, key: str, needle: str) -> None:
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FramesError) as err:
        load_frames(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and f": {key}: " in text and needle in text


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_text("not a zip")
    np.save(tmp_path / "one.npy", np.zeros(3))
    for path, needle in ((tmp_path / "x.npz", ".npz archive"),
                         (tmp_path / "one.npy", "single .npy"),
                         (tmp_path / "missing.npz", "existing .npz")):
        with pytest.raises(FramesError, match="<file>: expected") as err:
            load_frames(path)
        assert needle in str(err.value)
