"""learning_curve.png: every evaluation as one series, the nominal-pose bar beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import robot_rl.runs as runs
from robot_rl.runs import MetricsLogger, RunDir, plot_learning_curve


def _plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          rows: list[tuple[int, str, dict[str, float]]]) -> Any:
    run = RunDir.create(tmp_path, "a1")
    logger = MetricsLogger(run, tensorboard=False)
    for step, kind, values in rows:
        logger.log(step, kind, values)
    logger.close()
    figures: list[Any] = []
    save = runs._save

    def keep(fig: Any, out: Path) -> Path:
        figures.append(fig)
        return save(fig, out)

    monkeypatch.setattr(runs, "_save", keep)
    assert plot_learning_curve(run, "test").stat().st_size > 0
    (fig,) = figures
    return fig.axes[0]


def _line(ax: Any, prefix: str) -> Any:
    (line,) = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith(prefix)]
    return line


def test_evaluations_during_training_and_the_final_one_are_one_joined_series(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[tuple[int, str, dict[str, float]]] = [
        (s, "episode", {"return": float(s) / 10}) for s in range(40, 400, 40)]
    rows += [(100, "eval", {"return": 5.0}), (200, "eval", {"return": 12.0}),
             (400, "eval", {"return": 30.0, "nominal_return": 8.0})]
    ax = _plot(tmp_path, monkeypatch, rows)
    evals = _line(ax, "deterministic evaluation")
    assert list(evals.get_xdata()) == [100, 200, 400]
    assert list(evals.get_ydata()) == [5.0, 12.0, 30.0]
    assert evals.get_marker() == "s" and evals.get_linestyle() == "-"  # joined, with markers
    nominal = _line(ax, "nominal-pose policy")
    assert list(nominal.get_ydata()) == [8.0, 8.0]  # a horizontal bar


def test_a_single_final_evaluation_is_a_point_of_the_series(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ax = _plot(tmp_path, monkeypatch, [(40, "episode", {"return": 1.0}),
                                       (80, "eval", {"return": 2.0})])
    evals = _line(ax, "deterministic evaluation")
    assert list(evals.get_xdata()) == [80] and evals.get_linestyle() == "-"
    assert not [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("nominal")]
