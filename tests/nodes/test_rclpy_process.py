"""The robot_rl_ros entry points as processes: Ctrl-C exits 0, bad parameters exit 2.

(Wrong types and unknown names are refused the same way; test_rclpy_actor checks those
in-process.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def entry(kind: str, *ros_args: str) -> list[str]:
    """What `ros2 run robot_rl_ros <kind>_node --ros-args ...` runs."""
    return [sys.executable, "-m", "robot_rl.nodes.ros_entry", kind, "--ros-args", *ros_args]


def env(domain_id: int) -> dict[str, str]:
    return {**os.environ, "ROS_DOMAIN_ID": str(domain_id), "PYTHONUNBUFFERED": "1",
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


def test_ctrl_c_stops_the_actor_with_status_0_and_its_logs_go_through_ros(
        tmp_path: Path, tiny_a1: Path, domain_id: int) -> None:
    log = tmp_path / "actor.log"
    proc = subprocess.Popen(
        entry("actor", "-p", f"robot_config:={tiny_a1}", "-p", "learner_address:=''",
              "-p", f"run_dir:={tmp_path / 'actor'}", "-p", "autostart:=true"),
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=env(domain_id), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while "actor_node: running" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)  # waiting on a child process's output
        proc.send_signal(signal.SIGINT)  # what Ctrl-C or `ros2 launch` shutting down sends
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "actor_node: stopped" in text and "Traceback" not in text, text
    # Python logging went through the node's rclpy logger (ROS console format)
    assert "[actor_node]: [robot_rl.nodes.ros_entry] configured" in text, text
    assert (tmp_path / "actor" / "session.mcap").is_file()  # the recording was finished


@pytest.mark.parametrize("kind, args, line", [
    ("actor", ["-p", "batch_size:=0"], "actor_node: parameters: batch_size: expected a "
     "count >= 1"),
    ("learner", ["-p", "steps:=-5"], "learner_node: parameters: steps: expected a count >= 0"),
    ("actor", ["-p", "seed:="], "actor_node: invalid ROS arguments:"),
    ("actor", [], "actor_node: robot_config: expected the path of a robot config"),
])
def test_bad_parameters_are_refused_with_one_line_and_status_2(
        tiny_a1: Path, domain_id: int, kind: str, args: list[str], line: str) -> None:
    config = [] if not args else ["-p", f"robot_config:={tiny_a1}"]
    out = subprocess.run(entry(kind, *config, *args), capture_output=True, text=True,
                         timeout=60, env=env(domain_id))
    assert out.returncode == 2, out.stderr
    errors = [x for x in out.stderr.splitlines() if x.startswith(("actor_node:", "learner_node:"))]
    assert len(errors) == 1 and errors[0].startswith(line), out.stderr
    assert "Traceback" not in out.stderr
