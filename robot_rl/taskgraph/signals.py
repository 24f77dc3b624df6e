"""Deprecated alias of :mod:`robot_rl.taskgraph.signal_names`.

Kept only until ``robot_rl/config/taskgraph.py`` imports ``signal_names``; remove then.
"""

from robot_rl.taskgraph.signal_names import A1_SIGNALS, PANDA_SIGNALS

__all__ = ["A1_SIGNALS", "PANDA_SIGNALS"]
