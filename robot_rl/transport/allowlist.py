"""The learner's allow-list: actor public keys by name, re-read while the learner runs.

``DIR/actors/<name>.key`` allows the CURVE key in that file to connect, and binds it to the
actor id ``<name>``: messages authenticated with that key may only speak for ``<name>``.
:meth:`AllowList.refresh` re-reads the directory when its listing or a file's size or mtime
changed; the ZAP authenticator asks :meth:`AllowList.callback` at every handshake, and the
learner asks :meth:`AllowList.name_of` for every message (the ZAP ``User-Id`` of a CURVE
connection is the Z85 text of the client's public key), so a deleted key is refused by new
handshakes and by connections that were authenticated before the deletion. A handshake with
an unknown key first looks for changes in the directory (a listing and a stat per file, as
cheap as the handshake's own cryptography), so a key added a moment ago is accepted at once.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import zmq.auth

logger = logging.getLogger(__name__)

_Signature = tuple[tuple[str, int, int], ...]


class AllowList:
    """Z85 public key -> actor name, from the ``*.key`` files of one directory.

    The learner's thread and the authenticator's thread both refresh (under a lock); lookups
    read a dict that each refresh replaces whole. :attr:`version` grows with every change,
    so the learner can tell whether keys went away since it last looked.

    Args:
        directory: the allow-list directory (``DIR/actors``).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.version = 0
        self._by_key: dict[bytes, str] = {}
        self._signature: _Signature | None = None
        self._lock = threading.Lock()
        self.refresh()

    @property
    def names(self) -> set[str]:
        """Names currently allowed."""
        return set(self._by_key.values())

    def name_of(self, key: str | bytes | None) -> str | None:
        """The actor name bound to a Z85 public key, or None if the key is not allowed."""
        if key is None:
            return None
        return self._by_key.get(key.encode("ascii", "replace") if isinstance(key, str) else key)

    def callback(self, domain: str, key: bytes) -> bool:
        """ZAP: may the client with this Z85 public key connect? (``configure_curve_callback``)"""
        if key not in self._by_key:
            self.refresh()
        return key in self._by_key

    def refresh(self, force: bool = False) -> bool:
        """Re-reads the directory if it changed (or ``force``); returns whether keys changed.

        A missing or unreadable directory allows nobody. A file that cannot be read as a
        public key is skipped (logged), and read again once it changes.
        """
        with self._lock:
            return self._refresh(force)

    def _refresh(self, force: bool) -> bool:
        signature = self._scan()
        if signature == self._signature and not force:
            return False
        self._signature = signature
        by_key: dict[bytes, str] = {}
        for name, _, _ in signature or ():
            path = self.directory / f"{name}.key"
            try:
                public, _ = zmq.auth.load_certificate(path)
            except (OSError, ValueError) as err:
                logger.warning("allow-list: skipping %s: %s", path, err)
                continue
            if not public:
                continue
            if public in by_key:
                logger.warning("allow-list: %s.key repeats the key of %s; it stays bound to "
                               "%s", name, by_key[public], by_key[public])
                continue
            by_key[public] = name
        changed = by_key != self._by_key
        if changed:
            removed = set(self._by_key.values()) - set(by_key.values())
            logger.info("allow-list %s: %d actor keys%s", self.directory, len(by_key),
                        f" (removed: {', '.join(sorted(removed))})" if removed else "")
            self.version += 1
        self._by_key = by_key  # one assignment: lookups see old or new, never half
        return changed

    def _scan(self) -> _Signature | None:
        try:
            entries = [(e.name[:-4], e.stat()) for e in os.scandir(self.directory)
                       if e.name.endswith(".key") and e.is_file()]
        except OSError:
            return None
        return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in entries))
