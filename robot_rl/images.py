"""Camera frames as uint8 RGB arrays: crop and resize, JPEG (pure functions over opencv).

Frames are ``(height, width, 3)`` uint8 arrays in RGB order everywhere in robot_rl (opencv's
own order is BGR; the conversion happens here and nowhere else).

Example:
    >>> frame = crop_resize(np.zeros((96, 128, 3), np.uint8), [16, 0, 96, 96], (84, 84))
    >>> frame.shape
    (84, 84, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def crop_resize(rgb: np.ndarray, crop: Sequence[int] | None, size: tuple[int, int]
                ) -> np.ndarray:
    """Cuts ``crop`` (``[x, y, w, h]`` px, or None for all) out of ``rgb`` and resizes the
    part to ``size`` (``(width, height)``) with area interpolation (no aliasing when
    shrinking). Returns a new contiguous uint8 array; ``rgb`` is left alone.

    Raises:
        ValueError: ``rgb`` is not an (H, W, 3) uint8 array, or the crop leaves it.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    if crop is not None:
        x, y, w, h = (int(v) for v in crop)
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > rgb.shape[1] or y + h > rgb.shape[0]:
            raise ValueError(f"crop {list(crop)} leaves the {rgb.shape[1]}x{rgb.shape[0]} image")
        rgb = rgb[y:y + h, x:x + w]
    width, height = size
    if rgb.shape[:2] == (height, width):
        return np.ascontiguousarray(rgb).copy()
    return cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """The JPEG bytes of an RGB frame (what ``compressed_image_transport`` sends).

    Raises:
        ValueError: opencv could not encode the frame.
    """
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"opencv could not encode a {rgb.shape} frame as JPEG")
    return data.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """The RGB frame of JPEG (or PNG) bytes.

    Raises:
        ValueError: the bytes are not an image opencv can read.
    """
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{len(data)} bytes are not a JPEG or PNG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
