"""``robot-rl learner``, ``robot-rl actor`` and ``robot-rl keys generate``.

Registered in :data:`robot_rl.cli.EXTRA_COMMANDS`. Heavy imports (torch, PyBullet) happen
inside the command functions so ``robot-rl --help`` stays fast. Transport and key problems
print one line and exit with status 2, like configuration mistakes. ``robot-rl actor`` exits
0 when the learner committed everything it sent, 1 when some never was, and 3 when the
learner refused it (key not allow-listed or removed, id not its key's name).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Adds the ``learner``, ``actor`` and ``keys`` subcommands."""
    _add_learner(sub)
    _add_actor(sub)
    _add_keys(sub)


def _add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1); 0 = torch's default")


def _add_learner(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "learner", help="serve actors over ZeroMQ: replay, SAC updates, weights, checkpoints",
        description="The learner of distributed training: stores the transitions of any number "
        "of `robot-rl actor` processes, runs SAC at the config's UTD, publishes the newest "
        "policy and checkpoints atomically (also on Ctrl-C / SIGTERM).")
    p.add_argument("config", nargs="?", help="robot config YAML (not needed with --resume)")
    p.add_argument("--bind", required=True, metavar="ADDRESS",
                   help="address to listen on, e.g. tcp://*:5555 (CURVE keys required unless "
                   "loopback or --insecure); port 0 picks a free one")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--run-dir", metavar="DIR", help="new run directory, exactly this path")
    where.add_argument("--out", default="runs", help="folder for new run directories")
    where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from "
                       "its newest checkpoint (actors reconnect on their own)")
    p.add_argument("--keys", metavar="DIR", help="CurveZMQ key directory (robot-rl keys "
                   "generate): learner key pair and DIR/actors/ allow-list")
    p.add_argument("--insecure", action="store_true",
                   help="allow plaintext on a non-loopback address (no keys)")
    p.add_argument("--steps", type=int, help="stop after this many transitions in all "
                   "(default: run until Ctrl-C or SIGTERM)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--publish-every", type=int, default=50, metavar="M",
                   help="update steps between weight publications (default 50)")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="transitions between checkpoints (default train.checkpoint_every)")
    p.add_argument("--log-every", type=int, metavar="N",
                   help="transitions between metric lines (default train.log_every)")
    p.add_argument("--max-update-lag", type=int, default=1000, metavar="N",
                   help="owed update steps kept when actors outrun the learner (default 1000)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-tensorboard", action="store_true",
                   help="metrics.jsonl only (starts faster)")
    _add_threads(p)
    p.set_defaults(func=_cmd_learner)


def _add_actor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "actor", help="run the robot and send transitions to a learner",
        description="An actor of distributed training: runs the PyBullet robot, acts with "
        "the newest weights from the learner (random until the first arrive), and sends every "
        "transition exactly once, buffering while the learner is away.")
    p.add_argument("config", help="robot config YAML")
    p.add_argument("--learner", required=True, metavar="ADDRESS",
                   help="the learner's address, e.g. tcp://10.0.0.2:5555")
    p.add_argument("--id", default=socket.gethostname(),
                   help="actor name, unique per learner; with --keys also the key name "
                   "(default: host name)")
    p.add_argument("--keys", metavar="DIR",
                   help="directory with ID.key_secret and learner.key (robot-rl keys generate)")
    p.add_argument("--insecure", action="store_true",
                   help="allow plaintext to a non-loopback address (no keys)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--on-learner-loss", choices=["continue", "hold"], default="continue",
                   help="with the learner gone: act on the last weights (default) or hold "
                   "the measured pose; transitions stay buffered either way")
    p.add_argument("--batch", type=int, default=32, help="transitions per message (default 32)")
    p.add_argument("--rate-hz", type=float, help="pace control steps (default: as fast as "
                   "the simulator runs)")
    p.add_argument("--max-steps", type=int, help="stop after this many transitions")
    p.add_argument("--flush-timeout", type=float, default=30.0, metavar="S",
                   help="at the end, wait this long for the learner to commit (default 30)")
    p.add_argument("--spill-dir", help="folder for batches spilled to disk (default: temp)")
    _add_threads(p)
    p.set_defaults(func=_cmd_actor)


