"""Camera frames: rendered headless at the configured size, cropped and resized with opencv."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.images import crop_resize, decode_jpeg, encode_jpeg
from sim_bridge.pybullet_robot import PyBulletRobot
from tests.conftest import write_config

FRONT = {"name": "front", "width": 84, "height": 64,
         "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}
WRIST = {"name": "wrist", "width": 48, "height": 40, "link": "panda_hand",
         "offset": {"position": [0.0, 0.0, 0.05]}}


@pytest.fixture(scope="module")
def panda(tmp_path_factory: pytest.TempPathFactory) -> PyBulletRobot:
    tmp = tmp_path_factory.mktemp("cams")
    root = Path(__file__).resolve().parents[2]
    cropped = dict(copy.deepcopy(FRONT), name="front_crop", render_width=168, render_height=128,
                   crop=[40, 16, 96, 96], width=32, height=32)
    cfg = load_config(write_config(tmp, root / "robot_configs" / "panda.yaml",
                                   {"cameras": [FRONT, WRIST, cropped]}))
    return PyBulletRobot(cfg)


def test_frames_have_the_configured_size(panda: PyBulletRobot) -> None:
    frames = panda.render_cameras()
    assert list(frames) == ["front", "wrist", "front_crop"]
    assert frames["front"].shape == (64, 84, 3) and frames["wrist"].shape == (40, 48, 3)
    assert frames["front_crop"].shape == (32, 32, 3)
    for frame in frames.values():
        assert frame.dtype == np.uint8 and frame.flags.c_contiguous
        assert frame.std() > 5  # a scene, not a blank image


def test_rendering_is_deterministic(panda: PyBulletRobot) -> None:
    a, b = panda.render_cameras(), panda.render_cameras()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_the_wrist_camera_moves_with_its_joint(panda: PyBulletRobot) -> None:
    panda.reset()
    before = panda.render_cameras()
    target = np.array(panda.cfg.robot.nominal)
    target[0] += 0.6  # turn the whole arm about its base
    panda.send_command(target)
    for _ in range(15):
        panda.tick()
    assert abs(panda.read_state().joint_position[0] - target[0]) < 0.05
    after = panda.render_cameras()
    wrist_change = np.abs(after["wrist"].astype(int) - before["wrist"]).mean()
    assert wrist_change > 10, wrist_change
    panda.reset()
    assert np.array_equal(panda.render_cameras()["wrist"], before["wrist"])


def test_crop_then_resize_of_the_render(panda: PyBulletRobot) -> None:
    cam = panda.cfg.cameras[2]
    full = panda.render_camera(dataclasses.replace(cam, crop=None, width=168, height=128))
    x, y, w, h = cam.crop or ()
    expected = cv2.resize(full[y:y + h, x:x + w], (32, 32), interpolation=cv2.INTER_AREA)
    assert np.array_equal(panda.render_camera(cam), expected)


def test_crop_resize_on_a_known_image() -> None:
    img = np.zeros((60, 80, 3), np.uint8)
    img[10:30, 20:60] = (200, 50, 10)  # the crop box, one colour
    out = crop_resize(img, [20, 10, 40, 20], (8, 4))
    assert out.shape == (4, 8, 3) and np.all(out == (200, 50, 10))
    img[10:30, 40:60] = (0, 0, 255)  # right half of the box another colour
    out = crop_resize(img, [20, 10, 40, 20], (8, 4))
    assert np.all(out[:, :4] == (200, 50, 10)) and np.all(out[:, 4:] == (0, 0, 255))
    same = crop_resize(img, None, (80, 60))
    assert np.array_equal(same, img) and same is not img
    with pytest.raises(ValueError):
        crop_resize(img, [50, 0, 40, 20], (8, 4))
    with pytest.raises(ValueError):
        crop_resize(img.astype(np.float32), None, (8, 4))


def test_jpeg_round_trip_keeps_rgb_order() -> None:
    img = np.zeros((32, 48, 3), np.uint8)
    img[:, :, 0] = 220  # red
    back = decode_jpeg(encode_jpeg(img, 95))
    assert back.shape == img.shape
    assert np.abs(back.astype(int) - img).max() <= 4
    with pytest.raises(ValueError):
        decode_jpeg(b"not a jpeg")
