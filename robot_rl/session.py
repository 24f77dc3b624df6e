"""What ``robot-rl train`` and ``robot-rl eval`` do, as functions (the CLI stays thin)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from robot_rl.config import RobotConfig, load_config
from robot_rl.demos.experts import make_expert
from robot_rl.demos.interventions import (
    InterventionRule,
    InterventionTrainer,
    ScriptedPerson,
    with_demo_buffer,
)
from robot_rl.envs import RobotEnv
from robot_rl.envs.task_env import TaskEnv
from robot_rl.errors import ConfigError
from robot_rl.evaluate import EvalResult, evaluate, nominal_policy
from robot_rl.runs import RunDir, plot_aprl, plot_learning_curve, plot_task_timeline
from robot_rl.sac import SAC, ReplayBuffer, make_pixel_replay, make_replay
from robot_rl.sac.device import resolve_learner, restore_agent
from robot_rl.sac.multitask import MultiTaskReplayBuffer
from robot_rl.sac.pixel_buffer import PixelReplayBuffer
from robot_rl.sac.warmstart import init_from
from robot_rl.spaces import frame_channels, pixels_shape
from robot_rl.train import Trainer
from robot_rl.train_aprl import AprlEnv, AprlTrainer, attach_aprl
from robot_rl.train_tasks import TaskEvalResult, TaskTrainer, evaluate_tasks


def build(cfg: RobotConfig, seed: int) -> tuple[RobotEnv, SAC, ReplayBuffer]:
    """The environment, learner and replay buffer for a config.

    With ``task_graph.enabled`` a :class:`TaskEnv` (task one-hot in the observation) and a
    :class:`MultiTaskReplayBuffer` (every task's reward, relabeled at sample time).

    ``cfg.learner``'s ``device`` and ``precision`` are resolved in place first (``auto`` ->
    what this machine runs, :func:`robot_rl.sac.device.resolve_learner`): the config a run
    directory records afterwards says what was picked.

    Raises:
        ConfigError: e.g. ``learner.device: cuda`` where torch sees no CUDA device.
    """
    cfg.learner = resolve_learner(cfg.learner, cfg.source)
    aprl = cfg.aprl_settings()
    aprl = aprl if aprl is not None and aprl.active else None
    settings = cfg.task_graph_settings()
    if settings is not None and settings.enabled:
        if aprl is not None:
            raise ConfigError(cfg.source, "aprl.active", "expected false with "
                              "task_graph.enabled (APRL is not wired into task graphs yet)")
        if cfg.learner.prior_data is not None:
            raise ConfigError(cfg.source, "learner.prior_data", "expected null with "
                              "task_graph.enabled (prior data has no per-task rewards)")
        task_env = TaskEnv(cfg, seed=seed)
        obs_dim = task_env.observation_space.shape[0]
        act_dim = task_env.action_space.shape[0]
        agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
        replay = MultiTaskReplayBuffer(obs_dim, act_dim, cfg.learner.buffer_size,
                                       task_env.num_tasks, relabel=task_env.graph.relabel,
                                       action_factor=task_env.action_factor, seed=seed)
        return task_env, agent, replay
    env = RobotEnv(cfg, seed=seed)
    act_dim = env.action_space.shape[0]
    if cfg.observation.images:  # DrQ (docs/learner.md "Learning from pixels")
        agent, frames = pixel_learner(cfg, env.observation_space["state"].shape[0], act_dim,
                                      seed)
        return env, agent, frames
    obs_dim = env.observation_space.shape[0]
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
    # plain replay, or replay mixed with learner.prior_data (RLPD), resolved next to the config
    config_dir = Path(cfg.source).parent if cfg.source else None
    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed, config_dir)
    if aprl is not None:  # the gate wraps the robot, the dynamics model joins SAC
        env, agent = attach_aprl(cfg, env, agent, seed, aprl)  # type: ignore[assignment]
    return env, agent, buffer


def pixel_learner(cfg: RobotConfig, obs_dim: int, act_dim: int,
                  seed: int) -> tuple[SAC, PixelReplayBuffer]:
    """SAC with the image encoder and the replay of uint8 frames for ``cfg``'s
    ``observation.images`` (DrQ; docs/learner.md "Learning from pixels"): what the embedded
    trainer and the distributed learner both train with. With ``learner.prior_data`` (frames
    included: demonstrations recorded with images) the replay is an RLPD mix.

    Raises:
        ConfigError: the replay would not fit in memory (:func:`check_replay_memory`), or
            the prior data is missing, malformed or of other frames.
    """
    shape, frame = pixels_shape(cfg), frame_channels(cfg)
    assert shape is not None, "pixel_learner needs observation.images"
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed, pixels_shape=shape)
    check_replay_memory(cfg, PixelReplayBuffer.transition_bytes(obs_dim, act_dim, shape, frame))
    # learner.prior_data (RLPD) with frames, resolved next to the config
    config_dir = Path(cfg.source).parent if cfg.source else None
    buffer = make_pixel_replay(cfg.learner, obs_dim, act_dim, shape, frame, seed, config_dir)
    return agent, buffer


def check_replay_memory(cfg: RobotConfig, transition_bytes: int) -> None:
    """Refuses a replay of images that would not fit in this machine's memory (with a
    fifth to spare), naming ``learner.buffer_size`` and what would fit.

    Raises:
        ConfigError: ``learner.buffer_size`` x ``transition_bytes`` too large.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    fits = int(0.8 * total) // transition_bytes
    if cfg.learner.buffer_size > fits:
        raise ConfigError(cfg.source, "learner.buffer_size", f"expected at most {fits} "
                          f"transitions with these images ({transition_bytes} bytes each, "
                          f"{total / 2**30:.0f} GiB of memory here), got "
                          f"{cfg.learner.buffer_size}")


