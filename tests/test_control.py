"""The one control step: the embedded env and the ROS actor produce identical transitions
from the same seed and the same states; falls end episodes on every path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.control import QUICK_FALLS_WARN, ControlStep, fallen
from robot_rl.envs import RobotEnv
from robot_rl.nodes.actor_core import ActorCore, Transition
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import extras_msg, imu_msg, joint_state_msg
from robot_rl.robot import RobotState
from robot_rl.ros import cdr, msgs
from tests.conftest import write_config
from tests.nodes.nodes_util import robot_state


def wire(msg: object, msg_type: type) -> object:
    """A message as it arrives over ROS 2: CDR-encoded, then decoded."""
    return cdr.decode(cdr.encode(msg), msg_type)


def deliver(core: ActorCore, state: RobotState, now: float) -> None:
    """``state`` as a driver publishes it (Imu, extras, JointState) through the codec."""
    cfg = core.cfg
    stamp = int(now * 1e9)
    core.inputs.imu(wire(imu_msg(state, stamp), msgs.Imu), now)  # type: ignore[arg-type]
    core.inputs.extras_message(wire(extras_msg(state), msgs.Float64MultiArray),  # type: ignore[arg-type]
                               now)
    core.inputs.joint_state(wire(joint_state_msg(state, cfg.robot.joints, stamp),  # type: ignore[arg-type]
                                 msgs.JointState), now)


def embedded_run(cfg_path: Path, seed: int, steps: int) -> tuple[list[RobotState],
                                                                 list[Transition]]:
    """Steps the PyBullet env with a seeded policy; returns the states and transitions."""
    cfg = load_config(str(cfg_path))
    env = RobotEnv(cfg, seed=seed)
    policy = Policy(env.observation_space.shape[0], cfg.n_joints, seed + 5)
    obs, _ = env.reset(seed=seed)
    states, out = [env.state], []
    for k in range(steps):
        action = policy.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        clean = np.clip(action, -1.0, 1.0).astype(np.float32)
        out.append(Transition(obs, clean, float(reward), next_obs, terminated, truncated, k,
                              cfg.task.kind))
        states.append(env.state)
        obs = next_obs
        if terminated or truncated:
            break
    env.close()
    return states, out


@pytest.mark.parametrize("robot", ["a1", "panda"])
def test_embedded_and_ros_paths_give_identical_transitions(tmp_path: Path, robot: str) -> None:
    base = Path(__file__).resolve().parents[1] / "robot_configs" / f"{robot}.yaml"
    path = write_config(tmp_path, base, {"task": {"episode_steps": 30}})
    states, embedded = embedded_run(path, seed=3, steps=60)
    assert len(embedded) >= 5
    cfg = load_config(str(path))
    core = ActorCore(cfg, Policy(ActorCore(cfg, Policy(1, 1)).control.obs_builder.size,
                                 cfg.n_joints, 3 + 5), seed=3)
    ros: list[Transition] = []
    ends = []
    for k, state in enumerate(states):
        now = 10.0 + k * cfg.control_dt
        deliver(core, state, now)
        out = core.step(now)
        assert out.command is not None and not out.hold
        if out.transition is not None:
            ros.append(out.transition)
            ends.append(out.episode_end)
    assert len(ros) == len(embedded)
    for e, r in zip(embedded, ros):
        np.testing.assert_array_equal(e.obs, r.obs)
        np.testing.assert_array_equal(e.action, r.action)
        np.testing.assert_array_equal(e.next_obs, r.next_obs)
        assert (e.reward, e.terminated, e.truncated, e.step, e.task) == \
            (r.reward, r.terminated, r.truncated, r.step, r.task)
    assert ends[-1] in ("terminated", "time_limit") and ends[:-1] == [None] * (len(ends) - 1)


def test_a_fall_terminates_on_every_path(tiny_a1: Path) -> None:
    cfg = load_config(str(tiny_a1))
    upright, low = robot_state(cfg), robot_state(cfg)
    low.base_position = np.array([0.0, 0.0, cfg.sim.fall_height / 2])  # lying flat
    upright.base_position = np.array([0.0, 0.0, 0.3])
    assert not fallen(cfg, upright) and fallen(cfg, low)
    tipped = robot_state(cfg, roll=np.radians(cfg.sim.fall_tilt_deg + 1))
    assert fallen(cfg, tipped)  # no base height (a driver without an estimator): tilt only
    control = ControlStep(cfg)
    control.new_episode()
    control.act(np.zeros(cfg.n_joints), upright, 0.0)
    done = control.complete(low)
    assert done is not None and done.transition.terminated and done.end == "terminated"
    assert done.info["fallen"] == 1.0


def _yawed(state: RobotState, yaw: float) -> RobotState:
    state.imu_orientation = np.array([0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2)])
    return state


def test_heading_is_the_yaw_turned_since_the_episode_began(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"observation": {"signals": ["heading"]}, "aprl": None})
    cfg = load_config(str(path))
    control = ControlStep(cfg)
    control.new_episode()
    start = control.observe(_yawed(robot_state(cfg), 2.0))  # any start yaw reads "straight"
    np.testing.assert_allclose(start, [0.0, 1.0], atol=1e-6)
    control.act(np.zeros(cfg.n_joints), _yawed(robot_state(cfg), 2.0), 0.0)
    done = control.complete(_yawed(robot_state(cfg), 2.5))  # turned 0.5 rad left
    assert done is not None
    np.testing.assert_allclose(done.transition.next_obs, [np.sin(0.5), np.cos(0.5)], atol=1e-6)
    # across +-pi: from 3.0 rad to -3.0 rad is a 0.28 rad left turn
    control.new_episode()
    control.observe(_yawed(robot_state(cfg), 3.0))
    turned = 2 * np.pi - 6.0
    np.testing.assert_allclose(control.observe(_yawed(robot_state(cfg), -3.0)),
                               [np.sin(turned), np.cos(turned)], atol=1e-6)


def test_heading_follows_the_simulated_robot_turning(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"observation": {"signals": ["heading"]}, "aprl": None})
    env = RobotEnv(load_config(str(path)), seed=0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, [0.0, 1.0], atol=1e-5)
    robot = env.robot
    import pybullet

    client, body = robot.client, robot.body  # type: ignore[attr-defined]
    position, _ = client.getBasePositionAndOrientation(body)
    client.resetBasePositionAndOrientation(body, position,
                                           pybullet.getQuaternionFromEuler([0.0, 0.0, 0.7]))
    obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    assert obs[0] == pytest.approx(np.sin(0.7), abs=0.05) and obs[1] > 0.7  # turned left
    env.close()


def test_gait_phase_is_a_clock_started_with_each_episode(tmp_path: Path, a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"observation": {"signals": ["gait_phase"],
                                                            "phase_hz": 2.0}, "aprl": None})
    cfg = load_config(str(path))  # A1: 20 Hz control, so 2 Hz is 0.2 pi rad per step
    control = ControlStep(cfg)
    control.new_episode()
    state = robot_state(cfg)
    obs = [control.observe(state)]
    for _ in range(3):
        control.act(np.zeros(cfg.n_joints), state, 0.0)
        done = control.complete(state)
        assert done is not None
        obs.append(done.transition.next_obs)
        np.testing.assert_array_equal(control.observe(state), obs[-1])  # same clock
    phases = 0.2 * np.pi * np.arange(4)
    np.testing.assert_allclose(obs, np.stack([np.sin(phases), np.cos(phases)], 1), atol=1e-6)
    control.new_episode()
    np.testing.assert_allclose(control.observe(state), [0.0, 1.0], atol=1e-6)


def test_delta_actions_step_from_the_measured_pose(tmp_path: Path, panda_path: Path) -> None:
    path = write_config(tmp_path, panda_path, {"robot": {"action_mode": "delta",
                                                         "action_scale": [0.05] * 7}})
    cfg = load_config(str(path))
    control = ControlStep(cfg)
    control.new_episode()
    measured = np.array(cfg.robot.nominal) + 0.3  # far from nominal: the base is measured
    state = robot_state(cfg, position=measured)
    action = np.array([1.0, -1.0, 0.5, 0.0, 0.2, -0.2, 0.0], np.float32)
    out = control.act(action, state, 0.0)
    assert out.command is not None
    np.testing.assert_allclose(out.command, measured + 0.05 * action, atol=1e-6)
    hold = control.act(np.zeros(7, np.float32), state, 0.1)  # action 0: stay where it is
    assert hold.command is not None
    np.testing.assert_allclose(hold.command, measured, atol=1e-9)


def test_delta_actions_refuse_aprl(tmp_path: Path, a1_path: Path) -> None:
    from robot_rl.errors import ConfigError

    with pytest.raises(ConfigError, match="aprl.active"):
        load_config(str(write_config(tmp_path, a1_path, {"robot": {"action_mode": "delta"},
                                                         "aprl": {"active": True}})))
    with pytest.raises(ConfigError, match="robot.action_mode"):
        load_config(str(write_config(tmp_path, a1_path, {"robot": {"action_mode": "rel"}})))


def test_episodes_that_keep_falling_at_once_warn_about_the_start_pose(
        tmp_path: Path, a1_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An A1 spawned upside down (a Z-up URDF turned over; the IMU reads relative to the
    spawn, so only the fall height tells) falls in every episode at once: after 10 such
    episodes in a row the control step says to check the start pose."""
    upside_down = write_config(tmp_path, a1_path, {"robot": {"base_orientation": [np.pi, 0, 0]}},
                               name="upside_down.yaml")
    env = RobotEnv(load_config(str(upside_down)), seed=0)
    lengths = []
    try:
        for episode in range(QUICK_FALLS_WARN):
            assert "starts fallen or unstable" not in caplog.text  # not before the 10th
            env.reset(seed=episode)
            steps, over = 0, False
            while not over:
                _, _, terminated, truncated, _ = env.step(np.zeros(12, np.float32))
                steps, over = steps + 1, terminated or truncated
            lengths.append(steps)
    finally:
        env.close()
    assert max(lengths) <= 10, lengths
    assert env.control.quick_falls == QUICK_FALLS_WARN
    assert f"{QUICK_FALLS_WARN} episodes in a row fell within 10 steps of their start" in \
        caplog.text and "upside_down.yaml" in caplog.text and "robot.base_position" in caplog.text


def test_an_episode_that_stands_resets_the_quick_fall_count(a1_path: Path) -> None:
    env = RobotEnv(load_config(str(a1_path)), seed=0)
    try:
        env.control.quick_falls = QUICK_FALLS_WARN - 1
        env.reset(seed=0)
        over = False
        while not over:  # the nominal pose stands the whole time limit
            _, _, terminated, truncated, _ = env.step(np.zeros(12, np.float32))
            over = terminated or truncated
        assert truncated and env.control.quick_falls == 0
    finally:
        env.close()
