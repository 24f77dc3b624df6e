"""Robot configs: YAML files loaded into validated dataclasses."""

from robot_rl.config.cameras import CameraSpec
from robot_rl.config.files import load_config, resolve_urdf
from robot_rl.config.loader import from_dict, to_dict
from robot_rl.config.schema import (
    OBS_SIGNALS,
    LearnerConfig,
    ObservationSpec,
    RobotConfig,
    RobotSpec,
    RosConfig,
    SafetyConfig,
    SimConfig,
    TaskConfig,
    TrainConfig,
)

__all__ = [
    "OBS_SIGNALS", "CameraSpec", "LearnerConfig", "ObservationSpec", "RobotConfig", "RobotSpec",
    "RosConfig", "SafetyConfig", "SimConfig", "TaskConfig", "TrainConfig", "from_dict",
    "load_config", "resolve_urdf", "to_dict",
]