def eval_env(cfg: RobotConfig, env: Any, seed: int) -> RobotEnv | AprlEnv:
    """A new environment to evaluate what trains in ``env`` on, so that evaluating never
    resets or steps the training environment (the trainer continues its running episode).
    An APRL run's policy acts behind a copy of the training gate (its limit L)."""
    fresh = RobotEnv(cfg, seed=seed)
    if isinstance(env, AprlEnv):
        settings = cfg.aprl_settings()
        assert settings is not None
        return AprlEnv(fresh, copy.deepcopy(env.gate), settings.range_factor)
    return fresh


def evaluate_with_nominal(agent: Any, cfg: RobotConfig, env: Any, seed: int, episodes: int,
                          video: Path | str | None = None, eval_seed: int = 10_000,
                          nominal: bool = True) -> tuple[EvalResult, EvalResult | None]:
    """The deterministic policy of ``agent`` and, for comparison (with ``nominal``), the
    nominal-pose policy (action 0: the robot holds ``robot.nominal``), each on the same
    ``episodes`` episodes of new environments (``env``, the training one, is left alone),
    the first reset with ``eval_seed``."""
    policy_env = eval_env(cfg, env, seed)
    try:
        result = evaluate(lambda o: agent.act(o, deterministic=True), policy_env, episodes,
                          seed=eval_seed, video=video)
    finally:
        policy_env.close()
    if not nominal:
        return result, None
    plain = RobotEnv(cfg, seed=seed)  # action 0 holds the nominal pose with any limit L
    try:
        baseline = evaluate(nominal_policy(plain), plain, episodes, seed=eval_seed)
    finally:
        plain.close()
    return result, baseline


def open_run(run_dir: str | Path) -> tuple[RunDir, RobotConfig]:
    """An existing run directory and its resolved config."""
    run = RunDir(run_dir)
    if not run.config_path.is_file():
        inner = run.path / "learner"  # `robot-rl launch sim` keeps its learner's run there
        hint = (f"; the learner's run of this session is {inner}"
                if (inner / "config.yaml").is_file() else "")
        raise ConfigError(str(run_dir), "<run>", "expected a run directory with config.yaml "
                          f"(written by `robot-rl train`){hint}")
    return run, load_config(run.config_path)


