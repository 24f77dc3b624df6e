"""State -> command latency over ROS 2 wire-compatible DDS (loopback), as one JSON object.

The driver process plays the robot: it publishes sensor_msgs/JointState on /joint_states
at ``--rate`` Hz (sensor-data QoS) and listens for std_msgs/Float64MultiArray on the
command topic (default QoS). The responder process plays the actor: it answers each state
with a command (``echo_actor``: the positions back). Latency is command arrival (when the
driver's callback runs) minus the send time of the state it answers; the echo's commands
carry the state's positions, so each is matched to its state exactly (``matched_by:
content``). Jitter is measured on command arrival intervals (what the controller sees).

A peer runs in the same invocation for comparison: the same ping-pong over a plain UDP
socket between the same two processes, i.e. the floor set by Python and the machine.

``--responder actor`` times the real actor node (``robot-rl node actor``, a process of its
own): the driver then publishes what the robot config needs (Imu, the labelled extras, then
the JointState with the config's joint names), the config's control rate is set to
``--rate``, and a learner on the real ZeroMQ transport runs in the driver process and
sends the actor one set of policy weights (and takes its transitions), so every command
comes from the policy network through the limits and the safety filter. Measuring starts
once the actor acts on those weights. Its commands do not echo the state, so each is
attributed to the latest state sent (``matched_by: latest_state``).

To measure an actor node started elsewhere, pass ``--responder external
--command-topic /<controller>/commands --domain <its domain>`` (and ``--config`` to publish
the inputs its robot config needs).

Usage:
    python benchmarks/ros_loop.py --json
    python benchmarks/ros_loop.py --json --responder actor --config robot_configs/a1.yaml
    python benchmarks/ros_loop.py --json --seconds 30 --rate 50 --joints 12
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_rl.ros import msgs  # noqa: E402
from robot_rl.ros.api import wait_until  # noqa: E402
from robot_rl.ros.dds import DdsNode, loopback_config  # noqa: E402
from robot_rl.ros.wire import QOS_DEFAULT, QOS_SENSOR_DATA  # noqa: E402

TARGET_P99_MS = 5.0
PEER_COMMAND_TOPIC = "/forward_position_controller/commands"


def echo_actor(state: msgs.JointState) -> msgs.Float64MultiArray:
    """The stand-in actor: command = measured positions (replace with the real actor)."""
    return msgs.Float64MultiArray.from_array(state.position)


def set_rt_priority(priority: int) -> bool:
    """Puts this thread (and the threads it starts, DDS ones included) on SCHED_FIFO.

    What a robot's control processes do; needs root or CAP_SYS_NICE. Returns success.
    """
    if priority <= 0:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError):
        return False
    return True


def run_responder(args: argparse.Namespace) -> None:
    """Actor side: answers every JointState with a command; echoes UDP pings for the peer."""
    set_rt_priority(args.rt_priority)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))

    def udp_echo() -> None:
        while True:
            data, addr = udp.recvfrom(65536)
            udp.sendto(data, addr)

    threading.Thread(target=udp_echo, daemon=True).start()
    with DdsNode("ros_loop_actor", args.domain, loopback_config()) as node:
        commands = node.publisher(args.command_topic, msgs.Float64MultiArray, QOS_DEFAULT)
        node.subscription("/joint_states", msgs.JointState,
                          lambda s: commands.publish(echo_actor(s)), QOS_SENSOR_DATA)
        print(f"ready {udp.getsockname()[1]}", flush=True)
        deadline = time.monotonic() + args.seconds + 60
        while time.monotonic() < deadline:
            node.spin_once(0.5)


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    a = np.asarray(values_ms, dtype=np.float64)
    if a.size == 0:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"),
                "max": float("nan")}
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"p50": round(float(p50), 4), "p90": round(float(p90), 4),
            "p99": round(float(p99), 4), "max": round(float(a.max()), 4)}


def _jitter_ms(times_ns: list[int], period_s: float) -> list[float]:
    intervals = np.diff(np.asarray(times_ns, dtype=np.float64)) / 1e6
    return list(np.abs(intervals - period_s * 1e3))


class Inputs:
    """What the driver publishes per state: a bare JointState, or a robot config's inputs."""

    def __init__(self, node: DdsNode, joints: int, config: str | None) -> None:
        self.cfg = None
        self.names = [f"joint_{i}" for i in range(joints)]
        self.extra: list[tuple[Any, Callable[[Any], Any]]] = []
        if config:
            from robot_rl.config import load_config
            from robot_rl.nodes.ros_messages import extras_msg, imu_msg
            from robot_rl.robot import RobotState

            self.cfg = cfg = load_config(config)
            self.names = list(cfg.robot.joints)
            n = cfg.n_joints
            self.base = RobotState(
                stamp=0.0, joint_position=np.array(cfg.robot.nominal),
                joint_velocity=np.zeros(n), joint_effort=np.zeros(n),
                imu_orientation=np.array([0.0, 0.0, 0.0, 1.0]),
                imu_angular_velocity=np.zeros(3),
                foot_contacts=np.ones(len(cfg.robot.foot_links)) if cfg.robot.foot_links else None,
                base_linear_velocity=np.array([0.3, 0.0, 0.0]),
                ee_position=np.array([0.4, 0.0, 0.4]))
            ros = cfg.ros
            if ros.imu_topic:
                pub = node.publisher(ros.imu_topic, msgs.Imu, QOS_SENSOR_DATA)
                self.extra.append((pub, lambda stamp: imu_msg(self.base, stamp)))
            if ros.extras_topic:
                pub = node.publisher(ros.extras_topic, msgs.Float64MultiArray, QOS_SENSOR_DATA)
                self.extra.append((pub, lambda stamp: extras_msg(self.base)))
        topic = self.cfg.ros.joint_states_topic if self.cfg else "/joint_states"
        self.states = node.publisher(topic, msgs.JointState, QOS_SENSOR_DATA)

    def publish(self, q: np.ndarray, stamp_ns: int) -> None:
        """The other inputs first, then the joint state (which triggers the actor's step)."""
        for pub, make in self.extra:
            pub.publish(make(stamp_ns))
        if self.cfg is not None:
            q = np.asarray(self.cfg.robot.nominal) + 0.05 * q
        self.states.publish(msgs.JointState.from_arrays(self.names, q, q * 0.1, q * 0.01,
                                                        stamp_ns=stamp_ns, frame_id="base"))


