"""Reset-free vs episodic training of the A1 task graph, same step budget, several seeds.

Both arms train the same task graph (``robot_configs/a1.yaml``'s ``task_graph``), the same
task-conditioned SAC and the same relabeling multi-task replay buffer; they differ only in
``mode``: ``reset_free`` never teleports the robot after its first spawn (a fall leads to
``get_up`` / ``self_right``), ``episodic`` teleports it to the spawn pose after every task
end and counts each teleport as a manual reset.

After training, ``walk_forward`` is evaluated deterministically from the spawn pose in a fresh
simulator (mean forward velocity over its 400-step horizon, a fall counting as standing
still), as ``benchmarks/a1_walk.py`` does for the plain walking task.

    python benchmarks/reset_free.py --json                            # full budget (slow)
    python benchmarks/reset_free.py --budget 3000 --seeds 2 --json    # a quick look

Prints one JSON object keyed ``reset_free`` and ``episodic``; each holds ``manual_resets``,
``falls``, per-task ``success_rate`` (success events over task ends; for a task without a
success condition, timeouts reached without failing over ends), ``final_velocity`` of
``walk_forward`` (mean over seeds) along the robot's heading and ``final_net_velocity`` in a
straight line (start to end; running in circles scores high on the first, ~0 on the second),
per-seed values and the share of steps each task got. One line per finished run goes to
stderr. ``velocity_ratio`` = reset-free / episodic final velocity (``net_velocity_ratio`` the
same for straight-line velocity); the target is >= 0.8 with zero
manual resets, judged (``target_met``) only when the episodic arm walks (``baseline_walks``:
at least ``--min-baseline`` m/s), else null.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("reset_free", "episodic")


def run_one(config: str, mode: str, seed: int, budget: int, overrides: dict[str, Any],
            eval_episodes: int, threads: int) -> dict[str, Any]:
    """Train one arm with one seed; return its counters and evaluation."""
    import torch

    torch.set_num_threads(threads)
    from robot_rl.config import load_config
    from robot_rl.session import build, enable_task_graph
    from robot_rl.train_tasks import TaskTrainer, evaluate_task

    cfg = load_config(config)
    enable_task_graph(cfg, mode)
    for key, value in overrides.items():
        setattr(cfg.learner, key, value)
    env, agent, buffer = build(cfg, seed)
    trainer = TaskTrainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
    t0 = time.perf_counter()
    trainer.train(budget)
    train_s = time.perf_counter() - t0
    result = evaluate_task(lambda o: agent.act(o, deterministic=True), cfg, "walk_forward",
                           eval_episodes, seed=10_000 + seed)
    counters = env.scheduler.counters
    total = max(1, sum(c.steps for c in counters.values()))
    out = {
        "seed": seed, "mode": mode, "steps": trainer.step, "train_s": round(train_s, 1),
        "manual_resets": env.manual_resets,
        "falls": sum(c.falls for c in counters.values()),
        "switches": env.scheduler.switches,
        "success_rate": {k: _round(v) for k, v in env.success_rates().items()},
        "step_share": {k: round(c.steps / total, 3) for k, c in counters.items()},
        "final_velocity": round(result.summary()["forward_velocity"], 4),
        # straight line: a robot running in circles has forward but no net velocity
        "final_net_velocity": round(result.summary()["net_velocity"], 4),
        "eval_fall_rate": round(result.summary()["fall_rate"], 3),
    }
    env.close()
    return out


def _progress(run: dict[str, Any], done: int, total: int, t0: float) -> None:
    """One line per finished run on stderr: a long benchmark shows where it is."""
    print(f"[{done}/{total} runs, {time.perf_counter() - t0:.0f} s] {run['mode']} seed "
          f"{run['seed']}: {run['manual_resets']} manual resets, {run['falls']} falls, "
          f"walk_forward {run['final_velocity']:.3f} m/s along the heading, "
          f"{run['final_net_velocity']:.3f} m/s in a straight line", file=sys.stderr, flush=True)


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over seeds of one arm, plus the per-seed rows."""
    tasks = list(runs[0]["success_rate"])
    return {
        "manual_resets": _mean([r["manual_resets"] for r in runs]),
        "falls": _mean([r["falls"] for r in runs]),
        "success_rate": {t: _mean([r["success_rate"][t] for r in runs]) for t in tasks},
        "step_share": {t: _mean([r["step_share"][t] for r in runs]) for t in tasks},
        "final_velocity": _mean([r["final_velocity"] for r in runs]),
        "final_net_velocity": _mean([r.get("final_net_velocity") for r in runs]),
        "per_seed": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "robot_configs" / "a1.yaml"))
    parser.add_argument("--budget", type=int, default=20_000, help="environment steps per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--eval-episodes", type=int, default=2)
    parser.add_argument("--hidden", help="override learner.hidden, e.g. 64,64")
    parser.add_argument("--utd", type=int, help="override learner.utd")
    parser.add_argument("--warmup", type=int, help="override learner.warmup_steps")
    parser.add_argument("--min-baseline", type=float, default=0.25,
                        help="episodic velocity (m/s) below which target_met is null")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()

    overrides: dict[str, Any] = {}
    if args.hidden:
        overrides["hidden"] = overrides["critic_hidden"] = [int(h) for h in args.hidden.split(",")]
    if args.utd is not None:
        overrides["utd"] = overrides["policy_delay"] = args.utd
    if args.warmup is not None:
        overrides["warmup_steps"] = args.warmup
    jobs = [(args.config, mode, seed, args.budget, overrides, args.eval_episodes, args.threads)
            for seed in range(args.seeds) for mode in MODES]
    t0 = time.perf_counter()
    # PyBullet's C code prints "argv[0]=" on stdout when it connects: point file descriptor 1
    # at stderr while simulating (worker processes inherit it) so stdout is the JSON alone.
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        runs = []
        if args.jobs > 1:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
                for done in as_completed([pool.submit(run_one, *job) for job in jobs]):
                    runs.append(done.result())
                    _progress(runs[-1], len(runs), len(jobs), t0)
        else:
            for job in jobs:
                runs.append(run_one(*job))
                _progress(runs[-1], len(runs), len(jobs), t0)
        runs.sort(key=lambda r: (r["seed"], MODES.index(r["mode"])))
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        os.close(real_stdout)
    out: dict[str, Any] = {
        "benchmark": "reset_free", "config": Path(args.config).name,
        "budget_steps": args.budget, "seeds": args.seeds, "overrides": overrides,
        "eval_episodes": args.eval_episodes, "wall_s": round(time.perf_counter() - t0, 1),
    }
    for mode in MODES:
        out[mode] = summarize([r for r in runs if r["mode"] == mode])
    rf, ep = out["reset_free"]["final_velocity"], out["episodic"]["final_velocity"]
    out["velocity_ratio"] = round(rf / ep, 3) if rf is not None and ep else None
    rf_net = out["reset_free"]["final_net_velocity"]
    ep_net = out["episodic"]["final_net_velocity"]
    out["net_velocity_ratio"] = (round(rf_net / ep_net, 3)
                                 if rf_net is not None and ep_net else None)
    # A ratio to a baseline that does not walk says nothing: only judge the target when the
    # episodic arm reaches --min-baseline m/s.
    out["baseline_walks"] = bool(ep is not None and ep >= args.min_baseline)
    out["target_met"] = (None if not out["baseline_walks"] else bool(
        out["velocity_ratio"] is not None and out["velocity_ratio"] >= 0.8
        and out["reset_free"]["manual_resets"] == 0))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
