"""Policy weights: pack -> wire -> unpack -> ActorPolicy acts exactly like the learner's actor."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.config import RobotConfig
from robot_rl.distributed.weights import (
    ActorPolicy,
    WeightsError,
    pack_weights,
    policy_spec,
    unpack_weights,
)
from robot_rl.sac import SAC
from robot_rl.transport import decode, encode

pytestmark = pytest.mark.timeout(30)


def _agent(cfg: RobotConfig) -> SAC:
    return SAC(10, 3, cfg.learner, seed=1)


def test_weights_survive_the_wire_and_act_like_the_learner(tiny_cfg: RobotConfig) -> None:
    agent = _agent(tiny_cfg)
    spec = policy_spec(10, 3, tiny_cfg.learner.hidden)
    extra = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    arrays, meta = pack_weights({"policy": agent.policy_arrays(), "dynamics": extra}, spec,
                                state={"limit": [0.5, 0.25]})
    msg = decode(encode("w", meta, arrays))  # the transport's pure encoding, no pickle
    weights = unpack_weights(msg.arrays, msg.meta)
    assert weights.spec == spec and weights.state == {"limit": [0.5, 0.25]}
    np.testing.assert_array_equal(weights.groups["dynamics"]["w"], extra["w"])

    policy = ActorPolicy(weights.spec, seed=3)
    policy.load(weights.groups["policy"])
    obs = np.random.default_rng(0).normal(size=(5, 10)).astype(np.float32)
    for o in obs:
        a = policy.act(o, deterministic=True)
        assert a.shape == (3,) and a.dtype == np.float32
        np.testing.assert_allclose(a, agent.act(o, deterministic=True), rtol=0, atol=1e-6)
        sampled = policy.act(o)
        assert np.all(np.abs(sampled) <= 1.0) and not np.allclose(sampled, a)
    # the copy is independent of the received buffers and of later learner updates
    before = policy.act(obs[0], deterministic=True)
    for value in agent.actor.parameters():
        value.data.add_(1.0)
    np.testing.assert_array_equal(policy.act(obs[0], deterministic=True), before)


def test_malformed_weights_are_refused(tiny_cfg: RobotConfig) -> None:
    agent = _agent(tiny_cfg)
    spec = policy_spec(10, 3, tiny_cfg.learner.hidden)
    good = agent.policy_arrays()
    policy = ActorPolicy(spec)
    name = next(iter(good))
    with pytest.raises(WeightsError, match="missing"):
        policy.load({k: v for k, v in good.items() if k != name})
    with pytest.raises(WeightsError, match="expected float"):
        policy.load({**good, name: good[name][:-1]})
    with pytest.raises(WeightsError, match="not finite"):
        policy.load({**good, name: np.full_like(good[name], np.nan)})
    with pytest.raises(WeightsError, match="policy"):
        unpack_weights({"policy/x": np.zeros(1)}, {"state": {}})
    with pytest.raises(WeightsError, match="group/name"):
        arrays, meta = pack_weights({"policy": good}, spec)
        unpack_weights({**arrays, "loose": np.zeros(1)}, meta)
    with pytest.raises(WeightsError, match="required"):
        pack_weights({"dynamics": good}, spec)