def measure_dds(args: argparse.Namespace, node: DdsNode,
                ready: Callable[[], bool] | None = None) -> dict[str, object]:
    """Publishes states at the rate and times the commands that come back.

    ``ready``: measuring starts after the warm-up states and once this is true (30 s max).
    """
    period = 1.0 / args.rate
    sent: list[int] = []
    index_of: dict[float, int] = {}  # position[0] of each state -> its index
    arrivals: list[tuple[int, int]] = []  # (arrival ns, index of the state it answers)
    by_content = 0

    def on_command(cmd: msgs.Float64MultiArray) -> None:
        # The echo returns the positions, which identify the state; a real actor's command
        # does not, and is then attributed to the latest state sent.
        nonlocal by_content
        now = time.monotonic_ns()
        index = index_of.get(float(cmd.data[0])) if cmd.data.size else None
        by_content += index is not None
        arrivals.append((now, len(sent) - 1 if index is None else index))

    inputs = Inputs(node, args.joints, args.config)
    commands = node.subscription(args.command_topic, msgs.Float64MultiArray, on_command,
                                 QOS_DEFAULT)
    if not wait_until(lambda: inputs.states.matched_count() > 0
                      and commands.matched_count() > 0, 30):
        raise SystemExit("no actor matched on the DDS topics within 30 s")
    joints = len(inputs.names)
    warmup, ready_by = args.warmup, time.monotonic() + 30
    k = 0
    next_t = time.monotonic()
    while k < warmup + int(args.seconds * args.rate):
        while (wait := next_t - time.monotonic()) > 0:
            node.spin_once(wait)
        if k == warmup - 1 and ready is not None and not ready():
            if time.monotonic() > ready_by:
                raise SystemExit("the actor was not ready within 30 s")
            warmup += 1
        q = np.sin(0.01 * k + np.arange(joints))
        index_of[float(q[0])] = k
        sent.append(time.monotonic_ns())
        inputs.publish(q, node.now_ns())
        next_t += period
        k += 1
    total = k
    args.warmup = warmup
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        node.spin_once(end - time.monotonic())

    kept = [(t, i) for t, i in arrivals if i >= args.warmup]
    by_latest = by_content != len(arrivals)
    extra = 0
    if by_latest:  # the first command after each state answers it; the rest are the
        first: dict[int, int] = {}  # actor's own (watchdog) commands when no state came
        for t, i in kept:
            first.setdefault(i, t)
        extra = len(kept) - len(first)
        kept = [(t, i) for i, t in first.items()]
    latencies = [(t - sent[i]) / 1e6 for t, i in kept]
    answered = {i for _, i in kept}
    measured = total - args.warmup
    return {
        "matched_by": "latest_state" if by_latest else "content",
        "states_sent": measured,
        "commands_received": len(kept) + extra,
        "unanswered": measured - len(answered),
        "unprompted_commands": extra,
        "latency": _percentiles(latencies),
        "period_jitter": _percentiles(_jitter_ms([t for t, _ in kept], period)),
        "state_period_jitter": _percentiles(_jitter_ms(sent[args.warmup:], period)),
    }


