"""The actor's bounded, gap-free store of uncommitted batches, spilling to disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.transport.unacked import UnackedStore

pytestmark = pytest.mark.timeout(30)


def _frames(i: int, size: int = 100) -> list[bytes]:
    return [b"h%d" % i, bytes([i % 256]) * size]


def test_numbers_batches_and_spills_newest_beyond_memory_limit(tmp_path: Path) -> None:
    store = UnackedStore(max_memory_bytes=350, max_spill_bytes=10_000, spill_dir=tmp_path)
    seqs = [store.append(_frames(i), rows=2) for i in range(10)]
    assert seqs == list(range(1, 11))
    assert len(store) == 10 and store.pending_rows == 20
    assert store.spilled_batches == 7 and store.memory_bytes <= 350
    assert len(list(tmp_path.glob("robot_rl_spill_*/*.bin"))) == 7
    for i, seq in enumerate(seqs):
        assert store.get(seq) == _frames(i)


def test_release_frees_memory_and_files_and_memory_is_reused(tmp_path: Path) -> None:
    store = UnackedStore(max_memory_bytes=350, max_spill_bytes=10_000, spill_dir=tmp_path)
    for i in range(6):
        store.append(_frames(i), rows=1)
    assert store.release_upto(4) == 4
    assert store.first_seq == 5 and len(store) == 2 and store.pending_rows == 2
    assert store.memory_bytes == 0 and store.spilled_batches == 2
    assert store.release_upto(4) == 0
    assert store.append(_frames(6), rows=1) == 7 and store.spilled_batches == 2
    with pytest.raises(KeyError, match="not held"):
        store.get(3)
    assert store.release_upto(100) == 3 and len(store) == 0
    assert not list(tmp_path.glob("robot_rl_spill_*/*.bin"))
    store.close()
    assert not list(tmp_path.iterdir())


def test_full_store_refuses_new_batches_without_gaps(tmp_path: Path) -> None:
    store = UnackedStore(max_memory_bytes=120, max_spill_bytes=120, spill_dir=tmp_path)
    assert store.append(_frames(0), rows=1) == 1
    assert store.append(_frames(1), rows=1) == 2
    assert store.append(_frames(2), rows=1) is None
    assert store.next_seq == 3
    store.release_upto(1)
    assert store.append(_frames(3), rows=1) == 3


def test_corrupt_spill_file_is_reported(tmp_path: Path) -> None:
    store = UnackedStore(max_memory_bytes=0, spill_dir=tmp_path)
    store.append(_frames(0), rows=1)
    path = next(tmp_path.glob("robot_rl_spill_*/*.bin"))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(OSError, match="corrupt"):
        store.get(1)
    store.close()
