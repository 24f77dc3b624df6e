"""APRL against fixed narrow limits and the unrestricted joint range: A1 walking in PyBullet.

Three arms, the same step budget and seeds, the embedded SAC learner of robot_configs/a1.yaml:

* ``aprl``: the config's ``aprl`` section made active: the action box is
  ``range_factor x action_scale`` (clamped to the hard limits), the limit L on it rises from
  ``l_min`` (0.25: the Walk in the Park box) to ``l_max`` and shrinks on surprise or a fall;
  the dynamics model trains alongside SAC (one update per actor update);
* ``fixed``: a1.yaml as is: targets within nominal +/- [0.2, 0.4, 0.4] rad (hip, thigh, calf),
  "A Walk in the Park";
* ``unrestricted``: the wide box (``range_factor x action_scale``, clamped to the hard
  limits) without APRL.

Per run: ``falls`` during training (episodes ended by a tilt beyond 30 degrees or a fall, as
in Walk in the Park; ``hard_falls`` counts only the simulator's fall test), ``final_velocity``
(mean forward velocity of ``--final-episodes`` deterministic episodes after training, over
the whole time limit), ``steps_to_threshold`` (first evaluation every ``--eval-every`` steps
with a forward velocity >= ``--threshold``; null if never), ``steps_to_held`` (the first
evaluation from which every later one, itself included, is at the threshold, at least 3 of
them at the end of the budget; null otherwise). APRL is evaluated through a copy
of its gate (the L and model of the moment: on a robot the gate is always on).

    python benchmarks/aprl.py --json                              # the full run (long)
    python benchmarks/aprl.py --budget 3000 --seeds 2 --ramp-steps 2000 --json   # a look

Prints one JSON object keyed by arm; each holds means over seeds with the per-seed values
beside them, the budget, and (``aprl``) the shrink counts and the ratios the target is about.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, steps_to_held  # noqa: E402

ARMS = ("aprl", "fixed", "unrestricted")


def arm_config(arm: str, opts: dict[str, Any]) -> Any:
    """The robot config of one arm."""
    from robot_rl.config import load_config, to_dict

    cfg = load_config(opts["config"])
    section = dict(to_dict(cfg.aprl) or {})  # the typed section as YAML data, to override
    factor = float(section.get("range_factor", 4.0))
    if opts.get("warmup") is not None:
        cfg.learner.warmup_steps = opts["warmup"]
    if arm == "aprl":
        section["active"] = True
        if opts.get("ramp_steps") is not None:
            section["ramp_steps"] = opts["ramp_steps"]
        section.update(opts.get("aprl_overrides") or {})
        cfg.aprl = section
        cfg.aprl_settings()  # validates the changed section
    else:
        cfg.aprl = None
        if arm == "unrestricted":
            cfg.robot.action_scale = [factor * s for s in cfg.robot.action_scale]
    return cfg


def run_one(arm: str, seed: int, opts: dict[str, Any]) -> dict[str, Any]:
    """Train one arm on one seed; falls, evaluations and (APRL) shrinks."""
    # pybullet prints on stdout when it connects: send that to stderr, keep stdout for JSON
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    torch.set_num_threads(opts["threads"])
    from robot_rl.envs import RobotEnv
    from robot_rl.evaluate import evaluate
    from robot_rl.session import build
    from robot_rl.train import Trainer
    from robot_rl.train_aprl import AprlEnv, AprlTrainer

    cfg = arm_config(arm, opts)
    env, agent, buffer = build(cfg, seed)
    base = AprlTrainer if isinstance(env, AprlEnv) else Trainer

    class CountingTrainer(base):  # type: ignore[valid-type, misc]
        """Counts terminations (tilt or fall) and the simulator's falls in training."""

        n_falls = n_hard_falls = 0

        def _store(self, obs: Any, action: Any, reward: float, next_obs: Any,
                   terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
            super()._store(obs, action, reward, next_obs, terminated, truncated, info)
            self.n_falls += int(bool(terminated))
            self.n_hard_falls += int(bool(info.get("fallen", False)))

    trainer = CountingTrainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
    robot_eval = RobotEnv(cfg, seed=seed + 10_000)

    def eval_env() -> Any:
        if isinstance(env, AprlEnv):
            return AprlEnv(robot_eval, copy.deepcopy(env.gate), env.unwrapped.limit)
        return robot_eval

    def velocity(episodes: int) -> tuple[float, float]:
        """Forward velocity along the heading and straight-line (net) velocity."""
        summary = evaluate(lambda o: agent.act(o, deterministic=True), eval_env(), episodes,
                           seed=20_000 + seed).summary()
        return float(summary["forward_velocity"]), float(summary["net_velocity"])

    history, reached = [], None
    t0 = time.perf_counter()
    while trainer.step < opts["budget"]:
        trainer.train(min(opts["budget"], trainer.step + opts["eval_every"]))
        v, net = velocity(1)
        history.append({"step": trainer.step, "forward_velocity": round(v, 4),
                        "net_velocity": round(net, 4)})
        if reached is None and v >= opts["threshold"]:
            reached = trainer.step
    final, final_net = velocity(opts["final_episodes"])
    out: dict[str, Any] = {
        "arm": arm, "seed": seed, "falls": trainer.n_falls, "hard_falls": trainer.n_hard_falls,
        "final_velocity": round(final, 4), "final_net_velocity": round(final_net, 4),
        "steps_to_threshold": reached,
        "steps_to_held": steps_to_held(
            history, lambda p: p["forward_velocity"] >= opts["threshold"]),
        "episodes": trainer.episodes, "wall_s": round(time.perf_counter() - t0, 1),
        "history": history,
    }
    if isinstance(env, AprlEnv):
        events = list(env.gate.limits.events)
        out.update(shrinks_surprise=sum(e.reason == "surprise" for e in events),
                   shrinks_fall=sum(e.reason == "fall" for e in events),
                   final_L=round(float(env.gate.limits.L.mean()), 4),
                   model_version=env.gate.model_version)
    env.close()
    robot_eval.close()
    return out


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known else None


def summarize(runs: list[dict[str, Any]], opts: dict[str, Any]) -> dict[str, Any]:
    """One object per arm: means over seeds and the per-seed values beside them."""
    out: dict[str, Any] = {}
    for arm in opts["arms"]:
        mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])
        if not mine:
            continue
        entry: dict[str, Any] = {"budget_steps": opts["budget"],
                                 "seeds": [r["seed"] for r in mine]}
        keys = ["falls", "hard_falls", "final_velocity", "final_net_velocity",
                "steps_to_threshold", "steps_to_held"]
        if arm == "aprl":
            keys += ["shrinks_surprise", "shrinks_fall", "final_L"]
        for key in keys:
            per_seed = [r.get(key) for r in mine]
            entry[key] = _mean(per_seed)
            entry[f"{key}_per_seed"] = per_seed
        entry["reached_threshold"] = sum(r["steps_to_threshold"] is not None for r in mine)
        entry["held_threshold"] = sum(r.get("steps_to_held") is not None for r in mine)
        entry["wall_s_per_seed"] = [r["wall_s"] for r in mine]
        entry["history_per_seed"] = [r["history"] for r in mine]
        out[arm] = entry
    if "aprl" in out:
        a = out["aprl"]
        if "unrestricted" in out and out["unrestricted"]["falls"] is not None:
            a["falls_ratio_unrestricted_over_aprl"] = (
                round(out["unrestricted"]["falls"] / a["falls"], 3) if a["falls"] else None)
        if "fixed" in out:
            a["velocity_minus_fixed"] = round(a["final_velocity"]
                                              - out["fixed"]["final_velocity"], 4)
    return out