_GRAPH_MODES: tuple[Literal["reset_free", "episodic"], ...] = ("reset_free", "episodic")


def enable_task_graph(cfg: RobotConfig, mode: str) -> None:
    """Turn on ``cfg``'s task graph in ``mode`` (``reset_free`` or ``episodic``)."""
    if cfg.task_graph is None:
        raise ConfigError(cfg.source, "task_graph", "expected a task_graph section to train "
                          "with --task-graph (docs/task_graph.md)")
    chosen = next((m for m in _GRAPH_MODES if m == mode), None)
    if chosen is None:
        raise ConfigError(cfg.source, "task_graph.mode", f"expected one of {list(_GRAPH_MODES)}, "
                          f"got {mode!r}")
    cfg.task_graph = dataclasses.replace(cfg.task_graph, enabled=True, mode=chosen)
    cfg.task_graph_settings()  # validates the graph in the new mode


def init_checkpoint(path: str) -> Path:
    """The ``agent.pt`` that ``train --init PATH`` starts from: ``PATH`` itself, the
    ``agent.pt`` of a checkpoint folder, or that of a run directory's newest checkpoint.

    Raises:
        ConfigError: none of these (names the path and what was expected).
    """
    p = Path(path)
    if p.is_dir() and not (p / "agent.pt").is_file() and (p / "checkpoints").is_dir():
        latest = RunDir(p).latest_checkpoint()
        if latest is None:
            raise ConfigError(path, "--init", "expected a run directory with at least one "
                              "checkpoint")
        p = latest
    if p.is_dir():
        p = p / "agent.pt"
    if not p.is_file():
        raise ConfigError(path, "--init", "expected an agent.pt, a checkpoint folder or a run "
                          "directory written by robot-rl train or pretrain")
    return p


