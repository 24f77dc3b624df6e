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
    # what ran is recorded: fp32 on the CPU unless asked otherwise
    assert result["precision"] == {"droq": "fp32", "crossq": "fp32"}
    assert result["device"] == {"droq": "cpu", "crossq": "cpu"}


def test_sample_efficiency_run_summary_and_plot(tmp_path: Path) -> None:
    import sample_efficiency as se

    options = {"budget": 40, "sb3_budget": 60, "eval_every": 20, "threads": 1,
               "panda_episodes": 1, "warmup": 20, "hidden": [8], "stop_at_threshold": False,
               "panda_config": str(ROOT / "robot_configs" / "panda.yaml")}
    runs = [se.run_one("panda", learner, 0, options) for learner in ("crossq", "sb3")]
    for run in runs:
        assert "error" not in run, run
        # a barely trained arm is not within 2 cm, let alone three evaluations running
        assert run["steps_to_held"] is None and not run["stopped_at_threshold"]
        assert run["final_metric"] == run["history"][-1]["metric"]
        assert "final_net_velocity" not in run  # A1 only
    assert [p["step"] for p in runs[0]["history"]] == [20, 40]
    assert [p["step"] for p in runs[1]["history"]] == [20, 40, 60]  # SB3's own budget
    runs += [{**runs[0], "seed": s, "steps_to_threshold": 20} for s in (1, 2)]
    results = se.summarize(runs, ["panda"], ["crossq", "sb3"], budget=40, sb3_budget=60)
    crossq = results["panda"]["learners"]["crossq"]
    assert crossq["steps_to_threshold"] == [None, 20, 20] and crossq["reached"] == "2/3"
    assert crossq["median_steps"] == 20  # a miss counts as more than the budget
    assert results["panda"]["summary"]["best_recipe"] == "crossq"
    # SB3 missed within its 60 steps: a lower bound on the ratio
    assert results["panda"]["summary"]["fewer_steps_than_sb3"] == ">= 3.00"
    assert "straight" not in results["panda"]["summary"]
    assert crossq["steps_to_held"] == [None, None, None] and crossq["held"] == "0/3"
    assert crossq["median_steps_to_held"] is None
    assert results["panda"]["summary"]["held"]["best_recipe"] is None
    se.plot(results, tmp_path / "plot.png", "test")
    assert (tmp_path / "plot.png").stat().st_size > 1000
    failed = se.run_one("mars", "crossq", 0, options)
    assert failed["error"].startswith("KeyError")



def test_sample_efficiency_evaluates_averaged_actors_beside_the_actor() -> None:
    import sample_efficiency as se

    options = {"budget": 40, "eval_every": 20, "threads": 1, "panda_episodes": 1,
               "warmup": 20, "hidden": [8], "stop_at_threshold": False, "eval_ema": [0.5, 1.0],
               "panda_config": str(ROOT / "robot_configs" / "panda.yaml")}
    run = se.run_one("panda", "sac", 0, options)
    assert "error" not in run, run
    for point in run["history"]:
        assert set(point["ema_0.5"]) == {"metric"} and set(point["ema_1"]) == {"metric"}
        # rate 1 copies the actor after each update: the actor's own evaluation
        assert point["ema_1"]["metric"] == point["metric"]
    held = [{"step": s, "metric": 0.1, "ema_0.5": {"metric": m}}
            for s, m in ((20, 0.05), (40, 0.01), (60, 0.01), (80, 0.015))]
    assert se.ema_held("panda", held, "0.5") == 40  # three evaluations within 2 cm from 40
    results = se.summarize([{**run, "history": held}], ["panda"], ["sac"], budget=80)
    assert results["panda"]["learners"]["sac"]["ema"]["0.5"] == {
        "steps_to_held": [40], "median_steps_to_held": 40, "held": "1/1"}



def test_sample_efficiency_averages_are_the_learners_averaged_actor() -> None:
    """--eval-ema evaluates what learner.actor_ema would: the same weights, update by update."""
    import sample_efficiency as se
    import torch

    from robot_rl.config import LearnerConfig
    from robot_rl.sac import SAC
    from tests.sac.tiny import ACT, OBS, filled_buffer

    agent = SAC(OBS, ACT, LearnerConfig(hidden=[16], batch_size=8, utd=1, actor_ema=0.25))
    averages = se.track_averages(agent, [0.25])
    buf = filled_buffer()
    for _ in range(3):
        agent.update(buf.sample(8, 1))
        assert agent.actor_avg is not None
        for hook, own in zip(averages[0.25].parameters(), agent.actor_avg.parameters()):
            assert torch.equal(hook, own)


