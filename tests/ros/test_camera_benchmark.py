"""benchmarks/cameras.py runs (render, message, JPEG, publish to an rclpy reader) and prints
one JSON object with a row per robot, size and camera."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "cameras.py"


@pytest.mark.timeout(120)
def test_camera_benchmark_prints_one_json_object(domain_id: int) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--frames", "2", "--sizes", "24",
         "--robots", "panda", "--domain", str(domain_id)],
        capture_output=True, text=True, timeout=110, check=True)
    result = json.loads(out.stdout)
    assert result["matched_readers"] == 1
    rows = result["rows"]
    assert [(r["camera"], r["frame"]) for r in rows] == [("fixed", "24x24"), ("link", "24x24")]
    assert rows[0]["render"] == "36x36" and rows[0]["image_bytes"] > 24 * 24 * 3
    for row in rows:
        for key in ("render_ms", "peer_get_camera_image_ms", "image_msg_ms", "jpeg_msg_ms",
                    "publish_ms"):
            assert 0 <= row[key]["median"] <= row[key]["p90"], key
