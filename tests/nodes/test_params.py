"""Node parameters from YAML, the robot config's ros: section, operator command parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.config import RosConfig, load_config
from robot_rl.errors import ConfigError
from robot_rl.nodes.operator import parse
from robot_rl.nodes.params import ActorParams, LearnerParams, load_params
from robot_rl.ros import msgs
from tests.conftest import write_config


def test_params_from_yaml_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("actor_node:\n  ros__parameters:\n    robot_config: a.yaml\n"
                    "    batch_size: 8\n")
    params = load_params(ActorParams, path, "actor_node", {"batch_size": 4, "seed": None})
    assert (params.robot_config, params.batch_size, params.seed) == ("a.yaml", 4, 0)


@pytest.mark.parametrize("text, key", [
    ("actor_node:\n  ros__parameters:\n    colour: red\n", "colour"),
    ("actor_node:\n  ros__parameters:\n    batch_size: lots\n", "batch_size"),
    ("actor_node:\n  ros__parameters:\n    batch_size: 0\n", "batch_size"),
    ("actor_node: 3\n", "actor_node"),
])
def test_bad_params_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_params(ActorParams, path, "actor_node")
    assert str(path) in str(err.value) and key in str(err.value)


def test_learner_params_defaults_bind_loopback() -> None:
    assert load_params(LearnerParams, None, "learner_node").bind_address.startswith(
        "tcp://127.0.0.1")


def test_ros_section_defaults_and_validation(tmp_path: Path, a1_path: Path) -> None:
    cfg = load_config(a1_path)
    assert cfg.ros == RosConfig()
    assert cfg.ros.command_topic == "/forward_position_controller/commands"
    for changes, key in [({"imu_topic": "imu"}, "ros.imu_topic"),
                         ({"command_topic": ""}, "ros.command_topic"),
                         ({"status_hz": 0}, "ros.status_hz"),
                         ({"command_joints": ["FR_hip_joint"]}, "ros.command_joints"),
                         ({"cmd_topic": "/x"}, "ros.cmd_topic")]:
        path = write_config(tmp_path, a1_path, {"ros": changes})
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(path)
    ok = write_config(tmp_path, a1_path, {"ros": {"imu_topic": "", "extras_topic": ""}})
    assert load_config(ok).ros.imu_topic == ""


def test_operator_commands_parse() -> None:
    ros = RosConfig()
    on = parse(["estop", "on"], ros)
    assert on.topic == "/estop" and on.message == msgs.Bool(True)
    assert on.confirmed({"estop": True}) and not on.confirmed({"estop": False})
    task = parse(["task", "stand"], ros)
    assert task.topic == "/robot_rl/operator" and task.message == msgs.String("task stand")
    assert task.refused({"operator_error": "unknown task 'stand'; this robot has walk"})
    assert not task.refused({"operator_error": "unknown task 'walk'; this robot has reach"})
    assert not task.refused({"operator_error": ""}) and not task.refused({})
    assert not parse(["pause"], ros).refused({"operator_error": "unknown task 'pause'"})
    assert parse(["pause"], ros).confirmed({"paused": True})
    assert parse(["status"], ros).message is None
    beat = parse(["heartbeat"], ros)
    assert beat.topic == "/robot_rl/operator" and beat.message == msgs.String("heartbeat")
    for bad in (["estop"], ["estop", "maybe"], ["task"], ["dance"]):
        with pytest.raises(ValueError):
            parse(bad, ros)


def test_params_numbers_read_as_robot_configs_read_them(tmp_path: Path) -> None:
    """A params file is YAML read as robot configs are (``2e-1`` is a number, ``3e1`` fills
    an integer); its syntax errors name the line in one line."""
    path = tmp_path / "params.yaml"
    path.write_text("actor_node:\n  ros__parameters:\n    teleop_max_speed: 2e-1\n"
                    "    batch_size: 3e1\n")
    params = load_params(ActorParams, path, "actor_node")
    assert params.teleop_max_speed == 0.2 and params.batch_size == 30
    path.write_text("actor_node:\n  ros__parameters: [unclosed\n")
    with pytest.raises(ConfigError, match="line") as err:
        load_params(ActorParams, path, "actor_node")
    assert "\\n" not in str(err.value)


def test_addresses_are_checked_with_the_params(tmp_path: Path) -> None:
    """A learner address or bind address ZeroMQ would misread is refused with the params,
    before a node makes its run directory or recording."""
    with pytest.raises(ConfigError, match="learner_address: 'garbage': expected a ZeroMQ"):
        load_params(ActorParams, None, "actor_node", {"learner_address": "garbage"})
    assert load_params(ActorParams, None, "actor_node", {"learner_address": ""}) is not None
    path = tmp_path / "params.yaml"
    path.write_text("learner_node:\n  ros__parameters:\n    bind_address: tcp://*:99999\n")
    with pytest.raises(ConfigError) as err:
        load_params(LearnerParams, path, "learner_node")
    assert str(err.value).startswith(f"{path}: learner_node.ros__parameters.bind_address: ")
    assert "[0, 65535]" in str(err.value)
