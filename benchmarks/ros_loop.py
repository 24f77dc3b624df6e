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

To measure a real actor node instead of the echo, start it on the same domain and pass
``--responder external --command-topic /<controller>/commands``.

Usage:
    python benchmarks/ros_loop.py --json
    python benchmarks/ros_loop.py --json --seconds 30 --rate 50 --joints 12
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_rl.ros import msgs  # noqa: E402
from robot_rl.ros.api import wait_until  # noqa: E402
from robot_rl.ros.dds import DdsNode, loopback_config  # noqa: E402
from robot_rl.ros.wire import QOS_DEFAULT, QOS_SENSOR_DATA  # noqa: E402

TARGET_P99_MS = 5.0


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


def measure_dds(args: argparse.Namespace, node: DdsNode) -> dict[str, object]:
    """Publishes states at the rate and times the commands that come back."""
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

    states = node.publisher("/joint_states", msgs.JointState, QOS_SENSOR_DATA)
    commands = node.subscription(args.command_topic, msgs.Float64MultiArray, on_command,
                                 QOS_DEFAULT)
    if not wait_until(lambda: states.matched_count() > 0 and commands.matched_count() > 0, 30):
        raise SystemExit("no actor matched on the DDS topics within 30 s")
    names = [f"joint_{i}" for i in range(args.joints)]
    total = args.warmup + int(args.seconds * args.rate)
    next_t = time.monotonic()
    for k in range(total):
        while (wait := next_t - time.monotonic()) > 0:
            node.spin_once(wait)
        q = np.sin(0.01 * k + np.arange(args.joints))
        index_of[float(q[0])] = k
        sent.append(time.monotonic_ns())
        states.publish(msgs.JointState.from_arrays(names, q, q * 0.1, q * 0.01,
                                                   stamp_ns=node.now_ns(), frame_id="base"))
        next_t += period
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        node.spin_once(end - time.monotonic())

    kept = [(t, i) for t, i in arrivals if i >= args.warmup]
    latencies = [(t - sent[i]) / 1e6 for t, i in kept]
    answered = {i for _, i in kept}
    measured = total - args.warmup
    return {
        "matched_by": "content" if by_content == len(arrivals) else "latest_state",
        "states_sent": measured,
        "commands_received": len(kept),
        "unanswered": measured - len(answered),
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


def run_driver(args: argparse.Namespace) -> dict[str, object]:
    rt = set_rt_priority(args.rt_priority)
    responder = None
    udp_port = None
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
            dds = measure_dds(args, node)
        peer = measure_udp(udp_port, args.peer_count, args.rate) if udp_port else None
    finally:
        if responder is not None:
            responder.kill()
            responder.wait(10)
    latency, jitter = dds["latency"], dds["period_jitter"]
    result: dict[str, object] = {
        "benchmark": "ros_loop",
        "transport": f"dds (cyclonedds {version('cyclonedds')}, loopback, XCDR1)",
        "responder": "echo_actor" if args.responder == "spawn" else "external",
        "rate_hz": args.rate,
        "joints": args.joints,
        "rt_priority": args.rt_priority if rt else 0,
        "matched_by": dds["matched_by"],
        "states_sent": dds["states_sent"],
        "commands_received": dds["commands_received"],
        "unanswered": dds["unanswered"],
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
    parser.add_argument("--responder", choices=["spawn", "external"], default="spawn")
    parser.add_argument("--rt-priority", type=int, default=0,
                        help="SCHED_FIFO priority for both processes (0: normal scheduling)")
    args = parser.parse_args(argv)
    if args.role == "responder":
        run_responder(args)
        return
    result = run_driver(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
