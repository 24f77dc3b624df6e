"""The robot config schema: nested dataclasses with defaults, one comment per field.

A robot is added by writing a YAML file (see ``robot_configs/``), not code. Every section
below maps to a top-level key of that file; values not given take these defaults.
"""

from __future__ import annotations

import difflib
import logging
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from robot_rl.aprl.settings import AprlSection, AprlSettings
from robot_rl.config.cameras import (
    MAX_RENDER_SIDE,
    MIN_POLICY_IMAGE_SIDE,
    CameraSpec,
    check_cameras,
)
from robot_rl.config.loader import Fail, short
from robot_rl.config.reward_model import RewardModelSpec
from robot_rl.config.taskgraph import (
    TaskGraphSection,
    TaskGraphSettings,
    parse_task_graph_section,
)
from robot_rl.errors import ConfigError
from robot_rl.taskgraph.predicate import Predicate, PredicateError
from robot_rl.taskgraph.signal_names import PUSH_SIGNALS

OBS_SIGNALS = (
    "joint_position",  # n joint angles relative to the nominal pose (rad)
    "joint_velocity",  # n joint velocities (rad/s), scaled by 0.1
    "imu_orientation",  # roll, pitch from the IMU quaternion (rad)
    "imu_angular_velocity",  # body-frame angular rate (rad/s), scaled by 0.25
    "heading",  # sin, cos of the IMU yaw relative to the episode's start (turning away)
    "gait_phase",  # sin, cos of a clock at observation.phase_hz, started with the episode
    "projected_gravity",  # gravity direction in the body frame (unit vector)
    "previous_action",  # the last normalized action in [-1, 1]
    "foot_contacts",  # 1.0 per foot touching the ground (legged robots)
    "ee_position",  # end-effector position (m, world frame; arms)
    "target_delta",  # target minus end-effector position (m; reaching)
    "base_linear_velocity",  # PRIVILEGED: true base velocity, body frame; sim only
    # PRIVILEGED (push): block centre minus end effector (x, y, z) and goal minus block
    # (x, y), m; sim only: a diagnostic of the push task without a camera (docs/pixels.md)
    "block_delta",
)
PRIVILEGED_SIGNALS = ("base_linear_velocity", "block_delta")


def _per_joint(fail: Fail, key: str, values: list[float] | None, n: int) -> None:
    if values is not None and len(values) != n:
        fail(key, f"expected a list of {n} numbers (one per joint), got {len(values)}")


PER_JOINT = {"per_joint": True}
"""Field metadata of a list with one value per joint (the loader names that when given a
single number)."""
LIMIT_KEYS = ("position_lower", "position_upper", "velocity_limit", "effort_limit")
"""Per-joint limits: given in the config, or taken from the URDF where left out."""


