"""What ``robot-rl pretrain`` does: an offline method on a dataset, written as a run directory.

Usage (the CLI's ``pretrain`` is this function)::

    pretrain_session("robot_configs/a1.yaml", data="demos.npz", method="iql", steps=20_000,
                     seed=0, out="runs")
    # then: robot-rl train robot_configs/a1.yaml --init runs/a1-iql-<time>

The run directory has the layout ``robot-rl train`` writes (config.yaml, metrics.jsonl,
tb/, checkpoints/ckpt-<steps>/) with ``agent.pt`` (the SAC learner built from the config,
networks trained offline: ``robot-rl eval`` runs it too) and ``pretrain.json`` (method,
dataset, steps, last metrics) in the checkpoint. Methods: ``iql``
(:mod:`robot_rl.sac.offline`), ``bc``, ``bc_noise``, ``posterior_bc``
(:mod:`robot_rl.sac.bc`); docs/learner.md#prior-knowledge-pretrain-and-init.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.runs import MetricsLogger, RunDir
from robot_rl.sac import SAC, load_transitions
from robot_rl.sac.bc import BC_METHODS, BCSettings, make_bc
from robot_rl.sac.device import resolve_learner
from robot_rl.sac.offline import IQL, IQLSettings
from robot_rl.session import PRETRAIN_STATE
from robot_rl.signals_handling import deferred_stop

METHODS = ("iql", *BC_METHODS)
"""The offline methods of ``robot-rl pretrain``."""

DEFAULT_STEPS = 20_000
"""Gradient steps when ``--steps`` is not given (posterior_bc: per phase)."""


def sizes(cfg: RobotConfig, seed: int) -> tuple[int, int]:
    """The observation and action sizes of ``cfg``'s robot (what ``train`` builds)."""
    settings = cfg.task_graph_settings()
    if settings is not None and settings.enabled:
        raise ConfigError(cfg.source, "task_graph.enabled", "expected false for pretrain "
                          "(prior data has no per-task rewards)")
    env = RobotEnv(cfg, seed=seed)
    try:
        return int(env.observation_space.shape[0]), int(env.action_space.shape[0])
    finally:
        env.close()


def make_learner(method: str, agent: SAC, data: dict[str, Any], steps: int,
                 seed: int, critic_steps: int = 0) -> Any:
    """The offline learner of ``method``; it has ``step() -> metrics`` and ``total_steps``.
    ``critic_steps`` (BC methods only) critic updates follow the cloning
    (:class:`robot_rl.sac.bc.CriticWarmup`).

    Raises:
        ConfigError: ``method`` is not one of :data:`METHODS`, or ``critic_steps`` is given
            with ``iql`` (which trains its critics anyway) or is negative.
    """
    if critic_steps < 0:
        raise ConfigError("<command line>", "--critic-steps", f"expected a count >= 0, got "
                          f"{critic_steps}")
    if method == "iql":
        if critic_steps:
            raise ConfigError("<command line>", "--critic-steps", "expected it only with a BC "
                              "method (bc, bc_noise, posterior_bc): iql trains its critics "
                              "in every step")
        learner: Any = IQL(agent, data, IQLSettings(), seed)
        learner.total_steps = steps
        return learner
    if method in BC_METHODS:
        return make_bc(method, agent, data, BCSettings(), steps, seed, critic_steps)
    raise ConfigError("<command line>", "--method", f"expected one of {', '.join(METHODS)}, "
                      f"got {method!r}")


def pretrain_session(config: str, data: str, method: str = "iql", steps: int | None = None,
                     seed: int = 0, out: str = "runs", progress: bool = True,
                     log_every: int = 100, source: str | None = None,
                     critic_steps: int = 0) -> int:
    """Pretrain ``config``'s learner on ``data`` with ``method``; print where it went.

    ``critic_steps``: a BC method's critic warm-up after the cloning (0: none).

    ``source`` names the dataset in ``pretrain.json`` where ``data`` is a converted copy
    (an MCAP recording's). Ctrl-C (or SIGTERM) stops between steps and still writes the
    checkpoint (exit 130). Returns the exit status.

    Raises:
        ConfigError: a config, dataset (file, array, shape) or method mistake, before any
            run directory exists.
    """
    cfg = load_config(config)
    cfg.learner = resolve_learner(cfg.learner, cfg.source)
    obs_dim, act_dim = sizes(cfg, seed)
    arrays = load_transitions(data, obs_dim, act_dim)
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
    learner = make_learner(method, agent, arrays, steps or DEFAULT_STEPS, seed, critic_steps)
    run = RunDir.create(out, f"{cfg.name}-{method}")
    run.write_config(cfg)
    print(f"run directory: {run.path}", file=sys.stderr)
    logger = MetricsLogger(run)
    info: dict[str, float] = {}
    bar = _progress_bar(learner.total_steps, method) if progress else None
    t0, interrupted = time.perf_counter(), False
    try:
        with deferred_stop() as stop:
            while learner.steps < learner.total_steps:
                if stop.is_set():
                    interrupted = True
                    break
                info = learner.step()
                if learner.steps % log_every == 0 or learner.steps == learner.total_steps:
                    logger.log(learner.steps, "pretrain", info)
                    if bar is not None:
                        bar.set_postfix({k: f"{v:.3g}" for k, v in list(info.items())[:3]},
                                        refresh=False)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    summary = {"method": method, "data": str(Path(source or data).resolve()),
               "steps": learner.steps, "total_steps": learner.total_steps, "seed": seed,
               "wall_s": round(time.perf_counter() - t0, 3), "obs_dim": obs_dim,
               "act_dim": act_dim, "critic_trained": method == "iql" or critic_steps > 0,
               "critic_steps": critic_steps, "metrics": info}

    def write(folder: Path) -> None:
        torch.save(agent.state_dict(), folder / "agent.pt")
        if isinstance(learner, IQL):
            torch.save(learner.state_dict(), folder / "value.pt")
        (folder / PRETRAIN_STATE).write_text(json.dumps(summary, indent=1))

    logger.sync()
    checkpoint = run.save_checkpoint(learner.steps, write)
    logger.close()
    if interrupted:
        print(f"\ninterrupted at step {learner.steps} of {learner.total_steps}: checkpoint "
              f"saved in {checkpoint}", file=sys.stderr)
    print(f"{method}: {learner.steps} steps on {len(arrays['reward'])} transitions"
          + "".join(f", {k} {v:.4g}" for k, v in info.items()))
    print(f"run directory:  {run.path}")
    print(f"checkpoint:     {checkpoint}")
    print(f"fine-tune with: robot-rl train {config} --init {run.path}")
    return 130 if interrupted else 0


def _progress_bar(total: int, method: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="step", dynamic_ncols=True, desc=f"pretrain {method}")
