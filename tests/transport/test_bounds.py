"""Bounded effects: checked sequence marks, capped streams, rate-limited logs, the allow-list
re-read, and 10,000 hostile frames against an in-process learner without keys."""

from __future__ import annotations

import logging
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq

from robot_rl.transport import protocol as proto
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.allowlist import AllowList
from robot_rl.transport.keys import generate_keys
from robot_rl.transport.learner_server import LearnerServer
from robot_rl.transport.protocol import TransportOptions
from robot_rl.transport.ratelog import RateLimitedLog
from robot_rl.transport.streams import MarkError, StreamMarks
from robot_rl.transport.wire import encode

from .conftest import pump

pytestmark = pytest.mark.timeout(30)


def test_marks_refuse_impossible_numbers() -> None:
    marks = StreamMarks(max_gap=100)
    assert marks.check_batch("a", 1, 1) == "accept"
    marks.accept("a", 1, 1)
    assert marks.check_batch("a", 1, 1) == "duplicate"
    assert marks.check_batch("a", 1, 101) == "gap"
    with pytest.raises(MarkError, match="more than 100 past"):
        marks.check_batch("a", 1, 102)
    with pytest.raises(MarkError, match="more than 100 past"):
        marks.heartbeat("b", 7, 6 * 10**18)  # a first heartbeat may skip, but not this far
    assert marks.heartbeat("b", 7, 50) == 50  # lost with a newer checkpoint: skipped once
    with pytest.raises(MarkError, match="after its first heartbeat"):
        marks.heartbeat("b", 7, 60)  # only this learner can have told it more since
    assert marks.heartbeat("b", 7, 50) == 0
    assert marks.state() == {"a#1": 1, "b#7": 50}
    marks.load(marks.state())  # a restored learner: first heartbeats may skip again
    assert marks.heartbeat("a", 1, 5) == 4 and marks.committed("a#1") == 5


def test_marks_cap_streams_per_actor_and_in_all() -> None:
    marks = StreamMarks(max_streams=4, max_per_actor=2, protect_s=0.0)
    for inc in range(5):  # one actor restarting: only its newest two streams are kept
        marks.accept("a", inc, 1)
    assert sorted(marks.state()) == ["a#3", "a#4"] and marks.evicted == 3
    for actor in "bcd":
        marks.accept(actor, 0, 1)
    assert len(marks) == 4 and "a#3" not in marks.state()  # least recently active went
    busy = StreamMarks(max_streams=2, max_per_actor=2, protect_s=60.0)
    busy.accept("a", 0, 1)
    busy.accept("b", 0, 1)
    with pytest.raises(MarkError, match="refusing a new one"):
        busy.check_batch("c", 0, 1)  # all recently active: maybe live, so never evicted
    assert busy.state() == {"a#0": 1, "b#0": 1} and busy.refused == 1


def test_rate_limited_log_counts_what_it_suppresses(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("ratelog_test"), interval_s=1.0, burst=2,
                         clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="ratelog_test"):
        written = sum(log.warning("kind", "peer said %s", "x\n" * 500) for _ in range(1000))
        assert written == 2 and log.suppressed == 998
        now[0] = 1.0
        log.flush()  # one token back: spent on the count
        assert log.warning("kind", "again") is False
        now[0] = 2.0
        assert log.warning("kind", "again") is True
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and "998 more kind lines were suppressed" in lines[2]
    assert lines[3] == "again (+1 similar suppressed)"
    assert all("\n" not in line and len(line) < 260 for line in lines)  # escaped, cut


