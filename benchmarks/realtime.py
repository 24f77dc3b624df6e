"""Wall-clock seconds until the A1 walks straight, trained in real time, per critic recipe.

Each (recipe, seed) run trains the A1 (``--config``, default robot_configs/a1.yaml, with the
recipe's documented defaults and the config's hidden widths, batch size, warm-up and initial
temperature) for ``--budget-s`` seconds of wall time in real time
(:func:`robot_rl.distributed.realtime.run_realtime`, what ``robot-rl train --realtime`` runs):
the robot paced at ``robot.control_hz`` (20 Hz), the learner concurrently. Every
``--eval-every-s`` seconds the learner's thread evaluates its agent deterministically on a
separate environment (``--eval-episodes`` episodes): no update runs meanwhile, so the
weights are a snapshot, and the paced robot keeps stepping. ``wall_s_to_held`` is
:func:`common.steps_to_held` over wall time on the straight-line velocity (``net_velocity``
>= 0.5 m/s at the evaluation that starts the final run of at least 3 evaluations over the
threshold, null otherwise); ``effective_utd`` is the critic updates per environment step past
the warm-up that the learner managed (``learner.utd`` when it keeps up).

For comparison each recipe and seed also trains lock-step (the embedded
:class:`robot_rl.train.Trainer`, robot unpaced, as fast as the machine steps and updates) for
the same budget of training wall time, evaluated alike every ``--eval-every-s`` seconds of it
(evaluation time not counted): ``lockstep_wall_s_to_held``. Runs are sequential by default;
``--jobs 2`` runs two at a time, each with one torch thread: a run's learner is one thread
(the paced robot costs a few percent of a core), so on 2 cores each run keeps a core.

    python benchmarks/realtime.py --json                      # droq, crossq, sac; 3 seeds
    python benchmarks/realtime.py --budget-s 20 --seeds 1 --recipes sac --json   # smoke run

Prints one JSON object: ``{"benchmark", "machine", "options", "wall_s", "recipes": {NAME:
{"wall_s_to_held", "median_wall_s_to_held", "held", "effective_utd", ...,
"lockstep_wall_s_to_held", ...}}, "best"}`` (``best``: the recipe with the lowest median wall
time to held in real time, null if none held); progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    learner_config,
    machine_info,
    recipe_names,
    steps_to_held,
)

RECIPES = ["droq", "crossq", "sac"]
THRESHOLD = 0.5  # m/s of net_velocity (start to end of an episode, in a straight line)
HELD_RUN = 3  # evaluations over the threshold at the end of the budget that make it "held"


def wall_s_to_held(history: list[dict[str, Any]]) -> float | None:
    """The wall time of the evaluation from which the A1 stayed over :data:`THRESHOLD` in a
    straight line to the end of the budget (at least :data:`HELD_RUN` evaluations), or None."""
    points = [{**p, "step": p["wall_s"]} for p in history]
    return steps_to_held(points, lambda p: p.get("net_velocity", float("nan")) >= THRESHOLD,
                         HELD_RUN)


def recipe_config(path: str, recipe: str, args: dict[str, Any]) -> Any:
    """The robot config at ``path`` for ``recipe``: all of the config's learner settings for
    its own recipe, another recipe's defaults with the config's sizes
    (:func:`common.learner_config`)."""
    from robot_rl.config import load_config

    cfg = load_config(path)
    base = cfg.learner
    # room for the whole budget at up to 200 steps/s (lock-step SAC runs ~70 on a CPU)
    buffer = max(base.batch_size, min(base.buffer_size, int(200 * args["budget_s"])))
    cfg.learner = learner_config(base, recipe, {"hidden": args["hidden"],
                                                "warmup": args["warmup"]}, buffer)
    return cfg


def _evaluate(agent: Any, env: Any, args: dict[str, Any], seed: int) -> dict[str, float]:
    from robot_rl.evaluate import evaluate

    summary = evaluate(lambda o: agent.act(o, deterministic=True), env, args["eval_episodes"],
                       seed=10_000 + 100 * seed).summary()
    return {k: round(summary[k], 4) for k in ("return", "forward_velocity", "net_velocity")
            if k in summary}


def realtime_run(recipe: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """One run in real time for ``budget_s`` seconds of wall time, evaluated as it goes."""
    from robot_rl.distributed.learner_loop import Learner
    from robot_rl.distributed.realtime import run_realtime
    from robot_rl.envs import RobotEnv

    cfg = recipe_config(args["config"], recipe, args)
    eval_env = RobotEnv(cfg, seed=seed + 2000)
    history: list[dict[str, Any]] = []
    clock = {"t0": -1.0, "next": float(args["eval_every_s"])}

    def on_learner_step(learner: Learner) -> None:
        now = time.monotonic()
        if clock["t0"] < 0:
            clock["t0"] = now
        elapsed = now - clock["t0"]
        if elapsed < clock["next"]:
            return
        while clock["next"] <= elapsed:  # a late evaluation skips the marks it missed
            clock["next"] += args["eval_every_s"]
        history.append({"wall_s": round(elapsed, 2), "env_steps": learner.received,
                        "effective_utd": round(learner.effective_utd, 3),
                        **_evaluate(learner.agent, eval_env, args, seed)})

    def over_budget() -> bool:
        return clock["t0"] >= 0 and time.monotonic() - clock["t0"] >= args["budget_s"]

    try:
        result = run_realtime(cfg, steps=sys.maxsize, seed=seed, should_stop=over_budget,
                              on_learner_step=on_learner_step)
    finally:
        eval_env.close()
    learner = result.learner
    robot = result.actors[0] if result.actors else {}
    return {"recipe": recipe, "seed": seed, "mode": "realtime",
            "wall_s_to_held": wall_s_to_held(history),
            "effective_utd": round(learner.effective_utd, 3), "configured_utd": cfg.learner.utd,
            "robot_hz": round(robot.get("steps_per_s", 0.0), 2),
            "env_steps": learner.received, "update_steps": learner.update_steps,
            "history": history}


def lockstep_run(recipe: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """One lock-step run (the embedded Trainer) for ``budget_s`` seconds of training wall
    time, evaluated every ``eval_every_s`` seconds of it (evaluation time not counted)."""
    from robot_rl.envs import RobotEnv
    from robot_rl.sac import SAC, make_replay
    from robot_rl.train import Trainer

    cfg = recipe_config(args["config"], recipe, args)
    env = RobotEnv(cfg, seed=seed)
    eval_env = RobotEnv(cfg, seed=seed + 2000)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed)
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
    history: list[dict[str, Any]] = []
    next_eval = float(args["eval_every_s"])
    try:
        while trainer.wall_s < args["budget_s"]:
            trainer.train(trainer.step + args["chunk"])
            if trainer.wall_s >= next_eval:
                while next_eval <= trainer.wall_s:
                    next_eval += args["eval_every_s"]
                history.append({"wall_s": round(trainer.wall_s, 2), "env_steps": trainer.step,
                                **_evaluate(agent, eval_env, args, seed)})
    finally:
        env.close()
        eval_env.close()
    return {"recipe": recipe, "seed": seed, "mode": "lockstep",
            "wall_s_to_held": wall_s_to_held(history), "configured_utd": cfg.learner.utd,
            "env_steps": trainer.step, "history": history}


def run_one(mode: str, recipe: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """A run of ``mode`` (``realtime`` or ``lockstep``); a failure is reported, not raised."""
    t0 = time.perf_counter()
    try:
        run = (realtime_run if mode == "realtime" else lockstep_run)(recipe, seed, args)
    except Exception as err:  # noqa: BLE001 - reported in the JSON, the other runs go on
        run = {"recipe": recipe, "seed": seed, "mode": mode, "wall_s_to_held": None,
               "history": [], "error": f"{type(err).__name__}: {err}"}
    return {**run, "run_wall_s": round(time.perf_counter() - t0, 1)}


def _median(values: list[float | None]) -> float | None:
    """Median over seeds; a run that never held counts as more than the budget."""
    ranked = [v if v is not None else float("inf") for v in values]
    median = statistics.median(ranked) if ranked else float("inf")
    return None if median == float("inf") else median


def summarize(runs: list[dict[str, Any]], recipes: list[str]) -> dict[str, Any]:
    """Per recipe: wall seconds to held per seed (real time and lock-step), their medians and
    counts, the effective UTD (median over seeds, and per seed), the robot's rate; and the
    recipe with the lowest median wall time to held in real time (``best``, null if none)."""
    def mine(recipe: str, mode: str) -> list[dict[str, Any]]:
        return sorted((r for r in runs if r["recipe"] == recipe and r["mode"] == mode),
                      key=lambda r: r["seed"])

    out: dict[str, Any] = {}
    for recipe in recipes:
        real, lock = mine(recipe, "realtime"), mine(recipe, "lockstep")
        held = [r["wall_s_to_held"] for r in real]
        utd = [r["effective_utd"] for r in real if r.get("effective_utd") is not None]
        lock_held = [r["wall_s_to_held"] for r in lock]
        out[recipe] = {
            "wall_s_to_held": held, "median_wall_s_to_held": _median(held),
            "held": f"{sum(h is not None for h in held)}/{len(held)}",
            "effective_utd": statistics.median(utd) if utd else None,
            "effective_utd_per_seed": utd,
            "configured_utd": next((r["configured_utd"] for r in real + lock
                                    if "configured_utd" in r), None),
            "robot_hz": [r.get("robot_hz") for r in real],
            "env_steps": [r.get("env_steps") for r in real],
            "lockstep_wall_s_to_held": lock_held,
            "lockstep_median_wall_s_to_held": _median(lock_held),
            "lockstep_held": f"{sum(h is not None for h in lock_held)}/{len(lock_held)}",
            "lockstep_env_steps": [r.get("env_steps") for r in lock],
            "errors": [r["error"] for r in real + lock if "error" in r],
            "history": [r["history"] for r in real],
            "lockstep_history": [r["history"] for r in lock],
        }
    ranked = {k: v["median_wall_s_to_held"] for k, v in out.items()
              if v["median_wall_s_to_held"] is not None}
    return {"recipes": out, "best": min(ranked, key=lambda k: ranked[k]) if ranked else None}


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """C-level prints (PyBullet's banner) go to stderr while runs go, not into the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=600.0,
                        help="wall-clock seconds per run (default 600)")
    parser.add_argument("--eval-every-s", type=float, default=30.0,
                        help="wall-clock seconds between evaluations (default 30)")
    parser.add_argument("--eval-episodes", type=int, default=1,
                        help="deterministic episodes per evaluation (default 1)")
    parser.add_argument("--config", default=str(ROOT / "robot_configs" / "a1.yaml"))
    parser.add_argument("--no-lockstep", action="store_true",
                        help="skip the lock-step comparison runs")
    parser.add_argument("--warmup", type=int, help="override learner.warmup_steps")
    parser.add_argument("--hidden", help="override hidden widths, e.g. 64,64")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel processes (2 on 2 cores: a run's learner is "
                        "one thread, so a real-time run and a lock-step run side by side "
                        "each get a core)")
    parser.add_argument("--runs-file", help="append each finished run here (JSON lines) and "
                        "skip runs already in it: a long benchmark can be resumed")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        recipes = recipe_names(args.recipes)
    except ValueError as e:
        parser.error(str(e))
    options: dict[str, Any] = {
        "recipes": recipes, "seeds": args.seeds, "budget_s": args.budget_s,
        "eval_every_s": args.eval_every_s, "eval_episodes": args.eval_episodes,
        "config": args.config, "lockstep": not args.no_lockstep, "warmup": args.warmup,
        "hidden": [int(h) for h in args.hidden.split(",")] if args.hidden else None,
        "threads": args.threads, "jobs": args.jobs, "threshold_net_velocity": THRESHOLD,
        "held_run": HELD_RUN,
        "chunk": 10}  # lock-step steps between looks at the clock
    modes = ["realtime"] + ([] if args.no_lockstep else ["lockstep"])
    todo = [(mode, recipe, seed) for recipe in recipes for seed in range(args.seeds)
            for mode in modes]
    runs: list[dict[str, Any]] = []
    runs_file = Path(args.runs_file) if args.runs_file else None
    if runs_file is not None and runs_file.is_file():
        done = {(r["mode"], r["recipe"], r["seed"]): r
                for r in map(json.loads, runs_file.read_text().splitlines()) if "error" not in r}
        runs = [done[key] for key in todo if key in done]
        todo = [key for key in todo if key not in done]

    def finished(run: dict[str, Any]) -> None:
        runs.append(run)
        if runs_file is not None and "error" not in run:
            with runs_file.open("a") as f:
                f.write(json.dumps(run) + "\n")
        if args.json and "error" not in run:
            return
        print(f"{run['recipe']} seed {run['seed']} {run['mode']}: held from "
              f"{run['wall_s_to_held']} s, effective UTD "
              f"{run.get('effective_utd', run.get('configured_utd'))}, "
              f"{run.get('env_steps')} steps in {run['run_wall_s']} s {run.get('error', '')}",
              file=sys.stderr)

    t0 = time.perf_counter()
    with stdout_to_stderr():
        if args.jobs > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.jobs, mp_context=context,
                                     initializer=torch.set_num_threads,
                                     initargs=(args.threads,)) as pool:
                futures = [pool.submit(run_one, *key, options) for key in todo]
                for future in as_completed(futures):
                    finished(future.result())
        else:
            for key in todo:
                finished(run_one(*key, options))
    print(json.dumps({"benchmark": "realtime", "machine": machine_info(args.threads),
                      "options": options, "wall_s": round(time.perf_counter() - t0, 1),
                      **summarize(runs, recipes)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
