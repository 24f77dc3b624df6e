"""The ``cameras:`` section: defaults, and each mistake as one line naming key and expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from robot_rl.config import load_config, to_dict
from robot_rl.config.cameras import MAX_IMAGE_SIDE
from robot_rl.errors import ConfigError
from tests.conftest import write_config

FRONT = {"name": "front", "width": 84, "height": 84,
         "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}
WRIST = {"name": "wrist", "width": 64, "height": 48, "link": "panda_hand",
         "offset": {"position": [0.0, 0.0, 0.05]}}


def _load(tmp_path: Path, panda_path: Path, cameras: list[dict[str, Any]]) -> Any:
    return load_config(write_config(tmp_path, panda_path, {"cameras": cameras}))


def test_defaults_resolve_topic_and_render_size(tmp_path: Path, panda_path: Path) -> None:
    cfg = _load(tmp_path, panda_path, [FRONT, dict(WRIST, compressed=True, topic="/w/image")])
    front, wrist = cfg.cameras
    assert front.topic == "/camera/front/image_raw" and front.render_size == (84, 84)
    assert front.rate_hz == 10.0 and front.crop is None and not front.compressed
    assert wrist.topic == "/w/image" and wrist.compressed_topic == "/w/image/compressed"
    assert wrist.offset.position == [0.0, 0.0, 0.05] and wrist.offset.forward == [0, 0, 1]
    # a config written back (a run's config.yaml) loads to the same cameras
    again = write_config(tmp_path, panda_path, {"cameras": to_dict(cfg.cameras)}, "again.yaml")
    assert load_config(again).cameras == cfg.cameras


def test_no_cameras_by_default(panda_path: Path) -> None:
    assert load_config(panda_path).cameras == []


def test_the_base_link_can_carry_a_camera(tmp_path: Path, a1_path: Path) -> None:
    head = {"name": "head", "width": 32, "height": 32, "link": "trunk",
            "offset": {"position": [0.3, 0.0, 0.05], "forward": [1, 0, 0], "up": [0, 0, 1]}}
    cfg = load_config(write_config(tmp_path, a1_path, {"cameras": [head]}))
    assert cfg.cameras[0].link == "trunk"


@pytest.mark.parametrize("cameras,key,words", [
    ([FRONT, dict(WRIST, name="front")], "cameras[1].name", "unique"),
    ([FRONT, dict(WRIST, topic="/camera/front/image_raw")], "cameras[1].topic", "twice"),
    ([dict(WRIST, link="panda_hnd")], "cameras[0].link", "did you mean 'panda_hand'"),
    ([dict(FRONT, width=0)], "cameras[0].width", "[1, 512]"),
    ([dict(FRONT, height=MAX_IMAGE_SIDE + 1)], "cameras[0].height", "[1, 512]"),
    ([dict(FRONT, width=-3)], "cameras[0].width", "px"),
    ([dict(FRONT, crop=[60, 0, 32, 32])], "cameras[0].crop", "inside the 84x84 render"),
    ([dict(FRONT, crop=[0, 0, 32])], "cameras[0].crop", "[x, y, w, h]"),
    ([dict(FRONT, crop=[0, 0, 0, 10])], "cameras[0].crop", "w, h >= 1"),
    ([dict(FRONT, render_width=160, render_height=120, crop=[100, 20, 80, 80])],
     "cameras[0].crop", "inside the 160x120 render"),
    ([{"name": "bare", "width": 8, "height": 8}], "cameras[0].link", "exactly one mount"),
    ([dict(FRONT, link="panda_hand")], "cameras[0].fixed", "exactly one mount"),
    ([dict(FRONT, offset={"position": [0, 0, 1]})], "cameras[0].offset", "fixed camera"),
    ([dict(FRONT, fixed={"eye": [0, 0, 1], "target": [0, 0, 0]})], "cameras[0].fixed.up",
     "parallel"),
    ([dict(FRONT, fixed={"eye": [0, 0, 1], "target": [0, 0, 1]})], "cameras[0].fixed.target",
     "away from eye"),
    ([dict(FRONT, fixed={"eye": [0, 0], "target": [0, 0, 1]})], "cameras[0].fixed.eye",
     "[x, y, z]"),
    ([dict(WRIST, offset={"forward": [0, 0, 0]})], "cameras[0].offset.forward", "non-zero"),
    ([dict(FRONT, name="front/cam")], "cameras[0].name", "letters"),
    ([dict(FRONT, topic="camera")], "cameras[0].topic", "absolute ROS topic"),
    ([dict(FRONT, rate_hz=30.0)], "cameras[0].rate_hz", "robot.control_hz"),
    ([dict(FRONT, rate_hz=2.0)], "cameras[0].rate_hz", "max_state_age_s"),
    ([dict(FRONT, fov_deg=0.0)], "cameras[0].fov_deg", "degrees"),
    ([dict(FRONT, near=1.0, far=0.5)], "cameras[0].far", "near"),
    ([dict(FRONT, jpeg_quality=0)], "cameras[0].jpeg_quality", "[1, 100]"),
    ([dict(FRONT, colour="red")], "cameras[0].colour", "unknown key"),
    ([dict(FRONT, width="wide")], "cameras[0].width", "integer"),
    ({"name": "front"}, "cameras", "list"),
])
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, panda_path: Path, cameras: Any,
                                              key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, panda_path, cameras)
    text = str(err.value)
    assert "\n" not in text and len(text) < 300, text
    assert err.value.key == key, text
    assert words in text, text
