"""Learner and actor processes for the multi-process test (run as a script, not collected).

Learner: stores each received transition uid, publishes weights every 0.1 s, and every 0.25 s
writes store + transport marks + weights version atomically to ``DIR/checkpoint.json`` and
then commits. It resumes from that file when restarted, and checkpoints once more on SIGTERM.
While ``DIR/freeze`` exists it neither checkpoints nor commits (it still accepts), and once
it holds transitions its checkpoint lacks it writes their count to ``DIR/unstored``: the
test SIGKILLs it on that file, so the kill always loses accepted batches.

Actor: once connected, waits for ``DIR/go``, then sends ``--count`` uniquely numbered
transitions in batches of 10 (one per 10 ms), keeps stepping while the learner is away, checks
that weight versions only increase, then waits until the learner has committed everything
and prints its metrics as JSON (exit 0); exits 1 on a flush timeout, 2 on an older weights
version, 3 if it never reached the learner.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from robot_rl.transport import ActorClient, LearnerServer, TransportOptions

OPTIONS = TransportOptions(heartbeat_s=0.1, peer_timeout_s=0.6, resend_timeout_s=0.4)


def _save(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def learner(args: argparse.Namespace) -> int:
    ckpt = Path(args.dir) / "checkpoint.json"
    data = json.loads(ckpt.read_text()) if ckpt.exists() else {
        "uids": [], "transport": {"format": 1, "streams": {}}, "version": 0}
    server = LearnerServer(args.bind, options=OPTIONS)
    server.load_state_dict(data["transport"])
    tmp = Path(args.dir) / "endpoint.tmp"
    tmp.write_text(server.endpoint)
    tmp.replace(tmp.with_suffix(""))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    next_weights = next_ckpt = time.monotonic()
    freeze, unstored = Path(args.dir) / "freeze", Path(args.dir) / "unstored"
    checkpointed = len(data["uids"])
    while not stop:
        for batch in server.poll(0.01):
            data["uids"].extend(int(u) for u in batch.arrays["uid"])
        if freeze.exists():  # about to be SIGKILLed: store and commit nothing more
            if len(data["uids"]) > checkpointed and not unstored.exists():
                _save(unstored, {"uids": len(data["uids"]) - checkpointed})
            continue
        now = time.monotonic()
        if now >= next_weights:
            data["version"] += 1
            server.publish_weights(data["version"], {"w": np.full(64, data["version"], "f4")})
            next_weights = now + 0.1
        if now >= next_ckpt or stop:
            data["transport"] = server.state_dict()
            _save(ckpt, data)
            server.commit(data["transport"])
            checkpointed = len(data["uids"])
            next_ckpt = now + 0.25
    data["transport"] = server.state_dict()
    _save(ckpt, data)
    server.close()
    return 0


def actor(args: argparse.Namespace) -> int:
    client = ActorClient(args.connect, args.id, options=OPTIONS, max_memory_bytes=20_000,
                         spill_dir=args.dir)
    work = Path(args.dir)
    deadline = time.monotonic() + 30  # start barrier: every actor connected, then "go"
    while not (client.learner_alive and (work / "go").exists()):
        client.poll(0.02)
        if client.learner_alive:
            (work / f"ready_{args.id}").touch()
        if time.monotonic() > deadline:
            return 3
    last_version, uid = -1, args.first_uid
    end, tick = args.first_uid + args.count, time.monotonic()
    while uid < end:
        n = min(10, end - uid)
        client.send_transitions({"uid": np.arange(uid, uid + n, dtype=np.int64),
                                 "obs": np.zeros((n, 46), np.float32)})
        uid += n
        tick += 0.01  # a 100 Hz actor loop: poll until the next step is due
        while (left := tick - time.monotonic()) > 0:
            client.poll(left)
        update = client.latest_weights()
        if update is not None:
            if update.version <= last_version:
                return 2
            last_version = update.version
    ok = client.flush(args.flush_s)
    print(json.dumps({**client.metrics, "weights_version": last_version}))
    client.close()
    return 0 if ok else 1


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    p = sub.add_parser("learner")
    p.add_argument("--bind", required=True)
    p.add_argument("--dir", required=True)
    p = sub.add_parser("actor")
    p.add_argument("--connect", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--first-uid", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--flush-s", type=float, default=30.0)
    p.add_argument("--dir", required=True)
    args = parser.parse_args()
    return learner(args) if args.role == "learner" else actor(args)


if __name__ == "__main__":
    sys.exit(main())
