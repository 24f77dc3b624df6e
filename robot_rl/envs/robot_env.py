"""Robot + task as a Gymnasium environment, built from a robot config.

The embedded trainer and other libraries (Stable-Baselines3 in our benchmarks) train on
exactly this environment. Every command passes the safety filter.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.config import RobotConfig, load_config
from robot_rl.envs.spaces import ActionMapper, ObservationBuilder
from robot_rl.rewards import reach_reward, walk_reward
from robot_rl.robot import RobotState, quat_to_rpy
from robot_rl.safety import SafetyFilter


class RobotEnv(gym.Env):
    """A simulated robot learning its configured task.

    Args:
        cfg: a robot config, or the path of its YAML file.
        seed: seeds sensor noise and target sampling.
        render_mode: "rgb_array" to allow :meth:`render`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, cfg: RobotConfig | str, seed: int = 0,
                 render_mode: str | None = None) -> None:
        from sim_bridge.pybullet_robot import PyBulletRobot  # the sim edge, loaded lazily

        self.cfg = load_config(cfg) if isinstance(cfg, str) else cfg
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": int(self.cfg.robot.control_hz)}
        self.robot = PyBulletRobot(self.cfg, seed=seed)
        self.obs_builder = ObservationBuilder(self.cfg)
        self.mapper = ActionMapper(self.cfg)
        self.safety = SafetyFilter.from_config(self.cfg)
        n = self.cfg.n_joints
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.obs_builder.size,),
                                                np.float32)
        self._rng = np.random.default_rng(seed)
        self._prev_action = np.zeros(n, dtype=np.float32)
        self._target: np.ndarray | None = None
        self._state: RobotState | None = None
        self._steps = 0
        self._start_yaw = 0.0  # heading at the episode's start (walk direction "start")
        self.manual_resets = 0
        self.limit: np.ndarray | float = 1.0  # adaptive action limit (APRL); 1 = full range

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.manual_resets += 1
        self._state = self.robot.reset()
        self.safety.reset(self._state.joint_position)
        self._start_yaw = float(quat_to_rpy(self._state.imu_orientation)[2])
        self._prev_action[:] = 0.0
        self._steps = 0
        if self.cfg.task.kind == "reach":
            reach = self.cfg.task.reach
            self._target = self._rng.uniform(reach.target_low, reach.target_high)
        return self._observe(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self._state is not None, "call reset() before step()"
        action = np.asarray(action, dtype=np.float32)
        targets = self.mapper(action, self.limit)
        command, safety = self.safety.filter(targets, self._state, self.robot.now())
        self.robot.send_command(command)
        self.robot.tick()
        self._state = self.robot.read_state()
        self._steps += 1
        clean_action = np.clip(np.nan_to_num(action), -1.0, 1.0)
        reward, terminated, info = self._reward(clean_action)
        self._prev_action = clean_action.astype(np.float32)
        fallen = self.robot.fallen()
        terminated = terminated or fallen
        truncated = (not terminated) and self._steps >= self.cfg.task.episode_steps
        info.update(fallen=fallen, safety_hold=safety.hold, safety_clamped=safety.clamped,
                    command=command)
        return self._observe(), reward, terminated, truncated, info

    def render(self) -> np.ndarray:
        return self.robot.render()

    def close(self) -> None:
        self.robot.close()

    # ------------------------------------------------------------------ helpers
    @property
    def state(self) -> RobotState:
        """The latest state (after reset/step)."""
        assert self._state is not None
        return self._state

    def _observe(self) -> np.ndarray:
        assert self._state is not None
        return self.obs_builder.build(self._state, self._prev_action, self._target)

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        assert self._state is not None
        if self.cfg.task.kind == "walk":
            return walk_reward(self._state, self.cfg.task.walk, self._start_yaw)
        assert self._target is not None
        return reach_reward(self._state, self._target, action, self.cfg.task.reach)


def make_env(config: RobotConfig | str, seed: int = 0,
             render_mode: str | None = None) -> RobotEnv:
    """Build the environment for a robot config (object or YAML path)."""
    return RobotEnv(config, seed=seed, render_mode=render_mode)


ENV_ID = "robot_rl/Robot-v0"


def register() -> None:
    """Register ``robot_rl/Robot-v0``: ``gym.make(ENV_ID, cfg="robot_configs/a1.yaml")``."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point="robot_rl.envs.robot_env:RobotEnv")
