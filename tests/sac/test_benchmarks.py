"""The learner benchmarks run end to end on tiny settings and print the promised JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_learner_throughput_prints_rates_ratios_and_flops() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "learner_throughput.py"), "--json",
         "--seconds", "0.01", "--rounds", "1", "--recipes", "droq,crossq"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    result = json.loads(out)
    assert set(result["updates_per_s"]) == {"droq", "crossq"}
    assert result["sb3_updates_per_s"] > 0 and result["matmul_gflops"] > 0
    assert set(result["ratio_vs_sb3"]) == {"droq", "crossq"}
    # DroQ: 2 critics fwd+bwd, 2 target critics fwd, an actor pass, 1/20 of an actor update
    assert result["useful_gflop_per_update"]["droq"] == pytest.approx(0.371, rel=0.02)
    assert 0 < result["useful_flops_fraction"]["droq"] < 1


def test_sample_efficiency_run_summary_and_plot(tmp_path: Path) -> None:
    import sample_efficiency as se

    options = {"budget": 40, "eval_every": 20, "threads": 1, "panda_episodes": 1,
               "warmup": 20, "hidden": [8], "stop_at_threshold": True}
    runs = [se.run_one("panda", learner, 0, options) for learner in ("crossq", "sb3")]
    for run in runs:
        assert "error" not in run, run
        assert [p["step"] for p in run["history"]] == [20, 40]
    runs += [{**runs[0], "seed": s, "steps_to_threshold": 20} for s in (1, 2)]
    results = se.summarize(runs, ["panda"], ["crossq", "sb3"], budget=40)
    crossq = results["panda"]["learners"]["crossq"]
    assert crossq["steps_to_threshold"] == [None, 20, 20] and crossq["reached"] == "2/3"
    assert crossq["median_steps"] == 20  # a miss counts as more than the budget
    assert results["panda"]["summary"]["best_recipe"] == "crossq"
    assert results["panda"]["summary"]["fewer_steps_than_sb3"] == ">= 2.00"
    se.plot(results, tmp_path / "plot.png", "test")
    assert (tmp_path / "plot.png").stat().st_size > 1000
    failed = se.run_one("mars", "crossq", 0, options)
    assert failed["error"].startswith("KeyError")
