"""The distributed actor: steps a robot environment, ships transitions, follows new weights.

Usage loop (one thread; the env is anything with ``reset``/``step`` and Box spaces, e.g.
:class:`~robot_rl.envs.RobotEnv`, later the ROS 2 node's environment)::

    client = ActorClient("tcp://learner:5555", "a1-left", curve=client_curve("keys/", "a1-left"))
    loop = ActorLoop(env, client, ActorSettings(on_learner_loss="hold"))
    while not stop:
        loop.step()            # one control step: act (or hold), buffer, send, poll
    loop.finish(timeout_s=30)  # send the last partial batch, wait until committed

Actions are uniform random until the first weights arrive (the learner publishes only after
its warm-up), then sampled from the newest policy. Every transition carries ``step``, its
number at this actor (0, 1, 2, ...), so the learner's checkpoints can prove exactly-once.
With ``observation.images`` observations are ``{"state", "pixels"}`` dicts (the environment's
control step stacks the frames), the policy comes with its image encoder, and each
transition also carries ``pixels`` and ``next_frame`` (:mod:`robot_rl.distributed.transitions`).
With the learner gone the actor keeps acting on its last weights (``continue``) or holds the
measured pose through the environment's control step (``env.hold``, ``hold``); in both cases
unsent and unacknowledged batches stay buffered in the client and go out when a learner
answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np

from robot_rl.control import Transition
from robot_rl.distributed.transitions import pack_transitions
from robot_rl.distributed.weights import ActorPolicy, unpack_weights
from robot_rl.spaces import ActionRescale, Observation
from robot_rl.transport import ActorClient

logger = logging.getLogger(__name__)


class ActorEnv(Protocol):
    """What the actor needs from an environment (Gymnasium's API with a Box action space;
    observations a Box, or a Dict of ``state`` and uint8 ``pixels`` with images)."""

    action_space: Any
    observation_space: Any
    frame_channels: int  # with images: channels of one time step of the pixels (cameras x 3)

    def reset(self, *, seed: int | None = None) -> tuple[Observation, dict[str, Any]]: ...

    def step(self, action: np.ndarray) -> tuple[Observation, float, bool, bool, dict]: ...

    def hold(self, reason: str) -> Any:
        """One control period held at the measured pose (see RobotEnv.hold)."""
        ...


@dataclass
class ActorSettings:
    """How the actor batches, paces and behaves without a learner."""

    batch_size: int = 32  # transitions per message (also sent at every episode end)
    on_learner_loss: Literal["continue", "hold"] = "continue"  # act on last weights, or hold
    rate_hz: float | None = None  # pace control steps to this rate (None: as fast as it can)
    hold_period_s: float = 0.05  # wall time per held step (polling the learner meanwhile)
    seed: int = 0  # seeds random actions, exploration noise and episode resets
    report_every_s: float = 10.0  # progress line on the log (0: never)


class ActorLoop:
    """Runs one actor: environment, policy copy and transport client.

    Args:
        env: the environment (normalized actions in [-1, 1] are rescaled to its Box).
        client: the transport's actor end (owned and closed by the caller).
        settings: batching, pacing and the learner-loss behaviour.
    """

    def __init__(self, env: ActorEnv, client: ActorClient,
                 settings: ActorSettings | None = None) -> None:
        self.env, self.client = env, client
        self.settings = s = settings or ActorSettings()
        self.rescale = ActionRescale(env.action_space)
        self.act_dim = int(np.prod(env.action_space.shape))
        space = env.observation_space
        pixels = space["pixels"].shape if isinstance(space, gym.spaces.Dict) else None
        # (obs_dim, pixels) the policy must have been trained for
        self.expected = (int(np.prod((space["state"] if pixels else space).shape)),
                         None if pixels is None else tuple(int(v) for v in pixels))
        self.frame_channels = 0 if pixels is None else int(env.frame_channels)
        self.rng = np.random.default_rng(s.seed)
        self.policy: ActorPolicy | None = None
        self.weights_version = -1
        self.weights_state: dict[str, Any] = {}  # the weights' state slot (APRL limit, later)
        self.metrics = dict.fromkeys(["steps", "policy_steps", "random_steps", "hold_steps",
                                      "episodes", "sent_transitions", "bad_weights"], 0)
        self.recent_returns: list[float] = []
        self._obs: Observation | None = None
        self._ep_return = 0.0
        self._rows: list[Transition] = []
        self._next_tick = time.monotonic()
        self._started = self._reported = time.monotonic()
        self._ever_alive = False
        self.learner_alive = False  # as of the last step

    # ----------------------------------------------------------------------- the loop
    def step(self) -> None:
        """One control step (or one held period), then send what is due and poll."""
        self._take_weights()
        self.learner_alive = self.client.learner_alive
        if self.settings.on_learner_loss == "hold" and not self.learner_alive:
            self._hold()
        else:
            self._act()
        self._report()

    def run(self, should_stop: Callable[[], bool], max_steps: int | None = None) -> None:
        """Steps until ``should_stop()`` or ``max_steps`` transitions were produced."""
        while not should_stop() and (max_steps is None or self.metrics["steps"] < max_steps):
            self.step()

    def finish(self, timeout_s: float) -> bool:
        """Sends the partial batch and waits until the learner committed everything."""
        self._send()
        return self.client.flush(timeout_s)

    def summary(self) -> dict[str, Any]:
        """Loop counters, the newest weights version and the client's transport metrics."""
        return {**self.metrics, "weights_version": self.weights_version,
                "pending_batches": self.client.pending_batches,
                "recent_return": float(np.mean(self.recent_returns[-10:]))
                if self.recent_returns else None, "transport": dict(self.client.metrics)}

    # ----------------------------------------------------------------------- internals
    def _take_weights(self) -> None:
        update = self.client.latest_weights()
        if update is None:
            return
        try:
            weights = unpack_weights(update.arrays, update.meta)
            if self.policy is None or self.policy.spec != weights.spec:
                self.policy = ActorPolicy(weights.spec, seed=self.settings.seed)
            self.policy.load(weights.groups)
            gate = getattr(self.env, "gate", None)  # APRL: the dynamics model for the gate
            if gate is not None and "dynamics" in weights.groups:
                gate.set_model(weights.groups["dynamics"], update.version)
        except ValueError as err:  # WeightsError, or dynamics arrays the gate refuses
            self.metrics["bad_weights"] += 1
            logger.error("ignoring weights version %d: %s", update.version, err)
            return
        spec = self.policy.spec
        if (spec.act_dim, (spec.obs_dim, spec.pixels)) != (self.act_dim, self.expected):
            logger.error("weights for %d actions, observations %s; the robot has %d, %s "
                         "(same robot config?): ignoring them", spec.act_dim,
                         (spec.obs_dim, spec.pixels), self.act_dim, self.expected)
            self.policy = None
            return
        self.weights_version = update.version
        self.weights_state = weights.state

    def _act(self) -> None:
        if self._obs is None:
            self._obs, _ = self.env.reset(seed=self.settings.seed + self.metrics["episodes"])
            self._ep_return = 0.0
        gate = getattr(self.env, "gate", None)
        if self.policy is None:
            action = self.rng.uniform(-1.0, 1.0, self.act_dim).astype(np.float32)
            if gate is not None:  # APRL: evenly inside [-L, L], not piled on its faces
                action = (action * gate.limits.L).astype(np.float32)
            self.metrics["random_steps"] += 1
        else:
            action = self.policy.act(self._obs).astype(np.float32)
            self.metrics["policy_steps"] += 1
        limit = None if gate is None else gate.limits.L.astype(np.float32)  # for this step
        next_obs, reward, terminated, truncated, info = self.env.step(self.rescale(action))
        action = info.get("applied_action", action)  # APRL: what the robot got
        obs, pixels = _split(self._obs)
        nxt, next_pixels = _split(next_obs)
        next_frame = (None if next_pixels is None  # the newest time step of the next stack
                      else next_pixels[-self.frame_channels:])
        self._rows.append(Transition(obs, action, float(reward), nxt, bool(terminated),
                                     bool(truncated), self.metrics["steps"], "", limit,
                                     pixels=pixels, next_frame=next_frame))
        self.metrics["steps"] += 1
        self._ep_return += float(reward)
        self._obs = next_obs
        if terminated or truncated or len(self._rows) >= self.settings.batch_size:
            self._send()
        if terminated or truncated:
            self._end_episode()
        self._pace()

    def _hold(self) -> None:
        if self._obs is not None:  # the episode ends here: the next action starts a new one
            if self._rows:
                self._rows[-1] = self._rows[-1]._replace(truncated=True)
            self._end_episode()
            self._send()
            logger.warning("learner gone: holding the measured pose (%d batches kept)",
                           self.client.pending_batches)
        self.env.hold("learner_lost")
        self.metrics["hold_steps"] += 1
        self.client.poll(self.settings.hold_period_s)

    def _end_episode(self) -> None:
        self.metrics["episodes"] += 1
        self.recent_returns = [*self.recent_returns[-99:], self._ep_return]
        self._obs = None

    def _send(self) -> None:
        if not self._rows:
            return
        if self.client.send_transitions(pack_transitions(self._rows)) is not None:
            self.metrics["sent_transitions"] += len(self._rows)
        self._rows = []

    def _pace(self) -> None:
        rate = self.settings.rate_hz
        if not rate:
            self.client.poll(0.0)
            return
        self._next_tick = max(self._next_tick + 1.0 / rate, time.monotonic() - 1.0)
        while True:  # poll until the next step is due (at least once)
            left = self._next_tick - time.monotonic()
            self.client.poll(max(left, 0.0))
            if left <= 0:
                return

    def _report(self) -> None:
        now = time.monotonic()
        alive = self.learner_alive
        self._ever_alive = self._ever_alive or alive
        if not self._ever_alive and now - self._started > 10.0 and now - self._reported > 10.0:
            self._reported = now
            logger.warning("no answer from the learner after %.0f s: is it running, and do the "
                           "keys match (--keys)?", now - self._started)
        every = self.settings.report_every_s
        if every and now - self._reported >= every:
            self._reported = now
            s = self.summary()
            logger.info("%d steps (%d policy, %d random, %d held), %d episodes, return %s, "
                        "weights %d, learner %s, %d batches pending", s["steps"],
                        s["policy_steps"], s["random_steps"], s["hold_steps"], s["episodes"],
                        "-" if s["recent_return"] is None else f"{s['recent_return']:.1f}",
                        self.weights_version, "alive" if alive else "gone",
                        s["pending_batches"])


def _split(obs: Observation) -> tuple[np.ndarray, np.ndarray | None]:
    """The state vector and the frames (None without images) of an observation."""
    if isinstance(obs, dict):
        return obs["state"], obs["pixels"]
    return obs, None
