"""Labelled frames from simulation: ``robot-rl reward collect`` (docs/reward_model.md).

Runs episodes of the config's task in PyBullet and stores one camera's frame after every
step with the sim's own success predicate as its label (reach: end effector closer than
``task.reach.success_distance`` to the target). Random episodes seldom succeed, so a share
of the episodes (``drive_fraction``) is driven to the target by PyBullet's inverse
kinematics; some of those aim a few centimetres beside it, which gives failures that look
almost like successes. The frames go to a labelled-frames archive
(:mod:`robot_rl.reward_model.frames`) with the episode of each frame.

Usage::

    summary = collect_frames("robot_configs/panda_reward.yaml", episodes=40,
                             out="frames.npz", camera="front")
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs.robot_env import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.kinematics import ArmKinematics, action_for_targets
from robot_rl.reward_model.frames import save_frames

NEAR_MISS = (0.6, 0.02, 0.08)
"""Driven episodes: the chance of aiming at the target itself, else an aim this far
(uniform, m) beside it."""


def collect_frames(config: str | RobotConfig, episodes: int, out: str | Path, seed: int = 0,
                   camera: str | None = None, drive_fraction: float = 0.5,
                   log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Runs ``episodes`` episodes and writes their labelled frames to ``out``.

    Args:
        config: the robot config (object or YAML path) with a ``cameras:`` section; its
            ``task.reward_model``, if any, is not used (the labels are the sim's).
        episodes: how many episodes (each ``task.episode_steps`` frames).
        out: the ``.npz`` to write.
        seed: seeds targets, random actions and which episodes are driven.
        camera: the camera to record (default: the config's first).
        drive_fraction: share of episodes driven to the target by inverse kinematics.
        log: called with one line per episode.

    Returns:
        A summary: frames, positives, episodes, driven episodes, camera, seconds.

    Raises:
        ConfigError: no camera, an unknown camera, or a task without a success predicate.
    """
    cfg = load_config(config) if isinstance(config, str) else config
    if cfg.task.kind != "reach":
        raise ConfigError(cfg.source, "task.kind", "expected reach: frames are labelled "
                          "with the task's success predicate, and walk has none")
    if not cfg.cameras:
        raise ConfigError(cfg.source, "cameras", "expected at least one camera to record "
                          "(docs/configs.md)")
    names = [c.name for c in cfg.cameras]
    name = camera or names[0]
    if name not in names:
        raise ConfigError("<command line>", "--camera", f"expected one of the config's "
                          f"cameras ({', '.join(names)}), got {name!r}")
    cam = cfg.cameras[names.index(name)]
    reach = cfg.task.reach
    if log is not None and reach.target_low != reach.target_high:
        log("note: the reach target is drawn in a box but is not visible in the frames; a "
            "classifier can learn success only where the camera shows it (fixed target: "
            "target_low == target_high)")
    cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, reward_model=None))
    env = RobotEnv(cfg, seed=seed)
    rng = np.random.default_rng([seed, 11])
    ik = ArmKinematics(cfg)
    images: list[np.ndarray] = []
    labels: list[bool] = []
    distances: list[float] = []
    ids: list[int] = []
    driven = 0
    start = time.monotonic()
    try:
        for ep in range(episodes):
            env.reset(seed=seed if ep == 0 else None)
            drive = bool(rng.random() < drive_fraction)
            driven += drive
            assert env.control.target is not None
            aim = env.control.target.copy()
            if drive and rng.random() > NEAR_MISS[0]:
                direction = rng.normal(size=3)
                aim += direction / np.linalg.norm(direction) * rng.uniform(*NEAR_MISS[1:])
            action: np.ndarray = np.zeros(cfg.action_dim, np.float32)
            hits = 0
            for _ in range(cfg.task.episode_steps):
                if drive:
                    measured = env.state.joint_position
                    action = (action_for_targets(cfg, ik.inverse(aim, measured), measured, ik)
                              + rng.normal(0, 0.02, cfg.action_dim))
                else:  # a random walk of the normalized action
                    action = action + rng.normal(0, 0.25, cfg.action_dim)
                action = np.clip(action, -1.0, 1.0).astype(np.float32)
                _, _, terminated, truncated, info = env.step(action)
                images.append(env.robot.render_camera(cam))
                labels.append(bool(info["success"] > 0.5))
                distances.append(float(info["ee_distance"]))
                ids.append(ep)
                hits += labels[-1]
                if terminated or truncated:
                    break
            if log is not None:
                log(f"episode {ep + 1}/{episodes} ({'driven' if drive else 'random'}): "
                    f"{hits} success frames")
    finally:
        env.close()
        ik.close()
    save_frames(out, np.stack(images), np.array(labels), name, np.array(ids),
                extra={"ee_distance": np.array(distances)})
    return {"frames": len(labels), "positives": int(sum(labels)), "episodes": episodes,
            "driven_episodes": driven, "camera": name, "out": str(out),
            "seconds": round(time.monotonic() - start, 1)}
