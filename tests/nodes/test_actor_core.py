"""ActorCore: reordering, holds (no state, stale, NaN, e-stop, pause), episodes, tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.distributed.weights import pack_weights, policy_spec
from robot_rl.nodes.actor_core import ActorCore, OperatorError
from robot_rl.nodes.policy import Policy
from robot_rl.nodes.ros_messages import imu_msg, joint_state_msg, labelled
from robot_rl.sac import SAC
from robot_rl.spaces import ObservationBuilder
from tests.conftest import write_config
from tests.nodes.nodes_util import feed, robot_state


def make_core(path: Path, seed: int = 0) -> ActorCore:
    cfg = load_config(path)
    return ActorCore(cfg, Policy(ObservationBuilder(cfg).size, cfg.n_joints, seed), seed)


@pytest.fixture
def core(tiny_a1: Path) -> ActorCore:
    return make_core(tiny_a1)


def run(core: ActorCore, steps: int, t0: float = 0.0, **kw: object) -> list:
    outs = []
    for k in range(steps):
        t = t0 + k * core.dt
        feed(core, t, **kw)
        outs.append(core.step(t))
    return outs


def test_holds_until_every_needed_input_arrived(core: ActorCore) -> None:
    out = core.step(0.0)
    assert out.hold and out.reason == "no_state" and out.command is None  # nothing sent
    assert core.status(0.0)["waiting_for"].startswith("joint_states")
    state = robot_state(core.cfg)
    core.inputs.joint_state(joint_state_msg(state, core.cfg.robot.joints, 0), 0.0)
    assert core.inputs.missing() == "imu"
    out = core.step(0.05)
    assert out.reason == "no_state" and out.command is None
    feed(core, 0.1)
    out = core.step(0.1)
    assert not out.hold and out.reason == ""


def test_joint_states_are_reordered_by_name_and_may_be_partial(core: ActorCore) -> None:
    cfg = core.cfg
    q = np.array(cfg.robot.nominal) + 0.01 * np.arange(cfg.n_joints)
    shuffled = list(reversed(cfg.robot.joints))
    feed(core, 0.0, robot_state(cfg, q), names=shuffled)
    state = core.inputs.state()
    assert state is not None
    np.testing.assert_array_equal(state.joint_position, q)
    # a message with two joints and an unknown one updates just those two
    msg = joint_state_msg(robot_state(cfg, q + 1.0), cfg.robot.joints, 0)
    msg.name = [cfg.robot.joints[3], "gripper", cfg.robot.joints[0]]
    msg.position, msg.velocity, msg.effort = (np.array([9.0, 7.0, 8.0]), np.zeros(3),
                                              np.zeros(3))
    assert core.inputs.joint_state(msg, 0.01)
    state = core.inputs.state()
    assert state is not None and state.joint_position[3] == 9.0
    assert state.joint_position[0] == 8.0 and state.joint_position[1] == q[1]
    assert state.stamp == 0.0  # the oldest arrival among the needed parts


def test_mismatched_joint_state_is_rejected(core: ActorCore) -> None:
    msg = joint_state_msg(robot_state(core.cfg), core.cfg.robot.joints, 0)
    msg.position = msg.position[:3]
    assert not core.inputs.joint_state(msg, 0.0)
    assert core.inputs.rejected == 1


def test_joint_state_naming_a_joint_twice_is_rejected(core: ActorCore) -> None:
    """A JointState listing a joint twice is ambiguous: rejected and counted, never acted on
    (the last of the two values was taken, e.g. one far beyond the joint's limits)."""
    run(core, 3)
    cfg = core.cfg
    before = core.inputs.state()
    assert before is not None
    msg = joint_state_msg(robot_state(cfg), cfg.robot.joints, 0)
    msg.name = [*cfg.robot.joints, cfg.robot.joints[0]]
    msg.position = np.append(msg.position, 5.0)
    msg.velocity, msg.effort = np.zeros(len(msg.name)), np.zeros(len(msg.name))
    assert not core.inputs.joint_state(msg, 3 * core.dt)
    assert core.inputs.rejected == 1 and "twice" in core.inputs.last_error
    after = core.inputs.state()
    assert after is not None
    np.testing.assert_array_equal(after.joint_position, before.joint_position)
    assert after.stamp == before.stamp


def test_stale_state_holds_the_measured_pose(core: ActorCore) -> None:
    q = np.array(core.cfg.robot.nominal) + 0.3
    run(core, 5, state=robot_state(core.cfg, q))
    t = 4 * core.dt + core.safety.max_state_age_s + 0.01  # no new state since t = 4 dt
    out = core.step(t)
    assert out.hold and out.reason == "stale_state"
    np.testing.assert_array_equal(out.command, q)  # where the robot is, not a target
    assert out.transition is None and core.dropped == 1


def test_nan_state_holds(core: ActorCore) -> None:
    run(core, 3)
    q = np.array(core.cfg.robot.nominal)
    q[2] = np.nan
    feed(core, 3 * core.dt, robot_state(core.cfg, q))
    out = core.step(3 * core.dt)
    assert out.hold and out.reason == "nonfinite_state"


@pytest.mark.parametrize("segment", ["base_linear_velocity", "foot_contacts"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_extras_hold_and_store_nothing(core: ActorCore, segment: str,
                                                 bad: float) -> None:
    """A NaN or infinity in an extras segment the policy or reward uses is a non-finite
    state: held at the measured pose (even during the random warm-up), never a transition."""
    run(core, 3)
    state = robot_state(core.cfg)
    value = getattr(state, segment).copy()
    value[0] = bad
    setattr(state, segment, value)
    feed(core, 3 * core.dt, state)
    out = core.step(3 * core.dt)
    assert out.hold and out.reason == "nonfinite_state"
    feed(core, 4 * core.dt, state)
    out = core.step(4 * core.dt)
    assert out.hold and out.transition is None


@pytest.mark.parametrize("segment,size", [("base_linear_velocity", 1), ("foot_contacts", 2),
                                          ("base_linear_velocity", 5), ("ee_position", 2)])
def test_extras_of_the_wrong_size_are_rejected(core: ActorCore, segment: str,
                                               size: int) -> None:
    """An extras segment whose length is not the signal's (3 for a vector, one per
    robot.foot_links) is rejected and counted; the actor goes on with the last good one."""
    run(core, 3)
    good = core.inputs.state()
    assert good is not None
    assert not core.inputs.extras_message(labelled({segment: np.ones(size)}), 3 * core.dt)
    assert core.inputs.rejected == 1 and segment in core.inputs.last_error
    feed(core, 3 * core.dt)
    out = core.step(3 * core.dt)  # no exception, an observation of the right size
    assert not out.hold and out.transition is not None
    assert out.transition.obs.shape == (core.control.obs_builder.size,)


def test_estop_holds_at_once_and_drops_the_interrupted_transition(core: ActorCore) -> None:
    q = np.array(core.cfg.robot.nominal) - 0.2
    run(core, 4, state=robot_state(core.cfg, q))
    held = core.set_estop(True, 4 * core.dt)
    assert held is not None and held.hold and held.reason == "estop"
    np.testing.assert_array_equal(held.command, q)  # the measured pose
    moved = q + 0.4  # moved by hand while stopped: the hold follows the robot
    more = run(core, 3, t0=4 * core.dt, state=robot_state(core.cfg, moved))
    assert all(o.hold and o.reason == "estop" and o.transition is None for o in more)
    assert all(np.array_equal(o.command, moved) for o in more)
    assert core.set_estop(False, 7 * core.dt) is None
    resumed = run(core, 3, t0=7 * core.dt, state=robot_state(core.cfg, moved))
    assert not resumed[0].hold  # re-anchored on the measured pose, moving from there
    assert np.all(np.abs(resumed[0].command - moved) <= core.safety.max_step + 1e-12)
    assert not resumed[-1].hold and resumed[-1].transition is not None
    assert [e["engaged"] for e in core.events if e["event"] == "estop"] == [True, False]


def test_estop_release_waits_for_a_fresh_state(core: ActorCore) -> None:
    run(core, 3)
    core.set_estop(True, 3 * core.dt)
    core.set_estop(False, 3 * core.dt)
    t = 3 * core.dt + core.safety.max_state_age_s + 0.01  # no fresh state since the release
    out = core.step(t)
    assert out.hold and out.reason == "estop"
    assert not run(core, 1, t0=t)[0].hold  # a fresh state releases it


def test_pause_and_resume(core: ActorCore) -> None:
    run(core, 3)
    out = core.operator("pause")
    assert out is not None and out.reason == "paused"
    paused = run(core, 3, t0=3 * core.dt)
    assert all(o.reason == "paused" and o.transition is None for o in paused)
    assert core.operator("resume") is None
    again = run(core, 3, t0=6 * core.dt)
    assert not again[-1].hold and again[-1].transition is not None


def test_task_switch_truncates_the_episode(core: ActorCore) -> None:
    run(core, 3)
    with pytest.raises(OperatorError):
        core.operator("task fly")
    with pytest.raises(OperatorError):
        core.operator("jump")
    core.operator("task stand")
    out = run(core, 1, t0=3 * core.dt)[0]
    assert out.episode_end == "task_switch"
    assert out.transition is not None and out.transition.truncated
    assert not out.transition.terminated and out.transition.task == "walk"
    assert core.task == "stand" and core.control.episode_steps == 0
    nxt = run(core, 2, t0=4 * core.dt)[-1]
    assert nxt.transition is not None and nxt.transition.task == "stand"


def test_transitions_are_numbered_and_shaped(core: ActorCore) -> None:
    outs = run(core, 6)
    ts = [o.transition for o in outs if o.transition is not None]
    assert [t.step for t in ts] == list(range(5))
    size = ObservationBuilder(core.cfg).size
    for t in ts:
        assert t.obs.shape == t.next_obs.shape == (size,) and t.obs.dtype == np.float32
        assert t.action.shape == (core.cfg.n_joints,) and np.all(np.abs(t.action) <= 1)
        assert not t.terminated and not t.truncated
    np.testing.assert_array_equal(ts[0].next_obs, ts[1].obs)  # one chain


def test_tilt_terminates_and_time_limit_truncates(core: ActorCore) -> None:
    run(core, 2)
    feed(core, 2 * core.dt, robot_state(core.cfg, roll=1.0))  # > 30 degrees
    out = core.step(2 * core.dt)
    assert out.episode_end == "terminated" and out.transition is not None
    assert out.transition.terminated and not out.transition.truncated
    limit = core.cfg.task.episode_steps
    outs = run(core, limit + 1, t0=3 * core.dt)
    ends = [o for o in outs if o.episode_end]
    assert ends[0].episode_end == "time_limit" and ends[0].transition.truncated


def test_respawn_drops_the_transition_across_the_teleport(core: ActorCore) -> None:
    run(core, 3, reset_count=[0])
    feed(core, 3 * core.dt, reset_count=[1])
    out = core.step(3 * core.dt)
    assert out.transition is None and core.dropped == 1
    assert not out.hold


def test_commands_go_out_in_the_controllers_joint_order(tmp_path: Path, tiny_a1: Path) -> None:
    base = load_config(tiny_a1)
    order = list(reversed(base.robot.joints))
    core = make_core(write_config(tmp_path, tiny_a1, {"ros": {"command_joints": order}}))
    out = run(core, 2)[-1]
    config_order = core.safety.previous
    assert config_order is not None
    np.testing.assert_array_equal(out.command, config_order[::-1])


def test_weights_from_the_learner(core: ActorCore) -> None:
    cfg = core.cfg
    size = ObservationBuilder(cfg).size
    agent = SAC(size, cfg.n_joints, cfg.learner, seed=1)
    arrays, meta = pack_weights({"policy": agent.policy_arrays()},
                                policy_spec(size, cfg.n_joints, cfg.learner.hidden))
    assert core.policy.warming_up
    core.set_weights(arrays, meta, version=7)
    assert core.policy.version == 7 and not core.policy.warming_up
    obs = np.zeros(size, np.float32)
    np.testing.assert_allclose(core.policy.act(obs, deterministic=True),
                               agent.act(obs, deterministic=True), atol=1e-6)
    status = core.status(0.0)
    assert status["policy_version"] == 7


def test_steps_lock_to_the_control_period(core: ActorCore) -> None:
    dt = core.dt
    feed(core, 0.0)
    core.step(0.0)
    assert not core.due(0.5 * dt) and core.due(0.8 * dt)  # a quarter period early is fine
    assert not core.overdue(1.2 * dt) and core.overdue(1.6 * dt)
    core.step(1.0 * dt)
    core.step(5.0 * dt)  # far behind: the phase restarts here
    assert core.due(6.0 * dt) and not core.due(5.5 * dt)


def test_lost_learner_holds_when_asked(core: ActorCore) -> None:
    run(core, 3)
    core.learner_lost = True
    out = run(core, 2, t0=3 * core.dt)[-1]
    assert out.hold and out.reason == "learner_lost" and out.transition is None
    core.learner_lost = False
    assert not run(core, 2, t0=5 * core.dt)[-1].hold


def test_aprl_gate_runs_in_the_ros_actors_control_step(tmp_path: Path, tiny_a1: Path) -> None:
    from robot_rl.aprl.dynamics import DynamicsEnsemble

    path = write_config(tmp_path, tiny_a1, {"aprl": {
        "active": True, "l_min": 0.25, "l_max": 0.25, "ramp_steps": 0,
        "dynamics": {"ensemble_size": 2, "hidden": [16]}}}, name="aprl.yaml")
    core = make_core(path)
    gate = core.control.gate
    assert gate is not None
    ts = [o.transition for o in run(core, 8) if o.transition is not None]
    assert ts and all(t.aprl_L is not None for t in ts)
    assert all(np.all(np.abs(t.action) <= 0.25 + 1e-6) for t in ts)  # inside [-L, L]
    cfg = core.cfg
    size = ObservationBuilder(cfg).size
    agent = SAC(size, cfg.n_joints, cfg.learner, seed=1)
    model = DynamicsEnsemble(size, cfg.n_joints, ensemble_size=2, hidden=(16,))
    arrays, meta = pack_weights({"policy": agent.policy_arrays(),
                                 "dynamics": model.export_numpy()},
                                policy_spec(size, cfg.n_joints, cfg.learner.hidden))
    core.set_weights(arrays, meta, version=3)
    assert gate.predictor is not None and gate.model_version == 3
    assert core.status(0.0)["aprl_L"] == [0.25] * cfg.n_joints


def test_operator_heartbeat_holds_when_the_operator_goes_silent(tmp_path: Path,
                                                               tiny_a1: Path) -> None:
    core = make_core(write_config(tmp_path, tiny_a1, {"safety": {"operator_timeout_s": 0.5}},
                                  name="heartbeat.yaml"))
    q = np.array(core.cfg.robot.nominal) + 0.2
    assert run(core, 2, state=robot_state(core.cfg, q))[-1].reason == "operator_timeout"
    core.operator("heartbeat", 0.1)
    acting = run(core, 4, t0=0.1, state=robot_state(core.cfg, q))
    assert not acting[-1].hold
    silent = run(core, 10, t0=0.3, state=robot_state(core.cfg, q))  # no heartbeat since 0.1
    held = [o for o in silent if o.reason == "operator_timeout"]
    assert held and all(np.array_equal(o.command, q) for o in held)  # the measured pose
    core.set_estop(False, 1.0)  # any operator or e-stop message is a heartbeat
    assert not run(core, 1, t0=1.0, state=robot_state(core.cfg, q))[0].hold


def test_an_extras_message_refreshes_only_the_segments_it_carries(core: ActorCore) -> None:
    """Extras messages that keep coming but no longer carry the base velocity (only
    reset_count here) do not make the old base velocity fresh: the state goes stale."""
    run(core, 3)
    last = 2 * core.dt  # the last complete extras message
    t = last + core.safety.max_state_age_s + 0.01
    state = robot_state(core.cfg)
    core.inputs.imu(imu_msg(state, 0), t)
    core.inputs.joint_state(joint_state_msg(state, core.cfg.robot.joints, 0), t)
    assert core.inputs.extras_message(labelled({"reset_count": np.zeros(1)}), t)
    out = core.step(t)
    assert out.hold and out.reason == "stale_state"
    feed(core, t)  # a complete one: fresh again
    assert not core.step(t).hold
