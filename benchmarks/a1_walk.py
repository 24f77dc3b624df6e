"""How many environment steps until SAC makes the simulated A1 walk at >= 0.5 m/s?

Trains the embedded SAC learner on ``robot_configs/a1.yaml`` and evaluates one deterministic
episode every ``--eval-every`` steps. The forward velocity of an episode is its mean forward
speed over the whole time limit (steps after a fall count as standing still).

    python benchmarks/a1_walk.py --json                 # default budget
    python benchmarks/a1_walk.py --budget 5000 --json   # a quick look

Prints one JSON object: steps_to_threshold (the first evaluation at the threshold; null if
none), steps_to_held (the first evaluation from which every later one, itself included, is
at the threshold, at least 3 of them at the end of the budget; null otherwise),
budget_steps, wall_s, final_velocity (at the last evaluation), plus the evaluation history.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import steps_to_held  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "robot_configs" / "a1.yaml"))
    parser.add_argument("--budget", type=int, default=20_000, help="environment steps")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--threshold", type=float, default=0.5, help="m/s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--utd", type=int, help="override learner.utd")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from robot_rl.config import load_config
    from robot_rl.evaluate import evaluate
    from robot_rl.session import build
    from robot_rl.train import Trainer

    cfg = load_config(args.config)
    if args.utd is not None:
        cfg.learner.utd = args.utd
    env, agent, buffer = build(cfg, args.seed)
    eval_env, _, _ = build(cfg, args.seed + 1)
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=args.seed, progress=not args.json)
    history: list[dict[str, float]] = []
    reached = None
    t0 = time.perf_counter()
    while trainer.step < args.budget:
        trainer.train(min(args.budget, trainer.step + args.eval_every))
        result = evaluate(lambda o: agent.act(o, deterministic=True), eval_env, 1)
        velocity = result.summary()["forward_velocity"]
        history.append({"step": trainer.step, "forward_velocity": round(velocity, 4),
                        "return": round(result.mean_return, 2)})
        if not args.json:
            print(f"step {trainer.step}: forward velocity {velocity:.3f} m/s", file=sys.stderr)
        if reached is None and velocity >= args.threshold:
            reached = trainer.step
    out = {
        "benchmark": "a1_walk", "config": Path(args.config).name, "seed": args.seed,
        "utd": cfg.learner.utd, "threshold_m_per_s": args.threshold,
        "steps_to_threshold": reached,
        "steps_to_held": steps_to_held(
            history, lambda p: p["forward_velocity"] >= args.threshold),
        "budget_steps": args.budget,
        "wall_s": round(time.perf_counter() - t0, 1),
        "final_velocity": history[-1]["forward_velocity"] if history else None,
        "best_velocity": max((h["forward_velocity"] for h in history), default=None),
        "history": history,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
