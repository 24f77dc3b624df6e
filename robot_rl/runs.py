"""Run directories: resolved config, metrics (JSONL + TensorBoard), atomic checkpoints, plots.

Layout::

    runs/a1-20261121-101500/
      config.yaml            the resolved config this run used
      metrics.jsonl          one JSON object per logged step or episode
      tb/                    TensorBoard event files
      checkpoints/ckpt-00002000/{agent.pt, buffer.npz, trainer.json}
      checkpoints/LATEST     name of the newest complete checkpoint (replaced atomically)
      learning_curve.png, eval.mp4, task_timeline.png (task-graph runs), aprl.png (APRL)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from robot_rl.aprl.config import AprlConfig
from robot_rl.config import RobotConfig, to_dict
from robot_rl.errors import ConfigError

KEEP_CHECKPOINTS = 2
TMP_PREFIX = ".tmp-"


class RunDir:
    """A run directory on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"

    @classmethod
    def create(cls, out: str | Path, name: str) -> RunDir:
        """A new, uniquely named run directory under ``out``."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path(out) / f"{name}-{stamp}"
        path, i = base, 1
        while path.exists():
            path, i = Path(f"{base}-{i}"), i + 1
        try:
            path.mkdir(parents=True)
        except OSError as err:  # a file on the way, no permission: the command line's
            raise ConfigError(str(out), "--out", f"expected a folder where run directories "
                              f"can be made ({err.strerror})") from None
        return cls(path)

    def write_config(self, cfg: RobotConfig) -> None:
        """Write ``config.yaml``: ``cfg`` as resolved for this run (URDF path and limits,
        prior-data path, and ``learner.device``/``precision`` as ``session.build`` picked
        them), which ``robot-rl train --resume`` reads back through the loader."""
        data = to_dict(cfg)
        data.pop("source", None)
        learner = data.get("learner")
        if isinstance(learner, dict) and learner.get("bf16") is None:
            learner.pop("bf16", None)  # the deprecated alias, folded into learner.precision
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(data, sort_keys=False))

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    # ---------------------------------------------------------- checkpoints
    def save_checkpoint(self, step: int, write: Any) -> Path:
        """Write a checkpoint so that a kill at any moment leaves a whole one to resume.

        The files go into a temp folder, are fsynced with it, and the folder is renamed into
        place; then LATEST is replaced atomically, and only then are older checkpoints
        pruned. Nothing is deleted first: a step saved again is written beside the old one
        (``ckpt-<step>.1``), which is moved away only once LATEST names the new one.

        Args:
            step: the environment step (names the folder).
            write: ``write(folder: Path)`` writes the checkpoint files into ``folder``.
        """
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        final = self.checkpoints / f"ckpt-{step:08d}"
        target = self._free_name(final.name)
        tmp = self.checkpoints / f"{TMP_PREFIX}{target.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        write(tmp)
        for f in tmp.iterdir():
            _fsync(f)
        _fsync(tmp)
        self._rename(tmp, target)
        atomic_write_text(self.checkpoints / "LATEST", target.name + "\n")
        if target != final:  # give the new one the plain name (between these renames,
            # LATEST names no folder and latest_checkpoint() finds the newest by its name)
            self._rename(final, self.checkpoints / f"{TMP_PREFIX}old-{final.name}-{os.getpid()}")
            self._rename(target, final)
            atomic_write_text(self.checkpoints / "LATEST", final.name + "\n")
        self._prune(keep=final.name)
        return final

    def _rename(self, source: Path, dest: Path) -> None:
        os.replace(source, dest)
        _fsync(self.checkpoints)

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint folder, or None.

        LATEST names it; without a usable LATEST, the highest-step ``ckpt-*`` folder (every
        such folder is complete: folders only get that name once fsynced).
        """
        latest = self.checkpoints / "LATEST"
        if latest.is_file():
            folder = self.checkpoints / latest.read_text().strip()
            if folder.name.startswith("ckpt-") and folder.is_dir():
                return folder
        done = self._complete()
        return done[-1] if done else None

    def _free_name(self, name: str) -> Path:
        path, i = self.checkpoints / name, 1
        while path.exists():
            path, i = self.checkpoints / f"{name}.{i}", i + 1
        return path

    def _complete(self) -> list[Path]:
        """Complete checkpoint folders, oldest first (by step, then by rewrite)."""
        return sorted((p for p in self.checkpoints.glob("ckpt-*") if p.is_dir()),
                      key=_checkpoint_order)

    def _prune(self, keep: str) -> None:
        done = self._complete()
        for old in [p for p in done if p.name.startswith(keep + ".")]:  # older saves of it
            shutil.rmtree(old, ignore_errors=True)
            done.remove(old)
        for old in done[:-KEEP_CHECKPOINTS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)
        for tmp in self.checkpoints.glob(f"{TMP_PREFIX}*"):  # left by killed runs
            shutil.rmtree(tmp, ignore_errors=True)


