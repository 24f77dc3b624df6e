"""A small CNN success classifier over uint8 frames, and its model folder.

A model folder (``robot-rl reward train --out``) holds two files and nothing pickled:

* ``weights.pt``: the network's plain ``state_dict`` (``torch.save``), read back with
  ``torch.load(weights_only=True)``;
* ``model.json``: ``format``, ``camera``, ``height``, ``width``, ``channels`` (the conv
  widths), ``threshold`` (chosen on held-out frames) and the training ``metrics``.

Usage (what the embedded env does; batch of one, CPU)::

    model = load_model("models/reach")        # a SuccessModel
    p = model.probability(frame)              # frame: (H, W, 3) uint8 -> float in [0, 1]
    success = p > model.threshold
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.config import CameraSpec, RobotConfig
from robot_rl.errors import ConfigError

FORMAT = "robot_rl.reward_model/1"
WEIGHTS = "weights.pt"
META = "model.json"
MAX_META_BYTES = 1 << 20


class SuccessNet(nn.Module):
    """Conv layers (3x3, stride 2, ReLU) -> 4x4 average pool -> MLP -> one logit.

    Takes ``(B, H, W, 3)`` uint8 frames (scaled to [0, 1] inside); the 4x4 pool keeps where
    things are in the frame, which a success check usually depends on.
    """

    def __init__(self, channels: tuple[int, ...] = (16, 32, 32), hidden: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = 3
        for width in channels:
            layers += [nn.Conv2d(prev, width, 3, stride=2, padding=1), nn.ReLU()]
            prev = width
        self.conv = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(prev * 16, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits ``(B,)`` of ``(B, H, W, 3)`` uint8 (or float in [0, 255]) frames."""
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        return self.head(self.conv(x)).squeeze(-1)


class SuccessModel:
    """A trained classifier ready to score frames (eval mode, CPU, no gradients).

    Args:
        net: the trained network.
        camera: the camera whose frames it was trained on.
        size: ``(height, width)`` of those frames.
        threshold: success when the probability is above this.
    """

    def __init__(self, net: SuccessNet, camera: str, size: tuple[int, int],
                 threshold: float) -> None:
        self.net = net.eval()
        self.camera = camera
        self.size = size
        self.threshold = threshold

    def probability(self, frame: np.ndarray) -> float:
        """The success probability of one ``(H, W, 3)`` uint8 frame of the model's size."""
        if frame.shape != (*self.size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.size[1]}x{self.size[0]} uint8 RGB frame of "
                             f"camera {self.camera!r}, got {frame.dtype} {frame.shape}")
        with torch.inference_mode():
            logit = self.net(torch.from_numpy(np.ascontiguousarray(frame))[None])
        return float(torch.sigmoid(logit)[0])

    def probabilities(self, frames: np.ndarray, batch: int = 256) -> np.ndarray:
        """Success probabilities ``(N,)`` of ``(N, H, W, 3)`` uint8 frames."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(frames), batch):
                chunk = torch.from_numpy(np.ascontiguousarray(frames[i:i + batch]))
                out.append(torch.sigmoid(self.net(chunk)).numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def save_model(out: str | os.PathLike[str], net: SuccessNet, camera: str,
               size: tuple[int, int], threshold: float, channels: tuple[int, ...],
               extra: dict[str, Any] | None = None) -> Path:
    """Writes ``weights.pt`` (a plain state dict) and ``model.json`` into folder ``out``
    (created if needed; each file written to a temporary name, then renamed)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    tmp = folder / f".{WEIGHTS}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / WEIGHTS)
    meta = {"format": FORMAT, "camera": camera, "height": int(size[0]), "width": int(size[1]),
            "channels": [int(c) for c in channels], "threshold": float(threshold),
            **_plain(extra or {})}
    tmp = folder / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, folder / META)
    return folder


