"""actor_node: the thin middleware edge around :class:`~robot_rl.nodes.actor_core.ActorCore`.

Works on any :class:`robot_rl.ros.api.Node` (plain DDS or rclpy). Topics come from the
robot config's ``ros:`` section; QoS: states best effort in (sensor data: matches best-effort
drivers and reliable broadcasters), commands, e-stop, operator and status reliable.

Also: transitions to the learner over ZeroMQ (:class:`~robot_rl.transport.ActorClient`,
batches of ``batch_size`` and at each episode end, with ``step`` numbers as the
distributed learner expects), newest weights back, and the session recording.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robot_rl.config import RobotConfig
from robot_rl.distributed.transitions import pack_transitions
from robot_rl.nodes.actor_core import ActorCore, OperatorError, StepOutput, Transition
from robot_rl.nodes.params import ActorParams
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.session_record import SessionRecorder
from robot_rl.ros import msgs
from robot_rl.ros.api import Node
from robot_rl.ros.wire import QOS_DEFAULT, QOS_SENSOR_DATA
from robot_rl.spaces import ObservationBuilder, pixels_shape

log = logging.getLogger(__name__)


class ActorNode:
    """Subscribes to the robot's state, publishes safe commands at the control rate.

    Args:
        node: The middleware node (``make_node("actor_node", ...)``).
        cfg: The robot config.
        params: Node parameters (learner address, run directory, recording).
        run_dir: Where ``session.mcap`` goes (required when ``params.record_mcap``).
    """

    def __init__(self, node: Node, cfg: RobotConfig, params: ActorParams,
                 run_dir: Path | None = None) -> None:
        self.node, self.cfg, self.params = node, cfg, params
        obs_dim = ObservationBuilder(cfg).size
        policy = Policy(obs_dim, cfg.action_dim, params.seed, pixels_shape(cfg))
        self.core = ActorCore(cfg, policy, params.seed)
        self.actor_id = params.actor_id or f"{cfg.name}-{socket.gethostname()}"[:64]
        graph = cfg.task_graph_settings()
        if graph is not None and getattr(graph, "enabled", False):
            log.warning("task_graph.enabled: the ROS actor does not run task graphs yet; it "
                        "trains task: %s (operator tasks: %s)", cfg.task.kind,
                        ", ".join(self.core.tasks))
        ros = cfg.ros
        self.recorder: SessionRecorder | None = None
        if params.record_mcap:
            assert run_dir is not None, "record_mcap needs a run directory"
            self.recorder = SessionRecorder(run_dir / "session.mcap", {
                "robot": cfg.name, "config": str(cfg.source), "actor_id": self.actor_id})
        self.client = self._connect() if params.learner_address else None
        self._rows: list[Transition] = []
        self.sent = 0
        self._status_key: tuple[Any, ...] = ()
        self.last_operator_error = ""

        self.commands = node.publisher(ros.command_topic, msgs.Float64MultiArray, QOS_DEFAULT)
        self.status_pub = node.publisher(ros.status_topic, msgs.String, QOS_DEFAULT)
        self.reset_pub = (node.publisher(ros.reset_topic, msgs.String, QOS_DEFAULT)
                          if ros.reset_topic else None)
        # IMU and extras first: a spin serves subscriptions in this order, so the joint
        # state that triggers a step finds the other inputs of the same instant in place.
        if ros.imu_topic:
            self._record_topic(ros.imu_topic, msgs.Imu, QOS_SENSOR_DATA)
            node.subscription(ros.imu_topic, msgs.Imu, self._on_imu, QOS_SENSOR_DATA)
        if ros.extras_topic:
            self._record_topic(ros.extras_topic, msgs.Float64MultiArray, QOS_SENSOR_DATA)
            node.subscription(ros.extras_topic, msgs.Float64MultiArray, self._on_extras,
                              QOS_SENSOR_DATA)
        for cam in cfg.cameras:  # frames beside the observation (recorded with transitions)
            node.subscription(cam.topic, msgs.Image, self._on_image(cam.name), QOS_SENSOR_DATA)
        self._record_topic(ros.joint_states_topic, msgs.JointState, QOS_SENSOR_DATA)
        node.subscription(ros.joint_states_topic, msgs.JointState, self._on_joint_state,
                          QOS_SENSOR_DATA)
        node.subscription(ros.estop_topic, msgs.Bool, self._on_estop, QOS_DEFAULT)
        node.subscription(ros.operator_topic, msgs.String, self._on_operator, QOS_DEFAULT)
        if params.teleop:  # interventions: the operator's commands take over while moving
            self._attach_teleop(params)
        node.timer(self.core.dt, self._on_timer)
        node.timer(1.0 / ros.status_hz, self.publish_status)
        if params.start_paused:
            self.core.operator("pause")

    def _attach_teleop(self, params: ActorParams) -> None:
        from robot_rl.demos.teleop import Teleop, TeleopSettings  # arms: URDF kinematics

        settings = TeleopSettings(source="joy" if params.teleop == "joy" else "twist",
                                  topic=params.teleop_topic, max_speed=params.teleop_max_speed)
        teleop = Teleop(self.cfg, settings)
        self.core.teleop = teleop
        self._record_topic(settings.topic_name, settings.message_type, QOS_DEFAULT)

        def on_teleop(msg: Any) -> None:
            teleop.receive(msg, time.monotonic())
            self._record(settings.topic_name, msg)

        self.node.subscription(settings.topic_name, settings.message_type, on_teleop,
                               QOS_DEFAULT)

    def _connect(self) -> Any:
        from robot_rl.transport import ActorClient, client_curve  # ZeroMQ only with a learner

        p = self.params
        curve = client_curve(p.keys, self.actor_id) if p.keys else None
        return ActorClient(p.learner_address, self.actor_id, curve, insecure=p.insecure)

    def _record_topic(self, topic: str, msg_type: type[Any], qos: Any) -> None:
        if self.recorder is not None:
            self.recorder.add_topic(topic, msg_type, qos)

    def _record(self, topic: str, msg: Any) -> None:
        if self.recorder is not None:
            self.recorder.write(topic, msg, self.node.now_ns())

    # ---------------------------------------------------------------- callbacks
    def _on_imu(self, msg: msgs.Imu) -> None:
        self.core.inputs.imu(msg, time.monotonic())
        self._record(self.cfg.ros.imu_topic, msg)

    def _on_extras(self, msg: msgs.Float64MultiArray) -> None:
        self.core.inputs.extras_message(msg, time.monotonic())
        self._record(self.cfg.ros.extras_topic, msg)

    def _on_image(self, camera: str) -> Callable[[msgs.Image], None]:
        def take(msg: msgs.Image) -> None:
            self.core.inputs.camera_image(camera, msg, time.monotonic())
        return take

    def _on_joint_state(self, msg: msgs.JointState) -> None:
        now = time.monotonic()
        self.core.inputs.joint_state(msg, now, self.node.now_ns())
        if self.core.due(now):
            self._after(self.core.step(now))
        self._record(self.cfg.ros.joint_states_topic, msg)

    def _on_estop(self, msg: msgs.Bool) -> None:
        out = self.core.set_estop(msg.data, time.monotonic())
        if out is not None:
            self._publish_command(out)
        self._record(self.cfg.ros.estop_topic, msg)
        self._flush_events()
        self.publish_status()

    def _on_operator(self, msg: msgs.String) -> None:
        self._record(self.cfg.ros.operator_topic, msg)
        try:
            out = self.core.operator(msg.data, time.monotonic())
            self.last_operator_error = ""
        except OperatorError as err:
            self.last_operator_error = str(err)
            log.warning("operator: %s", err)
            out = None
        if out is not None:
            self._publish_command(out)
        if self.client is not None and msg.data.strip() == "pause":
            self._send()
        self._flush_events()
        self.publish_status()

    def _on_timer(self) -> None:
        now = time.monotonic()
        if self.core.overdue(now):  # no state arrived for this period: step anyway (holds)
            self._after(self.core.step(now))
        self._poll_learner()

    # ---------------------------------------------------------------- per step
    def _after(self, out: StepOutput) -> None:
        self._publish_command(out)
        if out.transition is not None:
            self._rows.append(out.transition)
            if self.recorder is not None:
                self.recorder.transition(out.transition, self.node.now_ns())
        if out.episode_end is not None:
            self._send()
            if self.reset_pub is not None:
                self.reset_pub.publish(msgs.String(json.dumps(
                    {"reason": out.episode_end, "episodes": self.core.episodes})))
        if len(self._rows) >= self.params.batch_size:
            self._send()
        self._poll_learner()
        self._flush_events()
        key = (out.hold, out.reason, self.core.task, self.core.paused, self.core.estop,
               self.core.policy.version, self.client is not None and self.client.learner_alive)
        if key != self._status_key:
            self.publish_status()

    def _publish_command(self, out: StepOutput) -> None:
        if out.command is None:  # no complete state yet: nothing is commanded
            return
        msg = msgs.Float64MultiArray.from_array(out.command)
        self.commands.publish(msg)
        self._record(self.cfg.ros.command_topic, msg)

    def _send(self) -> None:
        if not self._rows or self.client is None:
            self._rows.clear()
            return
        if self.client.send_transitions(pack_transitions(self._rows)) is not None:
            self.sent += len(self._rows)
        self._rows = []

    def _poll_learner(self) -> None:
        if self.client is None:
            return
        self.client.poll(0.0)
        self.core.learner_lost = self.params.hold_without_learner and \
            not self.client.learner_alive
        update = self.client.latest_weights()
        if update is not None:
            try:
                self.core.set_weights(update.arrays, update.meta, update.version)
            except ValueError as err:  # WeightsError, or a dynamics model that does not fit
                log.error("ignoring weights version %d: %s", update.version, err)

    def _flush_events(self) -> None:
        if not self.core.events:
            return
        t = self.node.now_ns()
        for event in self.core.events:
            if event["event"] in ("estop", "pause", "resume", "task", "weights"):
                log.info("%s", event)
            if self.recorder is not None:
                self.recorder.event({**event, "actor": self.actor_id}, t)
        self.core.events.clear()

    # ---------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """The core's status plus the learner link and recording."""
        status = self.core.status(time.monotonic())
        c = self.client
        status["learner"] = None if c is None else {
            "address": self.params.learner_address, "alive": c.learner_alive,
            "weights_version": c.weights_version, "sent": self.sent,
            "pending_batches": c.pending_batches, "refused": c.refusal}
        status["actor_id"] = self.actor_id
        status["operator_error"] = self.last_operator_error
        status["recording"] = None if self.recorder is None else str(self.recorder.path)
        return status

    def publish_status(self) -> None:
        """Publishes (and records) the status JSON."""
        status = self.status()
        self._status_key = (status["hold"], status["hold_reason"], status["task"],
                            status["paused"], status["estop"], status["policy_version"],
                            bool(status["learner"] and status["learner"]["alive"]))
        msg = msgs.String(json.dumps(status, sort_keys=True))
        self.status_pub.publish(msg)
        self._record(self.cfg.ros.status_topic, msg)

    def close(self, flush_s: float = 2.0) -> None:
        """Sends the last transitions (waits up to ``flush_s`` for the learner), stops
        recording."""
        self._send()
        if self.client is not None:
            if flush_s > 0 and self.client.learner_alive:
                self.client.flush(flush_s)
            self.client.close()
        self._flush_events()
        if self.recorder is not None:
            self.recorder.close()