def _checkpoint_order(path: Path) -> tuple[int, int]:
    step, _, again = path.name.removeprefix("ckpt-").partition(".")
    return int(step) if step.isdigit() else -1, int(again) if again.isdigit() else 0


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never a part
    (also after a power cut: the file and then its directory are fsynced)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    """fsync a file or a directory (a directory's entries: renames and new files in it)."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def truncate_metrics(path: Path, step: int) -> int:
    """Drop the rows of ``metrics.jsonl`` logged after ``step`` (and any torn line).

    On resume from a checkpoint at ``step`` those rows are logged again. The file is
    replaced atomically. Returns how many rows were dropped.
    """
    if not path.is_file():
        return 0
    keep, dropped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                dropped += 1
                continue
            if isinstance(row, dict) and row.get("step", 0) > step:
                dropped += 1
            else:
                keep.append(json.dumps(row) + "\n")
    if dropped:
        atomic_write_text(path, "".join(keep))
    return dropped


class MetricsLogger:
    """Appends metrics to ``metrics.jsonl`` and TensorBoard at the same time.

    Args:
        run: the run directory.
        tensorboard: also write TensorBoard events (``tb/``).
        resume_step: resuming from a checkpoint at this step: rows and events logged after
            it (by the run that was stopped) are dropped, since they are logged again.
    """

    def __init__(self, run: RunDir, tensorboard: bool = True,
                 resume_step: int | None = None) -> None:
        path = run.path / "metrics.jsonl"
        if resume_step is not None:
            truncate_metrics(path, resume_step)
        self.file = open(path, "a", encoding="utf-8")
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge = None
            if resume_step is not None:  # TensorBoard hides older events at steps >= purge
                purge = resume_step + 1
                _wait_past_event_files(run.path / "tb")
            self.writer = SummaryWriter(str(run.path / "tb"), purge_step=purge)

    def log(self, step: int, kind: str, values: dict[str, float]) -> None:
        """Record ``values`` of a ``kind`` ("train", "episode", "eval") at ``step``."""
        clean = {k: float(v) for k, v in values.items()
                 if isinstance(v, (int, float)) and math.isfinite(float(v))}
        self.file.write(json.dumps({"step": step, "kind": kind, **clean}) + "\n")
        self.file.flush()
        if self.writer is not None:
            for key, value in clean.items():
                self.writer.add_scalar(f"{kind}/{key}", value, step)

    def sync(self) -> None:
        """Put everything logged so far on disk (before a checkpoint: a kill after it loses
        nothing that the resumed run will not log again)."""
        self.file.flush()
        os.fsync(self.file.fileno())
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()


def _wait_past_event_files(tb: Path, limit_s: float = 2.0) -> None:
    """Wait (at most ``limit_s``) until the clock is past the second of every event file.

    TensorBoard reads a run's event files in name order, and names start with the second
    they were made in, then the pid: a resumed run's file made in the same second as the
    stopped run's could sort first, and its purge would come before the events it purges.
    """
    stamps = [int(p.name.split(".")[3]) for p in tb.glob("events.out.tfevents.*")
              if p.name.split(".")[3].isdigit()]
    deadline = time.monotonic() + limit_s
    while stamps and int(time.time()) <= max(stamps) and time.monotonic() < deadline:
        time.sleep(0.05)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read ``metrics.jsonl`` (skipping a partly written last line; none if no file)."""
    rows: list[dict[str, Any]] = []
    if not Path(path).is_file():
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def plot_learning_curve(run: RunDir, title: str) -> Path:
    """``learning_curve.png``: training episode returns (and their running mean) against
    steps, every deterministic evaluation (``eval`` rows) as one series of squares joined by
    a line, the nominal-pose policy's evaluation return (dashed) where logged, and the
    episodes' intervention rate (right axis) where a person intervened."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "episode"]
    evals = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "eval"]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if rows:
        ax.plot([r["step"] for r in rows], [r["return"] for r in rows], ".", alpha=0.4,
                label="episode return")
        window = max(1, len(rows) // 10)
        smooth = [sum(r["return"] for r in rows[max(0, i - window + 1):i + 1])
                  / len(rows[max(0, i - window + 1):i + 1]) for i in range(len(rows))]
        ax.plot([r["step"] for r in rows], smooth, "-", label=f"mean of last {window}")
    evals = [r for r in evals if "return" in r]
    if evals:  # one series: every evaluation logged during training, then the final one
        ax.plot([r["step"] for r in evals], [r["return"] for r in evals], "s-", color="k",
                markersize=5, label=f"deterministic evaluation ({len(evals)})")
        nominal = [r for r in evals if "nominal_return" in r]
        if nominal:  # the bar: holding the nominal pose (action 0) on the same episodes
            ax.axhline(nominal[-1]["nominal_return"], ls="--", color="tab:gray", lw=1,
                       label="nominal-pose policy (action 0)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if rows or evals:
        ax.legend(loc="best")
    rates = [r for r in rows if "intervention_rate" in r]
    if rates:  # interventions (docs/demos.md): the share of each episode a person acted
        right = ax.twinx()
        right.plot([r["step"] for r in rates], [r["intervention_rate"] for r in rates], "-",
                   color="tab:red", alpha=0.6, lw=1, label="intervention rate")
        right.set_ylim(0.0, 1.05)
        right.set_ylabel("intervention rate", color="tab:red")
        right.legend(loc="lower right")
    return _save(fig, run.path / "learning_curve.png")


EVENT_STYLE = {1: ("success", "^", "tab:green"), 2: ("failure", "x", "tab:red"),
               3: ("timeout", "|", "k")}


def plot_task_timeline(run: RunDir, title: str) -> Path:
    """``task_timeline.png``: which task ran when, how each run of it ended, falls, resets.

    Reads the ``segment`` rows of a task-graph run (one per task end) and the task names
    from the run's ``config.yaml``. Top: a bar per task run on its task's row, ended by a
    marker (success, failure, timeout), a red cross for a fall and a black triangle for a
    manual reset. Bottom: cumulative successes, falls and manual resets against steps.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_metrics(run.path / "metrics.jsonl") if r["kind"] == "segment"]
    names: list[str] = []
    if run.config_path.is_file():
        graph = (yaml.safe_load(run.config_path.read_text()) or {}).get("task_graph") or {}
        names = list((graph.get("tasks") or {}).keys())
    count = max([len(names)] + [int(r["task"]) + 1 for r in rows])
    names += [f"task {i}" for i in range(len(names), count)]
    colors = plt.get_cmap("tab10")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), dpi=100, sharex=True,
                                      gridspec_kw={"height_ratios": [max(count, 1), 2]})
    for r in rows:
        task, start, end = int(r["task"]), r["start"], r["start"] + r["length"]
        top.barh(task, end - start, left=start, height=0.6, color=colors(task % 10), alpha=0.7)
        _, marker, color = EVENT_STYLE.get(int(r["event"]), ("", "o", "k"))
        if r.get("fell"):
            marker, color = "X", "tab:red"
        top.plot(end, task, marker, color=color, markersize=8, markeredgewidth=1.5)
        if r.get("manual_reset"):
            top.plot(end, count - 0.4, "v", color="k", markersize=5)
    top.set_yticks(range(count), names)
    top.set_ylim(-0.6, count - 0.2)
    top.invert_yaxis()
    top.set_title(title)
    top.grid(alpha=0.3, axis="x")
    handles = [plt.Line2D([], [], ls="", marker=m, color=c, label=n)
               for n, m, c in EVENT_STYLE.values()]
    handles += [plt.Line2D([], [], ls="", marker="X", color="tab:red", label="fall"),
                plt.Line2D([], [], ls="", marker="v", color="k", label="manual reset")]
    top.legend(handles=handles, loc="upper right", fontsize=7, ncol=5)
    steps = [r["step"] for r in rows]
    for label, key, color in (("successes", "success", "tab:green"),
                              ("falls", "fell", "tab:red"),
                              ("manual resets", "manual_reset", "k")):
        values = [float(int(r["event"]) == 1) if key == "success" else float(r.get(key, 0.0))
                  for r in rows]
        bottom.step(steps, _cumsum(values), where="post", color=color, label=label)
    bottom.set_xlabel("environment steps")
    bottom.set_ylabel("count")
    bottom.grid(alpha=0.3)
    if rows:
        bottom.legend(loc="upper left", fontsize=7)
    return _save(fig, run.path / "task_timeline.png")


