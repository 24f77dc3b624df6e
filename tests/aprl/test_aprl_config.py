"""AprlConfig: defaults, YAML-style overrides and errors that name file, key and expectation."""

from __future__ import annotations

import pytest

from robot_rl.aprl import AprlConfig, DynamicsConfig
from robot_rl.errors import ConfigError

FILE = "robot_configs/a1.yaml"


def test_defaults_are_the_published_settings() -> None:
    cfg = AprlConfig.from_dict(None)
    assert cfg == AprlConfig()
    assert (cfg.l_min, cfg.l_max, cfg.ramp_steps, cfg.shrink_factor) == (0.35, 0.6, 30_000, 0.5)
    assert cfg.penalty_coef == 12.0
    assert cfg.dynamics == DynamicsConfig(ensemble_size=5, hidden=(256, 256), lr=3e-4)


def test_overrides_and_nested_dynamics() -> None:
    cfg = AprlConfig.from_dict(
        {"enabled": False, "l_max": [0.5, 0.6, 0.7], "groups": [[0, 3], [1, 4], [2, 5]],
         "ramp_steps": 100, "surprise_dims": [0, 1], "fixed_limit": 0.4,
         "dynamics": {"hidden": [32, 32], "ensemble_size": 3, "lr": 1}},
        FILE,
    )
    assert cfg.enabled is False and cfg.l_max == (0.5, 0.6, 0.7)
    assert cfg.groups == ((0, 3), (1, 4), (2, 5))
    assert cfg.dynamics.hidden == (32, 32) and cfg.dynamics.lr == 1.0
    assert cfg.dynamics.batch_size == 256
    cfg.check_robot(6, obs_dim=10)


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"l_mni": 0.3}, "aprl.l_mni", "unknown key"),
        ({"dynamics": {"widths": [8]}}, "aprl.dynamics.widths", "unknown key"),
        ({"dynamics": 5}, "aprl.dynamics", "mapping"),
        ({"enabled": 1}, "aprl.enabled", "true or false"),
        ({"ramp_steps": 10.5}, "aprl.ramp_steps", "integer"),
        ({"ramp_steps": True}, "aprl.ramp_steps", "integer"),
        ({"l_min": "low"}, "aprl.l_min", "number"),
        ({"l_min": []}, "aprl.l_min", "non-empty"),
        ({"l_min": 0.7, "l_max": 0.6}, "aprl.l_max", "l_min <= l_max"),
        ({"l_min": [0.3, 0.7], "l_max": 0.6}, "aprl.l_max", "l_min <= l_max"),
        ({"l_max": 1.5}, "aprl.l_max", "[0, 1]"),
        ({"shrink_factor": 1.0}, "aprl.shrink_factor", "0 < shrink_factor < 1"),
        ({"shrink_factor": 0}, "aprl.shrink_factor", "0 < shrink_factor < 1"),
        ({"ramp_steps": -1}, "aprl.ramp_steps", ">= 0"),
        ({"trigger_steps": 0}, "aprl.trigger_steps", ">= 1"),
        ({"stats_rate": 0.0}, "aprl.stats_rate", "stats_rate"),
        ({"surprise_threshold": -1.0}, "aprl.surprise_threshold", "> 0"),
        ({"action_mode": "squash"}, "aprl.action_mode", "'clip' or 'scale'"),
        ({"penalty_form": "l2"}, "aprl.penalty_form", "'published' or 'hinge'"),
        ({"groups": [[0, 1], [1, 2]]}, "aprl.groups", "disjoint"),
        ({"groups": [[0], []]}, "aprl.groups", "non-empty"),
        ({"groups": [[0], [1]], "l_min": [0.1, 0.2, 0.3]}, "aprl.l_min", "one per group"),
        ({"dynamics": {"ensemble_size": 0}}, "aprl.dynamics.ensemble_size", ">= 1"),
        ({"dynamics": {"hidden": []}}, "aprl.dynamics.hidden", "widths"),
        ({"use_disagreement": True, "dynamics": {"ensemble_size": 1}}, "aprl.use_disagreement",
         "ensemble_size >= 2"),
    ],
)
def test_errors_name_file_key_and_expectation(data: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        AprlConfig.from_dict(data, FILE)
    err = info.value
    assert (err.file, err.key) == (FILE, key)
    assert fragment in err.expected
    assert str(err).startswith(f"{FILE}: {key}: ") and "\n" not in str(err)


def test_key_prefix_is_used() -> None:
    with pytest.raises(ConfigError) as info:
        AprlConfig.from_dict({"bogus": 1}, FILE, key_prefix="robot.aprl")
    assert info.value.key == "robot.aprl.bogus"


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="aprl: expected a mapping"):
        AprlConfig.from_dict([1, 2], FILE)  # type: ignore[arg-type]


def test_check_robot() -> None:
    with pytest.raises(ConfigError, match="exactly once"):
        AprlConfig(groups=((0, 1), (2,))).check_robot(4)
    with pytest.raises(ConfigError, match="one per joint"):
        AprlConfig(l_min=(0.3, 0.3, 0.3)).check_robot(4)
    with pytest.raises(ConfigError, match="surprise_dims"):
        AprlConfig(surprise_dims=(0, 9)).check_robot(4, obs_dim=9)
    AprlConfig(l_min=(0.3,) * 4, l_max=0.6).check_robot(4, obs_dim=9)