def test_sample_efficiency_straight_line_threshold() -> None:
    """A1 has a second threshold on straight-line velocity: a circling run reaches the
    heading one only, and the summary ranks recipes on each separately."""
    import sample_efficiency as se

    def run(learner: str, seed: int, heading: int | None, straight: int | None) -> dict:
        return {"task": "a1", "learner": learner, "seed": seed, "steps_to_threshold": heading,
                "steps_to_straight": straight, "wall_s": 1.0,
                "history": [{"step": 800, "return": 1.0, "metric": 0.6, "net_velocity": 0.1}]}

    runs = [run("droq", 0, 800, None), run("droq", 1, 1600, 2400), run("droq", 2, 800, 4000),
            run("crossq", 0, 2400, 2400), run("crossq", 1, 1600, 1600),
            run("crossq", 2, None, None), run("sb3", 0, 8000, None),
            run("sb3", 1, None, None), run("sb3", 2, 4000, None)]
    results = se.summarize(runs, ["a1"], ["droq", "crossq", "sb3"], budget=9600,
                           sb3_budget=48000)
    droq = results["a1"]["learners"]["droq"]
    assert droq["steps_to_straight"] == [None, 2400, 4000] and droq["reached_straight"] == "2/3"
    assert droq["final_net_velocity"] == [0.1, 0.1, 0.1]
    summary = results["a1"]["summary"]
    assert summary["best_recipe"] == "droq" and summary["best_median_steps"] == 800
    assert summary["fewer_steps_than_sb3"] == 10.0  # SB3's median 8000 over 800
    straight = summary["straight"]
    assert straight["best_recipe"] == "crossq" and straight["best_median_steps"] == 2400
    assert straight["fewer_steps_than_sb3"] == ">= 20.00"  # SB3 never walked straight


@pytest.mark.parametrize(("values", "expected"), [
    ([], None),                                      # no evaluations
    ([1, 1, 1, 0], None),                            # crossed, then dropped at the end
    ([1, 0, 1, 1, 1], 200),                          # crossed, dropped, then held from 200
    ([1, 1, 1], 0),                                  # held from the first evaluation
    ([0, 0, 0, 1, 1], None),                         # only 2 over it at the end
    ([0, 1, 1, 1, 1], 100),                          # a final run longer than 3
])
def test_steps_to_held(values: list[int], expected: int | None) -> None:
    from common import steps_to_held

    history = [{"step": 100 * i, "v": v} for i, v in enumerate(values)]
    assert steps_to_held(history, lambda p: p["v"] >= 1) == expected


def test_steps_to_held_min_run() -> None:
    from common import steps_to_held

    history = [{"step": s, "v": v} for s, v in ((800, 0.6), (1600, 0.1), (2400, 0.7))]
    assert steps_to_held(history, lambda p: p["v"] >= 0.5, min_run=1) == 2400
    assert steps_to_held(history, lambda p: p["v"] >= 0.5, min_run=2) is None