def _save(fig: Any, out: Path) -> Path:
    """Lays out, writes and closes a figure; returns where it went."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _cumsum(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


def plot_aprl(run: RunDir, title: str) -> Path:
    """``aprl.png``: APRL's limit L and the surprise score against steps, with every shrink.

    Reads the ``aprl`` rows (L, surprise_max per logged interval) and the ``aprl_shrink``
    rows of a run. Top: mean L over joints, a red triangle per shrink on surprise and a black
    cross per shrink on a fall. Bottom: the surprise z-score (max per interval) and the
    trigger threshold of the run's config (dashed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = read_metrics(run.path / "metrics.jsonl")
    rows = [r for r in metrics if r["kind"] == "aprl"]
    shrinks = [r for r in metrics if r["kind"] == "aprl_shrink"]
    threshold = AprlConfig().surprise_threshold
    if run.config_path.is_file():
        section = (yaml.safe_load(run.config_path.read_text()) or {}).get("aprl") or {}
        threshold = float(section.get("surprise_threshold", threshold))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), dpi=100, sharex=True)
    top.plot([r["step"] for r in rows if "L" in r], [r["L"] for r in rows if "L" in r], "-",
             color="tab:blue", label="limit L (mean over joints)")
    for reason, marker, color, label in ((1, "v", "tab:red", "shrink: surprise"),
                                         (2, "x", "k", "shrink: fall")):
        hits = [r for r in shrinks if int(r.get("reason", 0)) == reason]
        if hits:
            top.plot([r["step"] for r in hits], [r["L_after"] for r in hits], marker,
                     color=color, label=f"{label} ({len(hits)})")
    top.set_ylabel("L")
    top.set_title(title)
    top.grid(alpha=0.3)
    top.legend(loc="lower right", fontsize=7)
    scored = [r for r in rows if "surprise_max" in r]
    bottom.plot([r["step"] for r in scored], [r["surprise_max"] for r in scored], "-",
                color="tab:orange", lw=0.8, label="surprise z (max per interval)")
    bottom.axhline(threshold, ls="--", color="tab:red", lw=0.8, label=f"threshold {threshold}")
    bottom.set_xlabel("environment steps")
    bottom.set_ylabel("surprise z")
    bottom.grid(alpha=0.3)
    bottom.legend(loc="upper right", fontsize=7)
    return _save(fig, run.path / "aprl.png")
