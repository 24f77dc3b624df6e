"""The hardened ``robot-rl`` command line: number checks, --resume of another robot,
``eval --json``, ``inspect``, no third-party banner on stdout, one parser, one signal helper."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from robot_rl.cli import build_parser, main
from robot_rl.cli.parser import MIRRORS
from robot_rl.config import load_config
from robot_rl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robot_rl.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=240)


# ------------------------------------------------------------------------------ numbers
BAD_NUMBERS = [
    (["train", "C", "--steps", "0"], "--steps"),
    (["train", "C", "--steps", "x"], "--steps"),
    (["train", "C", "--seed", "-1"], "--seed"),
    (["train", "C", "--seed", "99999999999999999999999"], "--seed"),  # torch: an overflow
    (["eval", "R", "--seed", str(2**32)], "--seed"),
    (["train", "C", "--threads", "-2"], "--threads"),
    (["eval", "R", "--episodes", "0"], "--episodes"),
    (["eval", "R", "--seed", "-5"], "--seed"),
    (["learner", "C", "--bind", "tcp://127.0.0.1:0", "--steps", "-3"], "--steps"),
    (["learner", "C", "--bind", "tcp://127.0.0.1:0", "--publish-every", "0"],
     "--publish-every"),
    (["learner", "C", "--bind", "tcp://127.0.0.1:0", "--checkpoint-every", "0"],
     "--checkpoint-every"),
    (["actor", "C", "--learner", "tcp://127.0.0.1:1", "--rate-hz", "0"], "--rate-hz"),
    (["actor", "C", "--learner", "tcp://127.0.0.1:1", "--rate-hz", "nan"], "--rate-hz"),
    (["actor", "C", "--learner", "tcp://127.0.0.1:1", "--batch", "0"], "--batch"),
    (["actor", "C", "--learner", "tcp://127.0.0.1:1", "--flush-timeout", "-1"],
     "--flush-timeout"),
    (["actor", "C", "--learner", "tcp://127.0.0.1:1", "--max-steps", "0"], "--max-steps"),
    (["node", "actor", "C", "--seconds", "0"], "--seconds"),
    (["node", "learner", "C", "--seed", "-1"], "--seed"),
    (["node", "actor", "C", "--domain", "300"], "--domain"),
    (["launch", "sim", "C", "--port", "0"], "--port"),
    (["launch", "sim", "C", "--port", "70000"], "--port"),
    (["operator", "status", "--timeout", "0"], "--timeout"),
]


@pytest.mark.parametrize(("argv", "option"), BAD_NUMBERS,
                         ids=[" ".join(a) for a, _ in BAD_NUMBERS])
def test_a_bad_number_is_one_line_and_exit_2(argv: list[str], option: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "expected" in err, err


def test_a_bad_number_from_a_real_process() -> None:
    proc = _cli("train", "robot_configs/a1.yaml", "--steps", "-1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "robot-rl train: error: argument --steps: expected a whole number >= 1, got -1 "
        "(see robot-rl train --help)"]


# ------------------------------------------------------------------------------ defaults
def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _field_default(spec: str) -> object:
    module, rest = spec.split(":")
    owner_name, name = rest.split(".")
    owner = getattr(importlib.import_module(module), owner_name)
    if dataclasses.is_dataclass(owner):
        field = next(f for f in dataclasses.fields(owner) if f.name == name)
        return field.default
    return inspect.signature(owner).parameters[name].default


@pytest.mark.parametrize(("command", "dest", "spec"), MIRRORS)
def test_option_defaults_equal_the_dataclass_defaults(command: str, dest: str,
                                                      spec: str) -> None:
    assert _subparser(command).get_default(dest) == _field_default(spec)


def test_node_options_fall_back_to_the_params_defaults() -> None:
    """`robot-rl node` options default to None: the params file, else the dataclass, decides."""
    from robot_rl.nodes.params import ActorParams

    node = _subparser("node")
    for action in node._actions:
        if action.option_strings and action.dest not in ("help", "loopback", "no_record",
                                                         "insecure"):
            assert action.default is None, action.dest
    assert ActorParams().learner_address in node.format_help().replace("\n", "")


# ------------------------------------------------------------------------------ node options
@pytest.mark.parametrize(("argv", "option"), [
    (["node", "actor", "C", "--bind", "tcp://127.0.0.1:1"], "--bind"),
    (["node", "actor", "C", "--steps", "5"], "--steps"),
    (["node", "learner", "C", "--learner", "tcp://127.0.0.1:1"], "--learner"),
    (["node", "learner", "C", "--id", "robot1"], "--id"),
    (["node", "learner", "C", "--no-record"], "--no-record"),
    (["node", "sim_bridge", "C", "--run-dir", "runs/x"], "--run-dir"),
    (["node", "sim_bridge", "C", "--keys", "keys"], "--keys"),
    (["node", "sim_bridge", "C", "--insecure"], "--insecure"),
])
def test_a_node_option_of_another_kind_is_refused(argv: list[str], option: str) -> None:
    """`node actor --bind ...` ran the actor and ignored --bind (and made a recording)."""
    args = build_parser().parse_args(argv)
    with pytest.raises(ConfigError) as info:
        args.check(args)
    assert info.value.key == option and "only with node" in str(info.value)


def test_node_options_of_the_kind_pass_the_check() -> None:
    for argv in (["node", "actor", "C", "--learner", "", "--id", "a", "--no-record",
                  "--run-dir", "r", "--keys", "k"],
                 ["node", "learner", "C", "--bind", "tcp://127.0.0.1:1", "--steps", "3",
                  "--run-dir", "r", "--insecure"],
                 ["node", "sim_bridge", "C", "--seconds", "1", "--seed", "3"]):
        args = build_parser().parse_args(argv)
        args.check(args)


# ------------------------------------------------------------------------------ resume
def test_resume_with_a_config_for_another_robot_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "a1-run"
    run.mkdir()
    (run / "config.yaml").write_text((ROOT / "robot_configs" / "a1.yaml").read_text())
    for command in (["train"], ["learner", "--bind", "tcp://127.0.0.1:0"]):
        proc = _cli(*command, "robot_configs/panda.yaml", "--resume", str(run))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "'a1'" in lines[0] and "'panda'" in lines[0], lines
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]  # nothing written


def _files(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.mark.parametrize(("state", "words"), [("trainer.json", "robot-rl train --resume"),
                                               ("pretrain.json", "--init")])
def test_a_learner_does_not_resume_another_commands_run(
        tmp_path: Path, tiny_a1: Path, state: str, words: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`robot-rl learner --resume` (and `node learner --run-dir`) of a run that train or
    pretrain wrote: one line naming the command that continues it, the run left as it was
    (it raised FileNotFoundError on sources.npz, after writing endpoint, learner_incarnation
    and a TensorBoard file into the run)."""
    run = tmp_path / "run"
    checkpoint = run / "checkpoints" / "ckpt-00000100"
    checkpoint.mkdir(parents=True)
    (checkpoint / state).write_text('{"step": 100}')
    (checkpoint / "agent.pt").write_bytes(b"")
    (run / "checkpoints" / "LATEST").write_text(checkpoint.name)
    (run / "config.yaml").write_text(tiny_a1.read_text())
    before = _files(run)
    for argv in (["learner", "--bind", "tcp://127.0.0.1:0", "--resume", str(run)],
                 ["node", "learner", str(tiny_a1), "--run-dir", str(run), "--bind",
                  "tcp://127.0.0.1:0", "--seconds", "5", "--loopback"]):
        assert main(argv) == 2
        lines = [line for line in capsys.readouterr().err.splitlines()
                 if line.strip() and "robot_rl" not in line.split(":")[0]]
        assert lines[-1].startswith(f"robot-rl: config error: {run}: <run>: expected a "
                                    "learner's run"), lines
        assert words in lines[-1]
    assert _files(run) == before  # nothing written into it


