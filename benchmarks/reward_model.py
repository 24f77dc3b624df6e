"""Learned success reward: held-out quality on new episodes, and its cost per step.

Given a model folder (``robot-rl reward train --out``), labelled frames from episodes it
never saw (``robot-rl reward collect --seed`` another seed) and the robot config they came
from, prints one JSON object:

- ``test``: precision, recall, accuracy and counts on those frames at the model's threshold
  and at 0.5;
- ``by_distance``: where the test frames carry ``ee_distance`` (``reward collect``): frames
  and accuracy at the model's threshold per band of gripper-target distance (cm), to show
  how the classifier does near the success boundary;
- ``ms_per_frame``: ``SuccessModel.probability`` on one frame, CPU, batch of 1, one torch
  thread (median and p90 over ``--frames`` calls);
- ``env_step_ms``: ``RobotEnv.step`` with zero actions, without and with
  ``task.reward_model`` (the difference: render the camera + classify), median over
  ``--steps`` steps.

Usage: ``python benchmarks/reward_model.py CONFIG MODEL_DIR TEST_FRAMES.npz``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robot_rl.config import load_config  # noqa: E402
from robot_rl.config.reward_model import RewardModelSpec  # noqa: E402
from robot_rl.envs import RobotEnv  # noqa: E402
from robot_rl.reward_model.classifier import load_model  # noqa: E402
from robot_rl.reward_model.frames import load_frames  # noqa: E402
from robot_rl.reward_model.train import metrics  # noqa: E402


def _ms(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {"median": round(float(np.median(a)), 3), "p90": round(float(np.percentile(a, 90)), 3)}


def _step_times(env: RobotEnv, steps: int) -> list[float]:
    env.reset(seed=0)
    times = []
    action = np.zeros(env.action_space.shape, np.float32)
    for _ in range(steps):
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        times.append(time.perf_counter() - start)
        if terminated or truncated:
            env.reset()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("model")
    parser.add_argument("frames")
    parser.add_argument("--frames-timed", type=int, default=300)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    test = load_frames(args.frames)
    prob = model.probabilities(test.images)
    label = test.success
    result = {
        "test_frames": int(len(label)), "test_positives": int(label.sum()),
        "test_episodes": None if test.episode is None else int(len(set(test.episode))),
        "threshold": model.threshold,
        "test_at_threshold": metrics(prob, label, model.threshold),
        "test_at_0.5": metrics(prob, label, 0.5),
    }
    with np.load(args.frames) as archive:
        distance = archive["ee_distance"] if "ee_distance" in archive.files else None
    if distance is not None:
        pred = prob > model.threshold
        bands = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 1000.0]
        rows = []
        for lo, hi in zip(bands[:-1], bands[1:], strict=True):
            inside = (distance * 100 >= lo) & (distance * 100 < hi)
            if inside.any():
                rows.append({"cm": [lo, hi], "frames": int(inside.sum()),
                             "successes": int(label[inside].sum()),
                             "accuracy": round(float(np.mean(pred[inside] == label[inside])), 4)})
        result["by_distance"] = rows
    model.probability(test.images[0])
    times = []
    for i in range(args.frames_timed):
        frame = test.images[i % len(test.images)]
        start = time.perf_counter()
        model.probability(frame)
        times.append(time.perf_counter() - start)
    result["ms_per_frame"] = _ms(times)
    cfg = load_config(args.config)
    plain = RobotEnv(dataclasses.replace(cfg, task=dataclasses.replace(cfg.task,
                                                                        reward_model=None)))
    learned_cfg = dataclasses.replace(cfg, task=dataclasses.replace(
        cfg.task, reward_model=RewardModelSpec(str(Path(args.model).resolve()), model.camera,
                                               terminate=False)))
    learned = RobotEnv(learned_cfg)
    result["env_step_ms"] = {"plain": _ms(_step_times(plain, args.steps)),
                             "learned_reward": _ms(_step_times(learned, args.steps))}
    plain.close()
    learned.close()
    print(json.dumps(result).replace("NaN", "null"))


if __name__ == "__main__":
    main()