def measure_udp(port: int, count: int, rate: float) -> dict[str, float]:
    """The peer: the same-rate ping-pong over a plain loopback UDP socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    payload = bytes(400)  # about a 12-joint JointState
    latencies = []
    next_t = time.monotonic()
    for _ in range(count):
        time.sleep(max(0.0, next_t - time.monotonic()))
        start = time.monotonic_ns()
        sock.sendto(payload, ("127.0.0.1", port))
        try:
            sock.recvfrom(65536)
        except TimeoutError:
            continue
        latencies.append((time.monotonic_ns() - start) / 1e6)
        next_t += 1.0 / rate
    sock.close()
    return _percentiles(latencies)


class WeightsLearner(threading.Thread):
    """A learner on the real transport that sends one set of policy weights and takes the
    actor's transitions (so the actor node runs its full path: network, client, batches)."""

    def __init__(self, cfg: Any) -> None:
        super().__init__(daemon=True)
        import torch

        from robot_rl.distributed.weights import pack_weights, policy_spec
        from robot_rl.sac import SAC
        from robot_rl.spaces import ObservationBuilder
        from robot_rl.transport import LearnerServer

        torch.set_num_threads(1)
        obs_dim = ObservationBuilder(cfg).size
        agent = SAC(obs_dim, cfg.n_joints, cfg.learner, seed=0)
        self.weights = pack_weights({"policy": agent.policy_arrays()},
                                    policy_spec(obs_dim, cfg.n_joints, cfg.learner.hidden))
        self.server = LearnerServer("tcp://127.0.0.1:0")
        self.received = 0
        self.stop = threading.Event()

    def run(self) -> None:
        self.server.publish_weights(1, *self.weights)
        while not self.stop.is_set():
            self.received += sum(len(b.arrays["step"]) for b in self.server.poll(0.05))
            self.server.commit(self.server.state_dict())
        self.server.close()


