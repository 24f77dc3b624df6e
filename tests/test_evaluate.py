"""Evaluation: forward velocity along the heading against straight-line (net) velocity."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.envs import RobotEnv
from robot_rl.evaluate import evaluate


class _PathEnv(gym.Env):
    """A base moving at 1 m/s along its heading, turning at ``yaw_rate`` rad/s."""

    def __init__(self, yaw_rate: float) -> None:
        self.cfg = SimpleNamespace(control_dt=0.05, task=SimpleNamespace(episode_steps=40))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,))
        self.yaw_rate = yaw_rate

    def reset(self, *, seed=None, options=None):
        self.t, self.heading = 0, 0.0
        self.state = SimpleNamespace(base_position=np.array([3.0, -2.0, 0.3]))
        return np.zeros(1, np.float32), {}

    def step(self, action):
        dt = self.cfg.control_dt
        self.heading += self.yaw_rate * dt
        step = dt * np.array([math.cos(self.heading), math.sin(self.heading), 0.0])
        self.state = SimpleNamespace(base_position=self.state.base_position + step)
        self.t += 1
        return (np.zeros(1, np.float32), 1.0, False, self.t >= 40,
                {"forward_velocity": 1.0})


def test_running_in_circles_has_forward_but_no_net_velocity() -> None:
    # 40 steps of 0.05 s: one full turn in the episode's 2 s
    circling = evaluate(lambda o: np.zeros(1), _PathEnv(yaw_rate=math.pi), 1).summary()
    straight = evaluate(lambda o: np.zeros(1), _PathEnv(yaw_rate=0.0), 1).summary()
    assert circling["forward_velocity"] == pytest.approx(1.0)
    assert straight["forward_velocity"] == pytest.approx(1.0)
    assert straight["net_velocity"] == pytest.approx(1.0)
    assert circling["net_velocity"] < 0.05


def test_standing_a1_in_pybullet_has_neither(a1_path) -> None:
    cfg = load_config(str(a1_path))
    cfg.task.episode_steps = 20
    env = RobotEnv(cfg, seed=0)
    try:
        result = evaluate(lambda o: np.zeros(env.action_space.shape), env, 2)
    finally:
        env.close()
    summary = result.summary()
    assert len(result.net_velocity) == 2
    assert abs(summary["forward_velocity"]) < 0.05 and summary["net_velocity"] < 0.05


def _codec(path) -> str:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return str(meta["codec"])


def test_video_is_h264_that_browsers_play(tmp_path) -> None:
    from robot_rl.evaluate import write_mp4

    frames = [np.full((47, 63, 3), 10 * i, np.uint8) for i in range(8)]  # odd sizes: padded
    path = write_mp4(tmp_path / "v.mp4", frames, 20)
    assert _codec(path) == "h264"
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: plays while downloading
    assert not list(tmp_path.glob(".*"))  # no temp file left


def test_video_falls_back_to_mp4v_with_one_warning(tmp_path, monkeypatch, capsys) -> None:
    import robot_rl.evaluate as ev

    def no_ffmpeg(*args, **kwargs):
        raise RuntimeError("No ffmpeg exe could be found.\nInstall ffmpeg on your system")

    monkeypatch.setattr(ev, "_write_h264", no_ffmpeg)
    path = ev.write_mp4(tmp_path / "v.mp4", [np.zeros((48, 64, 3), np.uint8)] * 4, 20)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: no H.264 encoder" in err and "mp4v" in err
    assert _codec(path) == "mpeg4"


def test_panda_video_marks_the_target_and_leaves_the_episodes_alone(panda_path,
                                                                     tmp_path) -> None:
    import imageio_ffmpeg

    cfg = load_config(str(panda_path))
    cfg.task.episode_steps = 5
    env = RobotEnv(cfg, seed=0)
    try:
        policy = lambda o: np.zeros(env.action_space.shape)  # noqa: E731
        filmed = evaluate(policy, env, 2, video=tmp_path / "panda.mp4")
        plain = evaluate(policy, env, 2)
        env.reset(seed=10_000)
        target = env.control.target
        bare = env.render()
        env.robot.show_target(target)
        marked = env.render()
        env.robot.show_target(None)
    finally:
        env.close()
    assert filmed.returns == plain.returns  # drawing the target is not physics
    red = (marked[:, :, 0] > 200) & (marked[:, :, 1] < 60) & (marked[:, :, 2] < 60)
    assert red.sum() >= 12 and not np.array_equal(bare, marked)
    h, w = bare.shape[:2]
    ys, xs = np.nonzero(red)
    # the target is in front of the arm, inside the frame and not at its border
    assert 0.1 * w < xs.mean() < 0.9 * w and 0.1 * h < ys.mean() < 0.9 * h
    # the video's first frame shows the marker too
    reader = imageio_ffmpeg.read_frames(str(filmed.video))
    meta = next(reader)
    first = np.frombuffer(next(reader), np.uint8).reshape(meta["size"][1], meta["size"][0], 3)
    reader.close()
    near = first[int(ys.mean()) - 2:int(ys.mean()) + 3, int(xs.mean()) - 2:int(xs.mean()) + 3]
    assert near[:, :, 0].mean() > 180 and near[:, :, 1].mean() < 90


def test_nominal_policy_holds_the_nominal_pose(a1_path) -> None:
    from robot_rl.evaluate import nominal_policy

    cfg = load_config(str(a1_path))
    cfg.task.episode_steps = 10
    env = RobotEnv(cfg, seed=0)
    try:
        policy = nominal_policy(env)
        assert np.array_equal(policy(np.zeros(3)), np.zeros(env.action_space.shape))
        result = evaluate(policy, env, 1)
    finally:
        env.close()
    assert result.lengths == [10] and result.net_velocity[0] < 0.05
