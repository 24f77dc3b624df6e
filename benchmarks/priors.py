"""Steps on a shifted robot to the task threshold (held), per way of using what a simulator
taught: issue #16's comparison of prior knowledge.

The *simulator* is the robot config as shipped; the *real robot* is the same config with the
shift of :data:`common.SHIFTS` (``sim.dynamics`` and latency; docs/configs.md). For each task
and seed a **sim prior** is made first and cached under ``--cache``: the config's learner
trained ``--sim-steps`` steps on the simulator (``sim_agent.pt``, the sim-optimal policy as
far as that budget gets), and ``--data-episodes`` episodes of that policy acting
stochastically on the simulator, saved in the prior-data format (``sim_data.npz``). Then
each arm trains (or not) on the shifted robot for ``--budget`` steps, evaluated
deterministically every ``--eval-every`` steps on a separate shifted environment:

- ``scratch``: the config's learner from nothing;
- ``direct_transfer``: the sim policy as it is, no learning (evaluated ``held_run`` times
  with different episode seeds: held from step 0 or never);
- ``finetune``: actor and critics initialised from the sim agent (``train --init``);
- ``offline_to_online``: IQL on the sim data (``robot-rl pretrain --method iql``), then
  online with the sim data mixed into every batch (RLPD, ``learner.prior_data``);
- ``bc``, ``posterior_bc``: the actor cloned from the sim data (``pretrain --method bc``
  or ``posterior_bc``), critics from scratch, or with ``--bc-critic-steps N`` warmed up
  on the sim data with the clone fixed (``pretrain --critic-steps N``);
- ``exploration``: ``--explore-policies`` K diverse exploration policies learned in the
  simulator (``robot-rl explore train``: SAC + a novelty bonus, ``--explore-steps`` steps
  each, ``--explore-beta``; docs/explore.md; cached with the sim prior, under
  ``explore/``), run stochastically for ``--collect-episodes`` episodes on the shifted
  robot (``robot-rl explore collect``; default ``--data-episodes``), then the config's
  learner from nothing with that data mixed into every batch (RLPD,
  ``learner.prior_data``). **The collection runs on the shifted robot, so its steps count
  against the arm's ``--budget``**: SAC trains for the budget minus them, and the
  arm's first evaluation is at the step where collection ended.

The initialised arms skip the random warm-up (``learner.warmup_steps: 0``: the prior acts
from the first step), and so does ``exploration`` (its batches hold prior data from the
first update on, as in RLPD). ``steps_to_held`` is :func:`common.steps_to_held` on the task's
threshold (Panda: final distance <= 2 cm; A1: straight-line speed >= 0.5 m/s).

    python benchmarks/priors.py --tasks panda --seeds 3 --jobs 2 --json
    python benchmarks/priors.py --tasks panda --seeds 1 --budget 200 --sim-steps 200 \\
        --data-episodes 2 --pretrain-steps 50 --eval-every 100 --json    # a smoke run

Prints one JSON object keyed by task (``a1``, ``panda``), then by arm, each with
``steps_to_held`` per seed (null if not reached), ``median_steps_to_held`` and the final
metric per seed; ``meta`` holds the machine, options and shifts. ``--plot`` draws the median
metric per arm against steps.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHIFTS, gather_runs, machine_info, shifted, steps_to_held  # noqa: E402

ARMS = ["scratch", "direct_transfer", "finetune", "exploration", "offline_to_online", "bc",
        "posterior_bc"]
TASKS = {
    "panda": {"config": "panda.yaml", "metric": "final_distance", "op": "<=",
              "threshold": 0.02},
    "a1": {"config": "a1.yaml", "metric": "net_velocity", "op": ">=", "threshold": 0.5},
}
HELD_RUN = 3  # evaluations over the threshold, to the end, that make it "held"
PRETRAIN = {"offline_to_online": "iql", "bc": "bc", "posterior_bc": "posterior_bc"}


def ok(task: str, value: float) -> bool:
    """Whether ``value`` of the task's metric meets its threshold."""
    spec = TASKS[task]
    return value >= spec["threshold"] if spec["op"] == ">=" else value <= spec["threshold"]


def task_config(task: str, shift: bool, folder: Path) -> Any:
    """The task's shipped config (``shift``: with :data:`SHIFTS` applied), loaded from a
    copy written to ``folder``."""
    from robot_rl.config import load_config

    data = yaml.safe_load((ROOT / "robot_configs" / TASKS[task]["config"]).read_text())
    if shift:
        data = shifted(data, task)
    path = folder / f"{task}-{'shifted' if shift else 'sim'}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(path, warn=False)


