"""Learning from pixels across the transport: a sim actor with a camera feeds a pixel learner
over loopback ZeroMQ; frames arrive as uint8 stacks plus the new frame, the actors get the
encoder with the policy, and malformed image batches are dropped and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.config import RobotConfig, load_config
from robot_rl.distributed.actor_loop import ActorLoop, ActorSettings
from robot_rl.distributed.learner_loop import Learner, LearnerSettings, make_learner
from robot_rl.distributed.realtime import run_realtime
from robot_rl.distributed.sources import read_sources
from robot_rl.distributed.transitions import BatchShape
from robot_rl.distributed.weights import ActorPolicy, unpack_weights
from robot_rl.envs import RobotEnv
from robot_rl.runs import RunDir
from robot_rl.sac.pixel_buffer import PixelReplayBuffer
from robot_rl.sac.prior import PixelMixedReplayBuffer
from robot_rl.transport import ActorClient, LearnerServer, WireLimits, encode
from tests.conftest import write_config

from .conftest import FAST, wait_for

pytestmark = pytest.mark.timeout(120)

FRONT = {"name": "front", "width": 16, "height": 16,
         "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}
K = 2  # frames per camera
F = 3  # channels of one time step (one camera)
SETTINGS = LearnerSettings(publish_every=2, checkpoint_every=10_000, checkpoint_idle_s=600,
                           log_every=1000, linger_s=0.0, tensorboard=False)


@pytest.fixture
def pixel_cfg(tmp_path: Path, panda_path: Path) -> RobotConfig:
    """Panda reaching with one 16x16 camera, 2 frames, tiny networks, 6-step episodes."""
    return load_config(str(write_config(tmp_path, panda_path, {
        "cameras": [FRONT], "observation": {"images": ["front"], "frame_stack": K},
        "task": {"episode_steps": 6, "reach": {"hindsight": 0}},
        "learner": {"hidden": [16], "warmup_steps": 8, "batch_size": 8, "utd": 1,
                    "buffer_size": 200}}, name="pixels.yaml")))


def _batch(first: int, n: int, shape: BatchShape) -> dict[str, np.ndarray]:
    """n transitions whose frames are filled with their number (to find them again)."""
    assert shape.pixels is not None
    rng = np.random.default_rng(first)
    obs = rng.normal(size=(n, shape.obs_dim)).astype(np.float32)
    steps = np.arange(first, first + n)
    fill = (steps % 200).astype(np.uint8)[:, None, None, None]
    c, h, w = shape.pixels
    return {"obs": obs, "action": rng.uniform(-1, 1, (n, shape.act_dim)).astype(np.float32),
            "reward": np.ones(n, np.float32), "next_obs": obs + 1,
            "terminated": np.zeros(n, bool), "truncated": np.arange(n) == n - 1,
            "step": steps.astype(np.int64),
            "pixels": np.broadcast_to(fill, (n, c, h, w)).copy(),
            "next_frame": np.broadcast_to(fill + 1, (n, shape.frame_channels, h, w)).copy()}


def _drive(learner: Learner, client: ActorClient, until, what: str) -> None:
    def cond() -> bool:
        client.poll(0.0)
        learner.step(0.005)
        return until()
    wait_for(cond, 60, what, every_s=0)


def test_pixel_learner_stores_frames_drops_bad_image_batches_and_checkpoints(
        tmp_path: Path, pixel_cfg: RobotConfig) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(pixel_cfg, server, run, SETTINGS)
    client = ActorClient(server.endpoint, "scripted", options=FAST)
    forger = ActorClient(server.endpoint, "forger", options=FAST)
    shape = learner.shape
    assert shape.pixels == (K * F, 16, 16) and shape.frame_channels == F
    assert isinstance(learner.buffer, PixelReplayBuffer) and learner.agent.encoder is not None
    try:
        for i in range(3):
            client.send_transitions(_batch(10 * i, 10, shape))
        bad = _batch(100, 4, shape)
        forged = [{**bad, "pixels": bad["pixels"].astype(np.float32)},  # floats on the wire
                  {**bad, "pixels": bad["pixels"].astype(np.int16)},
                  {**bad, "pixels": bad["pixels"][:, :F]},  # one frame, not the stack
                  {**bad, "next_frame": bad["pixels"]},  # the stack, not the new frame
                  {**bad, "pixels": bad["pixels"][:, :, :8]},  # another size
                  {k: v for k, v in bad.items() if k != "next_frame"},
                  {k: v for k, v in bad.items() if k not in ("pixels", "next_frame")}]
        for arrays in forged:  # from another actor: its first batch gets it refused
            forger.send_transitions(arrays)

        def every_batch() -> bool:
            forger.poll(0.0)  # sends all its batches at once, when first synced
            return learner.accepted == 30 + 4 * len(forged) and learner.lag == 0
        _drive(learner, client, every_batch, "every batch and every owed update")
        assert forger.refusal is not None and "(mismatch)" in forger.refusal
        assert client.refusal is None and learner.mismatched_batches == len(forged)
        assert learner.received == 30 and learner.bad_transitions == 4 * len(forged)
        assert learner.update_steps == 30 - 8 and np.isfinite(learner.last_info["critic_loss"])
        buffer = learner.buffer
        assert len(buffer) == 30 and buffer.data["pixels"].dtype == np.uint8
        np.testing.assert_array_equal(buffer.data["pixels"][:30, 0, 0, 0], np.arange(30))
        np.testing.assert_array_equal(buffer.data["next_frame"][:30, 0, 0, 0],
                                      np.arange(30) + 1)

        learner.publish()
        update = None
        while update is None or update.version != learner.weights_version:
            _drive(learner, client, lambda: client.weights_version == learner.weights_version,
                   "the newest weights")
            update = client.latest_weights() or update
        assert any(name.startswith("encoder/") for name in update.arrays)
        weights = unpack_weights(update.arrays, update.meta)
        assert weights.spec.pixels == shape.pixels
        policy = ActorPolicy(weights.spec)
        policy.load(weights.groups)
        obs = {"state": np.linspace(-1, 1, shape.obs_dim, dtype=np.float32),
               "pixels": np.arange(K * F * 256, dtype=np.uint8).reshape(K * F, 16, 16)}
        np.testing.assert_allclose(policy.act(obs, True), learner.agent.act(obs, True),
                                   atol=1e-6)
        folder = learner.save()
        assert folder is not None
    finally:
        client.close()
        forger.close()
        server.close()

    with LearnerServer("tcp://127.0.0.1:0", options=FAST) as server2:
        resumed = make_learner(pixel_cfg, server2, run, SETTINGS, incarnation=2)
        resumed.load(folder)
        assert (resumed.received, resumed.bad_transitions) == (30, 4 * len(forged))
        for key in ("pixels", "next_frame", "obs"):
            np.testing.assert_array_equal(resumed.buffer.data[key][:30],
                                          learner.buffer.data[key][:30])
        resumed.shutdown()


def test_images_to_a_learner_without_images_are_dropped(tmp_path: Path,
                                                        tiny_cfg: RobotConfig) -> None:
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(tiny_cfg, server, None, SETTINGS)
    client = ActorClient(server.endpoint, "camera-robot", options=FAST)
    shape = BatchShape(learner.agent.obs_dim, learner.agent.act_dim, (3, 16, 16), 3)
    try:
        client.send_transitions(_batch(0, 5, shape))
        plain = {k: v for k, v in _batch(5, 5, shape).items()
                 if k not in ("pixels", "next_frame")}
        client.send_transitions(plain)
        _drive(learner, client, lambda: learner.accepted == 10, "both batches")
        assert learner.bad_transitions == 5 and learner.received == 5
        assert len(learner.buffer) == 5 and "pixels" not in learner.buffer.data
    finally:
        client.close()
        server.close()


def test_flagged_pixel_transitions_join_the_pixel_prior_data_with_their_frames(
        tmp_path: Path, panda_path: Path, pixel_cfg: RobotConfig) -> None:
    probe = make_learner(pixel_cfg, LearnerServer("tcp://127.0.0.1:0", options=FAST), None,
                         SETTINGS)
    shape = probe.shape
    probe.server.close()
    demos = PixelReplayBuffer(shape.obs_dim, shape.act_dim, shape.pixels, F, 10)
    demos.add_batch({k: v for k, v in _batch(150, 4, shape).items() if k != "step"})
    demos.save(tmp_path / "demos.npz")
    cfg = load_config(str(write_config(tmp_path, panda_path, {
        "cameras": [FRONT], "observation": {"images": ["front"], "frame_stack": K},
        "task": {"episode_steps": 6, "reach": {"hindsight": 0}},
        "learner": {"hidden": [16], "warmup_steps": 100, "batch_size": 8, "utd": 1,
                    "buffer_size": 200, "prior_data": str(tmp_path / "demos.npz")}},
        name="pixels_demos.yaml")))
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(cfg, server, None, SETTINGS)
    client = ActorClient(server.endpoint, "operator-robot", options=FAST)
    assert isinstance(learner.buffer, PixelMixedReplayBuffer) and len(learner.buffer.prior) == 4
    try:
        flags = np.array([0, 1, 1, 0, 0, 0, 1, 0], bool)
        client.send_transitions({**_batch(20, 8, shape), "intervention": flags})
        _drive(learner, client, lambda: learner.accepted == 8, "the flagged batch")
        assert learner.interventions == 3 and len(learner.buffer) == 8
        prior = learner.buffer.prior
        assert len(prior) == 4 + 3
        added = prior.gather(np.arange(4, 7))
        np.testing.assert_array_equal(added["pixels"][:, 0, 0, 0], [21, 22, 26])
        np.testing.assert_array_equal(added["next_pixels"][:, -1, 0, 0], [22, 23, 27])
    finally:
        client.close()
        server.close()


def test_a_sim_actor_with_a_camera_feeds_the_pixel_learner_and_acts_on_its_weights(
        tmp_path: Path, pixel_cfg: RobotConfig) -> None:
    """The real actor loop and learner over loopback ZeroMQ, stepped in turn in this thread
    (no timing: each waits on what it needs)."""
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(pixel_cfg, server, run, SETTINGS)
    env = RobotEnv(pixel_cfg, seed=1)
    client = ActorClient(server.endpoint, "cam0", options=FAST)
    loop = ActorLoop(env, client, ActorSettings(batch_size=4, seed=1))
    m = loop.metrics

    def both(until) -> bool:
        loop.step()
        learner.step(0.0)
        return until()

    try:
        wait_for(lambda: both(lambda: m["policy_steps"] >= 8), 90,
                 "the actor acting on the learner's weights", every_s=0)
        assert loop.policy is not None and loop.policy.encoder is not None  # with the encoder
        assert loop.policy.spec.pixels == (K * F, 16, 16)
        loop.finish(0.0)  # the partial batch, into the client's store
        sent = m["sent_transitions"]
        _drive(learner, client, lambda: learner.accepted == sent, "every transition sent")
        assert learner.bad_transitions == 0 and learner.received == sent == m["steps"]
        folder = learner.save()
        assert folder is not None
    finally:
        client.close()
        server.close()
        env.close()
    buffer = learner.buffer
    pixels, nxt = buffer.data["pixels"][:sent], buffer.data["next_frame"][:sent]
    assert pixels.any() and nxt.any()  # rendered frames, not zeros
    steps = read_sources(folder / "sources.npz")["cam0"]
    np.testing.assert_array_equal(steps, np.arange(sent))  # stored in order, each once
    ends = np.logical_or(buffer.data["terminated"][:sent], buffer.data["truncated"][:sent])
    starts = np.concatenate([[True], ends[:-1]])
    for i in range(sent):
        if starts[i]:  # an episode starts with k copies of its first frame
            np.testing.assert_array_equal(pixels[i, :F], pixels[i, F:])
        else:  # the stack moves on by the frame the previous transition delivered
            np.testing.assert_array_equal(pixels[i], np.concatenate([pixels[i - 1, F:],
                                                                     nxt[i - 1]]))
    assert starts.sum() >= 2  # (6-step episodes: several resets seen)


def test_train_realtime_learns_from_pixels(pixel_cfg: RobotConfig) -> None:
    """``train --realtime``: the paced robot's transitions reach the learner with frames."""
    pixel_cfg.robot.control_hz = 50.0
    result = run_realtime(pixel_cfg, steps=30, seed=0, options=FAST)
    learner, (robot,) = result.learner, result.actors
    assert learner.received == robot["steps"] == 30 and learner.bad_transitions == 0
    pixels = learner.buffer.data["pixels"][:30]
    assert pixels.shape == (30, K * F, 16, 16) and pixels.any()
    np.testing.assert_array_equal(pixels[1, :F], pixels[0, F:])  # moved on by one frame


