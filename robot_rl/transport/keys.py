"""CurveZMQ keys: generation, loading, the key directory layout, and when CURVE is required.

Layout of a key directory (``robot-rl keys generate DIR NAME`` writes it)::

    DIR/learner.key          learner public key: copy it to every actor
    DIR/learner.key_secret   learner secret key: stays on the learner
    DIR/<actor>.key          actor public key
    DIR/<actor>.key_secret   actor secret key: copy it to that actor only
    DIR/actors/<actor>.key   allow-list: the learner accepts exactly the public keys here

Files are the text certificates of ``zmq.auth`` (Z85 keys). Secret files are made 0600.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import zmq.auth

logger = logging.getLogger(__name__)

LEARNER = "learner"
ALLOW_DIR = "actors"


class KeyFileError(ValueError):
    """A key file or directory that is missing or unusable."""


@dataclass(frozen=True)
class KeyFiles:
    """Paths of a generated key pair."""

    public: Path
    secret: Path


@dataclass(frozen=True)
class ServerCurve:
    """CURVE settings of the learner: its key pair and the allow-list directory."""

    public: bytes
    secret: bytes
    allowed_dir: Path


@dataclass(frozen=True)
class ClientCurve:
    """CURVE settings of an actor: its key pair and the learner's public key."""

    public: bytes
    secret: bytes
    server_public: bytes


def check_key_name(name: str) -> None:
    """Raises :class:`KeyFileError` unless ``name`` can name a key file in its folder:
    letters, digits, '-', '_' and '.', not starting with '.' (so never a path elsewhere)."""
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise KeyFileError(f"key name {name!r}: use letters, digits, '-', '_' and '.'")


def check_new_key(directory: str | os.PathLike[str], name: str, overwrite: bool = False
                  ) -> KeyFiles:
    """The files :func:`generate_keys` would write for ``name`` in ``directory``; writes
    nothing, so that a command making several keys can refuse a bad one before the first.

    Raises:
        KeyFileError: a bad name, a directory that is (or is under) a file, or the key
            exists and ``overwrite`` is False.
    """
    check_key_name(name)
    root = Path(directory)
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise KeyFileError(f"{directory}: expected a key folder, {existing} is a file")
    files = KeyFiles(root / f"{name}.key", root / f"{name}.key_secret")
    if not overwrite and (files.public.exists() or files.secret.exists()):
        raise KeyFileError(f"{files.secret}: a key named {name!r} exists (replace it with "
                           "--overwrite, overwrite=True)")
    return files


def generate_keys(
    directory: str | os.PathLike[str], name: str, overwrite: bool = False
) -> KeyFiles:
    """Creates a CURVE key pair ``name.key`` / ``name.key_secret`` in ``directory``.

    For any name other than ``learner`` the public key is also copied into
    ``directory/actors/`` so that a learner using this directory accepts the actor.

    Args:
        directory: key directory, created if missing.
        name: ``learner`` or an actor name (letters, digits, ``-``, ``_``, ``.``).
        overwrite: replace an existing key pair of that name.

    Returns:
        The paths of the public and secret files.

    Raises:
        KeyFileError: a bad name, or the key exists and ``overwrite`` is False.
    """
    files = check_new_key(directory, name, overwrite)
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    zmq.auth.create_certificates(root, name)
    os.chmod(files.secret, 0o600)
    if name != LEARNER:
        (root / ALLOW_DIR).mkdir(exist_ok=True)
        shutil.copyfile(files.public, root / ALLOW_DIR / f"{name}.key")
    logger.info("wrote CURVE key pair %s, %s", files.public, files.secret)
    return files


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    """Returns the Z85 public key stored in a ``.key`` or ``.key_secret`` file."""
    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as err:
        raise KeyFileError(f"{path}: cannot read a CURVE public key: {err}") from None
    return public


def load_key_pair(secret_path: str | os.PathLike[str]) -> tuple[bytes, bytes]:
    """Returns ``(public, secret)`` from a ``.key_secret`` file."""
    try:
        public, secret = zmq.auth.load_certificate(secret_path)
    except (OSError, ValueError) as err:
        raise KeyFileError(f"{secret_path}: cannot read a CURVE key pair: {err}") from None
    if not secret:
        raise KeyFileError(f"{secret_path}: holds no secret key (is it the public .key file?)")
    return public, secret


def server_curve(key_dir: str | os.PathLike[str]) -> ServerCurve:
    """Loads the learner's key pair and allow-list from a key directory."""
    root = Path(key_dir)
    public, secret = load_key_pair(root / f"{LEARNER}.key_secret")
    allowed = root / ALLOW_DIR
    if not allowed.is_dir():
        raise KeyFileError(f"{allowed}: no allow-list directory of actor public keys")
    return ServerCurve(public, secret, allowed)


def client_curve(
    key_dir: str | os.PathLike[str], name: str, server_key: str | os.PathLike[str] | None = None
) -> ClientCurve:
    """Loads an actor's key pair and the learner's public key from a key directory.

    Args:
        key_dir: directory holding ``<name>.key_secret`` and ``learner.key``.
        name: the actor's key name.
        server_key: learner public key file, if not ``key_dir/learner.key``.
    """
    check_key_name(name)  # the actor id: never a path outside key_dir
    root = Path(key_dir)
    public, secret = load_key_pair(root / f"{name}.key_secret")
    server_public = load_public_key(server_key or root / f"{LEARNER}.key")
    return ClientCurve(public, secret, server_public)


def is_loopback(address: str) -> bool:
    """True if a ZeroMQ address never leaves this machine (loopback TCP, ipc, inproc).

    ``tcp://*:5555`` binds every interface and is therefore not loopback.
    """
    scheme, _, rest = address.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp" or not rest:
        return False
    host = urlsplit(f"//{rest.split(';')[-1]}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(address: str, bind: bool) -> str | None:
    """What is wrong with a ZeroMQ address to bind (``bind``) or connect to, or None.

    Checked before ZeroMQ sees it: ZeroMQ takes a TCP port above 65535 modulo 65536 (port
    99999 binds 34463) and calls a missing scheme "Invalid argument". Accepted: ``tcp://HOST:PORT``
    (``*`` as HOST, and port 0 or ``*`` for a free port, when binding), ``ipc://PATH``,
    ``inproc://NAME``.
    """
    scheme, sep, rest = address.partition("://")
    like = "tcp://HOST:PORT" + (" (or tcp://*:PORT)" if bind else "")
    if not sep or not rest or scheme not in ("tcp", "ipc", "inproc"):
        return f"{address!r}: expected a ZeroMQ address like {like}"
    if scheme != "tcp":
        return None
    host, colon, port = rest.split(";")[-1].rpartition(":")
    if not colon or not host:
        return f"{address!r}: expected a ZeroMQ address like {like}, with a port"
    low = 0 if bind else 1
    if bind and port == "*":
        return None
    if not port.isdigit() or not low <= int(port) <= 65535:
        free = " (0: a free one)" if bind else ""
        return f"{address!r}: expected a TCP port in [{low}, 65535]{free}, got {port[:20]!r}"
    return None


def curve_required(address: str) -> bool:
    """CURVE is on by default for every address that is not loopback."""
    return not is_loopback(address)
