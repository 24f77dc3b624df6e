"""Training in chunks (evaluating every N steps, as the benchmarks do) collects what one
call collects: train() continues the running episode, and evaluation runs elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.session import build, evaluate_with_nominal
from robot_rl.train import Trainer


def _trained(config: Path, chunks: list[int], evaluate_between: bool = False) -> Trainer:
    cfg = load_config(str(config))
    cfg.learner.warmup_steps, cfg.learner.batch_size = 20, 16  # updates and policy actions
    env, agent, buffer = build(cfg, seed=3)
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=3, progress=False)
    for i, until in enumerate(chunks):
        trainer.train(until)
        if evaluate_between and i < len(chunks) - 1:
            result, nominal = evaluate_with_nominal(agent, cfg, env, seed=3, episodes=1)
            assert result.lengths == [40] and nominal is not None and nominal.lengths == [40]
    env.close()
    return trainer


@pytest.mark.timeout(300)
def test_two_chunks_with_an_evaluation_between_collect_what_one_call_does(
        tiny_a1: Path) -> None:
    # episodes of 40 steps: the chunk boundary (30) falls inside the first episode
    whole = _trained(tiny_a1, [60])
    chunked = _trained(tiny_a1, [30, 60], evaluate_between=True)
    assert chunked.step == whole.step == 60
    assert chunked.episodes == whole.episodes == 1  # not cut short at step 30
    assert list(chunked.recent_returns) == list(whole.recent_returns)
    for key, column in whole.buffer.data.items():  # every transition, bit for bit
        assert np.array_equal(chunked.buffer.data[key][:60], column[:60]), key
    # the first episode ran on: step 30 stored the step after 29, not a fresh reset's obs
    data = chunked.buffer.data
    assert np.array_equal(data["obs"][30], data["next_obs"][29])


def test_load_starts_a_new_episode(tiny_a1: Path, tmp_path: Path) -> None:
    from robot_rl.runs import RunDir

    cfg = load_config(str(tiny_a1))
    env, agent, buffer = build(cfg, seed=0)
    run = RunDir.create(tmp_path, "a1")
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=0, run=run, progress=False)
    trainer.train(10)
    checkpoint = trainer.save()
    trainer.close()
    resumed = Trainer(env, agent, buffer, cfg.learner, seed=0, run=run, progress=False)
    resumed.load(checkpoint)
    assert resumed._obs is None  # the next train() resets rather than trust a stale obs
    resumed.train(12)
    resumed.close()
    env.close()
    assert resumed.step == 12
