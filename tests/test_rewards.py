"""The walking reward (speed along the current heading or along the heading at the start),
the reaching reward and the pushing reward (with its success predicate)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.config.schema import PushTask, ReachTask, WalkTask
from robot_rl.rewards import push_reward, push_signals, reach_reward, walk_reward
from robot_rl.robot import RobotState


def _state(yaw: float, body_velocity: tuple[float, float, float],
           yaw_rate: float = 0.0) -> RobotState:
    quat = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    return RobotState(stamp=0.0, joint_position=np.zeros(12), joint_velocity=np.zeros(12),
                      joint_effort=np.zeros(12), imu_orientation=quat,
                      imu_angular_velocity=np.array([0.0, 0.0, yaw_rate]),
                      base_linear_velocity=np.array(body_velocity))


@pytest.mark.parametrize("yaw", [0.0, 0.3, 1.0, math.pi / 2, math.pi, -2.0])
def test_heading_rewards_speed_along_the_body_whichever_way_it_faces(yaw: float) -> None:
    task = WalkTask()
    reward, _, info = walk_reward(_state(yaw, (0.8, 0.0, 0.0)), task, start_yaw=0.0)
    assert info["forward_velocity"] == pytest.approx(0.8)
    assert reward == pytest.approx(task.scale)  # inside the band, no yaw rate


def test_start_rewards_only_progress_along_the_first_heading() -> None:
    task = WalkTask(direction="start")
    start = 0.4
    ahead = walk_reward(_state(start, (0.8, 0.0, 0.0)), task, start_yaw=start)
    sideways = walk_reward(_state(start + math.pi / 2, (0.8, 0.0, 0.0)), task, start_yaw=start)
    back = walk_reward(_state(start + math.pi, (0.8, 0.0, 0.0)), task, start_yaw=start)
    assert ahead[2]["forward_velocity"] == pytest.approx(0.8)
    assert sideways[2]["forward_velocity"] == pytest.approx(0.0, abs=1e-9)
    assert back[2]["forward_velocity"] == pytest.approx(-0.8)
    assert sideways[2]["heading_velocity"] == pytest.approx(0.8)  # still moving, just not ahead
    assert ahead[0] > sideways[0] > back[0]


def test_a_full_circle_earns_heading_reward_but_not_start_reward() -> None:
    heading, start = WalkTask(), WalkTask(direction="start")
    yaws = np.linspace(0.0, 2 * math.pi, 400, endpoint=False)
    states = [_state(y, (0.8, 0.0, 0.0), yaw_rate=0.5) for y in yaws]
    circle_heading = np.mean([walk_reward(s, heading, 0.0)[0] for s in states])
    circle_start = np.mean([walk_reward(s, start, 0.0)[0] for s in states])
    straight = walk_reward(_state(0.0, (0.8, 0.0, 0.0)), start, 0.0)[0]
    assert circle_heading > 0.9 * straight  # the paper's reward barely minds circling
    assert circle_start < 0.6 * straight


def test_start_without_a_start_yaw_is_a_programming_error() -> None:
    with pytest.raises(AssertionError, match="start yaw"):
        walk_reward(_state(0.0, (0.8, 0.0, 0.0)), WalkTask(direction="start"))


def test_reach_reward_pulls_hardest_within_a_few_centimetres() -> None:
    task = ReachTask()  # precision bonus 1.0 within ~3 cm
    target = np.array([0.5, 0.0, 0.4])

    def reward(distance: float) -> float:
        state = RobotState(stamp=0.0, joint_position=np.zeros(7), joint_velocity=np.zeros(7),
                           joint_effort=np.zeros(7), imu_orientation=np.array([0, 0, 0, 1.0]),
                           imu_angular_velocity=np.zeros(3),
                           ee_position=target + np.array([distance, 0.0, 0.0]))
        r, terminated, info = reach_reward(state, target, np.zeros(7), task)
        assert not terminated and info["ee_distance"] == pytest.approx(distance)
        return r

    assert reward(0.0) == pytest.approx(1.0)
    assert reward(0.5) == pytest.approx(-0.5, abs=1e-6)  # far away: minus the distance
    # going from 3 cm to 1 cm is worth ~50x what the distance term alone pays
    assert reward(0.01) - reward(0.03) > 25 * 0.02
    plain = ReachTask(precision_weight=0.0)
    state = RobotState(stamp=0.0, joint_position=np.zeros(7), joint_velocity=np.zeros(7),
                       joint_effort=np.zeros(7), imu_orientation=np.array([0, 0, 0, 1.0]),
                       imu_angular_velocity=np.zeros(3), ee_position=target + 0.1)
    r, _, _ = reach_reward(state, target, np.zeros(7), plain)
    assert r == pytest.approx(-np.sqrt(3) * 0.1)


def _push_state(ee: tuple[float, float, float],
                block: tuple[float, float, float]) -> RobotState:
    return RobotState(stamp=0.0, joint_position=np.zeros(7), joint_velocity=np.zeros(7),
                      joint_effort=np.zeros(7), imu_orientation=np.array([0.0, 0.0, 0.0, 1.0]),
                      imu_angular_velocity=np.zeros(3), ee_position=np.array(ee),
                      block_position=np.array(block))


def test_push_reward_falls_with_both_distances() -> None:
    task = PushTask()  # goal (0.6, 0.0)
    action = np.zeros(7)

    def reward(ee: tuple[float, float, float], block: tuple[float, float, float]) -> float:
        return push_reward(_push_state(ee, block), action, task)[0]

    block = (0.45, 0.05, 0.02)
    gripper = [reward((0.45 - d, 0.05, 0.02), block) for d in (0.03, 0.1, 0.2, 0.4)]
    # farther gripper, less reward; farther block, less reward
    assert all(a > b for a, b in zip(gripper, gripper[1:], strict=False))
    pushed = [reward((x - 0.03, 0.0, 0.02), (x, 0.0, 0.02)) for x in (0.6, 0.55, 0.45, 0.3)]
    assert all(a > b for a, b in zip(pushed, pushed[1:], strict=False))
    assert reward((0.45, 0.05, 0.02), block) == pytest.approx(
        -task.push_weight * math.hypot(0.15, 0.05))  # gripper on the block: the push term
    moving = push_reward(_push_state((0.4, 0.0, 0.02), block), np.ones(7), task)[0]
    assert moving == pytest.approx(reward((0.4, 0.0, 0.02), block) - 7 * task.action_penalty)


def test_push_success_is_the_config_predicate_and_never_ends_the_episode() -> None:
    task = PushTask()
    at_goal = push_reward(_push_state((0.55, 0.0, 0.02), (0.62, 0.01, 0.02)), np.zeros(7),
                          task)
    short = push_reward(_push_state((0.45, 0.0, 0.02), (0.52, 0.0, 0.02)), np.zeros(7), task)
    assert at_goal[2]["success"] == 1.0 and short[2]["success"] == 0.0
    assert not at_goal[1] and not short[1]  # evaluation only: no termination
    assert at_goal[0] > short[0]
    strict = PushTask(success="block_distance < 0.01 and ee_z > 0.1")
    assert push_reward(_push_state((0.55, 0.0, 0.02), (0.6, 0.0, 0.02)), np.zeros(7),
                       strict)[2]["success"] == 0.0  # the predicate decides, not a radius
    assert push_reward(_push_state((0.55, 0.0, 0.2), (0.6, 0.0, 0.02)), np.zeros(7),
                       strict)[2]["success"] == 1.0


def test_push_signals_need_the_privileged_block() -> None:
    state = _push_state((0.5, 0.0, 0.1), (0.5, 0.0, 0.02))
    state.block_position = None  # a real robot: nobody tells where the block is
    with pytest.raises(ValueError, match="privileged"):
        push_signals(state, PushTask())
