"""The success classifier learns a tiny labelled set, not shuffled labels; save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.errors import ConfigError
from robot_rl.reward_model.classifier import (
    WEIGHTS,
    SuccessNet,
    load_model,
    save_model,
)
from robot_rl.reward_model.train import (
    CHANNELS,
    choose_threshold,
    metrics,
    random_shift,
    split_frames,
    train_classifier,
)

from .synthetic import squares


def test_learns_the_square_to_high_precision_and_recall() -> None:
    result = train_classifier([squares(200)], epochs=25, val_fraction=0.25, seed=0)
    m = result.report["val_at_0.5"]
    assert result.report["split_by"] == "episode"
    assert result.report["val_positives"] >= 10
    assert m["precision"] >= 0.9 and m["recall"] >= 0.9, m


def test_shuffled_labels_stay_near_chance() -> None:
    frames = squares(200)
    shuffled = frames._replace(success=np.random.default_rng(5).permutation(frames.success))
    result = train_classifier([shuffled], epochs=25, val_fraction=0.25, seed=0)
    m = result.report["val_at_0.5"]
    # chance: predicting every frame positive gives precision = the positive share (~0.35)
    assert m["accuracy"] < 0.8, m
    assert np.isnan(m["precision"]) or m["precision"] < 0.6, m


def test_split_holds_out_whole_episodes_else_frames() -> None:
    frames = squares(100, episodes=10)
    split = split_frames([frames], 0.2, seed=1)
    assert split.by == "episode"
    held = set(frames.episode[split.val])
    assert len(held) == 2 and not held & set(frames.episode[split.train])
    assert sorted(np.concatenate([split.train, split.val])) == list(range(100))
    plain = split_frames([frames._replace(episode=None)], 0.2, seed=1)
    assert plain.by == "frame" and len(plain.val) == 20
    assert np.array_equal(plain.val, split_frames([frames._replace(episode=None)], 0.2,
                                                  seed=1).val)


def test_metrics_and_threshold() -> None:
    prob = np.array([0.9, 0.8, 0.3, 0.2, 0.6])
    label = np.array([True, True, True, False, False])
    m = metrics(prob, label, 0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert choose_threshold(prob, label) == pytest.approx(0.25)  # all 3 positives, 1 FP
    assert choose_threshold(prob, np.zeros(5, bool)) == 0.5


def test_random_shift_moves_frames_within_the_padding() -> None:
    x = torch.zeros((8, 16, 16, 3))
    x[:, 6:10, 6:10] = 255.0
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert any(not torch.equal(out[i], x[i]) for i in range(8))
    assert all(float(out[i].sum()) == float(x[i].sum()) for i in range(8))  # square stays in


def test_training_needs_both_labels() -> None:
    frames = squares(60)
    with pytest.raises(ConfigError, match="both success and failure"):
        train_classifier([frames._replace(success=np.zeros(60, bool))], epochs=1)


def test_save_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = SuccessNet(CHANNELS)
    folder = save_model(tmp_path / "m", net, "front", (32, 32), 0.35, CHANNELS,
                        {"metrics": {"precision": float("nan")}})
    meta = json.loads((folder / "model.json").read_text())  # strict JSON: NaN -> null
    assert meta["metrics"]["precision"] is None and meta["threshold"] == 0.35
    model = load_model(folder)
    frames = squares(10, size=32).images
    expected = torch.sigmoid(net.eval()(torch.from_numpy(frames))).detach().numpy()
    assert np.allclose(model.probabilities(frames), expected, atol=1e-6)
    assert model.probability(frames[0]) == pytest.approx(float(expected[0]), abs=1e-6)
    assert (model.camera, model.size, model.threshold) == ("front", (32, 32), 0.35)
    with pytest.raises(ValueError, match="32x32 uint8"):
        model.probability(np.zeros((16, 16, 3), np.uint8))


def test_load_refuses_pickles_and_wrong_weights(tmp_path: Path) -> None:
    folder = save_model(tmp_path / "m", SuccessNet(CHANNELS), "front", (32, 32), 0.5,
                        CHANNELS)
    weights = folder / WEIGHTS

    class Boom:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pickled code ran",))

    torch.save({"x": Boom()}, weights)
    with pytest.raises(ConfigError, match="plain state dict"):
        load_model(folder)
    torch.save(SuccessNet((8,)).state_dict(), weights)
    with pytest.raises(ConfigError, match="channels"):
        load_model(folder)
    with pytest.raises(ConfigError, match="reward model folder"):
        load_model(tmp_path / "nothing")
    (folder / "model.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ConfigError, match="format"):
        load_model(folder)
