"""benchmarks/aprl.py: the three arms' configs and the per-arm summary (no training here)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import CONFIGS, ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("aprl_bench", ROOT / "benchmarks" / "aprl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arms_differ_only_in_the_action_box_and_aprl(bench):
    opts = {"config": str(CONFIGS / "a1.yaml"), "ramp_steps": 500, "warmup": 50}
    fixed, wide, aprl = (bench.arm_config(a, opts) for a in ("fixed", "unrestricted", "aprl"))
    assert fixed.aprl is None and wide.aprl is None
    assert fixed.robot.action_scale[:3] == [0.2, 0.4, 0.4]  # Walk in the Park
    assert wide.robot.action_scale[:3] == pytest.approx([0.8, 1.6, 1.6])
    s = aprl.aprl_settings()
    assert s.active and s.range_factor == 4.0 and s.config.ramp_steps == 500
    assert aprl.robot.action_scale == fixed.robot.action_scale  # the box is range_factor x it
    assert {c.learner.warmup_steps for c in (fixed, wide, aprl)} == {50}


def test_summary_gives_means_beside_per_seed_values_and_the_target_ratios(bench):
    def run(arm, seed, falls, v, reached, held=None):
        return {"arm": arm, "seed": seed, "falls": falls, "hard_falls": 0, "final_velocity": v,
                "final_net_velocity": v / 2, "steps_to_threshold": reached,
                "steps_to_held": held, "wall_s": 1.0, "history": [],
                "shrinks_surprise": 1, "shrinks_fall": falls, "final_L": 0.3}

    runs = [run("aprl", 0, 10, 0.6, 4000, 6000), run("aprl", 1, 20, 0.4, None),
            run("fixed", 0, 12, 0.3, None), run("fixed", 1, 18, 0.3, None),
            run("unrestricted", 0, 60, 0.1, None), run("unrestricted", 1, 40, 0.2, None)]
    out = bench.summarize(runs, {"arms": list(bench.ARMS), "budget": 8000})
    assert set(out) == {"aprl", "fixed", "unrestricted"}
    a = out["aprl"]
    assert a["falls"] == 15 and a["falls_per_seed"] == [10, 20]
    assert a["final_net_velocity"] == pytest.approx(0.25)
    assert a["final_net_velocity_per_seed"] == [0.3, 0.2]
    assert a["steps_to_threshold"] == 4000 and a["steps_to_threshold_per_seed"] == [4000, None]
    assert a["reached_threshold"] == 1 and a["budget_steps"] == 8000
    assert a["steps_to_held_per_seed"] == [6000, None] and a["held_threshold"] == 1
    assert a["falls_ratio_unrestricted_over_aprl"] == pytest.approx(50 / 15, abs=1e-3)
    assert a["velocity_minus_fixed"] == pytest.approx(0.2)
    assert out["fixed"]["steps_to_threshold"] is None
