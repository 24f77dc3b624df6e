"""Interventions while training: the scripted person's rule, both buffers, the logged rate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.config import load_config
from robot_rl.demos.experts import make_expert
from robot_rl.demos.interventions import (
    InterventionRule,
    InterventionTrainer,
    ScriptedPerson,
    with_demo_buffer,
)
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.sac.prior import MixedReplayBuffer

PANDA = Path(__file__).resolve().parents[2] / "robot_configs" / "panda.yaml"


class FixedExpert:
    def __init__(self, value: float, n: int = 7) -> None:
        self.action = np.full(n, value, np.float32)

    def act(self, env) -> np.ndarray:
        return self.action

    def reset(self) -> None:
        pass


def test_the_person_takes_over_after_k_straying_steps_for_a_fixed_time() -> None:
    person = ScriptedPerson(FixedExpert(0.5), InterventionRule(stray_steps=3, takeover_steps=2))
    policy = np.zeros(7, np.float32)
    flags = []
    for d in (0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16):  # the distance keeps growing
        action, intervened = person.act(None, policy)
        flags.append(intervened)
        person.observe({"ee_distance": d}, intervened)
    # streak 3 after the 4th distance; takes over on steps 5 and 6; its own steps reset it
    assert flags == [False, False, False, False, True, True, False]


def test_the_action_gap_rule_takes_over_when_the_policy_disagrees() -> None:
    person = ScriptedPerson(FixedExpert(0.5),
                            InterventionRule(action_gap=0.3, takeover_steps=1))
    action, intervened = person.act(None, np.full(7, 0.4, np.float32))
    assert not intervened
    action, intervened = person.act(None, np.full(7, -0.4, np.float32))
    assert intervened and np.allclose(action, 0.5)


def test_interventions_land_in_both_buffers_and_the_rate_is_logged(tmp_path: Path) -> None:
    cfg = load_config(PANDA)
    cfg.task = dataclasses.replace(cfg.task, episode_steps=25,
                                   reach=dataclasses.replace(cfg.task.reach, hindsight=0))
    cfg.learner = dataclasses.replace(cfg.learner, warmup_steps=30, batch_size=16,
                                      buffer_size=2000, hidden=[32, 32], device="cpu")
    env = RobotEnv(cfg, seed=0)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=0)
    buffer = with_demo_buffer(ReplayBuffer(obs_dim, act_dim, 2000), cfg.learner)
    assert isinstance(buffer, MixedReplayBuffer) and len(buffer.prior) == 0
    run = RunDir.create(tmp_path, "panda")
    # an eager person: takes over after 1 straying step, for 5 steps
    person = ScriptedPerson(make_expert(cfg), InterventionRule(stray_steps=1, takeover_steps=5))
    trainer = InterventionTrainer(env, agent, buffer, cfg.learner, person, run=run,
                                  log_every=25, checkpoint_every=10_000, progress=False)
    trainer.train(125)
    trainer.close()
    env.close()
    assert trainer.interventions > 0
    assert len(buffer.prior) == trainer.interventions  # each one is a demonstration too
    assert len(buffer) == 125  # ... and online data
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    episode_rows = [r for r in rows if r["kind"] == "episode"]
    assert all("intervention_rate" in r for r in train_rows + episode_rows)
    assert train_rows[0]["intervention_rate"] == 0.0  # warm-up: no interventions
    logged = sum(r["interventions"] for r in episode_rows)
    assert logged == trainer.interventions  # 5 whole episodes
    assert train_rows[-1]["interventions_total"] == trainer.interventions
    assert sum(r["intervention_rate"] * 25 for r in train_rows) == pytest.approx(logged)
    assert 0 < max(r["intervention_rate"] for r in episode_rows) <= 1


@pytest.mark.timeout(120)
def test_train_cli_with_scripted_interventions_draws_the_rate(tmp_path: Path) -> None:
    config = tmp_path / "panda.yaml"
    text = PANDA.read_text().replace("episode_steps: 100", "episode_steps: 20")
    text = text.replace("warmup_steps: 1000", "warmup_steps: 20")
    config.write_text(text + "\n")
    import yaml

    data = yaml.safe_load(config.read_text())
    data["learner"].update(hidden=[32, 32], batch_size=16)
    data["train"].update(eval_episodes=1)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["train", str(config), "--steps", "60", "--out", str(tmp_path / "runs"),
                 "--no-video", "--no-progress", "--interventions", "scripted"]) == 0
    run = next((tmp_path / "runs").iterdir())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("intervention_rate" in r for r in rows if r["kind"] == "episode")
    assert (run / "learning_curve.png").is_file()
    assert main(["train", str(config), "--interventions", "scripted", "--task-graph",
                 "episodic"]) == 2