def _add_keys(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="CurveZMQ keys for learner and actors")
    ksub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    g = ksub.add_parser("generate", help="create the learner key pair and actor key pairs",
                        description="Creates DIR/learner.key(_secret) if missing and a key "
                        "pair per --name, allow-listed in DIR/actors/.")
    g.add_argument("dir", help="key directory")
    g.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="actor name (repeatable); the actor's --id")
    g.add_argument("--overwrite", action="store_true", help="replace existing key pairs")
    g.set_defaults(func=_cmd_keys_generate)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


@contextmanager
def _stop_on_signals() -> Iterator[Callable[[], int | None]]:
    """Turns SIGINT and SIGTERM into a flag (read by calling the yielded function).

    Outside the main thread (a command called from a test thread) signals stay as they are.
    """
    got: list[int] = []
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, lambda num, _: got.append(num))
                    for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: got[0] if got else None
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)


def _fail(command: str, err: Exception) -> int:
    print(f"robot-rl {command}: {err}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------ learner
def _cmd_learner(args: argparse.Namespace) -> int:
    from robot_rl.config import load_config
    from robot_rl.distributed.learner_loop import LearnerSettings, make_learner, next_incarnation
    from robot_rl.errors import ConfigError
    from robot_rl.runs import RunDir, atomic_write_text
    from robot_rl.session import open_run
    from robot_rl.transport import KeyFileError, LearnerServer, TransportError, server_curve

    _setup_logging()
    checkpoint = None
    if args.resume is not None:
        run, cfg = open_run(args.resume)
        checkpoint = run.latest_checkpoint()
        if args.config is not None:
            print(f"robot-rl learner: resuming with {run.config_path}; ignoring {args.config}",
                  file=sys.stderr)
    elif args.config is None:
        return _fail("learner", ValueError("give a robot config YAML or --resume RUN_DIR"))
    else:
        cfg = load_config(args.config)
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
        with _stop_on_signals() as stopped:
            learner.run_until(lambda: stopped() is not None)
            why = stopped()
    finally:
        server.close()
    reasons: dict[int | None, str] = {None: "steps reached", signal.SIGINT: "interrupted",
                                      signal.SIGTERM: "terminated"}
    reason = reasons.get(why, "stopped")
    print(f"learner {reason}: {learner.received} transitions, {learner.update_steps} update "
          f"steps; checkpoints in {run.checkpoints}; continue with: robot-rl learner --resume "
          f"{run.path} --bind {args.bind}", file=sys.stderr)
    return 130 if why == signal.SIGINT else 0


# ------------------------------------------------------------------------------ actor
def _cmd_actor(args: argparse.Namespace) -> int:
    from robot_rl.config import load_config
    from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
    from robot_rl.envs import RobotEnv
    from robot_rl.train_aprl import actor_env
    from robot_rl.transport import ActorClient, KeyFileError, TransportError, client_curve

    _setup_logging()
    cfg = load_config(args.config)
    if args.keys and args.insecure:
        return _fail("actor", ValueError("--keys and --insecure exclude each other"))
    try:
        curve = client_curve(args.keys, args.id) if args.keys else None
        client = ActorClient(args.learner, args.id, curve, insecure=args.insecure,
                             spill_dir=args.spill_dir)
    except (KeyFileError, TransportError) as err:
        return _fail("actor", err)
    env: Any = None
    try:
        env = actor_env(cfg, RobotEnv(cfg, seed=args.seed))  # behind APRL's gate if active
        settings = ActorSettings(batch_size=args.batch, on_learner_loss=args.on_learner_loss,
                                 rate_hz=args.rate_hz, seed=args.seed)
        loop = ActorLoop(env, client, settings)
        print(f"actor {args.id} -> {args.learner} (CURVE {'on' if curve else 'off'}, "
              f"on learner loss: {args.on_learner_loss})", file=sys.stderr)
        with _stop_on_signals() as stopped:
            loop.run(lambda: stopped() is not None or client.refusal is not None,
                     args.max_steps)
            timeout = args.flush_timeout if stopped() is None else min(args.flush_timeout, 5.0)
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
def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from robot_rl.transport import KeyFileError, generate_keys

    root = Path(args.dir)
    try:
        if "learner" in args.name:
            raise KeyFileError("'learner' names the learner's key pair; pick another actor name")
        learner_made = args.overwrite or not (root / "learner.key_secret").exists()
        if learner_made:
            generate_keys(root, "learner", overwrite=args.overwrite)
        actors = {name: generate_keys(root, name, overwrite=args.overwrite)
                  for name in args.name}
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
