"""The task graphs shipped for the A1 quadruped and the Panda arm.

The YAML texts are what ``robot_configs/a1.yaml`` and ``robot_configs/panda.yaml`` hold under
``task_graph:``; the functions parse them with the robots' signal sets, so tests (and users
without a config file at hand) get the same validated graphs.
"""

from __future__ import annotations

import yaml

from robot_rl.taskgraph.graph import TaskGraphSpec, parse_task_graph
from robot_rl.taskgraph.signal_names import A1_SIGNALS, PANDA_SIGNALS

A1_TASK_GRAPH_YAML = """\
task_graph:
  mode: reset_free          # never teleport after the first spawn
  start: get_up
  relabel: true             # every transition trains every task
  # A fall ends any task that can fall ("A Walk in the Park" ends at 30 deg of roll or pitch).
  fall: fallen > 0.5 or abs(roll) > 0.5236 or abs(pitch) > 0.5236
  tasks:
    get_up:
      description: roll over and stand on four feet
      can_fall: false       # it starts fallen
      reward:
        - {term: upright, weight: 1.0}
        - {term: base_height, weight: 1.0, low: 0.25, high: 0.32, margin: 0.15}
      success: upright > 0.95 and base_height > 0.2
      success_hold_steps: 10    # 0.5 s at 20 Hz
      timeout_steps: 400
    walk_forward:
      reward:
        - {term: forward_velocity, weight: 10.0, low: 0.5, high: 1.0, margin: 1.0}
        - {term: yaw_rate, weight: 1.0}   # 10 x 0.1 |yaw rate|
      timeout_steps: 400        # 20 s, then walk back: stays inside the arena
    walk_backward:
      reward:
        - {term: backward_velocity, weight: 10.0, low: 0.5, high: 1.0, margin: 1.0}
        - {term: yaw_rate, weight: 1.0}
      timeout_steps: 400
  edges:
    - {from: get_up, event: success, to: walk_forward}
    - {from: get_up, event: timeout, to: get_up}
    - {from: walk_forward, event: timeout, to: walk_backward}
    - {from: walk_backward, event: timeout, to: walk_forward}
    - {from: [walk_forward, walk_backward], event: failure, to: get_up}
"""

PANDA_TASK_GRAPH_YAML = """\
task_graph:
  mode: reset_free
  start: reach_a
  relabel: true
  tasks:
    reach_a:
      description: bring the gripper to target A
      params: {target_x: 0.5, target_y: 0.2, target_z: 0.3}   # shadows the sim's target_*
      reward:
        - {term: ee_distance_to_target, weight: 1.0}
        - {term: ee_near_target, weight: 1.0, radius: 0.02, margin: 0.1}
        - {term: joint_velocity, weight: 0.01}
      success: hypot(ee_x - target_x, ee_y - target_y, ee_z - target_z) < 0.02
      success_hold_steps: 5
      failure: ee_z < 0.05      # too close to the table
      timeout_steps: 200
    reach_b:
      description: bring the gripper to target B
      params: {target_x: 0.5, target_y: -0.2, target_z: 0.3}
      reward:
        - {term: ee_distance_to_target, weight: 1.0}
        - {term: ee_near_target, weight: 1.0, radius: 0.02, margin: 0.1}
        - {term: joint_velocity, weight: 0.01}
      success: hypot(ee_x - target_x, ee_y - target_y, ee_z - target_z) < 0.02
      success_hold_steps: 5
      failure: ee_z < 0.05
      timeout_steps: 200
    return_home:
      description: recover to a safe pose above the table
      params: {target_x: 0.35, target_y: 0.0, target_z: 0.45}
      reward:
        - {term: ee_distance_to_target, weight: 1.0}
        - {term: joint_velocity, weight: 0.01}
      success: hypot(ee_x - target_x, ee_y - target_y, ee_z - target_z) < 0.05
      timeout_steps: 200
  edges:
    - {from: reach_a, event: [success, timeout], to: reach_b}
    - {from: reach_b, event: [success, timeout], to: reach_a}
    - {from: [reach_a, reach_b], event: failure, to: return_home}
    - {from: return_home, event: success, to: [reach_a, reach_b], choose: random}
    - {from: return_home, event: timeout, to: return_home}
"""


def a1_task_graph() -> TaskGraphSpec:
    """The A1 graph: ``get_up`` -> ``walk_forward`` <-> ``walk_backward``, falls -> ``get_up``."""
    return parse_task_graph(yaml.safe_load(A1_TASK_GRAPH_YAML)["task_graph"],
                            "robot_rl/taskgraph/shipped.py:A1_TASK_GRAPH_YAML", A1_SIGNALS)


def panda_task_graph() -> TaskGraphSpec:
    """The Panda graph: ``reach_a`` <-> ``reach_b``, too low -> ``return_home``."""
    return parse_task_graph(yaml.safe_load(PANDA_TASK_GRAPH_YAML)["task_graph"],
                            "robot_rl/taskgraph/shipped.py:PANDA_TASK_GRAPH_YAML",
                            PANDA_SIGNALS)
