"""benchmarks/ros_loop.py runs end to end (two processes over DDS) and prints one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds")

BENCH = Path(__file__).parents[2] / "benchmarks" / "ros_loop.py"


@pytest.mark.timeout(90)
def test_ros_loop_prints_one_json_object(domain_id: int) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--seconds", "1", "--warmup", "5",
         "--peer-count", "10", "--domain", str(domain_id)],
        capture_output=True, text=True, timeout=80, check=True)
    result = json.loads(out.stdout)
    for key in ("latency_ms_p50", "latency_ms_p99", "period_jitter_ms_p99"):
        assert isinstance(result[key], float) and result[key] >= 0, key
    assert result["states_sent"] == 50
    assert result["matched_by"] == "content"
    assert result["commands_received"] >= 45  # states are best effort
    assert result["latency_ms_p50"] < 20.0   # loose: a loaded 2-core CI box
    assert result["peer_udp_latency_ms_p50"] is not None
