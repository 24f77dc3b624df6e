"""The distributed learner: one replay buffer and SAC fed by any number of actors.

Usage loop (one thread; each :meth:`Learner.step` returns within about one update)::

    server = LearnerServer("tcp://*:5555", curve=server_curve("keys/"))
    learner = Learner(cfg, agent, buffer, server, run, incarnation=next_incarnation(run))
    learner.load(run.latest_checkpoint())            # when resuming
    while not stop and not learner.done:
        learner.step()      # poll, store, one SAC update if owed, publish, checkpoint, log
    learner.shutdown()      # final checkpoint + commit, then answer actors a little longer

Each received transition after the warm-up (``learner.warmup_steps`` transitions in all) owes
one ``agent.update`` of ``utd`` critic updates, as in the embedded trainer; the server is
polled between any two updates, so actors see a live learner. Checkpoints hold the agent, the
buffer, the source tags (:mod:`robot_rl.distributed.sources`), the transport's marks and the
weights version, written atomically before :meth:`LearnerServer.commit`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from robot_rl.config import RobotConfig
from robot_rl.distributed.sources import SourceTags
from robot_rl.distributed.transitions import (
    FIELDS,
    IMAGE_ARRAYS,
    BatchShape,
    check_transitions,
    shape_mismatch,
)
from robot_rl.distributed.weights import ENCODER, POLICY, pack_weights, policy_spec
from robot_rl.runs import MetricsLogger, RunDir, atomic_write_text
from robot_rl.sac import SAC, ReplayBuffer, make_replay
from robot_rl.sac.device import resolve_learner, restore_agent
from robot_rl.sac.hindsight import HindsightRelabeller
from robot_rl.sac.pixel_buffer import PixelReplayBuffer
from robot_rl.sac.prior import MixedReplayBuffer, PixelMixedReplayBuffer
from robot_rl.session import pixel_learner
from robot_rl.spaces import ObservationBuilder
from robot_rl.train_aprl import AprlAgent, active_settings, aprl_learner
from robot_rl.transport import LearnerServer, TransitionBatch
from robot_rl.transport.ratelog import RateLimitedLog

logger = logging.getLogger(__name__)

INCARNATION_FILE = "learner_incarnation"
_MAX_OPEN_EPISODES = 4096  # actors whose running episode return is kept (oldest dropped)
T = TypeVar("T")
_MAX_RELABELLED = 64  # actors whose running episode is kept for hindsight relabelling


def recently_heard(table: dict[str, T], actor: str, cap: int, make: Callable[[], T]) -> T:
    """``actor``'s entry of ``table`` (made by ``make()`` if new), moved to the end as the most
    recently heard; past ``cap`` entries the least recently heard is forgotten, so a peer
    inventing actor names cannot grow the table."""
    value = table.pop(actor) if actor in table else make()
    table[actor] = value  # dicts keep insertion order: most recent last
    if len(table) > cap:
        del table[next(iter(table))]
    return value


@dataclass
class LearnerSettings:
    """How often the learner publishes, checkpoints and logs, and when it stops."""

    publish_every: int = 50  # update steps (one per transition, utd critic updates each)
    checkpoint_every: int = 1000  # received transitions between checkpoints
    checkpoint_idle_s: float = 2.0  # also checkpoint when nothing arrived for this long (s)
    # and some transitions are not in a checkpoint yet: actors forget only committed ones
    log_every: int = 100  # received transitions between "train" metric lines
    max_update_lag: int = 1000  # owed update steps kept; more are dropped and counted
    warn_behind: bool = True  # warn when owed updates are dropped (off in real-time training:
    # a learner slower than the paced robot is expected there and shows as the effective UTD)
    steps: int | None = None  # stop after this many received transitions (None: never)
    linger_s: float = 1.0  # after the final commit, keep answering actors this long (s)
    progress: bool = False  # show a progress bar on stderr
    tensorboard: bool = True  # also write TensorBoard events (metrics.jsonl always)


def next_incarnation(run: RunDir) -> int:
    """Counts learner starts in ``run`` durably, so weight versions grow across restarts.

    A learner killed after its last checkpoint may have published versions newer than the one
    in that checkpoint; actors ignore anything not newer than what they hold. Versions are
    ``incarnation << 32 | n``, and the incarnation is written before the first publish.
    """
    path = run.path / INCARNATION_FILE
    n = int(path.read_text()) + 1 if path.is_file() else 1
    atomic_write_text(path, f"{n}\n")
    return n


def make_learner(cfg: RobotConfig, server: LearnerServer, run: RunDir | None = None,
                 settings: LearnerSettings | None = None, seed: int = 0,
                 incarnation: int = 0) -> Learner:
    """A :class:`Learner` for ``cfg`` (sizes from the config: no simulator needed).

    Resolves ``cfg.learner``'s device and precision in place (``robot_rl.sac.device``; a
    no-op where the caller did, as ``robot-rl learner`` does before writing config.yaml).
    """
    obs_dim, act_dim = ObservationBuilder(cfg).size, cfg.action_dim
    cfg.learner = resolve_learner(cfg.learner, cfg.source)  # what the run's config records
    if cfg.observation.images:  # DrQ: the encoder and a replay of uint8 frames
        pixel_sac, frames = pixel_learner(cfg, obs_dim, act_dim, seed)
        return Learner(cfg, pixel_sac, frames, server, run, settings, incarnation)
    sac = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
    aprl = active_settings(cfg)
    # APRL: the dynamics model trains here; the gates run on the actors
    agent = sac if aprl is None else aprl_learner(cfg, sac, aprl, seed)
    config_dir = None if cfg.source is None else Path(cfg.source).parent
    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed, config_dir)
    return Learner(cfg, agent, buffer, server, run, settings, incarnation)



class Learner:
    """Stores what actors send, runs SAC updates at the config's UTD, publishes the policy.

    Args:
        cfg: the robot config (learner settings, observation and action sizes).
        agent: the SAC learner.
        buffer: the replay buffer (plain or with prior data).
        server: the transport's learner end (owned and closed by the caller).
        run: run directory for checkpoints and metrics (None: neither).
        settings: publish, checkpoint and log cadence.
        incarnation: this learner's start count in the run (see :func:`next_incarnation`).
    """

    def __init__(self, cfg: RobotConfig, agent: SAC | AprlAgent, buffer: ReplayBuffer,
                 server: LearnerServer, run: RunDir | None = None,
                 settings: LearnerSettings | None = None, incarnation: int = 0) -> None:
        self.cfg, self.agent, self.buffer, self.server, self.run = cfg, agent, buffer, server, run
        self.settings = settings or LearnerSettings()
        self.incarnation = incarnation
        # what each batch must hold (exactly these images, or none)
        self.shape = BatchShape(agent.obs_dim, agent.act_dim, agent.pixels_shape,
                                BatchShape.of(cfg).frame_channels)
        if (self.shape.pixels is not None) != isinstance(buffer, PixelReplayBuffer):
            raise ValueError("a learner sees images (SAC pixels_shape) exactly when its "
                             "replay is a PixelReplayBuffer")
        self._stored = FIELDS if self.shape.pixels is None else (*FIELDS, *IMAGE_ARRAYS)
        self.spec = policy_spec(agent.obs_dim, agent.act_dim, cfg.learner.hidden,
                                agent.pixels_shape)
        self.sources = SourceTags(buffer.capacity)
        self.logger = (MetricsLogger(run, tensorboard=self.settings.tensorboard)
                       if run is not None else None)
        self.received = 0  # transitions stored, over all restarts
        self.update_steps = 0  # agent.update calls, over all restarts
        self.lag = 0  # update steps owed
        self.dropped_updates = 0
        self.bad_transitions = 0
        self.mismatched_batches = 0  # laid out for another config (actor refused)
        self.interventions = 0  # transitions flagged as an operator's (since this start)
        self.episodes = 0
        self.weights_version = -1
        self.last_info: dict[str, float] = {}
        # task.reach.hindsight: one relabeller per actor (its episodes arrive in order), for
        # the most recently heard _MAX_RELABELLED actors (a peer inventing names cannot grow it)
        self.hindsight = HindsightRelabeller.for_config(cfg, seed=0)
        self._relabellers: dict[str, HindsightRelabeller] = {}
        self.recent_returns: deque[float] = deque(maxlen=20)
        self._episode: dict[str, list[float]] = {}  # actor -> [return, length, interventions]
        self._saved_at = 0
        self._received_at = time.monotonic()
        self._logged_at = 0
        self._published_at: int | None = None  # update_steps at the last publish
        self._start = (time.monotonic(), 0, 0)
        self._wall_before = 0.0  # wall time (s) of the runs before a resume
        self._log = RateLimitedLog(logger)  # a bad actor cannot flood the log
        self._bar: Any = None
        self._bar_logging = ExitStack()  # log lines go above the bar, not glued onto it
        self._bar_at = 0.0

    @property
    def accepted(self) -> int:
        """Transitions the transport handed over: stored plus dropped as malformed. Names
        checkpoints (``ckpt-<accepted>``): it grows whenever the transport's marks do."""
        return self.received + self.bad_transitions

    @property
    def effective_utd(self) -> float:
        """Critic updates per transition received past the warm-up, over the whole run:
        ``learner.utd`` while the learner keeps up with its actors, less when owed updates
        are still pending or were dropped (0 during the warm-up)."""
        past = self.received - self.cfg.learner.warmup_steps
        utd = self.cfg.learner.utd or 1
        return utd * self.update_steps / past if past > 0 else 0.0

    @property
    def wall_s(self) -> float:
        """Wall time (s) this run's learners have run, resumed ones included."""
        return self._wall_before + time.monotonic() - self._start[0]

    @property
    def done(self) -> bool:
        """True once ``settings.steps`` transitions were received."""
        return self.settings.steps is not None and self.received >= self.settings.steps

    # ----------------------------------------------------------------------- the loop
    def run_until(self, should_stop: Callable[[], bool],
                  after_step: Callable[[Learner], None] | None = None) -> None:
        """Steps until ``should_stop()`` or :attr:`done`; then :meth:`shutdown`.

        ``after_step(self)`` runs after every step, in this thread (e.g. an evaluation of the
        agent between two updates: actors keep stepping meanwhile).
        """
        try:
            while not should_stop() and not self.done:
                self.step()
                if after_step is not None:
                    after_step(self)
        finally:
            self.shutdown()

    def step(self, timeout_s: float = 0.05) -> None:
        """Polls (waiting up to ``timeout_s`` only when no update is owed), then one update
        if owed, then publishes, checkpoints and logs when due."""
        self._poll(0.0 if self._update_due() else timeout_s)
        if self._update_due():
            utd = self.cfg.learner.utd
            assert utd is not None  # LearnerConfig.__post_init__ fills the recipe's utd
            batch = self.buffer.sample(self.cfg.learner.batch_size, utd)
            self.last_info = self.agent.update(batch)
            self.update_steps += 1
            self.lag -= 1
            self._poll(0.0)
        s = self.settings
        last = self._published_at
        if self.update_steps > 0 and (last is None or self.update_steps - last >= s.publish_every):
            self.publish()
        unsaved = self.accepted - self._saved_at
        if unsaved >= s.checkpoint_every or (
                unsaved > 0 and time.monotonic() - self._received_at >= s.checkpoint_idle_s):
            self.save()
        if self.received - self._logged_at >= s.log_every:
            self._log_train()
        self._show_progress()

    def _relabel(self, actor: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Stores the hindsight copies of every episode of ``actor`` that ``arrays`` ends."""
        template = self.hindsight
        assert template is not None
        relabel = recently_heard(
            self._relabellers, actor, _MAX_RELABELLED,
            lambda: template.fresh(seed=len(self._relabellers) + self.received))
        over = np.logical_or(arrays["terminated"] > 0, arrays["truncated"] > 0)
        for i in range(len(over)):
            copies = relabel.step(arrays["obs"][i], arrays["action"][i], arrays["next_obs"][i],
                                  bool(over[i]))
            if copies is not None:
                self.sources.add_derived(self.buffer, len(copies["reward"]))
                self.buffer.add_batch(copies)

    def _update_due(self) -> bool:
        return self.lag > 0 and len(self.buffer) >= self.cfg.learner.batch_size

    def _poll(self, timeout_s: float) -> None:
        for batch in self.server.poll(timeout_s):
            self._store(batch)

    def _store(self, batch: TransitionBatch) -> None:
        arrays = batch.arrays
        n = len(next(iter(arrays.values())))  # the transport checked: one common length
        self._received_at = time.monotonic()
        problem = check_transitions(arrays, self.shape)
        if problem is not None:
            self.bad_transitions += n
            self._log.warning("bad_batch", "dropped a batch from actor %s: %s", batch.actor_id,
                              problem)
            if shape_mismatch(arrays, self.shape) is not None:  # so will be all the others
                self.mismatched_batches += 1
                self.server.refuse(
                    batch.actor_id, "mismatch", f"its transitions do not fit this learner "
                    f"({problem}): give the actor the learner's robot config")
            return
        self.sources.add(self.buffer, batch.actor_id, arrays["step"])
        self.buffer.add_batch({k: arrays[k] for k in self._stored})  # copies out of the wire
        self._store_interventions(arrays)
        if self.hindsight is not None:
            self._relabel(batch.actor_id, arrays)
        limit = arrays.get("aprl_L")  # APRL actors: the limit in force at each step
        if isinstance(self.agent, AprlAgent) and limit is not None:
            if limit.shape == (n, self.agent.act_dim) and np.all(np.isfinite(limit)):
                self.agent.limit = np.array(limit[-1], dtype=np.float64)  # for the penalty
        warmup = self.cfg.learner.warmup_steps
        owed = self.received + n - max(self.received, warmup)  # transitions past the warm-up
        self.received += n
        self.lag += max(owed, 0)
        if self.lag > self.settings.max_update_lag:
            self.dropped_updates += self.lag - self.settings.max_update_lag
            self.lag = self.settings.max_update_lag
            if self.settings.warn_behind:
                self._log.warning("behind", "learner behind its actors: dropped %d update "
                                  "steps so far, effective UTD %.2f (pace simulated actors, "
                                  "--rate-hz or --realtime, or lower learner.utd)",
                                  self.dropped_updates, self.effective_utd)
        self._count_episodes(batch.actor_id, arrays)
        if self._bar is not None:
            self._bar.update(n)

    def _store_interventions(self, a: dict[str, np.ndarray]) -> None:
        """HIL-SERL: an operator's transitions also join the demonstration (prior) data of
        the RLPD mix, where the learner has one (``learner.prior_data``; with images their
        frames too)."""
        flag = a.get("intervention")
        if flag is None:
            return
        rows = np.flatnonzero(flag)
        self.interventions += len(rows)
        if len(rows) and isinstance(self.buffer, (MixedReplayBuffer, PixelMixedReplayBuffer)):
            self.buffer.add_prior_batch({k: a[k][rows] for k in self._stored})

    def _count_episodes(self, actor: str, a: dict[str, np.ndarray]) -> None:
        acc = recently_heard(self._episode, actor, _MAX_OPEN_EPISODES, lambda: [0.0, 0.0, 0.0])
        ends = np.logical_or(a["terminated"], a["truncated"])
        flag = a.get("intervention")
        flags = np.zeros(len(ends)) if flag is None else flag
        for reward, end, terminated, person in zip(a["reward"], ends, a["terminated"], flags,
                                                   strict=True):
            acc[0] += float(reward)
            acc[1] += 1
            acc[2] += float(person)
            if end:
                self.episodes += 1
                self.recent_returns.append(acc[0])
                if self.logger is not None:
                    row = {"return": acc[0], "length": acc[1], "terminated": float(terminated)}
                    if flag is not None:  # an actor with an operator: the share they acted
                        row["intervention_rate"] = acc[2] / acc[1]
                    self.logger.log(self.received, "episode", row)
                acc[0], acc[1], acc[2] = 0.0, 0.0, 0.0

    # ------------------------------------------------------------------- publishing
    def publish(self) -> None:
        """Sends the current policy to every actor under a new, larger version."""
        groups = {POLICY: self.agent.policy_arrays()}
        encoder = self.agent.encoder_arrays()
        if encoder is not None:  # images: the actors' encoder, its own group
            groups[ENCODER] = encoder
        state: dict[str, Any] = {}
        if isinstance(self.agent, AprlAgent) and self.agent.dynamics.n_updates > 0:
            groups["dynamics"] = self.agent.dynamics_arrays()  # the actors' gates load it
            state["aprl"] = {"dynamics_updates": self.agent.dynamics.n_updates,
                             "penalty_L": [float(x) for x in self.agent.current_limit]}
        arrays, meta = pack_weights(groups, self.spec, state=state)
        self.weights_version = max(self.weights_version + 1, self.incarnation << 32)
        self.server.publish_weights(self.weights_version, arrays, meta)
        self._published_at = self.update_steps

    # ------------------------------------------------------------------- checkpoints
    def save(self) -> Path | None:
        """Checkpoints agent, buffer, tags, transport marks and counters; then commits."""
        if self.run is None:
            return None
        transport = self.server.state_dict()  # marks of exactly what the buffer now holds
        state = {"received": self.received, "update_steps": self.update_steps,
                 "lag": self.lag, "dropped_updates": self.dropped_updates,
                 "bad_transitions": self.bad_transitions, "episodes": self.episodes,
                 "weights_version": self.weights_version, "incarnation": self.incarnation,
                 "recent_returns": list(self.recent_returns), "transport": transport,
                 "buffer_rng": self.buffer.rng_state(), "wall_s": round(self.wall_s, 3),
                 "transport_metrics": dict(self.server.metrics)}

        def write(folder: Path) -> None:
            self.buffer.save(folder / "buffer.npz")
            self.sources.save(folder / "sources.npz", self.buffer)
            (folder / "learner.json").write_text(json.dumps(state))
            torch.save(self.agent.state_dict(), folder / "agent.pt")

        path = self.run.save_checkpoint(self.accepted, write)
        self._saved_at = self.accepted
        self.server.commit(transport)  # only now may actors forget these transitions
        return path

    def load(self, folder: Path) -> None:
        """Restores a checkpoint written by :meth:`save` (and the transport's marks)."""
        restore_agent(self.agent, folder / "agent.pt",
                      self.run.config_path if self.run is not None else None)
        self.buffer.load(folder / "buffer.npz")
        self.sources.load(folder / "sources.npz")
        state = json.loads((folder / "learner.json").read_text())
        self.server.load_state_dict(state["transport"])
        self.buffer.set_rng_state(state["buffer_rng"])
        for key in ("received", "update_steps", "lag", "dropped_updates", "bad_transitions",
                    "episodes", "weights_version"):
            setattr(self, key, int(state[key]))
        self.recent_returns.extend(state["recent_returns"])
        self._saved_at, self._logged_at = self.accepted, self.received
        self._start = (time.monotonic(), self.received, self.update_steps)
        self._wall_before = float(state.get("wall_s", 0.0))
        if self.logger is not None and self.run is not None:  # reopened: drops the rows
            # logged after the checkpoint (they are logged again)
            self.logger.close()
            self.logger = MetricsLogger(self.run, tensorboard=self.settings.tensorboard,
                                        resume_step=self.received)
        logger.info("resumed from %s: %d transitions, %d update steps, weights version %d",
                    folder, self.received, self.update_steps, self.weights_version)

    def shutdown(self) -> None:
        """Final checkpoint and commit (without a run directory, only the commit: actors may
        forget what arrived); then keeps answering actors for ``linger_s``."""
        if self.accepted > self._saved_at:  # else the newest checkpoint is this state
            if self.save() is None:  # no run directory: nothing will hold them more durably
                self.server.commit(self.server.state_dict())
        self._log_train()
        deadline = time.monotonic() + self.settings.linger_s
        while time.monotonic() < deadline:  # let the commit reach the actors
            self.server.poll(0.05)  # batches accepted now are not committed: actors keep them
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._bar_logging.close()
        if self.logger is not None:
            self.logger.close()
            self.logger = None

    # ------------------------------------------------------------------- reporting
    def summary(self) -> dict[str, float]:
        """Counters and the latest losses, for logs and the progress bar."""
        t0, r0, u0 = self._start
        dt = max(time.monotonic() - t0, 1e-9)
        m = self.server.metrics
        return {**self.last_info, "received": self.received, "update_steps": self.update_steps,
                "updates": self.agent.updates, "buffer": len(self.buffer),
                "transitions_per_s": (self.received - r0) / dt,
                "update_steps_per_s": (self.update_steps - u0) / dt,
                "effective_utd": self.effective_utd, "update_lag": self.lag,
                "dropped_updates": self.dropped_updates,
                "bad_transitions": self.bad_transitions, "episodes": self.episodes,
                "mismatched_batches": self.mismatched_batches,
                "interventions": self.interventions,
                "recent_return": (float(np.mean(self.recent_returns)) if self.recent_returns
                                  else math.nan),
                "actors_alive": m["peers_alive"], "duplicates": m["duplicates"],
                "gaps": m["gaps"], "handshake_failures": m["handshake_failures"],
                **{k: m[k] for k in ("rejected", "forged", "revoked", "bad_marks")}}

    def _log_train(self) -> None:
        self._logged_at = self.received
        if self.logger is not None:
            self.logger.log(self.received, "train", self.summary())

    def _show_progress(self) -> None:
        if not self.settings.progress:
            return
        if self._bar is None:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar_logging.enter_context(logging_redirect_tqdm())
            self._bar = tqdm(total=self.settings.steps, initial=self.received, unit="tr",
                             desc="learner", dynamic_ncols=True)
        now = time.monotonic()
        if now - self._bar_at >= 0.5:
            self._bar_at = now
            s = self.summary()
            self._bar.set_postfix({"actors": s["actors_alive"], "updates": s["update_steps"],
                                   "utd": f"{s['effective_utd']:.2f}", "lag": s["update_lag"],
                                   "return": f"{s['recent_return']:.1f}",
                                   "critic": f"{s.get('critic_loss', math.nan):.3g}"},
                                  refresh=True)
