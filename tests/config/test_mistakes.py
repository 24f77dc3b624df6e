"""A corpus of config and command-line mistakes, each run as a real `robot-rl train` process.

Every case must end with exit status 2, no traceback, at most 3 lines of at most 300
characters on stderr, naming the key (or the file), and with no run directory left under
--out. The processes run in parallel (the mistakes are found before any training); a 60 s
limit per case guards against hangs only (a loaded 2-core machine took 10 s for one).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import merge

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "robot_configs" / "a1.yaml"
PANDA = ROOT / "robot_configs" / "panda.yaml"
PUSH = ROOT / "robot_configs" / "panda_push.yaml"
MAX_SECONDS = 60.0  # a hang guard, not a timing gate: found before training, not raced


def changed(changes: dict, base: Path = A1) -> Callable[[Path], bytes]:
    """A copy of ``base`` with nested ``changes`` (None deletes a key), as YAML bytes."""
    def make(folder: Path) -> bytes:
        data = yaml.safe_load(base.read_text())
        merge(data, changes)
        return yaml.safe_dump(data, sort_keys=False).encode()
    return make


def raw(content: bytes) -> Callable[[Path], bytes]:
    return lambda folder: content


def a1_text() -> str:
    return A1.read_text()


TINY_URDF = """<?xml version="1.0"?>
<robot name="tiny">
  <link name="base"/>
  <link name="arm"/>
  <joint name="spin" type="continuous">
    <parent link="base"/><child link="arm"/><axis xyz="0 0 1"/>
    <limit effort="5" velocity="2"/>
  </joint>
</robot>
"""


def tiny_arm(folder: Path) -> bytes:
    """An arm on a URDF whose one joint is continuous, with no position limits given."""
    (folder / "tiny.urdf").write_text(TINY_URDF)
    data = yaml.safe_load(PANDA.read_text())
    data.pop("ros", None)
    data.pop("task_graph", None)
    data.pop("aprl", None)
    data["name"] = "tiny"
    data["robot"] = {"kind": "arm", "urdf": "tiny.urdf", "joints": ["spin"], "nominal": [0.0],
                     "action_scale": [0.1], "fixed_base": True, "end_effector_link": "arm"}
    return yaml.safe_dump(data, sort_keys=False).encode()


INERTIAL = ('<inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" '
            'ixz="0" iyz="0"/></inertial>')


def one_joint_arm(parent: str = "base", arm_extra: str = "") -> Callable[[Path], bytes]:
    """An arm config on a one-joint URDF of its own: ``parent`` names the joint's parent
    link, ``arm_extra`` goes inside the moving link (tests/sim_bridge gives it a mesh that
    is not there)."""
    def make(folder: Path) -> bytes:
        (folder / "arm.urdf").write_text(f"""<?xml version="1.0"?>
<robot name="one">
  <link name="base">{INERTIAL}</link>
  <link name="arm">{INERTIAL}{arm_extra}</link>
  <joint name="j" type="revolute"><parent link="{parent}"/><child link="arm"/>
    <axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="5" velocity="2"/></joint>
