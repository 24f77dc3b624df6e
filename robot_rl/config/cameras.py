"""The ``cameras:`` section of a robot config: rendered (sim) or driver (hardware) images.

Each camera publishes ``sensor_msgs/Image`` (rgb8) on its topic; the sim bridge renders it
with PyBullet, a real robot's camera driver publishes it. A camera is mounted either at a
fixed place in the world (``fixed``: eye, target, up) or on a robot link (``link``, with an
``offset`` in the link's frame: a wrist camera). The image is rendered at
``render_width`` x ``render_height``, cut to ``crop`` and resized to ``width`` x ``height``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from robot_rl.config.loader import Fail, short

MAX_IMAGE_SIDE = 512
"""Largest image side (px) accepted for a camera's frames (learning from images uses ~84-128)."""
MAX_RENDER_SIDE = 2048
"""Largest rendered image side (px) before the crop."""
MIN_POLICY_IMAGE_SIDE = 9
"""Smallest image side (px) of a camera the policy sees (``observation.images``): the pixel
learner's encoder (four 3x3 convolutions, the first with stride 2) needs this much."""
_CAMERA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")  # a ROS name token (in the topic)
_TOPIC = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


def _vector(fail: Fail, key: str, value: list[float], nonzero: bool = False) -> None:
    if len(value) != 3:
        fail(key, f"expected [x, y, z], got {len(value)} numbers")
    elif nonzero and not math.hypot(*value) > 1e-9:
        fail(key, "expected a direction of non-zero length")


def _not_parallel(fail: Fail, key: str, a: list[float], b: list[float], other: str) -> None:
    cross = (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
    if math.hypot(*cross) <= 1e-6 * math.hypot(*a) * math.hypot(*b):
        fail(key, f"expected a direction not parallel to {other}")


@dataclass
class FixedMount:
    """A camera standing still in the world (PyBullet's ``computeViewMatrix``)."""

    eye: list[float]  # camera position (m, world frame)
    target: list[float]  # the point it looks at (m, world frame)
    up: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])  # image up (world)

    def validate(self, fail: Fail) -> None:
        _vector(fail, "eye", self.eye)
        _vector(fail, "target", self.target)
        _vector(fail, "up", self.up, nonzero=True)
        look = [t - e for t, e in zip(self.target, self.eye, strict=True)]
        if not math.hypot(*look) > 1e-6:
            fail("target", "expected a point away from eye")
        _not_parallel(fail, "up", self.up, look, "target - eye")


@dataclass
class LinkOffset:
    """Where a link-mounted camera sits and looks, in the link's URDF frame."""

    position: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # m, link frame
    forward: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])  # viewing direction
    up: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0])  # image up (link frame)

    def validate(self, fail: Fail) -> None:
        _vector(fail, "position", self.position)
        _vector(fail, "forward", self.forward, nonzero=True)
        _vector(fail, "up", self.up, nonzero=True)
        _not_parallel(fail, "up", self.up, self.forward, "forward")


