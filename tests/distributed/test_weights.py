"""Policy weights: pack -> wire -> unpack -> ActorPolicy acts exactly like the learner's actor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.config import RobotConfig
from robot_rl.distributed.weights import (
    ActorPolicy,
    PolicySpec,
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
    policy.load(weights.groups)
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
        policy.load({"policy": {k: v for k, v in good.items() if k != name}})
    with pytest.raises(WeightsError, match="expected float"):
        policy.load({"policy": {**good, name: good[name][:-1]}})
    with pytest.raises(WeightsError, match="not finite"):
        policy.load({"policy": {**good, name: np.full_like(good[name], np.nan)}})
    with pytest.raises(WeightsError, match="policy"):
        unpack_weights({"policy/x": np.zeros(1)}, {"state": {}})
    with pytest.raises(WeightsError, match="group/name"):
        arrays, meta = pack_weights({"policy": good}, spec)
        unpack_weights({**arrays, "loose": np.zeros(1)}, meta)
    with pytest.raises(WeightsError, match="required"):
        pack_weights({"dynamics": good}, spec)


PIXELS = (6, 16, 16)  # 2 frames of one 16x16 camera


def _pixel_agent(cfg: RobotConfig) -> SAC:
    return SAC(10, 3, cfg.learner, seed=2, pixels_shape=PIXELS)


def _pixel_weights(agent: SAC) -> tuple[dict[str, np.ndarray], dict]:
    encoder = agent.encoder_arrays()
    assert encoder is not None
    spec = policy_spec(10, 3, agent.cfg.hidden, agent.pixels_shape)
    return pack_weights({"policy": agent.policy_arrays(), "encoder": encoder}, spec)


def test_a_pixel_policy_with_its_encoder_acts_like_the_learner(tiny_cfg: RobotConfig) -> None:
    agent = _pixel_agent(tiny_cfg)
    with torch.no_grad():  # a trained-looking encoder: its features are not all alike
        for value in agent.encoder.parameters():
            value.add_(0.05 * torch.randn_like(value))
    arrays, meta = _pixel_weights(agent)
    assert meta["policy"]["pixels"] == list(PIXELS)
    assert any(k.startswith("encoder/") for k in arrays)
    msg = decode(encode("w", meta, arrays))
    weights = unpack_weights(msg.arrays, msg.meta)
    assert weights.spec.pixels == PIXELS
    policy = ActorPolicy(weights.spec, seed=3)
    policy.load(weights.groups)
    rng = np.random.default_rng(0)
    actions = []
    for _ in range(4):
        obs = {"state": rng.normal(size=10).astype(np.float32),
               "pixels": rng.integers(0, 256, PIXELS, dtype=np.uint8)}
        a = policy.act(obs, deterministic=True)
        assert a.shape == (3,) and a.dtype == np.float32
        np.testing.assert_allclose(a, agent.act(obs, deterministic=True), rtol=0, atol=1e-6)
        actions.append(a)
    assert not np.allclose(actions[0], actions[1])  # the frames matter
    with pytest.raises(WeightsError, match="images"):
        policy.act(obs["state"])


def test_pixel_weights_without_a_fitting_encoder_are_refused(tiny_cfg: RobotConfig) -> None:
    agent = _pixel_agent(tiny_cfg)
    arrays, meta = _pixel_weights(agent)
    weights = unpack_weights(arrays, meta)
    policy = ActorPolicy(weights.spec)
    encoder = weights.groups["encoder"]
    name = next(iter(encoder))
    with pytest.raises(WeightsError, match="no 'encoder/...' arrays"):
        policy.load({"policy": weights.groups["policy"]})
    with pytest.raises(WeightsError, match="encoder weights: missing"):
        policy.load({**weights.groups, "encoder": {k: v for k, v in encoder.items()
                                                   if k != name}})
    with pytest.raises(WeightsError, match="encoder weights .*expected float"):
        policy.load({**weights.groups, "encoder": {**encoder, name: encoder[name][:-1]}})
    with pytest.raises(WeightsError, match="encoder weights .*expected float"):
        policy.load({**weights.groups,
                     "encoder": {**encoder, name: encoder[name].astype(np.int32)}})
    with pytest.raises(WeightsError, match="encoder weights .*not finite"):
        policy.load({**weights.groups,
                     "encoder": {**encoder, name: np.full_like(encoder[name], np.inf)}})
    for pixels in ([7, 16, 16], [6, 4, 16], [6, 16, 100_000], [6, 16], "6x16x16",
                   [6.0, 16, 16], [0, 16, 16]):
        with pytest.raises(WeightsError, match="pixels"):
            unpack_weights(arrays, {**meta, "policy": {**meta["policy"], "pixels": pixels}})
    assert PolicySpec.from_meta(meta["policy"]) == weights.spec
