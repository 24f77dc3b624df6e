"""Robot + task as a Gymnasium environment, built from a robot config.

The embedded trainer and other libraries (Stable-Baselines3 in our benchmarks) train on
exactly this environment. Each step is :class:`~robot_rl.control.ControlStep`'s, the one
control step every mode shares: action -> limit -> safety filter -> command, then reward,
termination (the task's end or a fall) and truncation from the state that follows.

With ``observation.images`` the environment also renders those cameras in-process into each
state it reads (``RobotState.images``, as a camera driver's topics fill them on a robot), and
observations are the control step's dicts ``{"state": vector, "pixels": uint8 frames}``
(:meth:`ControlStep.observation <robot_rl.control.ControlStep.observation>`); without, they
are the vector alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.config import CameraSpec, RobotConfig, load_config
from robot_rl.control import Action, ControlStep
from robot_rl.robot import Robot, RobotState
from robot_rl.spaces import Observation, frame_channels, pixels_shape


class RobotEnv(gym.Env):
    """A simulated robot learning its configured task.

    Args:
        cfg: a robot config, or the path of its YAML file.
        seed: seeds sensor noise and target sampling.
        render_mode: "rgb_array" to allow :meth:`render`.
        robot: the robot to drive (default: the config's robot in PyBullet).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, cfg: RobotConfig | str, seed: int = 0,
                 render_mode: str | None = None, robot: Robot | None = None) -> None:
        self.cfg = load_config(cfg) if isinstance(cfg, str) else cfg
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": int(self.cfg.robot.control_hz)}
        if robot is None:
            from sim_bridge.pybullet_robot import PyBulletRobot  # the sim edge, lazily

            robot = PyBulletRobot(self.cfg, seed=seed)
        self.robot: Any = robot
        self.control = ControlStep(self.cfg, seed)
        self.obs_builder = self.control.obs_builder
        self.safety = self.control.safety
        n = self.cfg.action_dim
        self.action_space: gym.spaces.Box = gym.spaces.Box(-1.0, 1.0, (n,), np.float32)
        state_space = gym.spaces.Box(-np.inf, np.inf, (self.obs_builder.size,), np.float32)
        shape = pixels_shape(self.cfg)
        # a Box, or a Dict {"state": Box, "pixels": uint8 Box} with observation.images
        self.observation_space: Any = state_space if shape is None else gym.spaces.Dict(
            {"state": state_space, "pixels": gym.spaces.Box(0, 255, shape, np.uint8)})
        names = self.cfg.observation.images
        self.frame_channels = frame_channels(self.cfg)  # of one time step of pixels (0: none)
        self._cameras = [next(c for c in self.cfg.cameras if c.name == n) for n in names]
        self._state: RobotState | None = None
        self.manual_resets = 0
        self.reward_camera: CameraSpec | None = None  # task.reward_model's, rendered per step
        if self.cfg.task.reward_model is not None:
            from robot_rl.reward_model.classifier import load_reward_model, reward_camera

            self.control.attach_success_model(load_reward_model(self.cfg))
            self.reward_camera = reward_camera(self.cfg)
        # the cameras rendered into each state read: the policy's, then the reward's
        self._rendered = list(self._cameras)
        if self.reward_camera is not None and self.reward_camera.name not in names:
            self._rendered.append(self.reward_camera)

    @property
    def limit(self) -> np.ndarray | float:
        """The action range factor the control step applies (targets are ``nominal + limit *
        a * action_scale``; APRL sets its ``range_factor``, its limit L is the gate's)."""
        return self.control.limit

    @limit.setter
    def limit(self, value: np.ndarray | float) -> None:
        self.control.limit = value

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.control.seed(seed)
        self.manual_resets += 1
        self._spawn(seed)
        self.control.new_episode()
        return self.control.observation(self.state), {}

    def step(self, action: np.ndarray) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        assert self._state is not None, "call reset() before step()"
        if np.shape(action) != self.action_space.shape:
            raise ValueError(f"expected an action of shape {self.action_space.shape} "
                             f"(robot.action_mode: {self.cfg.robot.action_mode}), got "
                             f"{np.shape(action)}")
        out = self._send(self.control.act(action, self._state, self.robot.now()))
        done = self.control.complete(self.state)
        assert done is not None
        t = done.transition
        info: dict[str, Any] = {**done.info, "fallen": bool(done.info["fallen"]),
                                "safety_hold": out.safety.hold,
                                "safety_clamped": out.safety.clamped, "command": out.command}
        if done.aprl is not None:
            info.update(applied_action=t.action, aprl=done.aprl)
        pixels = self.control.pixels(self.state)  # the stack the step was completed with
        obs: Observation = t.next_obs if pixels is None else {"state": t.next_obs,
                                                              "pixels": pixels}
        return obs, t.reward, t.terminated, t.truncated, info

    def render_frames(self) -> dict[str, np.ndarray]:
        """A frame of each camera of ``observation.images``, rendered now (name -> (H, W, 3)
        uint8)."""
        return {cam.name: self.robot.render_camera(cam) for cam in self._cameras}

    def hold(self, reason: str) -> Action:
        """One control period held at the measured pose (the distributed actor's hold while
        its learner is gone); the episode's pending step, if any, is dropped."""
        self.control.drop()
        return self._send(self.control.hold(reason, self._state, self.robot.now()))

    def _send(self, out: Action) -> Action:
        """Sends the command (if any), lets one control period pass, reads the state."""
        if out.command is not None:
            self.robot.send_command(out.command)
        self.robot.tick()
        self._state = self._with_frame(self.robot.read_state())
        return out

    def _with_frame(self, state: RobotState) -> RobotState:
        """The state with a frame of each camera the policy or the learned reward sees
        (rendered by a simulated robot where the state has none)."""
        render = getattr(self.robot, "render_camera", None)
        images = state.images or {}
        missing = [cam for cam in self._rendered if cam.name not in images]
        if not missing or render is None:
            return state
        return dataclasses.replace(state, images={**images,
                                                  **{cam.name: render(cam) for cam in missing}})

    def _spawn(self, seed: int | None = None) -> None:
        """Teleports the robot to its spawn pose (``seed`` reseeds its sensor noise); the
        next command starts from there."""
        self._state = self._with_frame(self.robot.reset(seed=seed))
        self.safety.restart()

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


def make_env(config: RobotConfig | str, seed: int = 0,
             render_mode: str | None = None) -> RobotEnv:
    """Build the environment for a robot config (object or YAML path)."""
    return RobotEnv(config, seed=seed, render_mode=render_mode)


ENV_ID = "robot_rl/Robot-v0"


def register() -> None:
    """Register ``robot_rl/Robot-v0``: ``gym.make(ENV_ID, cfg="robot_configs/a1.yaml")``."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point="robot_rl.envs.robot_env:RobotEnv")
