"""Training and evaluation with a task graph: the embedded Trainer plus task bookkeeping.

:class:`TaskTrainer` is the :class:`~robot_rl.train.Trainer` (same loop, same SAC updates)
for a :class:`~robot_rl.envs.task_env.TaskEnv` and a
:class:`~robot_rl.sac.multitask.MultiTaskReplayBuffer`. It adds:

* every task's reward and terminal flag stored with each transition;
* a ``segment`` row in ``metrics.jsonl`` at every task end (task, start, length, event,
  fell, next task, manual reset, return): what the task timeline plot draws;
* a ``tasks`` row every ``log_every`` steps with the per-task counters
  (``<task>/steps``, ``<task>/successes``, ``<task>/falls``, ..., ``manual_resets``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.envs.task_env import TaskEnv
from robot_rl.evaluate import EvalResult, Policy, base_xy, write_mp4
from robot_rl.train import Trainer


class TaskTrainer(Trainer):
    """The embedded Trainer for a task-graph environment (same arguments as Trainer)."""

    env: TaskEnv

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # task graphs relabel their own way (task_graph.relabel): no reach hindsight copies
        self.hindsight = None

    def _store(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
               terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
        extras = {"rewards_all": info["rewards_all"], "terminated_all": info["terminated_all"],
                  "task": info["task"]}  # MultiTaskReplayBuffer.add keywords
        action = info.get("applied_action", action)  # a scripted task's own action
        self.buffer.add(obs, action, reward, next_obs, terminated, truncated, **extras)

    def _end_episode(self, ep_return: float, ep_len: int, ep_info: dict[str, Any],
                     terminated: bool) -> None:
        super()._end_episode(ep_return, ep_len, ep_info, terminated)
        segment = self.env.last_segment
        if self.logger is not None and segment is not None:
            self.logger.log(self.step, "segment", {**segment, "return": ep_return})

    def _log_train(self, rate: float) -> None:
        super()._log_train(rate)
        if self.logger is not None:
            self.logger.log(self.step, "tasks", self.env.metrics())

    def _postfix(self, rate: float) -> dict[str, str]:
        out = super()._postfix(rate)
        counters = self.env.scheduler.counters
        out.update(task=self.env.scheduler.active_name,
                   falls=str(sum(c.falls for c in counters.values())),
                   resets=str(self.env.manual_resets))
        return out


@dataclass
class TaskEvalResult(EvalResult):
    """Evaluation of one task; ``events`` holds each episode's end (None: cut at horizon)."""

    task: str = ""
    events: list[str | None] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        out = super().summary()
        ends = [e for e in self.events if e is not None]
        out["success_rate"] = (sum(e == "success" for e in ends) / len(self.events)
                               if self.events else float("nan"))
        out["fall_rate"] = (sum(e == "failure" for e in ends) / len(self.events)
                            if self.events else float("nan"))
        return out


def evaluate_task(policy: Policy, cfg: RobotConfig, task: str, episodes: int = 1,
                  seed: int = 10_000, video: str | Path | None = None,
                  horizon: int | None = None) -> TaskEvalResult:
    """Run ``task`` deterministically from the spawn pose in a fresh simulator.

    Each episode spawns the robot, starts ``task`` and runs until the task ends or
    ``horizon`` steps (default: the task's ``timeout_steps``, else ``task.episode_steps``).
    ``forward_velocity`` is the episode's mean over the whole horizon (after a fall the robot
    counts as standing still), as in :func:`robot_rl.evaluate.evaluate`.
    """
    env = TaskEnv(cfg, seed=seed, fixed_task=task)
    spec_task = env.graph.tasks[env.graph.index(task)]
    horizon = horizon or spec_task.timeout_steps or cfg.task.episode_steps
    result = TaskEvalResult(task=task)
    frames: list[np.ndarray] = []
    try:
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed + ep)
            start = base_xy(env)
            ret, velocities, event, length = 0.0, [], None, 0
            info: dict[str, Any] = {}
            for _ in range(horizon):
                length += 1
                if video is not None and ep == 0:
                    frames.append(env.render())
                obs, reward, terminated, truncated, info = env.step(policy(obs))
                ret += float(reward)
                if "forward_velocity" in info:
                    velocities.append(float(info["forward_velocity"]))
                if terminated or truncated:
                    event = info["event"]
                    break
            result.returns.append(ret)
            result.lengths.append(length)
            result.events.append(event)
            if velocities:
                result.add_walk(velocities, start, env, horizon)
            if "ee_distance" in info:
                result.final_distance.append(float(info["ee_distance"]))
        if video is not None and frames:
            result.video = write_mp4(Path(video), frames, env.metadata["render_fps"])
    finally:
        env.close()
    return result


def evaluate_tasks(policy: Policy, cfg: RobotConfig, episodes: int = 1, seed: int = 10_000,
                   video: str | Path | None = None) -> dict[str, TaskEvalResult]:
    """:func:`evaluate_task` for every task of ``cfg``'s graph, in graph order.

    ``video`` records the first episode of the first task that is not the start task (the
    A1's ``walk_forward``): the start task is usually a recovery.
    """
    settings = cfg.task_graph_settings()
    assert settings is not None, "the config has no task_graph section"
    names = settings.spec.task_names
    filmed = next((n for n in names if n != settings.spec.start), names[0])
    return {name: evaluate_task(policy, cfg, name, episodes, seed,
                                video=video if name == filmed else None)
            for name in names}