def train_session(config: str | None, steps: int | None, seed: int, out: str,
                  resume: str | None, video: bool = True, progress: bool = True,
                  task_graph: str | None = None, init: str | None = None,
                  interventions: str | None = None) -> int:
    """Train (or resume) a run; print where its results are. Returns an exit status.

    ``interventions`` (``scripted``) lets the task's scripted expert take over when the policy
    strays (:mod:`robot_rl.demos.interventions`; pass it again when resuming).

    ``task_graph`` (``reset_free`` or ``episodic``) turns on the config's task graph.
    ``init`` (a run directory, checkpoint folder or ``agent.pt``) gives a new run its
    starting actor and critics (:func:`robot_rl.sac.warmstart.init_from`).
    """
    if resume is not None:
        run, cfg = open_run(resume)
        checkpoint = run.latest_checkpoint()
        if checkpoint is None:
            raise ConfigError(resume, "checkpoints", "expected at least one checkpoint to resume")
        if (checkpoint / PRETRAIN_STATE).is_file():
            raise ConfigError(resume, "--resume", "expected a training run; this is a "
                              "pretraining run: fine-tune it with robot-rl train CONFIG --init "
                              f"{resume}")
        if trained_realtime(checkpoint):
            raise ConfigError(resume, "--realtime", "expected --realtime to resume this run: "
                              "its checkpoints are a learner's (of train --realtime or robot-rl "
                              "learner, which resumes it too: robot-rl learner --resume)")
        check_more_steps(resume, checkpoint, steps, cfg.train.steps)
        graph = cfg.task_graph
        trained = graph.mode if graph is not None and graph.enabled else None
        if task_graph is not None and task_graph != trained:
            how = f"in task graph mode {trained}" if trained else "without a task graph"
            raise ConfigError(resume, "--task-graph", f"expected {trained or 'no'} "
                              f"--task-graph: a run resumes as it trained ({how})")
    else:
        assert config is not None
        cfg = load_config(config)
        if task_graph is not None:
            enable_task_graph(cfg, task_graph)
    # everything that can refuse the config (prior data, URDF, APRL) before a run directory
    env, agent, buffer = build(cfg, seed)
    if init is not None:
        start = init_checkpoint(init)
        init_from(getattr(agent, "sac", agent), start)  # an AprlAgent's SAC is .sac
        print(f"actor and critics from {start}", file=sys.stderr)
        if cfg.learner.warmup_steps > 0:
            print(f"note: the first {cfg.learner.warmup_steps} steps (learner.warmup_steps) "
                  "act uniformly at random, not with the initial policy; set "
                  "learner.warmup_steps: 0 to act with it from the first step", file=sys.stderr)
    if resume is None:
        run, checkpoint = RunDir.create(out, cfg.name), None
        run.write_config(cfg)
    total = steps if steps is not None else cfg.train.steps
    trainer_class: type[Trainer] = TaskTrainer if isinstance(env, TaskEnv) else Trainer
    if isinstance(env, AprlEnv):
        trainer_class = AprlTrainer
    if interventions is not None:
        trainer = intervention_trainer(cfg, env, agent, buffer, seed, run, progress)
    else:
        trainer = trainer_class(env, agent, buffer, cfg.learner, seed=seed, run=run,
                                log_every=cfg.train.log_every,
                                checkpoint_every=cfg.train.checkpoint_every, progress=progress)
    if checkpoint is not None:
        trainer.load(checkpoint)
        print(f"resuming {run.path} from step {trainer.step}", file=sys.stderr)
    print(f"run directory: {run.path}", file=sys.stderr)
    try:
        summary = trainer.train(total)
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {trainer.step}: checkpoint saved in {run.checkpoints}; "
              f"continue with: robot-rl train --resume {run.path}", file=sys.stderr)
        trainer.close()
        plot_learning_curve(run, f"{cfg.name}: SAC")
        if isinstance(env, AprlEnv):
            plot_aprl(run, f"{cfg.name}: APRL limits")
        if isinstance(env, TaskEnv):
            plot_task_timeline(run, f"{cfg.name}: task timeline")
        return 130
    if isinstance(env, TaskEnv):
        return _finish_task_run(cfg, run, trainer, env, summary, video)

    def log_eval(values: dict[str, float]) -> None:
        trainer.logger.log(trainer.step, "eval", values)  # type: ignore[union-attr]
        trainer.close()

    return finish_run(cfg, run, agent, env, seed, trainer.step, log_eval, video,
                      done=f"done: {summary['steps']} steps, {summary['episodes']} episodes, "
                      f"{summary['steps_per_s']:.1f} steps/s",
                      aprl_plot=isinstance(env, AprlEnv))


def intervention_trainer(cfg: RobotConfig, env: Any, agent: Any, buffer: ReplayBuffer,
                         seed: int, run: RunDir | None, progress: bool,
                         rule: InterventionRule | None = None) -> Trainer:
    """The embedded trainer with the task's scripted expert intervening (HIL-SERL style),
    by ``rule`` (default: :meth:`InterventionRule.for_task` of the config's task).

    Raises:
        ConfigError: with a task graph or APRL, or for a task without a scripted expert.
    """
    if not isinstance(env, RobotEnv) or isinstance(env, TaskEnv):
        raise ConfigError(cfg.source, "--interventions", "expected neither task_graph.enabled "
                          "nor aprl.active with it (interventions drive the plain task)")
    person = ScriptedPerson(make_expert(cfg), rule or InterventionRule.for_task(cfg.task.kind))
    return InterventionTrainer(env, agent, with_demo_buffer(buffer, cfg.learner, seed),
                               cfg.learner, person, seed=seed, run=run,
                               log_every=cfg.train.log_every,
                               checkpoint_every=cfg.train.checkpoint_every, progress=progress)


