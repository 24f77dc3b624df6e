"""Learning the push task from pixels: from scratch, with demonstrations, with demonstrations
and scripted interventions, with a learned reward (issue #15, item 6).

The task is ``robot_configs/panda_push.yaml`` (docs/pixels.md): the block is placed at random
and seen only through the ``front`` camera, so the config is turned into a pixel config
(``observation.images: [front]``, ``--frame-stack``, the camera ``--size`` px square) and
trained with the pixel learner (DrQ, docs/learner.md "Learning from pixels"). Per seed:

- ``scratch``: the pixel learner alone (``robot-rl train``'s :class:`~robot_rl.train.Trainer`);
- ``demos``: the same with ``--demos`` demonstrations of the scripted push expert, recorded
  with the frames (:func:`robot_rl.demos.record.record_scripted`, what ``robot-rl demos
  record --source scripted`` runs) and mixed into every minibatch (RLPD,
  ``learner.prior_data``);
- ``demos_interventions``: the same plus the scripted expert taking over when the policy
  strays (:func:`robot_rl.session.intervention_trainer`, what ``robot-rl train
  --interventions scripted`` builds);
- ``learned_reward``: as ``demos_interventions``, but the task's reward is a success
  classifier's verdict on the camera frame (``task.reward_model``, sparse 1 on success,
  ending the episode) instead of the sim's dense reward. The classifier is trained
  (:func:`robot_rl.reward_model.train.train_classifier`, what ``robot-rl reward train``
  runs) on the demonstrations' frames labelled by the sim's success predicate plus
  ``--reward-episodes`` episodes whose first 0-60 steps are random actions before the expert
  takes over (failures that look like the task); the demonstrations of this arm are
  recorded again on the config with the learned reward, so their rewards are its rewards.

Demonstrations, frames and the classifier are made once per seed and cached under
``--cache``. Every arm is evaluated deterministically every ``--eval-every`` steps on
``--eval-episodes`` episodes of a separate environment with the sim's reward (the same
episodes for every arm): ``success_rate`` is the share whose last step meets
``task.push.success`` (block within 5 cm of the goal), ``final_distance`` the block-to-goal
distance at the end (m).

    python benchmarks/pixels.py --json                                  # the issue's settings
    python benchmarks/pixels.py --size 32 --budget 1500 --eval-every 500 --seeds 2 \\
        --batch-size 128 --warmup 300 --json --plot pixels.png          # what a CPU allows
                                            # (docs/results/pixels_32_stack3_1500.md)

``--state-block`` is a diagnostic: no camera, and the block's position relative to the gripper
and the goal in the state (the privileged ``block_delta`` signal). What it cannot learn from
the block's true position, the pixel learner cannot learn from frames either
(docs/results/push_actions.md); ``--action-mode`` overrides ``robot.action_mode``.

Prints one JSON object keyed by arm (``scratch``, ``demos``, ``demos_interventions``,
``learned_reward``), each with ``success_rate`` (at the last evaluation, mean over seeds),
``steps_to_80`` (per seed: the first evaluation step with a success rate >= 0.8, null if
none), the history per seed and the arm's ``settings``; ``step_cost`` holds the wall and CPU
time of one training step with images and its parts (render, physics, act, update), and
``meta`` the machine and options. ``--plot`` draws the success rate against steps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import gather_runs, machine_info  # noqa: E402

ARMS = ["scratch", "demos", "demos_interventions", "learned_reward"]
SETTINGS = {  # what each arm adds to the pixel learner
    "scratch": {"prior_data": False, "interventions": False, "reward": "sim"},
    "demos": {"prior_data": True, "interventions": False, "reward": "sim"},
    "demos_interventions": {"prior_data": True, "interventions": True, "reward": "sim"},
    "learned_reward": {"prior_data": True, "interventions": True, "reward": "learned"},
}
TARGET = 0.8  # the success rate
DEMO_SEED, FRAMES_SEED, EVAL_SEED = 20_000, 30_000, 10_000  # + 100 * seed + episode


def pixel_config_data(args: dict[str, Any]) -> dict[str, Any]:
    """The push config as data, made a pixel config with the run's settings."""
    data = yaml.safe_load(Path(args["config"]).read_text())
    for cam in data["cameras"]:
        if cam["name"] == args["camera"] and args["size"]:
            cam.update(width=args["size"], height=args["size"])
    if args.get("action_mode"):
        data["robot"]["action_mode"] = args["action_mode"]
    obs = data["observation"]
    if args.get("state_block"):  # the diagnostic: the block in the state, no camera
        obs.update(signals=[*obs["signals"], "block_delta"], allow_privileged=True)
    else:
        obs.update(images=[args["camera"]], frame_stack=args["frame_stack"])
    learner = data.setdefault("learner", {})
    learner["buffer_size"] = args["buffer_size"] or max(args["budget"], 1)
    for key in ("batch_size", "utd", "warmup_steps", "recipe", "hidden", "precision"):
        if args[key] is not None:
            learner[key] = args[key]
    return data


