"""Where the learner runs and in which precision: ``learner.device`` and ``learner.precision``.

The config holds what the user wrote (``auto``, ``cpu``, ``cuda``, ``cuda:N``; ``auto``,
``fp32``, ``bf16``); this module turns it into what this machine runs, in one place::

    cfg.learner = resolve_learner(cfg.learner, cfg.source)   # session.build, make_learner
    run.write_config(cfg)          # config.yaml records e.g. device: cpu, precision: fp32
    agent = SAC(obs_dim, act_dim, cfg.learner)               # agent.device, agent.precision

Resolving is idempotent (a resolved config resolves to itself), so a run resumed from its
config.yaml trains on the device and in the precision it began with. Actors act on the CPU
whatever the learner's device: weights leave the learner as numpy arrays.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import torch

from robot_rl.config import LearnerConfig
from robot_rl.errors import ConfigError

BF16_CPU_LEARNING_CHECKED = True
"""Whether bf16 was shown to learn as well as fp32 on a CPU with native bf16 matmuls; only
then may ``precision: auto`` pick bf16 on such a CPU.

The check (docs/results/bf16_check.md), on a 2-core AMD EPYC with AVX512-BF16: the Pendulum
learning test (tests/sac/test_sac.py) passes in fp32 and in bf16, and the A1 benchmark
(benchmarks/sample_efficiency.py, DroQ, seeds 0-4, 4,000 steps) gave the same results
within noise: held walking 2/5 in bf16 and 3/5 in fp32, a first crossing in 4/5 and 3/5,
mean straight-line speed over the evaluations from 2,000 steps 0.56 and 0.44 m/s.
"""


def bf16_supported() -> bool:
    """Whether this CPU has native bfloat16 matmuls (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False


def cuda_bf16_supported(device: torch.device) -> bool:
    """Whether the CUDA ``device`` has native bfloat16 matmuls (compute capability >= 8.0)."""
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def resolve_device(value: str, source: str | None = None) -> torch.device:
    """The device ``learner.device`` names on this machine (``auto``: CUDA if torch sees it).

    Raises:
        ConfigError: an unknown value, or a CUDA device this machine does not have (one line
            naming ``source`` and ``learner.device``).
    """
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cpu":
        return torch.device("cpu")
    index = value.removeprefix("cuda:") if value.startswith("cuda:") else None
    if value != "cuda" and not (index is not None and index.isdigit()):
        raise ConfigError(source, "learner.device", f"expected auto, cpu, cuda or cuda:N "
                          f"(N a GPU index), got {value!r}")
    if not torch.cuda.is_available():
        raise ConfigError(source, "learner.device", f"expected auto or cpu: {value} is not "
                          "available here (torch.cuda.is_available() is false)")
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        raise ConfigError(source, "learner.device", f"expected cuda:0 to cuda:{count - 1} "
                          f"(torch sees {count} CUDA device(s)), got {value}")
    return torch.device(value)


def resolve_precision(value: str, device: torch.device) -> Literal["fp32", "bf16"]:
    """``fp32`` or ``bf16``: what ``learner.precision`` means on ``device``.

    ``auto`` is bf16 on a CUDA device with native bf16, and on a CPU with native bf16 only
    once :data:`BF16_CPU_LEARNING_CHECKED`; fp32 elsewhere. ``bf16`` on a device without
    native bf16 warns and gives fp32.
    """
    if value == "fp32":
        return "fp32"
    native = cuda_bf16_supported(device) if device.type == "cuda" else bf16_supported()
    if value == "auto":
        checked = device.type == "cuda" or BF16_CPU_LEARNING_CHECKED
        return "bf16" if native and checked else "fp32"
    if value != "bf16":
        raise ValueError(f"learner.precision: expected auto, fp32 or bf16, got {value!r}")
    if not native:
        what = "this CPU" if device.type == "cpu" else f"{device}"
        warnings.warn(f"learner.precision: bf16: {what} has no native bfloat16 matmuls; "
                      "running in float32", stacklevel=3)
        return "fp32"
    return "bf16"


def resolve_learner(cfg: LearnerConfig, source: str | None = None) -> LearnerConfig:
    """``cfg`` with ``device`` and ``precision`` replaced by what they resolve to here
    (``cpu``, ``cuda``, ``cuda:1``; ``fp32``, ``bf16``): what a run's config.yaml records.

    Raises:
        ConfigError: see :func:`resolve_device`.
    """
    device = resolve_device(cfg.device, source)
    precision = resolve_precision(cfg.precision, device)
    if cfg.device == str(device) and cfg.precision == precision and cfg.bf16 is None:
        return cfg
    # bf16 (the deprecated alias) is folded into precision already: written no more
    return dataclasses.replace(cfg, device=str(device), precision=precision, bf16=None)


def load_agent_state(path: str | Path, device: torch.device | str) -> dict[str, Any]:
    """A checkpoint's ``agent.pt``, its tensors moved to the learner's ``device`` (a
    checkpoint written on a GPU loads on a CPU, and the other way round)."""
    state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    return state


def restore_agent(agent: Any, path: Path, config: str | Path | None) -> None:
    """Resume ``agent`` (a SAC, or an agent wrapping one, with ``device`` and
    ``load_state_dict``) from the ``agent.pt`` at ``path`` of a run whose config is ``config``.

    Raises:
        ConfigError: the checkpoint's networks do not fit the ones ``config`` builds (its
            observation, hidden widths or recipe changed after training), naming the first
            mismatch, instead of torch's multi-line error.
    """
    state = load_agent_state(path, agent.device)
    try:
        agent.load_state_dict(state)
    except (RuntimeError, KeyError) as err:
        raise ConfigError(str(config) if config else None, "<checkpoint>", f"expected "
                          f"{path.parent.name}/{path.name} to fit this config's networks, got "
                          f"{_load_mismatch(err)} (was the config changed after training?)"
                          ) from None


_SIZE_MISMATCH = re.compile(r"size mismatch for (\S+): copying a param with shape "
                            r"torch\.Size\((\[.*?\])\) from checkpoint, the shape in current "
                            r"model is torch\.Size\((\[.*?\])\)")


def _load_mismatch(err: Exception) -> str:
    """The first problem in torch's multi-line ``load_state_dict`` error, short."""
    text = str(err)
    owner = re.search(r"state_dict for (\w+)", text)
    where = f"{owner.group(1)} " if owner else ""
    size = _SIZE_MISMATCH.search(text)
    if size:
        return f"{where}{size.group(1)} of {size.group(2)} where {size.group(3)} is built"
    keys = re.search(r"(Missing|Unexpected) key\(s\) in state_dict: ([^\n]*)", text)
    if keys:
        names = re.findall(r'"([^"]+)"', keys.group(2)) or ["?"]
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        return f"{where}{keys.group(1).lower()} {names[0]}{more}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else repr(err)
