"""The learner against a scripted actor: exactly UTD updates per transition after the warm-up,
source tags aligned with the replay ring, bad batches dropped, checkpoints that round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.config import RobotConfig, load_config
from robot_rl.distributed.learner_loop import Learner, LearnerSettings, make_learner
from robot_rl.distributed.sources import read_sources
from robot_rl.distributed.weights import ActorPolicy, unpack_weights
from robot_rl.runs import RunDir, read_metrics
from robot_rl.transport import ActorClient, LearnerServer
from tests.conftest import CONFIGS, write_config

from .conftest import FAST, wait_for

pytestmark = pytest.mark.timeout(60)

WARMUP, UTD, CAPACITY = 8, 3, 50


def _batch(first: int, n: int, obs_dim: int, act_dim: int) -> dict[str, np.ndarray]:
    """n transitions numbered first.. whose obs[:, 0] repeats the number (to check order)."""
    rng = np.random.default_rng(first)
    obs = rng.normal(size=(n, obs_dim)).astype(np.float32)
    obs[:, 0] = np.arange(first, first + n)
    return {"obs": obs, "action": rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
            "reward": np.ones(n, np.float32), "next_obs": obs + 1,
            "terminated": np.zeros(n, bool), "truncated": np.arange(n) == n - 1,
            "step": np.arange(first, first + n, dtype=np.int64)}


def _drive(learner: Learner, client: ActorClient, until, what: str) -> None:
    def cond() -> bool:
        client.poll(0.0)
        learner.step(0.005)
        return until()
    wait_for(cond, 30, what, every_s=0)


def _quiet_learner(cfg: RobotConfig, tmp_path: Path) -> tuple[Learner, LearnerServer]:
    """A learner for ``cfg`` on loopback with a run directory, no TensorBoard, no idle
    checkpoints during a test."""
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    settings = LearnerSettings(checkpoint_idle_s=60, linger_s=0.0, tensorboard=False)
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    return make_learner(cfg, server, run, settings), server


def test_learner_counts_updates_tags_sources_and_checkpoints(tmp_path: Path,
                                                             a1_path: Path) -> None:
    cfg = load_config(str(write_config(tmp_path, a1_path, {"learner": {
        "hidden": [8, 8], "warmup_steps": WARMUP, "batch_size": 4, "utd": UTD,
        "buffer_size": CAPACITY}})))
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    settings = LearnerSettings(publish_every=4, checkpoint_every=30, log_every=10,
                               checkpoint_idle_s=60, linger_s=0.0, tensorboard=False)
    server = LearnerServer("tcp://127.0.0.1:0", options=FAST)
    learner = make_learner(cfg, server, run, settings, incarnation=3)
    client = ActorClient(server.endpoint, "scripted", options=FAST)
    other = ActorClient(server.endpoint, "other", options=FAST)
    o, a = learner.agent.obs_dim, learner.agent.act_dim
    try:
        for i in range(7):  # 70 transitions into a ring of 50
            client.send_transitions(_batch(10 * i, 10, o, a))
        bad = _batch(1000, 5, o, a)
        client.send_transitions({**bad, "action": bad["action"] * 3})  # outside [-1, 1]
        other.send_transitions({k: v for k, v in bad.items() if k != "step"})

        def both() -> bool:
            other.poll(0.0)
            return learner.bad_transitions == 10 and learner.lag == 0 and \
                other.refusal is not None
        _drive(learner, client, both, "every batch, every owed update and the refusal")
        # a bad value is dropped; a batch laid out for another config also refuses its actor
        assert client.refusal is None and learner.mismatched_batches == 1
        assert "missing arrays ['step']" in other.refusal and "(mismatch)" in other.refusal
        assert learner.received == 70 and len(learner.buffer) == CAPACITY
        assert learner.update_steps == 70 - WARMUP  # one update step per transition
        assert learner.agent.updates == UTD * (70 - WARMUP)  # of utd critic updates each
        assert learner.episodes == 7  # one truncated row per batch

        learner.publish()  # the policy as it is now (the last cadence publish may be older)
        update = None
        while update is None or update.version != learner.weights_version:
            _drive(learner, client, lambda: client.weights_version == learner.weights_version,
                   "the newest weights")
            update = client.latest_weights() or update
        assert update.version >> 32 == 3  # the incarnation keeps versions growing on restart
        weights = unpack_weights(update.arrays, update.meta)
        policy = ActorPolicy(weights.spec)
        policy.load(weights.groups)
        obs = np.linspace(-1, 1, o, dtype=np.float32)
        # the actors get the actor itself (they explore with it), not the averaged actor
        # a1.yaml's deterministic evaluation uses (learner.actor_ema)
        with torch.no_grad():
            own = learner.agent.actor.deterministic(torch.as_tensor(obs)[None])[0].numpy()
        np.testing.assert_allclose(policy.act(obs, True), own, atol=1e-6)

        folder = learner.save()
        # named by accepted transitions, incl. 10 dropped (".1" if a periodic checkpoint
        # already holds this state: batches may arrive several per poll)
        assert folder is not None and folder.name.split(".")[0] == "ckpt-00000080"
        with np.load(folder / "buffer.npz") as data:
            stored = data["obs"][:, 0]
        steps = read_sources(folder / "sources.npz")["scripted"]
        np.testing.assert_array_equal(steps, np.arange(20, 70))  # the newest 50, in order
        np.testing.assert_array_equal(stored, steps)  # each tag sits next to its row
        state = json.loads((folder / "learner.json").read_text())
        assert state["transport"] == server.state_dict()
        assert state["update_steps"] + state["lag"] + state["dropped_updates"] == 70 - WARMUP
        rows = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "train"]
        assert rows and all(np.isfinite(r["critic_loss"]) for r in rows if "critic_loss" in r)
    finally:
        client.close()
        other.close()
        server.close()

    with LearnerServer("tcp://127.0.0.1:0", options=FAST) as server2:
        resumed = make_learner(cfg, server2, run, settings, incarnation=4)
        resumed.load(folder)
        assert (resumed.received, resumed.update_steps) == (70, 70 - WARMUP)
        assert server2.state_dict() == state["transport"]
        order = np.argsort(learner.buffer.data["obs"][:, 0])  # the ring starts elsewhere now
        np.testing.assert_array_equal(resumed.buffer.data["obs"],
                                      learner.buffer.data["obs"][order])
        np.testing.assert_array_equal(resumed.sources.step, steps)
        resumed.publish()
        assert resumed.weights_version == 4 << 32
        resumed.shutdown()  # nothing new: no second checkpoint of the same state
        assert run.latest_checkpoint() == folder


def test_learner_relabels_each_actors_episodes_in_hindsight(tmp_path: Path,
                                                            panda_path: Path) -> None:
    """task.reach.hindsight on the learner: copies of every episode an actor ends, episodes
    kept per actor (interleaved batches), tagged as from no actor, not counted as received."""
    copies = 2
    cfg = load_config(str(write_config(tmp_path, panda_path, {
        "learner": {"hidden": [8, 8], "warmup_steps": 1000, "batch_size": 4},
        "task": {"episode_steps": 10, "reach": {"hindsight": copies}}})))
    learner, server = _quiet_learner(cfg, tmp_path)
    left = ActorClient(server.endpoint, "left", options=FAST)
    right = ActorClient(server.endpoint, "right", options=FAST)
    o, a = learner.agent.obs_dim, learner.agent.act_dim
    try:
        whole = _batch(0, 10, o, a)  # one episode: the last row is truncated
        half = {k: v[:6] for k, v in whole.items()}
        half["truncated"] = np.zeros(6, bool)
        rest = {k: v[6:] for k, v in whole.items()}
        left.send_transitions(half)  # left's episode is split over two batches ...
        _drive(learner, left, lambda: learner.received == 6, "the first half")
        assert len(learner.buffer) == 6  # ... and nothing is relabelled before its end
        right.send_transitions(whole)
        _drive(learner, right, lambda: learner.received == 16, "right's episode")
        left.send_transitions(rest)
        _drive(learner, left, lambda: learner.received == 20, "the second half")
        assert learner.received == 20  # copies are not environment steps
        assert len(learner.buffer) == 20 + 2 * 10 * copies
        copies_rows = learner.buffer.data["obs"][6 + 10:6 + 10 + 10 * copies]
        # right's copies: each row keeps its transition's number in obs[:, 0]
        np.testing.assert_array_equal(copies_rows[:, 0], np.repeat(np.arange(10), copies))
        folder = learner.save()
        assert folder is not None
        sources = read_sources(folder / "sources.npz")
        assert sorted(sources) == ["left", "right"]
        np.testing.assert_array_equal(np.sort(sources["left"]), np.arange(10))
        np.testing.assert_array_equal(np.sort(sources["right"]), np.arange(10))
    finally:
        left.close()
        right.close()
        server.close()


def test_an_ee_delta_learner_takes_three_number_actions_and_refuses_joint_actions(
        tmp_path: Path) -> None:
    """robot.action_mode: ee_delta over the transport: the learner's actions are the end
    effector's 3 numbers; a batch with one number per joint is counted and dropped."""
    cfg = load_config(str(write_config(tmp_path, CONFIGS / "panda_push.yaml", {
        "learner": {"hidden": [8, 8], "warmup_steps": 1000, "batch_size": 4,
                    "recipe": "sac"}})))
    assert cfg.robot.action_mode == "ee_delta"
    learner, server = _quiet_learner(cfg, tmp_path)
    client = ActorClient(server.endpoint, "arm", options=FAST)
    o, a = learner.agent.obs_dim, learner.agent.act_dim
    assert a == 3
    try:
        client.send_transitions(_batch(0, 5, o, 7))  # joint-sized actions: refused
        client.send_transitions(_batch(5, 5, o, a))
        _drive(learner, client, lambda: learner.received == 5, "the 3-number batch")
        assert len(learner.buffer) == 5
        assert learner.bad_transitions == 5 and learner.mismatched_batches == 1
    finally:
        learner.shutdown()
        client.close()
        server.close()
