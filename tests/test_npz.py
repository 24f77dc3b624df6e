"""robot_rl.npz.open_npz: user archives are never unpickled, and every file that is not one
is a one-line ConfigError that says what the file is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.errors import ConfigError
from robot_rl.npz import open_npz


def test_a_valid_archive_opens(tmp_path: Path) -> None:
    path = tmp_path / "ok.npz"
    np.savez(path, x=np.arange(3))
    with open_npz(path, "expected prior data") as archive:
        assert archive["x"].tolist() == [0, 1, 2]


@pytest.mark.parametrize(("content", "match"), [
    (b"garbage, not an archive", r"a zip file\), got a file starting with b'garbag'"),
    (b"", r"a zip file\), got a file starting with b''"),
])
def test_a_file_that_is_not_an_archive_says_what_it_starts_with(
        tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as err:
        open_npz(path, "expected prior data")
    assert "pickled" not in str(err.value)  # numpy's own message would say so: misleading
    assert "\n" not in str(err.value)


def test_missing_folder_npy_and_pickled_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected prior data"):
        open_npz(tmp_path / "none.npz", "expected prior data")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ConfigError, match="readable .npz archive"):
        open_npz(tmp_path / "dir.npz", "expected prior data")
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(ConfigError, match="single .npy array"):
        open_npz(tmp_path / "one.npz", "expected prior data")
    # object arrays load lazily: the member refuses (callers turn it into their ConfigError)
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    with (pytest.raises(ValueError, match="allow_pickle=False"),
          open_npz(tmp_path / "objects.npz", "expected prior data") as archive):
        archive["x"]  # noqa: B018 - loading the member is what must refuse