def write_config(data: dict[str, Any], folder: Path, name: str) -> Any:
    """``data`` written to ``folder/name.yaml`` and loaded (paths resolve next to it)."""
    from robot_rl.config import load_config

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(str(path), warn=False)


def cache_dir(args: dict[str, Any], seed: int) -> Path:
    """Where the seed's demonstrations and classifier are kept for these settings (and
    this robot, task and cameras: a changed action mapping records new demonstrations)."""
    data = pixel_config_data(args)
    scene = {key: data.get(key) for key in ("robot", "task", "cameras", "observation")}
    digest = hashlib.sha256(json.dumps(scene, sort_keys=True).encode()).hexdigest()[:10]
    tag = (f"s{args['size']}_k{args['frame_stack']}_d{args['demos']}_r{args['reward_episodes']}"
           f"_{digest}")
    return Path(args["cache"]) / tag / f"seed{seed}"


class RandomThenExpert:
    """Uniformly random actions for the first ``steps`` steps of an episode, then the
    scripted expert (an :class:`~robot_rl.demos.experts.Expert`): near misses and failures
    with the gripper anywhere, for the classifier's negatives."""

    def __init__(self, expert: Any, rng: np.random.Generator, most: int = 60) -> None:
        self.expert, self.rng, self.most = expert, rng, most
        self.left = 0

    def reset(self) -> None:
        self.expert.reset()
        self.left = int(self.rng.integers(0, self.most + 1))

    def act(self, env: Any) -> np.ndarray:
        if self.left > 0:
            self.left -= 1
            return self.rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        return self.expert.act(env)


def frames_of(arrays: dict[str, np.ndarray],
              first_episode: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demonstrations' frames after each step ``(N, H, W, 3)`` (from the prior-data arrays
    with images), their success labels and episode ids (counted from ``first_episode``)."""
    images = arrays["next_frame"][:, -3:].transpose(0, 2, 3, 1)
    ends = np.logical_or(arrays["terminated"], arrays["truncated"])
    episode = first_episode + np.concatenate([[0], np.cumsum(ends)[:-1]]).astype(np.int64)
    return np.ascontiguousarray(images), arrays["success"].astype(bool), episode


def prepare(seed: int, args: dict[str, Any], arms: list[str]) -> dict[str, Any]:
    """The seed's demonstrations (and, for ``learned_reward``, the classifier and the
    demonstrations scored by it), cached; returns what was made and the classifier's
    held-out report."""
    torch.set_num_threads(args["threads"])
    from robot_rl.demos.experts import make_expert
    from robot_rl.demos.record import record_scripted
    from robot_rl.reward_model.classifier import save_model
    from robot_rl.reward_model.frames import load_frames, save_frames
    from robot_rl.reward_model.train import CHANNELS, train_classifier

    folder = cache_dir(args, seed)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"seed": seed}
    data = pixel_config_data(args)
    cfg = write_config(data, folder, "pixels")
    demos = folder / "demos.npz"
    if not demos.is_file() and any(SETTINGS[a]["prior_data"] for a in arms):
        log = record_scripted(cfg, args["demos"], seed=DEMO_SEED + 100 * seed)
        log.save(demos)
        out["demo_successes"] = int(sum(log.episode_success))
    if "learned_reward" in arms and not (folder / "model" / "model.json").is_file():
        extra = record_scripted(cfg, args["reward_episodes"], seed=FRAMES_SEED + 100 * seed,
                                expert=RandomThenExpert(make_expert(cfg),
                                                        np.random.default_rng(seed)))
        with np.load(demos) as own:  # the demos' frames, labelled by the sim
            parts = [frames_of(dict(own))]
        if args["reward_episodes"]:
            parts.append(frames_of(extra.arrays(), first_episode=int(parts[0][2].max()) + 1))
        save_frames(folder / "frames.npz", np.concatenate([p[0] for p in parts]),
                    np.concatenate([p[1] for p in parts]), args["camera"],
                    np.concatenate([p[2] for p in parts]))
        frames = load_frames(folder / "frames.npz")
        trained = train_classifier([frames], epochs=args["reward_epochs"], seed=seed)
        size = (int(frames.images.shape[1]), int(frames.images.shape[2]))
        save_model(folder / "model", trained.net, args["camera"], size, trained.threshold,
                   CHANNELS, {"metrics": {**trained.report, "threshold": trained.threshold}})
        learned = write_config(learned_data(data, folder), folder, "pixels_learned")
        log = record_scripted(learned, args["demos"], seed=DEMO_SEED + 100 * seed)
        log.save(folder / "demos_learned.npz")
        out["learned_demo_successes"] = int(sum(log.episode_success))
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out


def learned_data(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with the seed's classifier as the task's reward."""
    task = dict(data["task"])
    task["reward_model"] = {"path": str(folder / "model"), "camera": data["observation"][
        "images"][0], "reward": 1.0, "terminate": True}
    return {**data, "task": task}


