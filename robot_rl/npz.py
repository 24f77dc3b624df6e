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
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise error(name, "<file>", missing) from None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise error(name, "<file>", f"expected an .npz archive written by np.savez without "
                    f"pickled objects ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise error(name, "<file>", "expected an .npz archive (np.savez), got a single .npy "
                    "array")
    return archive
