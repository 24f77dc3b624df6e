"""Robots plus tasks as Gymnasium environments."""

from robot_rl.envs.robot_env import ENV_ID, RobotEnv, make_env, register

__all__ = ["ENV_ID", "RobotEnv", "make_env", "register"]
