"""Recording demonstrations as prior data (RLPD's ``learner.prior_data``).

Each demonstration step is an ordinary environment step: the demonstrator's normalized action
goes through the same control step and safety filter as a policy's
(:class:`~robot_rl.control.ControlStep`). The output is the prior-data ``.npz`` of
:mod:`robot_rl.sac.prior`, plus two optional arrays aligned with the transitions:

- ``success`` (``[N]``, 0/1): the task's success predicate after the step (``task.reach``:
  closer than ``success_distance``), or the newest value of a ``std_msgs/Bool`` success topic;
  written only when one of them exists. The reward classifier trains on it.
- ``intervention`` (``[N]``, 0/1): the step was a person's (always 1 in demonstrations;
  training with interventions writes the flag of each transition).

With ``observation.images`` the observations are ``{"state", "pixels"}`` dicts: ``obs`` and
``next_obs`` hold the state vectors and ``pixels`` / ``next_frame`` the uint8 frames (the
stack acted on, the new frame after the step), the prior-data format of the pixel learner.

Usage::

    log = record_scripted(cfg, episodes=10, seed=0)
    log.save("demos.npz")              # learner.prior_data: demos.npz
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.demos.experts import Expert, make_expert
from robot_rl.demos.teleop import Teleop, TeleopSettings
from robot_rl.envs import RobotEnv
from robot_rl.ros import msgs
from robot_rl.spaces import Observation, frame_channels

KEYS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")


@dataclass
class DemoLog:
    """Demonstration transitions, collected step by step.

    ``frame_channels``: channels of one time step's frames (``cameras * 3``) when the
    observations carry images (``{"state", "pixels"}`` dicts), else 0.
    """

    rows: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in KEYS})
    success: list[float] = field(default_factory=list)
    intervention: list[float] = field(default_factory=list)
    episodes: int = 0
    episode_success: list[bool] = field(default_factory=list)
    frame_channels: int = 0

    def add(self, obs: Observation, action: np.ndarray, reward: float, next_obs: Observation,
            terminated: bool, truncated: bool, success: float | None,
            intervention: bool = True) -> None:
        """Appends one transition (``success`` None: no success label known)."""
        for key, value in zip(KEYS, (obs, np.clip(action, -1.0, 1.0), reward, next_obs,
                                     terminated, truncated), strict=True):
            self.rows[key].append(value)
        if success is not None:
            self.success.append(float(success))
        self.intervention.append(float(intervention))

    def __len__(self) -> int:
        return len(self.rows["reward"])

    def arrays(self) -> dict[str, np.ndarray]:
        """The prior-data arrays (float32; frames uint8), with ``success`` where every step
        has a label."""
        if not len(self):
            raise ValueError("no demonstration transitions recorded")
        rows = dict(self.rows)
        images = isinstance(rows["obs"][0], dict)
        if images:
            f = self.frame_channels
            if f <= 0:
                raise ValueError("observations with images need DemoLog.frame_channels")
            pixels = np.stack([o["pixels"] for o in rows["obs"]]).astype(np.uint8)
            next_frame = np.stack([o["pixels"][-f:] for o in rows["next_obs"]]).astype(np.uint8)
            rows["obs"] = [o["state"] for o in rows["obs"]]
            rows["next_obs"] = [o["state"] for o in rows["next_obs"]]
        out: dict[str, np.ndarray] = {
            k: np.asarray(np.stack([np.asarray(v, np.float64) for v in values]), np.float32)
            for k, values in rows.items()}
        if images:
            out["pixels"], out["next_frame"] = pixels, next_frame
        for key in ("reward", "terminated", "truncated"):
            out[key] = out[key].reshape(-1)
        if len(self.success) == len(self):
            out["success"] = np.asarray(self.success, np.float32)
        out["intervention"] = np.asarray(self.intervention, np.float32)
        return out

    def save(self, path: str | Path) -> Path:
        """Writes the arrays with ``np.savez`` (no pickled objects); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = self.arrays()
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return path


def demo_env(cfg: RobotConfig, seed: int) -> RobotEnv:
    """The simulated robot demos are recorded on (with ``observation.images`` its
    observations carry the camera frames the pixel learner sees)."""
    return RobotEnv(cfg, seed=seed)


def demo_log(cfg: RobotConfig) -> DemoLog:
    """An empty log for ``cfg``'s observations (frames stored where it has images)."""
    return DemoLog(frame_channels=frame_channels(cfg))


def success_of(info: dict[str, Any]) -> float | None:
    """The sim's success predicate for a step's info (None where the task defines none)."""
    return float(info["success"]) if "success" in info else None


