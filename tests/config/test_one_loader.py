"""The one config loader: typed aprl/task_graph sections, URDF checks, orientation, bounds."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pybullet
import pytest
import yaml

from robot_rl.aprl.settings import AprlSection
from robot_rl.config import RobotSpec, from_dict, load_config, to_dict
from robot_rl.config.files import MAX_CONFIG_BYTES, parse_yaml
from robot_rl.config.taskgraph import TaskGraphSection
from robot_rl.errors import ConfigError
from tests.conftest import write_config


def _reload(tmp_path: Path, cfg_path: Path) -> tuple:
    """Load, dump as a run directory does (to_dict, no source), load again."""
    first = load_config(cfg_path)
    data = to_dict(first)
    assert "source" not in data
    copy = tmp_path / "copy.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return first, load_config(copy)


@pytest.mark.parametrize("robot", ["a1", "panda"])
def test_sections_are_typed_and_survive_a_run_directory_round_trip(
        tmp_path: Path, robot: str, a1_path: Path, panda_path: Path) -> None:
    first, again = _reload(tmp_path, a1_path if robot == "a1" else panda_path)
    assert isinstance(first.task_graph, TaskGraphSection)
    assert again.task_graph_settings() == first.task_graph_settings()
    assert again.aprl_settings() == first.aprl_settings()
    assert again.robot == first.robot
    if robot == "a1":
        assert isinstance(first.aprl, AprlSection)
        assert first.aprl_settings().range_factor == 4.0  # type: ignore[union-attr]


def test_task_graph_section_still_reads_as_a_mapping(a1_path: Path) -> None:
    """session.enable_task_graph does ``{**cfg.task_graph, "enabled": True, ...}``."""
    cfg = load_config(a1_path)
    assert cfg.task_graph is not None
    assert cfg.task_graph["start"] == "get_up" and "edges" in cfg.task_graph
    assert cfg.task_graph["edges"][0]["from"] == "get_up"
    cfg.task_graph = {**cfg.task_graph, "enabled": True, "mode": "episodic"}  # type: ignore
    settings = cfg.task_graph_settings()
    assert settings is not None and settings.enabled and settings.spec.mode == "episodic"


def test_aprl_and_graph_plain_mappings_go_through_the_same_loader(a1_path: Path) -> None:
    cfg = load_config(a1_path)
    cfg.aprl = {"active": True, "l_mni": 0.3}  # type: ignore[assignment]
    with pytest.raises(ConfigError, match="aprl.l_mni: unknown key; did you mean 'l_min'"):
        cfg.aprl_settings()
    cfg.task_graph = {"start": "a", "tasks": {"a": {"reward": 5}}}  # type: ignore[assignment]
    with pytest.raises(ConfigError, match=r"task_graph.tasks.a.reward: expected a list"):
        cfg.task_graph_settings()


def test_limits_left_out_come_from_the_urdf(tmp_path: Path, a1_path: Path) -> None:
    keys = ("position_lower", "position_upper", "velocity_limit", "effort_limit")
    path = write_config(tmp_path, a1_path, {"robot": {key: None for key in keys}})
    cfg = load_config(path)
    assert cfg.robot.position_upper[1] == pytest.approx(4.18879020479)  # type: ignore[index]
    assert cfg.robot.effort_limit[0] == 20.0 and cfg.robot.velocity_limit[0] == 52.4  # type: ignore[index]
    assert all(len(getattr(cfg.robot, key)) == 12 for key in keys)


def test_nominal_is_checked_against_limits_taken_from_the_urdf(tmp_path: Path,
                                                               a1_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"robot": {
        "position_lower": None, "position_upper": None, "nominal": [0.9] + [0.7] * 11}})
    with pytest.raises(ConfigError, match=r"robot.nominal\[0\]: expected a value within"):
        load_config(path)


def test_limits_beyond_the_urdf_warn_once_valid(tmp_path: Path, a1_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    strong = write_config(tmp_path, a1_path, {"robot": {"effort_limit": [33.5] * 12}},
                          name="strong.yaml")
    with caplog.at_level(logging.WARNING, logger="robot_rl.config"):
        load_config(a1_path)  # the shipped config stays within its URDF
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="robot_rl.config"):
        load_config(strong)  # hips: 33.5 N*m in the config, 20 in the URDF
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "robot.effort_limit: beyond the limits of a1.urdf" in lines[0]
    assert len(lines[0]) < 300
    caplog.clear()
    path = write_config(tmp_path, a1_path, {"robot": {"control_hz": -1.0}})
    with caplog.at_level(logging.WARNING, logger="robot_rl.config"), \
            pytest.raises(ConfigError):
        load_config(path)
    assert caplog.records == []  # an invalid config: the error alone
    with caplog.at_level(logging.WARNING, logger="robot_rl.config"):
        load_config(strong, warn=False)
    assert caplog.records == []


@pytest.mark.parametrize("rpy", [(0.0, 0.0, 0.0), (math.pi / 2, 0.0, 0.0), (0.3, -0.7, 2.1),
                                 (-1.2, 0.4, -3.0)])
def test_base_orientation_rpy_matches_pybullet(a1_path: Path, tmp_path: Path,
                                               rpy: tuple[float, float, float]) -> None:
    path = write_config(tmp_path, a1_path, {"robot": {"base_orientation": list(rpy)}})
    quat = load_config(path).robot.base_quaternion()
    assert quat == pytest.approx(pybullet.getQuaternionFromEuler(rpy), abs=1e-12)


def test_base_orientation_quaternion_is_normalized(a1_path: Path, tmp_path: Path) -> None:
    path = write_config(tmp_path, a1_path, {"robot": {"base_orientation": [0, 0, 2.0, 2.0]}})
    quat = load_config(path).robot.base_quaternion()
    assert quat == pytest.approx((0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)))
    default = load_config(a1_path).robot
    assert default.base_orientation == [0.0, 0.0, 0.0]
    assert default.base_quaternion() == (0.0, 0.0, 0.0, 1.0)
    path = write_config(tmp_path, a1_path, {"robot": {"base_orientation": [0, 0, 0, 0]}})
    with pytest.raises(ConfigError, match="robot.base_orientation: .*non-zero length"):
        load_config(path)


@pytest.mark.parametrize("name", ["a1", "A1_v2-test", "x" * 64])
def test_plain_names_are_accepted(tmp_path: Path, a1_path: Path, name: str) -> None:
    assert load_config(write_config(tmp_path, a1_path, {"name": name})).name == name


@pytest.mark.parametrize("name", ["", "a/b", "..", "a..b", "a b", "-a", "x" * 65, "a\nb",
                                  "C:\\x"])
def test_names_that_are_not_plain_are_refused(tmp_path: Path, a1_path: Path,
                                              name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, a1_path, {"name": name}))
    assert info.value.key == "name" and "\n" not in str(info.value)


def test_aliases_are_refused_before_anything_is_expanded() -> None:
    text = "a: &x [1, 2]\nb: *x\n"
    with pytest.raises(ConfigError, match=r"<yaml>: expected no YAML aliases \(\*x at line 2"):
        parse_yaml(text, "f.yaml")
    assert parse_yaml("a: &x [1, 2]\n", "f.yaml") == {"a": [1, 2]}  # an anchor alone is fine


def test_a_file_at_the_size_limit_loads_and_one_byte_more_is_refused(tmp_path: Path,
                                                                     a1_path: Path) -> None:
    # (how fast it parses is for a benchmark, not a test's gate: issue 12; a parse that
    # never ends still fails here, on the test's timeout)
    base = a1_path.read_text()
    filler = "".join(f"# {i:06d} " + "x" * 60 + "\n" for i in range(MAX_CONFIG_BYTES // 70 + 1))
    path = tmp_path / "big.yaml"
    path.write_bytes((base + filler).encode()[:MAX_CONFIG_BYTES - 1] + b"\n")
    assert path.stat().st_size == MAX_CONFIG_BYTES
    plain = tmp_path / "plain.yaml"
    plain.write_text(base)
    assert to_dict(load_config(path, warn=False)) == to_dict(load_config(plain, warn=False))
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(ConfigError, match="at most"):
        load_config(path, warn=False)


def test_error_parts_are_bounded_and_on_one_line() -> None:
    err = ConfigError("f" * 10_000, "k\n" * 10_000, "e" * 100_000)
    assert "\n" not in str(err) and len(str(err)) <= 300
    assert ConfigError("a.yaml", "x", "short").expected == "short"


def test_union_errors_name_the_arm_of_the_values_shape() -> None:
    """kp is a number or a list: a bad list item is reported as such, not as 'a number'."""
    data = {"urdf": "x", "joints": ["a"], "nominal": [0.0], "action_scale": [0.1],
            "kp": [1.0, "stiff"]}
    with pytest.raises(ConfigError, match=r"robot.kp\[1\]: expected a number, got the string"):
        from_dict(RobotSpec, data, "f.yaml", "robot")


def test_urdf_text_pybullet_reads_is_read_too(tmp_path: Path) -> None:
    """Blank lines before ``<?xml ...?>`` and NUL bytes after ``</robot>`` (both in
    pybullet_data's own files) are not refused; a joint whose parent is no link is."""
    from robot_rl.config.urdf import read_urdf

    body = ('<robot name="r"><link name="a"/><link name="b"/><joint name="j" type="revolute">'
            '<parent link="{parent}"/><child link="b"/><limit lower="-1" upper="1"/></joint>'
            '</robot>')
    path = tmp_path / "r.urdf"
    path.write_bytes(b"\n\n" + b'<?xml version="1.0"?>\n' + body.format(parent="a").encode()
                     + b"\r\n\x00")
    assert read_urdf(path, "c.yaml").actuated == ("j",)
    path.write_text(body.format(parent="nope"))
    with pytest.raises(ConfigError, match="joint 'j' with the <parent> link 'nope'"):
        read_urdf(path, "c.yaml")


def test_fixed_base_follows_the_kind_when_left_out(tmp_path: Path, a1_path: Path,
                                                   panda_path: Path) -> None:
    """docs/configs.md: an arm has a fixed base, a legged robot a free one, unless the config
    says otherwise; the run's config.yaml records the resolved value."""
    arm = load_config(write_config(tmp_path, panda_path, {"robot": {"fixed_base": None}}))
    assert arm.robot.fixed_base is True and to_dict(arm)["robot"]["fixed_base"] is True
    assert load_config(a1_path).robot.fixed_base is False
    free = write_config(tmp_path, panda_path, {"robot": {"fixed_base": False},
                                               "sim": {"gravity_compensation": False}},
                        name="free.yaml")
    assert load_config(free).robot.fixed_base is False  # given: kept


def test_a_run_copied_from_another_machine_finds_its_pybullet_data_urdf(
        tmp_path: Path, a1_path: Path) -> None:
    """A run's config.yaml records the URDF's resolved path; in another installation (another
    machine, virtualenv or Python) the same file is found in this one's pybullet_data."""
    elsewhere = "/opt/other-venv/lib/python3.10/site-packages/pybullet_data/a1/a1.urdf"
    cfg = load_config(write_config(tmp_path, a1_path, {"robot": {"urdf": elsewhere}}))
    import pybullet_data

    assert Path(cfg.robot.urdf) == (Path(pybullet_data.getDataPath()) / "a1/a1.urdf").resolve()
    with pytest.raises(ConfigError, match="robot.urdf"):
        load_config(write_config(tmp_path, a1_path, {"robot": {
            "urdf": "/opt/other-venv/pybullet_data/no_such/robot.urdf"}}, name="gone.yaml"))
