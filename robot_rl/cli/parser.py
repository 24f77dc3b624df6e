"""The argument parser of ``robot-rl``: every subcommand and option, in this one module.

What each command does lives next door (:mod:`~robot_rl.cli.run_cmds`,
:mod:`~robot_rl.cli.distributed_cmds`, :mod:`~robot_rl.cli.node_cmds`,
:mod:`~robot_rl.cli.inspect_cmd`); those modules import torch and PyBullet only inside their
functions, so ``robot-rl --help`` stays fast. Numbers are checked by argparse type functions:
a bad value is one line and exit status 2. Options that mirror a dataclass field keep that
field's default; :data:`MIRRORS` lists them and a test compares the two.
"""

from __future__ import annotations

import argparse
import math
import socket
from collections.abc import Callable
from typing import NoReturn

from robot_rl.cli import (
    demos_cmds,
    distributed_cmds,
    explore_cmds,
    inspect_cmd,
    node_cmds,
    reward_cmds,
    run_cmds,
)
from robot_rl.errors import one_line


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one bounded line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message, 240)} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------ number types
def _whole(low: int, high: int | None = None, what: str = "a whole number"
           ) -> Callable[[str], int]:
    bound = f">= {low}" if high is None else f"in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {value}")
        return value

    parse.__name__ = what.removeprefix("a ").replace(" ", "_")  # argparse names it on errors
    return parse


count = _whole(1)
"""A count >= 1 (--steps, --episodes, --batch, ...)."""
policies = _whole(2, what="a number of policies")
"""K >= 2 exploration policies (--policies)."""
count0 = _whole(0)
"""A count >= 0 (--threads, --max-update-lag)."""
seed = _whole(0, 2**32 - 1, what="a seed")
"""A random seed in [0, 2**32 - 1] (torch refuses seeds beyond 64 bits; runs add offsets)."""
port = _whole(1, 65535, what="a TCP port")
"""A TCP port in [1, 65535]."""
domain = _whole(0, 232, what="a DDS domain id")
"""A ROS 2 / DDS domain id in [0, 232]."""


def _share(low: float, high: float, low_open: bool, label: str) -> Callable[[str], float]:
    """An argparse type for a number in [low, high] (``(low, high]`` when ``low_open``)."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {shown}, got {text!r}"
                                             ) from None
        if not ((low < value if low_open else low <= value) and value <= high):
            raise argparse.ArgumentTypeError(f"expected a number in {shown}, got {text}")
        return value

    parse.__name__ = label  # argparse names the type in its errors
    return parse


fraction = _share(0.0, 1.0, low_open=False, label="fraction")
"""A share in [0, 1] (--drive-fraction)."""
held_out = _share(0.0, 0.9, low_open=True, label="held_out")
"""A held-out share in (0, 0.9] (--val-fraction)."""


def nonnegative(text: str) -> float:
    """A finite number >= 0 (a bonus weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def positive(text: str) -> float:
    """A finite number > 0 (rates in Hz, timeouts and durations in seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


MIRRORS: tuple[tuple[str, str, str], ...] = (
    ("learner", "publish_every",
     "robot_rl.distributed.learner_loop:LearnerSettings.publish_every"),
    ("learner", "max_update_lag",
     "robot_rl.distributed.learner_loop:LearnerSettings.max_update_lag"),
    ("learner", "steps", "robot_rl.distributed.learner_loop:LearnerSettings.steps"),
    ("actor", "batch", "robot_rl.distributed.actor_loop:ActorSettings.batch_size"),
    ("actor", "on_learner_loss", "robot_rl.distributed.actor_loop:ActorSettings.on_learner_loss"),
    ("actor", "rate_hz", "robot_rl.distributed.actor_loop:ActorSettings.rate_hz"),
    ("actor", "seed", "robot_rl.distributed.actor_loop:ActorSettings.seed"),
    ("eval", "seed", "robot_rl.evaluate:evaluate.seed"),
)
"""(subcommand, option dest, ``module:Dataclass.field``): options whose default is that
field's default (``module:function.argument`` for a function's keyword default). ``node``
options default to None and fall back to the fields of :mod:`robot_rl.nodes.params`."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``robot-rl``, with every subcommand."""
    parser = Parser(prog="robot-rl", description="Real-robot learning runtime.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_pretrain, _add_eval, _add_inspect, _add_learner, _add_actor,
                _add_keys, _add_node, _add_launch, _add_operator, _add_demos,
                _add_reward, _add_explore):
        add(sub)
    return parser


