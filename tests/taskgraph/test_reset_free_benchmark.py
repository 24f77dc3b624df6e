"""benchmarks/reset_free.py: one tiny run per arm and the per-arm summary."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import CONFIGS, ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("reset_free_bench",
                                                  ROOT / "benchmarks" / "reset_free.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_runs_report_resets_velocities_and_summarize(bench):
    small = {"hidden": [8], "warmup_steps": 30, "batch_size": 16, "utd": 1}
    runs = [bench.run_one(str(CONFIGS / "a1.yaml"), mode, 0, 60, small, 1, 1)
            for mode in ("reset_free", "episodic")]
    free, episodic = runs
    assert free["steps"] == episodic["steps"] == 60
    assert free["manual_resets"] == 0
    for run in runs:
        # a barely trained policy neither walks along its heading nor in a straight line
        assert abs(run["final_velocity"]) < 0.3 and 0 <= run["final_net_velocity"] < 0.3
        assert set(run["success_rate"]) == set(run["step_share"]) >= {"get_up", "walk_forward"}
    summary = bench.summarize([free])
    assert summary["manual_resets"] == 0 and summary["per_seed"] == [free]
    assert summary["final_net_velocity"] == free["final_net_velocity"]


def test_the_script_prints_one_json_object_and_progress_lines(tmp_path):
    import json
    import subprocess
    import sys

    from tests.taskgraph.conftest import graph_config

    # short task timeouts: within 40 steps the episodic arm ends a task (and teleports)
    config = graph_config(tmp_path, "a1", timeouts={"get_up": 15, "walk_forward": 10,
                                                    "walk_backward": 10})
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reset_free.py"), "--budget", "40",
         "--config", str(config), "--seeds", "1", "--hidden", "8", "--warmup", "20",
         "--eval-episodes", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(proc.stdout)
    assert out["reset_free"]["manual_resets"] == 0 and out["episodic"]["manual_resets"] > 0
    assert out["target_met"] is None  # an untrained episodic arm does not walk
    assert {"velocity_ratio", "net_velocity_ratio"} <= set(out)
    assert proc.stderr.count("runs, ") == 2 and "in a straight line" in proc.stderr