@dataclass
class RobotSpec:
    """The robot's body: URDF, joints, hard limits and low-level control."""

    urdf: str  # URDF path: absolute, relative to the config file, or inside pybullet_data
    joints: list[str]  # actuated joint names (as in the URDF), in command order
    # nominal pose (rad), one per joint; actions move around it
    nominal: list[float] = field(metadata=PER_JOINT)
    # half-range around nominal reached at action +/-1 (rad), one per joint
    action_scale: list[float] = field(metadata=PER_JOINT)
    # absolute: target = nominal + a * action_scale (a pose per action); delta: target =
    # measured position + a * action_scale (a step from where the joints are, per control
    # step: a policy learns a local feedback law instead of a global map to poses);
    # ee_delta (arms): three numbers per step, the end effector's move in the world frame
    # (a * ee_step), turned into joint targets by inverse kinematics (docs/configs.md)
    action_mode: Literal["absolute", "delta", "ee_delta"] = "absolute"
    # ee_delta only: the end effector's move per control step at |a| = 1 (m, per axis)
    ee_step: float = 0.03
    # ee_delta only (required then): the box the end effector's target is kept in, its
    # lower and upper corner [x, y, z] (m, world frame)
    ee_low: list[float] | None = None
    ee_high: list[float] | None = None
    # ee_delta only: the end effector's orientation held by the inverse kinematics,
    # [roll, pitch, yaw] (rad, as base_orientation) or a quaternion [x, y, z, w];
    # null: free (position only)
    ee_orientation: list[float] | None = None
    # Hard limits per joint; left out (or null): the URDF's <limit> of each joint. A value
    # beyond the URDF's is allowed with a warning (docs/configs.md); a limit found neither
    # here nor in the URDF is an error. The loader fills them in: after load_config they
    # are always lists.
    # hard lower and upper position limit per joint (rad)
    position_lower: list[float] | None = field(default=None, metadata=PER_JOINT)
    position_upper: list[float] | None = field(default=None, metadata=PER_JOINT)
    # max joint speed (rad/s) and torque (N*m) per joint
    velocity_limit: list[float] | None = field(default=None, metadata=PER_JOINT)
    effort_limit: list[float] | None = field(default=None, metadata=PER_JOINT)
    kind: Literal["legged", "arm"] = "legged"  # legged robots fall; arms are fixed-base
    kp: float | list[float] = 60.0  # PD stiffness (N*m/rad), scalar or per joint
    kd: float | list[float] = 2.0  # PD damping (N*m*s/rad), scalar or per joint
    control_hz: float = 20.0  # policy / command rate (Hz)
    base_position: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.3])  # spawn (m)
    # spawn orientation of the base in the world: [roll, pitch, yaw] (rad, rotations about
    # the fixed x, y, z axes in that order) or a quaternion [x, y, z, w]; e.g. [1.5708, 0, 0]
    # stands a Y-up URDF upright in PyBullet's Z-up world
    base_orientation: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    # weld the base to the world; left out (null): true for an arm, false for a legged robot
    # (an arm whose base is free topples over in the simulator)
    fixed_base: bool | None = None
    foot_links: list[str] = field(default_factory=list)  # links whose contacts are reported
    end_effector_link: str | None = None  # link whose position is the end effector (arms)

    def __post_init__(self) -> None:
        if self.fixed_base is None:  # the kind's default, resolved once (config.yaml has it)
            self.fixed_base = self.kind == "arm"

    def validate(self, fail: Fail) -> None:
        n = len(self.joints)
        if n == 0:
            fail("joints", "expected at least one joint name")
        if len(set(self.joints)) != n:
            fail("joints", "expected unique joint names, found a duplicate")
        for i, link in enumerate(self.foot_links):
            if link in self.foot_links[:i]:
                fail(f"foot_links[{i}]", f"expected each link once, {link!r} is listed twice")
        if not self.urdf.strip():
            fail("urdf", "expected the path of a URDF file")
        for key in ("nominal", *LIMIT_KEYS, "action_scale"):
            _per_joint(fail, key, getattr(self, key), n)
        for key in ("kp", "kd"):
            value = getattr(self, key)
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list):
                _per_joint(fail, key, value, n)
            if any(v < 0 for v in values):
                fail(key, "expected gains >= 0")
        if (self.position_lower is None) != (self.position_upper is None):
            given = "position_lower" if self.position_upper is None else "position_upper"
            other = "position_upper" if given == "position_lower" else "position_lower"
            fail(other, f"expected a list next to {given} (or leave both out: the URDF's)")
        if self.position_lower is not None and self.position_upper is not None:
            for i, (lo, hi, q0) in enumerate(zip(self.position_lower, self.position_upper,
                                                 self.nominal, strict=False)):
                if not lo < hi:
                    fail(f"position_upper[{i}]",
                         f"expected a value above position_lower ({lo})")
                if not lo <= q0 <= hi:
                    fail(f"nominal[{i}]", f"expected a value within [{lo}, {hi}], got {q0}")
        for key in ("velocity_limit", "effort_limit"):
            if any(v <= 0 for v in getattr(self, key) or ()):
                fail(key, "expected positive limits")
        if any(v < 0 for v in self.action_scale):
            fail("action_scale", "expected values >= 0")
        if self.action_scale and not any(v > 0 for v in self.action_scale):
            fail("action_scale", "expected at least one value > 0 (all zero: no joint can "
                 "move, and the safety filter's tracking bound is 0)")
        if not 0 < self.control_hz <= 1000:
            fail("control_hz", f"expected a rate in (0, 1000] Hz, got {self.control_hz}")
        if len(self.base_position) != 3:
            fail("base_position", "expected [x, y, z]")
        if len(self.base_orientation) not in (3, 4):
            fail("base_orientation", "expected [roll, pitch, yaw] (rad) or a quaternion "
                 f"[x, y, z, w], got {len(self.base_orientation)} numbers")
        if len(self.base_orientation) == 4 and not 1e-6 < math.hypot(*self.base_orientation):
            fail("base_orientation", "expected a quaternion [x, y, z, w] of non-zero length")
        if self.kind == "arm" and not self.end_effector_link:
            fail("end_effector_link", "expected a link name for an arm")
        if self.action_mode not in ("absolute", "delta", "ee_delta"):
            fail("action_mode", f"expected absolute, delta or ee_delta, got "
                 f"{self.action_mode!r}")
        self._check_ee(fail)

    def _check_ee(self, fail: Fail) -> None:
        """The ``ee_delta`` keys: an arm, a step, a box, an orientation."""
        if self.action_mode != "ee_delta":
            return
        if self.kind != "arm":
            fail("action_mode", "expected absolute or delta for a legged robot (ee_delta "
                 "moves an arm's end effector: robot.kind: arm)")
        if not (math.isfinite(self.ee_step) and 0 < self.ee_step <= 0.2):
            fail("ee_step", f"expected a move per control step in (0, 0.2] m, got "
                 f"{self.ee_step}")
        for key in ("ee_low", "ee_high"):
            value = getattr(self, key)
            if value is None:
                fail(key, "expected [x, y, z] (m, world frame) with action_mode: ee_delta: "
                     "the box the end effector is kept in")
            elif len(value) != 3 or not all(math.isfinite(v) for v in value):
                fail(key, f"expected [x, y, z]: 3 finite numbers (m), got {short(value)}")
        assert self.ee_low is not None and self.ee_high is not None
        for axis, lo, hi in zip("xyz", self.ee_low, self.ee_high, strict=True):
            if not lo < hi:
                fail("ee_high", f"expected each value above ee_low's ({axis}: {lo} is not "
                     f"below {hi})")
        orient = self.ee_orientation
        if orient is not None and (len(orient) not in (3, 4)
                                   or not all(math.isfinite(v) for v in orient)
                                   or (len(orient) == 4 and not 1e-6 < math.hypot(*orient))):
            fail("ee_orientation", "expected [roll, pitch, yaw] (rad), a quaternion "
                 f"[x, y, z, w] of non-zero length, or null (free), got {short(orient)}")

    def base_quaternion(self) -> tuple[float, float, float, float]:
        """The spawn orientation as a unit quaternion ``(x, y, z, w)`` (PyBullet's order;
        from ``[roll, pitch, yaw]`` exactly as ``pybullet.getQuaternionFromEuler``)."""
        return _quaternion(self.base_orientation)

    def ee_quaternion(self) -> tuple[float, float, float, float] | None:
        """``ee_orientation`` as a unit quaternion ``(x, y, z, w)``; None: free."""
        return None if self.ee_orientation is None else _quaternion(self.ee_orientation)


def _quaternion(orientation: list[float]) -> tuple[float, float, float, float]:
    """``[roll, pitch, yaw]`` (rad) or ``[x, y, z, w]`` as a unit quaternion ``(x, y, z, w)``."""
    if len(orientation) == 4:
        x, y, z, w = orientation
        norm = math.sqrt(x * x + y * y + z * z + w * w)
        return (x / norm, y / norm, z / norm, w / norm)
    roll, pitch, yaw = (0.5 * a for a in orientation)
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)


MAX_FRAME_STACK = 8
"""Most frames per camera in ``observation.frame_stack``."""


