"""Opening ``.npz`` archives from users (prior data, labelled frames): never unpickled, and a
file that is not such an archive is a one-line :class:`ConfigError` naming it."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from robot_rl.errors import ConfigError


def open_npz(path: str | os.PathLike[str], missing: str,
             error: type[ConfigError] = ConfigError) -> np.lib.npyio.NpzFile:
    """The archive at ``path`` (``allow_pickle=False``; use it as a context manager).

    Args:
        path: the file.
        missing: what the error says was expected when the file does not exist.
        error: the :class:`ConfigError` subclass raised.

    Raises:
        ConfigError: (``error``) the file is missing, unreadable, not an ``.npz`` archive, or
            holds pickled objects; key ``<file>``.
    """
    name = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except FileNotFoundError:
        raise error(name, "<file>", missing) from None
    except OSError as err:  # a folder, no permission, ...
        raise error(name, "<file>", f"expected a readable .npz archive ({err.strerror})") from None
    # np.load calls anything that is neither zip nor .npy "pickled data": say what it is
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise error(name, "<file>", "expected an .npz archive written by np.savez (a zip "
                    f"file), got a file starting with {head!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise error(name, "<file>", f"expected an .npz archive written by np.savez without "
                    f"pickled objects ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise error(name, "<file>", "expected an .npz archive (np.savez), got a single .npy "
                    "array")
    return archive
