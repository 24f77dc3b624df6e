"""``robot-rl learner``, ``robot-rl actor`` and ``robot-rl keys generate`` (options: parser.py).

Heavy imports (torch, PyBullet) happen inside the command functions so ``robot-rl --help``
stays fast. Transport and key problems print one line and exit with status 2, like
configuration mistakes. ``robot-rl actor`` exits 0 when the learner committed everything it
sent, 1 when some never was, and 3 when the learner refused it (key not allow-listed or
removed, id not its key's name). The first Ctrl-C or SIGTERM stops either loop cleanly
(:mod:`robot_rl.signals_handling`); the learner then exits 130 after Ctrl-C, 0 after SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from robot_rl.signals_handling import deferred_stop


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def _fail(command: str, err: Exception) -> int:
    print(f"robot-rl {command}: {err}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------ learner
def cmd_learner(args: argparse.Namespace) -> int:
    from robot_rl.cli.run_cmds import check_out, check_resume_robot
    from robot_rl.config import load_config
    from robot_rl.distributed.learner_loop import LearnerSettings, make_learner, next_incarnation
    from robot_rl.errors import ConfigError
    from robot_rl.runs import RunDir, atomic_write_text
    from robot_rl.sac.device import resolve_learner
    from robot_rl.session import check_learner_checkpoint, open_run
    from robot_rl.transport import KeyFileError, LearnerServer, TransportError, server_curve
    from robot_rl.transport.keys import address_problem

    _setup_logging()
    if (problem := address_problem(args.bind, bind=True)) is not None:
        return _fail("learner", ValueError(f"--bind {problem}"))
    if args.resume is None:
        check_out(*((args.run_dir, "--run-dir") if args.run_dir else (args.out, "--out")))
    checkpoint = None
    if args.resume is not None:
        if args.config is not None:  # another robot: refused; changes: a note
            check_resume_robot(args.config, args.resume)
        run, cfg = open_run(args.resume)
        checkpoint = run.latest_checkpoint()
        check_learner_checkpoint(args.resume, checkpoint)
    elif args.config is None:
        return _fail("learner", ValueError("give a robot config YAML or --resume RUN_DIR"))
    else:
        cfg = load_config(args.config)
        # the device and precision picked here, refused (no CUDA) before a run directory and
        # recorded in its config.yaml
        cfg.learner = resolve_learner(cfg.learner, cfg.source)
        if args.run_dir and (Path(args.run_dir) / "config.yaml").exists():
            raise ConfigError(args.run_dir, "<run>", "expected a new run directory; this one "
                              "holds a run (continue it with --resume)")
    if args.keys and args.insecure:
        return _fail("learner", ValueError("--keys and --insecure exclude each other"))
    try:
        curve = server_curve(args.keys) if args.keys else None
        server = LearnerServer(args.bind, curve, insecure=args.insecure)
    except (KeyFileError, TransportError) as err:
        return _fail("learner", err)
    try:
        if args.resume is None:
            if args.run_dir:
                Path(args.run_dir).mkdir(parents=True, exist_ok=True)
                run = RunDir(args.run_dir)
            else:
                run = RunDir.create(args.out, cfg.name)
            run.write_config(cfg)
        atomic_write_text(run.path / "endpoint", server.endpoint + "\n")
        settings = LearnerSettings(
            publish_every=args.publish_every, max_update_lag=args.max_update_lag,
            checkpoint_every=args.checkpoint_every or cfg.train.checkpoint_every,
            log_every=args.log_every or cfg.train.log_every, steps=args.steps,
            progress=not args.no_progress, tensorboard=not args.no_tensorboard)
        learner = make_learner(cfg, server, run, settings, args.seed, next_incarnation(run))
        if checkpoint is not None:
            learner.load(checkpoint)
        print(f"learner listening on {server.endpoint} (CURVE {'on' if curve else 'off'}); "
              f"run directory: {run.path}", file=sys.stderr)
        with deferred_stop() as stop:
            learner.run_until(stop.is_set)
    finally:
        server.close()
    if stop.signum is None:
        reason = "steps reached"
    else:
        reason = "interrupted" if stop.exit_status() == 130 else "terminated"
    print(f"learner {reason}: {learner.received} transitions, {learner.update_steps} update "
          f"steps; checkpoints in {run.checkpoints}; continue with: robot-rl learner --resume "
          f"{run.path} --bind {args.bind}", file=sys.stderr)
    return stop.exit_status()


# ------------------------------------------------------------------------------ actor
def cmd_actor(args: argparse.Namespace) -> int:
    from robot_rl.config import load_config
    from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
    from robot_rl.envs import RobotEnv
    from robot_rl.train_aprl import actor_env
    from robot_rl.transport import ActorClient, KeyFileError, TransportError, client_curve
    from robot_rl.transport.keys import address_problem

    _setup_logging()
    if (problem := address_problem(args.learner, bind=False)) is not None:
        return _fail("actor", ValueError(f"--learner {problem}"))
    cfg = load_config(args.config)
    if args.keys and args.insecure:
        return _fail("actor", ValueError("--keys and --insecure exclude each other"))
    if args.spill_dir is not None and not Path(args.spill_dir).is_dir():
        what = "not a folder" if Path(args.spill_dir).exists() else "missing"
        return _fail("actor", ValueError(f"--spill-dir: expected an existing folder, "
                                         f"{args.spill_dir!r} is {what}"))
    try:
        curve = client_curve(args.keys, args.id) if args.keys else None
        client = ActorClient(args.learner, args.id, curve, insecure=args.insecure,
                             spill_dir=args.spill_dir)
    except (KeyFileError, TransportError) as err:
        return _fail("actor", err)
    env: Any = None
    try:
        env = actor_env(cfg, RobotEnv(cfg, seed=args.seed))  # behind APRL's gate if active
        rate_hz = cfg.robot.control_hz if args.realtime else args.rate_hz
        settings = ActorSettings(batch_size=args.batch, on_learner_loss=args.on_learner_loss,
                                 rate_hz=rate_hz, seed=args.seed)
        loop = ActorLoop(env, client, settings)
        print(f"actor {args.id} -> {args.learner} (CURVE {'on' if curve else 'off'}, "
              f"on learner loss: {args.on_learner_loss})", file=sys.stderr)
        with deferred_stop() as stop:
            loop.run(lambda: stop.is_set() or client.refusal is not None, args.max_steps)
            timeout = min(args.flush_timeout, 5.0) if stop.is_set() else args.flush_timeout
            committed = client.refusal is None and loop.finish(timeout)
        print(json.dumps({"id": args.id, "committed": committed, "refused": client.refusal,
                          **loop.summary()}))
        if client.refusal is not None:
            print(f"actor {args.id}: refused by the learner: {client.refusal}", file=sys.stderr)
            return 3
        if not committed:
            print(f"actor {args.id}: {client.pending_transitions} transitions were never "
                  "committed by a learner", file=sys.stderr)
        return 0 if committed else 1
    finally:
        client.close()
        if env is not None:
            env.close()


# ------------------------------------------------------------------------------ keys
def cmd_keys_generate(args: argparse.Namespace) -> int:
    from robot_rl.transport import KeyFileError, check_new_key, generate_keys

    root = Path(args.dir)
    names = list(dict.fromkeys(args.name))  # a name given twice is one key
    try:
        if "learner" in names:
            raise KeyFileError("'learner' names the learner's key pair; pick another actor name")
        for name in names:  # every name refused before any key is written
            check_new_key(root, name, overwrite=args.overwrite)
        learner_made = args.overwrite or not (root / "learner.key_secret").exists()
        if learner_made:
            generate_keys(root, "learner", overwrite=args.overwrite)
        actors = {name: generate_keys(root, name, overwrite=args.overwrite) for name in names}
    except KeyFileError as err:
        return _fail("keys generate", err)
    print(f"learner: {root / 'learner.key_secret'} (secret: stays on the learner; "
          f"{'new' if learner_made else 'kept'})")
    print(f"         {root / 'learner.key'} (public: copy to every actor)")
    for name, files in actors.items():
        print(f"actor {name}: {files.secret} (secret: copy to that robot only, "
              "with learner.key)")
        print(f"         allow-listed as {root / 'actors' / (name + '.key')}")
    print(f"\nlearner: robot-rl learner CONFIG --bind tcp://*:5555 --keys {root}\n"
          f"actor:   robot-rl actor CONFIG --learner tcp://LEARNER_HOST:5555 --id NAME "
          f"--keys DIR_WITH_NAME.key_secret_AND_learner.key\n"
          f"The learner accepts exactly the public keys in {root / 'actors'}/, each only for "
          f"the actor id that is its file name: to allow an actor whose key was made "
          f"elsewhere, copy its NAME.key there; to revoke one, delete its file there. A "
          f"running learner notices either within seconds.")
    return 0
