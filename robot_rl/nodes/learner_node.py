"""learner_node: the distributed learner (``robot-rl learner``) as a node of the graph.

The learning loop is :class:`robot_rl.distributed.Learner` unchanged: ZeroMQ to the actors
(transitions in, newest weights out), SAC at the config's UTD, atomic checkpoints. The node
adds its status on ``/robot_rl/learner/status`` (std_msgs/String JSON, once a second) and
resumes by itself from the newest checkpoint of ``run_dir``.

Pausing learning is done at the actors (``robot-rl operator pause``): they hold the robot and
stop sending, and since every received transition owes one update the learner finishes
what it owes (at most its update lag) and idles.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from robot_rl.config import RobotConfig
from robot_rl.nodes.params import LearnerParams
from robot_rl.ros import msgs
from robot_rl.ros.api import Node

log = logging.getLogger(__name__)

STATUS_TOPIC = "/robot_rl/learner/status"


class LearnerNode:
    """Owns the transport server and the learner; :meth:`spin_once` interleaves both.

    Args:
        node: The middleware node (for the status topic).
        cfg: The robot config.
        params: Node parameters (bind address, keys, run directory, steps).
        run_dir: The run directory (created by the caller); resumed if it has checkpoints.
    """

    def __init__(self, node: Node, cfg: RobotConfig, params: LearnerParams,
                 run_dir: Path) -> None:
        # torch and ZeroMQ load when a learner node is built, not when this module is imported
        from robot_rl.distributed.learner_loop import (
            LearnerSettings,
            make_learner,
            next_incarnation,
        )
        from robot_rl.runs import RunDir
        from robot_rl.session import check_learner_checkpoint
        from robot_rl.transport import LearnerServer, server_curve

        self.node = node
        run = RunDir(run_dir)
        checkpoint = run.latest_checkpoint() if run.config_path.is_file() else None
        check_learner_checkpoint(run_dir, checkpoint)  # before the run is written to
        curve = server_curve(params.keys) if params.keys else None
        self.server = LearnerServer(params.bind_address, curve, insecure=params.insecure)
        settings = LearnerSettings(checkpoint_every=cfg.train.checkpoint_every,
                                   log_every=cfg.train.log_every, steps=params.steps or None)
        self.learner = make_learner(cfg, self.server, run, settings, params.seed,
                                    next_incarnation(run))
        if checkpoint is None:  # after make_learner: it resolves learner.device, precision
            run.write_config(cfg)
        else:
            self.learner.load(checkpoint)
        self.run = run
        self.status_pub = node.publisher(STATUS_TOPIC, msgs.String)
        node.timer(1.0, self.publish_status)
        log.info("learner listening on %s; run directory %s", self.server.endpoint, run.path)

    @property
    def done(self) -> bool:
        """True once ``steps`` transitions arrived (never with steps 0)."""
        return self.learner.done

    def spin_once(self) -> None:
        """One learner step (poll, store, one update if owed), then the node's callbacks."""
        self.learner.step(timeout_s=0.02)
        self.node.spin_once(0.0)

    def status(self) -> dict[str, Any]:
        """Counters and latest losses of the learner."""
        return {"node": "learner", "endpoint": self.server.endpoint,
                "run_dir": str(self.run.path), "weights_version": self.learner.weights_version,
                **{k: v for k, v in self.learner.summary().items()
                   if isinstance(v, (int, float))}}

    def publish_status(self) -> None:
        """Publishes the status JSON."""
        text = json.dumps(self.status(), sort_keys=True, default=float)
        self.status_pub.publish(msgs.String(text.replace("NaN", "null")))

    def drain(self, quiet_s: float = 0.5, max_s: float = 3.0) -> None:
        """Keeps receiving while actors still send: until ``quiet_s`` passes without a new
        transition (at most ``max_s``). A Ctrl-C under ``ros2 launch`` reaches every node at
        once; this lets the actors' last transitions (sent as they close) in before the
        final checkpoint."""
        start = last = time.monotonic()
        seen = self.learner.received
        while time.monotonic() - last < quiet_s and time.monotonic() - start < max_s:
            self.learner.step(timeout_s=0.02)
            if self.learner.received != seen:
                seen, last = self.learner.received, time.monotonic()

    def close(self) -> None:
        """Drains the actors' last transitions, then the final checkpoint and commit
        (answering actors briefly), then closes the server."""
        try:
            self.drain()
            self.learner.shutdown()
        finally:
            self.server.close()
