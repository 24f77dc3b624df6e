"""ROS-mode interventions in the actor core: a moving teleop command takes over through the
same control step; its transitions are flagged; a stale command gives the policy back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.config import load_config
from robot_rl.demos.teleop import Teleop, TeleopSettings
from robot_rl.nodes.actor_core import ActorCore
from robot_rl.nodes.policy import Policy
from robot_rl.ros import msgs
from robot_rl.spaces import ObservationBuilder
from tests.nodes.nodes_util import feed

PANDA = Path(__file__).resolve().parents[2] / "robot_configs" / "panda.yaml"


def test_operator_takes_over_flagged_and_stale_gives_the_policy_back() -> None:
    cfg = load_config(PANDA)
    core = ActorCore(cfg, Policy(ObservationBuilder(cfg).size, cfg.n_joints, 0), 0)
    teleop = Teleop(cfg, TeleopSettings(source="joy"))
    core.teleop = teleop
    kin = teleop.kinematics
    assert kin is not None
    outs = []
    for k in range(12):
        t = k * core.dt
        if 4 <= k < 8:  # the operator pushes +x during steps 4..7 (fresh for 0.25 s)
            teleop.receive(msgs.Joy(axes=np.array([1.0, 0.0, 0.0], np.float32)), t)
        feed(core, t)
        outs.append(core.step(t))
    flags = [o.transition.intervention for o in outs if o.transition is not None]
    # step k's transition completes at step k + 1; the command pushed at steps 4..7 stays
    # fresh for 0.25 s (5 periods): the operator acts at steps 4..11
    assert flags == [False] * 4 + [True] * 7
    assert core.interventions == 8 and core.status(0.6)["interventions"] == 8
    q = np.array(cfg.robot.nominal)
    moved = kin.forward(outs[5].command) - kin.forward(q)  # the controller order is config's
    assert moved[0] > 0.002 and abs(moved[1]) < 0.5 * moved[0] and abs(moved[2]) < 0.5 * moved[0]
    # the command went stale: the policy acts again (an intervention ends; it never holds)
    t = 20 * core.dt
    feed(core, t)
    out = core.step(t)
    assert not out.hold and core.interventions == 8
    feed(core, t + core.dt)
    out = core.step(t + core.dt)
    assert out.transition is not None and not out.transition.intervention