@dataclass
class ObservationSpec:
    """What the policy sees, in order."""

    signals: list[str] = field(
        default_factory=lambda: ["joint_position", "joint_velocity", "previous_action"]
    )  # names from OBS_SIGNALS
    allow_privileged: bool = False  # permit sim-only signals (e.g. base_linear_velocity)
    phase_hz: float = 2.0  # the gait_phase clock's frequency (Hz): one gait cycle per period
    # names of `cameras:` the policy also sees (embedded `robot-rl train` only; docs/learner.md
    # "Learning from pixels"); []: the observation vector alone
    images: list[str] = field(default_factory=list)
    frame_stack: int = 1  # the last k frames of each of those cameras (1..8)

    def validate(self, fail: Fail) -> None:
        if not self.signals:
            fail("signals", "expected at least one observation signal")
        if not 1 <= self.frame_stack <= MAX_FRAME_STACK:
            fail("frame_stack", f"expected a number of frames in [1, {MAX_FRAME_STACK}], "
                 f"got {self.frame_stack}")
        if self.frame_stack > 1 and not self.images:
            fail("frame_stack", "expected 1 without observation.images (it stacks camera "
                 "frames)")
        if len(set(self.images)) != len(self.images):
            fail("images", "expected each camera at most once")
        if not 0 < self.phase_hz <= 10:
            fail("phase_hz", f"expected a frequency in (0, 10] Hz, got {self.phase_hz}")
        for i, name in enumerate(self.signals):
            if name not in OBS_SIGNALS:
                close = difflib.get_close_matches(str(name), OBS_SIGNALS, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                fail(f"signals[{i}]", f"expected an observation signal, got {short(name)}"
                     f"{hint}; one of {', '.join(OBS_SIGNALS)}")
            if name in PRIVILEGED_SIGNALS and not self.allow_privileged:
                fail(f"signals[{i}]", f"{name!r} is sim-only; set allow_privileged: true")
        if len(set(self.signals)) != len(self.signals):
            fail("signals", "expected each signal at most once")


WALK_DIRECTIONS = ("heading", "start")


@dataclass
class WalkTask:
    """Walking as in "A Walk in the Park": track forward speed in a band, little yaw."""

    velocity_low: float = 0.5  # lower edge of the rewarded forward-speed band (m/s)
    velocity_high: float = 1.0  # upper edge of the band (m/s)
    margin: float = 1.0  # linear tolerance margin below the band (m/s)
    yaw_rate_weight: float = 0.1  # penalty per rad/s of yaw rate
    scale: float = 10.0  # overall reward scale
    max_tilt_deg: float = 30.0  # episode ends when |roll| or |pitch| exceeds this
    # which velocity the band rewards: "heading" = along the body's current heading (what a
    # robot's state estimator gives; as in the paper), "start" = along the direction the body
    # faced when the episode began (needs world-frame velocity: simulation or motion capture).
    # A robot running in circles scores high on "heading" and about zero on "start".
    direction: str = "heading"

    def validate(self, fail: Fail) -> None:
        if self.direction not in WALK_DIRECTIONS:
            fail("direction", f"expected one of {', '.join(WALK_DIRECTIONS)}, "
                              f"got {self.direction!r}")
        if not self.velocity_low <= self.velocity_high:
            fail("velocity_high", "expected velocity_high >= velocity_low")
        if self.margin <= 0:
            fail("margin", "expected a positive margin")
        if not 0 < self.max_tilt_deg < 90:
            fail("max_tilt_deg", "expected an angle in (0, 90) degrees")


@dataclass
class ReachTask:
    """Reaching a target sampled in a box with the end effector."""

    target_low: list[float] = field(default_factory=lambda: [0.3, -0.3, 0.2])  # box min (m)
    target_high: list[float] = field(default_factory=lambda: [0.6, 0.3, 0.6])  # box max (m)
    success_distance: float = 0.02  # reached when closer than this (m)
    action_penalty: float = 0.01  # penalty on the squared normalized action
    # precision bonus: precision_weight * exp(-(distance / precision_radius)^2). The plain
    # -distance changes by 0.01 per cm, too little for the critic to tell 3 cm from 1 cm;
    # the bonus pulls hardest 1-4 cm from the target (0: no bonus)
    precision_weight: float = 1.0
    precision_radius: float = 0.03  # m
    # hindsight relabelling (HER, "future" targets): each transition is stored again this
    # many times with a target the end effector reached later in its episode (0: off;
    # needs target_delta in the observation; embedded and distributed training; not used
    # with an enabled task graph, which relabels its own way: task_graph.relabel)
    hindsight: int = 0

    def validate(self, fail: Fail) -> None:
        if not 0 <= self.hindsight <= 16:
            fail("hindsight", f"expected a whole number of copies in 0..16, got {self.hindsight}")
        if self.precision_weight < 0:
            fail("precision_weight", "expected a weight >= 0")
        if self.precision_radius <= 0:
            fail("precision_radius", "expected a positive distance (m)")
        for key in ("target_low", "target_high"):
            if len(getattr(self, key)) != 3:
                fail(key, "expected [x, y, z]")
        if any(lo > hi for lo, hi in zip(self.target_low, self.target_high, strict=False)):
            fail("target_high", "expected each coordinate >= target_low")
        if self.success_distance <= 0:
            fail("success_distance", "expected a positive distance")


@dataclass
class PushTask:
    """Pushing a block, placed at random on the floor (the Panda's table top), to a goal.

    The block's position is a privileged sim signal (``RobotState.block_position``): it is in
    the reward and the success predicate, never in the observation vector, so a policy finds
    the block only through a camera (docs/pixels.md). Positions are in the world frame (m).
    """

    block_size: float = 0.04  # edge length of the cube (m)
    block_mass: float = 0.1  # kg
    # the block's lateral friction coefficient; PyBullet multiplies it with the floor's
    # (sim.lateral_friction), so 0.5 on the default floor slides like 0.5
    block_friction: float = 0.5
    block_low: list[float] = field(default_factory=lambda: [0.4, -0.15])  # [x, y] box min (m)
    block_high: list[float] = field(default_factory=lambda: [0.5, 0.15])  # [x, y] box max (m)
    # the block's centre is drawn uniformly in that box at each episode's reset, from a
    # generator reseeded by the episode's seed (reset(seed=...)): same seed, same placement
    goal: list[float] = field(default_factory=lambda: [0.6, 0.0])  # [x, y] of the goal (m)
    show_goal: bool = True  # draw the goal as a flat disc on the floor (visual only, no contact)
    # dense reward: -reach_weight * |gripper - block| - push_weight * |block - goal|_xy
    # - action_penalty * |a|^2 (rewards.push_reward)
    reach_weight: float = 0.5
    push_weight: float = 1.0
    action_penalty: float = 0.01
    # success, for evaluation only (it neither pays nor ends an episode): a predicate over
    # block_x, block_y, block_z, goal_x, goal_y, ee_x, ee_y, ee_z, block_distance (block to
    # goal, horizontal) and ee_block_distance (m; docs/task_graph.md has the grammar)
    success: str = "hypot(block_x - goal_x, block_y - goal_y) < 0.05"

    def validate(self, fail: Fail) -> None:
        for key in ("block_size", "block_mass", "block_friction"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                fail(key, f"expected a positive number, got {short(value)}")
        for key in ("block_low", "block_high", "goal"):
            value = getattr(self, key)
            if len(value) != 2:
                fail(key, f"expected [x, y], got {len(value)} numbers")
            if not all(math.isfinite(v) for v in value):
                fail(key, f"expected finite numbers, got {short(value)}")
        if any(lo > hi for lo, hi in zip(self.block_low, self.block_high, strict=True)):
            fail("block_high", f"expected each coordinate >= block_low {short(self.block_low)}"
                 f", got {short(self.block_high)}")
        for key in ("reach_weight", "push_weight", "action_penalty"):
            if not getattr(self, key) >= 0:
                fail(key, "expected a weight >= 0")
        try:
            Predicate.parse(self.success, PUSH_SIGNALS)
        except PredicateError as err:
            fail("success", f"expected a predicate over the push signals: {err}")

    def success_predicate(self) -> Predicate:
        """The parsed ``success`` predicate (validated on load)."""
        return Predicate.parse(self.success, PUSH_SIGNALS)


@dataclass
class TaskConfig:
    """The task the robot learns and its reward."""

    kind: Literal["walk", "reach", "push"] = "walk"  # which reward and termination to use
    episode_steps: int = 400  # time limit in control steps (truncation, not termination)
    walk: WalkTask = field(default_factory=WalkTask)  # settings for kind: walk
    reach: ReachTask = field(default_factory=ReachTask)  # settings for kind: reach
    push: PushTask = field(default_factory=PushTask)  # settings for kind: push (an arm)
    # a learned success classifier as the reward (robot_rl/config/reward_model.py,
    # docs/reward_model.md); null: the task's own reward
    reward_model: RewardModelSpec | None = None

    def validate(self, fail: Fail) -> None:
        if self.episode_steps < 1:
            fail("episode_steps", "expected at least 1 step")


MAX_BUFFER = 100_000_000
"""Largest replay buffer accepted (a bigger one is a typo that would exhaust memory)."""
MAX_WIDTH = 65_536
"""Widest hidden layer accepted."""
_DEVICE = re.compile(r"(auto|cpu|cuda(:[0-9]+)?)\Z")


@dataclass
class LearnerConfig:
    """Soft Actor-Critic settings; ``recipe`` picks the critic recipe (docs/learner.md).

    A recipe only sets defaults: every field left at ``None`` takes the recipe's value
    (``RECIPES`` below) when the config is built, and a key given explicitly in the YAML (or
    as a keyword) always wins. Resolution happens in one place, :meth:`__post_init__`, so
    code reading ``cfg.utd`` always sees a number. ``dataclasses.replace`` keeps resolved
    values; to switch recipe build a new ``LearnerConfig(recipe=..., ...)``.
    """

    # critic recipe (docs/learner.md)
    recipe: Literal["sac", "droq", "redq", "crossq", "crossq_wn"] = "sac"
    hidden: list[int] = field(default_factory=lambda: [256, 256])  # actor hidden widths
    critic_hidden: list[int] | None = None  # critic hidden widths; None: same as hidden
    num_critics: int | None = None  # critics in the ensemble (sac/droq/crossq 2, redq 10)
    target_subset: int | None = None  # target = min over a random subset of this many
    # critics, drawn per update (None: all critics; redq: 2)
    critic_layernorm: bool | None = None  # LayerNorm after each hidden critic layer
    critic_dropout: float | None = None  # dropout before LayerNorm in the critic (droq 0.01)
    critic_batchrenorm: bool | None = None  # batch renormalization in the critic (crossq)
    weight_norm: bool | None = None  # project every hidden layer's weights (critic and actor)
    # back to unit norm per output unit after each optimizer step (crossq_wn)
    target_network: bool | None = None  # Polyak-averaged target critics; false: the target
    # comes from the same forward pass over concat([s, s'], [a, a']) (crossq)
    actor_q: Literal["mean", "min"] | None = None  # how the actor loss reduces the critics
    actor_lr: float | None = None  # Adam learning rate of the actor (3e-4; crossq 1e-3)
    critic_lr: float | None = None  # Adam learning rate of the critics (3e-4; crossq 1e-3)
    temperature_lr: float | None = None  # Adam learning rate of log(alpha) (3e-4; crossq 1e-3)
    adam_beta1: float | None = None  # Adam beta1 of actor and critics (0.9; crossq 0.5)
    gamma: float = 0.99  # discount
    tau: float = 0.005  # Polyak rate of the target critics
    batch_size: int = 256  # minibatch size
    utd: int | None = None  # update-to-data ratio: critic updates per environment step
    # (sac 1, droq 20, redq 20, crossq 1, crossq_wn 2)
    policy_delay: int | None = None  # critic updates per actor + temperature update
    # (None: utd, i.e. one actor update per environment step; crossq and crossq_wn 3)
    bn_momentum: float = 0.99  # running-statistics momentum of batch renormalization
    renorm_warmup: int = 100_000  # critic updates of plain batch norm before renorm r/d
    renorm_rmax: float = 3.0  # batch renorm clip of r (Ioffe 2017)
    renorm_dmax: float = 5.0  # batch renorm clip of d
    # averaged actor: after every actor update an average of the actor's weights moves toward
    # them by this rate (Polyak averaging); deterministic actions (evaluation, the final
    # summary, robot-rl eval) come from the average, exploration from the actor itself. 0: off
    actor_ema: float = 0.0
    init_temperature: float = 0.1  # initial entropy temperature alpha
    target_entropy: float | None = None  # None: -|A|/2
    warmup_steps: int = 1000  # uniformly random actions before learning starts
    buffer_size: int = 1_000_000  # replay capacity (transitions)
    prior_data: str | None = None  # offline transitions (.npz, docs/learner.md) mixed into
    # every batch as in RLPD; a path relative to the config file, or absolute
    prior_fraction: float = 0.5  # share of each minibatch drawn from prior_data
    fused: bool = True  # fused (else foreach) Adam kernels; false: the plain per-tensor loop
    compile: bool = False  # torch.compile the critic and actor forward passes
    # where the learner runs (actor, critics, optimizers, minibatches, APRL dynamics model):
    # auto (CUDA when torch sees a GPU, else cpu), cpu, cuda or cuda:N; acting is always on
    # the CPU. A run's config.yaml records the device auto picked (docs/learner.md)
    device: str = "auto"
    # matmul precision of the learner: fp32, bf16 (bfloat16 autocast; warns and runs fp32
    # where the device has no native bf16) or auto (bf16 where the device has native bf16:
    # CUDA 8.0+, CPUs with AVX512-BF16/AMX; docs/learner.md#device-and-precision). Recorded
    # like device
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    bf16: bool | None = None  # DEPRECATED alias of precision (true: bf16, false: fp32)

    # Recipe defaults for the fields above left at None. Where a recipe does not list them,
    # critic_hidden (None: hidden), target_subset (None: all) and policy_delay (None: utd)
    # stay None.
    RECIPES: ClassVar[dict[str, dict[str, Any]]] = {
        "sac": dict(num_critics=2, target_subset=None, critic_layernorm=True,
                    critic_dropout=0.0, critic_batchrenorm=False, weight_norm=False,
                    target_network=True, actor_q="mean", actor_lr=3e-4, critic_lr=3e-4,
                    temperature_lr=3e-4, adam_beta1=0.9, utd=1),
        "droq": dict(num_critics=2, target_subset=None, critic_layernorm=True,
                     critic_dropout=0.01, critic_batchrenorm=False, weight_norm=False,
                     target_network=True, actor_q="mean", actor_lr=3e-4, critic_lr=3e-4,
                     temperature_lr=3e-4, adam_beta1=0.9, utd=20),
        "redq": dict(num_critics=10, target_subset=2, critic_layernorm=True,
                     critic_dropout=0.0, critic_batchrenorm=False, weight_norm=False,
                     target_network=True, actor_q="mean", actor_lr=3e-4, critic_lr=3e-4,
                     temperature_lr=3e-4, adam_beta1=0.9, utd=20),
        "crossq": dict(num_critics=2, target_subset=None, critic_layernorm=False,
                       critic_dropout=0.0, critic_batchrenorm=True, weight_norm=False,
                       target_network=False, actor_q="min", actor_lr=1e-3, critic_lr=1e-3,
                       temperature_lr=1e-3, adam_beta1=0.5, utd=1, policy_delay=3),
        # CrossQ + weight normalization (Palenicek et al. 2025): CrossQ with unit-norm hidden
        # weights and a higher UTD; critic widths follow hidden as for crossq (docs)
        "crossq_wn": dict(num_critics=2, target_subset=None, critic_layernorm=False,
                          critic_dropout=0.0, critic_batchrenorm=True, weight_norm=True,
                          target_network=False, actor_q="min", actor_lr=1e-3,
                          critic_lr=1e-3, temperature_lr=1e-3, adam_beta1=0.5, utd=2,
                          policy_delay=3),
    }

    def __post_init__(self) -> None:
        """Fill every field left at None from the recipe (the one place this happens)."""
        defaults = self.RECIPES.get(self.recipe, {})
        for key, value in defaults.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        # critic_hidden, target_subset and policy_delay stay None unless a recipe or the user
        # sets them: they follow hidden, num_critics and utd at use time, so a later change
        # of those (e.g. `cfg.learner.utd = 20` in a script) carries over
        if self.bf16 is not None and self.precision == "auto":  # the deprecated alias
            self.precision = "bf16" if self.bf16 else "fp32"
            logging.getLogger("robot_rl.config").warning(
                "robot-rl: config warning: learner.bf16 is deprecated; write learner.precision: "
                "%s instead (docs/learner.md#device-and-precision)", self.precision)

    def validate(self, fail: Fail) -> None:
        if not _DEVICE.match(self.device):
            fail("device", f"expected auto, cpu, cuda or cuda:N (N a GPU index), got "
                 f"{short(self.device)}")
        if self.bf16 is not None and self.precision != ("bf16" if self.bf16 else "fp32"):
            fail("bf16", f"expected no bf16 next to precision: {self.precision} (bf16 is the "
                 "deprecated alias of precision; keep precision)")
        for key in ("hidden", "critic_hidden"):
            widths = getattr(self, key)
            if widths is not None and (not widths or any(h < 1 for h in widths)):
                fail(key, "expected a non-empty list of positive widths")
        assert self.num_critics is not None
        if self.num_critics < 2:
            fail("num_critics", "expected at least 2 critics")
        if self.target_subset is not None and not 1 <= self.target_subset <= self.num_critics:
            fail("target_subset", f"expected a count in [1, num_critics={self.num_critics}]")
        if not 0 <= (self.critic_dropout or 0.0) < 1:
            fail("critic_dropout", "expected a dropout rate in [0, 1)")
        if self.critic_batchrenorm and self.target_network:
            fail("target_network", "expected false with critic_batchrenorm (CrossQ: the "
                 "target comes from the joint forward pass, there is no target network)")
        for key in ("actor_lr", "critic_lr", "temperature_lr", "init_temperature"):
            if getattr(self, key) <= 0:
                fail(key, "expected a positive number")
        if not 0 <= (self.adam_beta1 or 0.0) < 1:
            fail("adam_beta1", "expected a value in [0, 1)")
        if not 0 <= self.gamma < 1:
            fail("gamma", f"expected a discount in [0, 1), got {self.gamma}")
        if not 0 < self.tau <= 1:
            fail("tau", f"expected a rate in (0, 1], got {self.tau}")
        assert self.utd is not None
        if self.batch_size < 1 or self.utd < 1 or self.buffer_size < self.batch_size:
            fail("batch_size" if self.batch_size < 1 else "utd" if self.utd < 1
                 else "buffer_size", "expected batch_size >= 1, utd >= 1, buffer >= batch")
        if self.buffer_size > MAX_BUFFER:
            fail("buffer_size", f"expected at most {MAX_BUFFER:,} transitions, got "
                 f"{self.buffer_size:.3g}")
        for key in ("hidden", "critic_hidden"):
            if any(h > MAX_WIDTH for h in getattr(self, key) or ()):
                fail(key, f"expected widths of at most {MAX_WIDTH}")
        if not 0.0 <= self.actor_ema <= 1.0:
            fail("actor_ema", f"expected a rate in [0, 1] (0: no averaged actor), got "
                 f"{self.actor_ema}")
        if self.policy_delay is not None and self.policy_delay < 1:
            fail("policy_delay", "expected a count >= 1 (or null: utd)")
        if not 0 < self.bn_momentum < 1:
            fail("bn_momentum", "expected a momentum in (0, 1)")
        if self.renorm_warmup < 0:
            fail("renorm_warmup", "expected a count >= 0")
        if self.renorm_rmax < 1 or self.renorm_dmax < 0:
            fail("renorm_rmax" if self.renorm_rmax < 1 else "renorm_dmax",
                 "expected renorm_rmax >= 1 and renorm_dmax >= 0")
        if self.warmup_steps < 0:
            fail("warmup_steps", "expected a count >= 0")
        if not 0 <= self.prior_fraction <= 1:
            fail("prior_fraction", f"expected a fraction in [0, 1], got {self.prior_fraction}")
        if self.prior_data is not None and not self.prior_data:
            fail("prior_data", "expected the path of an .npz file (or null)")


@dataclass
class SafetyConfig:
    """The filter between the policy and the motors (applies in every mode; docs/safety.md)."""

    max_state_age_s: float = 0.25  # older states lead to a hold at the measured pose (s)
    # Largest change of a joint's command from the previous command in one control step
    # (rad): a number for every joint, or one per joint. Default (null): half of what
    # robot.velocity_limit allows in one control period.
    max_step: float | list[float] | None = None
    # Largest distance of a joint's command from its measured position (rad): a number or
    # one per joint. Default (null): twice robot.action_scale (the width of the action box).
    max_tracking_error: float | list[float] | None = None
    # Optional operator heartbeat (s): with a value, the actor holds when no message arrived
    # on the e-stop or operator topic for this long. Null: no heartbeat needed.
    operator_timeout_s: float | None = None

    def validate(self, fail: Fail) -> None:
        if not self.max_state_age_s > 0:
            fail("max_state_age_s", "expected a positive age in seconds")
        for key in ("max_step", "max_tracking_error"):
            value = getattr(self, key)
            values = value if isinstance(value, list) else [] if value is None else [value]
            if not all(v > 0 for v in values):
                fail(key, "expected positive angles in rad (a number or one per joint)")
        if self.operator_timeout_s is not None and not self.operator_timeout_s > 0:
            fail("operator_timeout_s", "expected a positive time in seconds (or null)")

    def per_joint(self, key: str, default: list[float]) -> list[float]:
        """``max_step`` or ``max_tracking_error`` per joint (``default`` where unset)."""
        value = getattr(self, key)
        if value is None:
            return list(default)
        return list(value) if isinstance(value, list) else [float(value)] * len(default)


DYNAMICS_KEYS = ("mass_scale", "inertia_scale", "friction", "motor_strength", "kp_scale",
                 "kd_scale", "payload_kg")
"""The keys of ``sim.dynamics`` that shift the simulated robot (each may be randomized)."""


@dataclass
class SimDynamics:
    """How the simulated robot differs from its config: a "real" robot that is not the
    simulator. Every default is no shift; ``sim.latency_s`` and the ``sim.*_noise`` keys
    belong to the same shift set but stay where they are (docs/configs.md, `sim.dynamics`)."""

    mass_scale: float = 1.0  # multiplies every link's mass and inertia (the whole robot)
    inertia_scale: float = 1.0  # a further factor on every link's inertia only
    friction: float = 1.0  # multiplies sim.lateral_friction (the ground's coefficient)
    motor_strength: float = 1.0  # multiplies robot.effort_limit where PD torques are clipped
    kp_scale: float = 1.0  # multiplies robot.kp in the simulated PD loop
    kd_scale: float = 1.0  # multiplies robot.kd in the simulated PD loop
    payload_kg: float = 0.0  # extra mass (kg): on the base; an arm's at its end effector
    # ranges [low, high] of the keys above, e.g. {mass_scale: [0.9, 1.1]}: each drawn
    # uniformly once per robot from its seed, instead of the key's fixed value
    randomize: dict[str, list[float]] = field(default_factory=dict)

    def validate(self, fail: Fail) -> None:
        for key in DYNAMICS_KEYS:
            expected = _dynamics_domain(key)
            if not _in_domain(key, getattr(self, key)):
                fail(key, f"expected {expected}, got {short(getattr(self, key))}")
        for key, span in self.randomize.items():
            where = f"randomize.{key}"
            if key not in DYNAMICS_KEYS:
                fail(where, f"unknown key; expected one of: {', '.join(DYNAMICS_KEYS)}")
            if len(span) != 2 or not span[0] <= span[1]:
                fail(where, f"expected a range [low, high] with low <= high, got {short(span)}")
            if not all(_in_domain(key, v) for v in span):
                fail(where, f"expected a range of {_dynamics_domain(key)}s, got {short(span)}")
            if getattr(self, key) != getattr(SimDynamics, key):
                fail(where, f"expected no range next to {key}: {getattr(self, key)} (the "
                     "range replaces the fixed value; keep one)")

    def resolve(self, seed: int) -> dict[str, float]:
        """The values a robot built with ``seed`` gets: fixed ones as given, randomized ones
        drawn uniformly from their ranges. Each key draws from its own generator seeded by
        the key and ``seed``, so the same seed always gives the same robot and a range added
        for one key leaves the others' draws alone."""
        values = {key: float(getattr(self, key)) for key in DYNAMICS_KEYS}
        for key, (low, high) in self.randomize.items():
            values[key] = random.Random(f"sim.dynamics.{key}/{seed}").uniform(low, high)
        return values


def _dynamics_domain(key: str) -> str:
    if key == "payload_kg":
        return "a mass >= 0 kg (0: none)"
    return "a positive factor (1.0: no shift)"


def _in_domain(key: str, value: float) -> bool:
    return math.isfinite(value) and (value >= 0 if key == "payload_kg" else value > 0)


@dataclass
class SimConfig:
    """The PyBullet stand-in for the hardware."""

    physics_hz: float = 500.0  # physics and PD torque rate (Hz), a multiple of control_hz
    joint_position_noise: float = 0.0  # Gaussian noise std on joint positions (rad)
    joint_velocity_noise: float = 0.0  # Gaussian noise std on joint velocities (rad/s)
    imu_noise: float = 0.0  # Gaussian noise std on IMU angles (rad) and rates (rad/s)
    latency_s: float = 0.0  # age of the state the robot reports (s)
    lateral_friction: float = 1.0  # ground friction coefficient (dynamics.friction scales it)
    fall_tilt_deg: float = 60.0  # the robot counts as fallen beyond this tilt (legged)
    fall_height: float = 0.12  # ... or when the base is lower than this (m, legged)
    # add the torques that hold the arm against gravity to the PD torques, as an arm's own
    # joint controller does (the Panda's control box always does): position targets are then
    # reached without sag. Fixed-base robots only.
    gravity_compensation: bool = False
    render_width: int = 320  # video frame width (px)
    render_height: int = 240  # video frame height (px)
    # a "real" robot that differs from the simulator: masses, friction, motors, gains
    dynamics: SimDynamics = field(default_factory=SimDynamics)

    def validate(self, fail: Fail) -> None:
        if self.physics_hz < 500:
            fail("physics_hz", f"expected at least 500 Hz, got {self.physics_hz}")
        for key in ("joint_position_noise", "joint_velocity_noise", "imu_noise", "latency_s"):
            if getattr(self, key) < 0:
                fail(key, "expected a value >= 0")
        if self.lateral_friction <= 0:
            fail("lateral_friction", "expected a positive friction coefficient")
        for key in ("render_width", "render_height"):
            if not 16 <= getattr(self, key) <= MAX_RENDER_SIDE:
                fail(key, f"expected a frame size in [16, {MAX_RENDER_SIDE}] pixels, got "
                     f"{short(getattr(self, key))}")
        if not 0 < self.fall_tilt_deg <= 180:
            fail("fall_tilt_deg", f"expected an angle in (0, 180] degrees, got "
                 f"{self.fall_tilt_deg}")
        if self.fall_height < 0:
            fail("fall_height", f"expected a height >= 0 m (0: never by height), got "
                 f"{self.fall_height}")


@dataclass
class TrainConfig:
    """Defaults for `robot-rl train` (command-line options override them)."""

    steps: int = 5000  # environment steps
    checkpoint_every: int = 1000  # environment steps between checkpoints
    log_every: int = 100  # environment steps between metric lines
    eval_episodes: int = 1  # deterministic episodes at the end of training

    def validate(self, fail: Fail) -> None:
        for key in ("steps", "checkpoint_every", "log_every", "eval_episodes"):
            if getattr(self, key) < 1:
                fail(key, "expected a count >= 1")


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_ROS_NAME = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


_TOPIC_KEYS = ("joint_states_topic", "imu_topic", "extras_topic", "command_topic",
               "estop_topic", "status_topic", "operator_topic", "reset_topic")


@dataclass
class RosConfig:
    """ROS 2 topics of the actor and the sim bridge (docs/ros2.md); QoS is fixed per topic."""

    joint_states_topic: str = "/joint_states"  # sensor_msgs/JointState in (sensor-data QoS)
    imu_topic: str = "/imu"  # sensor_msgs/Imu in (sensor-data QoS); "" for none (arms)
    extras_topic: str = "/robot_rl/extras"  # std_msgs/Float64MultiArray of labelled signals
    # beyond joints and IMU (base velocity, foot contacts, end effector); "" for none
    command_topic: str = "/forward_position_controller/commands"  # Float64MultiArray out
    command_joints: list[str] = field(default_factory=list)  # the controller's `joints`
    # order; [] = robot.joints
    estop_topic: str = "/estop"  # std_msgs/Bool in: true engages the e-stop, false releases
    status_topic: str = "/robot_rl/status"  # std_msgs/String out: the actor's status as JSON
    operator_topic: str = "/robot_rl/operator"  # std_msgs/String in: pause, resume, task NAME
    reset_topic: str = "/robot_rl/reset"  # std_msgs/String out at each episode end (the sim
    # bridge respawns; on hardware a get-up controller may listen); "" for none
    status_hz: float = 2.0  # status messages per second (and one at every change)

    def validate(self, fail: Fail) -> None:
        for key in _TOPIC_KEYS:
            value = getattr(self, key)
            optional = key in ("imu_topic", "extras_topic", "reset_topic")
            if not (optional and value == "") and not _ROS_NAME.match(value):
                also = ' (or "" for none)' if optional else ""
                fail(key, f"expected an absolute ROS topic name like /a/b_c{also}, "
                     f"got {value!r}")
        if not 0 < self.status_hz <= 100:
            fail("status_hz", f"expected a rate in (0, 100] Hz, got {self.status_hz}")
        seen: dict[str, str] = {}
        for key in _TOPIC_KEYS:  # one topic, one role: the actor would read its own output
            value = getattr(self, key)
            if value and value in seen:
                fail(key, f"expected a topic of its own, got {value!r}, which is also "
                     f"ros.{seen[value]}")
            seen.setdefault(value, key)

    def topics(self) -> dict[str, str]:
        """Every topic given (not ""), to the key that names it."""
        return {getattr(self, key): key for key in _TOPIC_KEYS if getattr(self, key)}


@dataclass
class RobotConfig:
    """One robot: body, observation, task, learner, safety, simulator and training."""

    name: str  # short robot name: letters, digits, '_' and '-' (names run directories)
    robot: RobotSpec  # body, joints, limits and low-level control
    observation: ObservationSpec = field(default_factory=ObservationSpec)
    task: TaskConfig = field(default_factory=TaskConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ros: RosConfig = field(default_factory=RosConfig)  # ROS 2 topics (actor, sim bridge)
    # cameras publishing sensor_msgs/Image (robot_rl/config/cameras.py, docs/configs.md)
    cameras: list[CameraSpec] = field(default_factory=list)
    # Tasks and edges for reset-free training (docs/task_graph.md); used only when
    # task_graph.enabled is true (or `robot-rl train --task-graph`), else `task:` is trained.
    task_graph: TaskGraphSection | None = None
    # APRL adaptive joint limits gated by a learned dynamics model (docs/aprl.md); null: none
    aprl: AprlSection | None = None
    # the file this was loaded from (set by the loader, never read from YAML)
    source: str | None = field(default=None, metadata={"yaml": False})

    def validate(self, fail: Fail) -> None:
        if not _NAME.match(self.name):
            fail("name", f"expected a plain name of at most 64 letters, digits, '_' and '-' "
                 f"(it names run directories: no path separators or '..'), got {short(self.name)}")
        ratio = self.sim.physics_hz / self.robot.control_hz
        if abs(ratio - round(ratio)) > 1e-6:
            fit = math.ceil(self.sim.physics_hz / self.robot.control_hz) * self.robot.control_hz
            fail("sim.physics_hz", f"expected a whole multiple of robot.control_hz "
                 f"({self.robot.control_hz}), got {self.sim.physics_hz} (e.g. {fit:g})")
        needs = {"foot_contacts": "legged", "ee_position": "arm", "target_delta": "arm"}
        for i, name in enumerate(self.observation.signals):
            if name in needs and self.robot.kind != needs[name]:
                fail(f"observation.signals[{i}]", f"{name!r} needs robot.kind: {needs[name]}")
            if name == "block_delta" and self.task.kind != "push":
                fail(f"observation.signals[{i}]", "'block_delta' needs task.kind: push (the "
                     "block it measures)")
            if name == "foot_contacts" and not self.robot.foot_links:
                fail(f"observation.signals[{i}]", "'foot_contacts' needs robot.foot_links (the "
                     "links whose ground contact it reports); none are given")
        if self.task.reach.hindsight and "target_delta" not in self.observation.signals:
            fail("task.reach.hindsight", "expected 0 without target_delta in "
                 "observation.signals (the policy must see the target to relabel it)")
        self._check_spawn(fail)
        if self.sim.gravity_compensation and not self.robot.fixed_base:
            fail("sim.gravity_compensation", "expected false for a robot without "
                 "robot.fixed_base: true (it models an arm's own joint controller)")
        if self.task.kind == "walk" and self.robot.kind != "legged":
            fail("task.kind", "expected 'reach' or 'push' for an arm ('walk' needs a legged "
                 "robot)")
        if self.task.kind in ("reach", "push") and self.robot.kind != "arm":
            fail("task.kind", f"expected 'walk' for a legged robot ({self.task.kind!r} needs "
                 "an arm: robot.kind: arm; robot.kind is legged when left out)")
        for key in ("max_step", "max_tracking_error"):
            value = getattr(self.safety, key)
            if isinstance(value, list):
                _per_joint(fail, f"safety.{key}", value, self.n_joints)
        check_cameras(fail, self.cameras, self.robot.control_hz, self.safety.max_state_age_s)
        ros_topics = self.ros.topics()
        for i, cam in enumerate(self.cameras):
            for topic in (cam.topic, *([cam.compressed_topic] if cam.compressed else [])):
                if topic in ros_topics:
                    fail(f"cameras[{i}].topic", f"expected a topic of its own, got {topic!r}, "
                         f"which is also ros.{ros_topics[topic]}")
        if self.sim.latency_s >= self.safety.max_state_age_s:
            fail("sim.latency_s", f"expected less than safety.max_state_age_s "
                 f"({self.safety.max_state_age_s:g} s): every state would be too old and the "
                 f"robot would hold, got {self.sim.latency_s:g}")
        learned = self.task.reward_model
        if learned is not None:
            names = [cam.name for cam in self.cameras]
            if learned.camera not in names:
                fail("task.reward_model.camera", f"expected the name of a camera in cameras: "
                     f"({', '.join(names) or 'none configured'}), got {short(learned.camera)}")
            if self.task.reach.hindsight:
                fail("task.reach.hindsight", "expected 0 with task.reward_model (hindsight "
                     "recomputes the sim's reward for new targets)")
        self._check_images(fail)
        order = self.ros.command_joints
        if order and sorted(order) != sorted(self.robot.joints):
            fail("ros.command_joints", "expected the names of robot.joints, each once, in "
                 "the controller's order (or [] for robot.joints' order)")
        try:  # the checks against the robot; re-raised with this file's name
            aprl = self.aprl_settings()
            mode = self.robot.action_mode
            if aprl is not None and aprl.active and mode != "absolute":
                fail("aprl.active", f"expected false with robot.action_mode: {mode} (APRL "
                     "bounds joint targets around the nominal pose: absolute actions)")
            graph = self.task_graph_settings()
            if graph is not None and mode == "ee_delta" and any(graph.scripted):
                fail("task_graph.scripted", "expected none with robot.action_mode: ee_delta "
                     "(scripted controllers command joints)")
        except ConfigError as err:
            fail(err.key, err.expected)

    def _check_spawn(self, fail: Fail) -> None:
        """A legged robot must not spawn already fallen by height (every episode would end
        at its first step). Its tilt is not checked here: ``base_orientation`` also stands a
        Y-up URDF upright, and the IMU reads relative to it."""
        if self.robot.kind != "legged" or self.robot.fixed_base:
            return
        height = self.robot.base_position[2]
        if height < self.sim.fall_height:
            fail("robot.base_position", f"expected a spawn height z above sim.fall_height "
                 f"({self.sim.fall_height:g} m), got {height:g} m (the robot would start fallen)")

    def _check_images(self, fail: Fail) -> None:
        """``observation.images``: configured cameras of one frame size, and nothing that
        the pixel learner does not support yet (task graphs, APRL, hindsight)."""
        if not self.observation.images:
            return
        cameras = {cam.name: cam for cam in self.cameras}
        for i, name in enumerate(self.observation.images):
            if name not in cameras:
                fail(f"observation.images[{i}]", f"expected the name of a camera in cameras: "
                     f"({', '.join(cameras) or 'none configured'}), got {short(name)}")
        for j, cam in enumerate(self.cameras):
            if cam.name not in self.observation.images:
                continue
            for key in ("width", "height"):
                if getattr(cam, key) < MIN_POLICY_IMAGE_SIDE:
                    fail(f"cameras[{j}].{key}", f"expected at least "
                         f"{MIN_POLICY_IMAGE_SIDE} px for a camera in observation.images (the "
                         f"policy's image encoder needs it), got {getattr(cam, key)}")
        sizes = {(cameras[n].width, cameras[n].height) for n in self.observation.images}
        if len(sizes) > 1:
            fail("observation.images", "expected cameras of one frame size (width, height), "
                 f"got {sorted(sizes)}")
        unsupported = (("task_graph.enabled", self.task_graph is not None
                        and bool(self.task_graph.enabled), "false"),
                       ("aprl.active", self.aprl is not None and bool(self.aprl.active),
                        "false"),
                       ("task.reach.hindsight", bool(self.task.reach.hindsight), "0"))
        for key, used, wanted in unsupported:
            if used:
                fail(key, f"expected {wanted} with observation.images (not supported with "
                     "pixels yet)")

    def refuse_images(self, mode: str, why: str) -> None:
        """Raises a one-line :class:`ConfigError` if the policy sees images and ``mode``
        (e.g. ``demos record``) cannot handle them, for the reason ``why``."""
        if self.observation.images:
            raise ConfigError(self.source, "observation.images", f"expected [] for {mode} "
                              f"({why})")

    def task_graph_settings(self) -> TaskGraphSettings | None:
        """The validated ``task_graph`` section, or None when the config has none.

        Also refuses what training cannot combine with an enabled graph (APRL, prior data),
        so that ``--task-graph`` fails before anything is created.
        """
        if self.task_graph is None:
            return None
        settings = parse_task_graph_section(self.task_graph, self.source, self.robot.kind,
                                            self.n_joints)
        if settings.enabled:
            if self.observation.images:
                raise ConfigError(self.source, "observation.images", "expected [] with "
                                  "task_graph.enabled (not supported with pixels yet)")
            aprl = self.aprl_settings()
            if aprl is not None and aprl.active:
                raise ConfigError(self.source, "aprl.active", "expected false with "
                                  "task_graph.enabled (APRL is not wired into task graphs yet)")
            if self.learner.prior_data is not None:
                raise ConfigError(self.source, "learner.prior_data", "expected null with "
                                  "task_graph.enabled (prior data has no per-task rewards)")
            if self.task.reward_model is not None:
                raise ConfigError(self.source, "task.reward_model", "expected null with "
                                  "task_graph.enabled (task graphs score their own rewards)")
        return settings

    def aprl_settings(self) -> AprlSettings | None:
        """The ``aprl`` section checked against the robot, or None when the config has none."""
        from robot_rl.aprl.settings import aprl_settings

        return aprl_settings(self, self.source)

    @property
    def n_joints(self) -> int:
        return len(self.robot.joints)

    @property
    def action_dim(self) -> int:
        """Numbers in an action: one per joint, or 3 (the end effector's move) with
        ``robot.action_mode: ee_delta``."""
        return 3 if self.robot.action_mode == "ee_delta" else self.n_joints

    @property
    def control_dt(self) -> float:
        return 1.0 / self.robot.control_hz
