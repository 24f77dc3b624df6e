"""`robot-rl keys generate`, and the learner/actor commands refusing to run without keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from robot_rl.cli import main

pytestmark = pytest.mark.timeout(30)


def test_keys_generate_writes_learner_and_actor_keys_and_says_where(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "generate", str(keys), "--name", "a1-left"]) == 0
    out = capsys.readouterr().out
    for name in ("learner.key", "learner.key_secret", "a1-left.key_secret",
                 "actors/a1-left.key"):
        assert (keys / name).is_file() and str(keys / name) in out, name
    assert stat.S_IMODE(os.stat(keys / "a1-left.key_secret").st_mode) == 0o600
    assert "copy its NAME.key there" in out and "--keys" in out
    learner_key = (keys / "learner.key").read_bytes()

    assert main(["keys", "generate", str(keys), "--name", "a1-right"]) == 0
    assert "kept" in capsys.readouterr().out  # the learner's pair stays: actors trust it
    assert (keys / "learner.key").read_bytes() == learner_key
    assert sorted(p.name for p in (keys / "actors").iterdir()) == ["a1-left.key", "a1-right.key"]

    assert main(["keys", "generate", str(keys), "--name", "a1-left"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["keys", "generate", str(keys), "--name", "learner"]) == 2


def test_keys_generate_refuses_a_bad_name_before_writing_any_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "generate", str(keys), "--name", "ok", "--name", "bad/name"]) == 2
    assert "'bad/name'" in capsys.readouterr().err
    assert not keys.exists()  # neither the learner's pair nor 'ok' was written first
    assert main(["keys", "generate", str(keys), "--name", "ok", "--name", "ok"]) == 0
    assert sorted(p.name for p in (keys / "actors").iterdir()) == ["ok.key"]
    assert main(["keys", "generate", str(keys), "--name", "new", "--name", "ok"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert not (keys / "new.key").exists()  # refused before 'new' was made


def test_learner_and_actor_refuse_to_start_without_usable_keys(
        tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cfg = tmp_path / "runs", str(tiny_path)
    assert main(["learner", cfg, "--bind", "tcp://*:0", "--out", str(out)]) == 2
    assert "CURVE keys are required" in capsys.readouterr().err
    assert not out.exists()  # nothing created for a learner that never started

    (tmp_path / "empty").mkdir()
    assert main(["learner", cfg, "--bind", "tcp://127.0.0.1:0", "--out", str(out),
                 "--keys", str(tmp_path / "empty")]) == 2
    assert "cannot read a CURVE key pair" in capsys.readouterr().err

    assert main(["keys", "generate", str(tmp_path / "keys"), "--name", "a0"]) == 0
    assert main(["learner", cfg, "--bind", "tcp://127.0.0.1:0", "--keys",
                 str(tmp_path / "keys"), "--insecure"]) == 2
    assert "exclude each other" in capsys.readouterr().err

    assert main(["actor", cfg, "--learner", "tcp://192.0.2.1:5555", "--id", "a0"]) == 2
    assert "CURVE keys are required" in capsys.readouterr().err
    assert main(["actor", cfg, "--learner", "tcp://192.0.2.1:5555", "--id", "ghost",
                 "--keys", str(tmp_path / "keys")]) == 2
    assert "ghost.key_secret" in capsys.readouterr().err
