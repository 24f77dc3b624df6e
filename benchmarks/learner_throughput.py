"""Critic updates per second of each SAC recipe against Stable-Baselines3 SAC, same sizes.

A1-sized problem: observation 45, action 12, hidden (256, 256), batch 256. One "update" is
one critic gradient step (what UTD counts); each recipe's actor updates (one per
``policy_delay`` critic updates) are included in its time, and so is replay sampling.
Stable-Baselines3 SAC (one critic + one actor step per gradient step, its own replay
sampling) is measured in the same run, interleaved in rounds with ours so machine load hits
both alike; each rate is the median over rounds.

    python benchmarks/learner_throughput.py --json --threads 1
    python benchmarks/learner_throughput.py --profile          # where one update's time goes

Prints one JSON object: updates_per_s per recipe, sb3_updates_per_s, ratio_vs_sb3,
matmul_gflops (measured fp32 [1024x1024] matmul rate), useful_gflop_per_update (matmul
FLOPs of one critic update incl. its share of the actor update, counted by
torch.utils.flop_counter) and useful_flops_fraction = achieved useful FLOP/s / matmul rate.
``cpu_time`` repeats the rates per CPU second of this process, which on a shared machine
discounts the time other processes take from ours (with --threads 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import count_flops, machine_info, matmul_gflops, rate, recipe_names  # noqa: E402

OBS, ACT, HIDDEN, BATCH = 45, 12, [256, 256], 256
RECIPES = ["sac", "droq", "redq", "crossq", "crossq_wn"]


def random_transitions(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"obs": rng.normal(size=(n, OBS)), "action": rng.uniform(-1, 1, (n, ACT)),
            "reward": rng.normal(size=n), "next_obs": rng.normal(size=(n, OBS)),
            "terminated": rng.random(n) < 0.01, "truncated": np.zeros(n)}


class Ours:
    """One recipe of our learner with a filled replay buffer."""

    def __init__(self, recipe: str, args: argparse.Namespace) -> None:
        from robot_rl.config import LearnerConfig
        from robot_rl.sac import SAC, ReplayBuffer

        self.cfg = LearnerConfig(recipe=recipe, hidden=HIDDEN, batch_size=BATCH,
                                 compile=args.compile, precision=args.precision,
                                 device=args.device, fused=not args.no_fused)
        self.agent = SAC(OBS, ACT, self.cfg, seed=0)
        self.buffer = ReplayBuffer(OBS, ACT, 20_000, seed=0)
        self.buffer.add_batch(random_transitions(20_000))
        # a call covers whole actor periods: max(utd, policy_delay) critic updates
        self.k = max(int(self.cfg.utd or 1), int(self.cfg.policy_delay or 1))
        self.step()  # warm-up (and compilation)

    def step(self) -> int:
        self.agent.update(self.buffer.sample(BATCH, self.k))
        return self.k

    def flops_per_update(self) -> float:
        return count_flops(self.step) / self.k


class SB3:
    """Stable-Baselines3 SAC with the same sizes, default settings otherwise."""

    def __init__(self, args: argparse.Namespace) -> None:
        import gymnasium as gym
        from stable_baselines3 import SAC as SB3SAC
        from stable_baselines3.common.logger import Logger

        class Sized(gym.Env):
            observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS,), np.float32)
            action_space = gym.spaces.Box(-1.0, 1.0, (ACT,), np.float32)

        self.model = SB3SAC("MlpPolicy", Sized(), batch_size=BATCH, device="cpu", seed=0,
                            buffer_size=20_000, policy_kwargs={"net_arch": HIDDEN})
        self.model.set_logger(Logger(None, []))  # configure() would make a /tmp/SB3-* folder
        data = random_transitions(20_000)
        rb = self.model.replay_buffer
        n = len(data["reward"])
        rb.observations[:n, 0] = data["obs"]
        rb.next_observations[:n, 0] = data["next_obs"]
        rb.actions[:n, 0] = data["action"]
        rb.rewards[:n, 0] = data["reward"]
        rb.dones[:n, 0] = data["terminated"]
        rb.pos, rb.full = 0, True
        self.k = 10
        self.step()

    def step(self) -> int:
        self.model.train(gradient_steps=self.k, batch_size=BATCH)
        return self.k

    def flops_per_update(self) -> float:
        return count_flops(self.step) / self.k


def profile(learner: Ours, calls: int = 2) -> dict[str, float]:
    """Share of one update's CPU time per kind of operation (torch profiler)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    kinds = {"matmul": ("bmm", "baddbmm", "addmm", "mm", "matmul", "linear"),
             "random": ("random_", "randn", "normal_", "bernoulli", "randperm"),
             "optimizer": ("adam", "lerp"),
             "normalization": ("layer_norm", "var_mean", "batch_norm")}
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            learner.step()
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        if not event.key.startswith("aten::") and "fused_adam" not in event.key:
            continue
        name = event.key.removeprefix("aten::").lower()
        kind = next((k for k, names in kinds.items() if any(n in name for n in names)),
                    "elementwise and other")
        totals[kind] = totals.get(kind, 0.0) + event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0
    return {k: round(v / whole, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="measuring time per learner per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3")
    parser.add_argument("--compile", action="store_true", help="learner.compile: true")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="fp32",
                        help="learner.precision (bf16 falls back to fp32 where the CPU lacks "
                             "native bf16 matmuls; the JSON says what ran)")
    parser.add_argument("--bf16", dest="precision", action="store_const", const="bf16",
                        help="the same as --precision bf16")
    parser.add_argument("--device", default="cpu", help="learner.device (auto, cpu, cuda)")
    parser.add_argument("--no-fused", action="store_true", help="learner.fused: false")
    parser.add_argument("--profile", action="store_true",
                        help="add the share of update time per kind of operation")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def log(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr)

    try:
        recipes = recipe_names(args.recipes)
    except ValueError as e:
        parser.error(str(e))
    learners: dict[str, Ours | SB3] = {r: Ours(r, args) for r in recipes}
    if not args.no_sb3:
        learners["sb3"] = SB3(args)
    machine = machine_info(args.threads)
    mm_wall, mm_cpu = matmul_gflops()
    log(f"matmul: {mm_wall:.1f} GFLOP/s fp32 ({mm_cpu:.1f} per CPU second)")
    wall: dict[str, list[float]] = {name: [] for name in learners}
    cpu: dict[str, list[float]] = {name: [] for name in learners}
    for i in range(args.rounds):
        for name, learner in learners.items():
            w, c = rate(learner.step, args.seconds)
            wall[name].append(w)
            cpu[name].append(c)
            log(f"round {i + 1}: {name}: {w:.1f} updates/s ({c:.1f} per CPU second)")
    mm_wall2, mm_cpu2 = matmul_gflops()  # before and after: the better of the two
    mm_wall, mm_cpu = max(mm_wall, mm_wall2), max(mm_cpu, mm_cpu2)
    per_s = {name: statistics.median(values) for name, values in wall.items()}
    per_cpu_s = {name: statistics.median(values) for name, values in cpu.items()}
    flops = {name: learner.flops_per_update() for name, learner in learners.items()}
    sb3, sb3_cpu = per_s.pop("sb3", None), per_cpu_s.pop("sb3", None)

    def fraction(name: str, rates: dict[str, float], ref: float | None, mm: float) -> float:
        achieved = rates[name] if name in rates else (ref or 0.0)
        return round(flops[name] * achieved / 1e9 / mm, 3)

    out: dict[str, object] = {
        "benchmark": "learner_throughput", "machine": machine,
        "sizes": {"obs": OBS, "act": ACT, "hidden": HIDDEN, "batch": BATCH},
        "options": {"compile": args.compile, "precision": args.precision,
                    "device": args.device, "fused": not args.no_fused},
        # what ran: the resolved device and precision of each recipe's learner
        "precision": {r: learners[r].agent.precision for r in recipes},  # type: ignore[union-attr]
        "device": {r: str(learners[r].agent.device) for r in recipes},  # type: ignore[union-attr]
        "matmul_gflops": round(mm_wall, 1),
        "updates_per_s": {r: round(v, 1) for r, v in per_s.items()},
        "sb3_updates_per_s": round(sb3, 1) if sb3 is not None else None,
        "ratio_vs_sb3": {r: round(v / sb3, 2) for r, v in per_s.items()} if sb3 else None,
        "utd": {r: learners[r].cfg.utd for r in recipes},  # type: ignore[union-attr]
        "useful_gflop_per_update": {n: round(f / 1e9, 4) for n, f in flops.items()},
        "useful_flops_fraction": {n: fraction(n, per_s, sb3, mm_wall) for n in flops},
        # the same, per CPU second of this process: robust to other load on shared cores
        "cpu_time": {
            "matmul_gflops": round(mm_cpu, 1),
            "updates_per_s": {r: round(v, 1) for r, v in per_cpu_s.items()},
            "sb3_updates_per_s": round(sb3_cpu, 1) if sb3_cpu is not None else None,
            "ratio_vs_sb3": ({r: round(v / sb3_cpu, 2) for r, v in per_cpu_s.items()}
                             if sb3_cpu else None),
            "useful_flops_fraction": {n: fraction(n, per_cpu_s, sb3_cpu, mm_cpu)
                                      for n in flops},
        },
        "rounds": {n: [round(v, 1) for v in vs] for n, vs in wall.items()},
        "load_avg_1m_end": machine_info(args.threads)["load_avg_1m"],
    }
    if args.profile:
        out["time_share"] = {r: profile(learners[r]) for r in recipes}  # type: ignore[arg-type]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
