"""Deterministic evaluation of a policy, with an optional MP4 from the PyBullet camera."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass
class EvalResult:
    """Outcome of deterministic evaluation episodes."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    # per episode: mean forward velocity over the full time limit (steps after a fall count
    # as standing still), only for walking tasks
    forward_velocity: list[float] = field(default_factory=list)
    # per episode, walking tasks: straight-line speed, the base's horizontal distance from
    # where the episode started to where it ended over the same horizon. Forward velocity is
    # measured along the body's heading, so a robot running in circles scores high on it but
    # near zero here.
    net_velocity: list[float] = field(default_factory=list)
    # per episode, at its last step: reach, end effector to target; push, block to goal (m)
    final_distance: list[float] = field(default_factory=list)
    # per episode, tasks with a success test (reach: success_distance; push: the
    # task.push.success predicate): 1.0 where it held at the episode's last step
    success: list[float] = field(default_factory=list)
    # task.reward_model: per episode, the learned classifier's verdict on its last step and
    # the sim's own success predicate on the same step (do they agree?)
    learned_success: list[float] = field(default_factory=list)
    sim_success: list[float] = field(default_factory=list)
    video: Path | None = None

    def add_walk(self, velocities: list[float], start: np.ndarray | None, env: gym.Env,
                 steps: int) -> None:
        """Records one walking episode over a horizon of ``steps`` control steps: its mean
        forward velocity (steps not in ``velocities`` count as standing still) and, where
        the base position is known, its straight-line velocity from ``start``."""
        self.forward_velocity.append(float(np.sum(velocities) / steps))
        net = net_velocity(start, base_xy(env), steps, env)
        if net is not None:
            self.net_velocity.append(net)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    def summary(self) -> dict[str, float]:
        out = {"return": self.mean_return, "length": float(np.mean(self.lengths))}
        if self.forward_velocity:
            out["forward_velocity"] = float(np.mean(self.forward_velocity))
        if self.net_velocity:
            out["net_velocity"] = float(np.mean(self.net_velocity))
        if self.final_distance:
            out["final_distance"] = float(np.mean(self.final_distance))
        if self.success:
            out["success_rate"] = float(np.mean(self.success))
        if self.learned_success:
            out["learned_success"] = float(np.mean(self.learned_success))
            out["sim_success"] = float(np.mean(self.sim_success))
        return out


def evaluate(policy: Policy, env: gym.Env, episodes: int, seed: int = 10_000,
             video: str | Path | None = None,
             action_transform: Callable[[np.ndarray], np.ndarray] | None = None) -> EvalResult:
    """Run ``episodes`` deterministic episodes of ``policy`` in ``env``.

    Args:
        policy: maps an observation to a normalized action.
        env: the environment (a :class:`robot_rl.envs.RobotEnv` to record video).
        episodes: how many episodes.
        seed: seed of the first episode's reset (then seed + i).
        video: write an MP4 of the first episode here (needs ``env.render()``).
        action_transform: maps a normalized action to the env's action space.
    """
    result = EvalResult()
    frames: list[np.ndarray] = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        start = base_xy(env)
        done, ret, length, velocities = False, 0.0, 0, []
        info: dict[str, Any] = {}
        while not done:
            if video is not None and ep == 0:
                _show_target(env)
                frames.append(np.asarray(env.render()))
            action = policy(obs)
            if action_transform is not None:
                action = action_transform(action)
            obs, reward, terminated, truncated, info = env.step(action)
            ret += float(reward)
            length += 1
            if "forward_velocity" in info:
                velocities.append(float(info["forward_velocity"]))
            done = terminated or truncated
        result.returns.append(ret)
        result.lengths.append(length)
        if velocities:
            limit = getattr(getattr(env, "cfg", None), "task", None)
            horizon = limit.episode_steps if limit is not None else length
            result.add_walk(velocities, start, env, max(horizon, length))
        distance = info.get("block_distance", info.get("ee_distance"))  # push, else reach
        if distance is not None:
            result.final_distance.append(float(distance))
        if "success" in info:
            result.success.append(float(info["success"]))
        if "learned_success" in info:
            result.learned_success.append(float(info["learned_success"]))
            result.sim_success.append(float(info.get("success", float("nan"))))
    if video is not None and frames:
        _show_target(env, hide=True)
        fps = getattr(env, "metadata", {}).get("render_fps", 20)
        result.video = write_mp4(Path(video), frames, fps)
    return result