def _add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=count0, default=1,
                   help="torch CPU threads (default 1: small networks gain little from more, "
                   "and oversubscribed cores make them far slower); 0 = torch's default")


# ------------------------------------------------------------------------------ train, eval
def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train in one process on the PyBullet robot",
                       description="Embedded training: robot, actor and learner in one process.")
    p.add_argument("config", nargs="?", help="robot config YAML (not needed with --resume; "
                   "with it, it must be the run's robot)")
    p.add_argument("--steps", type=count, help="total environment steps (default: train.steps)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="runs", help="folder for new run directories (default runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--no-video", action="store_true", help="skip the evaluation video")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--task-graph", choices=("reset_free", "episodic"),
                   help="train the config's task_graph in this mode (docs/task_graph.md)")
    p.add_argument("--realtime", action="store_true",
                   help="the robot paced at robot.control_hz in wall time, never waiting for "
                   "the learner, which updates concurrently (docs/distributed.md); a run "
                   "trained so resumes with --realtime")
    p.add_argument("--init", metavar="CHECKPOINT_OR_RUN_DIR",
                   help="start a new run's actor and critics from a checkpoint (a run "
                   "directory of robot-rl pretrain or train, a checkpoint folder or an "
                   "agent.pt); replay starts empty, learner.prior_data still mixes in")
    p.add_argument("--interventions", choices=("scripted",),
                   help="the task's scripted expert takes over when the policy strays; its "
                   "transitions are flagged and also join the demonstration buffer "
                   "(docs/demos.md)")
    _add_threads(p)
    p.set_defaults(func=run_cmds.cmd_train, check=run_cmds.check_train)


PRETRAIN_METHODS = ("iql", "bc", "bc_noise", "posterior_bc")
"""``pretrain --method`` choices (robot_rl.pretrain.METHODS; a test compares the two)."""


def _add_pretrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="train a policy offline on a dataset, to fine-tune "
                       "with train --init",
                       description="Offline pretraining on prior data (docs/learner.md): IQL "
                       "(actor and critics) or behavioral cloning (actor only); writes a run "
                       "directory whose checkpoint `robot-rl train CONFIG --init RUN_DIR` "
                       "fine-tunes with SAC.")
    p.add_argument("config", help="robot config YAML (its learner sets the network sizes)")
    p.add_argument("--data", required=True, metavar="DATASET",
                   help="prior data: an .npz of transitions (docs/learner.md#prior-data-rlpd) "
                   "or an MCAP recording of robot-rl node actor")
    p.add_argument("--method", choices=PRETRAIN_METHODS, default="iql",
                   help="iql (default), bc, bc_noise or posterior_bc")
    p.add_argument("--steps", type=count, help="gradient steps (default 20000; posterior_bc: "
                   "per phase)")
    p.add_argument("--critic-steps", type=count0, default=0, metavar="N",
                   help="BC methods: then N updates of the critics alone, evaluating the "
                   "cloned actor on the data (default 0: critics untrained)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="runs", help="folder for new run directories (default runs)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_threads(p)
    p.set_defaults(func=run_cmds.cmd_pretrain, check=run_cmds.check_pretrain)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="run a trained policy deterministically and record a video")
    p.add_argument("run_dir", help="a run directory written by `robot-rl train`")
    p.add_argument("--episodes", type=count, default=3, help="episodes (default 3)")
    p.add_argument("--seed", type=seed, default=10_000, help="seed of the first episode")
    p.add_argument("--video", help="MP4 path (default RUN_DIR/eval-<time>.mp4; the training "
                   "run's eval.mp4 is left alone)")
    p.add_argument("--no-video", action="store_true", help="do not record a video")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout: "
                   "mean_return, forward_velocity, net_velocity (straight line), episodes")
    _add_threads(p)
    p.set_defaults(func=run_cmds.cmd_eval, check=run_cmds.check_eval)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="list a URDF's joints and links; print a config skeleton",
                       description="Reads a URDF (no simulator) and prints its joints (type, "
                       "limits, effort, velocity), its links and a robot config skeleton to "
                       "start a new robot from.")
    p.add_argument("urdf", help="URDF file (absolute, relative, or inside pybullet_data)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=inspect_cmd.cmd_inspect)


# ------------------------------------------------------------------------------ distributed
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
    p.add_argument("--steps", type=count, help="stop after this many transitions in all "
                   "(default: run until Ctrl-C or SIGTERM)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--publish-every", type=count, default=50, metavar="M",
                   help="update steps between weight publications (default 50)")
    p.add_argument("--checkpoint-every", type=count, metavar="N",
                   help="transitions between checkpoints (default train.checkpoint_every)")
    p.add_argument("--log-every", type=count, metavar="N",
                   help="transitions between metric lines (default train.log_every)")
    p.add_argument("--max-update-lag", type=count0, default=1000, metavar="N",
                   help="owed update steps kept when actors outrun the learner (default 1000)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-tensorboard", action="store_true",
                   help="metrics.jsonl only (starts faster)")
    _add_threads(p)
    p.set_defaults(func=distributed_cmds.cmd_learner)


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
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--on-learner-loss", choices=["continue", "hold"], default="continue",
                   help="with the learner gone: act on the last weights (default) or hold "
                   "the measured pose; transitions stay buffered either way")
    p.add_argument("--batch", type=count, default=32, help="transitions per message (default 32)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--rate-hz", type=positive, help="pace control steps (default: as fast "
                      "as the simulator runs)")
    pace.add_argument("--realtime", action="store_true", help="pace control steps at the "
                      "config's robot.control_hz, as a robot runs and as train --realtime does")
    p.add_argument("--max-steps", type=count, help="stop after this many transitions")
    p.add_argument("--flush-timeout", type=positive, default=30.0, metavar="S",
                   help="at the end, wait this long for the learner to commit (default 30)")
    p.add_argument("--spill-dir", help="folder for batches spilled to disk (default: temp)")
    _add_threads(p)
    p.set_defaults(func=distributed_cmds.cmd_actor)


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
    g.set_defaults(func=distributed_cmds.cmd_keys_generate)


