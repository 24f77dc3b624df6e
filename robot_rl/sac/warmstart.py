"""Start a SAC learner from another checkpoint's networks (``robot-rl train --init``).

:func:`init_from` copies the actor, the critics and (where the learner has them) the target
critics of an ``agent.pt`` — written by ``robot-rl pretrain`` or by ``robot-rl train`` —
into a freshly built learner. Optimizers, counters and the temperature stay fresh (the
config's ``init_temperature``): fine-tuning starts a new run, it does not resume one. A
checkpoint without target critics (CrossQ, or one trained without them) seeds the targets
with its critics. Shapes are checked first: a checkpoint for another robot or other network
sizes is refused with one line saying which sizes the config expects and which it holds.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from robot_rl.errors import ConfigError
from robot_rl.sac.agent import SAC
from robot_rl.sac.device import load_agent_state


def actor_sizes(state: dict[str, torch.Tensor]) -> tuple[int, int, list[int]]:
    """(observation size, action size, hidden widths) of a tanh-Gaussian actor's weights."""
    trunk = sorted((k for k in state if k.startswith("trunk.") and k.endswith(".weight")),
                   key=lambda k: int(k.split(".")[1]))
    hidden = [int(state[k].shape[0]) for k in trunk]
    obs = int(state[trunk[0]].shape[1]) if trunk else int(state["mean.weight"].shape[1])
    return obs, int(state["mean.weight"].shape[0]), hidden


def critic_sizes(state: dict[str, torch.Tensor]) -> tuple[int, int, list[int]]:
    """(critics in the ensemble, input size, hidden widths) of a critic ensemble's weights:
    its linear layers are the ``net.N`` layers whose weight and bias differ in shape."""
    linear = sorted(int(k.split(".")[1]) for k in state
                     if k.startswith("net.") and k.endswith(".weight")
                     and state[k].shape != state[k.replace(".weight", ".bias")].shape)
    weights = [state[f"net.{i}.weight"] for i in linear]
    return (int(weights[0].shape[0]), int(weights[0].shape[1]),
            [int(w.shape[2]) for w in weights[:-1]])


def describe(state: dict[str, Any]) -> str:
    """The sizes a checkpoint's networks are built for, in words (short: errors show it)."""
    obs, act, hidden = actor_sizes(state["actor"])
    critics, _, critic_hidden = critic_sizes(state["critic"])
    return f"observation {obs}, action {act}, actor {hidden}, critics {critics}x{critic_hidden}"


def _mismatch(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> str | None:
    """What keeps ``state`` from loading into ``module`` (None: nothing)."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        return (f"missing {', '.join(missing[:2]) or 'none'}; "
                f"unexpected {', '.join(extra[:2]) or 'none'}")
    for key, value in own.items():
        if tuple(value.shape) != tuple(state[key].shape):
            return f"{key} is {list(state[key].shape)}, expected {list(value.shape)}"
    return None


def read_agent_state(path: Path, device: torch.device) -> dict[str, Any]:
    """An ``agent.pt`` on ``device``, checked to hold an actor and critics.

    Raises:
        ConfigError: the file is missing or is not an agent checkpoint.
    """
    if not path.is_file():
        raise ConfigError(str(path), "--init", "expected an agent.pt, a checkpoint folder or "
                          "a run directory written by robot-rl train or pretrain")
    try:
        state = load_agent_state(path, device)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError,
            zipfile.BadZipFile) as err:
        raise ConfigError(str(path), "--init", f"expected an agent checkpoint (agent.pt "
                          f"written by robot-rl train or pretrain): {err}") from None
    if not (isinstance(state, dict) and isinstance(state.get("actor"), dict)
            and isinstance(state.get("critic"), dict)):
        raise ConfigError(str(path), "--init", "expected an agent checkpoint with actor and "
                          "critic weights (agent.pt written by robot-rl train or pretrain)")
    return state


def init_from(agent: SAC, path: str | Path) -> None:
    """Copy the networks of the ``agent.pt`` at ``path`` into ``agent`` (see module doc).

    Raises:
        ConfigError: the file is not an agent checkpoint, or its networks do not fit the
            config's learner (names the sizes expected and found).
    """
    path = Path(path)
    state = read_agent_state(path, agent.device)
    problems = {"actor": _mismatch(agent.actor, state["actor"]),
                "critic": _mismatch(agent.critic, state["critic"])}
    which = next((k for k, v in problems.items() if v), None)
    if which is not None:
        expected = describe({"actor": agent.actor.state_dict(),
                             "critic": agent.critic.state_dict()})
        try:
            found = describe(state)
        except (KeyError, IndexError):  # pragma: no cover - not a network we wrote
            found = "networks of another kind"
        if found != expected:
            raise ConfigError(str(path), "--init", f"expected {expected} (the config's "
                              f"learner), got {found}")
        raise ConfigError(str(path), "--init", f"expected the {which} layers of learner."
                          f"recipe {agent.cfg.recipe}, got other layers ({problems[which]})")
    if agent.encoder is not None:  # observation.images: the image encoder comes along
        encoder = state.get("encoder")
        if not isinstance(encoder, dict) or _mismatch(agent.encoder, encoder):
            raise ConfigError(str(path), "--init", "expected a checkpoint with an image "
                              "encoder for these observation.images (size and frame_stack)")
        agent.encoder.load_state_dict(encoder)
    agent.actor.load_state_dict(state["actor"])
    agent.critic.load_state_dict(state["critic"])
    if agent.critic_target is not None:
        target = state.get("critic_target")
        if not isinstance(target, dict) or _mismatch(agent.critic_target, target):
            target = state["critic"]
        agent.critic_target.load_state_dict(target)
