"""robot_rl_ros packaging without ROS: entry points, launch files, params, robot configs.

Launch files are read with ``ast`` and run against stand-ins for ``launch``/``launch_ros``
(which do not install from PyPI), so their own logic (event handlers, arguments) is tested.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
import types
from glob import glob
from pathlib import Path

import pytest
import yaml

from robot_rl.config import load_config
from robot_rl.nodes.params import PARAMS, load_params

ROOT = Path(__file__).parents[2]
PKG = ROOT / "ros2_ws" / "src" / "robot_rl_ros"
LAUNCH_FILES = ("sim.launch.py", "robot.launch.py", "learner.launch.py")


def console_scripts() -> dict[str, str]:
    tree = ast.parse((PKG / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    specs = ast.literal_eval(value)
                    return dict(tuple(p.strip() for p in s.split("=")) for s in specs)
    raise AssertionError("no console_scripts in setup.py")


def launch_nodes(path: Path) -> list[dict[str, object]]:
    """Keyword arguments of each ``Node(...)`` call (constants, and parameter dict keys)."""
    tree = ast.parse(path.read_text())
    found = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node":
            kw = {k.arg: k.value for k in call.keywords}
            params = [key.value for d in ast.walk(kw["parameters"]) if isinstance(d, ast.Dict)
                      for key in d.keys if isinstance(key, ast.Constant)]
            found.append({"executable": ast.literal_eval(kw["executable"]),
                          "name": ast.literal_eval(kw["name"]), "param_keys": params})
    return found


def test_package_xml_declares_what_the_launch_files_import() -> None:
    catkin_pkg = pytest.importorskip("catkin_pkg.package")
    package = catkin_pkg.parse_package(str(PKG / "package.xml"))
    package.validate()
    assert package.get_build_type() == "ament_python"
    run = {d.name for d in package.exec_depends}
    assert {"rclpy", "launch", "launch_ros", "ament_index_python", "sensor_msgs",
            "std_msgs"} <= run


def test_console_scripts_resolve_without_ros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PKG))
    scripts = console_scripts()
    assert set(scripts) == {"actor_node", "sim_bridge_node", "learner_node"}
    for name, target in scripts.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name
    # and importing them does not import rclpy (that happens when a node starts)
    code = "import sys, robot_rl_ros.actor_node, robot_rl_ros.learner_node, " \
           "robot_rl_ros.sim_bridge_node; print('rclpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("launch", LAUNCH_FILES)
def test_launch_files_are_installed_and_name_existing_executables(launch: str) -> None:
    path = ROOT / "launch" / launch
    tree = ast.parse(path.read_text())
    assert any(isinstance(f, ast.FunctionDef) and f.name == "generate_launch_description"
               for f in tree.body)
    installed = {Path(p).name for p in glob(str(PKG / "launch" / "*.launch.py"))}
    assert launch in installed  # what setup.py's glob("launch/*.launch.py") picks up
    scripts = console_scripts()
    nodes = launch_nodes(path)
    assert nodes
    for node in nodes:
        assert node["executable"] in scripts and node["name"] == node["executable"]
        fields = set(PARAMS[str(node["name"])].__dataclass_fields__)
        assert set(node["param_keys"]) <= fields, node  # parameters the node declares
    text = path.read_text()
    assert '"config", "params.yaml"' in text and (PKG / "config" / "params.yaml").is_file()
    robot = ast.literal_eval(next(
        k.value for c in ast.walk(tree) if isinstance(c, ast.Call)
        and getattr(c.func, "id", "") == "DeclareLaunchArgument"
        and ast.literal_eval(c.args[0]) == "robot" for k in c.keywords
        if k.arg == "default_value"))
    assert (PKG / "robot_configs" / f"{robot}.yaml").is_file()  # installed robot configs


def test_sim_launch_starts_the_three_nodes() -> None:
    assert {n["executable"] for n in launch_nodes(ROOT / "launch" / "sim.launch.py")} == {
        "learner_node", "sim_bridge_node", "actor_node"}


def test_params_yaml_validates_and_covers_every_parameter() -> None:
    path = PKG / "config" / "params.yaml"
    data = yaml.safe_load(path.read_text())
    assert set(data) == set(PARAMS)
    for node, cls in PARAMS.items():
        params = load_params(cls, path, node)  # unknown keys or wrong types would raise
        assert set(data[node]["ros__parameters"]) == set(cls.__dataclass_fields__)
        assert params.robot_config == ""


def test_installed_robot_configs_load() -> None:
    for path in sorted((PKG / "robot_configs").glob("*.yaml")):
        load_config(path)
    assert (PKG / "setup.py").read_text().count("robot_configs/*.yaml") == 1


def extras() -> dict[str, list[str]]:
    """setup.py's extras_require, read with ``ast``."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "setup":
            (value,) = [k.value for k in call.keywords if k.arg == "extras_require"]
            return ast.literal_eval(value)
    raise AssertionError("no setup() call in setup.py")