def nominal_policy(env: gym.Env) -> Policy:
    """The policy that holds the nominal pose: action 0 (joint targets at ``robot.nominal``),
    the baseline a learned policy's evaluation is read against."""
    shape = env.action_space.shape
    assert shape is not None
    return lambda obs: np.zeros(shape, dtype=np.float32)


def _show_target(env: gym.Env, hide: bool = False) -> None:
    """Marks the episode's reach target (``env.control.target``) in rendered frames, where
    the robot can draw one (:meth:`sim_bridge.pybullet_robot.PyBulletRobot.show_target`)."""
    base = getattr(env, "unwrapped", env)
    show = getattr(getattr(base, "robot", None), "show_target", None)
    if callable(show):
        target = getattr(getattr(base, "control", None), "target", None)
        show(None if hide or target is None else np.asarray(target, dtype=np.float64))


def base_xy(env: gym.Env) -> np.ndarray | None:
    """The base's horizontal position (m), or None for an env without a robot base state."""
    for candidate in (env, getattr(env, "unwrapped", None)):
        position = getattr(getattr(candidate, "state", None), "base_position", None)
        if position is not None:
            return np.asarray(position[:2], dtype=np.float64).copy()
    return None


def net_velocity(start: np.ndarray | None, end: np.ndarray | None, steps: int,
                 env: gym.Env) -> float | None:
    """Straight-line speed (m/s): the base's horizontal displacement over ``steps`` control
    steps of ``env``'s config. None when the positions or the control period are unknown."""
    cfg = getattr(env, "cfg", None) or getattr(getattr(env, "unwrapped", None), "cfg", None)
    if start is None or end is None or cfg is None or steps <= 0:
        return None
    return float(np.linalg.norm(end - start) / (steps * cfg.control_dt))


def write_mp4(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Encode RGB frames to an MP4 that browsers and GitHub play: H.264 (yuv420p, moov atom
    first) with the ffmpeg binary of imageio-ffmpeg. Without it, OpenCV's mp4v (most
    browsers do not play it), with a one-line warning. Written to a temp file, then renamed."""
    tmp = path.with_name(f".{path.stem}.tmp.mp4")
    try:
        _write_h264(tmp, frames, fps)
    except (ImportError, OSError, RuntimeError) as err:
        tmp.unlink(missing_ok=True)
        print(f"warning: no H.264 encoder ({type(err).__name__}: {str(err).splitlines()[0]}); "
              f"writing {path.name} as mp4v, which browsers may not play", file=sys.stderr)
        _write_mp4v(tmp, frames, fps)
    tmp.replace(path)
    return path


def _write_h264(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    h, w = frames[0].shape[:2]
    ew, eh = w + w % 2, h + h % 2  # yuv420p needs even sizes: pad by one pixel
    writer = imageio_ffmpeg.write_frames(
        str(path), (ew, eh), fps=float(fps), codec="libx264", pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p", macro_block_size=1, quality=None,
        output_params=["-crf", "23", "-movflags", "+faststart"], ffmpeg_log_level="error")
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            frame = np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)
            if (ew, eh) != (w, h):
                frame = np.pad(frame, ((0, eh - h), (0, ew - w), (0, 0)), mode="edge")
            writer.send(frame)
    finally:
        writer.close()


def _write_mp4v(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open a video writer for {path}")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
