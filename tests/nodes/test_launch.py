"""``robot-rl launch sim``: learner, bridge and actor processes; Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robot_rl.nodes.session_record import TRANSITIONS_TOPIC
from robot_rl.ros.recording import read_recording

pytest.importorskip("cyclonedds")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(150)
def test_launch_sim_runs_the_topology_and_ctrl_c_stops_it(tmp_path: Path, tiny_a1: Path,
                                                          domain_id: int) -> None:
    run = tmp_path / "run"
    log = tmp_path / "launch.log"
    proc = subprocess.Popen([sys.executable, "-m", "robot_rl.cli", "launch", "sim",
                             str(tiny_a1), "--loopback", "--domain", str(domain_id),
                             "--run-dir", str(run)], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    latest = run / "learner" / "checkpoints" / "LATEST"
    try:
        deadline = time.monotonic() + 100
        while not latest.exists():  # the learner checkpoints every 40 transitions
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]
    assert len(pids) == 3 and not any(alive(p) for p in pids), text
    for node in ("learner_node", "sim_bridge_node", "actor_node"):
        assert f"{node}: stopped" in text, text
    checkpoint = run / "learner" / "checkpoints" / latest.read_text().strip()
    received = json.loads((checkpoint / "learner.json").read_text())["received"]
    recorded = sum(1 for _ in read_recording(run / "actor" / "session.mcap",
                                             topics=[TRANSITIONS_TOPIC]))
    assert received == recorded > 0  # the final checkpoint holds every transition sent
