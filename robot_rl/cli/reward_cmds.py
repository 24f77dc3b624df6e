"""``robot-rl reward collect`` and ``robot-rl reward train`` (the work is in
:mod:`robot_rl.reward_collect` and :mod:`robot_rl.reward_model`; docs/reward_model.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from robot_rl.errors import ConfigError


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_collect(args: argparse.Namespace) -> None:
    """Mistakes of ``reward collect`` found before PyBullet and torch are imported."""
    from robot_rl.config import load_config

    cfg = load_config(args.config, warn=False)
    if not cfg.cameras:
        raise ConfigError(args.config, "cameras", "expected at least one camera to record "
                          "(docs/configs.md)")
    names = [c.name for c in cfg.cameras]
    if args.camera is not None and args.camera not in names:
        raise ConfigError("<command line>", "--camera", f"expected one of the config's "
                          f"cameras ({', '.join(names)}), got {args.camera!r}")
    if cfg.task.kind != "reach":
        raise ConfigError(args.config, "task.kind", "expected reach: frames are labelled "
                          "with the task's success predicate, and walk has none")
    out = Path(args.out)
    if out.suffix.lower() != ".npz" or out.is_dir():
        raise ConfigError("<command line>", "--out", f"expected a path ending in .npz, got "
                          f"{args.out!r}")
    if not out.parent.is_dir():
        raise ConfigError("<command line>", "--out", f"expected an existing folder for it, "
                          f"{str(out.parent)!r} is none")


def cmd_collect(args: argparse.Namespace) -> int:
    from robot_rl.reward_collect import collect_frames

    summary = collect_frames(args.config, args.episodes, args.out, seed=args.seed,
                             camera=args.camera, drive_fraction=args.drive_fraction,
                             log=None if args.quiet else _log)
    print(json.dumps(summary))
    return 0


def check_train(args: argparse.Namespace) -> None:
    """Mistakes of ``reward train`` found before torch is imported."""
    for path in args.frames:
        if not Path(path).is_file():
            raise ConfigError(path, "<file>", "expected an existing .npz of labelled frames "
                              "(robot-rl reward collect)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError("<command line>", "--out", f"expected a folder for the model, "
                          f"{args.out!r} is a file")


def cmd_train(args: argparse.Namespace) -> int:
    from robot_rl.reward_model.classifier import SuccessModel, save_model
    from robot_rl.reward_model.frames import load_frames
    from robot_rl.reward_model.train import CHANNELS, train_classifier

    frames = [load_frames(p) for p in args.frames]
    first = frames[0]
    for path, f in zip(args.frames[1:], frames[1:], strict=True):
        if f.camera != first.camera or f.images.shape[1:] != first.images.shape[1:]:
            raise ConfigError(path, "images", f"expected frames of {args.frames[0]}'s camera "
                              f"and size ({first.camera!r}, {first.images.shape[2]}x"
                              f"{first.images.shape[1]}), got {f.camera!r}, "
                              f"{f.images.shape[2]}x{f.images.shape[1]}")
    result = train_classifier(frames, epochs=args.epochs, val_fraction=args.val_fraction,
                              seed=args.seed, log=None if args.quiet else _log)
    size = (int(first.images.shape[1]), int(first.images.shape[2]))
    model = SuccessModel(result.net, first.camera, size, result.threshold)
    frame = first.images[0]
    model.probability(frame)  # warm-up
    start, n = time.perf_counter(), 200
    for _ in range(n):
        model.probability(frame)
    ms = (time.perf_counter() - start) / n * 1000.0
    report = {**result.report, "threshold": result.threshold,
              "ms_per_frame": round(ms, 3), "trained_on": [str(p) for p in args.frames]}
    save_model(args.out, result.net, first.camera, size, result.threshold, CHANNELS,
               {"metrics": report})
    at = report["val_at_threshold"]
    half = report["val_at_0.5"]
    _log(f"held-out: {report['val_frames']} frames ({report['val_positives']} successes, "
         f"split by {report['split_by']}): precision {at['precision']:.3f} recall "
         f"{at['recall']:.3f} at threshold {result.threshold:g} (at 0.5: precision "
         f"{half['precision']:.3f} recall {half['recall']:.3f}); {ms:.2f} ms per frame (CPU, "
         f"batch of 1); model in {args.out}")
    keys = ("frames", "val_frames", "split_by", "threshold", "val_at_threshold",
            "val_at_0.5", "ms_per_frame")
    print(json.dumps(_nulls({k: report[k] for k in keys})))
    return 0


def _nulls(value: Any) -> Any:
    """``value`` with NaN (no predicted or no actual positive) as null: strict JSON."""
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value
