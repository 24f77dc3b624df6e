"""Camera frame cost: render + crop/resize, message, JPEG and DDS publish, per frame.

For each robot (Panda, A1) and frame size (84x84, 128x128 by default), one fixed camera and
one link-mounted camera (Panda: on ``panda_hand``, A1: on ``trunk``) are timed over
``--frames`` frames (median, p90, in ms):

- ``render_ms``: ``PyBulletRobot.render_camera`` (TinyRenderer, headless) including the
  crop/resize to the frame size (the fixed camera renders at 1.5x and is cropped);
- ``peer_get_camera_image_ms``: PyBullet's bare ``getCameraImage`` at the same render size,
  the floor our rendering is compared with;
- ``image_msg_ms``: ``image_msg`` + ``cdr.encode`` of the rgb8 ``sensor_msgs/Image``;
- ``jpeg_msg_ms``: the JPEG ``CompressedImage`` (+ CDR encode);
- ``publish_ms``: ``publish_raw`` of those bytes on a plain DDS writer (Cyclone, reliable)
  with one reader matched: an rclpy (Fast DDS) subscription in this process (over loopback
  UDP), or without rclpy a Cyclone reader of another participant;
- ``total_ms``: render + Image + publish, what one camera adds to a sim bridge tick.

Usage: ``python benchmarks/cameras.py [--json] [--frames 50] [--sizes 84 128]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pybullet
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

from benchmarks.common import machine_info  # noqa: E402
from robot_rl.config import CameraSpec, load_config  # noqa: E402
from robot_rl.nodes.ros_messages import compressed_image_msg, image_msg  # noqa: E402
from robot_rl.ros import cdr, msgs  # noqa: E402
from sim_bridge.pybullet_robot import PyBulletRobot  # noqa: E402

MOUNTS = {
    "panda": ({"eye": [1.2, 0.0, 0.8], "target": [0.4, 0.0, 0.3]},
              {"link": "panda_hand", "offset": {"position": [0.0, 0.0, 0.05]}}),
    "a1": ({"eye": [1.0, 0.6, 0.6], "target": [0.0, 0.0, 0.25]},
           {"link": "trunk", "offset": {"position": [0.3, 0.0, 0.05], "forward": [1, 0, 0],
                                        "up": [0, 0, 1]}}),
}


def cameras(robot: str, size: int) -> list[dict[str, Any]]:
    """A fixed camera rendered at 1.5x and cropped to its centre, and a link camera."""
    fixed, link = MOUNTS[robot]
    big = size * 3 // 2
    margin = (big - size) // 2
    return [{"name": "fixed", "width": size, "height": size, "render_width": big,
             "render_height": big, "crop": [margin, margin, size, size], "fixed": fixed},
            {"name": "link", "width": size, "height": size, **copy.deepcopy(link)}]


def timed(fn: Callable[[], Any], frames: int) -> tuple[dict[str, float], Any]:
    """Median and p90 of ``fn``'s time in ms over ``frames`` calls, and its last result."""
    times = []
    out = None
    for _ in range(frames):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return {"median": round(float(np.median(times)), 3),
            "p90": round(float(np.percentile(times, 90)), 3)}, out


def bare_render(robot: PyBulletRobot, cam: CameraSpec) -> Callable[[], Any]:
    """PyBullet's own call at the camera's render size (the peer)."""
    rw, rh = cam.render_size
    proj = robot.client.computeProjectionMatrixFOV(cam.fov_deg, rw / rh, cam.near, cam.far)
    view = robot._camera_view(cam)
    return lambda: robot.client.getCameraImage(rw, rh, view, proj,
                                               renderer=pybullet.ER_TINY_RENDERER,
                                               flags=pybullet.ER_NO_SEGMENTATION_MASK)


