"""Soft Actor-Critic: networks, replay buffer and the learner."""

from robot_rl.sac.agent import SAC
from robot_rl.sac.buffer import Batch, ReplayBuffer, to_batch

__all__ = ["SAC", "Batch", "ReplayBuffer", "to_batch"]
