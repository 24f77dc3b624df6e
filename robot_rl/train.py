"""The embedded training loop: one process, environment in-process, SAC with UTD k.

Usage::

    trainer = Trainer(env, agent, buffer, cfg.learner, seed=0, run=run)
    trainer.train(total_steps=5000)     # progress bar, metrics, checkpoints
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robot_rl.config import LearnerConfig, RobotConfig
from robot_rl.runs import MetricsLogger, RunDir
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.sac.device import restore_agent
from robot_rl.sac.hindsight import HindsightRelabeller
from robot_rl.signals_handling import deferred_stop
from robot_rl.spaces import ActionRescale


class Trainer:
    """Collects experience with the current policy and runs k SAC updates per step.

    Args:
        env: any Gymnasium environment with a Box action space.
        agent: the SAC learner.
        buffer: the replay buffer.
        cfg: learner settings (batch size, UTD, warm-up).
        seed: seeds warm-up actions and episode resets.
        run: where metrics and checkpoints go (None: nowhere).
        log_every: environment steps between "train" metric lines.
        checkpoint_every: environment steps between checkpoints.
        progress: show a progress bar.
    """

    def __init__(self, env: gym.Env, agent: SAC, buffer: ReplayBuffer, cfg: LearnerConfig,
                 seed: int = 0, run: RunDir | None = None, log_every: int = 100,
                 checkpoint_every: int = 1000, progress: bool = True) -> None:
        self.env, self.agent, self.buffer, self.cfg = env, agent, buffer, cfg
        self.seed = seed
        self.run = run
        self._logger: MetricsLogger | None = None
        self._resume_step: int | None = None  # set by load(): metrics past it are dropped
        self._saved_step: int | None = None  # the step of the newest checkpoint on disk
        self.log_every, self.checkpoint_every = log_every, checkpoint_every
        self.progress = progress
        if not isinstance(env.action_space, gym.spaces.Box):
            raise TypeError(f"Trainer needs a Box action space, got {env.action_space}")
        self.rescale = ActionRescale(env.action_space)
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.episodes = 0
        self._wall_s = 0.0  # train()'s wall time before the running call (resumes add to it)
        self._running_since: float | None = None  # perf_counter() when train() began
        self.recent_returns: deque[float] = deque(maxlen=10)
        self.last_update: dict[str, float] = {}
        # the running episode, kept across train() calls: None until the first reset, and
        # again after load() (a resumed run starts a new episode)
        # a vector, or {"state", "pixels"} with observation.images (robot_rl.spaces)
        self._obs: Any = None
        self._ep_return, self._ep_len = 0.0, 0
        self._ep_info: dict[str, Any] = {}
        # task.reach.hindsight: relabelled copies of each reaching episode (None: off)
        cfg_of_env = getattr(env.unwrapped, "cfg", None)
        self.hindsight = (HindsightRelabeller.for_config(cfg_of_env, seed)
                          if isinstance(cfg_of_env, RobotConfig) else None)

    @property
    def logger(self) -> MetricsLogger | None:
        """The run's metrics, opened on first use (None without a run).

        Opened after :meth:`load`, it first drops the rows and TensorBoard events that the
        stopped run logged after its checkpoint, so a resumed run repeats none of them.
        """
        return self._open_metrics()

    def _open_metrics(self) -> MetricsLogger | None:
        if self._logger is None and self.run is not None:
            self._logger = MetricsLogger(self.run, resume_step=self._resume_step)
            self._resume_step = None
        return self._logger

    # -------------------------------------------------------------- the loop
    def train(self, total_steps: int) -> dict[str, float]:
        """Train until ``total_steps`` environment steps in all (counting resumed ones).

        A call continues the episode the previous call left running (training in chunks,
        ``train(k)`` then ``train(2 * k)``, collects what one ``train(2 * k)`` does); the
        environment is reset only when no episode is running. Evaluate between calls on
        another environment: resetting or stepping this one cuts the running episode short
        (and this loop would go on from an observation the environment has left).

        Ctrl-C (or SIGTERM) saves a checkpoint and raises ``KeyboardInterrupt`` for the caller.
        """
        self._open_metrics()  # now (after any load), so metrics.jsonl exists from the start
        bar = self._progress_bar(total_steps)
        if self._obs is None:
            self._new_episode()
        t0, s0 = time.perf_counter(), self.step
        self._running_since = t0
        utd = self.cfg.utd
        assert utd is not None  # LearnerConfig.__post_init__ fills the recipe's utd
        try:
            # Ctrl-C only sets a flag, checked here between steps: a KeyboardInterrupt raised
            # at an arbitrary line (inside a lock, say) once left a run hung after Ctrl-C
            with deferred_stop() as interrupted:
                while self.step < total_steps:
                    if interrupted.is_set():
                        raise KeyboardInterrupt
                    obs = self._obs
                    assert obs is not None
                    action = self._act(obs)
                    next_obs, reward, terminated, truncated, info = self.env.step(
                        self.rescale(action))
                    self._store(obs, action, float(reward), next_obs, terminated, truncated, info)
                    if self.hindsight is not None:
                        relabelled = self.hindsight.step(
                            obs, info.get("applied_action", action), next_obs,
                            terminated or truncated)
                        if relabelled is not None:
                            self.buffer.add_batch(relabelled)
                    self._obs = next_obs
                    self._ep_return += float(reward)
                    self._ep_len += 1
                    self._ep_info = self._accumulate(self._ep_info, info)
                    self.step += 1
                    if (self.step > self.cfg.warmup_steps
                            and len(self.buffer) >= self.cfg.batch_size):
                        self.last_update = self.agent.update(
                            self.buffer.sample(self.cfg.batch_size, utd))
                    if terminated or truncated:
                        self._end_episode(self._ep_return, self._ep_len, self._ep_info,
                                          terminated)
                        self._new_episode()
                    if self.step % self.log_every == 0:
                        rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
                        self._log_train(rate)
                        if bar is not None:
                            bar.set_postfix(self._postfix(rate), refresh=False)
                    if bar is not None:
                        bar.update(1)
                    if self.run is not None and self.step % self.checkpoint_every == 0:
                        self.save()
        except KeyboardInterrupt:
            if self.run is not None:
                self.save()
            raise
        finally:
            if bar is not None:
                bar.close()
            self._wall_s, self._running_since = self.wall_s, None
        if self.run is not None:
            self.save()
        rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
        return {"steps": self.step, "episodes": self.episodes, "steps_per_s": rate,
                "recent_return": self.recent_return}

    def _new_episode(self) -> None:
        """Reset the environment (seeded by the episode count) and the episode's totals."""
        self._obs, _ = self.env.reset(seed=self.seed + self.episodes)
        self._ep_return, self._ep_len, self._ep_info = 0.0, 0, {}

    def _act(self, obs: np.ndarray) -> np.ndarray:
        """The step's action: uniform during warm-up, then the policy's (a subclass may let
        someone else act, e.g. a person intervening)."""
        if self.step < self.cfg.warmup_steps:
            return self._random_action()
        return self.agent.act(obs)

    def _random_action(self) -> np.ndarray:
        """A warm-up action: uniform in [-1, 1] (a subclass may narrow it, e.g. to APRL's L)."""
        return self.rng.uniform(-1, 1, self.env.action_space.shape).astype(np.float32)

    def _store(self, obs: Any, action: np.ndarray, reward: float, next_obs: Any,
               terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
        """Put one transition in the replay buffer (a subclass may keep more of ``info``);
        observations with images go to a :class:`~robot_rl.sac.PixelReplayBuffer`."""
        self.buffer.add(obs, action, reward, next_obs, terminated, truncated)

    @property
    def wall_s(self) -> float:
        """Wall time spent in :meth:`train` over the run (s), the running call included."""
        running = 0.0 if self._running_since is None else time.perf_counter() - self._running_since
        return self._wall_s + running

    @property
    def recent_return(self) -> float:
        return float(np.mean(self.recent_returns)) if self.recent_returns else float("nan")

    def _accumulate(self, acc: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        for key in ("forward_velocity", "ee_distance", "fallen", "safety_hold"):
            if key in info:
                acc.setdefault(key, []).append(float(info[key]))
        return acc

    def _end_episode(self, ep_return: float, ep_len: int, ep_info: dict[str, Any],
                     terminated: bool) -> None:
        self.episodes += 1
        self.recent_returns.append(ep_return)
        if self.logger is None:
            return
        values = {"return": ep_return, "length": ep_len, "terminated": float(terminated)}
        if ep_info.get("forward_velocity"):
            values["forward_velocity"] = float(np.mean(ep_info["forward_velocity"]))
        if ep_info.get("ee_distance"):
            values["final_distance"] = ep_info["ee_distance"][-1]
        if ep_info.get("fallen"):
            values["fell"] = float(max(ep_info["fallen"]))
        if ep_info.get("safety_hold"):
            values["safety_holds"] = float(sum(ep_info["safety_hold"]))
        values.update(self._episode_extras(ep_info, ep_len))
        self.logger.log(self.step, "episode", values)

    def _episode_extras(self, ep_info: dict[str, Any], ep_len: int) -> dict[str, float]:
        """More values for an episode's metrics row (a subclass's)."""
        return {}

    def _train_extras(self) -> dict[str, float]:
        """More values for a "train" metrics row (a subclass's)."""
        return {}

    def _log_train(self, rate: float) -> None:
        if self.logger is not None:
            self.logger.log(self.step, "train", {**self.last_update, "steps_per_s": rate,
                                                 "episodes": self.episodes,
                                                 "recent_return": self.recent_return,
                                                 **self._train_extras()})

    def _postfix(self, rate: float) -> dict[str, str]:
        return {"steps/s": f"{rate:.1f}", "return": f"{self.recent_return:.1f}",
                "episodes": str(self.episodes)}

    def _progress_bar(self, total: int) -> Any:
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                    desc="training")

    # -------------------------------------------------------------- save/load
    def save(self) -> Path:
        """Write a checkpoint (agent, replay buffer, counters, RNG) atomically.

        Once per step: a second call at the same step (the end of training right after a
        periodic checkpoint) returns the checkpoint already written.
        """
        assert self.run is not None
        if self._saved_step == self.step:
            latest = self.run.latest_checkpoint()
            if latest is not None:
                return latest

        def write(folder: Path) -> None:
            torch.save(self.agent.state_dict(), folder / "agent.pt")
            self.buffer.save(folder / "buffer.npz")
            state = {"step": self.step, "episodes": self.episodes,
                     "wall_s": round(self.wall_s, 3), "recent_returns": list(self.recent_returns),
                     "trainer_rng": self.rng.bit_generator.state,
                     "buffer_rng": self.buffer.rng_state()}
            env_state = getattr(self.env, "state_dict", None)  # e.g. a task scheduler
            if callable(env_state):
                state["env"] = env_state()
            (folder / "trainer.json").write_text(json.dumps(state))

        if self._logger is not None:
            self._logger.sync()
        path = self.run.save_checkpoint(self.step, write)
        self._saved_step = self.step
        return path

    def load(self, folder: Path) -> None:
        """Restore from a checkpoint folder written by :meth:`save`."""
        restore_agent(self.agent, folder / "agent.pt",
                      self.run.config_path if self.run is not None else None)
        self.buffer.load(folder / "buffer.npz")
        state = json.loads((folder / "trainer.json").read_text())
        self.step, self.episodes = int(state["step"]), int(state["episodes"])
        self._wall_s = float(state.get("wall_s", 0.0))
        self.recent_returns.extend(state["recent_returns"])
        self.rng.bit_generator.state = state["trainer_rng"]
        self.buffer.set_rng_state(state["buffer_rng"])
        load_env_state = getattr(self.env, "load_state_dict", None)
        if "env" in state and callable(load_env_state):
            load_env_state(state["env"])
        self._saved_step = self.step
        self._obs = None  # the checkpoint holds no running episode: the next train() resets
        if self.hindsight is not None:
            self.hindsight.reset()
        if self._logger is not None:  # opened before the load: reopen past the checkpoint
            self._logger.close()
            self._logger = None
        self._resume_step = self.step

    def close(self) -> None:
        if self._logger is not None:
            self._logger.close()
            self._logger = None