def finish_run(cfg: RobotConfig, run: RunDir, agent: Any, env: Any, seed: int, step: int,
               log_eval: Callable[[dict[str, float]], None], video: bool, done: str,
               aprl_plot: bool = False) -> int:
    """The end of a training run: the deterministic evaluation of ``agent`` beside the
    nominal-pose policy (filmed to ``eval.mp4`` with ``video``), handed to ``log_eval`` (which
    logs it as the ``eval`` row at ``step`` and closes the run's metrics), the learning curve
    (and, with ``aprl_plot``, the APRL limits) plotted, ``env`` closed; prints ``done`` and
    where everything is. Returns the exit status (0)."""
    result, nominal = evaluate_with_nominal(agent, cfg, env, seed, cfg.train.eval_episodes,
                                            video=run.path / "eval.mp4" if video else None)
    assert nominal is not None
    log_eval({**result.summary(), "nominal_return": nominal.mean_return})
    plot = plot_learning_curve(run, f"{cfg.name}: SAC, {step} steps")
    limits = plot_aprl(run, f"{cfg.name}: APRL, {step} steps") if aprl_plot else None
    env.close()
    print(f"\n{done}", file=sys.stderr)
    _print_eval(result.summary(), cfg.train.eval_episodes, nominal.summary())
    print(f"run directory:  {run.path}")
    print(f"learning curve: {plot}")
    if limits is not None:
        print(f"APRL limits:    {limits}")
    if result.video is not None:
        print(f"video:          {result.video}")
    print(f"metrics:        {run.path / 'metrics.jsonl'} (tensorboard --logdir {run.path / 'tb'})")
    return 0


PRETRAIN_STATE = "pretrain.json"
"""The file that marks a checkpoint written by ``robot-rl pretrain`` (robot_rl.pretrain)."""

REALTIME_STATE = "learner.json"
"""The counters file of a learner's checkpoint (``train --realtime``, ``robot-rl learner``);
the embedded trainer's is ``trainer.json``."""


