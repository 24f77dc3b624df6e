"""APRL in PyBullet: a dynamics model trained on the A1 notices a limp leg and L shrinks.

The model is trained for real during the test on A1 transitions collected through
:class:`AprlEnv` with a fixed policy (uniform random actions within +/-0.5 around the
nominal pose). Then one leg's motors go limp (PD gains to 0, a motor-driver fault): the
surprise score crosses the threshold and L is cut within 5 control steps; once the fault
clears, L grows again on its ramp.

Why a limp leg and not a milder change: with this budget (1,500 transitions, a 3 x 64 x 64
ensemble) the one-step error of the model on the A1 has a log-spread of about 0.5 per step,
and halving one joint's gain, doubling the base mass or dropping the ground friction to 0.05
raised the error only 1.1-2x in the first steps (z 1-3, checked over 3 seeds) - below
what a detector with a few false alarms per hour can flag. A limp leg raises it 5-50x.

Calibration on this set-up (the same model recipe, fault 300 steps into an episode): with
``surprise_threshold: 3`` and ``trigger_steps: 2``, no false alarm in 7,500 quiet steps
(5 seeds x 1,500) and the shrink came on control step 2-5 after the fault (8 seeds). With 3
consecutive steps (threshold 3 or the package default 4) it came on step 3-7; threshold 2.5
raised false alarms (2 in 6,000 steps), one of which blocked the detection by its cooldown.
"""

from __future__ import annotations

import time

import numpy as np

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.sac import SAC, ReplayBuffer
from robot_rl.train_aprl import AprlAgent, AprlEnv, attach_aprl
from tests.conftest import CONFIGS, write_config

LEG = (0, 1, 2)  # FR hip, thigh, calf
APRL = {
    "range_factor": 1.0,  # the box is a1.yaml's action_scale
    "l_min": 0.5, "l_max": 1.0, "ramp_steps": 200,  # L >= 0.5 never clips the policy below
    "warmup_steps": 100, "cooldown_steps": 100,
    "surprise_signals": ["joint_position", "joint_velocity"],
    "surprise_threshold": 3.0, "trigger_steps": 2,  # calibrated on the A1: module docstring
    "dynamics": {"ensemble_size": 3, "hidden": [64, 64], "lr": 1e-3},
}


def make(tmp_path, seed: int) -> tuple[AprlEnv, AprlAgent]:
    bare = write_config(tmp_path, CONFIGS / "a1.yaml", {"aprl": None}, name="bare.yaml")
    path = write_config(tmp_path, bare, {"aprl": APRL, "learner": {"hidden": [32, 32]}})
    cfg = load_config(path)
    env = RobotEnv(cfg, seed=seed)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    return attach_aprl(cfg, env, SAC(obs_dim, act_dim, cfg.learner, seed=seed), seed=seed)


def run_scenario(tmp_path, seed: int, n_data: int = 1500, n_updates: int = 1500,
                 quiet_steps: int = 300) -> dict:
    """Collect, train, run quietly, make the leg limp, then let it recover; what happened."""
    env, agent = make(tmp_path, seed)
    gate, rng = env.gate, np.random.default_rng(seed)
    buffer = ReplayBuffer(env.observation_space.shape[0], 12, n_data, seed=seed)

    def policy() -> np.ndarray:
        return rng.uniform(-0.5, 0.5, 12).astype(np.float32)

    obs, _ = env.reset(seed=seed)
    for _ in range(n_data):
        next_obs, _, terminated, truncated, info = env.step(policy())
        buffer.add(obs, info["applied_action"], 0.0, next_obs, terminated, truncated)
        obs = next_obs if not (terminated or truncated) else env.reset()[0]
    for _ in range(n_updates):
        b = buffer.sample(256).slice(0)
        agent.dynamics.update(b.obs, b.action, b.next_obs)
    agent.sync()
    assert gate.predictor is not None and gate.model_version == agent.model_version

    obs, _ = env.reset(seed=seed + 1)
    events_before = gate.limits.n_shrinks
    for i in range(quiet_steps):
        obs, _, terminated, truncated, info = env.step(policy())
        assert not terminated
        if truncated or i == quiet_steps - 300:  # the fault comes 300 steps into an episode
            obs, _ = env.reset()
    quiet_shrinks = gate.limits.n_shrinks - events_before
    L_before = float(gate.limits.L.mean())

    kp, kd = env.robot.kp.copy(), env.robot.kd.copy()
    for j in LEG:
        env.robot.scale_gain(j, 0.0)
    offset, event, z = None, None, []
    for k in range(30):
        obs, _, terminated, truncated, info = env.step(policy())
        g = info["aprl"]
        z.append(g.surprise.surprise_z if g.surprise is not None else np.nan)
        if g.event is not None:
            offset, event = k, g.event
            break
    env.robot.kp[:], env.robot.kd[:] = kp, kd  # the fault clears: L regrows on its ramp
    L_after = float(gate.limits.L.mean())
    regrowth = []
    for _ in range(20):
        obs, _, terminated, truncated, info = env.step(policy())
        regrowth.append(float(info["aprl"].L.mean()))
    env.close()
    return {"quiet_shrinks": quiet_shrinks, "offset": offset, "event": event, "z": z,
            "L_before": L_before, "L_after": L_after, "regrowth": regrowth}


def test_limp_leg_shrinks_L_within_five_control_steps_then_L_regrows(tmp_path):
    t0 = time.perf_counter()
    r = run_scenario(tmp_path, seed=0)
    assert r["quiet_shrinks"] == 0  # no false alarm in 300 steps of the same policy
    assert r["event"] is not None, f"no shrink in 30 steps after the fault; z = {r['z']}"
    assert r["event"].reason == "surprise"
    assert r["offset"] <= 4, f"shrink on control step {r['offset'] + 1}; z = {r['z']}"
    assert r["L_after"] < r["L_before"]
    assert np.all(np.diff([r["L_after"], *r["regrowth"]]) > 0)  # grows every step
    assert r["regrowth"][-1] > r["L_after"] + 0.04
    print(f"shrink on control step {r['offset'] + 1}, z = {np.round(r['z'], 1)}, "
          f"{time.perf_counter() - t0:.0f} s")