def _plain(value: Any) -> Any:
    """``value`` with NaN and inf as null (model.json stays strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def load_model(folder: str | os.PathLike[str]) -> SuccessModel:
    """Reads a model folder written by :func:`save_model` (weights with
    ``torch.load(weights_only=True)``: no code from the file runs).

    Raises:
        ConfigError: naming the file and what was expected.
    """
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.is_file():
        raise ConfigError(str(folder), "<folder>", f"expected a reward model folder with "
                          f"{META} and {WEIGHTS} (robot-rl reward train --out)")
    meta = _read_meta(meta_path)
    net = SuccessNet(tuple(meta["channels"]))
    weights = folder / WEIGHTS
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(str(weights), "<file>", "expected the model's weights "
                          "(robot-rl reward train --out)") from None
    except Exception as err:  # unpickling errors come in many types
        raise ConfigError(str(weights), "<file>", f"expected a plain state dict saved by "
                          f"torch.save ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict):
        raise ConfigError(str(weights), "<file>", "expected a state dict (a mapping of "
                          f"tensors), got {type(state).__name__}")
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(str(weights), "<file>", f"expected the weights of a network with "
                          f"channels {meta['channels']} ({first})") from None
    return SuccessModel(net, meta["camera"], (meta["height"], meta["width"]),
                        meta["threshold"])


def _read_meta(path: Path) -> dict[str, Any]:
    name = str(path)
    if path.stat().st_size > MAX_META_BYTES:
        raise ConfigError(name, "<file>", f"expected at most {MAX_META_BYTES} bytes of JSON")
    try:
        meta = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(name, "<file>", f"expected JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ConfigError(name, "format", f"expected {FORMAT!r}")
    for key in ("height", "width"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 512:
            raise ConfigError(name, key, "expected a frame size in [1, 512] px")
    channels = meta.get("channels")
    if (not isinstance(channels, list) or not 1 <= len(channels) <= 6
            or not all(isinstance(c, int) and 1 <= c <= 256 for c in channels)):
        raise ConfigError(name, "channels", "expected 1 to 6 conv widths in [1, 256]")
    threshold = meta.get("threshold")
    if (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)
            or not math.isfinite(threshold) or not 0.0 < threshold < 1.0):
        raise ConfigError(name, "threshold", "expected a probability in (0, 1)")
    if not isinstance(meta.get("camera"), str) or not meta["camera"]:
        raise ConfigError(name, "camera", "expected the camera's name")
    return meta


def resolve_model_path(path: str, config_dir: Path | None) -> Path:
    """``path`` if absolute, else next to the config file, else relative to the working
    directory (as ``learner.prior_data`` is found)."""
    p = Path(path)
    if p.is_absolute():
        return p
    candidates = ([config_dir / p] if config_dir is not None else []) + [Path.cwd() / p]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def reward_camera(cfg: RobotConfig) -> CameraSpec:
    """The camera of ``task.reward_model`` (the config's validation made sure it exists)."""
    assert cfg.task.reward_model is not None
    return next(c for c in cfg.cameras if c.name == cfg.task.reward_model.camera)


def load_reward_model(cfg: RobotConfig) -> SuccessModel:
    """The classifier of ``cfg.task.reward_model``, checked against its camera; the
    section's ``threshold`` (if given) replaces the one chosen in training.

    Raises:
        ConfigError: the folder is missing or malformed, or was trained on another camera
            or frame size.
    """
    spec = cfg.task.reward_model
    assert spec is not None, "the config has no task.reward_model"
    config_dir = Path(cfg.source).parent if cfg.source else None
    folder = resolve_model_path(spec.path, config_dir)
    if not folder.is_dir():
        raise ConfigError(cfg.source, "task.reward_model.path", f"expected a model folder "
                          f"(robot-rl reward train --out), {str(folder)!r} is not one")
    model = load_model(folder)
    cam = reward_camera(cfg)
    if model.camera != cam.name or model.size != (cam.height, cam.width):
        raise ConfigError(cfg.source, "task.reward_model.camera", f"expected the camera the "
                          f"model learned from ({model.camera!r}, {model.size[1]}x"
                          f"{model.size[0]} px), got {cam.name!r} ({cam.width}x{cam.height})")
    if spec.threshold is not None:
        model.threshold = spec.threshold
    return model