def test_sample_efficiency_held_fields_and_summary() -> None:
    """steps_to_held: A1 on the straight-line velocity (a run that crossed along its heading
    and then circled has none), Panda on its own metric; the summary ranks recipes on it."""
    import sample_efficiency as se

    def a1(learner: str, seed: int, net: list[float]) -> dict:
        history = [{"step": 800 * (i + 1), "return": 1.0, "metric": 0.9, "net_velocity": v}
                   for i, v in enumerate(net)]
        return {"task": "a1", "learner": learner, "seed": seed, "steps_to_threshold": 800,
                "steps_to_straight": None, "wall_s": 1.0, "history": history,
                "steps_to_held": se.held_step("a1", history)}

    runs = [a1("droq", 0, [0.6, 0.1, 0.6, 0.7, 0.8]),   # held from 2,400
            a1("droq", 1, [0.1, 0.6, 0.6, 0.6, 0.6]),   # held from 1,600
            a1("droq", 2, [0.6, 0.6, 0.6, 0.6, 0.1]),   # dropped at the end
            a1("sb3", 0, [0.1, 0.1, 0.6, 0.6, 0.6]),    # held from 2,400
            a1("sb3", 1, [0.1, 0.1, 0.1, 0.6, 0.6])]    # only two at the end
    results = se.summarize(runs, ["a1"], ["droq", "sb3"], budget=4000, sb3_budget=4000)
    droq = results["a1"]["learners"]["droq"]
    assert droq["steps_to_held"] == [2400, 1600, None] and droq["held"] == "2/3"
    assert droq["median_steps_to_held"] == 2400  # the miss counts as more than the budget
    assert droq["final_net_velocity"] == [0.8, 0.6, 0.1]
    sb3 = results["a1"]["learners"]["sb3"]
    assert sb3["steps_to_held"] == [2400, None] and sb3["median_steps_to_held"] is None
    held = results["a1"]["summary"]["held"]
    assert held == {"best_recipe": "droq", "best_median_steps": 2400,
                    "sb3_median_steps": None, "fewer_steps_than_sb3": ">= 1.67"}
    assert results["a1"]["held_threshold"] == {"metric": "net_velocity", "op": ">=",
                                               "threshold": 0.5, "min_run": 3}
    # Panda holds on its own metric, the final distance
    history = [{"step": s, "metric": d} for s, d in ((600, 0.03), (1200, 0.019),
                                                     (1800, 0.015), (2400, 0.02))]
    assert se.held_step("panda", history) == 1200
    assert se.held_step("panda", history[:-1]) is None


def test_priors_summary_keys_by_task_then_arm_and_reports_unbuilt_arms(tmp_path: Path) -> None:
    import priors

    history = [{"step": s, "metric": m} for s, m in ((0, 0.05), (600, 0.019), (1200, 0.015),
                                                     (1800, 0.012))]
    runs = [{"task": "panda", "arm": "scratch", "seed": 1, "steps_to_held": None,
             "final_metric": 0.05, "history": history[:1]},
            {"task": "panda", "arm": "scratch", "seed": 0, "steps_to_held": 600,
             "final_metric": 0.012, "history": history},
            {"task": "panda", "arm": "exploration", "seed": 0, "steps_to_held": None,
             "history": [], "not_implemented": "not built"}]
    out = priors.summarize(runs, ["panda"], ["scratch", "exploration"])
    assert list(out) == ["panda"] and list(out["panda"]) == ["scratch", "exploration"]
    scratch = out["panda"]["scratch"]
    assert scratch["steps_to_held"] == [600, None]  # by seed
    assert scratch["median_steps_to_held"] is None  # one of two never held
    assert scratch["held"] == "1/2"
    assert out["panda"]["exploration"]["not_implemented"] == "not built"
    assert priors.ok("panda", 0.02) and not priors.ok("panda", 0.021)
    assert priors.ok("a1", 0.5) and not priors.ok("a1", 0.49)
    priors.plot(out, tmp_path / "priors.png")
    assert (tmp_path / "priors.png").stat().st_size > 1000


def test_priors_refuses_unknown_arms() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "priors.py"),
                             "--arms", "scratch,magic"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "--arms: unknown magic" in result.stderr


def test_sample_efficiency_keeps_the_configs_own_learner_settings() -> None:
    """The config's own recipe trains with every learner setting of the config (a1.yaml's
    target_entropy, gamma, ... were silently dropped before); another recipe gets its own
    defaults with the config's sizes; the benchmark's overrides apply to both."""
    import sample_efficiency as se

    from robot_rl.config import LearnerConfig

    base = LearnerConfig(recipe="droq", hidden=[64, 64], target_entropy=-12.0, gamma=0.98,
                         critic_lr=1e-3, warmup_steps=1000, actor_ema=0.005, batch_size=128)
    args = {"warmup": 500, "hidden": None, "utd": None, "precision": None,
            "policy_delay": None, "actor_ema": None}
    own = se.learner_config(base, "droq", args, buffer_size=4000)
    assert (own.target_entropy, own.gamma, own.critic_lr) == (-12.0, 0.98, 1e-3)
    assert (own.warmup_steps, own.buffer_size, own.actor_ema, own.utd) == (500, 4000, 0.005, 20)
    other = se.learner_config(base, "crossq", {**args, "utd": 3}, buffer_size=4000)
    assert other.target_entropy is None and other.gamma == 0.99 and other.critic_lr == 1e-3
    assert (other.hidden, other.batch_size, other.utd, other.actor_ema) == ([64, 64], 128, 3, 0)