def run_expert_episode(env: RobotEnv, expert: Expert, log: DemoLog, seed: int) -> bool:
    """One episode of ``expert`` in ``env`` into ``log``; True if it ended in success."""
    obs = env.reset(seed=seed)[0]
    expert.reset()
    success = 0.0
    while True:
        action = expert.act(env)
        next_obs, reward, terminated, truncated, info = env.step(action)
        label = success_of(info)
        success = label if label is not None else success
        log.add(obs, action, float(reward), next_obs, terminated, truncated, label)
        obs = next_obs
        if terminated or truncated:
            break
    log.episodes += 1
    log.episode_success.append(bool(success))
    return bool(success)


def record_scripted(cfg: RobotConfig, episodes: int, seed: int = 0,
                    expert: Expert | None = None) -> DemoLog:
    """``episodes`` demonstrations of the task's scripted expert in simulation.

    Episode ``i`` is reset with seed ``seed + i`` (its target and sensor noise).
    """
    expert = expert if expert is not None else make_expert(cfg)  # before the simulator
    env = demo_env(cfg, seed)
    log = demo_log(cfg)
    try:
        for i in range(episodes):
            run_expert_episode(env, expert, log, seed + i)
    finally:
        env.close()
    return log


class TeleopSession:
    """Teleoperated steps of the simulated robot, commanded over a ROS 2 topic.

    Each :meth:`step` takes what arrived on the teleop (and success) topics, then steps the
    environment with the operator's action, or holds the measured pose when the command is
    stale (no transition then).

    Args:
        env: The environment (its episode running: call ``env.reset`` first).
        teleop: The command mapping.
        node: A ROS 2 node (:func:`robot_rl.ros.api.make_node`) to subscribe with.
        success_topic: A ``std_msgs/Bool`` topic marking success ("" for none: the sim's
            predicate labels the steps where the task has one).
        clock: Wall clock for staleness (s).
    """

    def __init__(self, env: RobotEnv, teleop: Teleop, node: Any, success_topic: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.env, self.teleop, self.node, self.clock = env, teleop, node, clock
        s = teleop.settings
        self.commands = node.subscription(s.topic_name, s.message_type)
        self.success_sub = (node.subscription(success_topic, msgs.Bool)
                            if success_topic else None)
        self.success_flag = False
        self.holds = 0

    @property
    def rejected(self) -> int:
        """Malformed commands: undecodable (the subscription's count) or invalid (teleop's)."""
        return int(self.commands.rejected) + self.teleop.rejected

    def poll(self) -> None:
        """Spins the node once and takes every received command and success mark."""
        self.node.spin_once(0.0)
        for msg in self.commands.take():
            self.teleop.receive(msg, self.clock())
        if self.success_sub is not None:
            for flag in self.success_sub.take():
                self.success_flag = bool(flag.data)

    def step(self, obs: Observation, log: DemoLog | None = None
             ) -> tuple[Observation, bool, dict[str, Any]] | None:
        """One control period: the operator's step (``(next_obs, done, info)``, logged in
        ``log``), or None when the command is stale and the robot held its measured pose."""
        self.poll()
        action = self.teleop.action(self.env.state, self.clock())
        if action is None:
            self.env.hold("teleop_stale")
            self.holds += 1
            return None
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        label = float(self.success_flag) if self.success_sub is not None else success_of(info)
        if log is not None:
            log.add(obs, action, float(reward), next_obs, terminated, truncated, label)
        return next_obs, bool(terminated or truncated), info


def record_teleop(cfg: RobotConfig, settings: TeleopSettings, episodes: int, node: Any,
                  seed: int = 0, success_topic: str = "",
                  progress: Callable[[str], None] | None = None) -> tuple[DemoLog, dict[str, int]]:
    """``episodes`` teleoperated demonstrations in simulation, paced at ``robot.control_hz``.

    Returns the log and counts: ``holds`` (stale periods), ``rejected`` (malformed
    commands), ``accepted``.
    """
    env = demo_env(cfg, seed)
    session = TeleopSession(env, Teleop(cfg, settings), node, success_topic)
    log = demo_log(cfg)
    period = cfg.control_dt
    try:
        for i in range(episodes):
            obs = env.reset(seed=seed + i)[0]
            success = False
            if progress is not None:
                progress(f"episode {i + 1}/{episodes}: waiting for {settings.topic_name}")
            next_tick = time.monotonic()
            while True:
                out = session.step(obs, log)
                if out is not None:
                    obs, done, info = out
                    label = log.success[-1] if len(log.success) == len(log) else 0.0
                    success = bool(label)
                    if done:
                        break
                next_tick += period
                time.sleep(max(0.0, next_tick - time.monotonic()))
            log.episodes += 1
            log.episode_success.append(success)
    finally:
        env.close()
    return log, {"holds": session.holds, "rejected": session.rejected,
                 "accepted": session.teleop.accepted}
