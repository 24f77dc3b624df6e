"""K exploration policies trained in parallel simulations, one Ray actor each.

The edge to Ray: it only starts, feeds and stops :class:`~robot_rl.explore.worker.Explorer`
actors; what a round does is the worker's. Each round every actor trains to its share of
``steps`` with the novelty bonus measured against the descriptors the *other* policies
visited in all earlier rounds (gathered here and handed out again, at most ``archive`` per
policy); the first round has no bonus (nothing visited yet). At the end every policy runs
``eval_episodes`` stochastic episodes on a fresh simulator, and the coverage figures
(:func:`robot_rl.explore.descriptors.coverage`) are computed from those descriptors.

Ray runs locally by default (``ray.init(address="local")``: a new local instance with
``num_cpus`` CPUs, no dashboard); ``address`` connects to a running cluster instead
(``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the others, with
robot_rl installed on each), where each actor asks for one CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from robot_rl.config import RobotConfig
from robot_rl.errors import ConfigError
from robot_rl.explore.descriptors import coverage, default_voxel
from robot_rl.explore.worker import Explorer, explorer_config


@dataclass
class ExploreSettings:
    """How ``robot-rl explore train`` trains (each field is a command-line option)."""

    policies: int = 4  # K, the number of exploration policies (>= 2)
    steps: int = 5000  # environment steps per policy
    beta: float = 1.0  # weight of the novelty bonus (reward units per metre of kNN distance)
    rounds: int = 5  # training rounds; descriptors are exchanged between rounds
    k: int = 10  # neighbours of the novelty measure
    archive: int = 1000  # descriptors kept per policy for the others' bonus
    eval_episodes: int = 5  # stochastic episodes per policy for the coverage figures
    voxel: float | None = None  # coverage cell edge; None: 0.05 (arm, m) or 0.1 (legged)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.policies < 2:
            raise ConfigError("<command line>", "--policies", "expected K >= 2 exploration "
                              f"policies (diversity needs others), got {self.policies}")
        if self.rounds < 1 or self.steps < self.rounds:
            raise ConfigError("<command line>", "--rounds", f"expected 1..{self.steps} rounds "
                              f"(at least one step per round), got {self.rounds}")

    def cell(self, kind: str) -> float:
        """The coverage voxel edge for a robot of ``kind``."""
        return self.voxel if self.voxel is not None else default_voxel(kind)


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ConfigError: Ray is not installed (names the extra that installs it).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("<environment>", "ray", "expected Ray installed for explore "
                          "(pip install 'robot_rl[explore]', or pip install 'ray>=2.40')"
                          ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int = 2,
                temp_dir: str | None = None) -> Iterator[Any]:
    """Ray started (``address`` None: a new local instance of ``num_cpus`` CPUs) or joined
    (``address``), without a dashboard; shut down on leaving, also on errors."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report over the network
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address is None:
        kwargs.update(address="local", num_cpus=num_cpus)
        if temp_dir is not None:
            kwargs["_temp_dir"] = temp_dir
    else:
        kwargs["address"] = address
    ray.init(**kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _others(archive: list[np.ndarray], i: int) -> np.ndarray:
    rest = [a for j, a in enumerate(archive) if j != i]
    return np.concatenate(rest) if rest else np.zeros((0, 3), np.float32)


def train_explorers(cfg: RobotConfig, settings: ExploreSettings, address: str | None = None,
                    num_cpus: int | None = None, temp_dir: str | None = None,
                    log: Callable[[str], None] | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train ``settings.policies`` exploration policies on ``cfg``'s simulated robot.

    Args:
        cfg: the simulator's robot config.
        settings: K, steps, beta, rounds, ...
        address: a Ray cluster to use; None: a local instance.
        num_cpus: CPUs of the local instance (default: K, at most this machine's);
            the K actors share them (at most one each: a worker runs one thread).
        temp_dir: the local instance's session folder (default Ray's).
        log: called with one line per round.

    Returns:
        The K SAC ``state_dict``s and the report (settings, per-round lines, coverage).

    Raises:
        ConfigError: a config explore cannot train (before Ray starts), Ray missing.
    """
    explorer_config(cfg)  # refuse before starting anything
    say = log or (lambda line: print(line, file=sys.stderr))
    k = settings.policies
    cpus = num_cpus or min(k, os.cpu_count() or 1)
    share = 1.0 if address is not None else min(1.0, cpus / k)  # a worker uses one thread
    rounds: list[dict[str, Any]] = []
    rng = np.random.default_rng(settings.seed)
    t0 = time.perf_counter()
    with ray_session(address, cpus, temp_dir) as ray:
        remote = ray.remote(Explorer)
        actors = [remote.options(num_cpus=share).remote(cfg, i, settings.beta, settings.seed,
                                                        settings.k, settings.archive)
                  for i in range(k)]
        archive = [np.zeros((0, 3), np.float32) for _ in range(k)]
        for r in range(settings.rounds):
            total = math.ceil(settings.steps * (r + 1) / settings.rounds)
            outs = ray.get([a.train_round.remote(total, _others(archive, i))
                            for i, a in enumerate(actors)])
            for i, out in enumerate(outs):
                kept = np.concatenate([archive[i], out["descriptors"]])
                if len(kept) > settings.archive:
                    kept = kept[rng.choice(len(kept), settings.archive, replace=False)]
                archive[i] = kept
            line = {"round": r + 1, "steps": total,
                    # None before a policy's first episode ends (JSON has no NaN)
                    "recent_return": [None if math.isnan(o["recent_return"])
                                      else round(o["recent_return"], 3) for o in outs],
                    "mean_bonus": [round(o["mean_bonus"], 4) for o in outs],
                    "mean_task_reward": [round(o["mean_task_reward"], 4) for o in outs],
                    "wall_s": round(time.perf_counter() - t0, 1)}
            rounds.append(line)
            say(f"round {r + 1}/{settings.rounds}: {total} steps per policy, "
                f"mean bonus {line['mean_bonus']}, mean task reward "
                f"{line['mean_task_reward']}, {line['wall_s']} s")
        seen = ray.get([a.evaluate.remote(settings.eval_episodes, 20_000 + settings.seed)
                        for a in actors])
        states = ray.get([a.agent_state.remote() for a in actors])
        ray.get([a.close.remote() for a in actors])
    report = {"settings": asdict(settings), "robot": cfg.name, "rounds": rounds,
              "coverage": coverage(seen, settings.cell(cfg.robot.kind)),
              "descriptor": "ee_position (m)" if cfg.robot.kind == "arm"
              else "base dx, dy (m) and heading turned (rad) since the episode began",
              "wall_s": round(time.perf_counter() - t0, 1)}
    return states, report