def _episodes(task: str, args: dict[str, Any]) -> int:
    return int(args["panda_episodes"] if task == "panda" else args["a1_episodes"])


def _evaluate(task: str, policy: Any, env: Any, args: dict[str, Any], seed: int) -> float:
    from robot_rl.evaluate import evaluate

    summary = evaluate(policy, env, _episodes(task, args), seed=seed).summary()
    return round(float(summary[TASKS[task]["metric"]]), 4)


def prepare(task: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """The sim prior of ``task`` and ``seed`` (cached): the sim agent and the sim data."""
    torch.set_num_threads(args["threads"])
    from robot_rl.session import build
    from robot_rl.train import Trainer

    folder = Path(args["cache"]) / f"{task}-seed{seed}"
    agent_path, data_path = folder / "sim_agent.pt", folder / "sim_data.npz"
    if agent_path.is_file() and data_path.is_file():
        return {"task": task, "seed": seed, "cached": True}
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = task_config(task, False, Path(tmp))
        env, agent, buffer = build(cfg, seed)
        Trainer(env, agent, buffer, cfg.learner, seed=seed, progress=False).train(
            args["sim_steps"])
        torch.save(agent.state_dict(), agent_path)
        rows: dict[str, list[Any]] = {k: [] for k in ("obs", "action", "reward", "next_obs",
                                                      "terminated", "truncated")}
        for episode in range(args["data_episodes"]):
            obs, _ = env.reset(seed=50_000 + 100 * seed + episode)
            while True:
                action = agent.act(obs)  # stochastic: the data covers more than one path
                next_obs, reward, terminated, truncated, _ = env.step(action)
                for key, value in zip(rows, (obs, action, reward, next_obs, terminated,
                                             truncated), strict=True):
                    rows[key].append(value)
                obs = next_obs
                if terminated or truncated:
                    break
        env.close()
    np.savez(data_path, **{k: np.asarray(v, np.float32) for k, v in rows.items()})
    return {"task": task, "seed": seed, "cached": False,
            "wall_s": round(time.perf_counter() - t0, 1)}


def prepare_exploration(task: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """The exploration policies of ``task`` and ``seed`` (cached): ``robot-rl explore train``
    on the simulator, a local Ray instance of ``--threads`` CPUs shared by the K actors."""
    torch.set_num_threads(args["threads"])
    from robot_rl.explore.pool import ExploreSettings, train_explorers
    from robot_rl.explore.store import META, save_explorers

    folder = Path(args["cache"]) / f"{task}-seed{seed}" / "explore"
    if (folder / META).is_file():
        return {"task": task, "seed": seed, "explore_cached": True}
    t0 = time.perf_counter()
    settings = ExploreSettings(policies=args["explore_policies"],
                               steps=args["explore_steps"] or args["sim_steps"],
                               beta=args["explore_beta"], rounds=args["explore_rounds"],
                               seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = task_config(task, False, Path(tmp))
        states, report = train_explorers(cfg, settings, num_cpus=args["threads"],
                                         log=lambda line: None)
        save_explorers(folder, cfg, states, report)
    return {"task": task, "seed": seed, "explore_cached": False,
            "coverage": report["coverage"], "wall_s": round(time.perf_counter() - t0, 1)}


def run_arm(task: str, arm: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """One arm on the shifted robot; a failure is reported in the result, not raised."""
    t0 = time.perf_counter()
    try:
        out = _run_arm(task, arm, seed, args)
    except Exception as err:  # noqa: BLE001 - reported in the JSON, the other runs go on
        out = {"steps_to_held": None, "history": [], "error": f"{type(err).__name__}: {err}"}
    return {"task": task, "arm": arm, "seed": seed, **out,
            "wall_s": round(time.perf_counter() - t0, 1)}


def _run_arm(task: str, arm: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(args["threads"])
    from robot_rl.envs import RobotEnv
    from robot_rl.pretrain import make_learner
    from robot_rl.sac.prior import load_transitions
    from robot_rl.sac.warmstart import init_from
    from robot_rl.session import build
    from robot_rl.train import Trainer

    folder = Path(args["cache"]) / f"{task}-seed{seed}"
    collected = 0  # steps the exploration policies spent on the shifted robot
    with tempfile.TemporaryDirectory() as tmp:
        cfg = task_config(task, True, Path(tmp))
        if arm != "scratch":
            cfg.learner.warmup_steps = 0  # the prior acts from the first step
        if arm == "offline_to_online":
            cfg.learner.prior_data = str(folder / "sim_data.npz")
        if arm == "exploration":
            from robot_rl.explore.collect import collect

            data = collect(folder / "explore", cfg,
                           args["collect_episodes"] or args["data_episodes"],
                           Path(tmp) / "explore_data.npz", seed=60_000 + 100 * seed)
            collected = int(data["transitions"])
            cfg.learner.prior_data = data["out"]
        env, agent, buffer = build(cfg, seed)  # prior data read now, before tmp goes
    eval_env = RobotEnv(cfg, seed=seed + 1000)
    history: list[dict[str, Any]] = []

    def record(step: int, eval_seed: int) -> None:
        value = _evaluate(task, lambda o: agent.act(o, deterministic=True), eval_env, args,
                          eval_seed)
        history.append({"step": step, "metric": value})

    try:
        if arm in ("direct_transfer", "finetune"):
            init_from(agent, folder / "sim_agent.pt")
        elif arm in PRETRAIN:
            data = load_transitions(folder / "sim_data.npz", agent.obs_dim, agent.act_dim)
            warm = args["bc_critic_steps"] if arm in ("bc", "posterior_bc") else 0
            learner = make_learner(PRETRAIN[arm], agent, data, args["pretrain_steps"], seed,
                                   critic_steps=warm)
            while learner.steps < learner.total_steps:
                learner.step()
        if arm == "direct_transfer":
            for i in range(HELD_RUN):  # the same policy; other episodes each time
                record(0, 10_000 + 100 * seed + 17 * i)
        else:
            record(collected, 10_000 + 100 * seed)
            trainer = Trainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
            budget = args["budget"] - collected  # collection spent the rest
            while trainer.step < budget:
                trainer.train(min(budget, trainer.step + args["eval_every"]))
                record(collected + trainer.step, 10_000 + 100 * seed)
    finally:
        env.close()
        eval_env.close()
    held = steps_to_held(history, lambda p: ok(task, p["metric"]), HELD_RUN)
    return {"steps_to_held": held, "final_metric": history[-1]["metric"], "history": history}


def _median(values: list[int | None]) -> float | None:
    """Median over seeds; a run that never held counts as more than the budget."""
    ranked = [v if v is not None else float("inf") for v in values]
    median = statistics.median(ranked) if ranked else float("inf")
    return None if median == float("inf") else median


def summarize(runs: list[dict[str, Any]], tasks: list[str], arms: list[str]
              ) -> dict[str, Any]:
    """Per task and arm: steps to held per seed, median, count, final metric per seed."""
    out: dict[str, Any] = {}
    for task in tasks:
        out[task] = {}
        for arm in arms:
            mine = sorted((r for r in runs if r["task"] == task and r["arm"] == arm),
                          key=lambda r: r["seed"])
            held = [r["steps_to_held"] for r in mine]
            entry = {"steps_to_held": held, "median_steps_to_held": _median(held),
                     "held": f"{sum(h is not None for h in held)}/{len(held)}",
                     "final_metric": [r.get("final_metric") for r in mine],
                     "history": [r["history"] for r in mine],
                     "errors": [r["error"] for r in mine if "error" in r]}
            if any("not_implemented" in r for r in mine):
                entry["not_implemented"] = mine[0]["not_implemented"]
            out[task][arm] = entry
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    """Median metric against steps on the shifted robot, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.5),
                             squeeze=False)
    for ax, (task, arms) in zip(axes[0], results.items(), strict=True):
        for arm, entry in arms.items():
            runs = [h for h in entry["history"] if h]
            if not runs:
                continue
            steps = sorted({p["step"] for h in runs for p in h})
            median = [statistics.median([p["metric"] for h in runs for p in h
                                         if p["step"] == s]) for s in steps]
            ax.plot(steps, median, marker="o", markersize=3, label=arm)
        ax.axhline(TASKS[task]["threshold"], color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{task} (shifted robot)")
        ax.set_xlabel("environment steps on the shifted robot")
        ax.set_ylabel(f"{TASKS[task]['metric']} (median over seeds)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _quiet_stdout() -> None:
    """Worker start: C-level prints (PyBullet's banner) go to stderr, not the JSON."""
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="panda,a1", help="comma-separated: panda, a1")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=6000,
                        help="environment steps on the shifted robot per run")
    parser.add_argument("--sim-steps", type=int, default=6000,
                        help="environment steps of the sim prior's training")
    parser.add_argument("--data-episodes", type=int, default=20,
                        help="episodes of the sim policy saved as prior data")
    parser.add_argument("--collect-episodes", type=int, default=0,
                        help="exploration arm: episodes the exploration policies run on the "
                        "shifted robot, counted against --budget (default: --data-episodes)")
    parser.add_argument("--pretrain-steps", type=int, default=5000,
                        help="gradient steps of IQL / BC on the sim data")
    parser.add_argument("--bc-critic-steps", type=int, default=0,
                        help="bc, posterior_bc: critic warm-up updates on the sim data after "
                        "the cloning (pretrain --critic-steps; default 0: critics from scratch)")
    parser.add_argument("--explore-policies", type=int, default=4,
                        help="exploration arm: K policies learned in the simulator")
    parser.add_argument("--explore-steps", type=int, default=0,
                        help="exploration arm: steps per policy (default: --sim-steps)")
    parser.add_argument("--explore-beta", type=float, default=1.0,
                        help="exploration arm: weight of the novelty bonus")
    parser.add_argument("--explore-rounds", type=int, default=5,
                        help="exploration arm: rounds between descriptor exchanges")
    parser.add_argument("--eval-every", type=int, default=600)
    parser.add_argument("--panda-episodes", type=int, default=5)
    parser.add_argument("--a1-episodes", type=int, default=1)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "robot_rl_priors"),
                        help="where sim priors are kept (reused when present)")
    parser.add_argument("--runs-file", help="append finished runs (JSON lines); skip those "
                        "already in it")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--plot", help="write the PNG here")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    a = parser.parse_args()
    tasks = [t for t in a.tasks.split(",") if t]
    arms = [x for x in a.arms.split(",") if x]
    for name, known, given in (("--tasks", TASKS, tasks), ("--arms", ARMS, arms)):
        unknown = [x for x in given if x not in known]
        if unknown:
            parser.error(f"{name}: unknown {', '.join(unknown)}; expected some of "
                         f"{', '.join(known)}")
    args: dict[str, Any] = {k: getattr(a, k) for k in (
        "budget", "sim_steps", "data_episodes", "collect_episodes", "pretrain_steps",
        "bc_critic_steps", "eval_every",
        "panda_episodes", "a1_episodes", "cache", "threads", "explore_policies",
        "explore_steps", "explore_beta", "explore_rounds")}
    todo = [(t, arm, s) for t in tasks for s in range(a.seeds) for arm in arms]
    runs: list[dict[str, Any]] = []
    runs_file = Path(a.runs_file) if a.runs_file else None
    if runs_file is not None and runs_file.is_file():
        done = {(r["task"], r["arm"], r["seed"]): r
                for r in map(json.loads, runs_file.read_text().splitlines())
                if "error" not in r}
        runs = [done[k] for k in todo if k in done]
        todo = [k for k in todo if k not in done]
    t0 = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(a.jobs, 1), mp_context=context,
                             initializer=_quiet_stdout) as pool:
        # the sim agent and its data: for every arm but scratch and exploration
        need_prior = any(arm not in ("scratch", "exploration") for arm in arms)
        priors = [pool.submit(prepare, t, s, args) for t in tasks for s in range(a.seeds)
                  if need_prior]
        if "exploration" in arms:
            priors += [pool.submit(prepare_exploration, t, s, args) for t in tasks
                       for s in range(a.seeds)]
        for future in as_completed(priors):
            prior = future.result()
            if not a.json:
                print(f"sim prior {prior}", file=sys.stderr)
        runs += gather_runs(
            [pool.submit(run_arm, *key, args) for key in todo], runs_file,
            lambda run: f"{run['task']} {run['arm']} seed {run['seed']}: held from "
            f"{run['steps_to_held']}, final {run.get('final_metric')} "
            f"({run['wall_s']} s) {run.get('error', '')}", not a.json)
    results = summarize(runs, tasks, arms)
    if a.plot:
        plot(results, Path(a.plot))
    meta = {"benchmark": "priors", "machine": machine_info(a.threads),
            "options": {**args, "tasks": tasks, "arms": arms, "seeds": a.seeds,
                        "jobs": a.jobs, "held_run": HELD_RUN},
            "thresholds": {t: TASKS[t] for t in tasks},
            "shifts": {t: SHIFTS[t] for t in tasks}, "wall_s": round(time.perf_counter() - t0, 1)}
    print(json.dumps({**results, "meta": meta}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
