"""The APRL actor-loss penalty that teaches the policy to stay inside the limit L.

In the learner's actor loss (``a`` sampled from the policy, in [-1, 1])::

    actor_loss = (alpha * log_prob - q).mean() + actor_penalty(cfg, a, L).mean()

``L`` is the latest limit reported by the actor (per joint, ``[act_dim]``), or per sample
(``[B, act_dim]``) when the replay buffer stores the L in force for each transition.
"""

from __future__ import annotations

import numpy as np
import torch

from robot_rl.aprl.config import AprlConfig


def aprl_penalty(actions: torch.Tensor, L: torch.Tensor | np.ndarray | float,
                 coef: float = 12.0, form: str = "published") -> torch.Tensor:
    """Penalty per sample, shape ``[B]``.

    ``"published"`` (APRL): ``coef * ||a||_1`` when any ``|a_i| > L_i``, else 0. Its gradient
    pulls every dimension toward 0 while any one is outside. ``"hinge"``:
    ``coef * sum_i relu(|a_i| - L_i)``, which is continuous and pulls only the offending
    dimensions back to the boundary.

    Args:
        actions: ``[B, act_dim]`` normalized actions.
        L: scalar, ``[act_dim]`` or ``[B, act_dim]``.
        coef: penalty weight (published 12).
        form: ``"published"`` or ``"hinge"``.
    """
    L_t = torch.as_tensor(L, dtype=actions.dtype, device=actions.device)
    mag = actions.abs()
    if form == "published":
        outside = (mag > L_t).any(dim=-1)
        return coef * mag.sum(dim=-1) * outside.to(actions.dtype)
    if form == "hinge":
        return coef * torch.relu(mag - L_t).sum(dim=-1)
    raise ValueError(f"form must be 'published' or 'hinge', got {form!r}")


def penalty_active(cfg: AprlConfig) -> bool:
    """Whether the actor loss carries the penalty.

    Only in ``"clip"`` mode, where actions beyond L are cut off; in ``"scale"`` mode every
    action in [-1, 1] is reachable, so there is nothing to stay inside. Applies with fixed
    limits (``enabled: false``) too, so the baseline differs only in the schedule.
    """
    return cfg.action_mode == "clip" and cfg.penalty_coef > 0.0


def actor_penalty(cfg: AprlConfig, actions: torch.Tensor,
                  L: torch.Tensor | np.ndarray | float) -> torch.Tensor:
    """:func:`aprl_penalty` with the configured weight and form; zeros when inactive."""
    if not penalty_active(cfg):
        return actions.new_zeros(actions.shape[:-1])
    return aprl_penalty(actions, L, cfg.penalty_coef, cfg.penalty_form)
