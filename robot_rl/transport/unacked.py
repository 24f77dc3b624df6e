"""The actor's store of encoded transition batches the learner has not yet committed.

Batches are numbered 1, 2, 3, ... without gaps and kept until :meth:`UnackedStore.release_upto`.
The newest batches go to disk once the in-memory part passes ``max_memory_bytes``; when disk
use would pass ``max_spill_bytes`` the store refuses new batches (it never drops old ones, so
the numbering the learner's de-duplication relies on stays gap-free).

Spill files hold the already-encoded wire frames (``RRLS`` magic, frame count, then each
frame's length and bytes), so nothing is pickled or re-encoded. They live in a private
temporary directory that :meth:`UnackedStore.close` removes.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

_MAGIC = b"RRLS"
_COUNT = struct.Struct("<I")
_LEN = struct.Struct("<Q")


class UnackedStore:
    """Gap-free, bounded FIFO of encoded batches, spilling to disk when large.

    Args:
        max_memory_bytes: bytes of frames kept in memory before spilling.
        max_spill_bytes: bytes kept on disk before new batches are refused.
        spill_dir: parent of the private spill directory (default: the system temp dir).
    """

    def __init__(
        self,
        max_memory_bytes: int = 64 * 1024 * 1024,
        max_spill_bytes: int = 4 * 1024**3,
        spill_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.max_memory_bytes = max_memory_bytes
        self.max_spill_bytes = max_spill_bytes
        self._spill_parent = spill_dir
        self._dir: Path | None = None
        self._memory: dict[int, list[bytes]] = {}
        self._disk: dict[int, int] = {}
        self._rows: dict[int, int] = {}
        self.first_seq = 1
        self.next_seq = 1
        self.memory_bytes = 0
        self.spill_bytes = 0
        self.pending_rows = 0

    def __len__(self) -> int:
        return self.next_seq - self.first_seq

    def append(self, frames: list[bytes], rows: int) -> int | None:
        """Stores one encoded batch of ``rows`` transitions.

        Returns:
            The batch's sequence number, or None if memory and disk are both full.
        """
        size = sum(len(f) for f in frames)
        seq = self.next_seq
        if self.memory_bytes + size <= self.max_memory_bytes:
            self._memory[seq] = frames
            self.memory_bytes += size
        elif self.spill_bytes + size <= self.max_spill_bytes:
            self._write(seq, frames)
            self._disk[seq] = size
            self.spill_bytes += size
        else:
            return None
        self._rows[seq] = rows
        self.pending_rows += rows
        self.next_seq += 1
        return seq

    def get(self, seq: int) -> list[bytes]:
        """Returns the frames of a held batch (read back from disk if spilled)."""
        frames = self._memory.get(seq)
        if frames is not None:
            return frames
        if seq not in self._disk:
            raise KeyError(f"batch {seq} is not held ({self.first_seq}..{self.next_seq - 1} are)")
        return self._read(seq)

    def release_upto(self, seq: int) -> int:
        """Forgets every batch up to and including ``seq``; returns how many were released."""
        released = 0
        while self.first_seq <= min(seq, self.next_seq - 1):
            s = self.first_seq
            frames = self._memory.pop(s, None)
            if frames is not None:
                self.memory_bytes -= sum(len(f) for f in frames)
            else:
                self.spill_bytes -= self._disk.pop(s)
                self._path(s).unlink(missing_ok=True)
            self.pending_rows -= self._rows.pop(s)
            self.first_seq += 1
            released += 1
        return released

    def close(self) -> None:
        """Deletes the spill directory and everything held."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._memory.clear()
        self._disk.clear()

    @property
    def spilled_batches(self) -> int:
        """Number of held batches that live on disk."""
        return len(self._disk)

    def _path(self, seq: int) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="robot_rl_spill_", dir=self._spill_parent))
        return self._dir / f"{seq:012d}.bin"

    def _write(self, seq: int, frames: list[bytes]) -> None:
        with open(self._path(seq), "wb") as f:
            f.write(_MAGIC + _COUNT.pack(len(frames)))
            for frame in frames:
                f.write(_LEN.pack(len(frame)))
                f.write(frame)

    def _read(self, seq: int) -> list[bytes]:
        data = self._path(seq).read_bytes()
        frames: list[bytes] = []
        try:
            (count,), pos = _COUNT.unpack_from(data, 4), 8
            for _ in range(count):
                (n,) = _LEN.unpack_from(data, pos)
                frames.append(data[pos + 8 : pos + 8 + n])
                pos += 8 + n
        except struct.error:
            pos = -1
        if data[:4] != _MAGIC or pos != len(data):
            raise OSError(f"spill file {self._path(seq)} of batch {seq} is corrupt")
        return frames
