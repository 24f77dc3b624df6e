"""TaskEnv: the scheduler in the loop, the task one-hot, resets only where promised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from gymnasium.utils.passive_env_checker import (
    check_action_space,
    check_observation_space,
    env_reset_passive_checker,
    env_step_passive_checker,
)

from robot_rl.config import load_config
from robot_rl.envs.task_env import TaskEnv
from robot_rl.errors import ConfigError
from robot_rl.taskgraph import a1_task_graph
from tests.conftest import write_config
from tests.taskgraph.conftest import graph_config


def tilt(env: TaskEnv, roll: float) -> None:
    """Push the sim into a tilted pose (a test's hand, not a reset the env counts)."""
    c = env.robot.client
    c.resetBasePositionAndOrientation(env.robot.body, [0, 0, 0.3],
                                      c.getQuaternionFromEuler([roll, 0.0, 0.0]))


def test_shipped_configs_keep_their_graph_off(a1_path: Path, panda_path: Path) -> None:
    for path in (a1_path, panda_path):
        settings = load_config(path).task_graph_settings()
        assert settings is not None and settings.enabled is False
    a1 = load_config(a1_path).task_graph_settings()
    assert a1.spec.task_names == ("get_up", "walk_forward", "walk_backward", "self_right")
    assert a1.action_scale == (1.0, 1.0, 1.0, 6.0)
    assert a1.scripted == (None, None, None, "a1_self_right")
    # the shipped graph's tasks and edges are kept; self_right only adds to them
    shipped = a1_task_graph()
    for task in shipped.tasks[1:]:
        assert a1.spec.tasks[a1.spec.index(task.name)] == task
    for edge in shipped.edges:
        assert a1.spec.edge(edge.source, edge.event) == edge


@pytest.mark.parametrize("change,key,words", [
    ({"enabled": "yes"}, "task_graph.enabled", "true or false"),
    ({"action_scale": {"fly": 2.0}}, "task_graph.action_scale.fly", "unknown task"),
    ({"action_scale": {"get_up": 0}}, "task_graph.action_scale.get_up", "positive"),
    ({"scripted": {"self_right": "magic"}}, "task_graph.scripted.self_right",
     "expected one of a1_self_right"),
    ({"scripted": {"walk": "a1_self_right"}}, "task_graph.scripted.walk", "unknown task"),
    ({"start": "stnd"}, "task_graph.start", "unknown task 'stnd'"),
    ({"fall": "abs(rol) > 1"}, "task_graph.fall", "did you mean 'roll'"),
    ({"colour": 1}, "task_graph.colour", "unknown key"),
])
def test_graph_mistakes_name_file_and_key(tmp_path: Path, a1_path: Path, change: dict,
                                          key: str, words: str) -> None:
    graph = yaml.safe_load(a1_path.read_text())["task_graph"] | change
    path = write_config(tmp_path, a1_path, {"task_graph": graph})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {key}: "), str(info.value)
    assert words in str(info.value)


def test_a_config_without_a_graph_cannot_make_a_task_env(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"task_graph": None})
    with pytest.raises(ConfigError, match="task_graph: expected a task_graph section"):
        TaskEnv(str(path))


def test_observation_carries_the_transitions_task(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path)), seed=0)
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (45 + 4,)
    assert info["task"] == "get_up" and obs[-4:].tolist() == [1, 0, 0, 0]
    for _ in range(30):  # standing still: get_up succeeds after 10 steps upright
        obs, reward, terminated, truncated, info = env.step(np.zeros(12, np.float32))
        if truncated:
            break
    assert info["event"] == "success" and not terminated
    assert obs[-4:].tolist() == [1, 0, 0, 0]  # still get_up's one-hot: bootstrap for it
    assert info["rewards_all"].shape == (4,) and info["rewards_all"][0] == reward
    obs, _ = env.reset()
    assert obs[-4:].tolist() == [0, 1, 0, 0]  # walk_forward acts now
    tilt(env, 0.8)
    obs, _, terminated, truncated, info = env.step(np.zeros(12, np.float32))
    assert terminated and not truncated and info["fell"] and info["event"] == "failure"
    assert info["terminated_all"].tolist() == [False, True, True, False]
    assert obs[-4:].tolist() == [0, 1, 0, 0]
    assert env.scheduler.active_name == "get_up"
    assert env.manual_resets == 0 and env.spawns == 1


def test_reset_free_reset_never_teleports(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path)), seed=0)
    env.reset(seed=0)
    tilt(env, 0.8)
    env.step(np.zeros(12, np.float32))
    before = env.robot.client.getBasePositionAndOrientation(env.robot.body)
    env.reset(seed=5)
    assert env.robot.client.getBasePositionAndOrientation(env.robot.body) == before
    assert env.manual_resets == 0


def test_episodic_mode_resets_after_every_end_and_counts_it(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path, mode="episodic")), seed=0)
    assert env.graph.mode == "episodic"
    env.reset(seed=0)
    env.scheduler.reset("walk_forward")
    tilt(env, 0.8)
    _, _, terminated, _, _ = env.step(np.zeros(12, np.float32))
    assert terminated
    env.reset()
    pos, _ = env.robot.client.getBasePositionAndOrientation(env.robot.body)
    assert pos[2] == pytest.approx(env.cfg.robot.base_position[2])  # back at the spawn
    assert env.manual_resets == 1
    assert env.scheduler.counters["get_up"].manual_resets == 1  # the task the episode starts


