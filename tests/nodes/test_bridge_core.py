"""BridgeCore on the PyBullet robot, and the actor and bridge in one closed loop (no DDS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.nodes.actor_core import ActorCore
from robot_rl.nodes.bridge_core import BridgeCore
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import unlabel
from robot_rl.spaces import ObservationBuilder
from sim_bridge.pybullet_robot import PyBulletRobot
from tests.conftest import write_config


@pytest.fixture
def reversed_a1(tmp_path: Path, tiny_a1: Path) -> Path:
    joints = load_config(tiny_a1).robot.joints
    return write_config(tmp_path, tiny_a1, {"ros": {"command_joints": joints[::-1]}})


def test_bridge_applies_commands_in_controller_order_and_publishes_in_order(
        reversed_a1: Path) -> None:
    cfg = load_config(reversed_a1)
    bridge = BridgeCore(cfg, PyBulletRobot(cfg))
    target = np.array(cfg.robot.nominal) + 0.05
    assert bridge.command(target[::-1])  # controller order = reversed config order
    np.testing.assert_allclose(bridge.target, target)
    assert not bridge.command(np.full(cfg.n_joints, np.nan))
    assert not bridge.command(np.zeros(3))
    assert bridge.rejected == 2
    out = bridge.tick(123)
    assert [kind for kind, _ in out] == ["imu", "extras", "joint_states"]
    js = out[-1][1]
    assert js.name == cfg.robot.joints and js.header.stamp.to_ns() == 123
    extras = unlabel(out[1][1])
    assert {"base_linear_velocity", "foot_contacts", "reset_count", "sim_time"} <= set(extras)
    assert extras["sim_time"][0] == pytest.approx(cfg.control_dt)


def test_bridge_estop_holds_the_measured_pose_and_reset_respawns(tiny_a1: Path) -> None:
    cfg = load_config(tiny_a1)
    bridge = BridgeCore(cfg, PyBulletRobot(cfg))
    bridge.tick(0)
    bridge.set_estop(True)
    measured = bridge.state.joint_position.copy()
    assert bridge.command(np.array(cfg.robot.nominal) + 0.3)
    np.testing.assert_array_equal(bridge.target, measured)
    bridge.request_reset()
    out = bridge.tick(0)
    assert bridge.resets == 1 and unlabel(out[1][1])["reset_count"][0] == 1


def test_actor_and_bridge_in_one_closed_loop(tiny_a1: Path) -> None:
    """Messages straight from bridge to actor: episodes end, resets are asked and done."""
    cfg = load_config(tiny_a1)
    bridge = BridgeCore(cfg, PyBulletRobot(cfg))
    core = ActorCore(cfg, Policy(ObservationBuilder(cfg).size, cfg.n_joints))
    steps = 2 * cfg.task.episode_steps + 10
    transitions = []
    for k in range(steps):
        t = k * cfg.control_dt
        for kind, msg in bridge.tick(int(t * 1e9)):
            getattr(core.inputs, {"imu": "imu", "extras": "extras_message",
                                  "joint_states": "joint_state"}[kind])(msg, t)
        out = core.step(t)
        assert bridge.command(out.command)
        if out.transition is not None:
            transitions.append(out.transition)
        if out.episode_end is not None:
            bridge.request_reset()
    assert len(transitions) >= steps - 10
    assert [t.step for t in transitions] == list(range(len(transitions)))
    assert bridge.resets >= 2 and core.episodes >= 2
    assert bridge.commands == steps
