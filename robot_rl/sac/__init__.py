"""Soft Actor-Critic: networks, replay buffer (with RLPD prior data) and the learner."""

from robot_rl.sac.agent import SAC
from robot_rl.sac.buffer import Batch, ReplayBuffer, to_batch
from robot_rl.sac.prior import MixedReplayBuffer, load_transitions, make_replay

__all__ = ["SAC", "Batch", "MixedReplayBuffer", "ReplayBuffer", "load_transitions",
           "make_replay", "to_batch"]