def test_a_realistic_pixel_batch_fits_the_wire_limits() -> None:
    """84x84, 3 frames, 1 camera, the actor's default 32 transitions: about 2.7 MB."""
    shape = BatchShape(30, 7, (9, 84, 84), 3)
    n = ActorSettings().batch_size
    frames = encode("tr", {}, _batch(0, n, shape))
    size = sum(len(f) for f in frames)
    assert 2_700_000 < size < 2_800_000
    assert size * 20 < WireLimits().max_message_bytes  # room for 20 times that batch


def test_learner_and_actor_processes_carry_camera_frames(tmp_path: Path,
                                                        pixel_cfg: RobotConfig) -> None:
    """`robot-rl learner` and `robot-rl actor` as real processes with a camera configured:
    the actor's frames reach the learner's replay as uint8 stacks, the learner trains on
    them and its weights (with the encoder) come back, and the actor acts on them."""
    import json
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    config, run = str(pixel_cfg.source), tmp_path / "run"
    steps = 48

    def start(name: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "robot_rl.cli", *args], cwd=root,
                                env=env, stdout=open(tmp_path / f"{name}.out", "w"),
                                stderr=open(tmp_path / f"{name}.log", "w"))

    learner = start("learner", "learner", config, "--bind", "tcp://127.0.0.1:0", "--run-dir",
                    str(run), "--publish-every", "2", "--no-progress", "--no-tensorboard")
    actor: subprocess.Popen | None = None
    try:
        wait_for(lambda: (run / "endpoint").is_file(), 60, "the learner to bind",
                 lambda: learner.poll() is None, every_s=0.1)
        endpoint = (run / "endpoint").read_text().strip()
        actor = start("actor", "actor", config, "--learner", endpoint, "--id", "cam",
                      "--max-steps", str(steps), "--rate-hz", "20", "--batch", "4")
        wait_for(lambda: actor.poll() is not None, 90, "the actor to finish",
                 lambda: learner.poll() is None, every_s=0.1)
        learner.send_signal(signal.SIGTERM)
        assert learner.wait(30) == 0, (tmp_path / "learner.log").read_text()[-2000:]
    finally:
        for proc in (learner, actor):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert actor.returncode == 0, (tmp_path / "actor.log").read_text()[-2000:]
    report = json.loads((tmp_path / "actor.out").read_text().strip().splitlines()[-1])
    assert report["committed"] and report["steps"] == steps
    assert report["transport"]["weights_received"] >= 1 and report["policy_steps"] > 0
    checkpoint = RunDir(run).latest_checkpoint()
    assert checkpoint is not None
    state = json.loads((checkpoint / "learner.json").read_text())
    assert state["received"] == steps and state["bad_transitions"] == 0
    assert state["update_steps"] > 0
    with np.load(checkpoint / "buffer.npz") as data:
        pixels, frames = data["pixels"], data["next_frame"]
    assert pixels.dtype == np.uint8 and pixels.shape[1:] == (K * F, 16, 16)
    assert frames.dtype == np.uint8 and frames.shape[1:] == (F, 16, 16)
    assert pixels[:steps].std() > 0  # rendered frames, not zeros
    np.testing.assert_array_equal(np.sort(read_sources(checkpoint / "sources.npz")["cam"]),
                                  np.arange(steps))