@dataclass
class CameraSpec:
    """One camera: its frames, where they go, and how it is mounted (``fixed`` or ``link``)."""

    name: str  # letters, digits and '_' (frame_id of its images; part of the default topic)
    width: int  # frame width after crop and resize (px)
    height: int  # frame height after crop and resize (px)
    rate_hz: float = 10.0  # frames per second (at most robot.control_hz)
    topic: str = ""  # sensor_msgs/Image topic; "" = /camera/<name>/image_raw
    compressed: bool = False  # also publish sensor_msgs/CompressedImage (JPEG) on
    # <topic>/compressed
    jpeg_quality: int = 90  # JPEG quality (1-100) of the compressed images
    # [x, y, w, h]: the part of the rendered image kept (px), then resized to width x height;
    # null: the whole render
    crop: list[int] | None = None
    render_width: int | None = None  # rendered image size (px); null: width
    render_height: int | None = None  # null: height
    fov_deg: float = 60.0  # vertical field of view (degrees)
    near: float = 0.01  # near clipping plane (m)
    far: float = 10.0  # far clipping plane (m)
    fixed: FixedMount | None = None  # a camera standing in the world; or:
    link: str | None = None  # the URDF link carrying the camera (e.g. a wrist camera)
    offset: LinkOffset = field(default_factory=LinkOffset)  # its pose on that link

    def __post_init__(self) -> None:
        """Resolve the defaults that follow from other fields (the topic, the render size)."""
        if not self.topic and isinstance(self.name, str):
            self.topic = f"/camera/{self.name}/image_raw"
        if self.render_width is None:
            self.render_width = self.width
        if self.render_height is None:
            self.render_height = self.height

    @property
    def compressed_topic(self) -> str:
        """Where the JPEG images go (``<topic>/compressed``, image_transport's name)."""
        return f"{self.topic}/compressed"

    @property
    def render_size(self) -> tuple[int, int]:
        """``(width, height)`` of the rendered image, before the crop."""
        assert self.render_width is not None and self.render_height is not None
        return self.render_width, self.render_height

    def validate(self, fail: Fail) -> None:
        if not _CAMERA_NAME.match(self.name):
            fail("name", "expected a name of at most 32 letters, digits and '_' starting with "
                 f"a letter, got {short(self.name)}")
        for key in ("width", "height"):
            value = getattr(self, key)
            if not 1 <= value <= MAX_IMAGE_SIDE:
                fail(key, f"expected a size in [1, {MAX_IMAGE_SIDE}] px, got {short(value)}")
        rw, rh = self.render_size
        for key, value in (("render_width", rw), ("render_height", rh)):
            if not 1 <= value <= MAX_RENDER_SIDE:
                fail(key, f"expected a size in [1, {MAX_RENDER_SIDE}] px, got {short(value)}")
        if not 0 < self.rate_hz <= 100:
            fail("rate_hz", f"expected a rate in (0, 100] Hz, got {self.rate_hz}")
        if not _TOPIC.match(self.topic):
            fail("topic", f"expected an absolute ROS topic name like /a/b_c, "
                 f"got {short(self.topic)}")
        if not 1 <= self.jpeg_quality <= 100:
            fail("jpeg_quality", f"expected a quality in [1, 100], got {self.jpeg_quality}")
        if self.crop is not None:
            self._check_crop(fail, rw, rh)
        if not 1 <= self.fov_deg <= 170:
            fail("fov_deg", f"expected an angle in [1, 170] degrees, got {self.fov_deg}")
        if not 0 < self.near < self.far:
            fail("far", f"expected 0 < near ({self.near}) < far, got {self.far}")
        if (self.fixed is None) == (self.link is None):
            fail("fixed" if self.fixed is not None else "link", "expected exactly one mount: "
                 "fixed ({eye, target, up}: in the world) or link (a URDF link name)")
        if self.fixed is not None and self.offset != LinkOffset():
            fail("offset", "expected no offset for a fixed camera (offset places a camera "
                 "on its link)")

    def _check_crop(self, fail: Fail, rw: int, rh: int) -> None:
        assert self.crop is not None
        if len(self.crop) != 4:
            fail("crop", f"expected [x, y, w, h] (px), got {len(self.crop)} numbers")
        x, y, w, h = self.crop
        if x < 0 or y < 0 or w < 1 or h < 1:
            fail("crop", f"expected x, y >= 0 and w, h >= 1 (px), got {self.crop}")
        if x + w > rw or y + h > rh:
            fail("crop", f"expected a box inside the {rw}x{rh} render (x + w <= {rw}, "
                 f"y + h <= {rh}), got {self.crop}")


def check_cameras(fail: Fail, cameras: list[CameraSpec], control_hz: float,
                  max_state_age_s: float) -> None:
    """Checks across cameras and sections: unique names and topics, rates that the bridge
    (one frame per control step at most) and the actor's freshness check can both keep."""
    names: set[str] = set()
    topics: set[str] = set()
    for i, cam in enumerate(cameras):
        if cam.name in names:
            fail(f"cameras[{i}].name", f"expected a unique camera name, {cam.name!r} is "
                 "used twice")
        if cam.topic in topics:
            fail(f"cameras[{i}].topic", f"expected a topic of its own, {cam.topic} is used "
                 "twice")
        names.add(cam.name)
        topics.add(cam.topic)
        if cam.rate_hz > control_hz:
            fail(f"cameras[{i}].rate_hz", f"expected at most robot.control_hz ({control_hz:g} "
                 f"Hz: one frame per control step), got {cam.rate_hz:g}")
        if 1.0 / cam.rate_hz >= max_state_age_s:
            fail(f"cameras[{i}].rate_hz", f"expected above {1.0 / max_state_age_s:g} Hz "
                 f"(1 / safety.max_state_age_s: a slower camera is always stale), "
                 f"got {cam.rate_hz:g}")
