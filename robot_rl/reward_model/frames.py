"""Labelled frames: the dataset a success classifier learns from (numpy only, no pickle).

An ``.npz`` archive (``np.savez``, read with ``allow_pickle=False``) holding, for ``N`` frames:

=============  =================  ===========================================================
key            shape, dtype       meaning
=============  =================  ===========================================================
``images``     (N, H, W, 3) uint8 RGB frames of one camera (robot_rl's frame convention)
``success``    (N,) bool          the task was achieved in that frame (the sim's predicate,
                                  or a person's label from ``robot-rl demos record``)
``camera``     () str             the camera's name (``cameras[].name`` of the robot config)
``episode``    (N,) integer       optional: the episode of each frame (held-out frames are
                                  then whole episodes)
=============  =================  ===========================================================

Other arrays (a demo recording's actions, say) are ignored, never loaded.

Usage::

    save_frames("frames.npz", images, success, camera="front", episode=ids)
    frames = load_frames("frames.npz")   # LabelledFrames, or a one-line FramesError
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from robot_rl.errors import ConfigError
from robot_rl.npz import open_npz

MAX_SIDE = 512
"""Largest frame side (px) accepted (classifiers here learn from ~64-128 px)."""
MAX_BYTES = 4 << 30
"""Largest ``images`` array accepted (4 GiB): a bigger one is a mistake, not a dataset."""
REQUIRED = ("images", "success", "camera")


class FramesError(ConfigError):
    """A labelled-frames file that is not what it should be (one line: file, array, what
    was expected)."""


class LabelledFrames(NamedTuple):
    """Frames of one camera with their success labels."""

    images: np.ndarray  # (N, H, W, 3) uint8
    success: np.ndarray  # (N,) bool
    camera: str
    episode: np.ndarray | None  # (N,) int64 or None


def save_frames(path: str | os.PathLike[str], images: np.ndarray, success: np.ndarray,
                camera: str, episode: np.ndarray | None = None,
                extra: dict[str, np.ndarray] | None = None) -> None:
    """Writes a labelled-frames archive (uncompressed ``np.savez``; atomically: a temporary
    file renamed into place). The arrays are checked as :func:`load_frames` checks them;
    ``extra`` arrays (e.g. ``ee_distance`` for analysis) are stored and ignored on load."""
    path = Path(path)
    arrays = {"images": np.ascontiguousarray(images, dtype=np.uint8),
              "success": np.asarray(success, dtype=bool), "camera": np.array(str(camera))}
    if episode is not None:
        arrays["episode"] = np.asarray(episode, dtype=np.int64)
    for key, value in (extra or {}).items():
        if key in arrays or key in ("episode",):
            raise ValueError(f"extra array {key!r} would replace a labelled-frames array")
        arrays[key] = np.asarray(value)
    _check(str(path), arrays)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def load_frames(path: str | os.PathLike[str]) -> LabelledFrames:
    """Reads and checks a labelled-frames archive (sizes are checked from the array headers
    before anything big is read).

    Raises:
        FramesError: naming the file, the array and what was expected.
    """
    name = str(path)
    archive = open_npz(path, "expected an existing .npz of labelled frames (robot-rl reward "
                       "collect)", FramesError)
    with archive:
        for key in REQUIRED:
            if key not in archive.files:
                raise FramesError(name, key, f"missing array; expected {', '.join(REQUIRED)} "
                                  "(and optionally episode)")
        shape, dtype = _header(archive, "images", name)
        if len(shape) != 4 or shape[3] != 3 or dtype != np.uint8:
            raise FramesError(name, "images", f"expected an (N, H, W, 3) uint8 array, got "
                              f"{dtype} {list(shape)}")
        if not (1 <= shape[1] <= MAX_SIDE and 1 <= shape[2] <= MAX_SIDE):
            raise FramesError(name, "images", f"expected frames of at most {MAX_SIDE} px a "
                              f"side, got {shape[2]}x{shape[1]}")
        if int(np.prod(shape, dtype=np.int64)) > MAX_BYTES:
            raise FramesError(name, "images", f"expected at most {MAX_BYTES >> 30} GiB of "
                              f"frames, got {list(shape)}")
        keys = [k for k in (*REQUIRED, "episode") if k in archive.files]
        for key in keys[1:]:  # nothing bigger than one label per frame is read
            other, _ = _header(archive, key, name)
            if int(np.prod(other, dtype=np.int64)) > max(1, shape[0]):
                raise FramesError(name, key, f"expected shape [{shape[0]}] (one per frame), "
                                  f"got {list(other)}")
        try:
            arrays = {k: archive[k] for k in keys}
        except ValueError as err:  # an object array would need pickle
            raise FramesError(name, "<file>", f"expected plain arrays ({err})") from None
    _check(name, arrays)
    episode = arrays.get("episode")
    return LabelledFrames(arrays["images"], arrays["success"].astype(bool),
                          str(arrays["camera"]),
                          None if episode is None else episode.astype(np.int64))


def _header(archive: np.lib.npyio.NpzFile, key: str, name: str
            ) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of ``key`` read from its .npy header (the data stays unread)."""
    try:
        with archive.zip.open(f"{key}.npy") as f:  # type: ignore[union-attr]
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise FramesError(name, key, f"expected a plain .npy array in the archive ({err})"
                          ) from None
    return tuple(shape), np.dtype(dtype)


def _check(name: str, arrays: dict[str, np.ndarray]) -> None:
    images, success, camera = arrays["images"], arrays["success"], arrays["camera"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise FramesError(name, "images", f"expected an (N, H, W, 3) uint8 array, got "
                          f"{images.dtype} {list(images.shape)}")
    n = len(images)
    if n < 1:
        raise FramesError(name, "images", "expected at least one frame, got none")
    if not 1 <= images.shape[1] <= MAX_SIDE or not 1 <= images.shape[2] <= MAX_SIDE:
        raise FramesError(name, "images", f"expected frames of at most {MAX_SIDE} px a side, "
                          f"got {images.shape[2]}x{images.shape[1]}")
    if success.shape != (n,):
        raise FramesError(name, "success", f"expected shape [{n}] (one label per frame), got "
                          f"{list(success.shape)}")
    if success.dtype != bool:
        if success.dtype.kind not in "iu" or not np.all((success == 0) | (success == 1)):
            raise FramesError(name, "success", f"expected booleans (or 0/1), got "
                              f"{success.dtype}")
    if camera.shape != () or camera.dtype.kind != "U":
        raise FramesError(name, "camera", f"expected one string (the camera name), got "
                          f"{camera.dtype} {list(camera.shape)}")
    if not 1 <= len(str(camera)) <= 32:
        raise FramesError(name, "camera", "expected a camera name of 1 to 32 characters")
    episode = arrays.get("episode")
    if episode is not None and (episode.shape != (n,) or episode.dtype.kind not in "iu"):
        raise FramesError(name, "episode", f"expected [{n}] integers (one episode id per "
                          f"frame), got {episode.dtype} {list(episode.shape)}")
