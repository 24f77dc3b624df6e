"""Interventions while training (HIL-SERL): someone else acts when the policy strays.

In simulation the "person" is the task's scripted expert (:mod:`robot_rl.demos.experts`).
The rule (:class:`InterventionRule`), checked at every step after warm-up:

1. the task's distance (``info[distance_key]``: the reach task's ``ee_distance``, the push
   task's ``ee_block_distance``; :data:`DISTANCE_KEYS`) grew by more than ``min_growth`` on
   each of the last ``stray_steps`` policy steps, or
2. (when ``action_gap`` is set) the policy's action differs from the expert's by more than
   ``action_gap`` in some joint;

then the person takes over for ``takeover_steps`` steps (or to the episode's end). The
person's actions go through the same control step and safety filter as the policy's; each
of their transitions is flagged (``intervention``) and stored in both the online replay
buffer and the demonstration (prior) buffer of the RLPD mix. The intervention rate is logged
in ``metrics.jsonl`` (``train`` rows: since the previous row; ``episode`` rows: of the
episode) and drawn in ``learning_curve.png``.

Usage (what ``robot-rl train CONFIG --interventions scripted`` does)::

    buffer = with_demo_buffer(buffer, cfg.learner, seed)
    person = ScriptedPerson(make_expert(cfg), InterventionRule.for_task(cfg.task.kind))
    trainer = InterventionTrainer(env, agent, buffer, cfg.learner, person, run=run)
    trainer.train(5000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.config import LearnerConfig
from robot_rl.demos.experts import Expert
from robot_rl.sac import PixelReplayBuffer, ReplayBuffer
from robot_rl.sac.prior import MixedReplayBuffer, PixelMixedReplayBuffer
from robot_rl.train import Trainer

MODES = ("scripted",)
"""``robot-rl train --interventions`` choices (a ROS operator intervenes through the actor)."""


@dataclass(frozen=True)
class InterventionRule:
    """When the scripted person takes over, and for how long."""

    stray_steps: int = 5  # k: the distance grew on this many policy steps in a row
    min_growth: float = 1e-3  # a step strays when the distance grows by more than this
    action_gap: float | None = None  # x: max |policy - expert| per joint (None: rule off)
    takeover_steps: int = 20  # the person acts this many steps once engaged
    distance_key: str = "ee_distance"  # the step info's task distance

    @classmethod
    def for_task(cls, kind: str, **kwargs: Any) -> InterventionRule:
        """The rule for a task kind: its distance is the one in :data:`DISTANCE_KEYS`."""
        return cls(distance_key=DISTANCE_KEYS.get(kind, cls.distance_key), **kwargs)


DISTANCE_KEYS = {"reach": "ee_distance", "push": "ee_block_distance"}
"""Task kind -> the step info's distance whose growth means straying: reach, the gripper to
the target; push, the gripper to the block (it must get there before it can push)."""


class ScriptedPerson:
    """A scripted expert watching the policy, intervening by :class:`InterventionRule`."""

    def __init__(self, expert: Expert, rule: InterventionRule | None = None) -> None:
        self.expert = expert
        self.rule = rule or InterventionRule()
        self.reset()

    def reset(self) -> None:
        """A new episode: nothing strays yet, nobody has taken over."""
        self.expert.reset()
        self.streak = 0
        self.remaining = 0
        self.last_distance: float | None = None

    def act(self, env: Any, policy_action: np.ndarray) -> tuple[np.ndarray, bool]:
        """The action to apply and whether it is the person's."""
        rule = self.rule
        if self.remaining > 0:
            self.remaining -= 1
            return self.expert.act(env), True
        engaged = self.streak >= rule.stray_steps
        expert_action = None
        if not engaged and rule.action_gap is not None:
            expert_action = self.expert.act(env)
            engaged = bool(np.max(np.abs(expert_action - policy_action)) > rule.action_gap)
        if not engaged:
            return policy_action, False
        self.remaining = rule.takeover_steps - 1
        self.streak = 0
        return (expert_action if expert_action is not None else self.expert.act(env)), True

    def observe(self, info: dict[str, Any], intervened: bool) -> None:
        """Updates the stray streak from a completed step's info."""
        distance = info.get(self.rule.distance_key)
        if distance is None:
            return
        d = float(distance)
        grew = self.last_distance is not None and d > self.last_distance + self.rule.min_growth
        self.streak = self.streak + 1 if grew and not intervened else 0
        self.last_distance = d


