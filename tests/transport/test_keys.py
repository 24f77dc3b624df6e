"""Key generation, the key directory layout, and when CURVE is required."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from robot_rl.transport import ActorClient, LearnerServer, TransportError
from robot_rl.transport.keys import (
    KeyFileError,
    address_problem,
    check_new_key,
    client_curve,
    curve_required,
    generate_keys,
    is_loopback,
    load_key_pair,
    load_public_key,
    server_curve,
)

pytestmark = pytest.mark.timeout(30)


def test_generate_writes_pair_allow_list_and_private_secret(tmp_path: Path) -> None:
    learner = generate_keys(tmp_path, "learner")
    actor = generate_keys(tmp_path, "a1-left")
    assert learner.public == tmp_path / "learner.key"
    assert not (tmp_path / "actors" / "learner.key").exists()
    assert (tmp_path / "actors" / "a1-left.key").read_bytes() == actor.public.read_bytes()
    assert stat.S_IMODE(actor.secret.stat().st_mode) == 0o600
    server = server_curve(tmp_path)
    client = client_curve(tmp_path, "a1-left")
    assert client.server_public == server.public == load_public_key(learner.public)
    assert (client.public, client.secret) == load_key_pair(actor.secret)
    assert len(server.public) == len(server.secret) == 40
    assert server.allowed_dir == tmp_path / "actors"


def test_generate_refuses_to_overwrite_and_bad_names(tmp_path: Path) -> None:
    first = generate_keys(tmp_path, "a")
    old = first.secret.read_bytes()
    with pytest.raises(KeyFileError, match="exists"):
        generate_keys(tmp_path, "a")
    assert first.secret.read_bytes() == old
    generate_keys(tmp_path, "a", overwrite=True)
    assert first.secret.read_bytes() != old
    for bad in ["", "../x", "a/b", ".hidden", "a b"]:
        with pytest.raises(KeyFileError, match="key name"):
            generate_keys(tmp_path, bad)


def test_missing_or_wrong_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="learner.key_secret"):
        server_curve(tmp_path)
    generate_keys(tmp_path, "learner")
    with pytest.raises(KeyFileError, match="allow-list"):
        server_curve(tmp_path)
    with pytest.raises(KeyFileError, match="no secret"):
        load_key_pair(tmp_path / "learner.key")
    with pytest.raises(KeyFileError, match="a9.key_secret"):
        client_curve(tmp_path, "a9")


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.1.2.3:5555", True),
        ("tcp://localhost:5555", True),
        ("tcp://[::1]:5555", True),
        ("ipc:///tmp/learner", True),
        ("inproc://learner", True),
        ("tcp://*:5555", False),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://10.0.0.2:5555", False),
        ("tcp://learner.lan:5555", False),
        ("tcp://eth0:5555", False),
        ("tcp://127.0.0.1;10.0.0.2:5555", False),
        ("udp://127.0.0.1:5555", False),
    ],
)
def test_curve_is_required_off_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
    assert curve_required(address) is not loopback


@pytest.mark.parametrize(("address", "bind", "words"), [
    ("tcp://127.0.0.1:5555", False, None),
    ("tcp://*:5555", True, None),
    ("tcp://*:0", True, None),
    ("tcp://127.0.0.1:*", True, None),
    ("tcp://[::1]:5555", False, None),
    ("tcp://127.0.0.1;10.0.0.2:5555", False, None),
    ("ipc:///tmp/learner", True, None),
    ("inproc://learner", False, None),
    # ZeroMQ itself binds port 99999 as 34463 (modulo 65536): refused before it sees it
    ("tcp://127.0.0.1:99999", True, "TCP port in [0, 65535]"),
    ("tcp://127.0.0.1:0", False, "TCP port in [1, 65535]"),
    ("tcp://127.0.0.1:abc", False, "TCP port"),
    ("tcp://learner", False, "with a port"),
    ("127.0.0.1:5555", False, "like tcp://HOST:PORT"),
    ("garbage", True, "or tcp://*:PORT"),
    ("udp://127.0.0.1:5555", False, "like tcp://HOST:PORT"),
])
def test_address_problem(address: str, bind: bool, words: str | None) -> None:
    problem = address_problem(address, bind=bind)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem and repr(address) in problem


def test_a_bad_address_is_refused_before_zeromq_sees_it() -> None:
    with pytest.raises(TransportError, match="65535"):
        LearnerServer("tcp://127.0.0.1:99999")
    with pytest.raises(TransportError, match="tcp://HOST:PORT"):
        ActorClient("localhost:5555", "a0")


def test_check_new_key_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="letters, digits"):
        check_new_key(tmp_path / "keys", "bad/name")
    assert check_new_key(tmp_path / "keys", "a0").secret == tmp_path / "keys" / "a0.key_secret"
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("under", ["", "keys"])
def test_a_key_folder_that_is_a_file_is_one_line(tmp_path: Path, under: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`robot-rl keys generate FILE` (or a folder under a file) is a KeyFileError, one line and
    status 2 from the CLI; it raised FileExistsError/NotADirectoryError from mkdir."""
    from robot_rl.cli import main

    a_file = tmp_path / "robot.yaml"
    a_file.write_text("name: a1\n")
    folder = a_file / under if under else a_file
    with pytest.raises(KeyFileError, match="is a file"):
        generate_keys(folder, "learner")
    assert main(["keys", "generate", str(folder), "--name", "robot1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a key folder" in err, err
    assert a_file.read_text() == "name: a1\n"


@pytest.mark.parametrize("actor_id", ["../outside", "sub/a0", ".hidden", "/abs/a0", ""])
def test_an_actor_id_never_reads_a_key_outside_the_folder(tmp_path: Path,
                                                          actor_id: str) -> None:
    """--id names the key file in --keys: an id that is a path is refused before any file is
    read, even where such a file exists."""
    keys = tmp_path / "keys"
    generate_keys(keys, "learner")
    generate_keys(tmp_path, "outside")  # tmp_path/outside.key_secret exists
    with pytest.raises(KeyFileError, match="use letters, digits"):
        client_curve(keys, actor_id)
