"""sim.dynamics: the keys of a shifted "real" robot, their checks and the seeded draws."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.config import load_config
from robot_rl.config.schema import DYNAMICS_KEYS, SimDynamics
from robot_rl.errors import ConfigError
from tests.conftest import write_config


def test_defaults_are_no_shift(a1_path: Path) -> None:
    dyn = load_config(a1_path).sim.dynamics
    assert dyn == SimDynamics()
    assert dyn.resolve(0) == {key: (0.0 if key == "payload_kg" else 1.0)
                              for key in DYNAMICS_KEYS}


def test_fixed_values_load_and_resolve_as_given(tmp_path: Path, a1_path: Path) -> None:
    shift = {"mass_scale": 1.15, "friction": 0.7, "motor_strength": 0.85, "kp_scale": 0.8,
             "payload_kg": 2}
    cfg = load_config(write_config(tmp_path, a1_path, {"sim": {"dynamics": shift}}))
    values = cfg.sim.dynamics.resolve(seed=5)
    assert values == {**SimDynamics().resolve(0), **shift}


def test_draws_repeat_for_a_seed_and_differ_across_seeds() -> None:
    dyn = SimDynamics(randomize={"mass_scale": [0.9, 1.1], "kd_scale": [1.0, 2.0]})
    a, b, c = dyn.resolve(3), dyn.resolve(3), dyn.resolve(4)
    assert a == b
    assert a["mass_scale"] != c["mass_scale"] and a["kd_scale"] != c["kd_scale"]
    draws = [dyn.resolve(seed) for seed in range(50)]
    assert all(0.9 <= d["mass_scale"] <= 1.1 and 1.0 <= d["kd_scale"] <= 2.0 for d in draws)
    assert all(d["kp_scale"] == 1.0 for d in draws)  # keys without a range stay fixed


def test_a_range_for_one_key_leaves_the_others_draws_alone() -> None:
    one = SimDynamics(randomize={"kd_scale": [1.0, 2.0]}).resolve(7)
    two = SimDynamics(randomize={"mass_scale": [0.9, 1.1], "kd_scale": [1.0, 2.0]}).resolve(7)
    assert one["kd_scale"] == two["kd_scale"]


@pytest.mark.parametrize(("dynamics", "key", "words"), [
    ({"mass_scale": 0}, "sim.dynamics.mass_scale", "positive factor"),
    ({"inertia_scale": -1}, "sim.dynamics.inertia_scale", "positive factor"),
    ({"friction": 0.0}, "sim.dynamics.friction", "positive factor"),
    ({"motor_strength": -0.5}, "sim.dynamics.motor_strength", "positive factor"),
    ({"kp_scale": float("inf")}, "sim.dynamics.kp_scale", "finite number"),
    ({"kd_scale": 0}, "sim.dynamics.kd_scale", "positive factor"),
    ({"payload_kg": -1}, "sim.dynamics.payload_kg", "mass >= 0"),
    ({"mass_sclae": 1.1}, "sim.dynamics.mass_sclae", "did you mean 'mass_scale'"),
    ({"randomize": {"gravity": [0, 1]}}, "sim.dynamics.randomize.gravity", "unknown key"),
    ({"randomize": {"kp_scale": [1.2, 0.8]}}, "sim.dynamics.randomize.kp_scale", "low <= high"),
    ({"randomize": {"kp_scale": [1.0]}}, "sim.dynamics.randomize.kp_scale", "[low, high]"),
    ({"randomize": {"kp_scale": [0, 1]}}, "sim.dynamics.randomize.kp_scale", "positive"),
    ({"mass_scale": 1.2, "randomize": {"mass_scale": [0.9, 1.1]}},
     "sim.dynamics.randomize.mass_scale", "no range next to mass_scale"),
])
def test_bad_values_are_refused_in_one_line(tmp_path: Path, a1_path: Path, dynamics: dict,
                                            key: str, words: str) -> None:
    path = write_config(tmp_path, a1_path, {"sim": {"dynamics": dynamics}})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and f": {key}: " in message and words in message
