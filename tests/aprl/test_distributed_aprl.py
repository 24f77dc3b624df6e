"""APRL across the wire: the learner ships the dynamics model, the actor's gate loads it.

Learner in a thread, one actor (PyBullet A1 behind :class:`AprlEnv`) in the test's thread,
over loopback ZeroMQ: the published weights carry a ``dynamics`` group and the ``aprl``
state; the actor's gate installs the model under the weights' version; transitions carry the
applied action and the L in force, which the learner's actor-loss penalty then uses.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from robot_rl.config import load_config
from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
from robot_rl.distributed.learner_loop import LearnerSettings, make_learner
from robot_rl.distributed.local import thread_friendly_gil
from robot_rl.envs import RobotEnv
from robot_rl.train_aprl import AprlAgent, AprlEnv, actor_env
from robot_rl.transport import ActorClient, LearnerServer
from tests.conftest import CONFIGS, write_config
from tests.distributed.conftest import FAST


def test_learner_ships_the_dynamics_model_and_the_actor_gate_uses_it(tmp_path: Path):
    path = write_config(tmp_path, CONFIGS / "a1.yaml", {
        "learner": {"hidden": [16, 16], "warmup_steps": 40, "batch_size": 16, "utd": 2},
        "task": {"episode_steps": 40},
        "aprl": {"active": True, "ramp_steps": 200, "warmup_steps": 20,
                 "dynamics": {"ensemble_size": 2, "hidden": [16]}},
    })
    cfg = load_config(str(path))
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(cfg, server, None, LearnerSettings(publish_every=5, linger_s=0.1,
                                                              tensorboard=False))
    assert isinstance(learner.agent, AprlAgent) and learner.agent.target_entropy == -12.0
    stop = threading.Event()
    thread = threading.Thread(target=learner.run_until, args=(stop.is_set,), daemon=True)
    # as run_local does: the learner thread shares the process with a busy actor
    with thread_friendly_gil():
        thread.start()
        env = actor_env(cfg, RobotEnv(cfg, seed=1))
        assert isinstance(env, AprlEnv)
        client = ActorClient(server.endpoint, "a0", options=FAST)
        loop = ActorLoop(env, client, ActorSettings(seed=1, batch_size=8))
        try:
            deadline = time.monotonic() + 60
            while env.gate.predictor is None or loop.metrics["steps"] < 120:
                assert time.monotonic() < deadline, "no dynamics model reached the actor"
                loop.step()
            loop.finish(10)
        finally:
            stop.set()
            thread.join(30)
            client.close()
            server.close()
            env.close()
    assert env.gate.model_version == loop.weights_version >= 0
    aprl_state = loop.weights_state["aprl"]
    assert 0 < aprl_state["dynamics_updates"] <= learner.agent.dynamics.n_updates
    # the learner's penalty uses the L the actor reported (not its initial ones)
    L = learner.agent.current_limit
    # L travels as float32, so 0.6 arrives as 0.60000002
    assert np.all((L >= 0.25 - 1e-6) & (L <= 0.6 + 1e-6)) and not np.allclose(L, 1.0)
    stored = learner.buffer.data["action"][:len(learner.buffer)]
    assert np.abs(stored).max() <= 0.6 + 1e-6  # applied actions, inside L
