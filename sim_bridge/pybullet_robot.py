"""A PyBullet robot behind the :class:`robot_rl.robot.Robot` interface.

Headless (DIRECT), torque-level PD at the physics rate with effort limits, the policy at the
configured control rate; sensors with optional Gaussian noise and latency; optionally shifted
dynamics (``sim.dynamics``: a "real" robot that differs from the simulator); seeded and
deterministic. The same class backs the embedded trainer and the ROS 2 bridge node.

With ``task.kind: push`` the floor doubles as the table top (the Panda's base stands on it,
as on a table) and carries a block placed at random at each reset; its position is a
privileged signal (``RobotState.block_position``), never part of the observation.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
from collections import deque
from collections.abc import Iterator

import numpy as np
import pybullet
import pybullet_data
from pybullet_utils.bullet_client import BulletClient

from robot_rl.config import CameraSpec, RobotConfig
from robot_rl.errors import ConfigError
from robot_rl.images import crop_resize
from robot_rl.robot import RobotState, is_fallen, quat_to_rpy

FAR_M = 1000.0  # a height where the robot touches nothing (to break stale contacts)
_ANNOUNCED: set[str] = set()  # the shifted-robot lines this process has printed


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Sends what C code prints on file descriptor 1 to 2 meanwhile: PyBullet prints
    ``argv[0]=`` on stdout when a client connects, which would break ``--json`` output."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no stdout (closed, or not a file descriptor)
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # C stdio's buffer, before fd 1 is put back
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def c_output_captured() -> Iterator[list[str]]:
    """Collects what C code prints on file descriptor 1 meanwhile (PyBullet's loader prints
    its warnings and errors there); the list holds the text once the block is left."""
    printed: list[str] = []
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no stdout (closed, or not a file descriptor)
        yield printed
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            yield printed
        finally:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).fflush(None)  # C stdio's buffer, before fd 1 is put back
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            printed.append(sink.read(64 * 1024).decode("utf-8", "replace"))


def load_problem(printed: str) -> str:
    """PyBullet's reason for refusing a URDF, from what its loader printed (the first line
    that is not a ``b3Error[file,line]:`` location), or a generic one."""
    for line in printed.splitlines():
        text = re.sub(r"b3(Warning|Error)\[[^\]]*\]:?", "", line).strip()
        if text:
            return text
    return "Cannot load URDF file"


class PyBulletRobot:
    """A simulated robot built from a :class:`RobotConfig`.

    Args:
        cfg: the validated robot config (URDF resolved).
        seed: seeds the sensor noise and the draws of ``sim.dynamics.randomize``; physics
            itself is deterministic.
    """

    def __init__(self, cfg: RobotConfig, seed: int = 0) -> None:
        self.cfg = cfg
        spec = cfg.robot
        self.joint_names = list(spec.joints)
        self.control_dt = cfg.control_dt
        self.physics_dt = 1.0 / cfg.sim.physics_hz
        self.substeps = int(round(cfg.sim.physics_hz / spec.control_hz))
        n = len(self.joint_names)
        # sim.dynamics, resolved once per robot: the shifts of the PD loop live in these arrays
        self.dynamics = cfg.sim.dynamics.resolve(seed)
        shift = self.dynamics
        self.kp = np.broadcast_to(np.asarray(spec.kp, dtype=np.float64), (n,)) * shift["kp_scale"]
        self.kd = np.broadcast_to(np.asarray(spec.kd, dtype=np.float64), (n,)) * shift["kd_scale"]
        self.effort_limit = (np.asarray(spec.effort_limit, dtype=np.float64)
                             * shift["motor_strength"])
        self.nominal = np.asarray(spec.nominal, dtype=np.float64)
        self.rng = np.random.default_rng(seed)
        self.payload_kg = 0.0

        with stdout_to_stderr():
            self.client = BulletClient(connection_mode=pybullet.DIRECT)
        self.client.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.client.setTimeStep(self.physics_dt)
        self.client.setGravity(0, 0, -9.81)
        self.client.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        self.plane = self.client.loadURDF("plane.urdf")
        self.client.changeDynamics(self.plane, -1,
                                   lateralFriction=cfg.sim.lateral_friction * shift["friction"])
        # No URDF_USE_SELF_COLLISION: its contact caches survive restoreState and make
        # episodes irreproducible; joint limits keep the arm's links apart in practice.
        # robot.base_orientation: the spawn orientation (a Y-up URDF stands up with a 90 deg
        # roll); the IMU reports orientation and rates relative to it, so upright reads level
        self.spawn_quaternion = spec.base_quaternion()
        self._imu_from_body: np.ndarray | None = None
        if tuple(self.spawn_quaternion) != (0.0, 0.0, 0.0, 1.0):
            self._imu_from_body = np.asarray(
                self.client.getMatrixFromQuaternion(self.spawn_quaternion)).reshape(3, 3)
        with c_output_captured() as printed:
            try:
                body: int | None = self.client.loadURDF(
                    spec.urdf, spec.base_position, self.spawn_quaternion,
                    useFixedBase=spec.fixed_base)
            except pybullet.error:
                body = None
        if body is None:  # valid XML, but not to PyBullet: a missing mesh file, ...
            self.client.disconnect()
            raise ConfigError(cfg.source, "robot.urdf", f"expected a URDF PyBullet can load; "
                              f"it refused {os.path.basename(spec.urdf)}: "
                              f"{load_problem(''.join(printed))}")
        if printed and printed[0].strip():  # warnings of a URDF that loaded: not on stdout
            print(printed[0].rstrip(), file=sys.stderr)
        self.body = body
        self.block: int | None = None  # the push task's block (body id), else None
        self._block_rng = _block_generator(seed)
        if cfg.task.kind == "push":
            self._build_push_scene()
        self._index_links()
        self._shift_masses()
        # every movable joint (inverse dynamics, for gravity compensation, needs them all)
        self._movable = [j for j in range(self.client.getNumJoints(self.body))
                         if self.client.getJointInfo(self.body, j)[2] != pybullet.JOINT_FIXED]
        self._columns = [self._movable.index(j) for j in self.joint_ids]
        # Disable the default velocity motors so our torques are the only actuation.
        self.client.setJointMotorControlArray(self.body, self.joint_ids, pybullet.VELOCITY_CONTROL,
                                              forces=[0.0] * n)
        self._target = self.nominal.copy()
        self._time = 0.0
        self._last_torque = np.zeros(n)
        delay = int(round(cfg.sim.latency_s / self.physics_dt))
        self._history: deque[RobotState] = deque(maxlen=delay + 1)
        self._spawn_snapshot: int | None = None
        self._spawn()
        self._announce()

    # ----------------------------------------------------------------- set-up
    def _index_links(self) -> None:
        by_joint: dict[str, int] = {}
        by_link: dict[str, int] = {}
        for j in range(self.client.getNumJoints(self.body)):
            info = self.client.getJointInfo(self.body, j)
            by_joint[info[1].decode()] = j
            by_link[info[12].decode()] = j
        missing = [name for name in self.joint_names if name not in by_joint]
        if missing:
            raise ValueError(f"{self.cfg.source}: robot.joints: {missing} not in the URDF "
                             f"(it has {sorted(by_joint)})")
        self.joint_ids = [by_joint[name] for name in self.joint_names]
        self.foot_ids = [by_link[name] for name in self.cfg.robot.foot_links if name in by_link]
        ee = self.cfg.robot.end_effector_link
        self.ee_id = by_link.get(ee) if ee else None
        if ee and self.ee_id is None:
            raise ValueError(f"{self.cfg.source}: robot.end_effector_link: {ee!r} not in URDF")
        by_link[self.client.getBodyInfo(self.body)[0].decode()] = -1  # the base link
        self.camera_links: dict[str, int] = {}  # camera name -> link index (-1: the base)
        for i, cam in enumerate(self.cfg.cameras):
            if cam.link is not None:
                if cam.link not in by_link:
                    raise ValueError(f"{self.cfg.source}: cameras[{i}].link: {cam.link!r} "
                                     "not in the URDF")
                self.camera_links[cam.name] = by_link[cam.link]

    def _build_push_scene(self) -> None:
        """The push task's block (a cube on the floor) and, if shown, its goal: a flat green
        disc with no collision shape (seen by cameras, felt by nothing)."""
        c, push = self.client, self.cfg.task.push
        half = push.block_size / 2
        shape = c.createCollisionShape(pybullet.GEOM_BOX, halfExtents=[half] * 3)
        look = c.createVisualShape(pybullet.GEOM_BOX, halfExtents=[half] * 3,
                                   rgbaColor=[0.85, 0.15, 0.1, 1.0])
        self.block = c.createMultiBody(baseMass=push.block_mass, baseCollisionShapeIndex=shape,
                                       baseVisualShapeIndex=look,
                                       basePosition=[*push.block_low, half])
        c.changeDynamics(self.block, -1, lateralFriction=push.block_friction)
        if push.show_goal:
            disc = c.createVisualShape(pybullet.GEOM_CYLINDER, radius=0.04, length=0.002,
                                       rgbaColor=[0.1, 0.7, 0.2, 1.0])
            c.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=-1,
                              baseVisualShapeIndex=disc,
                              basePosition=[*push.goal, 0.001])

    def _place_block(self) -> None:
        """Puts the block at rest on the floor, its centre uniform in the configured box."""
        if self.block is None:
            return
        push = self.cfg.task.push
        x, y = self._block_rng.uniform(push.block_low, push.block_high)
        self.client.resetBasePositionAndOrientation(
            self.block, [float(x), float(y), push.block_size / 2], [0, 0, 0, 1])
        self.client.resetBaseVelocity(self.block, [0, 0, 0], [0, 0, 0])

    def _shift_masses(self) -> None:
        """Applies ``sim.dynamics``' masses, inertias and payload to the loaded body.

        Dynamics parameters are not part of a saved state, so restoreState (every reset)
        keeps them. An unshifted robot is left exactly as loaded.
        """
        mass_scale, inertia_scale = self.dynamics["mass_scale"], self.dynamics["inertia_scale"]
        if (mass_scale, inertia_scale) != (1.0, 1.0):
            for link in range(-1, self.client.getNumJoints(self.body)):
                mass, _, inertia = self.client.getDynamicsInfo(self.body, link)[:3]
                if mass <= 0.0:  # a static link (a fixed base may read 0): nothing to scale
                    continue
                # the mass first: PyBullet rescales the inertia with it; then set exactly
                self.client.changeDynamics(self.body, link, mass=mass * mass_scale)
                self.client.changeDynamics(self.body, link, localInertiaDiagonal=[
                    i * mass_scale * inertia_scale for i in inertia])
        if self.dynamics["payload_kg"]:
            self.set_payload(self.dynamics["payload_kg"])

    def _announce(self) -> None:
        """One line on stderr, once per process and shift, when this robot is shifted."""
        shifted = {k: v for k, v in self.dynamics.items()
                   if v != getattr(type(self.cfg.sim.dynamics), k)}
        if not shifted:
            return
        report = self.dynamics_report()
        sim = self.cfg.sim
        extra = {k: getattr(sim, k) for k in ("latency_s", "joint_position_noise",
                                              "joint_velocity_noise", "imu_noise")
                 if getattr(sim, k)}
        parts = [f"{k} {v:.4g}" for k, v in {**shifted, **extra}.items()]
        line = (f"robot-rl: shifted sim robot (sim.dynamics): {', '.join(parts)}; "
                f"total mass {report['total_mass_kg']:.4g} kg, ground friction "
                f"{report['ground_friction']:.4g}")
        if line not in _ANNOUNCED:
            _ANNOUNCED.add(line)
            print(line, file=sys.stderr, flush=True)

    def dynamics_report(self) -> dict[str, float]:
        """The dynamics this robot runs with: the resolved ``sim.dynamics`` factors (drawn
        ones included), the rest of the shift set (latency, sensor noise) and what PyBullet
        reports back (total mass, ground friction; after :meth:`set_payload` or
        :meth:`set_friction` too)."""
        c, sim = self.client, self.cfg.sim
        mass = sum(c.getDynamicsInfo(self.body, link)[0]
                   for link in range(-1, c.getNumJoints(self.body)))
        return {**self.dynamics, "payload_kg": self.payload_kg,
                "latency_s": sim.latency_s, "joint_position_noise": sim.joint_position_noise,
                "joint_velocity_noise": sim.joint_velocity_noise, "imu_noise": sim.imu_noise,
                "total_mass_kg": float(mass),
                "ground_friction": float(c.getDynamicsInfo(self.plane, -1)[1])}

    def _spawn(self) -> None:
        c = self.client
        if self._spawn_snapshot is None:
            spec = self.cfg.robot
            c.resetBasePositionAndOrientation(self.body, spec.base_position,
                                              self.spawn_quaternion)
            c.resetBaseVelocity(self.body, [0, 0, 0], [0, 0, 0])
            for jid, q in zip(self.joint_ids, self.nominal, strict=True):
                c.resetJointState(self.body, jid, float(q), 0.0)
            self._spawn_snapshot = c.saveState()
        else:
            self._clear_contacts()
            c.restoreState(stateId=self._spawn_snapshot)
        self._place_block()  # after the snapshot: each spawn draws its own placement
        # Contacts of the spawn pose (fresh points, no impulses) for the first observation.
        c.performCollisionDetection()
        self._target = self.nominal.copy()
        self._last_torque = np.zeros(len(self.joint_ids))
        self._history.clear()
        self._history.append(self._measure())

    def _clear_contacts(self) -> None:
        """Empty the contact caches before a restore.

        restoreState keeps contact points whose bodies end up where they were (a reset
        right after the first step of an episode: the feet stand on the same spots), with
        the impulses the solver warm-starts from, so the next step differed from the same
        step after a fresh spawn (tests/sim_bridge/test_determinism.py). Lifting the robot
        out of reach and running collision detection breaks every such point.
        """
        self.client.resetBasePositionAndOrientation(self.body, [0.0, 0.0, FAR_M], [0, 0, 0, 1])
        self.client.performCollisionDetection()

    # ------------------------------------------------------------ interface
    def reset(self, seed: int | None = None) -> RobotState:
        """Teleport to the spawn pose (a 'manual reset' on a real robot).

        The simulation then continues exactly as after a fresh spawn (same physics, bit for
        bit, whatever ran before); ``seed`` also reseeds the sensor noise and the push task's
        block placement (without a seed the next placement of the same sequence is drawn).
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
            self._block_rng = _block_generator(seed)
        self._spawn()
        return self.read_state()

    def now(self) -> float:
        return self._time

    def send_command(self, targets: np.ndarray) -> None:
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != self._target.shape:
            raise ValueError(f"expected {self._target.shape[0]} joint targets, "
                             f"got shape {targets.shape}")
        self._target = targets.copy()

    def tick(self) -> None:
        for _ in range(self.substeps):
            self._physics_step()

    def read_state(self) -> RobotState:
        state = self._history[0]
        return self._noisy(state)

    # ------------------------------------------------------------- physics
    def _physics_step(self) -> None:
        compensate = self.cfg.sim.gravity_compensation
        # with gravity compensation every movable joint is read (inverse dynamics needs them
        # all); the actuated ones are its _columns
        states = self.client.getJointStates(self.body,
                                            self._movable if compensate else self.joint_ids)
        q = np.fromiter((s[0] for s in states), np.float64, len(states))
        dq = np.fromiter((s[1] for s in states), np.float64, len(states))
        q_all = q
        if compensate:
            q, dq = q[self._columns], dq[self._columns]
        torque = self.kp * (self._target - q) - self.kd * dq
        if compensate:
            torque = torque + self._gravity_torque(q_all)
        torque = np.clip(torque, -self.effort_limit, self.effort_limit)
        self._last_torque = torque
        self.client.setJointMotorControlArray(self.body, self.joint_ids, pybullet.TORQUE_CONTROL,
                                              forces=torque.tolist())
        self.client.stepSimulation()
        self._time += self.physics_dt
        self._history.append(self._measure())

    def _gravity_torque(self, q_all: np.ndarray) -> np.ndarray:
        """The joint torques (robot.joints order) that hold the pose ``q_all`` (every movable
        joint's position) against gravity."""
        zeros = [0.0] * len(q_all)
        tau = self.client.calculateInverseDynamics(self.body, q_all.tolist(), zeros, zeros)
        return np.asarray(tau, dtype=np.float64)[self._columns]

    def _measure(self) -> RobotState:
        c, body = self.client, self.body
        states = c.getJointStates(body, self.joint_ids)
        pos, orn = c.getBasePositionAndOrientation(body)
        lin, ang = c.getBaseVelocity(body)
        rot = np.asarray(c.getMatrixFromQuaternion(orn)).reshape(3, 3)  # body -> world
        if self._imu_from_body is not None:  # the IMU frame: the body at spawn is level
            rot = rot @ self._imu_from_body.T
            orn = _matrix_to_quaternion(rot)
        contacts = None
        if self.foot_ids:
            touching = {pt[3] for pt in c.getContactPoints(bodyA=body, bodyB=self.plane)}
            contacts = np.array([1.0 if f in touching else 0.0 for f in self.foot_ids])
        ee = None
        if self.ee_id is not None:
            ee = np.asarray(c.getLinkState(body, self.ee_id)[4], dtype=np.float64)
        block = None
        if self.block is not None:
            block = np.asarray(c.getBasePositionAndOrientation(self.block)[0], dtype=np.float64)
        return RobotState(
            stamp=self._time,
            joint_position=np.array([s[0] for s in states]),
            joint_velocity=np.array([s[1] for s in states]),
            joint_effort=self._last_torque.copy(),
            imu_orientation=np.asarray(orn, dtype=np.float64),
            imu_angular_velocity=rot.T @ np.asarray(ang),
            imu_linear_acceleration=rot.T @ np.array([0.0, 0.0, 9.81]),
            foot_contacts=contacts,
            ee_position=ee,
            base_linear_velocity=rot.T @ np.asarray(lin),
            base_position=np.asarray(pos, dtype=np.float64),
            block_position=block,
            yaw=float(quat_to_rpy(np.asarray(orn))[2]),
        )

    def _noisy(self, state: RobotState) -> RobotState:
        sim = self.cfg.sim
        if not (sim.joint_position_noise or sim.joint_velocity_noise or sim.imu_noise):
            return state
        n = len(self.joint_ids)
        out = RobotState(**vars(state))
        out.joint_position = state.joint_position + self.rng.normal(0, sim.joint_position_noise, n)
        out.joint_velocity = state.joint_velocity + self.rng.normal(0, sim.joint_velocity_noise, n)
        out.imu_angular_velocity = (state.imu_angular_velocity
                                    + self.rng.normal(0, sim.imu_noise, 3))
        rpy = quat_to_rpy(state.imu_orientation) + self.rng.normal(0, sim.imu_noise, 3)
        out.imu_orientation = np.asarray(pybullet.getQuaternionFromEuler(rpy.tolist()))
        return out

    # ------------------------------------------------------- sim-only extras
    def fallen(self) -> bool:
        """Legged robots: tilted beyond ``sim.fall_tilt_deg`` or base below ``fall_height``."""
        if self.cfg.robot.kind != "legged":
            return False
        return is_fallen(self._measure(), self.cfg.sim.fall_tilt_deg, self.cfg.sim.fall_height)

    def set_payload(self, kg: float) -> None:
        """Set the payload mass (kg; replaces the previous payload, the one of
        ``sim.dynamics.payload_kg`` included): on the base of a floating-base robot, at the
        end effector of a fixed-base arm (its welded base carries nothing); PyBullet grows
        the link's inertia with it."""
        link = -1
        if self.cfg.robot.fixed_base and self.ee_id is not None:
            link = self.ee_id
        mass = self.client.getDynamicsInfo(self.body, link)[0]
        self.client.changeDynamics(self.body, link, mass=mass - self.payload_kg + kg)
        self.payload_kg = kg

    def set_friction(self, mu: float) -> None:
        """Change the ground friction coefficient (replaces the configured one)."""
        self.client.changeDynamics(self.plane, -1, lateralFriction=mu)

    def scale_gain(self, joint: int, factor: float) -> None:
        """Scale one joint's PD gains (a weak motor)."""
        self.kp[joint] *= factor
        self.kd[joint] *= factor

    def show_target(self, position: np.ndarray | None) -> None:
        """Mark ``position`` (world frame, m; e.g. a reach target) in rendered frames, or stop
        marking with None. Visual only: a disc drawn into the image, nothing in the physics."""
        self._render_marker = None if position is None else np.asarray(position, dtype=np.float64)

    def render(self) -> np.ndarray:
        """An RGB frame (H, W, 3, uint8): a camera following a legged robot's base, or framing
        an arm and its workspace (with the target of :meth:`show_target` drawn in red)."""
        w, h = self.cfg.sim.render_width, self.cfg.sim.render_height
        if self.cfg.robot.kind == "legged":
            target, _ = self.client.getBasePositionAndOrientation(self.body)
            dist, yaw, pitch = 1.0, 45.0, -25.0
        else:  # the arm and the space in front of it that it reaches into
            target = np.asarray(self.cfg.robot.base_position, dtype=np.float64) + [0.25, 0.0, 0.35]
            dist, yaw, pitch = 1.3, 50.0, -20.0
        view = self.client.computeViewMatrixFromYawPitchRoll(list(target), dist, yaw, pitch, 0, 2)
        proj = self.client.computeProjectionMatrixFOV(60, w / h, 0.05, 20.0)
        img = self.client.getCameraImage(w, h, view, proj, renderer=pybullet.ER_TINY_RENDERER)
        rgb = np.asarray(img[2], dtype=np.uint8).reshape(h, w, 4)[:, :, :3].copy()
        marker = getattr(self, "_render_marker", None)
        if marker is not None:
            _draw_marker(rgb, marker, view, proj)
        return rgb

    def render_cameras(self) -> dict[str, np.ndarray]:
        """A frame of every camera of ``cfg.cameras``: name -> (height, width, 3) uint8 RGB."""
        return {cam.name: self.render_camera(cam) for cam in self.cfg.cameras}

    def render_camera(self, cam: CameraSpec) -> np.ndarray:
        """One camera's frame: rendered headless (TinyRenderer) at its render size, then
        cropped and resized to ``width`` x ``height`` (:func:`robot_rl.images.crop_resize`)."""
        rw, rh = cam.render_size
        proj = self.client.computeProjectionMatrixFOV(cam.fov_deg, rw / rh, cam.near, cam.far)
        img = self.client.getCameraImage(rw, rh, self._camera_view(cam), proj,
                                         renderer=pybullet.ER_TINY_RENDERER,
                                         flags=pybullet.ER_NO_SEGMENTATION_MASK)
        rgba = np.asarray(img[2], dtype=np.uint8).reshape(rh, rw, 4)
        return crop_resize(rgba[:, :, :3], cam.crop, (cam.width, cam.height))

    def _camera_view(self, cam: CameraSpec) -> tuple[float, ...]:
        """The view matrix of a fixed camera, or of a link camera where its link is now."""
        if cam.fixed is not None:
            return tuple(self.client.computeViewMatrix(cam.fixed.eye, cam.fixed.target,
                                                       cam.fixed.up))
        c, link = self.client, self.camera_links[cam.name]
        if link == -1:  # PyBullet reports the base's inertial frame; the URDF frame is offset
            pos, orn = c.getBasePositionAndOrientation(self.body)
            inertial = c.getDynamicsInfo(self.body, -1)[3:5]
            pos, orn = c.multiplyTransforms(pos, orn, *c.invertTransform(*inertial))
        else:
            pos, orn = c.getLinkState(self.body, link, computeForwardKinematics=True)[4:6]
        rot = np.asarray(c.getMatrixFromQuaternion(orn)).reshape(3, 3)
        eye = np.asarray(pos) + rot @ np.asarray(cam.offset.position)
        target = eye + rot @ np.asarray(cam.offset.forward)
        up = rot @ np.asarray(cam.offset.up)
        return tuple(c.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist()))

    def close(self) -> None:
        """Disconnect from the physics server."""
        try:
            self.client.disconnect()
        except pybullet.error:  # already disconnected
            pass

    def __del__(self) -> None:  # pragma: no cover - best effort
        self.close()


