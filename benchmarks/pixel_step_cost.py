"""Wall time per environment step when the policy learns from pixels (embedded train).

The Panda reach config with one fixed camera (``--size`` px square, default 84) and
``observation.frame_stack`` k (default 3), batch ``--batch`` (128), UTD 1, one torch thread.
Median milliseconds over ``--steps`` steps of each part of a training step:

- ``physics_step_ms``: ``RobotEnv.step`` of the same config without images (the peer: what a
  step costs today);
- ``render_ms``: rendering the camera once (``RobotEnv.render_frames``, TinyRenderer);
- ``pixel_step_ms``: ``RobotEnv.step`` with images (physics + render + frame stack);
- ``act_ms``: ``SAC.act`` on one observation with pixels (the encoder on the CPU);
- ``update_ms``: one ``SAC.update`` (a critic, an actor and a temperature step) with pixels,
  sampling included; ``state_update_ms`` the same learner without images (the peer);
- ``train_step_ms``: the sum, what one step of ``robot-rl train`` takes.

Usage: ``python benchmarks/pixel_step_cost.py [--steps 30] [--size 84] [--stack 3] [--batch 128]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine_info  # noqa: E402
from robot_rl.config import load_config  # noqa: E402
from robot_rl.envs import RobotEnv  # noqa: E402
from robot_rl.sac import SAC, ReplayBuffer  # noqa: E402
from robot_rl.session import build  # noqa: E402


def median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(1000 * float(np.median(times)), 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--stack", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    data = yaml.safe_load((ROOT / "robot_configs" / "panda.yaml").read_text())
    data["cameras"] = [{"name": "front", "width": args.size, "height": args.size,
                        "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}]
    data["observation"].update(images=["front"], frame_stack=args.stack)
    data["task"]["reach"]["hindsight"] = 0
    data["learner"].update(buffer_size=2000, batch_size=args.batch, utd=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panda_pixels.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        cfg = load_config(str(path))
        env, agent, buffer = build(cfg, seed=0)
        plain = RobotEnv(str(ROOT / "robot_configs" / "panda.yaml"))
    rng = np.random.default_rng(0)

    def action() -> np.ndarray:
        return rng.uniform(-0.3, 0.3, 7).astype(np.float32)

    plain.reset(seed=0)
    physics = median_ms(lambda: plain.step(action()), args.steps)
    obs, _ = env.reset(seed=0)
    render = median_ms(env.render_frames, args.steps)
    steps: list[float] = []
    for _ in range(max(args.steps, args.batch)):  # fill the replay for the updates
        a = action()
        t = time.perf_counter()
        nxt, *_ = env.step(a)
        steps.append(time.perf_counter() - t)
        buffer.add(obs, a, 0.0, nxt, False, False)
        obs = nxt
    act = median_ms(lambda: agent.act(obs), args.steps)
    update = median_ms(lambda: agent.update(buffer.sample(args.batch, 1)), args.steps)
    state_dim = obs["state"].shape[0]
    state_agent = SAC(state_dim, 7, cfg.learner, seed=0)
    state_buffer = ReplayBuffer(state_dim, 7, 2000)
    for _ in range(args.batch):
        state_buffer.add(obs["state"], action(), 0.0, obs["state"], False, False)
    state_update = median_ms(lambda: state_agent.update(state_buffer.sample(args.batch, 1)),
                             args.steps)
    pixel_step = round(1000 * float(np.median(steps)), 2)
    env.close()
    plain.close()
    print(json.dumps({
        "benchmark": "pixels", "frame": f"{args.size}x{args.size}", "cameras": 1,
        "frame_stack": args.stack, "batch": args.batch, "utd": 1, "steps": args.steps,
        "machine": machine_info(1), "physics_step_ms": physics, "render_ms": render,
        "pixel_step_ms": pixel_step, "act_ms": act, "update_ms": update,
        "state_update_ms": state_update, "train_step_ms": round(pixel_step + act + update, 2),
        "replay_bytes_per_transition": buffer.bytes_per_transition}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
