"""Hindsight relabelling of reaching targets (robot_rl/sac/hindsight.py), on the PyBullet Panda."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs import RobotEnv
from robot_rl.rewards import reach_reward
from robot_rl.robot import RobotState
from robot_rl.sac import ReplayBuffer
from robot_rl.sac.hindsight import HindsightRelabeller
from robot_rl.session import build
from robot_rl.train import Trainer
from tests.config.test_mistakes import PANDA

EPISODE = 12


@pytest.fixture(scope="module")
def panda() -> RobotConfig:
    cfg = load_config(PANDA)
    cfg.task.episode_steps = EPISODE
    cfg.task.reach.hindsight = 3
    return cfg


def _episode(cfg: RobotConfig, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """One episode of random actions on the PyBullet Panda: (obs, action, reward, next_obs)."""
    env = RobotEnv(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out = []
    while True:
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        out.append((obs, action, float(reward), next_obs))
        obs = next_obs
        if terminated or truncated:
            env.close()
            return out


def test_relabelled_targets_are_later_positions_and_rewards_match_the_task(
        panda: RobotConfig) -> None:
    relabel = HindsightRelabeller.for_config(panda, seed=0)
    assert relabel is not None
    episode = _episode(panda)
    batches = [relabel.step(o, a, n, i == len(episode) - 1)
               for i, (o, a, _, n) in enumerate(episode)]
    assert all(b is None for b in batches[:-1])
    batch = batches[-1]
    assert batch is not None and len(batch["reward"]) == EPISODE * 3
    ee = slice(14, 17)  # ee_position follows joint_position and joint_velocity (7 + 7)
    delta = relabel.delta
    reached = np.stack([n[ee] for *_, n in episode])  # the end effector after each step
    for row in range(len(batch["reward"])):
        t = row // 3
        obs, next_obs = batch["obs"][row], batch["next_obs"][row]
        np.testing.assert_array_equal(obs[ee], episode[t][0][ee])  # only the target moved
        np.testing.assert_array_equal(batch["action"][row], episode[t][1])
        target = next_obs[ee] + next_obs[delta]
        np.testing.assert_allclose(obs[ee] + obs[delta], target, atol=1e-5)  # one target
        later = np.linalg.norm(reached[t:] - target, axis=1)
        assert later.min() < 1e-5, "the new target is where the gripper went at or after t"
        state = RobotState(0.0, np.zeros(7), np.zeros(7), np.zeros(7), np.array([0, 0, 0, 1.0]),
                           np.zeros(3), ee_position=next_obs[ee].astype(np.float64))
        expected, *_ = reach_reward(state, target.astype(np.float64), episode[t][1],
                                    panda.task.reach)
        assert batch["reward"][row] == pytest.approx(expected, abs=1e-5)
    # the target reached at the step itself pays the full precision bonus
    assert batch["reward"].max() > panda.task.reach.precision_weight - 0.1


def test_the_original_target_gives_the_environments_reward(panda: RobotConfig) -> None:
    """The recomputed reward is the environment's own when the target is not moved."""
    relabel = HindsightRelabeller.for_config(panda, seed=0)
    assert relabel is not None
    for _obs, action, reward, next_obs in _episode(panda, seed=1):
        state = RobotState(0.0, np.zeros(7), np.zeros(7), np.zeros(7), np.array([0, 0, 0, 1.0]),
                           np.zeros(3), ee_position=next_obs[14:17].astype(np.float64))
        target = (next_obs[14:17] + next_obs[relabel.delta]).astype(np.float64)
        assert reach_reward(state, target, action, panda.task.reach)[0] == pytest.approx(
            reward, abs=1e-5)


def test_trainer_stores_the_copies_at_each_episode_end(panda: RobotConfig) -> None:
    cfg = copy.deepcopy(panda)
    cfg.learner.warmup_steps = 10_000  # no updates: only what is stored is counted
    env, agent, buffer = build(cfg, seed=0)
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=0, progress=False)
    assert trainer.hindsight is not None
    trainer.train(2 * EPISODE + 5)  # two whole episodes and part of a third
    assert len(buffer) == (2 * EPISODE + 5) + 2 * EPISODE * 3
    off = copy.deepcopy(panda)
    off.task.reach.hindsight = 0
    assert HindsightRelabeller.for_config(off) is None
    env.close()


def test_walking_has_no_relabeller() -> None:
    cfg = load_config(PANDA.parent / "a1.yaml")
    assert HindsightRelabeller.for_config(cfg) is None


def test_copies_must_be_positive() -> None:
    with pytest.raises(ValueError, match="copies"):
        HindsightRelabeller(slice(0, 3), load_config(PANDA).task.reach, 0)


def test_buffer_rows_are_float32() -> None:
    cfg = load_config(PANDA)
    cfg.task.reach.hindsight = 2
    relabel = HindsightRelabeller.for_config(cfg)
    assert relabel is not None
    obs = np.zeros(27, np.float32)
    batch = relabel.step(obs, np.zeros(7, np.float32), obs, True)
    assert batch is not None
    buffer = ReplayBuffer(27, 7, 10)
    buffer.add_batch(batch)
    assert len(buffer) == 2 and batch["obs"].dtype == np.float32


def test_a_task_graph_run_makes_no_hindsight_copies(panda: RobotConfig) -> None:
    """panda.yaml asks for hindsight; --task-graph trains it with the graph's own relabelling
    (its observation has no target_delta where the reach task's has it)."""
    from robot_rl.train_tasks import TaskTrainer

    cfg = copy.deepcopy(panda)
    assert cfg.task_graph is not None
    cfg.task_graph.enabled = True
    env, agent, buffer = build(cfg, seed=0)
    trainer = TaskTrainer(env, agent, buffer, cfg.learner, seed=0, progress=False)
    assert trainer.hindsight is None
    env.close()