def classifier_report(folder: Path) -> dict[str, Any]:
    """The held-out precision and recall of the seed's classifier (``model.json``)."""
    meta = json.loads((folder / "model" / "model.json").read_text())
    m = meta["metrics"]
    keep = ("precision", "recall", "accuracy", "tp", "fp", "fn", "tn")
    return {"threshold": meta["threshold"], "frames": m["frames"],
            "val_frames": m["val_frames"], "val_positives": m["val_positives"],
            "split_by": m["split_by"], "epochs": m["epochs"],
            "val_at_threshold": {k: m["val_at_threshold"][k] for k in keep},
            "val_at_0.5": {k: m["val_at_0.5"][k] for k in keep}}


def run_arm(arm: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """One arm and seed; a failure is reported in the result, not raised."""
    t0 = time.perf_counter()
    try:
        out = _run_arm(arm, seed, args)
    except Exception as err:  # noqa: BLE001 - reported in the JSON, the other runs go on
        out = {"steps_to_80": None, "history": [], "error": f"{type(err).__name__}: {err}"}
    return {"arm": arm, "seed": seed, **out, "wall_s": round(time.perf_counter() - t0, 1)}


def _run_arm(arm: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(args["threads"])
    from robot_rl.demos.interventions import InterventionRule
    from robot_rl.envs import RobotEnv
    from robot_rl.evaluate import evaluate
    from robot_rl.session import build, intervention_trainer
    from robot_rl.train import Trainer

    folder = cache_dir(args, seed)
    spec = SETTINGS[arm]
    data = pixel_config_data(args)
    eval_cfg = None
    with tempfile.TemporaryDirectory() as tmp:
        if spec["reward"] == "learned":
            eval_cfg = write_config(data, Path(tmp), "pixels")  # the sim's reward
            data = learned_data(data, folder)
        if spec["prior_data"]:
            name = "demos_learned.npz" if spec["reward"] == "learned" else "demos.npz"
            data["learner"]["prior_data"] = str(folder / name)
        cfg = write_config(data, Path(tmp), arm)
        eval_cfg = eval_cfg or cfg
        env, agent, buffer = build(cfg, seed)  # prior data read now
    rule = None
    if spec["interventions"]:
        rule = InterventionRule.for_task(cfg.task.kind, stray_steps=args["stray_steps"])
        trainer = intervention_trainer(cfg, env, agent, buffer, seed, None, False, rule)
    else:
        trainer = Trainer(env, agent, buffer, cfg.learner, seed=seed, progress=False)
    prior = getattr(trainer.buffer, "prior", None)
    prior_rows = len(prior) if prior is not None else 0
    eval_env = RobotEnv(eval_cfg, seed=seed + 1000)
    history: list[dict[str, Any]] = []

    def record(step: int) -> None:
        result = evaluate(lambda o: agent.act(o, deterministic=True), eval_env,
                          args["eval_episodes"], seed=EVAL_SEED + 100 * seed).summary()
        history.append({"step": step, "success_rate": round(result["success_rate"], 4),
                        "final_distance": round(result["final_distance"], 4),
                        "return": round(result["return"], 3)})

    train_cpu = 0.0
    try:
        if args["eval_at_start"]:
            record(0)
        while trainer.step < args["budget"]:
            c0 = time.process_time()
            trainer.train(min(args["budget"], trainer.step + args["eval_every"]))
            train_cpu += time.process_time() - c0
            record(trainer.step)
        learned_eval = None
        if spec["reward"] == "learned":  # does the classifier agree with the sim at the end?
            learned_eval = evaluate(lambda o: agent.act(o, deterministic=True), env,
                                    args["eval_episodes"], seed=EVAL_SEED + 100 * seed
                                    ).summary()
    finally:
        env.close()
        eval_env.close()
    online = trainer.buffer
    rewards = online.data["reward"][:len(online)]
    reached = next((p["step"] for p in history if p["success_rate"] >= TARGET), None)
    out: dict[str, Any] = {
        "steps_to_80": reached, "final_success_rate": history[-1]["success_rate"],
        "final_distance": history[-1]["final_distance"], "history": history,
        "prior_transitions": prior_rows,
        "prior_transitions_end": len(prior) if prior is not None else 0,
        "interventions": int(getattr(trainer, "interventions", 0)),
        "intervention_rate": round(getattr(trainer, "interventions", 0)
                                   / max(trainer.step, 1), 4),
        "episodes": trainer.episodes,
        "precision": cfg.learner.precision, "device": cfg.learner.device,
        "reward_model": cfg.task.reward_model is not None,
        "reward_values": {"min": round(float(rewards.min()), 4),
                          "max": round(float(rewards.max()), 4),
                          "binary": bool(np.all((rewards == 0) | (rewards == 1)))},
        "train_wall_s": round(trainer.wall_s, 1), "train_cpu_s": round(train_cpu, 1),
        "wall_ms_per_step": round(1000 * trainer.wall_s / max(trainer.step, 1), 2),
        "cpu_ms_per_step": round(1000 * train_cpu / max(trainer.step, 1), 2),
    }
    if rule is not None:
        out["rule"] = {"distance_key": rule.distance_key, "stray_steps": rule.stray_steps,
                       "takeover_steps": rule.takeover_steps}
    if learned_eval is not None:
        out["learned_eval"] = {k: round(learned_eval[k], 4) for k in
                               ("learned_success", "sim_success") if k in learned_eval}
    return out


def _median_ms(fn: Callable[[], object], n: int) -> dict[str, float]:
    """Median wall and CPU (this process) milliseconds of ``fn`` over ``n`` calls."""
    wall, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"wall": round(1000 * float(np.median(wall)), 2),
            "cpu": round(1000 * float(np.median(cpu)), 2)}


def step_cost(args: dict[str, Any]) -> dict[str, Any]:
    """Wall and CPU time of one training step with images and of its parts, medians over
    ``--timing-steps`` (the pixel config of the run's settings, sim reward, UTD as set)."""
    torch.set_num_threads(args["threads"])
    from robot_rl.envs import RobotEnv
    from robot_rl.session import build

    n = args["timing_steps"]
    with tempfile.TemporaryDirectory() as tmp:
        data = pixel_config_data(args)
        cfg = write_config(data, Path(tmp), "pixels")
        state_data = {**data, "observation": {**data["observation"], "images": [],
                                              "frame_stack": 1}}
        plain = RobotEnv(write_config(state_data, Path(tmp), "state"), seed=0)
        env, agent, buffer = build(cfg, seed=0)
    rng = np.random.default_rng(0)

    def action() -> np.ndarray:
        return rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)

    batch, utd = cfg.learner.batch_size, cfg.learner.utd
    try:
        plain.reset(seed=0)
        physics = _median_ms(lambda: plain.step(action()), n)
        obs, _ = env.reset(seed=0)
        render = _median_ms(env.render_frames, n)
        steps = []
        for _ in range(max(n, batch)):  # fill the replay for the updates
            a = action()
            t, c = time.perf_counter(), time.process_time()
            nxt, _, terminated, truncated, _ = env.step(a)
            steps.append((time.perf_counter() - t, time.process_time() - c))
            buffer.add(obs, a, 0.0, nxt, False, False)
            obs = nxt if not (terminated or truncated) else env.reset()[0]
        pixel_step = {"wall": round(1000 * float(np.median([s[0] for s in steps])), 2),
                      "cpu": round(1000 * float(np.median([s[1] for s in steps])), 2)}
        act = _median_ms(lambda: agent.act(obs), n)
        update = _median_ms(lambda: agent.update(buffer.sample(batch, utd)), n)
    finally:
        env.close()
        plain.close()
    parts = {"env_step_with_images": pixel_step, "render": render, "physics_step": physics,
             "act": act, "update": update}
    total = {k: round(pixel_step[k] + act[k] + update[k], 2) for k in ("wall", "cpu")}
    share = {name: round(parts[name]["cpu"] / max(total["cpu"], 1e-9), 3)
             for name in ("env_step_with_images", "render", "act", "update")}
    return {"frame": f"{cfg.cameras[0].width}x{cfg.cameras[0].height}",
            "frame_stack": cfg.observation.frame_stack, "batch": batch, "utd": utd,
            "precision": cfg.learner.precision, "steps": n, "ms": parts,
            "train_step_ms": total, "cpu_share": share,
            "dominant": max(("render", "update", "act"), key=lambda k: share[k]),
            "replay_bytes_per_transition": buffer.bytes_per_transition}


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def summarize(runs: list[dict[str, Any]], arms: list[str], args: dict[str, Any],
              classifiers: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per arm: final success rate (mean over seeds), steps to 80 % per seed, histories,
    the arm's settings and what it used (prior rows, interventions, the classifier)."""
    out: dict[str, Any] = {}
    for arm in arms:
        mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])
        good = [r for r in mine if "error" not in r]
        entry: dict[str, Any] = {
            "success_rate": _mean([r["final_success_rate"] for r in good]),
            "steps_to_80": [r["steps_to_80"] for r in mine],
            "reached_80": f"{sum(r['steps_to_80'] is not None for r in mine)}/{len(mine)}",
            "final_success_rate": [r.get("final_success_rate") for r in mine],
            "final_distance": [r.get("final_distance") for r in mine],
            "seeds": [r["seed"] for r in mine],
            "settings": arm_settings(arm, args),
            "prior_transitions": [r.get("prior_transitions") for r in mine],
            "interventions": [r.get("interventions") for r in mine],
            "intervention_rate": [r.get("intervention_rate") for r in mine],
            "reward_values": [r.get("reward_values") for r in mine],
            "wall_ms_per_step": [r.get("wall_ms_per_step") for r in mine],
            "cpu_ms_per_step": [r.get("cpu_ms_per_step") for r in mine],
            "history": [r["history"] for r in mine],
            "errors": [r["error"] for r in mine if "error" in r],
        }
        if SETTINGS[arm]["interventions"]:
            entry["rule"] = next((r["rule"] for r in good if "rule" in r), None)
        if SETTINGS[arm]["reward"] == "learned":
            entry["classifier"] = {str(s): classifiers[s] for s in entry["seeds"]
                                   if s in classifiers}
            entry["learned_eval"] = [r.get("learned_eval") for r in mine]
        out[arm] = entry
    return out


