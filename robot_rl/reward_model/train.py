"""Training the success classifier: held-out split, random shifts, class-balanced loss.

Usage (what ``robot-rl reward train`` does)::

    frames = [load_frames(p) for p in paths]
    result = train_classifier(frames, epochs=20, val_fraction=0.2, seed=0)
    save_model(out, result.net, ...)          # result.report: precision, recall, threshold

Held-out frames are whole episodes when every file has ``episode`` ids (neighbouring frames
of one episode are near copies: a random frame split would flatter the classifier), else a
seeded random share of the frames. The loss weighs the positives by ``negatives /
positives`` of the training frames, so rare successes count as much as the failures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from robot_rl.errors import ConfigError
from robot_rl.reward_model.classifier import SuccessModel, SuccessNet
from robot_rl.reward_model.frames import LabelledFrames

CHANNELS = (16, 32, 32)


class Split(NamedTuple):
    """Frame indices for training and for held-out validation, and how they were drawn."""

    train: np.ndarray
    val: np.ndarray
    by: str  # "episode" or "frame"


class Trained(NamedTuple):
    """A trained network, the threshold chosen on held-out frames, and the report."""

    net: SuccessNet
    threshold: float
    report: dict[str, Any]


def split_frames(frames: Sequence[LabelledFrames], val_fraction: float, seed: int) -> Split:
    """Indices into the concatenated frames: held-out whole episodes when every file has
    episode ids, else a seeded random frame split.

    Episodes with a success frame and episodes without are held out separately (each group
    keeps at least one episode for training), so both sides see both labels where the
    episodes allow it.
    """
    rng = np.random.default_rng(seed)
    labels = np.concatenate([f.success for f in frames]).astype(bool)
    n = len(labels)
    if all(f.episode is not None for f in frames):
        groups = np.concatenate([f.episode * len(frames) + i  # type: ignore[operator]
                                 for i, f in enumerate(frames)])
        ids = np.unique(groups)
        if len(ids) >= 2:
            hit = np.isin(ids, np.unique(groups[labels]))
            held: list[np.ndarray] = []
            for part in (ids[hit], ids[~hit]):
                k = min(len(part) - 1, int(round(val_fraction * len(part))))
                if k > 0:
                    held.append(rng.choice(part, size=k, replace=False))
            if not held:  # one episode per group: hold out one of all of them
                held.append(rng.choice(ids, size=1))
            mask = np.isin(groups, np.concatenate(held))
            return Split(np.flatnonzero(~mask), np.flatnonzero(mask), "episode")
    order = rng.permutation(n)
    k = min(n - 1, max(1, int(round(val_fraction * n))))
    return Split(np.sort(order[k:]), np.sort(order[:k]), "frame")


def random_shift(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """DrQ-style augmentation of ``(B, H, W, C)`` frames: pad ``pad`` px by repeating the
    edge, cut a window of the original size at a random offset per frame."""
    if pad <= 0:
        return x
    b, h, w, _ = x.shape
    padded = F.pad(x.permute(0, 3, 1, 2).float(), (pad, pad, pad, pad), mode="replicate")
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    out = torch.stack([padded[i, :, int(dy[i]):int(dy[i]) + h, int(dx[i]):int(dx[i]) + w]
                       for i in range(b)])
    return out.permute(0, 2, 3, 1)


def metrics(prob: np.ndarray, label: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall, accuracy and counts of ``prob > threshold`` against ``label``
    (precision is NaN with no predicted positive, recall NaN with no actual positive)."""
    pred = prob > threshold
    tp = int(np.sum(pred & label))
    fp = int(np.sum(pred & ~label))
    fn = int(np.sum(~pred & label))
    tn = int(np.sum(~pred & ~label))
    return {"precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "accuracy": (tp + tn) / max(1, len(label)), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def choose_threshold(prob: np.ndarray, label: np.ndarray) -> float:
    """The threshold in 0.05..0.95 with the best F1 on these frames (ties: nearest 0.5;
    0.5 when they hold no positive)."""
    if not label.any():
        return 0.5
    best, best_key = 0.5, (-1.0, 0.0)
    for t in np.round(np.arange(0.05, 0.951, 0.05), 2):
        m = metrics(prob, label, float(t))
        p, r = m["precision"], m["recall"]
        f1 = 0.0 if not (p + r) or np.isnan(p) else 2 * p * r / (p + r)
        key = (f1, -abs(float(t) - 0.5))
        if key > best_key:
            best, best_key = float(t), key
    return best


def train_classifier(frames: Sequence[LabelledFrames], epochs: int = 20,
                     val_fraction: float = 0.2, seed: int = 0, batch_size: int = 64,
                     lr: float = 1e-3, shift: int | None = None,
                     log: Callable[[str], None] | None = None) -> Trained:
    """Trains a :class:`SuccessNet` on the frames and scores it on held-out frames.

    Args:
        frames: labelled frames of one camera, all of one size.
        epochs: passes over the training frames.
        val_fraction: share of episodes (or frames) held out.
        seed: seeds the split, the initial weights, the batches and the shifts.
        batch_size: frames per gradient step.
        lr: Adam learning rate.
        shift: random-shift padding (px); None: 4 px per 84 px of the frame's height.
        log: called with one line per epoch.

    Raises:
        ConfigError: frames of different cameras or sizes, or a training split without
            both labels.
    """
    first = frames[0]
    for f in frames[1:]:
        if f.camera != first.camera or f.images.shape[1:] != first.images.shape[1:]:
            raise ConfigError("<frames>", "images", f"expected frames of one camera and size "
                              f"({first.camera!r}, {list(first.images.shape[1:3])}), got "
                              f"{f.camera!r}, {list(f.images.shape[1:3])}")
    images = np.concatenate([f.images for f in frames])
    labels = np.concatenate([f.success for f in frames]).astype(bool)
    split = split_frames(frames, val_fraction, seed)
    y_train = labels[split.train]
    pos, neg = int(y_train.sum()), int((~y_train).sum())
    if pos == 0 or neg == 0:
        raise ConfigError("<frames>", "success", f"expected both success and failure frames "
                          f"to train on, got {pos} successes and {neg} failures")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    h, w = images.shape[1:3]
    pad = max(1, round(4 * h / 84)) if shift is None else shift
    net = SuccessNet(CHANNELS)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    pos_weight = torch.tensor(neg / pos)
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(labels.astype(np.float32))
    model = SuccessModel(net, first.camera, (h, w), 0.5)
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(split.train)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = torch.from_numpy(order[i:i + batch_size])
            x = random_shift(x_all[idx], pad, gen)
            loss = F.binary_cross_entropy_with_logits(net(x), y_all[idx],
                                                      pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if log is not None:
            net.eval()
            m = metrics(model.probabilities(images[split.val]), labels[split.val], 0.5)
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(order):.4f}, held-out "
                f"precision {m['precision']:.3f} recall {m['recall']:.3f}")
    net.eval()
    prob = model.probabilities(images[split.val])
    y_val = labels[split.val]
    threshold = choose_threshold(prob, y_val)
    report = {
        "frames": int(len(labels)), "train_frames": int(len(split.train)),
        "val_frames": int(len(split.val)), "split_by": split.by,
        "train_positives": pos, "val_positives": int(y_val.sum()),
        "epochs": epochs, "seed": seed, "shift_px": pad,
        "val_at_0.5": metrics(prob, y_val, 0.5),
        "val_at_threshold": metrics(prob, y_val, threshold),
    }
    return Trained(net, threshold, report)
