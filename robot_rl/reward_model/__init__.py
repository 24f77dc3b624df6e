"""A learned reward: a CNN success classifier over one camera's frames (docs/reward_model.md).

:mod:`~robot_rl.reward_model.frames` is the labelled-frames format (numpy only);
:mod:`~robot_rl.reward_model.classifier` the network and its model folder;
:mod:`~robot_rl.reward_model.train` the training with a held-out split.
"""
