"""benchmarks/priors.py's exploration arm, end to end at a smoke scale: the collection on the
shifted robot is counted against the arm's budget."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.explore.test_explore_cli import ray_processes

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("ray")


@pytest.mark.timeout(320)
def test_exploration_arm_spends_part_of_its_budget_collecting(tmp_path: Path) -> None:
    ray_tmp = tempfile.mkdtemp(prefix="rr-")
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "priors.py"), "--tasks", "panda",
         "--seeds", "1", "--arms", "exploration", "--budget", "250", "--sim-steps", "100",
         "--explore-policies", "2", "--explore-rounds", "1", "--data-episodes", "1",
         "--eval-every", "100", "--panda-episodes", "1", "--cache", str(tmp_path / "cache"),
         "--json"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    arm = json.loads(proc.stdout)["panda"]["exploration"]
    assert arm["errors"] == [] and "not_implemented" not in arm
    # one collected episode of 100 steps on the shifted robot, then SAC for the other 150
    assert [p["step"] for p in arm["history"][0]] == [100, 200, 250]
    cached = tmp_path / "cache" / "panda-seed0" / "explore"
    assert (cached / "policy-1" / "agent.pt").is_file()
    assert ray_processes(ray_tmp) == []
    shutil.rmtree(ray_tmp, ignore_errors=True)
