"""Learning from pixels: DrQ's shift, the shared encoder's gradients, uint8 replay, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.errors import ConfigError
from robot_rl.sac import SAC, PixelReplayBuffer
from robot_rl.sac.encoder import SHIFT_PAD, PixelEncoder, random_shift, shift
from robot_rl.sac.warmstart import init_from
from robot_rl.spaces import FrameStack
from robot_rl.train import Trainer
from tests.sac.tiny import DotSide, tiny

SHAPE = (6, 20, 20)  # 2 frames of one camera, 20x20


def _dot(n: int = 8, channels: int = 6, size: int = 20, at: tuple[int, int] = (10, 10),
         ) -> torch.Tensor:
    x = torch.zeros(n, channels, size, size)
    x[:, :, at[0], at[1]] = 255.0
    return x


def test_shift_at_the_centre_is_the_identity_and_moves_by_the_offset() -> None:
    x = _dot(2)
    centre = torch.full((2, 2), SHIFT_PAD)
    assert torch.equal(shift(x, centre), x)
    moved = shift(x, torch.tensor([[0, 0], [8, 8]]))  # x, y offsets
    assert moved[0, 0, 14, 14] == 255 and moved[0].sum() == x[0].sum()  # +4, +4
    assert moved[1, 0, 6, 6] == 255 and moved[1].sum() == x[1].sum()  # -4, -4


def test_shift_replicates_the_border() -> None:
    x = torch.zeros(1, 1, 20, 20)
    x[0, 0, :, 0] = 7.0  # left column
    out = shift(x, torch.tensor([[0, SHIFT_PAD]]))  # content moves right by 4
    assert torch.all(out[0, 0, :, :5] == 7.0) and torch.all(out[0, 0, :, 5:] == 0.0)


def test_random_shift_keeps_shape_bounds_and_actually_shifts() -> None:
    torch.manual_seed(0)
    x = _dot(256)
    out = random_shift(x.reshape(4, 64, 6, 20, 20)).reshape(256, 6, 20, 20)
    assert out.shape == x.shape and out.dtype == x.dtype
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 20 - 10, where % 20 - 10
    assert rows.abs().max() == SHIFT_PAD and cols.abs().max() == SHIFT_PAD  # all of +-4
    assert (rows != 0).float().mean() > 0.7 and (cols != 0).float().mean() > 0.7
    # one offset per sample: every stacked frame (channel) of a sample moved alike
    assert torch.equal(out, out[:, :1].expand_as(out))


def _agent(recipe: str = "sac", **kw: object) -> SAC:
    return SAC(3, 2, tiny(recipe, **kw), seed=0, pixels_shape=SHAPE)


def _buffer(n: int = 64, seed: int = 0) -> PixelReplayBuffer:
    """``n`` random transitions of one episode-like frame stream (k = 2, one camera)."""
    rng = np.random.default_rng(seed)
    buf = PixelReplayBuffer(3, 2, SHAPE, 3, 128, seed=seed)
    stack = FrameStack(["cam"], 2)

    def frame() -> dict[str, np.ndarray]:
        return {"cam": rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)}

    pixels = stack.reset(frame())
    for i in range(n):
        nxt = stack.push(frame())
        buf.add({"state": rng.normal(size=3).astype(np.float32), "pixels": pixels},
                rng.uniform(-1, 1, 2).astype(np.float32), float(rng.normal()),
                {"state": rng.normal(size=3).astype(np.float32), "pixels": nxt},
                i % 9 == 0, False)
        pixels = nxt
    return buf


def test_actor_loss_leaves_the_encoder_alone_and_critic_loss_trains_it() -> None:
    agent = _agent()
    assert agent.encoder is not None
    batch = agent.to_device(_buffer().sample(8)).slice(0)
    loss, _ = agent.actor_loss(batch)
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in agent.encoder.parameters())
    assert any(p.grad is not None and p.grad.any() for p in agent.actor.parameters())
    before = [p.detach().clone() for p in agent.encoder.parameters()]
    agent.actor_step(batch)  # an actor (and temperature) step does not move the encoder
    assert all(torch.equal(a, p) for a, p in zip(before, agent.encoder.parameters(),
                                                  strict=True))
    loss, _ = agent.critic_loss(batch)
    agent.critic_opt.zero_grad()
    loss.backward()
    grads = [p.grad for p in agent.encoder.parameters()]
    assert all(g is not None for g in grads) and any(g.any() for g in grads if g is not None)
    agent.critic_step(batch)
    assert any(not torch.equal(a, p) for a, p in zip(before, agent.encoder.parameters(),
                                                      strict=True))


def test_frames_stay_uint8_and_next_frames_are_rebuilt_exactly(tmp_path) -> None:
    buf = _buffer(40)
    assert buf.data["pixels"].dtype == np.uint8 and buf.data["next_frame"].dtype == np.uint8
    # a transition holds k + 1 = 3 frames, not 2k = 4 (and never float pixels)
    frame = 3 * 20 * 20
    assert buf.bytes_per_transition == 3 * frame + 4 * (3 + 2 + 1 + 3 + 1 + 1)
    assert buf.bytes_per_transition == PixelReplayBuffer.transition_bytes(3, 2, SHAPE, 3)
    batch = buf.sample(16, 2)
    assert batch.pixels is not None and batch.next_pixels is not None
    assert batch.pixels.dtype == torch.uint8 and batch.pixels.shape == (2, 16, *SHAPE)
    assert batch.obs.dtype == torch.float32
    # next_obs's stack is obs's moved on by one frame
    assert torch.equal(batch.next_pixels[:, :, :3], batch.pixels[:, :, 3:])
    idx = np.arange(40)
    arrays = buf.gather(idx)
    assert np.array_equal(arrays["next_pixels"][:-1], arrays["pixels"][1:])  # one stream
    buf.save(tmp_path / "b.npz")
    again = PixelReplayBuffer(3, 2, SHAPE, 3, 128)
    again.load(tmp_path / "b.npz")
    assert len(again) == 40
    for key, value in again.gather(idx).items():
        assert np.array_equal(value, arrays[key]), key


def test_a_next_stack_from_another_stream_is_refused() -> None:
    buf = PixelReplayBuffer(3, 2, SHAPE, 3, 8)
    obs = {"state": np.zeros(3, np.float32), "pixels": np.zeros(SHAPE, np.uint8)}
    other = {"state": np.zeros(3, np.float32), "pixels": np.ones(SHAPE, np.uint8)}
    with pytest.raises(ValueError, match="moved on by one frame"):
        buf.add(obs, np.zeros(2, np.float32), 0.0, other, False, False)


@pytest.mark.parametrize("recipe", ["sac", "droq", "redq", "crossq", "crossq_wn"])
def test_recipes_learn_from_pixels_and_checkpoints_round_trip(recipe: str) -> None:
    agent = _agent(recipe)
    info = agent.update(_buffer().sample(8, 3))  # 3: an actor step for every recipe
    assert np.isfinite(info["critic_loss"]) and np.isfinite(info["actor_loss"])
    obs = {"state": np.zeros(3, np.float32), "pixels": np.full(SHAPE, 128, np.uint8)}
    action = agent.act(obs, deterministic=True)
    assert action.shape == (2,) and np.all(np.abs(action) <= 1)
    again = _agent(recipe)
    again.load_state_dict(agent.state_dict())
    assert again.encoder is not None and agent.encoder is not None
    for a, b in zip(agent.encoder.state_dict().values(),
                    again.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert np.array_equal(again.act(obs, deterministic=True), action)


def test_encoder_gives_layer_normed_features_of_any_leading_dims() -> None:
    enc = PixelEncoder(*SHAPE)
    out = enc(torch.rand(2, 3, *SHAPE) * 255)
    assert out.shape == (2, 3, 50) and out.abs().max() <= 1.0
    with pytest.raises(ValueError, match="9x9"):
        PixelEncoder(3, 8, 20)


def test_sac_learns_where_the_answer_is_only_in_the_pixels() -> None:
    """DotSide: blind policies score 0 on average, reading the dot scores 1."""
    env = DotSide()
    cfg = tiny("sac", hidden=[32, 32], batch_size=32, warmup_steps=100, buffer_size=2000,
               actor_lr=1e-3, critic_lr=1e-3)
    agent = SAC(1, 1, cfg, seed=0, pixels_shape=(3, DotSide.size, DotSide.size))
    buffer = PixelReplayBuffer(1, 1, (3, DotSide.size, DotSide.size), 3, 2000, seed=0)
    Trainer(env, agent, buffer, cfg, seed=0, progress=False).train(600)
    returns = []
    for i in range(40):
        obs, _ = env.reset(seed=10_000 + i)
        returns.append(env.step(agent.act(obs, deterministic=True))[1])
    assert np.mean(returns) > 0.8, np.mean(returns)


def test_init_copies_the_encoder_and_refuses_a_checkpoint_without_one(tmp_path) -> None:
    source = _agent()
    torch.save(source.state_dict(), tmp_path / "agent.pt")
    target = SAC(3, 2, tiny("sac"), seed=1, pixels_shape=SHAPE)
    init_from(target, tmp_path / "agent.pt")
    assert target.encoder is not None and source.encoder is not None
    for a, b in zip(source.encoder.parameters(), target.encoder.parameters(), strict=True):
        assert torch.equal(a, b)
    state = source.state_dict()
    del state["encoder"]
    torch.save(state, tmp_path / "no_encoder.pt")
    with pytest.raises(ConfigError, match="image encoder"):
        init_from(target, tmp_path / "no_encoder.pt")


def test_same_seed_same_shifts_and_learning() -> None:
    batch = _buffer().sample(8, 3)
    infos, encoders = [], []
    for _ in range(2):
        agent = _agent()
        infos.append(agent.update(batch))
        assert agent.encoder is not None
        encoders.append([p.detach().clone() for p in agent.encoder.parameters()])
    assert infos[0] == infos[1]
    assert all(torch.equal(a, b) for a, b in zip(*encoders, strict=True))


def test_crossq_leaves_the_encoder_features_out_of_its_input_batch_norm() -> None:
    """CrossQ's input batch renorm normalizes the state and the action, not the encoder's
    features: across a batch of frames of one scene a feature may vary by 1e-3, and
    normalizing it would blow that jitter up to the state's scale."""
    from robot_rl.sac.networks import CriticEnsemble

    critic = CriticEnsemble(3 + 5, 2, [16], 2, layernorm=False, batchrenorm=True, features=5)
    assert critic.input_norm is not None
    assert critic.input_norm.running_mean.shape[-1] == 3 + 2  # state + action only
    seen: list[torch.Tensor] = []
    first = critic.net[0]
    first.register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    gen = torch.Generator().manual_seed(0)
    state = torch.randn(64, 3, generator=gen)
    features = 0.3 + 1e-3 * torch.randn(64, 5, generator=gen)  # nearly constant
    action = torch.rand(64, 2, generator=gen) * 2 - 1
    critic(torch.cat([state, features], dim=1), action)
    x = seen[0][0]  # member 0's input to the first layer: [normalized state, action | features]
    torch.testing.assert_close(x[:, 5:], features)
    assert x[:, :5].std(dim=0).min() > 0.9  # the state and action are normalized
