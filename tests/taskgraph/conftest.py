"""Small A1 and Panda configs with their task graphs on and short task timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, write_config


def graph_config(tmp_path: Path, robot: str = "a1", mode: str = "reset_free",
                 timeouts: dict[str, int] | None = None, graph_changes: dict | None = None,
                 **changes: object) -> Path:
    """A copy of ``robot_configs/<robot>.yaml`` with tiny nets and the task graph enabled;
    ``graph_changes`` are set in ``task_graph`` (None removes a key), ``changes`` at the top."""
    base = CONFIGS / f"{robot}.yaml"
    graph = yaml.safe_load(base.read_text())["task_graph"]
    graph.update(enabled=True, mode=mode)
    graph.update(graph_changes or {})  # write_config's merge removes keys set to None
    for name, steps in (timeouts or {}).items():
        graph["tasks"][name]["timeout_steps"] = steps
    # the A1's learner recipe and observation as they were when these runs' expectations
    # (which edges a few hundred steps cross) were measured: the quick start's choices
    # (DroQ, heading and gait_phase observed) are not what these tests are about
    pinned: dict = {}
    if robot == "a1":
        pinned = {"observation": {"signals": ["joint_position", "joint_velocity",
                                              "imu_orientation", "imu_angular_velocity",
                                              "previous_action", "foot_contacts"]}}
    return write_config(tmp_path, base, {
        **pinned,
        "learner": {"recipe": "sac", "hidden": [32, 32], "warmup_steps": 40,
                    "batch_size": 32, "utd": 1, "buffer_size": 5000},
        "sim": {"render_width": 64, "render_height": 48},
        "train": {"steps": 120, "checkpoint_every": 60, "log_every": 20},
        "task_graph": graph, **changes}, name=f"{robot}_{mode}.yaml")


A1_SHORT = {"get_up": 40, "walk_forward": 30, "walk_backward": 30}  # self_right needs ~110


@pytest.fixture
def a1_graph(tmp_path: Path) -> Path:
    """A1, reset-free, short timeouts so a few hundred steps cross many edges."""
    return graph_config(tmp_path, "a1", timeouts=A1_SHORT)