def _block_generator(seed: int) -> np.random.Generator:
    """The generator of the push block's placements for ``seed``: a stream of its own, so
    sensor noise draws never shift the placements (nor the other way round)."""
    return np.random.default_rng([seed, 0xB10C])


def _matrix_to_quaternion(rot: np.ndarray) -> tuple[float, float, float, float]:
    """The unit quaternion ``(x, y, z, w)`` of a rotation matrix (Shepperd's method)."""
    m = rot
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = ((m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = (s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s)
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s)
    return tuple(float(v) for v in q)  # type: ignore[return-value]


def _draw_marker(rgb: np.ndarray, point: np.ndarray, view: tuple[float, ...],
                 proj: tuple[float, ...]) -> None:
    """Draw a red disc with a white rim at the world ``point`` into ``rgb`` (in place), as
    seen by the camera of the column-major ``view`` and ``proj`` matrices; a point behind
    the camera is not drawn."""
    h, w = rgb.shape[:2]
    clip = (np.asarray(proj, dtype=np.float64).reshape(4, 4).T
            @ np.asarray(view, dtype=np.float64).reshape(4, 4).T @ np.append(point[:3], 1.0))
    if clip[3] <= 1e-9:
        return
    u = (clip[0] / clip[3] + 1.0) / 2.0 * w
    v = (1.0 - clip[1] / clip[3]) / 2.0 * h
    radius = max(3.0, h / 40.0)
    yy, xx = np.ogrid[:h, :w]
    d2 = (xx - u) ** 2 + (yy - v) ** 2
    rgb[d2 <= (radius + 1.5) ** 2] = (255, 255, 255)
    rgb[d2 <= radius ** 2] = (230, 20, 20)