def arm_settings(arm: str, args: dict[str, Any]) -> dict[str, Any]:
    """What the arm trained with (recorded in the JSON)."""
    data = pixel_config_data(args)
    learner = data["learner"]
    spec = SETTINGS[arm]
    return {**spec, "demos": args["demos"] if spec["prior_data"] else 0,
            "stray_steps": args["stray_steps"] if spec["interventions"] else None,
            "reward_episodes": args["reward_episodes"] if spec["reward"] == "learned" else None,
            "budget": args["budget"], "camera": args["camera"],
            "frame": next(f"{c['width']}x{c['height']}" for c in data["cameras"]
                          if c["name"] == args["camera"]),
            "frame_stack": args["frame_stack"], "recipe": learner.get("recipe", "sac"),
            "action_mode": data["robot"].get("action_mode", "absolute"),
            "observation": "state + block_delta" if args.get("state_block") else "pixels",
            "batch_size": learner.get("batch_size", 256), "utd": learner.get("utd"),
            "warmup_steps": learner.get("warmup_steps", 1000),
            "hidden": learner.get("hidden", [256, 256]), "buffer_size": learner["buffer_size"],
            "prior_fraction": learner.get("prior_fraction", 0.5),
            "precision": learner.get("precision", "auto")}


def plot(results: dict[str, Any], path: Path, title: str) -> None:
    """Success rate (mean over seeds) and final block-to-goal distance against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    for arm, entry in results.items():
        runs = [h for h in entry["history"] if h]
        if not runs:
            continue
        steps = sorted({p["step"] for h in runs for p in h})
        for axis, key in ((ax, "success_rate"), (bx, "final_distance")):
            mean = [statistics.fmean([p[key] for h in runs for p in h if p["step"] == s])
                    for s in steps]
            axis.plot(steps, mean, marker="o", markersize=3, label=arm)
    ax.axhline(TARGET, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("success rate (mean over seeds)")
    bx.axhline(0.05, color="grey", linestyle="--", linewidth=1)
    bx.set_ylabel("final block-to-goal distance (m, mean)")
    for axis in (ax, bx):
        axis.set_xlabel("environment steps")
        axis.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class InlinePool:
    """``--jobs 0``: an executor that runs each job at once in this process."""

    def __enter__(self) -> InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future


def _quiet_stdout() -> None:
    """Worker start: C-level prints (PyBullet's banner) go to stderr, not the JSON."""
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def options(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """The command line, and the settings the workers get."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "robot_configs" / "panda_push.yaml"))
    p.add_argument("--camera", default="front", help="the camera the policy sees")
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=20_000, help="environment steps per run")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--eval-at-start", action="store_true", help="also evaluate at step 0")
    p.add_argument("--size", type=int, default=0,
                   help="camera width and height (px); 0: the config's (84)")
    p.add_argument("--frame-stack", type=int, default=3)
    p.add_argument("--batch-size", type=int, help="learner.batch_size (default: the config's)")
    p.add_argument("--utd", type=int, help="learner.utd (default: the recipe's)")
    p.add_argument("--warmup", type=int, help="learner.warmup_steps (default: the config's)")
    p.add_argument("--recipe", help="learner.recipe (default: the config's)")
    p.add_argument("--hidden", help="learner.hidden, comma-separated widths")
    p.add_argument("--precision", help="learner.precision (default: the config's, auto)")
    p.add_argument("--action-mode", choices=["absolute", "delta", "ee_delta"],
                   help="robot.action_mode (default: the config's, ee_delta)")
    p.add_argument("--state-block", action="store_true",
                   help="a diagnostic: no camera; the block's position relative to the "
                   "gripper and the goal is in the state (the privileged block_delta signal), "
                   "so the run measures the learning without the pixels")
    p.add_argument("--buffer-size", type=int, default=0, help="0: the budget")
    p.add_argument("--demos", type=int, default=20, help="expert demonstrations per seed")
    p.add_argument("--reward-episodes", type=int, default=10,
                   help="learned_reward: random-then-expert episodes added to the demos' "
                   "frames for the classifier")
    p.add_argument("--reward-epochs", type=int, default=20)
    p.add_argument("--stray-steps", type=int, default=5,
                   help="interventions: growing gripper-block distance on this many policy "
                   "steps in a row makes the expert take over")
    p.add_argument("--timing-steps", type=int, default=30,
                   help="steps of the step-cost measurement (0: skip it)")
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "robot_rl_pixels"),
                   help="where demonstrations and classifiers are kept (reused when present)")
    p.add_argument("--runs-file", help="append finished runs (JSON lines); skip those "
                   "already in it")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes; 0: everything in this process")
    p.add_argument("--plot", help="write the PNG here")
    p.add_argument("--json", action="store_true", help="print only the JSON object")
    a = p.parse_args(argv)
    arms = [x for x in a.arms.split(",") if x]
    unknown = [x for x in arms if x not in ARMS]
    if unknown:
        p.error(f"--arms: unknown {', '.join(unknown)}; expected some of {', '.join(ARMS)}")
    if a.state_block and "learned_reward" in arms:
        p.error("--state-block: expected --arms without learned_reward (its classifier "
                "needs the camera)")
    args: dict[str, Any] = {
        "config": a.config, "camera": a.camera, "budget": a.budget,
        "eval_every": a.eval_every, "eval_episodes": a.eval_episodes,
        "eval_at_start": a.eval_at_start, "size": a.size, "frame_stack": a.frame_stack,
        "batch_size": a.batch_size, "utd": a.utd, "warmup_steps": a.warmup,
        "recipe": a.recipe, "precision": a.precision, "action_mode": a.action_mode,
        "state_block": a.state_block,
        "hidden": [int(w) for w in a.hidden.split(",")] if a.hidden else None,
        "buffer_size": a.buffer_size, "demos": a.demos, "reward_episodes": a.reward_episodes,
        "reward_epochs": a.reward_epochs, "stray_steps": a.stray_steps,
        "timing_steps": 0 if a.state_block else a.timing_steps, "cache": a.cache, "threads": a.threads, "arms": arms}
    return a, args


def main(argv: list[str] | None = None) -> int:
    a, args = options(argv)
    arms = args["arms"]
    todo = [(arm, s) for s in range(a.seeds) for arm in arms]
    runs: list[dict[str, Any]] = []
    runs_file = Path(a.runs_file) if a.runs_file else None
    if runs_file is not None and runs_file.is_file():
        done = {(r["arm"], r["seed"]): r
                for r in map(json.loads, runs_file.read_text().splitlines())
                if "error" not in r}
        runs = [done[k] for k in todo if k in done]
        todo = [k for k in todo if k not in done]
    t0 = time.perf_counter()
    cost = None
    context = multiprocessing.get_context("spawn")
    with (ProcessPoolExecutor(a.jobs, mp_context=context, initializer=_quiet_stdout)
          if a.jobs > 0 else InlinePool()) as pool:
        if args["timing_steps"] > 0:
            cost = pool.submit(step_cost, args).result()
            if not a.json:
                print(f"step cost {json.dumps(cost)}", file=sys.stderr)
        seeds = sorted({s for _, s in todo})
        for future in as_completed([pool.submit(prepare, s, args, arms) for s in seeds]):
            if not a.json:
                print(f"prepared {future.result()}", file=sys.stderr)
        runs += gather_runs(
            [pool.submit(run_arm, *key, args) for key in todo], runs_file,
            lambda run: f"{run['arm']} seed {run['seed']}: success "
            f"{run.get('final_success_rate')}, steps to 80 % {run['steps_to_80']} "
            f"({run['wall_s']} s) {run.get('error', '')}", not a.json)
    classifiers = {s: classifier_report(cache_dir(args, s)) for s in range(a.seeds)
                   if "learned_reward" in arms
                   and (cache_dir(args, s) / "model" / "model.json").is_file()}
    results = summarize(runs, arms, args, classifiers)
    if a.plot:
        size = results[arms[0]]["settings"]["frame"]
        seen = ("the block in the state" if args["state_block"]
                else f"pixels ({size}, stack {args['frame_stack']})")
        plot(results, Path(a.plot), f"panda_push from {seen}, {a.seeds} seed(s), "
             f"{args['budget']} steps")
    meta = {"benchmark": "pixels", "machine": machine_info(args["threads"]),
            "options": {**args, "seeds": a.seeds, "jobs": a.jobs}, "target": TARGET,
            "wall_s": round(time.perf_counter() - t0, 1)}
    print(json.dumps({**results, "step_cost": cost, "meta": meta}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
