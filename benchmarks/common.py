"""Helpers shared by the learner benchmarks: machine description, matmul rate, timing, and
when learning holds."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, as_completed
from pathlib import Path
from typing import Any

import torch


def recipe_names(text: str) -> list[str]:
    """The recipes of a ``--recipes a,b`` option, each a key of ``LearnerConfig.RECIPES``.

    Raises:
        ValueError: an unknown name, in one line with the known ones (for ``parser.error``).
    """
    from robot_rl.config import LearnerConfig

    names = [r for r in text.split(",") if r]
    unknown = [r for r in names if r not in LearnerConfig.RECIPES]
    if unknown or not names:
        raise ValueError(f"--recipes: expected names from {', '.join(LearnerConfig.RECIPES)}, "
                         f"got {text!r}")
    return names


def machine_info(threads: int) -> dict[str, object]:
    """CPU model, core count, torch version, threads used and the load when measured."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": threads, "load_avg_1m": round(load[0], 2)}


def matmul_gflops(n: int = 1024, seconds: float = 1.0) -> tuple[float, float]:
    """The fp32 rate of ``[n, n] @ [n, n]`` in GFLOP/s: best over wall time and best over
    this process's CPU time (the second is robust to other processes sharing the cores)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best_wall = best_cpu = 0.0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(4):
            a @ b
        flop = 4 * 2 * n**3 / 1e9
        best_wall = max(best_wall, flop / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, flop / max(time.process_time() - c0, 1e-6))
    return best_wall, best_cpu


def rate(step: Callable[[], int], seconds: float, min_calls: int = 2) -> tuple[float, float]:
    """Units per second of ``step`` (which returns how many units it did), over at least
    ``seconds`` and ``min_calls`` calls: per wall-clock second and per CPU second of this
    process (on one thread the latter discounts time lost to other processes)."""
    done, calls = 0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    while calls < min_calls or time.perf_counter() - t0 < seconds:
        done += step()
        calls += 1
    return (done / (time.perf_counter() - t0),
            done / max(time.process_time() - c0, 1e-9))


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of the matmuls (forward and backward) ``fn`` runs."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def learner_config(base: Any, learner: str, args: dict[str, Any], buffer_size: int) -> Any:
    """The LearnerConfig a run of recipe ``learner`` trains with. The config's own recipe
    keeps every setting of the config (target_entropy, learning rates, gamma, ...); another
    recipe gets its own defaults with the config's sizes. Then the benchmark's overrides
    (``args``: hidden, warmup, utd, precision, policy_delay, actor_ema; None: not given)."""
    from robot_rl.config import LearnerConfig

    ema = args.get("actor_ema")
    overrides: dict[str, Any] = dict(
        hidden=args.get("hidden") or base.hidden,
        warmup_steps=args["warmup"] if args.get("warmup") is not None else base.warmup_steps,
        buffer_size=buffer_size,
        precision=args.get("precision") or base.precision)
    if learner == base.recipe:
        return dataclasses.replace(
            base, **overrides, utd=args.get("utd") or base.utd,
            policy_delay=args.get("policy_delay") or base.policy_delay,
            actor_ema=ema if ema is not None else base.actor_ema)
    return LearnerConfig(recipe=learner, batch_size=base.batch_size,
                         init_temperature=base.init_temperature, **overrides,
                         utd=args.get("utd"),  # None: the recipe's own
                         policy_delay=args.get("policy_delay"), actor_ema=ema or 0.0)


def steps_to_held(history: list[dict[str, Any]], ok: Callable[[dict[str, Any]], bool],
                  min_run: int = 3) -> int | None:
    """The step of the first evaluation after which learning held: that evaluation and every
    later one satisfy ``ok``, and there are at least ``min_run`` of them.

    Args:
        history: evaluation points in step order, each with a ``"step"``.
        ok: whether one point is over the threshold.
        min_run: how many evaluations the final run over the threshold needs.

    Returns:
        The ``"step"`` of the final run's first evaluation; None if the last evaluation
        misses, the final run is shorter than ``min_run`` or ``history`` is empty.
    """
    run = 0
    for point in reversed(history):
        if not ok(point):
            break
        run += 1
    return history[-run]["step"] if run >= max(min_run, 1) else None


# The shifts used by the benchmarks: `sim` sections for a "real" robot that differs from the
# simulator (docs/configs.md, `sim.dynamics`). Dynamics under `dynamics`; latency and sensor
# noise are the `sim` keys they always were.
SHIFTS: dict[str, dict[str, Any]] = {
    "a1": {"latency_s": 0.02,
           "dynamics": {"mass_scale": 1.15, "friction": 0.7, "motor_strength": 0.85,
                        "kp_scale": 0.8}},
    "panda": {"latency_s": 0.02,
              "dynamics": {"mass_scale": 1.2, "kd_scale": 1.5, "motor_strength": 0.9}},
}


def shifted(cfg_dict: dict[str, Any], robot: str) -> dict[str, Any]:
    """A copy of the config mapping ``cfg_dict`` with the ``sim`` keys of ``SHIFTS[robot]``
    set (``sim.dynamics`` replaced as a whole; other ``sim`` keys kept).

    Raises:
        KeyError: ``robot`` has no shift (one of ``SHIFTS``).
    """
    import copy

    if robot not in SHIFTS:
        raise KeyError(f"no shift for {robot!r}; expected one of {', '.join(SHIFTS)}")
    out = copy.deepcopy(cfg_dict)
    out["sim"] = {**(out.get("sim") or {}), **copy.deepcopy(SHIFTS[robot])}
    return out


def gather_runs(futures: Iterable[Future], runs_file: Path | None,
                describe: Callable[[dict[str, Any]], str], verbose: bool) -> list[dict[str, Any]]:
    """The results of ``futures`` as they finish; each one without an ``error`` is appended
    to ``runs_file`` (JSON lines, so a long benchmark resumes), and each is described on
    stderr (with ``verbose``, else only the failed ones)."""
    runs = []
    for future in as_completed(futures):
        run = future.result()
        runs.append(run)
        if runs_file is not None and "error" not in run:
            with runs_file.open("a") as f:
                f.write(json.dumps(run) + "\n")
        if verbose or "error" in run:
            print(describe(run), file=sys.stderr)
    return runs