def spawn_actor(args: argparse.Namespace, tmp: Path, learner: str) -> subprocess.Popen:
    """The real actor node, with the robot config's control rate set to ``--rate``."""
    import yaml

    data = yaml.safe_load(Path(args.config).read_text())
    data["robot"]["control_hz"] = float(args.rate)
    config = tmp / "actor_config.yaml"
    config.write_text(yaml.safe_dump(data))
    cmd = [sys.executable, "-m", "robot_rl.cli", "node", "actor", str(config), "--domain",
           str(args.domain), "--loopback", "--learner", learner, "--no-record"]
    if args.rt_priority > 0 and shutil.which("chrt"):  # SCHED_FIFO, as the driver runs
        cmd = ["chrt", "-f", str(args.rt_priority), *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_driver(args: argparse.Namespace) -> dict[str, object]:
    rt = set_rt_priority(args.rt_priority)
    responder = None
    udp_port = None
    learner = None
    ready = None
    tmp = tempfile.TemporaryDirectory()
    if args.responder == "actor":
        from robot_rl.config import load_config

        cfg = load_config(args.config)
        args.command_topic = cfg.ros.command_topic
        learner = WeightsLearner(cfg)
        learner.start()
        responder = spawn_actor(args, Path(tmp.name), learner.server.endpoint)
        actor_status: dict[str, Any] = {}

        def ready() -> bool:  # the actor acts on the learner's weights
            return actor_status.get("policy_version", -1) >= 1
    if args.responder == "spawn":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--role", "responder",
               "--domain", str(args.domain), "--seconds", str(args.seconds),
               "--command-topic", args.command_topic, "--rt-priority", str(args.rt_priority)]
        responder = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = responder.stdout.readline() if responder.stdout else ""
        if not line.startswith("ready"):
            responder.kill()
            raise SystemExit(f"responder failed to start: {line!r}")
        udp_port = int(line.split()[1])
    try:
        with DdsNode("ros_loop_driver", args.domain, loopback_config()) as node:
            if args.responder == "actor":
                node.subscription(cfg.ros.status_topic, msgs.String,
                                  lambda m: actor_status.update(json.loads(m.data)))
            dds = measure_dds(args, node, ready)
        peer = measure_udp(udp_port, args.peer_count, args.rate) if udp_port else None
    finally:
        if responder is not None:
            responder.kill()
            responder.wait(10)
        if learner is not None:
            learner.stop.set()
            learner.join(10)
        tmp.cleanup()
    latency, jitter = dds["latency"], dds["period_jitter"]
    result: dict[str, object] = {
        "benchmark": "ros_loop",
        "transport": f"dds (cyclonedds {version('cyclonedds')}, loopback, XCDR1)",
        "responder": {"spawn": "echo_actor", "actor": "actor_node"}.get(args.responder,
                                                                          "external"),
        "robot_config": args.config,
        "rate_hz": args.rate,
        "joints": args.joints,
        "rt_priority": args.rt_priority if rt else 0,
        "matched_by": dds["matched_by"],
        "states_sent": dds["states_sent"],
        "commands_received": dds["commands_received"],
        "unanswered": dds["unanswered"],
        "unprompted_commands": dds["unprompted_commands"],
        "latency_ms_p50": latency["p50"],  # type: ignore[index]
        "latency_ms_p90": latency["p90"],  # type: ignore[index]
        "latency_ms_p99": latency["p99"],  # type: ignore[index]
        "latency_ms_max": latency["max"],  # type: ignore[index]
        "period_jitter_ms_p99": jitter["p99"],  # type: ignore[index]
        "state_period_jitter_ms_p99": dds["state_period_jitter"]["p99"],  # type: ignore[index]
        "target_latency_ms_p99": TARGET_P99_MS,
        "meets_target": bool(latency["p99"] <= TARGET_P99_MS),  # type: ignore[index]
        "peer_udp_latency_ms_p50": peer["p50"] if peer else None,
        "peer_udp_latency_ms_p99": peer["p99"] if peer else None,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--role", choices=["driver", "responder"], default="driver")
    parser.add_argument("--rate", type=float, default=50.0, help="state rate in Hz")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration")
    parser.add_argument("--warmup", type=int, default=25, help="states not measured")
    parser.add_argument("--joints", type=int, default=12)
    parser.add_argument("--peer-count", type=int, default=200, help="UDP peer samples")
    parser.add_argument("--domain", type=int, default=100 + os.getpid() % 100)
    parser.add_argument("--command-topic", default="/forward_position_controller/commands")
    parser.add_argument("--responder", choices=["spawn", "actor", "external"], default="spawn",
                        help="spawn: the echo; actor: the real actor node (needs --config); "
                        "external: one already running")
    parser.add_argument("--no-peer", action="store_true",
                        help="with --responder actor: skip the echo/UDP peer run after it")
    parser.add_argument("--config", help="robot config YAML: the driver publishes its inputs "
                        "(default for --responder actor: robot_configs/a1.yaml)")
    parser.add_argument("--rt-priority", type=int, default=0,
                        help="SCHED_FIFO priority for both processes (0: normal scheduling)")
    args = parser.parse_args(argv)
    if args.responder == "actor" and not args.config:
        args.config = str(Path(__file__).resolve().parents[1] / "robot_configs" / "a1.yaml")
    if args.config:
        from robot_rl.config import load_config

        args.joints = load_config(args.config).n_joints
    if args.role == "responder":
        run_responder(args)
        return
    warmup = args.warmup
    result = run_driver(args)
    if args.responder == "actor" and not args.no_peer:
        # the peer under the same load: the echo (and the UDP ping-pong) right after
        echo = run_driver(argparse.Namespace(**{**vars(args), "responder": "spawn",
                                                "config": None, "warmup": warmup,
                                                "command_topic": PEER_COMMAND_TOPIC}))
        result["peer_echo_latency_ms_p50"] = echo["latency_ms_p50"]
        result["peer_echo_latency_ms_p99"] = echo["latency_ms_p99"]
        result["peer_udp_latency_ms_p50"] = echo["peer_udp_latency_ms_p50"]
        result["peer_udp_latency_ms_p99"] = echo["peer_udp_latency_ms_p99"]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