# ------------------------------------------------------------------------------ ROS 2 nodes
def _add_dds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--domain", type=domain, help="DDS domain id (default ROS_DOMAIN_ID or 0)")
    p.add_argument("--loopback", action="store_true",
                   help="keep DDS traffic on the loopback interface (one machine)")


def _add_node(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="run one ROS 2 node over plain DDS (no ROS install)",
                       description="Runs one node of the ROS 2 topology as a plain process "
                       "speaking ROS 2's wire protocol over DDS (docs/ros2.md). Options left "
                       "out take the --params file's value, else the parameter's default.")
    p.add_argument("kind", choices=node_cmds.KINDS, help="which node")
    p.add_argument("config", nargs="?", help="robot config YAML (or robot_config in --params)")
    p.add_argument("--params", metavar="YAML", help="ROS 2 params file (<kind>_node: "
                   "ros__parameters: ...); options below override it")
    _add_dds(p)
    p.add_argument("--seconds", type=positive, help="stop after this long (default: Ctrl-C)")
    p.add_argument("--run-dir", help="actor: recording folder; learner: run directory")
    p.add_argument("--learner", metavar="ADDRESS", help="actor: learner address "
                   "(\"\" for none; default tcp://127.0.0.1:5555)")
    p.add_argument("--id", help="actor: name at the learner (default <robot>-<host>)")
    p.add_argument("--no-record", action="store_true", help="actor: no MCAP recording")
    p.add_argument("--bind", metavar="ADDRESS", help="learner: address to listen on")
    p.add_argument("--steps", type=count, help="learner: stop after this many transitions")
    p.add_argument("--keys", metavar="DIR", help="CurveZMQ key directory (learner, actor)")
    p.add_argument("--insecure", action="store_true", help="plaintext to a non-loopback peer")
    p.add_argument("--seed", type=seed, help="random seed (default 0)")
    p.set_defaults(func=node_cmds.cmd_node, check=node_cmds.check_node)


