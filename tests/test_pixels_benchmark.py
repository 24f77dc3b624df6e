"""benchmarks/pixels.py end to end at a tiny budget: every arm runs through the real code
(scripted demos with frames, RLPD, scripted interventions, a trained success classifier as
the reward) and the JSON says what each arm used."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pixels  # noqa: E402

TINY = ["--size", "16", "--frame-stack", "2", "--budget", "30", "--eval-every", "15",
        "--eval-episodes", "1", "--seeds", "1", "--demos", "2", "--reward-episodes", "2",
        "--reward-epochs", "2", "--warmup", "5", "--batch-size", "8", "--hidden", "16,16",
        "--stray-steps", "1", "--timing-steps", "2", "--jobs", "0", "--json"]


def test_every_arm_runs_and_the_json_says_what_it_used(tmp_path: Path,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs.jsonl"
    png = tmp_path / "pixels.png"
    assert pixels.main([*TINY, "--cache", str(tmp_path / "cache"), "--runs-file", str(runs),
                        "--plot", str(png)]) == 0
    result = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {*pixels.ARMS, "step_cost", "meta"}
    for arm in pixels.ARMS:
        entry = result[arm]
        assert entry["errors"] == [], (arm, entry["errors"])
        assert 0.0 <= entry["success_rate"] <= 1.0
        assert len(entry["steps_to_80"]) == 1  # one seed: null or a step of the history
        assert [p["step"] for p in entry["history"][0]] == [15, 30]
        assert entry["settings"]["frame"] == "16x16" and entry["settings"]["budget"] == 30
        assert entry["settings"]["reward"] == ("learned" if arm == "learned_reward" else "sim")
        assert entry["seeds"] == [0] and entry["final_distance"][0] > 0
    # scratch: no demos, nobody intervenes, the sim's dense (negative) reward
    scratch = result["scratch"]
    assert scratch["prior_transitions"] == [0] and scratch["interventions"] == [0]
    assert not scratch["reward_values"][0]["binary"] and scratch["reward_values"][0]["max"] < 0
    # demos: the 2 expert episodes of 100 steps are the RLPD prior data; nobody intervenes
    assert result["demos"]["prior_transitions"] == [200]
    assert result["demos"]["interventions"] == [0]
    # interventions: the expert took over and its steps joined the demonstrations
    both = result["demos_interventions"]
    assert both["prior_transitions"] == [200] and both["interventions"][0] > 0
    assert both["rule"] == {"distance_key": "ee_block_distance", "stray_steps": 1,
                            "takeover_steps": 20}
    # learned reward: the classifier's sparse reward, its own demos, its held-out report
    learned = result["learned_reward"]
    assert learned["reward_values"][0]["binary"]  # 0 or 1: the classifier's verdicts
    assert learned["settings"]["interventions"] and learned["rule"] is not None
    assert learned["prior_transitions"][0] > 0  # demos recorded again with its reward
    report = learned["classifier"]["0"]
    assert report["frames"] > 300 and report["val_frames"] > 0  # demos + 2 more episodes
    assert set(report["val_at_threshold"]) >= {"precision", "recall", "accuracy"}
    assert set(learned["learned_eval"][0]) == {"learned_success", "sim_success"}
    cost = result["step_cost"]
    assert cost["frame"] == "16x16" and cost["dominant"] in ("render", "update", "act")
    assert all(cost["ms"][k]["cpu"] > 0 for k in ("render", "physics_step", "update", "act"))
    assert result["meta"]["options"]["demos"] == 2
    assert png.stat().st_size > 0
    # a second call finds every run in the runs file and trains nothing
    assert len(runs.read_text().splitlines()) == 4
    assert pixels.main([*TINY, "--cache", str(tmp_path / "cache"), "--runs-file", str(runs),
                        "--timing-steps", "0"]) == 0
    again = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert again["step_cost"] is None
    assert {arm: again[arm]["history"] for arm in pixels.ARMS} == {
        arm: result[arm]["history"] for arm in pixels.ARMS}


def test_unknown_arms_are_refused() -> None:
    with pytest.raises(SystemExit):
        pixels.options(["--arms", "scratch,teleport"])
