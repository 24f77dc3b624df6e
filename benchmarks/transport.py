"""Actor -> learner transport benchmark on loopback, with a raw-ZeroMQ peer for comparison.

Measures, with the actor in a separate process:

- ``transitions_per_s``: A1-sized transitions (obs 46 float32, action 12 float32, reward,
  next obs, terminated, truncated) accepted by a ``LearnerServer`` and copied into a numpy
  ring buffer, with acks, de-duplication and a commit every 0.2 s. Target >= 50,000/s.
- ``raw_zmq_transitions_per_s``: the same encoded batches pushed DEALER -> ROUTER with no
  protocol at all, as the ceiling the transport is compared with.
- ``weights_latency_ms_p50`` / ``_p99``: publish -> ``latest_weights()`` on the actor for a
  (256, 256) MLP policy (46 -> 256 -> 256 -> 2x12). Target p99 <= 20 ms.

Usage: ``python benchmarks/transport.py [--json] [--seconds 3] [--batch 256]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robot_rl.transport import ActorClient, LearnerServer  # noqa: E402
from robot_rl.transport.wire import encode  # noqa: E402

OBS, ACT = 46, 12


def a1_batch(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A batch of ``n`` A1-sized transitions."""
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.standard_normal((n, OBS), dtype=np.float32),
        "action": rng.uniform(-1, 1, (n, ACT)).astype(np.float32),
        "reward": rng.standard_normal(n, dtype=np.float32),
        "next_obs": rng.standard_normal((n, OBS), dtype=np.float32),
        "terminated": np.zeros(n, bool),
        "truncated": np.zeros(n, bool),
    }


def policy_weights() -> dict[str, np.ndarray]:
    """Parameters of a 46 -> 256 -> 256 -> 2x12 MLP policy, float32."""
    sizes = [(OBS, 256), (256, 256), (256, 2 * ACT)]
    out: dict[str, np.ndarray] = {}
    for i, (fan_in, fan_out) in enumerate(sizes):
        out[f"l{i}.weight"] = np.random.default_rng(i).standard_normal((fan_out, fan_in),
                                                                       dtype=np.float32)
        out[f"l{i}.bias"] = np.zeros(fan_out, np.float32)
    return out


# -- actor side (child process) -----------------------------------------------------------------

def run_actor(mode: str, endpoint: str, seconds: float, batch: int) -> dict:
    if mode == "raw":
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.sndhwm = 100
        sock.connect(endpoint)
        frames = encode("tr", {"actor": "raw", "inc": 1, "seq": 1, "n": batch}, a1_batch(batch))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if sock.poll(10, zmq.POLLOUT):
                sock.send_multipart(frames, copy=False)
        sock.close(0)
        ctx.term()
        return {}
    client = ActorClient(endpoint, f"bench-{mode}")
    if mode == "transitions":
        data = a1_batch(batch)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if client.pending_batches < 512:
                client.send_transitions(data)
                client.poll(0.0)
            else:
                client.poll(0.002)
        client.close()
        return {}
    latencies: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        client.poll(0.05)
        update = client.latest_weights()
        if update is not None and update.meta.get("t_ns"):
            latencies.append((time.monotonic_ns() - update.meta["t_ns"]) / 1e6)
    client.close()
    return {"latencies_ms": latencies}