def test_time_in_task_restarts_on_a_switch(tmp_path: Path) -> None:
    seen = []
    env = TaskEnv(str(graph_config(tmp_path)), seed=0)
    step = env.scheduler.step
    env.scheduler.step = lambda signals: seen.append(signals["time_in_task"]) or step(signals)
    env.reset(seed=0)
    for _ in range(13):  # get_up succeeds on step 10, walk_forward starts
        _, _, _, truncated, _ = env.step(np.zeros(12, np.float32))
        if truncated:
            env.reset()
    assert seen == pytest.approx([0.05 * i for i in range(1, 11)] + [0.05, 0.1, 0.15])


def test_evaluation_env_is_a_valid_gymnasium_env(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path)), seed=0, fixed_task="walk_forward")
    # Gymnasium's passive checks (spaces, dtypes, return types). Not check_env: its step
    # determinism check fails here when other PyBullet tests ran before in the process, the
    # first step after restoreState depending on the contact history; RobotEnv shares it.
    check_observation_space(env.observation_space)
    check_action_space(env.action_space)
    env_reset_passive_checker(env, seed=0)
    for _ in range(3):
        env_step_passive_checker(env, env.action_space.sample())
    obs, _ = env.reset(seed=0)
    assert obs[-4:].tolist() == [0, 1, 0, 0]


def test_wider_action_range_while_self_right_acts(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path, graph_changes={"scripted": None})), seed=0)  # the policy acts
    env.cfg.safety.rate_limit = False
    env.safety.rate_limit = False
    env.reset(seed=0)
    env.scheduler.reset("self_right")
    _, _, _, _, info = env.step(np.full(12, 0.1, np.float32))
    nominal, scale = np.array(env.cfg.robot.nominal), np.array(env.cfg.robot.action_scale)
    assert np.allclose(info["command"], nominal + 0.6 * scale)
    obs, _ = env.reset()
    # previous action in the observation: the physical offset, 6 x the normalized action
    prev = obs[24 + 2 + 3: 24 + 2 + 3 + 12]
    assert np.allclose(prev, 0.6)


def test_panda_targets_come_from_the_active_task(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path, "panda")), seed=0)
    obs, _ = env.reset(seed=0)
    # target_delta (7 + 7 + 3 + 3 + 7) is left out: the one-hot names the target
    assert obs.shape == (7 + 7 + 3 + 7 + 3,)
    # turn the base joint: at the nominal pose the gripper is as far from A as from B
    _, reward, _, _, info = env.step(np.array([0.3, 0, 0, 0, 0, 0, 0], np.float32))
    ee = env.state.ee_position
    assert info["ee_distance"] == pytest.approx(np.linalg.norm(ee - [0.5, 0.2, 0.3]))
    assert info["rewards_all"][0] == pytest.approx(reward, abs=1e-6)  # stored as float32
    assert info["rewards_all"][1] != pytest.approx(reward, abs=1e-3)


def test_scheduler_state_round_trips(tmp_path: Path) -> None:
    path = str(graph_config(tmp_path))
    env = TaskEnv(path, seed=0)
    env.reset(seed=0)
    for _ in range(12):
        if env.step(np.zeros(12, np.float32))[3]:
            env.reset()
    state = env.state_dict()
    other = TaskEnv(path, seed=1)
    other.load_state_dict(state)
    obs, _ = other.reset()
    assert other.scheduler.active_name == "walk_forward" and obs[-4:].tolist() == [0, 1, 0, 0]
    assert other.state_dict()["scheduler"] == state["scheduler"]
    assert other.manual_resets == 0 and other.spawns == 2


def test_a_task_given_twice_is_refused(tmp_path: Path, a1_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(a1_path.read_text().replace("    walk_backward:\n", "    walk_forward:\n", 1))
    with pytest.raises(ConfigError, match="<yaml>: .*'walk_forward' twice in one mapping"):
        load_config(path)


def test_scripted_self_right_rolls_the_a1_off_its_back(tmp_path: Path) -> None:
    env = TaskEnv(str(graph_config(tmp_path)), seed=0)
    env.reset(seed=0)
    tilt(env, np.pi)  # on its back
    for _ in range(20):
        env.step(np.zeros(12, np.float32))
    env.scheduler.reset("self_right")
    env.reset()
    policy_action = np.full(12, 0.7, np.float32)  # ignored while the script acts
    for step in range(200):
        _, _, terminated, truncated, info = env.step(policy_action)
        assert not np.allclose(info["applied_action"], policy_action)
        if terminated or truncated:
            break
    assert info["event"] == "success" and info["upright"] > 0.8, (step, info["upright"])
    assert env.scheduler.active_name == "get_up" and env.manual_resets == 0


def test_build_picks_the_env_and_buffer_by_task_graph_enabled(tmp_path: Path,
                                                               a1_path: Path) -> None:
    from robot_rl.envs import RobotEnv
    from robot_rl.sac.multitask import MultiTaskReplayBuffer
    from robot_rl.session import build, enable_task_graph

    cfg = load_config(write_config(tmp_path, a1_path, {"learner": {"hidden": [8, 8],
                                                                   "buffer_size": 1000}}))
    env, _, buffer = build(cfg, seed=0)  # the quick start: plain walking
    assert type(env) is RobotEnv and not isinstance(buffer, MultiTaskReplayBuffer)
    env.close()
    enable_task_graph(cfg, "episodic")
    env, agent, buffer = build(cfg, seed=0)
    assert isinstance(env, TaskEnv) and env.graph.mode == "episodic"
    assert isinstance(buffer, MultiTaskReplayBuffer) and buffer.num_tasks == 4
    assert buffer.factor.tolist() == [1.0, 1.0, 1.0, 6.0]
    assert agent.act(env.reset(seed=0)[0]).shape == (12,)
    env.close()
