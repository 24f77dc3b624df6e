"""What ``robot-rl train`` and ``robot-rl eval`` do, as functions (the CLI stays thin)."""

from __future__ import annotations

import sys
from pathlib import Path


from robot_rl.config import RobotConfig, load_config
from robot_rl.envs import RobotEnv
from robot_rl.errors import ConfigError
from robot_rl.evaluate import evaluate
from robot_rl.runs import RunDir, plot_learning_curve
from robot_rl.sac import SAC, ReplayBuffer, make_replay
from robot_rl.train import Trainer


def build(cfg: RobotConfig, seed: int) -> tuple[RobotEnv, SAC, ReplayBuffer]:
    """The environment, learner and replay buffer for a config."""
    env = RobotEnv(cfg, seed=seed)
    obs_dim = env.observation_space.shape[0]
    act_dim = env.action_space.shape[0]
    agent = SAC(obs_dim, act_dim, cfg.learner, seed=seed)
    # plain replay, or replay mixed with learner.prior_data (RLPD), resolved next to the config
    config_dir = Path(cfg.source).parent if cfg.source else None
    buffer = make_replay(cfg.learner, obs_dim, act_dim, seed, config_dir)
    return env, agent, buffer


def open_run(run_dir: str | Path) -> tuple[RunDir, RobotConfig]:
    """An existing run directory and its resolved config."""
    run = RunDir(run_dir)
    if not run.config_path.is_file():
        raise ConfigError(str(run_dir), "<run>", "expected a run directory with config.yaml "
                          "(written by `robot-rl train`)")
    return run, load_config(run.config_path)


def train_session(config: str | None, steps: int | None, seed: int, out: str,
                  resume: str | None, video: bool = True, progress: bool = True) -> int:
    """Train (or resume) a run; print where its results are. Returns an exit status."""
    if resume is not None:
        run, cfg = open_run(resume)
        checkpoint = run.latest_checkpoint()
        if checkpoint is None:
            raise ConfigError(resume, "checkpoints", "expected at least one checkpoint to resume")
    else:
        assert config is not None
        cfg = load_config(config)
        run, checkpoint = RunDir.create(out, cfg.name), None
        run.write_config(cfg)
    total = steps if steps is not None else cfg.train.steps
    env, agent, buffer = build(cfg, seed)
    trainer = Trainer(env, agent, buffer, cfg.learner, seed=seed, run=run,
                      log_every=cfg.train.log_every, checkpoint_every=cfg.train.checkpoint_every,
                      progress=progress)
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
        return 130
    result = evaluate(lambda o: agent.act(o, deterministic=True), env,
                      cfg.train.eval_episodes, video=run.path / "eval.mp4" if video else None)
    trainer.logger.log(trainer.step, "eval", result.summary())  # type: ignore[union-attr]
    trainer.close()
    plot = plot_learning_curve(run, f"{cfg.name}: SAC, {trainer.step} steps")
    env.close()
    print(f"\ndone: {summary['steps']} steps, {summary['episodes']} episodes, "
          f"{summary['steps_per_s']:.1f} steps/s", file=sys.stderr)
    _print_eval(result.summary())
    print(f"run directory:  {run.path}")
    print(f"learning curve: {plot}")
    if result.video is not None:
        print(f"video:          {result.video}")
    print(f"metrics:        {run.path / 'metrics.jsonl'} (tensorboard --logdir {run.path / 'tb'})")
    return 0


def eval_session(run_dir: str, episodes: int, seed: int, video: str | None) -> int:
    """Evaluate a run's newest checkpoint deterministically; print the mean return."""
    import torch

    run, cfg = open_run(run_dir)
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        raise ConfigError(run_dir, "checkpoints", "expected at least one checkpoint")
    env, agent, _ = build(cfg, seed)
    agent.load_state_dict(torch.load(checkpoint / "agent.pt", weights_only=True))
    result = evaluate(lambda o: agent.act(o, deterministic=True), env, episodes, seed=seed,
                      video=video)
    env.close()
    print(f"checkpoint: {checkpoint}")
    _print_eval(result.summary(), episodes)
    print("returns: " + ", ".join(f"{r:.1f}" for r in result.returns))
    if result.video is not None:
        print(f"video: {result.video}")
    return 0


def _print_eval(summary: dict[str, float], episodes: int | None = None) -> None:
    label = f" over {episodes} episodes" if episodes else ""
    line = f"mean return{label}: {summary['return']:.2f}"
    if "forward_velocity" in summary:
        line += f", forward velocity {summary['forward_velocity']:.3f} m/s"
    if "final_distance" in summary:
        line += f", final distance {summary['final_distance']:.3f} m"
    print(line)