def spawn_actor(mode: str, endpoint: str, seconds: float, batch: int) -> subprocess.Popen:
    args = [sys.executable, __file__, "--_actor", mode, "--_endpoint", endpoint,
            "--seconds", str(seconds), "--batch", str(batch)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


# -- learner side -----------------------------------------------------------------------------

def bench_transitions(seconds: float, batch: int) -> float:
    capacity = 1_000_000
    ring = {k: np.empty((capacity, *v.shape[1:]), v.dtype) for k, v in a1_batch(1).items()}
    with LearnerServer("tcp://127.0.0.1:0") as server:
        actor = spawn_actor("transitions", server.endpoint, seconds, batch)
        count, start, pos, next_commit = 0, None, 0, 0.0
        deadline = time.monotonic() + seconds + 30
        while actor.poll() is None and time.monotonic() < deadline:
            for b in server.poll(0.01):
                n = len(b.arrays["reward"])
                if start is None:
                    start = time.monotonic()
                else:
                    count += n
                idx = (pos + np.arange(n)) % capacity
                for key, array in b.arrays.items():
                    ring[key][idx] = array
                pos += n
            if time.monotonic() >= next_commit:
                server.commit(server.state_dict())
                next_commit = time.monotonic() + 0.2
            last = time.monotonic()
        actor.wait(10)
    return count / (last - start) if start is not None and last > start else 0.0


def bench_raw_zmq(seconds: float, batch: int) -> float:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    actor = spawn_actor("raw", f"tcp://127.0.0.1:{port}", seconds, batch)
    count, start, last = 0, None, 0.0
    while actor.poll() is None:
        if sock.poll(50):
            sock.recv_multipart(copy=False)
            last = time.monotonic()
            if start is None:
                start = last
            else:
                count += batch
    actor.wait(10)
    sock.close(0)
    ctx.term()
    return count / (last - start) if start is not None and last > start else 0.0


def bench_weights(samples: int, interval_s: float) -> tuple[list[float], int]:
    weights = policy_weights()
    nbytes = sum(a.nbytes for a in weights.values())
    with LearnerServer("tcp://127.0.0.1:0") as server:
        seconds = samples * interval_s + 3.0
        actor = spawn_actor("weights", server.endpoint, seconds, 1)
        start = time.monotonic()
        while not server.peers() and time.monotonic() - start < 30:
            server.poll(0.01)
        version = 0
        while actor.poll() is None and version < samples:
            version += 1
            server.publish_weights(version, weights, {"t_ns": time.monotonic_ns()})
            until = time.monotonic() + interval_s
            while time.monotonic() < until:
                server.poll(max(0.0, until - time.monotonic()))
        while actor.poll() is None:
            server.poll(0.05)
        out, _ = actor.communicate(timeout=30)
    return json.loads(out)["latencies_ms"], nbytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput run length")
    parser.add_argument("--batch", type=int, default=256, help="transitions per batch")
    parser.add_argument("--samples", type=int, default=200, help="weights publications")
    parser.add_argument("--_actor", help=argparse.SUPPRESS)
    parser.add_argument("--_endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._actor:
        logging.getLogger("robot_rl").setLevel(logging.ERROR)  # the run ends mid-stream
        print(json.dumps(run_actor(args._actor, args._endpoint, args.seconds, args.batch)))
        return 0
    tps = bench_transitions(args.seconds, args.batch)
    raw = bench_raw_zmq(args.seconds, args.batch)
    latencies, nbytes = bench_weights(args.samples, 0.01)
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    result = {
        "transitions_per_s": round(tps),
        "raw_zmq_transitions_per_s": round(raw),
        "batch_size": args.batch,
        "transition_bytes": sum(a.nbytes for a in a1_batch(1).values()),
        "weights_latency_ms_p50": round(float(np.percentile(lat, 50)), 3),
        "weights_latency_ms_p99": round(float(np.percentile(lat, 99)), 3),
        "weights_samples": len(latencies),
        "weights_bytes": nbytes,
        "targets": {"transitions_per_s": 50_000, "weights_latency_ms_p99": 20.0},
        "cpu_count": os.cpu_count(),
    }
    result["meets_targets"] = bool(tps >= 50_000 and result["weights_latency_ms_p99"] <= 20.0)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"transitions/s actor->learner : {result['transitions_per_s']:>10,} "
              f"(raw ZeroMQ peer: {result['raw_zmq_transitions_per_s']:,}; target 50,000)")
        print(f"weights latency p50 / p99     : {result['weights_latency_ms_p50']:.2f} / "
              f"{result['weights_latency_ms_p99']:.2f} ms for {nbytes / 1e3:.0f} kB "
              f"({len(latencies)} samples; target p99 <= 20 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