def test_allow_list_binds_names_and_sees_changes(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    for name in ("learner", "a0", "a1"):
        generate_keys(keys, name)
    allow = AllowList(keys / "actors")
    a0 = (keys / "actors" / "a0.key").read_text()
    key0 = next(line.split('"')[1] for line in a0.splitlines() if "public-key" in line)
    assert allow.name_of(key0) == "a0" and allow.names == {"a0", "a1"}
    assert allow.refresh() is False  # nothing changed: nothing re-read
    (keys / "actors" / "copy.key").write_text(a0)  # one key under two names: stays a0's
    (keys / "actors" / "junk.key").write_text("not a key")
    (keys / "actors" / "a1.key").unlink()
    assert allow.refresh() is True and allow.names == {"a0"} and allow.name_of(key0) == "a0"
    assert allow.callback("*", key0.encode()) and not allow.callback("*", b"x" * 40)
    (keys / "actors").rename(tmp_path / "gone")
    assert allow.refresh() is True and allow.names == set()  # no directory: nobody


# -- 10,000 hostile frames, no keys: any peer may claim any id ------------------------------

def _hostile(rng: np.random.Generator, good_inc: int):
    names = [f"fake{i}" for i in range(300)] + ["good"]
    arrays = {"uid": np.zeros(2, np.int64)}
    while True:
        kind = int(rng.integers(6))
        actor = names[int(rng.integers(len(names)))]
        inc = good_inc if actor == "good" and rng.random() < 0.5 else int(rng.integers(2**63))
        big = int(rng.integers(2**63))
        if kind == 0:
            yield [rng.bytes(int(rng.integers(0, 64))) for _ in range(int(rng.integers(1, 4)))]
        elif kind == 1:  # huge and absurd committed marks, on old and new streams
            yield encode(proto.HEARTBEAT, {"actor": actor, "inc": inc, "wv": big,
                                           "committed": big if rng.random() < 0.5 else
                                           int(rng.integers(1, 2000))})
        elif kind == 2:  # huge sequence numbers
            yield encode(proto.TRANSITIONS, {"actor": actor, "inc": inc, "seq": big, "n": 2},
                         arrays)
        elif kind == 3:  # many fake streams, batches that fit
            yield encode(proto.TRANSITIONS, {"actor": actor, "inc": inc,
                                             "seq": int(rng.integers(1, 3)), "n": 2}, arrays)
        elif kind == 4:  # forged headers: learner-only kinds, wrong fields, bad ids
            meta = {"actor": "evil\nWARNING forged line", "inc": 1, "wv": 0, "committed": 0}
            yield [msgpack.packb({"v": 1, "kind": ["st", "rf", "w", "hb"][int(
                rng.integers(4))], "meta": meta, "arrays": []})]
        else:
            yield encode(proto.REFUSED, {"session": 1, "code": "forged", "reason": "x"})


def test_ten_thousand_hostile_frames_leave_bounded_state_and_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    opts = TransportOptions(heartbeat_s=0.1, peer_timeout_s=0.6, max_peers=32, max_streams=64,
                            max_streams_per_actor=4, max_gap=1000)
    caplog.set_level(logging.INFO, logger="robot_rl.transport")
    with LearnerServer("tcp://127.0.0.1:0", options=opts) as srv:
        good = ActorClient(srv.endpoint, "good", options=opts)
        ctx = zmq.Context()
        evil = ctx.socket(zmq.DEALER)
        evil.linger, evil.sndtimeo = 0, 2000
        evil.connect(srv.endpoint)
        got: list = []
        try:
            good.send_transitions({"uid": np.arange(5)})
            assert pump([srv], [good], lambda: len(got) == 1, 10.0, got)
            frames = _hostile(np.random.default_rng(7), good.incarnation)
            rx0 = srv.metrics["rx_messages"]
            for i in range(10_000):
                evil.send_multipart(next(frames))
                if i % 200 == 0:  # the honest actor keeps going during the flood
                    good.send_transitions({"uid": np.arange(5 + i, 10 + i)})
                    got += srv.poll(0)
                    good.poll(0)
            assert pump([srv], [good], lambda: srv.metrics["rx_messages"] >= rx0 + 10_000
                        + 10, 20.0, got)
            srv.commit(srv.state_dict())
            assert pump([srv], [good], lambda: good.pending_batches == 0, 10.0, got)
        finally:
            good.close()
            evil.close()
            ctx.term()
        m, state = srv.metrics, srv.state_dict()["streams"]
    mine = sorted(int(u) for b in got if b.actor_id == "good" and b.arrays["uid"].max() > 0
                  for u in b.arrays["uid"])
    want = sorted([*range(5), *(u for i in range(0, 10_000, 200) for u in range(5 + i, 10 + i))])
    assert mine == want  # every honest transition exactly once, flood or not
    assert len(state) <= 64 and m["streams"] <= 64 and len(srv.peers()) <= 32
    assert m["lost_batches"] <= 64 * 1000  # one skip per stream, each at most max_gap
    assert m["bad_marks"] > 1000 and m["rejected"] > 1000 and m["refused_streams"] > 0
    records = [r for r in caplog.records if r.name.startswith("robot_rl.transport")]
    assert len(records) < 100, len(records)
    assert not any("WARNING forged line" in r.getMessage().splitlines()[-1] for r in records
                   if "\n" in r.getMessage())
