"""`robot-rl explore train` on Ray, then `explore collect` on a shifted robot: the policies
differ measurably, the data is valid prior data, Ray leaves no process behind, and the
command-line mistakes are one line with exit status 2.

One small training run (K=3 tiny Panda policies, 300 steps each, 3 rounds, a local Ray
instance of 2 CPUs; ~25 s on 2 cores) is shared by the module's tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robot_rl.cli import main
from robot_rl.config import load_config
from tests.explore.conftest import tiny_panda_config

pytest.importorskip("ray")


def ray_processes(marker: str) -> list[str]:
    """Command lines of running processes that mention ``marker`` (a Ray temp folder)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("explore")
    config = tiny_panda_config(folder)
    ray_tmp = tempfile.mkdtemp(prefix="rr-")  # short: Ray's socket paths must fit
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", ray_tmp)
        code = main(["explore", "train", str(config), "--policies", "3", "--steps", "300",
                     "--rounds", "3", "--beta", "1.0", "--eval-episodes", "2",
                     "--num-cpus", "2", "--quiet", "--out", str(folder / "policies")])
    assert code == 0
    yield {"folder": folder, "config": config, "out": folder / "policies",
           "ray_tmp": ray_tmp}
    shutil.rmtree(ray_tmp, ignore_errors=True)


def test_train_writes_k_policies_and_a_coverage_report(trained: dict[str, Any]) -> None:
    out = trained["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml", "coverage.json", "explore.json", "policy-0", "policy-1", "policy-2"]
    meta = json.loads((out / "explore.json").read_text())
    assert meta["policies"] == 3 and meta["robot"] == "panda"
    report = json.loads((out / "coverage.json").read_text())
    rounds = report["rounds"]
    assert [r["steps"] for r in rounds] == [100, 200, 300]
    assert rounds[0]["mean_bonus"] == [0.0, 0.0, 0.0]  # nothing visited before round 1
    assert all(b > 0 for r in rounds[1:] for b in r["mean_bonus"])


def test_policies_are_measurably_different(trained: dict[str, Any]) -> None:
    cov = json.loads((trained["out"] / "coverage.json").read_text())["coverage"]
    assert cov["union_voxels"] > max(cov["voxels_per_policy"])  # together they cover more
    assert cov["mean_pairwise_distance"] > 0.03  # metres between descriptor means (~0.15)


def test_ray_leaves_no_process(trained: dict[str, Any]) -> None:
    import ray

    assert not ray.is_initialized()
    assert ray_processes(trained["ray_tmp"]) == []


def test_collect_on_a_shifted_robot_writes_prior_data_the_learner_loads(
        trained: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from robot_rl.sac.prior import MixedReplayBuffer
    from robot_rl.session import build

    shifted = tiny_panda_config(trained["folder"], shifted=True)
    data = trained["folder"] / "data.npz"
    capsys.readouterr()
    assert main(["explore", "collect", str(trained["out"]), str(shifted), "--episodes", "4",
                 "--out", str(data)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["transitions"] == 4 * 50 and summary["episodes_per_policy"] == [2, 1, 1]
    cfg = load_config(shifted, warn=False)
    cfg.learner.prior_data = str(data)
    env, _, buffer = build(cfg, 0)
    env.close()
    assert isinstance(buffer, MixedReplayBuffer) and len(buffer.prior) == 200


def test_collect_mistakes_are_one_line(trained: dict[str, Any], tmp_path: Path,
                                       tiny_a1: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    data = str(tmp_path / "d.npz")
    assert main(["explore", "collect", str(tmp_path / "nope"), str(trained["config"]),
                 "--episodes", "1", "--out", data]) == 2
    _one_line_error(capsys, "nope", "no such folder")
    assert main(["explore", "collect", str(tmp_path), str(trained["config"]),
                 "--episodes", "1", "--out", data]) == 2
    _one_line_error(capsys, "expected a folder written by robot-rl explore train")
    assert main(["explore", "collect", str(trained["out"]), str(tiny_a1), "--episodes", "1",
                 "--out", data]) == 2
    _one_line_error(capsys, "expected the robot the policies", "a1")
    assert not Path(data).exists()


def test_train_mistakes_are_one_line(tiny_panda: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["explore", "train", str(tiny_panda), "--steps", "10"]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--policies", "1", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    _one_line_error(capsys, "--policies", ">= 2")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert main([*base, "--out", str(tmp_path / "full")]) == 2
    _one_line_error(capsys, "--out", "new or empty folder")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main([*base, "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "expected Ray installed", "robot_rl[explore]")
    assert not (tmp_path / "o").exists()


def test_import_ray_without_ray_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from robot_rl.errors import ConfigError
    from robot_rl.explore.pool import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match="ray>=2.40"):
        import_ray()


def test_ray_session_shuts_down_after_an_error() -> None:
    import ray

    from robot_rl.explore.pool import ray_session

    ray_tmp = tempfile.mkdtemp(prefix="rr-")
    with pytest.raises(RuntimeError, match="boom"), ray_session(num_cpus=1,
                                                                temp_dir=ray_tmp):
        assert ray.is_initialized()
        raise RuntimeError("boom")
    assert not ray.is_initialized()
    assert ray_processes(ray_tmp) == []
    shutil.rmtree(ray_tmp, ignore_errors=True)
