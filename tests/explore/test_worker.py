"""One exploration policy without Ray: the bonus is paid against the others' descriptors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.errors import ConfigError
from robot_rl.explore.worker import Explorer, explorer_config


@pytest.mark.timeout(60)
def test_bonus_is_beta_times_knn_distance_to_the_others(tiny_panda: Path) -> None:
    cfg = load_config(tiny_panda, warn=False)
    assert cfg.task.reach.hindsight > 0
    worker = Explorer(cfg, index=1, beta=2.0, seed=0)
    try:
        assert worker.cfg.task.reach.hindsight == 0  # copies would lose the bonus
        assert worker.trainer.hindsight is None
        first = worker.train_round(60, np.zeros((0, 3), np.float32))
        assert first["mean_bonus"] == 0.0 and first["steps"] == 60  # nobody visited yet
        assert first["descriptors"].shape == (60, 3)
        far = np.full((20, 3), 5.0, np.float32)  # everyone else far away: a large bonus
        second = worker.train_round(120, far)
        visited = np.asarray(worker.env.visited)
        expected = 2.0 * np.linalg.norm(visited - 5.0, axis=1).mean()
        assert second["mean_bonus"] == pytest.approx(expected, rel=1e-4)
        assert second["mean_bonus"] > 10.0
        assert second["mean_task_reward"] < 0  # minus the distance: the bonus is apart
    finally:
        worker.close()


def test_explorer_config_refuses_task_graphs(tiny_panda: Path) -> None:
    from robot_rl.session import enable_task_graph

    cfg = load_config(tiny_panda, warn=False)
    enable_task_graph(cfg, "episodic")
    with pytest.raises(ConfigError, match="task_graph.enabled"):
        explorer_config(cfg)


def test_explore_train_defaults_are_the_settings_defaults() -> None:
    import argparse
    import dataclasses

    from robot_rl.cli import build_parser
    from robot_rl.explore.pool import ExploreSettings

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    explore = sub.choices["explore"]
    train = next(a for a in explore._actions
                 if isinstance(a, argparse._SubParsersAction)).choices["train"]
    fields = {f.name: f.default for f in dataclasses.fields(ExploreSettings)}
    for dest in ("policies", "beta", "rounds", "eval_episodes", "seed"):
        assert train.get_default(dest) == fields[dest], dest
