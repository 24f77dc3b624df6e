"""Robot configs: shipped files load; each kind of mistake gives one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.cli import main
from robot_rl.config import load_config
from robot_rl.errors import ConfigError
from tests.conftest import write_config


def test_shipped_configs_load(a1_path: Path, panda_path: Path) -> None:
    a1 = load_config(a1_path)
    assert a1.n_joints == 12 and a1.robot.control_hz == 20.0 and a1.sim.physics_hz >= 500
    assert Path(a1.robot.urdf).is_file()
    panda = load_config(panda_path)
    assert panda.n_joints == 7 and panda.robot.kind == "arm"
    assert panda.learner.hidden == [256, 256]  # given
    assert panda.safety.max_state_age_s == 0.25  # default


MISTAKES = [
    # (changes, key named in the message, words expected in the message)
    ({"robot": {"colour": "red"}}, "robot.colour", "unknown key"),
    ({"learner": {"utd": "twenty"}}, "learner.utd", "expected an integer"),
    ({"learner": {"gamma": 1.5}}, "learner.gamma", "discount in [0, 1)"),
    ({"robot": {"nominal": [0.0] * 11}}, "robot.nominal", "list of 12 numbers"),
    ({"robot": {"joints": ["a"] * 12}}, "robot.joints", "unique"),
    ({"robot": {"urdf": "no/such/robot.urdf"}}, "robot.urdf", "existing URDF"),
    ({"robot": {"control_hz": -5.0}}, "robot.control_hz", "(0, 1000]"),
    ({"sim": {"physics_hz": 100.0}}, "sim.physics_hz", "at least 500"),
    ({"sim": {"physics_hz": 510.0}}, "sim.physics_hz", "whole multiple"),
    ({"robot": {"control_hz": 30.0}}, "sim.physics_hz", "got 500.0 (e.g. 510)"),
    ({"robot": {"action_scale": 0.3}}, "robot.action_scale",
     "expected a list of numbers, one per joint"),
    ({"robot": {"action_scale": [0.0] * 12}}, "robot.action_scale",
     "expected at least one value > 0"),
    ({"robot": {"foot_links": []}}, "observation.signals[7]", "needs robot.foot_links"),
    ({"sim": {"fall_height": -0.1}}, "sim.fall_height", "height >= 0"),
    ({"learner": {"actor_ema": 2}}, "learner.actor_ema", "expected a rate in [0, 1]"),
    ({"robot": {"base_position": [0, 0, 0.05]}}, "robot.base_position",
     "expected a spawn height z above sim.fall_height (0.12 m), got 0.05 m"),
    ({"observation": {"signals": ["joint_position", "laser"]}}, "observation.signals[1]",
     "expected an observation signal, got 'laser'; one of joint_position"),
    ({"observation": {"signals": ["joint_positions"]}}, "observation.signals[0]",
     "(did you mean 'joint_position'?)"),
    ({"observation": {"signals": ["base_linear_velocity"]}}, "observation.signals[0]",
     "allow_privileged"),
    ({"task": {"kind": "fly"}}, "task.kind", "one of 'walk', 'reach'"),
    ({"robot": {"kp": [60.0, 60.0]}}, "robot.kp", "list of 12 numbers"),
    ({"robot": {"nominal": [5.0] + [0.7] * 11}}, "robot.nominal[0]", "within"),
    ({"learner": {"hidden": 256}}, "learner.hidden", "a list of"),
    ({"robot": {"effort_limit": [0.0] * 12}}, "robot.effort_limit", "positive"),
    ({"robot": {"fixed_base": "yes"}}, "robot.fixed_base", "true or false"),
    ({"name": None}, "name", "missing required key"),
    ({"task": {"walk": {"direction": "north"}}}, "task.walk.direction", "heading, start"),
    ({"learner": {"device": "gpu"}}, "learner.device", "expected auto, cpu, cuda or cuda:N"),
    ({"learner": {"device": "cuda:x"}}, "learner.device", "got 'cuda:x'"),
    ({"learner": {"device": "tpu"}}, "learner.device", "expected auto, cpu, cuda or cuda:N"),
    ({"learner": {"precision": "fp16"}}, "learner.precision", "one of 'auto', 'fp32', 'bf16'"),
    ({"learner": {"bf16": True, "precision": "fp32"}}, "learner.bf16", "deprecated alias"),
    # one topic in two roles: the actor would read its own status as operator commands, its
    # commands as extras, ... (and DDS refuses one topic with two types)
    ({"ros": {"operator_topic": "/robot_rl/status"}}, "ros.operator_topic",
     "expected a topic of its own, got '/robot_rl/status', which is also ros.status_topic"),
    ({"ros": {"command_topic": "/joint_states"}}, "ros.command_topic",
     "which is also ros.joint_states_topic"),
    ({"cameras": [{"name": "front", "width": 8, "height": 8, "topic": "/imu",
                   "fixed": {"eye": [1, 0, 1], "target": [0, 0, 0]}}]}, "cameras[0].topic",
     "which is also ros.imu_topic"),
    # a simulated latency at or beyond the state age limit: every state stale, every step held
    ({"sim": {"latency_s": 0.25}}, "sim.latency_s", "less than safety.max_state_age_s (0.25 s)"),
    ({"sim": {"latency_s": 1e9}, "safety": {"max_state_age_s": 2.0}}, "sim.latency_s",
     "less than safety.max_state_age_s (2 s)"),
]


@pytest.mark.parametrize("changes,key,words", MISTAKES, ids=[m[1] for m in MISTAKES])
def test_mistake_names_file_key_and_expectation(tmp_path: Path, a1_path: Path, changes: dict,
                                                key: str, words: str) -> None:
    path = write_config(tmp_path, a1_path, changes)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message


def test_broken_yaml_syntax_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: a1\nrobot: {urdf: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: <yaml>: expected valid YAML")
    assert "line" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected an existing robot config file"):
        load_config(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of settings, got a list"):
        load_config(path)


@pytest.mark.parametrize("changes", [m[0] for m in MISTAKES[:10]])
def test_cli_prints_one_line_and_no_traceback(tmp_path: Path, a1_path: Path, changes: dict,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, a1_path, changes)
    assert main(["train", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"robot-rl: config error: {path}: ")
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_config_error_survives_pickling_across_processes() -> None:
    import pickle

    err = ConfigError("a.yaml", "robot.joints", "expected names")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ConfigError) and str(back) == str(err) and back.key == "robot.joints"


def test_numbers_as_the_docs_write_them(tmp_path: Path, a1_path: Path) -> None:
    """``3e-4`` and ``1e6`` (docs/learner.md writes both) are numbers, not the strings that
    PyYAML's YAML 1.1 rules make of them; a whole float fills an integer key."""
    text = a1_path.read_text().replace("warmup_steps: 1000", "warmup_steps: 1000\n"
                                       "  actor_lr: 3e-4\n  critic_lr: 1E-3\n"
                                       "  temperature_lr: .5e-3\n  buffer_size: 1e6\n"
                                       "  batch_size: 256.0")
    path = tmp_path / "exponents.yaml"
    path.write_text(text)
    learner = load_config(path).learner
    assert (learner.actor_lr, learner.critic_lr, learner.temperature_lr) == (3e-4, 1e-3, 5e-4)
    assert learner.buffer_size == 1_000_000 and isinstance(learner.buffer_size, int)
    assert learner.batch_size == 256 and isinstance(learner.batch_size, int)
    import yaml

    assert yaml.safe_load("a: 3e-4") == {"a": "3e-4"}  # PyYAML itself is left alone


@pytest.mark.parametrize(("line", "key", "words"), [
    ("  batch_size: 25.5", "learner.batch_size", "expected an integer, got 25.5"),
    ("  actor_lr: 3e", "learner.actor_lr", "got the string '3e'"),
    ("  actor_lr: 1e999", "learner.actor_lr", "finite"),
])
def test_numbers_that_are_not(tmp_path: Path, a1_path: Path, line: str, key: str,
                              words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(a1_path.read_text().replace("warmup_steps: 1000",
                                                f"warmup_steps: 1000\n{line}"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {key}: ") and words in str(info.value)