def _add_launch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("launch", help="start the simulated ROS 2 topology as processes",
                       description="Starts learner, sim_bridge and actor nodes over plain DDS "
                       "and stops them all on Ctrl-C (docs/ros2.md).")
    p.add_argument("topology", choices=["sim"], help="what to start")
    p.add_argument("config", help="robot config YAML")
    _add_dds(p)
    p.add_argument("--run-dir", help="folder for learner/ and actor/ "
                   "(default runs/<robot>-sim-<time>)")
    p.add_argument("--port", type=port, help="learner port on 127.0.0.1 (default: a free one)")
    p.add_argument("--seconds", type=positive, help="stop after this long (default: Ctrl-C)")
    p.set_defaults(func=node_cmds.cmd_launch)


def _add_operator(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("operator", help="e-stop, pause/resume learning, switch task, status",
                       description="Operator controls of a running session, sent as ROS 2 "
                       "topics; waits until an actor's status confirms the change.")
    p.add_argument("action", nargs="+", metavar="ACTION",
                   help="estop on|off, pause, resume, heartbeat, task NAME, status")
    p.add_argument("--config", help="robot config YAML whose ros: topics to use "
                   "(default: the standard topic names)")
    _add_dds(p)
    p.add_argument("--timeout", type=positive, default=10.0,
                   help="seconds to wait for a confirming status (default 10)")
    p.set_defaults(func=node_cmds.cmd_operator)


# ------------------------------------------------------------------------------ people
def _add_demos(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demos", help="record demonstrations as prior data (docs/demos.md)")
    dsub = p.add_subparsers(dest="demos_command", required=True, metavar="ACTION")
    r = dsub.add_parser("record", help="record demonstrations in simulation",
                        description="Demonstrations of a scripted expert or of an operator "
                        "(sensor_msgs/Joy or geometry_msgs/Twist on a ROS 2 topic), through "
                        "the same control step and safety filter as the policy; written as "
                        "prior data (learner.prior_data) with success and intervention flags.")
    r.add_argument("config", help="robot config YAML")
    r.add_argument("--source", choices=demos_cmds.SOURCES, required=True,
                   help="scripted: the task's scripted expert; joy/twist: teleoperation")
    r.add_argument("--episodes", type=count, default=10, help="episodes (default 10)")
    r.add_argument("--out", required=True, metavar="NPZ", help="prior-data file to write")
    r.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default 0)")
    r.add_argument("--mcap", metavar="PATH", help="also write the transitions as an MCAP "
                   "recording (ros2 profile)")
    r.add_argument("--topic", help="teleop topic (default /joy or /cmd_vel)")
    r.add_argument("--success-topic", metavar="TOPIC", help="std_msgs/Bool topic marking "
                   "success (default: the sim's success predicate, where the task has one)")
    r.add_argument("--max-speed", type=positive, default=0.1, metavar="M_PER_S",
                   help="end-effector speed at full stick, and the Twist clip (default 0.1)")
    r.add_argument("--stale-after", type=positive, default=0.25, metavar="S",
                   help="hold the measured pose when no command came for this long "
                   "(default 0.25)")
    r.add_argument("--backend", choices=("auto", "rclpy", "dds"), default="auto",
                   help="ROS 2 middleware for teleop (default: rclpy if installed)")
    r.add_argument("--domain", type=domain, help="ROS 2 domain id (default ROS_DOMAIN_ID or 0)")
    r.set_defaults(func=demos_cmds.cmd_demos_record, check=demos_cmds.check_demos_record)


# ------------------------------------------------------------------------------ learned reward
def _add_reward(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reward", help="a learned success reward: collect labelled frames, "
                       "train the classifier",
                       description="A CNN success classifier over one camera's frames, used "
                       "as the task's reward by task.reward_model (docs/reward_model.md).")
    rsub = p.add_subparsers(dest="reward_command", required=True, metavar="ACTION")
    c = rsub.add_parser("collect", help="run sim episodes; save frames labelled with the "
                        "task's success",
                        description="Runs episodes in PyBullet (random, or driven to the "
                        "target by inverse kinematics) and saves one camera's frame after "
                        "every step, labelled with the sim's success predicate.")
    c.add_argument("config", help="robot config YAML with a cameras: section (task: reach)")
    c.add_argument("--episodes", type=count, default=20, help="episodes (default 20)")
    c.add_argument("--out", required=True, metavar="FRAMES.npz", help="labelled frames to write")
    c.add_argument("--camera", help="the camera to record (default: the config's first)")
    c.add_argument("--drive-fraction", type=fraction, default=0.5, metavar="F",
                   help="share of episodes driven to the target (default 0.5)")
    c.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    c.add_argument("--quiet", action="store_true", help="no line per episode on stderr")
    c.set_defaults(func=reward_cmds.cmd_collect, check=reward_cmds.check_collect)
    t = rsub.add_parser("train", help="train the success classifier; report held-out "
                        "precision and recall",
                        description="Trains a small CNN on labelled frames (random shifts, "
                        "class-balanced loss), holds out whole episodes (else random frames) "
                        "and writes weights.pt and model.json to --out.")
    t.add_argument("frames", nargs="+", metavar="FRAMES.npz", help="labelled frames "
                   "(robot-rl reward collect, or a demo recording's success labels)")
    t.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder for the model")
    t.add_argument("--epochs", type=count, default=20, help="passes over the frames "
                   "(default 20)")
    t.add_argument("--val-fraction", type=held_out, default=0.2, metavar="F",
                   help="share of episodes (or frames) held out (default 0.2)")
    t.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    t.add_argument("--quiet", action="store_true", help="no line per epoch on stderr")
    _add_threads(t)
    t.set_defaults(func=reward_cmds.cmd_train, check=reward_cmds.check_train)


# ------------------------------------------------------------------------------ exploration
def _add_explore(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explore", help="diverse exploration policies learned in simulation "
                       "(docs/explore.md)")
    esub = p.add_subparsers(dest="explore_command", required=True, metavar="ACTION")
    t = esub.add_parser("train", help="train K exploration policies in parallel simulations "
                        "(Ray)",
                        description="K SAC policies, each rewarded for the task plus BETA x "
                        "its novelty (distance to what the other policies visited), one Ray "
                        "actor and PyBullet robot each; writes the policies and a coverage "
                        "report (coverage.json) to --out.")
    t.add_argument("config", help="robot config YAML of the simulator")
    t.add_argument("--policies", type=policies, default=4, metavar="K",
                   help="exploration policies, >= 2 (default 4)")
    t.add_argument("--steps", type=count, required=True, metavar="N",
                   help="environment steps per policy")
    t.add_argument("--beta", type=nonnegative, default=1.0, metavar="B",
                   help="weight of the novelty bonus (default 1.0; 0: plain SAC)")
    t.add_argument("--rounds", type=count, default=5, help="training rounds; descriptors "
                   "are exchanged between them (default 5)")
    t.add_argument("--eval-episodes", type=count, default=5, metavar="E",
                   help="stochastic episodes per policy for the coverage report (default 5)")
    t.add_argument("--address", metavar="ADDR", help="a running Ray cluster (ray.init("
                   "address=ADDR)); default: a local Ray instance")
    t.add_argument("--num-cpus", type=count, metavar="C", help="CPUs of the local Ray "
                   "instance (default: K, at most this machine's cores)")
    t.add_argument("--out", required=True, metavar="DIR", help="new folder for the policies")
    t.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    t.add_argument("--quiet", action="store_true", help="no line per round on stderr")
    t.set_defaults(func=explore_cmds.cmd_explore_train, check=explore_cmds.check_explore_train)
    c = esub.add_parser("collect", help="run the exploration policies on a robot; write "
                        "prior data",
                        description="Runs the K policies of DIR (stochastic, in turn) on the "
                        "robot of CONFIG (e.g. one with a sim.dynamics shift) and writes the "
                        "transitions as prior data for learner.prior_data.")
    c.add_argument("dir", metavar="DIR", help="folder written by robot-rl explore train")
    c.add_argument("config", help="robot config YAML of the robot to collect on")
    c.add_argument("--episodes", type=count, required=True, metavar="M",
                   help="episodes in all (policy e mod K acts in episode e)")
    c.add_argument("--out", required=True, metavar="DATA.npz", help="prior-data file to write")
    c.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default 0)")
    _add_threads(c)
    c.set_defaults(func=explore_cmds.cmd_explore_collect,
                   check=explore_cmds.check_explore_collect)