def measure(robot_name: str, size: int, frames: int, publish: Callable[[bytes], None]
            ) -> list[dict[str, Any]]:
    """The rows of one robot at one frame size (its fixed and its link camera)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load((ROOT / "robot_configs" / f"{robot_name}.yaml").read_text())
        data["cameras"] = cameras(robot_name, size)
        path = Path(tmp) / "robot.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        cfg = load_config(path, warn=False)
    robot = PyBulletRobot(cfg)
    try:
        return [{"robot": robot_name, **measure_camera(robot, cam, frames, publish)}
                for cam in cfg.cameras]
    finally:
        robot.close()


def measure_camera(robot: PyBulletRobot, cam: CameraSpec, frames: int,
                   publish: Callable[[bytes], None]) -> dict[str, Any]:
    """One camera's row: the times of each part of a frame, and the message sizes."""
    robot.render_camera(cam)  # warm-up (meshes reach the renderer)
    render, rgb = timed(lambda: robot.render_camera(cam), frames)
    peer, _ = timed(bare_render(robot, cam), frames)
    message, data = timed(lambda: cdr.encode(image_msg(rgb, 1, cam.name)), frames)
    jpeg, jpeg_data = timed(
        lambda: cdr.encode(compressed_image_msg(rgb, 1, cam.name, cam.jpeg_quality)), frames)
    sent, _ = timed(lambda: publish(data), frames)
    return {"camera": cam.name, "mount": "link" if cam.link else "fixed",
            "frame": f"{cam.width}x{cam.height}", "render": "{}x{}".format(*cam.render_size),
            "render_ms": render, "peer_get_camera_image_ms": peer, "image_msg_ms": message,
            "jpeg_msg_ms": jpeg, "publish_ms": sent,
            "total_ms": round(render["median"] + message["median"] + sent["median"], 3),
            "image_bytes": len(data), "jpeg_bytes": len(jpeg_data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[84, 128])
    parser.add_argument("--robots", nargs="+", default=["panda", "a1"], choices=list(MOUNTS))
    parser.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", 0)))
    args = parser.parse_args()

    from robot_rl.ros.dds import DdsNode, loopback_config

    node = DdsNode("camera_bench", domain_id=args.domain, config=loopback_config())
    pub = node.publisher("/camera/bench/image_raw", msgs.Image)
    reader: Any
    try:  # a reader in another middleware: the samples really cross loopback UDP
        from robot_rl.ros.rclpy_node import RclpyNode

        reader = RclpyNode("camera_bench_reader", domain_id=args.domain)
        reader_kind = "rclpy (Fast DDS), loopback UDP"
    except ImportError:  # Cyclone may hand samples to a reader in its own process directly
        reader = DdsNode("camera_bench_reader", domain_id=args.domain, config=loopback_config())
        reader_kind = "cyclonedds, same process"
    reader.subscription("/camera/bench/image_raw", msgs.Image, lambda m: None)
    deadline = time.monotonic() + 20
    while pub.matched_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    matched = pub.matched_count()

    def publish(data: bytes) -> None:
        pub.publish_raw(data)
        reader.spin_once(0)  # the reader keeps up (its history never fills)

    try:
        rows = [row for robot in args.robots for size in args.sizes
                for row in measure(robot, size, args.frames, publish)]
    finally:
        reader.close()
        node.close()
    result = {"benchmark": "cameras", "frames": args.frames, "matched_readers": matched,
              "reader": reader_kind, "machine": machine_info(1), "rows": rows}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'robot':6} {'camera':6} {'frame':8} {'render':8} {'render ms':>10} "
          f"{'bare pybullet':>14} {'Image':>6} {'JPEG':>6} {'publish':>8} {'total':>7}")
    for r in rows:
        print(f"{r['robot']:6} {r['camera']:6} {r['frame']:8} {r['render']:8} "
              f"{r['render_ms']['median']:10.2f} {r['peer_get_camera_image_ms']['median']:14.2f}"
              f" {r['image_msg_ms']['median']:6.2f} {r['jpeg_msg_ms']['median']:6.2f} "
              f"{r['publish_ms']['median']:8.3f} {r['total_ms']:7.2f}")


if __name__ == "__main__":
    main()
