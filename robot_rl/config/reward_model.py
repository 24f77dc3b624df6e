"""The ``task.reward_model:`` section: a learned success classifier as the task's reward.

The classifier (``robot-rl reward train``, docs/reward_model.md) scores one camera's frame
after every step; a probability above the threshold pays ``reward`` and, with ``terminate``,
ends the episode as a success. The sim's own reward and success are still computed and
reported next to the learned ones (``info["success"]``, ``info["learned_success"]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robot_rl.config.loader import Fail, short


@dataclass
class RewardModelSpec:
    """A learned success reward (sparse): ``reward`` when the classifier says success."""

    path: str  # model folder written by `robot-rl reward train --out` (absolute, or
    # relative to the config file, else to the working directory)
    camera: str  # the camera (a cameras[].name) whose frames the classifier scores
    threshold: float | None = None  # success when the probability is above this (0..1);
    # null: the threshold chosen on held-out frames when the model was trained (model.json)
    reward: float = 1.0  # reward of a step judged a success (any other step pays 0)
    terminate: bool = True  # a step judged a success ends the episode (terminated)

    def validate(self, fail: Fail) -> None:
        if not self.path.strip():
            fail("path", "expected the folder of a model written by robot-rl reward train")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            fail("threshold", f"expected a probability in (0, 1) or null, got "
                 f"{short(self.threshold)}")
        if not math.isfinite(self.reward):
            fail("reward", "expected a finite number")
