"""DynamicsEnsemble / DynamicsTrainer (torch) and the numpy DynamicsPredictor for the actor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robot_rl.aprl import DynamicsConfig, DynamicsEnsemble, DynamicsPredictor, DynamicsTrainer

OBS, ACT = 4, 2
SMALL = DynamicsConfig(ensemble_size=3, hidden=(32, 32), lr=3e-3, batch_size=64)


def linear_system(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = np.eye(OBS) + 0.1 * rng.normal(size=(OBS, OBS))
    B = rng.normal(size=(OBS, ACT))
    return A, B


def transitions(n: int, A: np.ndarray, B: np.ndarray, rng: np.random.Generator,
                noise: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = rng.normal(size=(n, OBS)) * np.array([1.0, 2.0, 0.5, 10.0])
    act = rng.uniform(-1, 1, size=(n, ACT))
    nxt = obs @ A.T + act @ B.T + noise * rng.normal(size=(n, OBS))
    return obs.astype(np.float32), act.astype(np.float32), nxt.astype(np.float32)


def test_shapes_and_dtypes() -> None:
    torch.manual_seed(0)
    model = DynamicsEnsemble.from_config(OBS, ACT, SMALL)
    mean, members = model.predict(torch.zeros(7, OBS), torch.zeros(7, ACT))
    assert mean.shape == (7, OBS) and members.shape == (3, 7, OBS)
    assert mean.dtype == torch.float32
    assert model(torch.zeros(3, 5, OBS), torch.zeros(3, 5, ACT)).shape == (3, 5, OBS)


def test_vectorized_ensemble_equals_per_member_reference() -> None:
    torch.manual_seed(0)
    model = DynamicsEnsemble(OBS, ACT, ensemble_size=4, hidden=(16, 8))
    obs, act, nxt = transitions(50, *linear_system(), np.random.default_rng(1))
    model.update_normalizer(torch.as_tensor(obs), torch.as_tensor(nxt))
    x_obs = (torch.as_tensor(obs) - model.obs_norm.mean.float()) / model.obs_norm.std()
    x0 = torch.cat([x_obs, torch.as_tensor(act)], dim=-1)
    got = model(torch.as_tensor(obs), torch.as_tensor(act))
    for e in range(4):
        h = x0
        for i, layer in enumerate(model.layers):
            h = F.linear(h, layer.weight[e].T, layer.bias[e, 0])
            h = torch.relu(h) if i < len(model.layers) - 1 else h
        torch.testing.assert_close(got[e], h, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got[0], got[1])  # members are initialized independently


def test_running_normalizer_matches_numpy_over_batches() -> None:
    model = DynamicsEnsemble(OBS, ACT, ensemble_size=1, hidden=(8,))
    rng = np.random.default_rng(0)
    chunks = [transitions(n, *linear_system(), rng) for n in (10, 1, 33, 200)]
    for obs, _, nxt in chunks:
        model.update_normalizer(torch.as_tensor(obs), torch.as_tensor(nxt))
    all_obs = np.concatenate([c[0] for c in chunks])
    all_delta = np.concatenate([c[2] - c[0] for c in chunks])
    np.testing.assert_allclose(model.obs_norm.mean.numpy(), all_obs.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.obs_norm.var.numpy(), all_obs.var(0), rtol=1e-4)
    np.testing.assert_allclose(model.delta_norm.mean.numpy(), all_delta.mean(0), atol=1e-5)
    assert model.obs_norm.count.item() == len(all_obs)


def test_learns_a_linear_system() -> None:
    torch.manual_seed(0)
    A, B = linear_system()
    rng = np.random.default_rng(0)
    model = DynamicsEnsemble.from_config(OBS, ACT, SMALL)
    trainer = DynamicsTrainer(model, SMALL, seed=0)
    held_out = [torch.as_tensor(x) for x in transitions(500, A, B, rng)]
    with torch.no_grad():
        model.update_normalizer(held_out[0], held_out[2])
        start = model.loss(*held_out)[1]["dynamics/loss"]
    for _ in range(400):  # (how fast: benchmarks/aprl.py, not a test's gate: issue 12)
        info = trainer.update(*transitions(SMALL.batch_size, A, B, rng))
    with torch.no_grad():
        end = model.loss(*held_out)[1]["dynamics/loss"]
    assert end < 0.05 * start and end < 0.05, (start, end)
    assert info["dynamics/updates"] == 400.0
    assert info["dynamics/loss_member_min"] <= info["dynamics/loss"]


def test_same_seed_same_training() -> None:
    def run() -> float:
        torch.manual_seed(3)
        model = DynamicsEnsemble.from_config(OBS, ACT, SMALL)
        trainer = DynamicsTrainer(model, SMALL, seed=5)
        rng = np.random.default_rng(2)
        for _ in range(5):
            info = trainer.update(*transitions(32, *linear_system(), rng))
        return info["dynamics/loss"]

    assert run() == run()


def test_mask_excludes_transitions() -> None:
    torch.manual_seed(0)
    model = DynamicsEnsemble(OBS, ACT, ensemble_size=2, hidden=(8,))
    obs, act, nxt = (torch.as_tensor(x) for x in
                     transitions(20, *linear_system(), np.random.default_rng(0)))
    model.update_normalizer(obs, nxt)
    corrupted = nxt.clone()
    corrupted[10:] += 1e3
    mask = torch.arange(20) < 10
    clean_loss, _ = model.loss(obs[:10], act[:10], nxt[:10])
    masked_loss, _ = model.loss(obs, act, corrupted, mask)
    torch.testing.assert_close(clean_loss, masked_loss)
    trainer = DynamicsTrainer(model, SMALL)
    before = model.delta_norm.count.item()
    trainer.update(obs, act, corrupted, mask=mask.numpy())
    assert model.delta_norm.count.item() == before + 10  # the normalizer skips them too


def test_numpy_predictor_equals_torch() -> None:
    torch.manual_seed(0)
    model = DynamicsEnsemble.from_config(OBS, ACT, SMALL)
    trainer = DynamicsTrainer(model, SMALL)
    rng = np.random.default_rng(0)
    trainer.update(*transitions(64, *linear_system(), rng))
    predictor = DynamicsPredictor.from_arrays(model.export_numpy())
    assert (predictor.obs_dim, predictor.act_dim, predictor.ensemble_size) == (OBS, ACT, 3)
    obs, act, nxt = transitions(5, *linear_system(), rng)
    t_mean, t_members = model.predict(torch.as_tensor(obs), torch.as_tensor(act))
    for i in range(5):
        mean, members = predictor.predict(obs[i], act[i])
        np.testing.assert_allclose(mean, t_mean[i].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(members, t_members[:, i].numpy(), rtol=1e-4, atol=1e-5)
        target = model.normalize_delta(torch.as_tensor(obs[i]), torch.as_tensor(nxt[i]))
        np.testing.assert_allclose(predictor.normalize_delta(obs[i], nxt[i]), target.numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_predictor_rejects_malformed_arrays() -> None:
    arrays = DynamicsEnsemble(OBS, ACT, ensemble_size=2, hidden=(8,)).export_numpy()
    with pytest.raises(ValueError, match="lack"):
        DynamicsPredictor.from_arrays({k: v for k, v in arrays.items() if k != "obs_std"})
    bad = dict(arrays, **{"layer1.weight": arrays["layer1.weight"][:, :4]})
    with pytest.raises(ValueError, match="chain"):
        DynamicsPredictor.from_arrays(bad)


def test_predictor_at_full_size_is_one_float32_matmul_per_layer() -> None:
    """The published size (5 x 256 x 256), as the actor runs it each step: every member at
    once, one float32 matmul per layer, equal to the torch model. (How fast: a benchmark's
    number, not a test's gate: issue 12.)"""
    obs_dim, act_dim = 48, 12
    torch.manual_seed(0)
    model = DynamicsEnsemble(obs_dim, act_dim, ensemble_size=5, hidden=(256, 256))
    predictor = DynamicsPredictor.from_arrays(model.export_numpy())
    sizes = [obs_dim + act_dim, 256, 256, obs_dim]
    assert [w.shape for w in predictor.weights] == [
        (5, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    assert all(w.dtype == np.float32 and w.flags.c_contiguous for w in predictor.weights)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(3, obs_dim)).astype(np.float32)
    act = rng.uniform(-1, 1, size=(3, act_dim)).astype(np.float32)
    with torch.no_grad():
        t_mean, t_members = model.predict(torch.as_tensor(obs), torch.as_tensor(act))
    for i in range(3):
        mean, members = predictor.predict(obs[i], act[i])
        assert mean.dtype == members.dtype == np.float32 and members.shape == (5, obs_dim)
        np.testing.assert_allclose(mean, t_mean[i].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(members, t_members[:, i].numpy(), rtol=1e-4, atol=1e-5)


def test_trainer_state_round_trip() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    batches = [transitions(32, *linear_system(), rng) for _ in range(6)]
    model = DynamicsEnsemble.from_config(OBS, ACT, SMALL)
    trainer = DynamicsTrainer(model, SMALL, seed=1)
    for b in batches[:3]:
        trainer.update(*b)
    state = trainer.state_dict()
    other = DynamicsTrainer(DynamicsEnsemble.from_config(OBS, ACT, SMALL), SMALL, seed=9)
    other.load_state_dict(state)
    a = [trainer.update(*b)["dynamics/loss"] for b in batches[3:]]
    b = [other.update(*b)["dynamics/loss"] for b in batches[3:]]
    assert a == b