def _key_value(item: str, parser: argparse.ArgumentParser) -> tuple[str, Any]:
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        parser.error(f"--aprl-set: expected KEY=VALUE, got {item!r}")
    return key, yaml.safe_load(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "robot_configs" / "a1.yaml"))
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=80_000,
                        help="environment steps per run (APRL paper: 80k on the Go1)")
    parser.add_argument("--eval-every", type=int, default=2000)
    parser.add_argument("--final-episodes", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.5, help="m/s")
    parser.add_argument("--ramp-steps", type=int,
                        help="override aprl.ramp_steps (the config's 30,000 by default)")
    parser.add_argument("--warmup", type=int, help="override learner.warmup_steps")
    parser.add_argument("--aprl-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the aprl section (YAML value), repeatable, "
                             "e.g. --aprl-set shrink_on_fall=false")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    opts = {"config": args.config, "arms": [a for a in args.arms.split(",") if a],
            "budget": args.budget, "eval_every": args.eval_every,
            "final_episodes": args.final_episodes, "threshold": args.threshold,
            "ramp_steps": args.ramp_steps, "warmup": args.warmup, "threads": args.threads,
            "aprl_overrides": dict(_key_value(item, parser) for item in args.aprl_set)}
    unknown = set(opts["arms"]) - set(ARMS)
    if unknown:
        parser.error(f"unknown arms {sorted(unknown)}; expected some of {ARMS}")
    jobs = [(arm, seed) for seed in range(args.seeds) for arm in opts["arms"]]
    runs: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        for future in [pool.submit(run_one, arm, seed, opts) for arm, seed in jobs]:
            run = future.result()
            runs.append(run)
            # progress on stderr in every mode (stdout is the JSON alone)
            print(f"[{len(runs)}/{len(jobs)}] {run['arm']} seed {run['seed']}: falls "
                  f"{run['falls']}, final velocity {run['final_velocity']} m/s along the "
                  f"heading, {run['final_net_velocity']} m/s in a straight line, steps to "
                  f"threshold {run['steps_to_threshold']} ({run['wall_s']} s)",
                  file=sys.stderr, flush=True)
    results = summarize(runs, opts)
    for entry in results.values():
        entry["options"] = {k: v for k, v in opts.items() if k not in ("arms", "threads")}
        entry["machine"] = machine_info(args.threads)
        entry["total_wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
