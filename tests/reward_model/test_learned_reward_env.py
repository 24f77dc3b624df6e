"""The embedded env paid by a learned success classifier (task.reward_model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.reward_model.classifier import SuccessNet, save_model
from robot_rl.reward_model.train import CHANNELS
from tests.conftest import write_config

FRONT = {"name": "front", "width": 32, "height": 32, "fov_deg": 40.0,
         "fixed": {"eye": [1.2, 0.35, 0.65], "target": [0.5, 0.15, 0.35]}}


def constant_model(folder: Path, logit: float, size: tuple[int, int] = (32, 32)) -> Path:
    """A classifier that answers sigmoid(``logit``) for every frame."""
    net = SuccessNet(CHANNELS)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.head[-1].bias.fill_(logit)
    return save_model(folder, net, "front", size, 0.5, CHANNELS)


def panda_config(tmp_path: Path, panda_path: Path, **model: object) -> Path:
    spec = {"path": "model", "camera": "front", **model}
    return write_config(tmp_path, panda_path, {
        "cameras": [FRONT],
        "task": {"episode_steps": 6, "reach": {"hindsight": 0}, "reward_model": spec}})


def test_learned_success_pays_and_terminates(tmp_path: Path, panda_path: Path) -> None:
    constant_model(tmp_path / "model", logit=4.0)  # p = 0.98
    env = RobotEnv(str(panda_config(tmp_path, panda_path, reward=2.5)))
    seen: list[np.ndarray] = []
    judge = env.control.judge
    assert judge is not None
    real = judge.probability
    judge.probability = lambda frame: seen.append(frame) or real(frame)  # type: ignore[method-assign]
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(np.zeros(7, np.float32))
    assert (reward, terminated, truncated) == (2.5, True, False)
    assert info["learned_success"] == 1.0 and info["learned_probability"] > 0.9
    assert info["success"] == 0.0  # the sim's own verdict: the arm has not moved to the target
    assert len(seen) == 1 and seen[0].shape == (32, 32, 3) and seen[0].dtype == np.uint8
    assert np.array_equal(seen[0], env.robot.render_camera(env.reward_camera))
    env.close()


def test_no_learned_success_pays_nothing_until_the_time_limit(tmp_path: Path,
                                                               panda_path: Path) -> None:
    constant_model(tmp_path / "model", logit=-4.0)
    env = RobotEnv(str(panda_config(tmp_path, panda_path)))
    env.reset(seed=0)
    steps = [env.step(np.zeros(7, np.float32)) for _ in range(6)]
    assert all(s[1] == 0.0 for s in steps) and [s[2] for s in steps] == [False] * 6
    assert steps[-1][3] is True  # truncated at episode_steps
    assert all(s[4]["learned_success"] == 0.0 and "success" in s[4] for s in steps)
    env.close()


def test_config_threshold_replaces_the_models(tmp_path: Path, panda_path: Path) -> None:
    constant_model(tmp_path / "model", logit=0.0)  # p = 0.5 exactly
    env = RobotEnv(str(panda_config(tmp_path, panda_path, threshold=0.4, terminate=False)))
    assert env.control.judge is not None and env.control.judge.threshold == 0.4
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(np.zeros(7, np.float32))
    assert reward == 1.0 and not terminated and info["learned_success"] == 1.0
    env.close()


def test_model_of_another_frame_size_is_refused(tmp_path: Path, panda_path: Path) -> None:
    constant_model(tmp_path / "model", logit=0.0, size=(48, 48))
    with pytest.raises(ConfigError, match="task.reward_model.camera: expected the camera"):
        RobotEnv(str(panda_config(tmp_path, panda_path)))
    with pytest.raises(ConfigError, match="task.reward_model.path: expected a model folder"):
        RobotEnv(str(panda_config(tmp_path, panda_path, path="nowhere")))


@pytest.mark.parametrize(("model", "changes", "needle"), [
    ({"camera": "wrist"}, {}, "task.reward_model.camera: expected the name of a camera"),
    ({"threshold": 1.5}, {}, "task.reward_model.threshold: expected a probability"),
    ({"path": " "}, {}, "task.reward_model.path: expected the folder"),
    ({}, {"task": {"reach": {"hindsight": 4}}}, "task.reach.hindsight: expected 0 with"),
    ({"colour": 1}, {}, "task.reward_model.colour: unknown key"),
])
def test_config_mistakes(tmp_path: Path, panda_path: Path, model: dict, changes: dict,
                         needle: str) -> None:
    path = panda_config(tmp_path, panda_path, **model)
    if changes:
        path = write_config(tmp_path, path, changes, name="changed.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_evaluation_compares_learned_and_sim_success(tmp_path: Path, panda_path: Path) -> None:
    from robot_rl.evaluate import evaluate, nominal_policy

    constant_model(tmp_path / "model", logit=4.0)
    env = RobotEnv(str(panda_config(tmp_path, panda_path)))
    result = evaluate(nominal_policy(env), env, episodes=2)
    summary = result.summary()
    assert result.lengths == [1, 1]  # the classifier ends each episode at once
    assert summary["learned_success"] == 1.0 and summary["sim_success"] == 0.0
    env.close()
