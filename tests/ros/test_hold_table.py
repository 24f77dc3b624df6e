"""The hold table through the ROS actor node, against a plain rclpy node playing the A1's
driver (Fast DDS). The driver reports a pose 0.5 rad from the nominal one and does not move by
itself; each hold must command the measured pose, never the nominal one, and nothing may be
commanded before the first state."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from std_msgs.msg import Bool, String

from robot_rl.config import load_config
from robot_rl.nodes.actor_node import ActorNode
from robot_rl.nodes.params import ActorParams
from robot_rl.ros.rclpy_node import RclpyNode
from tests.ros.rclpy_driver import RclpyDriver, spin_all

pytestmark = pytest.mark.timeout(120)
OFFSET = np.tile([0.5, 0.5, -0.5], 4)  # hip, thigh, calf: 0.5 rad from nominal, in limits
MOVED = np.tile([-0.2, 0.2, -0.2], 4)  # moved by hand while e-stopped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Session:
    """The actor node and the driver, spun together in this thread."""

    def __init__(self, cfg: Any, domain_id: int, **params: Any) -> None:
        self.cfg = cfg
        self.driver = RclpyDriver(cfg, domain_id, rate_hz=0)  # silent until started
        self.node = RclpyNode("actor_node", domain_id=domain_id)
        p = dataclasses.replace(ActorParams(learner_address="", record_mcap=False), **params)
        self.actor = ActorNode(self.node, cfg, p)
        self.estop = self.driver.node.create_publisher(Bool, cfg.ros.estop_topic, 10)
        self.operator = self.driver.node.create_publisher(String, cfg.ros.operator_topic, 10)
        self.nominal = np.array(cfg.robot.nominal)
        self.rows: list[dict[str, Any]] = []

    def spin(self, done: Any, timeout_s: float = 20.0) -> None:
        assert spin_all([self.node, self.driver], done, timeout_s), self.actor.status()

    def start_states(self, pose: np.ndarray) -> None:
        self.driver.set_pose(pose)
        self.driver.timer = self.driver.node.create_timer(0.02, self.driver.publish_state)

    def wait_reason(self, reason: str) -> None:
        self.spin(lambda: self.actor.core.last.reason == reason)

    def measure(self, name: str, measured: np.ndarray, n: int = 8, skip: int = 3) -> None:
        """Collects ``n`` commands after skipping ``skip`` in flight; one row of the table."""
        start = len(self.driver.commands) + skip
        self.spin(lambda: len(self.driver.commands) >= start + n)
        cmds = np.array(self.driver.commands[start:start + n])
        self.rows.append({
            "hold": name, "commands": len(cmds),
            "from_measured": float(np.max(np.abs(cmds - measured))),
            "from_nominal": float(np.max(np.abs(cmds - self.nominal)))})

    def close(self) -> None:
        self.actor.close(flush_s=0)
        self.node.close()
        self.driver.close()


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\nhold            commands  max |cmd - measured|  max |cmd - nominal| (rad)")
    for r in rows:
        print(f"{r['hold']:<16}{r['commands']:>8}  {r['from_measured']:>20.4f}  "
              f"{r['from_nominal']:>19.4f}")


def test_every_hold_commands_the_measured_pose(tiny_a1: Path, domain_id: int) -> None:
    cfg = load_config(str(tiny_a1))
    pose = np.array(cfg.robot.nominal) + OFFSET
    s = Session(cfg, domain_id, start_paused=True)
    try:
        # no state: the actor's timer runs (overdue steps) but nothing is commanded
        s.spin(lambda: s.node.ros_node.count_subscribers(cfg.ros.command_topic) >= 1)
        steps = s.actor.core.steps
        s.spin(lambda: s.actor.core.steps >= steps + 20)  # 1 s of control periods
        assert s.driver.commands == [] and s.actor.core.last.reason == "no_state"
        s.rows.append({"hold": "no_state", "commands": 0, "from_measured": float("nan"),
                       "from_nominal": float("nan")})

        s.start_states(pose)
        s.wait_reason("paused")
        s.measure("paused", pose)

        s.operator.publish(String(data="resume"))
        s.spin(lambda: s.actor.core.last.reason == "" and not s.actor.core.paused)
        s.measure("acting", pose)
        acting = s.rows[-1]
        assert acting["from_measured"] <= float(np.max(s.actor.core.safety.max_tracking_error))

        s.estop.publish(Bool(data=True))
        s.wait_reason("estop")
        s.measure("estop", pose)
        s.driver.set_pose(pose + MOVED)  # moved by hand while stopped: the hold follows it
        s.measure("estop (moved)", pose + MOVED, skip=6)

        s.estop.publish(Bool(data=False))
        s.spin(lambda: s.actor.core.last.reason == "")
        start = len(s.driver.commands) + 3
        s.measure("released", pose + MOVED)  # re-anchored on where the robot is now
        first = s.driver.commands[start]
        assert np.all(np.abs(first - (pose + MOVED)) <= 2 * s.actor.core.safety.max_step + 1e-9)

        s.driver.timer.cancel()  # the driver stops: stale state
        s.wait_reason("stale_state")
        s.measure("stale_state", pose + MOVED, skip=1)
    finally:
        s.close()

    lost = Session(cfg, domain_id, hold_without_learner=True,
                   learner_address=f"tcp://127.0.0.1:{free_port()}")  # nobody listens
    try:
        lost.start_states(pose)
        lost.wait_reason("learner_lost")
        lost.measure("learner_lost", pose)
        s.rows.extend(lost.rows)
    finally:
        lost.close()

    print_table(s.rows)
    for row in s.rows:
        if row["hold"] in ("acting", "released", "no_state"):
            continue
        assert row["from_measured"] <= 0.01, row  # every hold at the measured pose
        assert row["from_nominal"] >= 0.3, row  # ... and not at the nominal pose


def test_robot_rl_node_actor_process_with_a_plain_rclpy_driver(tmp_path: Path, tiny_a1: Path,
                                                              domain_id: int) -> None:
    """`robot-rl node actor` (plain DDS, cyclonedds) against a plain rclpy driver (Fast DDS):
    nothing before the first state, then the paused hold at the measured pose."""
    import os
    import subprocess
    import sys

    cfg = load_config(str(tiny_a1))
    params = tmp_path / "params.yaml"
    params.write_text("actor_node:\n  ros__parameters:\n    start_paused: true\n")
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    exe = Path(sys.executable).with_name("robot-rl")
    actor = subprocess.Popen(
        [str(exe), "node", "actor", str(tiny_a1), "--params", str(params), "--loopback",
         "--domain", str(domain_id), "--learner", "", "--no-record", "--seconds", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    driver = RclpyDriver(cfg, domain_id, rate_hz=0)
    try:
        topic = cfg.ros.command_topic
        assert spin_all([driver], lambda: driver.node.count_publishers(topic) >= 1, 30)
        assert spin_all([driver], lambda: actor.poll() is not None, 1.0) is False  # 1 s on
        assert driver.commands == []  # matched, running, and nothing commanded
        pose = np.array(cfg.robot.nominal) + OFFSET
        driver.set_pose(pose)
        driver.timer = driver.node.create_timer(0.02, driver.publish_state)
        assert spin_all([driver], lambda: len(driver.commands) >= 10, 30)
        held = np.array(driver.commands[3:10])
        assert np.max(np.abs(held - pose)) <= 0.01  # paused: the measured pose
    finally:
        driver.close()
        actor.terminate()
        out = actor.communicate(timeout=30)[0]
    assert actor.returncode == 0, out[-2000:]