def test_resume_with_a_changed_config_names_what_does_not_apply(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run's own config.yaml resumes; a config given beside --resume that differs from
    it gets one note naming the keys (learner.device/precision left at auto match what the
    run resolved them to)."""
    from robot_rl.cli.run_cmds import check_resume_robot

    a1 = ROOT / "robot_configs" / "a1.yaml"
    run = tmp_path / "a1-run"
    run.mkdir()
    text = a1.read_text().replace("warmup_steps: 1000", "warmup_steps: 1000\n  device: cpu\n"
                                  "  precision: fp32")
    (run / "config.yaml").write_text(text)
    check_resume_robot(str(a1), str(run))
    assert capsys.readouterr().err == ""  # the same config: nothing to say
    changed = tmp_path / "a1.yaml"
    changed.write_text(a1.read_text().replace("hidden: [256, 256]", "hidden: [64, 64]")
                       .replace("episode_steps: 400", "episode_steps: 100"))
    check_resume_robot(str(changed), str(run))
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "learner.hidden, task.episode_steps (not applied)" in err and str(run) in err


# ------------------------------------------------------------------------------ eval --json
@pytest.mark.timeout(300)
def test_eval_json_stdout_is_one_json_object(tmp_path: Path, tiny_a1: Path) -> None:
    out = tmp_path / "runs"
    assert main(["train", str(tiny_a1), "--steps", "40", "--out", str(out), "--no-progress",
                 "--no-video"]) == 0
    (run,) = out.iterdir()
    proc = _cli("eval", str(run), "--episodes", "1", "--no-video", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "argv[0]" not in proc.stdout and "argv[0]" in proc.stderr  # the banner moved
    result = json.loads(proc.stdout)  # the whole of stdout: one object, nothing else
    assert set(result) == {"mean_return", "forward_velocity", "net_velocity", "final_distance",
                           "success_rate", "nominal_return", "episodes", "steps",
                           "train_wall_s"}
    assert result["episodes"] == 1 and result["steps"] == 40
    assert result["final_distance"] is None  # a walking robot reaches for nothing
    assert result["success_rate"] is None  # ... and has no success test
    assert all(isinstance(result[k], float) for k in ("mean_return", "forward_velocity",
                                                      "net_velocity", "nominal_return"))
    assert result["train_wall_s"] > 0  # training's wall time, recorded in the checkpoint


def test_no_pybullet_banner_on_stdout() -> None:
    code = ("from robot_rl.config import load_config\n"
            "from sim_bridge.pybullet_robot import PyBulletRobot\n"
            "PyBulletRobot(load_config('robot_configs/a1.yaml')).close()\n"
            "print('only this')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "only this\n"


# ------------------------------------------------------------------------------ inspect
@pytest.mark.parametrize(("urdf", "kind", "actuated"), [
    ("a1/a1.urdf", "legged", 12), ("franka_panda/panda.urdf", "arm", 9)])
def test_inspect_lists_joints_and_its_skeleton_loads(urdf: str, kind: str, actuated: int,
                                                     tmp_path: Path) -> None:
    proc = _cli("inspect", urdf, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["actuated"]) == actuated and data["links"]
    joints = {j["name"]: j for j in data["joints"]}
    assert set(data["actuated"]) <= set(joints)
    for j in joints.values():
        assert set(j) == {"name", "type", "lower", "upper", "effort", "velocity"}
    if kind == "legged":
        assert joints["FR_hip_joint"]["effort"] == 20.0
        assert joints["FR_toe_fixed"]["type"] == "fixed"
    skeleton = data["skeleton"]
    assert "kind: CHOOSE" in skeleton  # left to the user
    config = tmp_path / "new.yaml"
    config.write_text(skeleton)
    with pytest.raises(Exception, match="robot.kind"):
        load_config(config)
    filled = skeleton.replace("kind: CHOOSE", f"kind: {kind}")
    if kind == "arm":
        filled = filled.replace("# arm: ", "")
    config.write_text(filled)
    cfg = load_config(config)
    assert cfg.robot.joints == data["actuated"] and cfg.robot.kind == kind
    for lo, hi, q0 in zip(cfg.robot.position_lower or [], cfg.robot.position_upper or [],
                          cfg.robot.nominal, strict=True):
        assert lo <= q0 <= hi and q0 == pytest.approx((lo + hi) / 2)

    text = _cli("inspect", urdf, cwd=tmp_path)  # the human-readable form
    assert text.returncode == 0 and data["actuated"][0] in text.stdout
    assert "links:" in text.stdout and "kind: CHOOSE" in text.stdout


def test_inspect_names_each_placeholder_and_the_joints_it_stands_in_for(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the values the URDF lacks are called placeholders, each with its joints; a long
    joint name widens the table instead of pushing its row out of line."""
    urdf = tmp_path / "mixed.urdf"
    long_name = "a_joint_name_longer_than_the_column"
    urdf.write_text(f"""<?xml version="1.0"?>
<robot name="mixed">
  <link name="base"/><link name="a"/><link name="b"/>
  <joint name="spin" type="continuous"><parent link="base"/><child link="a"/>
    <limit effort="5" velocity="2"/></joint>
  <joint name="{long_name}" type="revolute"><parent link="a"/><child link="b"/>
    <limit lower="-1" upper="1" effort="3"/></joint>
</robot>
""")
    assert main(["inspect", str(urdf)]) == 0
    out = capsys.readouterr().out
    notes = [line.strip() for line in out.splitlines() if "placeholder" in line]
    assert notes == [
        "# NOT in the URDF, placeholder position limits (+/-3.142) to replace: spin",
        f"# NOT in the URDF, placeholder velocity_limit (10) to replace: {long_name}"], notes
    rows = [line for line in out.splitlines() if line.startswith(("joint ", "spin ", long_name))]
    assert len({row.index(" revolute") if "revolute" in row else row.index(" continuous")
                if "continuous" in row else row.index(" type") for row in rows}) == 1, rows


def test_inspect_of_a_missing_or_broken_urdf_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot><link")
    for target in ("no/such.urdf", str(broken)):
        proc = _cli("inspect", target)
        assert proc.returncode == 2 and proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# ------------------------------------------------------------------------------ structure
def test_one_parser_and_one_signal_helper() -> None:
    """Only robot_rl/cli/parser.py builds argument parsers; only robot_rl/signals_handling.py
    installs signal handlers."""
    package = ROOT / "robot_rl"
    for path in package.rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(ROOT).as_posix()
        if re.search(r"\bsignal\.signal\(", text):
            assert rel == "robot_rl/signals_handling.py", rel
        if "add_parser(" in text or "ArgumentParser(" in text:
            assert rel == "robot_rl/cli/parser.py", rel
    assert not (package / "cli.py").exists()
