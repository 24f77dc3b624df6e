"""Environment steps to a threshold per critic recipe and for Stable-Baselines3 SAC.

Tasks (RobotEnv from robot_configs/, a Gymnasium environment both learners train on):

* ``a1``: walking; reached when the deterministic evaluation (``--a1-episodes`` episodes,
  default 1) has a mean forward velocity >= 0.5 m/s (over the whole time limit; time after
  a fall counts as standing). That velocity is measured along the body's heading, so
  running in circles counts too. A second threshold, ``steps_to_straight``, asks the same
  0.5 m/s of ``net_velocity`` (start-to-end distance / episode time), which circling does
  not reach;
* ``panda``: reaching; reached when the mean final end-effector distance over
  ``--panda-episodes`` deterministic evaluation episodes is <= 2 cm.

Each (task, learner, seed) run trains its whole budget (``--budget``) of environment steps,
evaluating every ``--eval-every`` steps on a separate environment instance (evaluation
steps are not counted). Beside the first crossing it reports ``steps_to_held``: the step of
the first evaluation after which every evaluation, itself included, is over the threshold,
with at least 3 of them at the end of the budget (null otherwise; A1: the straight-line
threshold), and the metric at the last evaluation. ``--stop-at-threshold`` stops a run at
its first crossing (A1: of both thresholds) instead; it then has no ``steps_to_held``.
Our recipes use their documented defaults (docs/learner.md) with the robot config's
(``--a1-config``, ``--panda-config``) hidden widths, batch size, warm-up and initial
temperature, and the config's own recipe also its ``policy_delay`` and ``actor_ema``;
Stable-Baselines3 SAC uses its default settings. SAC at UTD 1 is cheap per
step, so ``--sb3-budget`` can give it the 5x budget the target needs while the recipes
keep ``--budget``.

    python benchmarks/sample_efficiency.py --json                        # the full run
    python benchmarks/sample_efficiency.py --tasks a1 --recipes droq,crossq,sac \
        --budget 9600 --sb3-budget 48000 --eval-every 800 --jobs 2 --json  # the A1 target
    python benchmarks/sample_efficiency.py --budget 1500 --seeds 2 --jobs 2 --json

Prints one JSON object: per task and learner the steps to threshold and to held per seed
(null where the budget ran out), their medians, the final metric and the evaluation
history, and per task the best recipe against SB3 on each; writes a PNG of evaluation
return against environment steps (``--plot``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    learner_config,
    machine_info,
    recipe_names,
    steps_to_held,
)

RECIPES = ["sac", "droq", "redq", "crossq"]
HELD_RUN = 3  # evaluations over the threshold at the end of the budget that make it "held"
TASKS = {
    "a1": {"config": "a1.yaml", "metric": "forward_velocity", "op": ">=", "threshold": 0.5,
           "straight": {"metric": "net_velocity", "op": ">=", "threshold": 0.5}},
    "panda": {"config": "panda.yaml", "metric": "final_distance", "op": "<=",
              "threshold": 0.02},
}


def reached(spec: dict[str, Any], value: float) -> bool:
    """Whether ``value`` meets a threshold ``spec`` (a task's, or its ``straight`` one)."""
    return value >= spec["threshold"] if spec["op"] == ">=" else value <= spec["threshold"]


def held_spec(task: str) -> tuple[dict[str, Any], str]:
    """The threshold ``steps_to_held`` is measured on and the history key of its metric:
    the straight-line one where a task has it (A1), else the task's own."""
    straight = TASKS[task].get("straight")
    return (straight, straight["metric"]) if straight else (TASKS[task], "metric")


def held_step(task: str, history: list[dict[str, Any]]) -> int | None:
    """:func:`common.steps_to_held` of one run's evaluation history on :func:`held_spec`."""
    spec, key = held_spec(task)
    return steps_to_held(history, lambda p: reached(spec, p.get(key, float("nan"))), HELD_RUN)


def budget_of(learner: str, args: dict[str, Any]) -> int:
    """Environment steps a run of ``learner`` may take (SB3 may have its own budget)."""
    return int(args.get("sb3_budget") or args["budget"]) if learner == "sb3" else args["budget"]


def quiet_stdout() -> None:
    """Worker start: C-level prints (PyBullet's banner) go to stderr, not the JSON on stdout."""
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def track_averages(agent: Any, rates: list[float]) -> dict[float, torch.nn.Module]:
    """Per rate, a copy of ``agent``'s actor moved toward it by ``rate`` after every actor
    update (an exponential moving average of the weights, for evaluation only). As
    ``learner.actor_ema`` does: each average is the actor itself until its first update,
    a copy of it at that update, and moves from there."""
    import copy

    averages = {rate: copy.deepcopy(agent.actor).requires_grad_(False) for rate in rates}
    if not averages:
        return averages
    step = agent.actor_step
    started = False

    def actor_step(b: Any) -> dict[str, float]:
        nonlocal started
        info = step(b)
        live = list(agent.actor.parameters())
        with torch.no_grad():
            for rate, actor in averages.items():
                mine = list(actor.parameters())
                if started:
                    torch._foreach_lerp_(mine, live, rate)
                else:
                    torch._foreach_copy_(mine, live)
        started = True
        return info

    agent.actor_step = actor_step
    return averages


@torch.no_grad()
def deterministic_action(actor: torch.nn.Module, obs: np.ndarray) -> np.ndarray:
    """``actor``'s deterministic action for one observation (numpy in, numpy out)."""
    o = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
    return actor.deterministic(o)[0].numpy()  # type: ignore[operator]


def ema_held(task: str, history: list[dict[str, Any]], rate: str) -> int | None:
    """:func:`held_step` of the averaged actor ``ema_<rate>``'s evaluations."""
    points = [{"step": p["step"], **p[f"ema_{rate}"]} for p in history if f"ema_{rate}" in p]
    return held_step(task, points)


def run_one(task: str, learner: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """:func:`train_one`, with a failure reported in the result instead of raised (some
    exceptions, e.g. ConfigError, do not cross process boundaries)."""
    try:
        return train_one(task, learner, seed, args)
    except Exception as err:  # noqa: BLE001 - reported in the JSON, the other runs go on
        return {"task": task, "learner": learner, "seed": seed, "steps_to_threshold": None,
                "steps_to_straight": None, "steps_to_held": None, "history": [], "wall_s": 0.0,
                "error": f"{type(err).__name__}: {err}"}


def train_one(task: str, learner: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """Train one learner on one task with one seed; evaluate every ``eval_every`` steps."""
    torch.set_num_threads(args["threads"])
    from robot_rl.config import load_config
    from robot_rl.envs import RobotEnv
    from robot_rl.evaluate import evaluate

    cfg = load_config(args.get(f"{task}_config")
                      or ROOT / "robot_configs" / TASKS[task]["config"])
    episodes = args["panda_episodes"] if task == "panda" else args.get("a1_episodes", 1)
    eval_env = RobotEnv(cfg, seed=seed + 1000)
    straight = TASKS[task].get("straight")
    budget = budget_of(learner, args)
    history: list[dict[str, float]] = []
    steps_to: int | None = None
    steps_straight: int | None = None
    stopped = False  # at the threshold (--stop-at-threshold), before the budget's end
    t0 = time.perf_counter()

    def record(step: int, policy: Any) -> bool:
        nonlocal steps_to, steps_straight
        result = evaluate(policy, eval_env, episodes, seed=10_000 + 100 * seed)
        summary = result.summary()
        value = summary[TASKS[task]["metric"]]
        point = {"step": step, "return": round(result.mean_return, 3), "metric": round(value, 4)}
        if "net_velocity" in summary:  # straight-line speed (circling scores ~0)
            point["net_velocity"] = round(summary["net_velocity"], 4)
        history.append(point)
        if steps_to is None and reached(TASKS[task], value):
            steps_to = step
        if straight and steps_straight is None and reached(straight, summary[straight["metric"]]):
            steps_straight = step
        done = steps_to is not None and (not straight or steps_straight is not None)
        return done and args["stop_at_threshold"]

    if learner == "sb3":
        from stable_baselines3 import SAC as SB3SAC
        from stable_baselines3.common.logger import Logger

        env = RobotEnv(cfg, seed=seed)
        # default settings; --hidden (a reduced run) shrinks SB3's networks alike
        kwargs = {"policy_kwargs": {"net_arch": args["hidden"]}} if args["hidden"] else {}
        model = SB3SAC("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)
        model.set_logger(Logger(None, []))  # SB3's own would make a /tmp/SB3-* folder per run
        done = 0
        while done < budget:
            chunk = min(args["eval_every"], budget - done)
            model.learn(total_timesteps=chunk, reset_num_timesteps=False)
            done = model.num_timesteps
            if record(done, lambda o: model.predict(o, deterministic=True)[0]):
                stopped = done < budget
                break
    else:
        from robot_rl.sac import SAC, make_replay
        from robot_rl.train import Trainer

        cfg.learner = learner_config(cfg.learner, learner, args,
                                     buffer_size=max(budget, cfg.learner.batch_size))
        env = RobotEnv(cfg, seed=seed)
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
        averages = track_averages(agent, args.get("eval_ema") or [])
        buffer = make_replay(cfg.learner, obs_dim, act_dim, seed)
        trainer = Trainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
        while trainer.step < budget:
            trainer.train(min(budget, trainer.step + args["eval_every"]))
            if record(trainer.step, lambda o: agent.act(o, deterministic=True)):
                stopped = trainer.step < budget
                break
            for rate, actor in averages.items():  # evaluation only: training is unchanged
                result = evaluate(lambda o, a=actor: deterministic_action(a, o), eval_env,
                                  episodes, seed=10_000 + 100 * seed)
                summary = result.summary()
                history[-1][f"ema_{rate:g}"] = {
                    "metric": round(summary[TASKS[task]["metric"]], 4),
                    **({"net_velocity": round(summary["net_velocity"], 4)}
                       if "net_velocity" in summary else {})}
    env.close()
    eval_env.close()
    out = {"task": task, "learner": learner, "seed": seed, "steps_to_threshold": steps_to,
           "steps_to_straight": steps_straight,
           "steps_to_held": None if stopped else held_step(task, history),
           "stopped_at_threshold": stopped, "budget": budget,
           "final_metric": history[-1]["metric"] if history else None}
    if straight:
        out["final_net_velocity"] = history[-1].get("net_velocity") if history else None
    return {**out, "history": history, "wall_s": round(time.perf_counter() - t0, 1)}


def _reached_count(steps: list[int | None]) -> str:
    """How many runs got there, as ``"k/n"``."""
    return f"{sum(s is not None for s in steps)}/{len(steps)}"


def _median(steps: list[int | None]) -> float | None:
    """Median steps over seeds; a run that missed counts as more than the budget."""
    ranked = [s if s is not None else float("inf") for s in steps]
    median = statistics.median(ranked) if ranked else float("inf")
    return None if median == float("inf") else median


def _versus_sb3(per: dict[str, Any], key: str, sb3_budget: int) -> dict[str, Any]:
    """Best recipe by median ``key`` and how many times fewer steps than SB3 it needed
    (a lower bound, ``">= x"``, when SB3's median missed within its budget)."""
    ours = {k: v[key] for k, v in per.items() if k != "sb3" and v[key] is not None}
    best = min(ours, key=lambda k: ours[k]) if ours else None
    sb3 = per.get("sb3", {}).get(key)
    ratio: float | str | None = None
    if best and sb3:
        ratio = round(sb3 / ours[best], 2)
    elif best and "sb3" in per:
        ratio = f">= {sb3_budget / ours[best]:.2f}"
    return {"best_recipe": best, "best_median_steps": ours[best] if best else None,
            "sb3_median_steps": sb3, "fewer_steps_than_sb3": ratio}


def summarize(runs: list[dict[str, Any]], tasks: list[str], learners: list[str],
              budget: int, sb3_budget: int | None = None) -> dict[str, Any]:
    """Per task: the thresholds, per learner the per-seed steps (first crossing, A1's
    straight-line crossing, held), their medians and counts, final metrics and histories,
    and the best recipe against SB3 on each measure (``summary``, ``.straight``, ``.held``)."""
    out: dict[str, Any] = {}
    for task in tasks:
        straight = "straight" in TASKS[task]
        per: dict[str, Any] = {}
        for learner in learners:
            mine = sorted((r for r in runs if r["task"] == task and r["learner"] == learner),
                          key=lambda r: r["seed"])
            steps = [r["steps_to_threshold"] for r in mine]
            held = [r.get("steps_to_held") for r in mine]
            per[learner] = {
                "steps_to_threshold": steps,
                "median_steps": _median(steps),
                "reached": _reached_count(steps),
                "steps_to_held": held,
                "median_steps_to_held": _median(held),
                "held": _reached_count(held),
                "final_metric": [r["history"][-1]["metric"] if r["history"] else None
                                 for r in mine],
                "wall_s": [r["wall_s"] for r in mine],
                "errors": [r["error"] for r in mine if "error" in r],
                "history": [r["history"] for r in mine],
            }
            rates = sorted({k[4:] for r in mine for p in r["history"] for k in p
                            if k.startswith("ema_")}, key=float)
            for rate in rates:  # --eval-ema: held of each averaged actor
                ema = [ema_held(task, r["history"], rate) for r in mine]
                per[learner].setdefault("ema", {})[rate] = {
                    "steps_to_held": ema, "median_steps_to_held": _median(ema),
                    "held": _reached_count(ema)}
            if straight:
                steps = [r.get("steps_to_straight") for r in mine]
                per[learner].update(
                    steps_to_straight=steps, median_steps_straight=_median(steps),
                    reached_straight=_reached_count(steps),
                    final_net_velocity=[r["history"][-1].get("net_velocity")
                                        if r["history"] else None for r in mine])
        summary = _versus_sb3(per, "median_steps", sb3_budget or budget)
        if straight:
            summary["straight"] = _versus_sb3(per, "median_steps_straight",
                                              sb3_budget or budget)
        summary["held"] = _versus_sb3(per, "median_steps_to_held", sb3_budget or budget)
        spec, _ = held_spec(task)
        out[task] = {"threshold": TASKS[task], "held_threshold": {**spec, "min_run": HELD_RUN},
                     "summary": summary, "learners": per}
    return out


def _curve(runs: list[list[dict[str, Any]]], key: str) -> tuple[list[int], np.ndarray]:
    """Evaluation steps and ``key`` per run at each step; a run stopped at the threshold
    keeps its last evaluation for the later steps."""
    steps = sorted({p["step"] for h in runs for p in h})
    values = np.array([[next((p.get(key, np.nan) for p in reversed(h) if p["step"] <= s),
                             h[0].get(key, np.nan)) for s in steps] for h in runs])
    return steps, values


def plot(results: dict[str, Any], path: Path, title: str) -> None:
    """Per task: evaluation return (top) and the threshold's metric (bottom; for A1 also
    the straight-line velocity, dashed) against environment steps, mean and min-max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results)
    fig, axes = plt.subplots(2, len(tasks), figsize=(6.5 * len(tasks), 7.5), squeeze=False,
                             sharex="col")
    for col, task in enumerate(tasks):
        spec = results[task]["threshold"]
        top, bottom = axes[0][col], axes[1][col]
        for learner, res in results[task]["learners"].items():
            runs = [h for h in res["history"] if h]
            if not runs:
                continue
            label = "SB3 SAC (defaults)" if learner == "sb3" else learner
            steps, returns = _curve(runs, "return")
            line, = top.plot(steps, returns.mean(0), marker="o", markersize=3, label=label)
            top.fill_between(steps, returns.min(0), returns.max(0), alpha=0.12,
                             color=line.get_color())
            steps, metric = _curve(runs, "metric")
            bottom.plot(steps, metric.mean(0), marker="o", markersize=3, label=label,
                        color=line.get_color())
            bottom.fill_between(steps, metric.min(0), metric.max(0), alpha=0.12,
                                color=line.get_color())
            if "straight" in spec:
                steps, net = _curve(runs, "net_velocity")
                bottom.plot(steps, net.mean(0), linestyle="--", color=line.get_color())
        bottom.axhline(spec["threshold"], color="black", linewidth=0.8)
        top.set_title(f"{task}: deterministic evaluation return (mean, min-max over seeds)")
        straight = " (dashed: straight-line velocity)" if "straight" in spec else ""
        bottom.set_title(f"{task}: {spec['metric']}, threshold {spec['op']} "
                         f"{spec['threshold']}{straight}")
        bottom.set_xlabel("environment steps")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        top.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="a1,panda")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3 SAC")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1")
    parser.add_argument("--seed-list", help="comma-separated seeds instead of --seeds (e.g. "
                        "screening a change on the seeds that were slow)")
    parser.add_argument("--budget", type=int, default=50_000,
                        help="environment steps per run of our recipes (and of SB3 unless "
                        "--sb3-budget is given)")
    parser.add_argument("--sb3-budget", type=int,
                        help="environment steps per SB3 run (the 5x target needs 5x the best "
                        "recipe's steps; SAC at UTD 1 is cheap per step)")
    parser.add_argument("--eval-every", type=int, default=400)
    parser.add_argument("--panda-episodes", type=int, default=5)
    parser.add_argument("--a1-episodes", type=int, default=1,
                        help="deterministic episodes per A1 evaluation")
    parser.add_argument("--a1-config", default=str(ROOT / "robot_configs" / "a1.yaml"),
                        help="robot config of the a1 task")
    parser.add_argument("--panda-config", default=str(ROOT / "robot_configs" / "panda.yaml"),
                        help="robot config of the panda task")
    parser.add_argument("--warmup", type=int, help="override learner.warmup_steps (ours)")
    parser.add_argument("--utd", type=int,
                        help="override learner.utd of our recipes (default: each recipe's)")
    parser.add_argument("--hidden", help="override hidden widths (ours and SB3's), e.g. 64,64")
    parser.add_argument("--policy-delay", type=int,
                        help="override learner.policy_delay of our recipes: critic updates per "
                        "actor update (default: each recipe's)")
    parser.add_argument("--actor-ema", type=float,
                        help="override learner.actor_ema of our recipes (default: the config's "
                        "for its own recipe, 0 for the others)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                        help="override learner.precision of our recipes (default: the "
                        "config's)")
    parser.add_argument("--eval-ema", help="comma-separated rates: also evaluate, at every "
                        "evaluation, an exponential moving average of the actor's weights "
                        "updated by each rate after every actor update (history key "
                        "ema_<rate>; our recipes only; training is unchanged)")
    parser.add_argument("--stop-at-threshold", action="store_true",
                        help="stop a run at its first crossing (A1: of both thresholds); "
                        "it then reports no steps_to_held")
    parser.add_argument("--no-stop", action="store_true",
                        help="the default now (kept for older command lines)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "sample_efficiency.png"))
    parser.add_argument("--runs-file", help="append each finished run here (JSON lines) and "
                        "skip runs already in it: a long benchmark can be resumed (a run "
                        "stopped at its threshold is reused only under --stop-at-threshold)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tasks = [t for t in args.tasks.split(",") if t]
    try:
        recipes = recipe_names(args.recipes)
    except ValueError as e:
        parser.error(str(e))
    learners = recipes + ([] if args.no_sb3 else ["sb3"])
    options = {"budget": args.budget, "sb3_budget": args.sb3_budget or args.budget,
               "eval_every": args.eval_every, "threads": args.threads,
               "panda_episodes": args.panda_episodes, "a1_episodes": args.a1_episodes,
               "a1_config": args.a1_config, "panda_config": args.panda_config,
               "warmup": args.warmup, "utd": args.utd, "precision": args.precision,
               "policy_delay": args.policy_delay, "actor_ema": args.actor_ema,
               "eval_ema": [float(r) for r in args.eval_ema.split(",")] if args.eval_ema
               else None,
               "hidden": [int(h) for h in args.hidden.split(",")] if args.hidden else None,
               "stop_at_threshold": args.stop_at_threshold and not args.no_stop}
    try:
        seeds = ([int(x) for x in args.seed_list.split(",")] if args.seed_list
                 else list(range(args.seeds)))
    except ValueError:
        parser.error(f"--seed-list: expected comma-separated integers, got {args.seed_list!r}")
    jobs = [(t, learner, s) for t in tasks for learner in learners for s in seeds]
    runs: list[dict[str, Any]] = []
    runs_file = Path(args.runs_file) if args.runs_file else None
    if runs_file is not None and runs_file.is_file():
        for line in runs_file.read_text().splitlines():
            run = json.loads(line)
            key = (run["task"], run["learner"], run["seed"])
            run_budget = run.get("budget", options["budget"])
            same_budget = run_budget == budget_of(run["learner"], options)
            # a run stopped at its threshold cannot say whether learning held
            whole = bool(run["history"]) and run["history"][-1]["step"] >= run_budget
            if (key in jobs and same_budget and "error" not in run
                    and (whole or options["stop_at_threshold"])):
                run.setdefault("steps_to_held", held_step(run["task"], run["history"])
                               if whole else None)
                runs.append(run)
        done = {(r["task"], r["learner"], r["seed"]) for r in runs}
        jobs = [j for j in jobs if j not in done]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"),
                             initializer=quiet_stdout) as pool:
        futures = [pool.submit(run_one, t, learner, s, options) for t, learner, s in jobs]
        for future in futures:
            run = future.result()
            runs.append(run)
            if runs_file is not None:
                with runs_file.open("a") as f:
                    f.write(json.dumps(run) + "\n")
            if not args.json or "error" in run:
                straight = (f", in a straight line {run['steps_to_straight']}"
                            if "straight" in TASKS.get(run["task"], {}) else "")
                print(f"{run['task']} {run['learner']} seed {run['seed']}: steps to threshold "
                      f"{run['steps_to_threshold']}{straight}, held from "
                      f"{run['steps_to_held']} ({run['wall_s']} s) "
                      f"{run.get('error', '')}", file=sys.stderr)
    results = summarize(runs, tasks, learners, args.budget, args.sb3_budget)
    sb3_note = (f" (SB3 {args.sb3_budget})" if args.sb3_budget and "sb3" in learners else "")
    title = (f"{len(seeds)} seeds, budget {args.budget}{sb3_note} steps, "
             f"{machine_info(args.threads)['cpu']}")
    if args.plot:
        plot(results, Path(args.plot), title)
    print(json.dumps({"benchmark": "sample_efficiency", "machine": machine_info(args.threads),
                      "options": {**options, "seeds": len(seeds), "seed_list": seeds,
                                  "jobs": args.jobs},
                      "wall_s": round(time.perf_counter() - t0, 1), "plot": args.plot,
                      "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
