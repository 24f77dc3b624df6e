"""Soft Actor-Critic: networks, replay buffers (RLPD prior data, multi-task) and the learner."""

from robot_rl.sac.agent import SAC
from robot_rl.sac.buffer import Batch, ReplayBuffer, to_batch
from robot_rl.sac.multitask import MultiTaskReplayBuffer
from robot_rl.sac.pixel_buffer import PixelReplayBuffer
from robot_rl.sac.prior import (
    MixedReplayBuffer,
    PixelMixedReplayBuffer,
    load_transitions,
    make_pixel_replay,
    make_replay,
)

__all__ = ["SAC", "Batch", "MixedReplayBuffer", "MultiTaskReplayBuffer",
           "PixelMixedReplayBuffer", "PixelReplayBuffer", "ReplayBuffer", "load_transitions",
           "make_pixel_replay", "make_replay", "to_batch"]
