"""``robot-rl launch sim``: the simulated topology as processes, without ROS.

Starts ``learner``, ``sim_bridge`` and ``actor`` (each ``robot-rl node KIND CONFIG`` over
plain DDS) and stops them all on Ctrl-C, SIGTERM, after ``--seconds``, or when one of them
exits. The nodes run in their own sessions, so a terminal Ctrl-C reaches only the launcher,
which stops them in order: the actor first (it sends its last transitions and closes its
recording), then the bridge, then the learner (final checkpoint). What ``ros2 launch
robot_rl_ros sim.launch.py`` does with ROS 2.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from robot_rl.signals_handling import StopFlag, deferred_stop

STOP_ORDER = ("actor", "sim_bridge", "learner")


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def commands(config: str, run_dir: Path, domain: int | None, loopback: bool,
             port: int) -> dict[str, list[str]]:
    """The command line of each node process."""
    base = [sys.executable, "-m", "robot_rl.cli", "node"]
    dds = (["--domain", str(domain)] if domain is not None else []) + \
        (["--loopback"] if loopback else [])
    address = f"tcp://127.0.0.1:{port}"
    return {
        "learner": [*base, "learner", config, "--bind", address,
                    "--run-dir", str(run_dir / "learner"), *dds],
        "sim_bridge": [*base, "sim_bridge", config, *dds],
        "actor": [*base, "actor", config, "--learner", address,
                  "--run-dir", str(run_dir / "actor"), *dds],
    }


def _stop(procs: dict[str, subprocess.Popen], timeout_s: float) -> None:
    """Stops the actor first, then (a moment later, so the learner still receives and
    commits the actor's last transitions) the bridge and the learner."""
    running = {n: p for n, p in procs.items() if p.poll() is None}
    for name in STOP_ORDER:
        proc = running.get(name)
        if proc is None:
            continue
        proc.send_signal(signal.SIGINT)
        if name == "actor":
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass  # still flushing: the learner stays up for its final commit
    deadline = time.monotonic() + timeout_s
    for name, proc in running.items():
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"launch: {name} did not stop within {timeout_s:.0f} s; killing it",
                  file=sys.stderr)
            proc.kill()
            proc.wait(5)


def launch_sim(config: str, run_dir: Path, domain: int | None = None, loopback: bool = False,
               seconds: float | None = None, port: int | None = None) -> int:
    """Runs the simulated topology until Ctrl-C/SIGTERM, ``seconds``, or a node exits.

    Returns:
        0 after a requested stop, 1 if a node exited on its own (its name is printed).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    cmds = commands(config, run_dir, domain, loopback, port or free_port())
    procs: dict[str, subprocess.Popen] = {}
    failed = ""
    with deferred_stop() as stop:  # the first Ctrl-C/SIGTERM: stop in order; a second: now
        try:
            for name in ("learner", "sim_bridge", "actor"):
                procs[name] = subprocess.Popen(cmds[name], start_new_session=True,
                                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
            print(f"launch: {', '.join(f'{n} (pid {p.pid})' for n, p in procs.items())}; "
                  f"run directory {run_dir}; Ctrl-C stops all", file=sys.stderr, flush=True)
            failed = _watch(procs, stop, seconds)
        except KeyboardInterrupt:
            pass
        finally:
            try:
                _stop(procs, timeout_s=15.0)
            except KeyboardInterrupt:  # impatient: kill what is left
                for proc in procs.values():
                    if proc.poll() is None:
                        proc.kill()
                raise
    return 1 if failed else 0


def _watch(procs: dict[str, subprocess.Popen], stop: StopFlag, seconds: float | None) -> str:
    """Waits for a stop signal, ``seconds`` or a node exiting (its name is returned)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        exited = [n for n, p in procs.items() if p.poll() is not None]
        if exited:
            print(f"launch: {exited[0]} exited with status {procs[exited[0]].returncode}; "
                  "stopping the others", file=sys.stderr)
            return exited[0]
        time.sleep(0.1)  # waiting on child processes; no busy loop
    return ""
