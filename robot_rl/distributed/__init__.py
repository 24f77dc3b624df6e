"""Actors and a learner across processes (or threads) over the ZeroMQ transport.

See ``docs/distributed.md``. ``robot-rl learner`` runs :class:`Learner`, ``robot-rl actor``
runs :class:`ActorLoop`; :func:`run_local` runs both as threads on a free localhost port,
:func:`run_realtime` (``robot-rl train --realtime``) one actor paced at the control rate.

Names are imported on first use, so that importing the package (as ``robot-rl --help``
does through :mod:`robot_rl.cli.distributed_cmds`) does not load torch or PyBullet.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "actor_loop": ["ActorEnv", "ActorLoop", "ActorSettings"],
    "learner_loop": ["Learner", "LearnerSettings", "make_learner", "next_incarnation"],
    "local": ["LocalRun", "run_local"],
    "realtime": ["run_realtime", "train_realtime"],
    "sources": ["SourceTags", "read_sources"],
    "weights": ["ActorPolicy", "PolicySpec", "Weights", "WeightsError", "pack_weights",
                "policy_spec", "unpack_weights"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
