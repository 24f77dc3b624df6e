"""How often does the scripted push expert bring the block to the goal?

Runs :class:`sim_bridge.experts.PushExpert` on ``robot_configs/panda_push.yaml`` through
:func:`robot_rl.evaluate.evaluate` (the success rate ``robot-rl eval`` reports), beside the
policy that holds the nominal pose on the same episodes (the bar: no block starts at the goal).

    python benchmarks/push_expert.py --episodes 20 --json

Prints one JSON object: success_rate (the config's ``task.push.success`` at the last step),
final_distance (mean block-to-goal distance at the end, m), the same for the nominal policy,
steps_to_success (per episode: the first step at which the predicate held; null if never),
episodes, seed and wall_s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "robot_configs" / "panda_push.yaml"))
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=10_000, help="first episode's seed")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()

    from robot_rl.envs import RobotEnv
    from robot_rl.evaluate import evaluate, nominal_policy
    from sim_bridge.experts import PushExpert

    env = RobotEnv(args.config)
    expert = PushExpert(env.cfg)
    first: list[int | None] = []

    def act(obs: object) -> object:
        # the first step of each episode at which the success predicate held
        if env.control.episode_steps == 0:
            first.append(None)
        elif first[-1] is None and env.control.tasks[env.control.task](
                env.state, env.control.prev_action, None, 0.0)[2]["success"]:
            first[-1] = env.control.episode_steps
        return expert.act(env)

    start = time.monotonic()
    result = evaluate(act, env, args.episodes, seed=args.seed)  # type: ignore[arg-type]
    wall = time.monotonic() - start
    idle = evaluate(nominal_policy(env), env, args.episodes, seed=args.seed)
    env.close()
    out = {"success_rate": result.summary()["success_rate"],
           "final_distance": round(result.summary()["final_distance"], 4),
           "nominal_success_rate": idle.summary()["success_rate"],
           "nominal_final_distance": round(idle.summary()["final_distance"], 4),
           "steps_to_success": first, "episodes": args.episodes, "seed": args.seed,
           "episode_steps": env.cfg.task.episode_steps, "wall_s": round(wall, 1)}
    if not args.json:
        print(f"push expert: success {out['success_rate']:.2f} over {args.episodes} episodes, "
              f"final distance {out['final_distance']:.3f} m (nominal pose: "
              f"{out['nominal_final_distance']:.3f} m)", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