</robot>
""")
        return yaml.safe_dump({
            "name": "one", "robot": {"kind": "arm", "urdf": "arm.urdf", "joints": ["j"],
                                     "nominal": [0.0], "action_scale": [0.3],
                                     "fixed_base": True, "end_effector_link": "arm"},
            "task": {"kind": "reach", "episode_steps": 10},
            "observation": {"signals": ["joint_position", "ee_position", "target_delta"]},
        }).encode()
    return make


def urdf_file(content: str, name: str = "robot.urdf") -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        (folder / name).write_text(content)
        return changed({"robot": {"urdf": name}})(folder)
    return make


def trained_run(steps: int) -> Callable[[Path], bytes]:
    """A run directory ``folder/run`` whose newest checkpoint has trained ``steps`` steps
    (its config the A1's), and the A1 config as the case's config."""
    def make(folder: Path) -> bytes:
        checkpoint = folder / "run" / "checkpoints" / f"ckpt-{steps:08d}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "trainer.json").write_text(f'{{"step": {steps}}}')
        (checkpoint.parent / "LATEST").write_text(checkpoint.name)
        (folder / "run" / "config.yaml").write_text(a1_text())
        return a1_text().encode()
    return make


FRONT = {"name": "front", "width": 84, "height": 84,
         "fixed": {"eye": [1.0, 0.0, 0.6], "target": [0.0, 0.0, 0.2]}}
WRIST = {"name": "wrist", "width": 84, "height": 84, "link": "panda_hand"}


BILLION_LAUGHS = b"""name: a1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
robot: *h
"""


@dataclass
class Case:
    """One mistake: how to write the config, extra CLI arguments, and words on stderr."""

    id: str
    make: Callable[[Path], bytes] | None  # None: the CLI case builds its own arguments
    words: tuple[str, ...]
    args: Callable[[Path, Path], list[str]] = field(
        default=lambda folder, config: ["train", str(config), "--steps", "10"])


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _args(*extra: str) -> Callable[[Path, Path], list[str]]:
    return lambda folder, config: ["train", str(config), "--steps", "10", *extra]


CASES = [
    # names that exist only in the URDF (typos) or are the wrong kind of thing there
    Case("joint-typo", changed({"robot": {"joints": ["FR_hip_jiont"] + yaml.safe_load(
        A1.read_text())["robot"]["joints"][1:]}}), ("robot.joints[0]", "FR_hip_joint")),
    Case("fixed-joint", changed({"robot": {"joints": ["FR_hip_fixed"] + yaml.safe_load(
        A1.read_text())["robot"]["joints"][1:]}}), ("robot.joints[0]", "fixed")),
    Case("foot-link-typo", changed({"robot": {"foot_links": ["FR_toe", "FL_tow", "RR_toe",
                                                            "RL_toe"]}}),
         ("robot.foot_links[1]", "FL_toe")),
    Case("ee-link-typo", changed({"robot": {"end_effector_link": "panda_grasp_target"}}, PANDA),
         ("robot.end_effector_link", "panda_grasptarget")),
    Case("ee-is-base-link", changed({"robot": {"end_effector_link": "panda_link0"}}, PANDA),
         ("robot.end_effector_link", "base link")),
    Case("limits-in-neither", tiny_arm, ("robot.position_lower", "continuous")),
    # files that are not a (readable) URDF
    Case("urdf-missing", changed({"robot": {"urdf": "no/such/robot.urdf"}}), ("robot.urdf",)),
    Case("urdf-not-xml", urdf_file("this is not a robot\n"), ("robot.urdf", "not XML")),
    Case("urdf-wrong-root", urdf_file("<html><body>hi</body></html>"),
         ("robot.urdf", "<html>")),
    Case("urdf-xacro", urdf_file('<robot xmlns:xacro="http://www.ros.org/wiki/xacro" name="r">'
                                 '<xacro:property name="a" value="1"/></robot>'),
         ("robot.urdf", "xacro")),
    Case("urdf-entity-bomb", urdf_file('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">'
                                       ']><robot name="r">&a;</robot>'), ("robot.urdf", "DTD")),
    Case("urdf-joint-parent-not-a-link", one_joint_arm(parent="bse"),
         ("robot.urdf", "<parent> link 'bse'")),
    # encodings, sizes and YAML structure
    Case("latin1-bytes", lambda folder: a1_text().replace("quadruped", "quadrup\u00e9d")
         .encode("latin-1"), ("<file>", "UTF-8")),
    Case("utf16", lambda folder: a1_text().encode("utf-16"), ("<file>", "UTF-8")),
    Case("oversized", lambda folder: (a1_text() + "#" * 400 + "\n") .encode() * 1000,
         ("<file>", "at most")),
    Case("alias-bomb", raw(BILLION_LAUGHS), ("<yaml>", "aliases")),
    Case("deep-nesting", raw(b"name: a1\nrobot: " + b"[" * 5000 + b"]" * 5000 + b"\n"),
         ("<yaml>", "nesting")),
    Case("huge-integer", raw(a1_text().replace("steps: 4000", "steps: " + "9" * 6000)
                             .encode()), ("<yaml>",)),
    Case("duplicate-key", raw(a1_text().replace("name: a1", "name: a1\nname: b1").encode()),
         ("<yaml>", "twice")),
    Case("broken-syntax", raw(b"name: a1\nrobot: {urdf: [unclosed\n"), ("<yaml>", "line")),
    Case("not-a-mapping", raw(b"- 1\n- 2\n"), ("<root>", "mapping")),
    # name
    Case("name-slash", changed({"name": "../../etc/a1"}), ("name", "path separators")),
    Case("name-backslash", changed({"name": "a1\\evil"}), ("name",)),
    Case("name-huge", changed({"name": "a" * 100_000}), ("name",)),
    # types, keys, lengths and ranges
    Case("unknown-top-key", changed({"robt": {}}), ("robt", "did you mean 'robot'")),
    Case("unknown-nested-key", changed({"robot": {"colour": "red"}}), ("robot.colour",)),
    Case("huge-unknown-key", changed({"robot": {"k" * 50_000: 1}}), ("robot.kkk",)),
    Case("wrong-type", changed({"learner": {"utd": "twenty"}}), ("learner.utd", "integer")),
    Case("bool-as-key", raw(a1_text().replace("safety:", "safety:\n  on: 1").encode()),
         ("safety", "quote")),
    Case("per-joint-length", changed({"robot": {"nominal": [0.0] * 11}}),
         ("robot.nominal", "12")),
    Case("safety-length", changed({"safety": {"max_step": [0.1] * 5}}),
         ("safety.max_step", "12")),
    Case("gamma-range", changed({"learner": {"gamma": 1.5}}), ("learner.gamma",)),
    Case("recipe-typo", changed({"learner": {"recipe": "crossq-wn"}}),
         ("learner.recipe", "'crossq_wn'")),
    Case("weight-norm-type", changed({"learner": {"recipe": "crossq_wn", "weight_norm": "on"}}),
         ("learner.weight_norm", "true or false")),
    Case("nan", raw(a1_text().replace("warmup_steps: 1000",
                                      "warmup_steps: 1000\n  gamma: .nan").encode()),
         ("learner.gamma", "finite")),
    Case("negative-rate", changed({"robot": {"control_hz": -5.0}}), ("robot.control_hz",)),
    Case("huge-buffer", changed({"learner": {"buffer_size": 10**40}}),
         ("learner.buffer_size",)),
    Case("orientation-length", changed({"robot": {"base_orientation": [0.0, 1.0]}}),
         ("robot.base_orientation",)),
    Case("limit-pair", changed({"robot": {"position_upper": None}}),
         ("robot.position_upper",)),
    Case("foot-link-twice", changed({"robot": {"foot_links": ["FR_toe", "FL_toe", "FR_toe",
                                                              "RL_toe"]}}),
         ("robot.foot_links[2]", "twice")),
    Case("foot-contacts-without-feet", changed({"robot": {"foot_links": []}}),
         ("observation.signals[7]", "robot.foot_links")),
    Case("render-huge", changed({"sim": {"render_width": 100_000}}),
         ("sim.render_width", "2048")),
    Case("fall-tilt-beyond-180", changed({"sim": {"fall_tilt_deg": 500}}),
         ("sim.fall_tilt_deg", "180")),
    # sections parsed by the same loader: aprl and task_graph
    Case("aprl-typo", changed({"aprl": {"l_mni": 0.2}}), ("aprl.l_mni", "l_min")),
    Case("aprl-signal", changed({"aprl": {"surprise_signals": ["laser"]}}),
         ("aprl.surprise_signals",)),
    Case("graph-start", changed({"task_graph": {"start": "stnd"}}), ("task_graph.start",)),
    Case("graph-edge-key", changed({"task_graph": {"edges": [{"form": "get_up"}]}}),
         ("task_graph.edges[0].form", "from")),
    Case("aprl-and-graph", changed({"aprl": {"active": True}, "task_graph": {"enabled": True}}),
         ("aprl.active",)),
    Case("prior-data-missing", changed({"learner": {"prior_data": "no_such.npz"}}),
         ("learner.prior_data",)),
    Case("device-gpu", changed({"learner": {"device": "gpu"}}), ("learner.device", "cuda:N")),
    Case("hindsight-negative", changed({"task": {"reach": {"hindsight": -1}}}, PANDA),
         ("task.reach.hindsight", "0..16")),
    Case("hindsight-unseen-target", changed({"task": {"reach": {"hindsight": 4}},
                                             "observation": {"signals": ["joint_position"]}},
                                            PANDA), ("task.reach.hindsight", "target_delta")),
    Case("push-box-inverted", changed({"task": {"push": {"block_low": [0.5, 0.15],
                                                          "block_high": [0.4, -0.15]}}}, PUSH),
         ("task.push.block_high", "block_low")),
    Case("push-negative-size", changed({"task": {"push": {"block_size": -0.04}}}, PUSH),
         ("task.push.block_size", "positive")),
    Case("push-goal-3d", changed({"task": {"push": {"goal": [0.6, 0.0, 0.02]}}}, PUSH),
         ("task.push.goal", "[x, y]")),
    Case("push-success-typo", changed({"task": {"push": {"success": "blok_distance < 0.05"}}},
                                      PUSH), ("task.push.success", "block_distance")),
    Case("push-on-legs", changed({"task": {"kind": "push"}}), ("task.kind", "needs an arm")),
    Case("precision-fp16", changed({"learner": {"precision": "fp16"}}),
         ("learner.precision", "bf16")),
    *([] if _cuda() else [  # refused when the learner is built, before a run directory
        Case("cuda-without-gpu", changed({"learner": {"device": "cuda"}}),
             ("learner.device", "not available"))]),
    # command-line mistakes
    Case("steps-zero", changed({}), ("--steps",),
         lambda folder, config: ["train", str(config), "--steps", "0"]),
    Case("steps-text", changed({}), ("--steps",),
         lambda folder, config: ["train", str(config), "--steps", "ten"]),
    Case("unknown-option", changed({}), ("--colour",), _args("--colour", "red")),
    Case("out-is-a-file", changed({}), ("--out",),
         lambda folder, config: ["train", str(config), "--steps", "10", "--out",
                                 str(config)]),
    Case("resume-no-steps-left", trained_run(300), ("--steps", "total to reach", "600"),
         lambda folder, config: ["train", "--resume", str(folder / "run"), "--steps", "300"]),
    Case("resume-train-steps-reached", trained_run(5000), ("train.steps", "--steps"),
         lambda folder, config: ["train", "--resume", str(folder / "run")]),
    Case("resume-adds-a-task-graph", trained_run(300), ("--task-graph", "without a task graph"),
         lambda folder, config: ["train", "--resume", str(folder / "run"), "--steps", "600",
                                 "--task-graph", "reset_free"]),
    Case("eval-video-folder-missing", None, ("--video", "existing folder"),
         lambda folder, config: ["eval", str(folder), "--video",
                                 str(folder / "no" / "eval.mp4")]),
    Case("eval-video-not-mp4", None, ("--video", ".mp4"),
         lambda folder, config: ["eval", str(folder), "--video", str(folder / "eval.txt")]),
    Case("actor-spill-dir-a-file", changed({}), ("--spill-dir", "not a folder"),
         lambda folder, config: ["actor", str(config), "--learner", "tcp://127.0.0.1:5555",
                                 "--spill-dir", str(config)]),
    Case("actor-spill-dir-missing", changed({}), ("--spill-dir", "missing"),
         lambda folder, config: ["actor", str(config), "--learner", "tcp://127.0.0.1:5555",
                                 "--spill-dir", str(folder / "spill")]),
    Case("operator-unknown-task", changed({}), ("'dance'", "walk, stand"),
         lambda folder, config: ["operator", "task", "dance", "--config", str(config)]),
    Case("learner-port-beyond-65535", changed({}), ("--bind", "65535"),
         lambda folder, config: ["learner", str(config), "--bind", "tcp://127.0.0.1:99999"]),
    Case("learner-bind-not-an-address", changed({}), ("--bind", "tcp://HOST:PORT"),
         lambda folder, config: ["learner", str(config), "--bind", "127.0.0.1:5555"]),
    Case("actor-learner-port-zero", changed({}), ("--learner", "[1, 65535]"),
         lambda folder, config: ["actor", str(config), "--learner", "tcp://127.0.0.1:0"]),
    Case("out-under-a-file", changed({}), ("--out", "is a file"),
         lambda folder, config: ["train", str(config), "--steps", "10", "--out",
                                 str(config / "runs")]),
    Case("learner-run-dir-under-a-file", changed({}), ("--run-dir", "is a file"),
         lambda folder, config: ["learner", str(config), "--bind", "tcp://127.0.0.1:0",
                                 "--run-dir", str(config / "run")]),
    Case("launch-run-dir-under-a-file", changed({}), ("--run-dir", "is a file"),
         lambda folder, config: ["launch", "sim", str(config), "--run-dir",
                                 str(config / "session"), "--seconds", "1"]),
    Case("node-actor-learner-not-an-address", changed({}), ("learner_address", "tcp://HOST"),
         lambda folder, config: ["node", "actor", str(config), "--learner", "learner:5555",
                                 "--seconds", "1"]),
    Case("config-is-a-folder", None, ("<file>",),
         lambda folder, config: ["train", str(folder), "--steps", "10"]),
    Case("config-missing", None, ("nope.yaml",),
         lambda folder, config: ["train", str(folder / "nope.yaml"), "--steps", "10"]),
    Case("no-config", None, ("config",), lambda folder, config: ["train", "--steps", "10"]),
    Case("camera-link-typo", changed({"cameras": [dict(WRIST, link="panda_hnd")]}, PANDA),
         ("cameras[0].link", "panda_hand")),
    Case("camera-duplicate", changed({"cameras": [FRONT, copy.deepcopy(FRONT)]}),
         ("cameras[1].name",)),
    Case("camera-crop-outside", changed({"cameras": [dict(FRONT, crop=[40, 0, 64, 64])]}),
         ("cameras[0].crop", "inside")),
    Case("camera-huge", changed({"cameras": [dict(FRONT, width=4096)]}), ("cameras[0].width",)),
    Case("camera-two-mounts", changed({"cameras": [dict(FRONT, link="trunk")]}),
         ("cameras[0]", "exactly one mount")),
    Case("task-graph-without-section", changed({"task_graph": None}), ("task_graph",),
         _args("--task-graph", "reset_free")),
    # learning from pixels (observation.images, frame_stack)
    Case("images-unknown-camera", changed({"cameras": [FRONT],
                                           "observation": {"images": ["back"]}}),
         ("observation.images[0]", "front")),
    Case("images-without-cameras", changed({"observation": {"images": ["front"]}}),
         ("observation.images[0]", "none configured")),
    Case("frame-stack-too-deep", changed({"cameras": [FRONT], "observation": {
        "images": ["front"], "frame_stack": 9}}), ("observation.frame_stack", "[1, 8]")),
    Case("frame-stack-without-images", changed({"observation": {"frame_stack": 3}}),
         ("observation.frame_stack", "observation.images")),
    Case("images-two-sizes", changed({
        "cameras": [FRONT, dict(copy.deepcopy(FRONT), name="side", width=64)],
        "observation": {"images": ["front", "side"]}}),
         ("observation.images", "one frame size")),
    Case("images-too-small-for-the-encoder", changed({
        "cameras": [dict(FRONT, width=4, height=4)], "observation": {"images": ["front"]}}),
         ("cameras[0].width", "at least 9")),
    Case("images-with-hindsight", changed({"cameras": [FRONT],
                                           "observation": {"images": ["front"]}}, PANDA),
         ("task.reach.hindsight", "observation.images")),
    Case("images-replay-too-big", changed({
        "cameras": [dict(FRONT, width=512, height=512)],
        "observation": {"images": ["front"], "frame_stack": 8},
        "learner": {"buffer_size": 10_000_000}}), ("learner.buffer_size", "bytes each")),
    Case("images-demos-record-mcap", changed({"cameras": [FRONT], "task": {"reach": {
        "hindsight": 0}}, "observation": {"images": ["front"]}}, PANDA),
         ("--mcap", "observation.images"),
         lambda folder, config: ["demos", "record", str(config), "--source", "scripted",
                                 "--episodes", "1", "--out", str(folder / "demos.npz"),
                                 "--mcap", str(folder / "demos.mcap")]),
    Case("images-task-graph", changed({"cameras": [FRONT], "observation": {"images": ["front"]}}),
         ("observation.images", "task_graph"), _args("--task-graph", "reset_free")),
]


@dataclass
class Result:
    returncode: int
    stderr: str
    seconds: float
    out: Path


def _run(case: Case, folder: Path) -> Result:
    folder.mkdir(parents=True)
    config = folder / "robot.yaml"
    if case.make is not None:
        config.write_bytes(case.make(folder))
    out = folder / "runs"
    args = case.args(folder, config)
    # eval and actor take no --out; the learner takes --out or --run-dir
    if "--out" not in args and "--run-dir" not in args and args[0] in ("train", "learner"):
        args += ["--out", str(out)]
    elif "--out" in args:
        out = Path(args[args.index("--out") + 1])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "robot_rl.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=folder)
    return Result(proc.returncode, proc.stderr, time.monotonic() - start, out)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    root = tmp_path_factory.mktemp("mistakes")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case.id: pool.submit(_run, case, root / case.id) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def test_the_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 25
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_mistake_is_one_short_line_and_status_2(case: Case, results: dict[str, Result]) -> None:
    result = results[case.id]
    err = result.stderr
    assert result.returncode == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, err
    assert all(len(line) <= 300 for line in lines), [len(line) for line in lines]
    assert result.seconds < MAX_SECONDS, result.seconds
    for word in case.words:
        assert word in err, (word, err)
    runs = list(result.out.iterdir()) if result.out.is_dir() else []
    assert runs == [], runs  # nothing created before the config is valid
