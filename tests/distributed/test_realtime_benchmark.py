"""benchmarks/realtime.py: wall time to held and the per-recipe summary, on synthetic runs."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("realtime_bench",
                                                  ROOT / "benchmarks" / "realtime.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _history(*velocities: float, every_s: float = 30.0) -> list[dict[str, float]]:
    return [{"wall_s": every_s * (i + 1), "env_steps": 600 * (i + 1), "net_velocity": v}
            for i, v in enumerate(velocities)]


def _run(recipe: str, seed: int, mode: str, history: list[dict[str, float]],
         **extra: Any) -> dict[str, Any]:
    return {"recipe": recipe, "seed": seed, "mode": mode, "history": history,
            "wall_s_to_held": None, "configured_utd": 20, **extra}


def test_wall_time_to_held_is_the_start_of_the_final_run_over_the_threshold(bench) -> None:
    # over at 60 s, under at 90 s, then over from 120 s to the end (3 evaluations)
    assert bench.wall_s_to_held(_history(0.1, 0.6, 0.2, 0.55, 0.7, 0.8)) == 120.0
    assert bench.wall_s_to_held(_history(0.6, 0.7, 0.1)) is None  # the last one misses
    assert bench.wall_s_to_held(_history(0.1, 0.6, 0.7)) is None  # a final run of 2
    assert bench.wall_s_to_held([]) is None


def test_summary_per_recipe_and_the_best(bench) -> None:
    runs = []
    for recipe, real, lock, utd in (
            ("droq", [(0.1, 0.6, 0.6, 0.6), (0.6, 0.6, 0.6, 0.6)], [(0.1, 0.1, 0.6, 0.6, 0.6)],
             [6.5, 7.5]),
            ("sac", [(0.1, 0.1, 0.1, 0.1), (0.1, 0.6, 0.6, 0.6)], [(0.1, 0.1, 0.1, 0.1)],
             [1.0, 1.0])):
        for seed, velocities in enumerate(real):
            history = _history(*velocities)
            runs.append(_run(recipe, seed, "realtime", history, effective_utd=utd[seed],
                             robot_hz=20.0, env_steps=2400,
                             wall_s_to_held=bench.wall_s_to_held(history)))
        for seed, velocities in enumerate(lock):
            history = _history(*velocities)
            runs.append(_run(recipe, seed, "lockstep", history,
                             wall_s_to_held=bench.wall_s_to_held(history)))
    runs.append({"recipe": "sac", "seed": 2, "mode": "realtime", "history": [],
                 "wall_s_to_held": None, "error": "RuntimeError: boom"})
    summary = bench.summarize(runs, ["droq", "sac"])
    droq, sac = summary["recipes"]["droq"], summary["recipes"]["sac"]
    assert droq["wall_s_to_held"] == [60.0, 30.0] and droq["median_wall_s_to_held"] == 45.0
    assert droq["held"] == "2/2" and droq["effective_utd"] == 7.0
    assert droq["effective_utd_per_seed"] == [6.5, 7.5] and droq["configured_utd"] == 20
    assert droq["lockstep_wall_s_to_held"] == [90.0]
    assert droq["lockstep_median_wall_s_to_held"] == 90.0 and droq["errors"] == []
    # sac: one seed never held, one held from 60 s, one failed: the median counts the misses
    assert sac["wall_s_to_held"] == [None, 60.0, None] and sac["held"] == "1/3"
    assert sac["median_wall_s_to_held"] is None and sac["errors"] == ["RuntimeError: boom"]
    assert sac["lockstep_wall_s_to_held"] == [None] and sac["lockstep_held"] == "0/1"
    assert summary["best"] == "droq"
    assert bench.summarize([], ["droq"])["best"] is None