def with_demo_buffer(buffer: ReplayBuffer, cfg: LearnerConfig, seed: int = 0,
                     room: int = 100_000) -> MixedReplayBuffer | PixelMixedReplayBuffer:
    """``buffer`` as an RLPD mix whose prior (demonstration) part has ``room`` more rows for
    interventions: the same prior data (``learner.prior_data``) if any, else none yet (the
    mix draws ``learner.prior_fraction`` from it once it holds a transition). A replay of
    camera frames (:class:`~robot_rl.sac.PixelReplayBuffer`) becomes a mix that keeps them."""
    obs_dim, act_dim = buffer.data["obs"].shape[1], buffer.data["action"].shape[1]
    prior = None
    fraction = cfg.prior_fraction
    if isinstance(buffer, (MixedReplayBuffer, PixelMixedReplayBuffer)):
        n = len(buffer.prior)
        prior = {k: v[:n] for k, v in buffer.prior.data.items()}
        fraction = buffer.fraction
    mixed: MixedReplayBuffer | PixelMixedReplayBuffer
    if isinstance(buffer, PixelReplayBuffer):
        mixed = PixelMixedReplayBuffer(obs_dim, act_dim, buffer.pixels_shape,
                                       buffer.frame_channels, buffer.capacity, prior, fraction,
                                       seed=seed, prior_capacity=min(room, buffer.capacity))
    else:
        mixed = MixedReplayBuffer(obs_dim, act_dim, buffer.capacity, prior, fraction,
                                  seed=seed, prior_capacity=min(room, buffer.capacity))
    if len(buffer):
        mixed.add_batch({k: v[:len(buffer)] for k, v in buffer.data.items()})
    return mixed


class InterventionTrainer(Trainer):
    """The embedded trainer with a scripted person who intervenes (see the module doc).

    Args:
        env, agent, cfg, **kwargs: as for :class:`~robot_rl.train.Trainer` (``env`` a
            :class:`~robot_rl.envs.RobotEnv`).
        buffer: a :class:`MixedReplayBuffer` or :class:`PixelMixedReplayBuffer`
            (:func:`with_demo_buffer`).
        person: who intervenes.
    """

    def __init__(self, env: Any, agent: Any, buffer: MixedReplayBuffer | PixelMixedReplayBuffer,
                 cfg: LearnerConfig,
                 person: ScriptedPerson, **kwargs: Any) -> None:
        super().__init__(env, agent, buffer, cfg, **kwargs)
        self.person = person
        self.demo_buffer = buffer
        self.intervened = False
        self.interventions = 0  # intervention transitions in this process
        self._window = [0, 0]  # steps, interventions since the last "train" row

    def _act(self, obs: np.ndarray) -> np.ndarray:
        action = super()._act(obs)
        self.intervened = False
        if self.step >= self.cfg.warmup_steps:  # warm-up's random actions are no policy
            action, self.intervened = self.person.act(self.env.unwrapped, action)
        return action

    def _store(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
               terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
        super()._store(obs, action, reward, next_obs, terminated, truncated, info)
        if self.intervened:  # HIL-SERL: into the online and the demonstration buffers
            self.demo_buffer.add_prior(obs, action, reward, next_obs, terminated, truncated)
            self.interventions += 1
        info["intervention"] = float(self.intervened)
        self.person.observe(info, self.intervened)
        self._window[0] += 1
        self._window[1] += int(self.intervened)

    def _new_episode(self) -> None:
        super()._new_episode()
        self.person.reset()

    def _accumulate(self, acc: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        acc = super()._accumulate(acc, info)
        acc.setdefault("intervention", []).append(float(info.get("intervention", 0.0)))
        return acc

    def _episode_extras(self, ep_info: dict[str, Any], ep_len: int) -> dict[str, float]:
        count = float(sum(ep_info.get("intervention", [])))
        return {"interventions": count, "intervention_rate": count / max(ep_len, 1)}

    def _train_extras(self) -> dict[str, float]:
        steps, count = self._window
        self._window = [0, 0]
        return {"intervention_rate": count / max(steps, 1),
                "interventions_total": float(self.interventions)}