def trained_realtime(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` was written by the learner of ``train --realtime`` (or of
    ``robot-rl learner``) rather than by the embedded trainer: each resumes only its own."""
    return (checkpoint / REALTIME_STATE).is_file() and not (checkpoint / "trainer.json").is_file()


def check_learner_checkpoint(run_dir: str | Path, checkpoint: Path | None) -> None:
    """Refuses a learner's resume (``robot-rl learner --resume``, ``robot-rl node learner
    --run-dir``) from a run whose newest checkpoint another command wrote, before anything is
    written into that run.

    Raises:
        ConfigError: If ``checkpoint`` is the embedded trainer's or a pretraining run's.
    """
    if checkpoint is None or trained_realtime(checkpoint):
        return
    if (checkpoint / PRETRAIN_STATE).is_file():
        how = "a pretraining run: fine-tune it with robot-rl train CONFIG --init RUN_DIR"
    else:
        how = "a run of robot-rl train: continue it with robot-rl train --resume RUN_DIR"
    raise ConfigError(str(run_dir), "<run>", "expected a learner's run (robot-rl learner or "
                      f"train --realtime); this is {how}")


def _finish_task_run(cfg: RobotConfig, run: RunDir, trainer: Trainer, env: TaskEnv,
                     summary: dict[str, float], video: bool) -> int:
    """Evaluate every task, log and plot a task-graph run; print where its results are."""
    agent = trainer.agent
    results = evaluate_tasks(lambda o: agent.act(o, deterministic=True), cfg,
                             cfg.train.eval_episodes,
                             video=run.path / "eval.mp4" if video else None)
    for index, result in enumerate(results.values()):
        trainer.logger.log(trainer.step, "task_eval",  # type: ignore[union-attr]
                           {"task": index, **result.summary()})
    trainer.close()
    plot = plot_learning_curve(run, f"{cfg.name}: SAC, {trainer.step} steps")
    timeline = plot_task_timeline(run, f"{cfg.name}: {env.graph.mode}, {trainer.step} steps")
    env.close()
    print(f"\ndone: {summary['steps']} steps, {summary['episodes']} task runs, "
          f"{summary['steps_per_s']:.1f} steps/s, {env.scheduler.switches} switches, "
          f"{env.manual_resets} manual resets", file=sys.stderr)
    _print_task_eval(results, cfg.train.eval_episodes)
    print(f"run directory:  {run.path}")
    print(f"learning curve: {plot}")
    print(f"task timeline:  {timeline}")
    filmed = next((r.video for r in results.values() if r.video is not None), None)
    if filmed is not None:
        print(f"video:          {filmed}")
    print(f"metrics:        {run.path / 'metrics.jsonl'} (tensorboard --logdir {run.path / 'tb'})")
    return 0


def eval_session(run_dir: str, episodes: int, seed: int, video: str | None,
                 as_json: bool = False) -> int:
    """Evaluate a run's newest checkpoint deterministically; print the mean return.

    With ``as_json`` stdout gets exactly one JSON object, ``{"mean_return",
    "forward_velocity", "net_velocity", "final_distance", "success_rate", "nominal_return",
    "episodes", "steps", "train_wall_s"}`` (velocities in m/s, null for a robot that does not
    walk; ``net_velocity`` is the straight-line one; ``final_distance`` in m, null for a robot
    that does not reach or push (push: block to goal); ``success_rate`` the fraction of
    episodes ending in success (reach: within ``success_distance``; push: the
    ``task.push.success`` predicate), null for walking; ``nominal_return`` the nominal-pose
    policy's score on the same episodes; ``steps`` and ``train_wall_s`` the checkpoint's
    training steps and the wall time training took to get there), plus ``"tasks"`` (each
    task's summary) for a task-graph run; everything else goes to stderr.

    The learner is built on the CPU whatever device the run trained on (evaluating only
    acts): a run trained on a GPU evaluates on any machine.
    """
    run, cfg = open_run(run_dir)
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        raise ConfigError(run_dir, "checkpoints", "expected at least one checkpoint")
    cfg.learner = dataclasses.replace(cfg.learner, device="cpu", precision="fp32", bf16=None)
    env, agent, _ = build(cfg, seed)
    restore_agent(agent, checkpoint / "agent.pt", run.config_path)
    trained = _trained(checkpoint)
    info = sys.stderr if as_json else sys.stdout
    if isinstance(env, TaskEnv):
        env.close()
        results = evaluate_tasks(lambda o: agent.act(o, deterministic=True), cfg, episodes,
                                 seed=seed, video=video)
        print(f"checkpoint: {checkpoint}", file=info)
        filmed = next((r.video for r in results.values() if r.video is not None), None)
        if as_json:
            tasks = {name: r.summary() for name, r in results.items()}
            print(json.dumps({**_eval_json(list(tasks.values()), episodes), **trained,
                              "tasks": tasks}))
        else:
            _print_task_eval(results, episodes)
        if filmed is not None:
            print(f"video: {filmed}", file=info)
        return 0
    result, nominal = evaluate_with_nominal(agent, cfg, env, seed, episodes, video=video,
                                            eval_seed=seed)
    assert nominal is not None
    env.close()
    print(f"checkpoint: {checkpoint}", file=info)
    if as_json:
        print(json.dumps({**_eval_json([result.summary()], episodes),
                          "nominal_return": nominal.mean_return, **trained}))
    else:
        _print_eval(result.summary(), episodes, nominal.summary())
        print("returns: " + ", ".join(f"{r:.1f}" for r in result.returns))
    if result.video is not None:
        print(f"video: {result.video}", file=info)
    return 0


def _eval_json(summaries: list[dict[str, float]], episodes: int) -> dict[str, float | None]:
    """The ``eval --json`` object: each value the mean over ``summaries`` (tasks) having it."""
    def mean(key: str) -> float | None:
        values = [s[key] for s in summaries if key in s]
        return sum(values) / len(values) if values else None

    return {"mean_return": mean("return"), "forward_velocity": mean("forward_velocity"),
            "net_velocity": mean("net_velocity"), "final_distance": mean("final_distance"),
            "success_rate": mean("success_rate"), "nominal_return": None, "episodes": episodes}


def check_more_steps(resume: str, checkpoint: Path, steps: int | None, default: int) -> None:
    """A resumed run must have steps left: ``--steps`` (else ``train.steps``, ``default``) is
    the total to reach, so one at or below what ``checkpoint`` has trained would only evaluate
    again; refused instead, naming the total to ask for.

    Raises:
        ConfigError: no steps left (``--steps``, or ``train.steps`` when none was given).
    """
    done = _trained(checkpoint)["steps"]
    total = steps if steps is not None else default
    if done is None or total > done:
        return
    key, given = ("--steps", f"--steps {steps}") if steps is not None else (
        "train.steps", f"train.steps {default} (no --steps given)")
    raise ConfigError(resume, key, f"expected more than the {done:g} steps this run has "
                      f"trained, got {given}: --steps is the total to reach, not the steps to "
                      f"add (e.g. --steps {int(done) + (steps or default)})")


def _trained(checkpoint: Path) -> dict[str, float | None]:
    """The training steps and wall time (s) recorded in ``checkpoint`` (a learner's, of
    ``train --realtime`` or ``robot-rl learner``: transitions received and the learner's
    running time; wall time null for a checkpoint written before it was recorded)."""
    realtime = trained_realtime(checkpoint)
    try:
        state = json.loads((checkpoint / (REALTIME_STATE if realtime else "trainer.json"))
                           .read_text())
    except (OSError, ValueError):
        return {"steps": None, "train_wall_s": None}
    wall = state.get("wall_s")
    return {"steps": state.get("received" if realtime else "step"),
            "train_wall_s": round(float(wall), 1) if isinstance(wall, (int, float)) else None}


def _print_task_eval(results: dict[str, TaskEvalResult], episodes: int) -> None:
    for name, result in results.items():
        s = result.summary()
        print(f"{name}: success rate {s['success_rate']:.2f}, fall rate {s['fall_rate']:.2f}, "
              + ", ".join(f"{k.replace('_', ' ')} {s[k]:.3f}" for k in
                          ("return", "forward_velocity", "net_velocity", "final_distance")
                          if k in s)
              + f" ({episodes} episode{'s' * (episodes != 1)})")


def _print_eval(summary: dict[str, float], episodes: int | None = None,
                nominal: dict[str, float] | None = None) -> None:
    """What the deterministic evaluation scored and, with ``nominal``, what a policy holding
    the nominal pose (action 0) scored on the same episodes: the bar a learned policy clears.

    Velocities (walking robots): along the body's heading (what the walk reward pays for)
    and in a straight line (start to end of the episode); fast along the heading but slow in
    a straight line is a robot running in circles.
    """
    label = f" over {episodes} episode{'s' * (episodes != 1)}" if episodes else ""
    line = f"mean return{label}: {summary['return']:.2f}"
    if "forward_velocity" in summary:
        line += f", forward velocity {summary['forward_velocity']:.3f} m/s along its heading"
    if "net_velocity" in summary:  # straight line: low against forward velocity = circling
        line += f", {summary['net_velocity']:.3f} m/s in a straight line"
    if "final_distance" in summary:
        line += f", final distance to the target {summary['final_distance']:.3f} m"
    if "success_rate" in summary:
        line += f", success rate {summary['success_rate']:.2f}"
    print(line)
    if nominal is None:
        return
    line = f"nominal-pose policy (action 0, same episodes): return {nominal['return']:.2f}"
    if "forward_velocity" in nominal:
        line += f", {nominal['forward_velocity']:.2f} m/s along its heading"
    if "net_velocity" in nominal:
        line += f", {nominal['net_velocity']:.2f} m/s in a straight line"
    if "final_distance" in nominal:
        line += f", final distance {nominal['final_distance']:.3f} m"
    if "success_rate" in nominal:
        line += f", success rate {nominal['success_rate']:.2f}"
    print(line)