def test_the_ros_extra_that_package_xml_names_exists_and_tests_install_rclpy() -> None:
    assert "robot_rl[ros]" in (PKG / "package.xml").read_text()
    wheels = {"ros-jazzy-rclpy", "ros-jazzy-std-msgs", "ros-jazzy-sensor-msgs",
              "ros-jazzy-rmw-fastrtps-cpp"}
    assert wheels <= set(extras()["ros"]) and wheels <= set(extras()["test"])


def test_no_paths_outside_the_repository() -> None:
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("launch/*.py"),
             *ROOT.glob("robot_rl/**/*.py"), *(p for p in PKG.rglob("*") if p.is_file())]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for marker in ("/work/", "../shared", "/home/", "/root/"):
            assert marker not in text, f"{path.relative_to(ROOT)} mentions {marker}"


class _Fake:
    """Stands in for a launch/launch_ros class: records its arguments."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs


def load_launch_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Executes a launch file against stand-ins for ``launch``/``launch_ros`` (which do not
    install from PyPI), so its own logic runs here."""
    fakes = {
        "launch": {"LaunchDescription": _Fake},
        "launch.actions": {n: type(n, (_Fake,), {}) for n in (
            "DeclareLaunchArgument", "OpaqueFunction", "RegisterEventHandler", "Shutdown")},
        "launch.event_handlers": {"OnProcessExit": type("OnProcessExit", (_Fake,), {})},
        "launch.substitutions": {"LaunchConfiguration": type("LaunchConfiguration", (_Fake,), {
            "perform": lambda self, context: context[self.args[0]]})},
        "launch_ros.actions": {"Node": type("Node", (_Fake,), {})},
        "ament_index_python.packages": {"get_package_share_directory": lambda p: f"/share/{p}"},
    }
    for name, attrs in fakes.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launched(path: Path, monkeypatch: pytest.MonkeyPatch,
             **args: str) -> tuple[dict[str, str], list[_Fake]]:
    """(declared arguments -> defaults, entities of the OpaqueFunction) for ``args``."""
    module = load_launch_file(path, monkeypatch)
    description = module.generate_launch_description()
    actions = description.args[0]
    defaults = {a.args[0]: a.kwargs["default_value"] for a in actions
                if type(a).__name__ == "DeclareLaunchArgument"}
    (opaque,) = [a for a in actions if type(a).__name__ == "OpaqueFunction"]
    return defaults, opaque.kwargs["function"]({**defaults, **args})


@pytest.mark.parametrize("launch", LAUNCH_FILES)
def test_launch_ends_when_a_node_exits_and_fails_when_it_failed(
        launch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _, entities = launched(ROOT / "launch" / launch, monkeypatch)
    nodes = [e for e in entities if type(e).__name__ == "Node"]
    handlers = [e.args[0] for e in entities if type(e).__name__ == "RegisterEventHandler"]
    assert nodes and {id(h.kwargs["target_action"]) for h in handlers} == {id(n) for n in nodes}
    for handler in handlers:
        on_exit = handler.kwargs["on_exit"]
        ok = types.SimpleNamespace(returncode=0, name="actor_node-1")
        (action,) = on_exit(ok, None)  # a normal exit (Ctrl-C, shutdown) ends the launch
        assert type(action).__name__ == "Shutdown"
        failed = types.SimpleNamespace(returncode=2, name="actor_node-1")
        with pytest.raises(RuntimeError, match="status 2"):  # ros2 launch then exits 1
            on_exit(failed, None)


def test_launch_arguments_insecure_and_autostart(monkeypatch: pytest.MonkeyPatch) -> None:
    for launch, key in (("learner.launch.py", "learner_node"), ("robot.launch.py", "actor_node")):
        defaults, entities = launched(ROOT / "launch" / launch, monkeypatch, insecure="true")
        assert defaults["insecure"] == "false"
        (node,) = [e for e in entities if type(e).__name__ == "Node"]
        assert node.kwargs["name"] == key and node.kwargs["parameters"][1]["insecure"] is True
    defaults, entities = launched(ROOT / "launch" / "robot.launch.py", monkeypatch)
    (actor,) = [e for e in entities if type(e).__name__ == "Node"]
    assert defaults["autostart"] == "false"  # on a robot: activated by hand
    assert actor.kwargs["parameters"][1]["autostart"] is False
    assert "ros2 lifecycle set /actor_node activate" in (ROOT / "launch" /
                                                         "robot.launch.py").read_text()
    _, entities = launched(ROOT / "launch" / "sim.launch.py", monkeypatch)
    actor = next(e for e in entities if getattr(e, "kwargs", {}).get("name") == "actor_node")
    assert actor.kwargs["parameters"][1]["autostart"] is True  # in simulation: at once
