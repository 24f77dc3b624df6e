"""Camera images on ROS 2: the sim bridge publishes sensor_msgs/Image (and CompressedImage)
that a plain rclpy node (Fast DDS, loopback) decodes; malformed images are counted, not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CompressedImage, Image

from robot_rl.config import load_config
from robot_rl.nodes.params import BridgeParams
from robot_rl.nodes.ros_messages import frame, image_msg
from robot_rl.nodes.sim_bridge_node import SimBridgeNode
from robot_rl.nodes.state import StateAssembler
from robot_rl.ros import cdr, msgs
from robot_rl.ros.dds import DdsNode, loopback_config
from robot_rl.ros.rclpy_node import RclpyNode
from tests.conftest import CONFIGS, write_config
from tests.ros.rclpy_driver import spin_all

pytestmark = pytest.mark.timeout(120)

FRONT = {"name": "front", "width": 40, "height": 30, "rate_hz": 10.0, "compressed": True,
         "fixed": {"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]}}
WRIST = {"name": "wrist", "width": 24, "height": 24, "rate_hz": 20.0, "link": "panda_hand",
         "offset": {"position": [0.0, 0.0, 0.05]}, "topic": "/panda/wrist/image"}


@pytest.fixture
def camera_panda(tmp_path: Path) -> Path:
    return write_config(tmp_path, CONFIGS / "panda.yaml", {"cameras": [FRONT, WRIST]})


class PlainRclpy:
    """A plain rclpy node of its own context: rclpy's message classes, no robot_rl codec."""

    def __init__(self, domain_id: int) -> None:
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("image_listener", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def listen(self, msg_type: Any, topic: str) -> list[Any]:
        got: list[Any] = []
        self.node.create_subscription(msg_type, topic, got.append, QoSProfile(depth=10))
        return got

    def spin_once(self, timeout_s: float | None = None) -> int:
        self.executor.spin_once(timeout_sec=timeout_s)
        return 0

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.mark.parametrize("backend", ["dds", "rclpy"])
def test_plain_rclpy_subscriber_decodes_bridge_images(camera_panda: Path, domain_id: int,
                                                      backend: str) -> None:
    cfg = load_config(camera_panda)
    node: Any = (DdsNode("sim_bridge_node", domain_id=domain_id, config=loopback_config())
                 if backend == "dds" else RclpyNode("sim_bridge_node", domain_id=domain_id))
    bridge = SimBridgeNode(node, cfg, BridgeParams(robot_config=str(camera_panda)))
    listener = PlainRclpy(domain_id)
    front = listener.listen(Image, "/camera/front/image_raw")
    jpegs = listener.listen(CompressedImage, "/camera/front/image_raw/compressed")
    wrist = listener.listen(Image, "/panda/wrist/image")
    try:
        assert spin_all([node, listener], lambda: min(len(front), len(jpegs), len(wrist)) >= 3,
                        60), bridge.core.status()
        for got, cam in ((front, cfg.cameras[0]), (wrist, cfg.cameras[1])):
            msg = got[-1]
            assert (msg.height, msg.width) == (cam.height, cam.width)
            assert msg.encoding == "rgb8" and msg.step == 3 * cam.width
            assert msg.header.frame_id == cam.name and msg.header.stamp.sec > 0
            pixels = np.asarray(msg.data, dtype=np.uint8).reshape(cam.height, cam.width, 3)
            assert pixels.std() > 5  # a rendered scene
        jpeg = jpegs[-1]
        assert jpeg.format == "rgb8; jpeg compressed bgr8"
        decoded = cv2.imdecode(np.asarray(jpeg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (30, 40, 3)
        # each camera at its own rate: the 10 Hz camera every other 20 Hz control tick
        frames, ticks = bridge.core.frames, bridge.core.ticks
        assert abs(frames["front"] - ticks / 2) <= 1 and frames["wrist"] == ticks
    finally:
        listener.close()
        bridge.close()
        node.close()


def test_forged_images_from_rclpy_are_counted_and_dropped(camera_panda: Path,
                                                          domain_id: int) -> None:
    # a plain rclpy publisher sends Images that are valid CDR but lie about their shape, and
    # raw bytes that are not an Image at all: none reaches the actor's frames
    cfg = load_config(camera_panda)
    inputs = StateAssembler(cfg)
    ours = RclpyNode("actor_node", domain_id=domain_id)
    sub = ours.subscription("/camera/front/image_raw", msgs.Image,
                            lambda m: inputs.camera_image("front", m, 1.0))
    listener = PlainRclpy(domain_id)
    pub = listener.node.create_publisher(Image, "/camera/front/image_raw", 10)

    def forged(**change: Any) -> Image:
        msg = Image(height=30, width=40, encoding="rgb8", step=120)
        msg.data = bytes(3600)
        for key, value in change.items():
            setattr(msg, key, value)
        return msg

    bad = [forged(step=100), forged(step=121), forged(data=bytes(3599)), forged(height=31),
           forged(encoding="mono8"), forged(encoding="32FC1"), forged(width=0, step=0),
           forged(height=300, data=bytes(36000))]  # the right bytes, not the camera's size
    try:
        assert spin_all([ours, listener], lambda: pub.get_subscription_count() > 0, 20)
        for msg in bad:
            pub.publish(msg)
        pub.publish(b"\x00\x01\x00\x00" + bytes(7))  # raw bytes: truncated CDR
        assert spin_all([ours, listener],
                        lambda: inputs.rejected + sub.rejected >= len(bad) + 1, 20), \
            (inputs.rejected, sub.rejected, inputs.last_error)
        assert (inputs.rejected, sub.rejected) == (len(bad), 1)
        assert "front" not in inputs.frames and "camera front" in inputs.last_error
        pub.publish(forged())  # a good frame is taken
        assert spin_all([ours, listener], lambda: "front" in inputs.frames, 20)
        assert inputs.frames["front"].shape == (30, 40, 3)
    finally:
        listener.close()
        ours.close()


def test_frame_checks_every_field() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = image_msg(rgb, 5, "front")
    assert np.array_equal(frame(msg), rgb)
    assert np.array_equal(frame(cdr.decode(cdr.encode(msg), msgs.Image)), rgb)
    bgr = msgs.Image(msg.header, 2, 3, "bgr8", 0, 9, rgb[:, :, ::-1].reshape(-1).copy())
    assert np.array_equal(frame(bgr), rgb)
    padded = msgs.Image(msg.header, 2, 3, "rgb8", 0, 12,
                        np.pad(rgb.reshape(2, 9), ((0, 0), (0, 3))).reshape(-1))
    assert np.array_equal(frame(padded), rgb)
    for change in ({"step": 8}, {"step": 9 + 65}, {"height": 3}, {"width": 0},
                   {"encoding": "rgba8"}, {"encoding": ""}, {"data": msg.data[:-1]},
                   {"height": 5000, "step": 9}):
        forged = msgs.Image(**{**vars(msg), **change})
        with pytest.raises(ValueError):
            frame(forged)


def test_rclpy_actor_acts_on_the_bridge_states_and_images(tmp_path: Path, tiny_a1: Path,
                                                          domain_id: int) -> None:
    # the actor waits for every camera; commands flow only once frames arrive, and its
    # state carries the newest frame of the configured size
    from robot_rl.nodes.params import ActorParams
    from robot_rl.nodes.ros_entry import LifecycleActor

    head = {"name": "head", "width": 20, "height": 16, "rate_hz": 10.0, "link": "trunk",
            "offset": {"position": [0.3, 0.0, 0.05], "forward": [1, 0, 0], "up": [0, 0, 1]}}
    path = write_config(tmp_path, tiny_a1, {"cameras": [head]}, "cam_a1.yaml")
    cfg = load_config(path)
    dds = DdsNode("sim_bridge_node", domain_id=domain_id, config=loopback_config())
    ros = RclpyNode("actor_node", domain_id=domain_id, lifecycle=True)
    bridge = SimBridgeNode(dds, cfg, BridgeParams(robot_config=str(path)))
    params = ActorParams(robot_config=str(path), learner_address="", autostart=True,
                         record_mcap=False)
    actor = LifecycleActor(ros, cfg, params, None)
    try:
        assert spin_all([dds, ros], lambda: bridge.core.commands >= 10, 60), \
            (bridge.core.status(), actor.actor.status())
        inputs = actor.actor.core.inputs
        state = inputs.state()
        assert state is not None and state.images is not None
        assert state.images["head"].shape == (16, 20, 3) and inputs.rejected == 0
        assert bridge.core.frames["head"] > 0
    finally:
        actor.close()
        bridge.close()
        ros.close()
        dds.close()
