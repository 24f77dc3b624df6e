"""Node parameters: what each node reads from YAML under ``<node>: ros__parameters:``.

The same dataclasses serve both ways of running a node: ``ros2 run``/``ros2 launch`` (the
rclpy entry points declare one ROS parameter per field, defaults from here) and
``robot-rl node KIND CONFIG --params FILE`` without ROS (the file is read and validated
here; command-line options override it). Topic names are not parameters: they come from the
robot config's ``ros:`` section (and ROS remapping, ``-r /joint_states:=/a1/joint_states``).

Under rclpy every parameter is declared read-only (a change at run time would do nothing, so
``ros2 param set`` is refused) and the values go through the same validation as here.

Example ``params.yaml``::

    actor_node:
      ros__parameters:
        robot_config: /path/to/a1.yaml
        learner_address: tcp://10.0.0.2:5555
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from robot_rl.config.files import parse_yaml
from robot_rl.config.loader import Fail, from_dict
from robot_rl.errors import ConfigError
from robot_rl.transport.keys import address_problem

P = TypeVar("P")


@dataclass
class ActorParams:
    """Parameters of ``actor_node``."""

    robot_config: str = ""  # robot config YAML (topics, joints, limits, task, learner sizes)
    learner_address: str = "tcp://127.0.0.1:5555"  # ZeroMQ address of the learner; "": none
    actor_id: str = ""  # name at the learner (and CURVE key name); "": <robot>-<host name>
    keys: str = ""  # CurveZMQ key directory (robot-rl keys generate); "": none (loopback)
    insecure: bool = False  # allow plaintext to a non-loopback learner
    run_dir: str = ""  # recording and log folder; "": runs/<robot>-actor-<time>
    record_mcap: bool = True  # record states, commands, events, transitions (session.mcap)
    batch_size: int = 32  # transitions per message to the learner (and at episode ends)
    start_paused: bool = False  # hold until the operator resumes (robot-rl operator resume)
    autostart: bool = False  # under rclpy (a managed node): configure and activate at start
    # instead of waiting for `ros2 lifecycle set /actor_node configure`, then `activate`
    hold_without_learner: bool = False  # hold while the learner is unreachable (else act on
    # the last weights; transitions stay buffered either way)
    seed: int = 0  # random actions, exploration noise, reach targets
    teleop: str = ""  # interventions: "joy" (sensor_msgs/Joy) or "twist" (geometry_msgs/
    # Twist) operator commands take over while they move (docs/demos.md); "": none
    teleop_topic: str = ""  # "": /joy or /cmd_vel
    teleop_max_speed: float = 0.1  # end-effector speed at full stick (m/s)

    def validate(self, fail: Fail) -> None:
        if self.batch_size < 1:
            fail("batch_size", "expected a count >= 1")
        if self.teleop not in ("", "joy", "twist"):
            fail("teleop", f"expected '', 'joy' or 'twist', got {self.teleop!r}")
        if self.teleop_max_speed <= 0:
            fail("teleop_max_speed", "expected a positive speed (m/s)")
        problem = address_problem(self.learner_address, bind=False)
        if self.learner_address and problem is not None:  # found before anything is made
            fail("learner_address", f'{problem} (or "" for none)')


@dataclass
class BridgeParams:
    """Parameters of ``sim_bridge_node``."""

    robot_config: str = ""  # the same robot config YAML as the actor's
    respawn_on_fall: bool = True  # respawn a fallen legged robot by itself
    status_topic: str = "/robot_rl/sim_bridge/status"  # std_msgs/String JSON: ticks, resets
    seed: int = 0  # sensor noise


@dataclass
class LearnerParams:
    """Parameters of ``learner_node`` (the ``robot-rl learner`` loop)."""

    robot_config: str = ""  # the robot config YAML (learner settings, sizes)
    bind_address: str = "tcp://127.0.0.1:5555"  # where actors connect; tcp://*:5555 for
    # actors on other machines (then with keys, or insecure)
    keys: str = ""  # CurveZMQ key directory with the learner key pair and actors/ allow-list
    insecure: bool = False  # allow plaintext on a non-loopback address
    run_dir: str = ""  # checkpoints and metrics; "": runs/<robot>-<time>
    steps: int = 0  # stop after this many transitions (0: run until shut down)
    seed: int = 0  # network initialization, replay sampling

    def validate(self, fail: Fail) -> None:
        if self.steps < 0:
            fail("steps", "expected a count >= 0")
        problem = address_problem(self.bind_address, bind=True)
        if problem is not None:  # found before a run directory is made
            fail("bind_address", problem)


PARAMS: dict[str, type[Any]] = {"actor_node": ActorParams, "sim_bridge_node": BridgeParams,
                                "learner_node": LearnerParams}
"""Node name -> its parameter dataclass."""


def load_params(cls: type[P], path: str | Path | None, node: str,
                overrides: dict[str, Any] | None = None) -> P:
    """Parameters of ``node`` from a ROS 2 params YAML (if given), then ``overrides``.

    Raises:
        ConfigError: Naming the file and key for unknown keys or wrong types.
    """
    values: dict[str, Any] = {}
    name = str(path) if path else "<command line>"
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(name, "<file>", f"expected a readable params YAML ({err})") from None
        data = parse_yaml(text, name) or {}  # as robot configs are read: 1e-3 is a number
        section = data.get(node, {}) if isinstance(data, dict) else None
        if not isinstance(section, dict) or not isinstance(
                section.get("ros__parameters", {}), dict):
            raise ConfigError(name, node, "expected a mapping with ros__parameters")
        values.update(section.get("ros__parameters") or {})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return from_dict(cls, values, name, f"{node}.ros__parameters" if path else "")


def declare_defaults(cls: type[Any]) -> dict[str, Any]:
    """Field name -> default, for declaring ROS parameters."""
    return {f.name: f.default for f in dataclasses.fields(cls)}
