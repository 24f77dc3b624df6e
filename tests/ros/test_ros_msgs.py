"""Message definitions, type hashes and ROS naming/QoS rules."""

from __future__ import annotations

import dataclasses

import pytest

from robot_rl.ros import msgs, typedesc
from robot_rl.ros.wire import (QOS_DEFAULT, QOS_LATCHED, QOS_SENSOR_DATA, QosProfile, dds_topic,
                               dds_type_name, ros_topic, type_hash_user_data)

# Copied from /work/shared/REFERENCES.md (read from a ROS 2 Jazzy install), independently of
# robot_rl.ros.msgs.TYPE_HASHES.
JAZZY_HASHES = {
    "sensor_msgs/msg/JointState":
        "RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e",
    "sensor_msgs/msg/Imu":
        "RIHS01_7d9a00ff131080897a5ec7e26e315954b8eae3353c3f995c55faf71574000b5b",
    "std_msgs/msg/Float64MultiArray":
        "RIHS01_1025ddc6b9552d191f89ef1a8d2f60f3d373e28b283d8891ddcc974e8c55397f",
    "std_msgs/msg/Bool":
        "RIHS01_feb91e995ff9ebd09c0cb3d2aed18b11077585839fb5db80193b62d74528f6c9",
    "std_msgs/msg/String":
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
    # not in REFERENCES.md: read from the Jazzy wheels' share/sensor_msgs/msg/*.json
    "sensor_msgs/msg/Image":
        "RIHS01_d31d41a9a4c4bc8eae9be757b0beed306564f7526c88ea6a4588fb9582527d47",
    "sensor_msgs/msg/CompressedImage":
        "RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a",
    # teleoperation (robot_rl.demos.teleop), from share/{sensor,geometry}_msgs/msg/*.json
    "sensor_msgs/msg/Joy":
        "RIHS01_0d356c79cad3401e35ffeb75a96a96e08be3ef896b8b83841d73e890989372c5",
    "geometry_msgs/msg/Twist":
        "RIHS01_9c45bf16fe0983d80e3cfe750d6835843d265a9a6c46bd2e609fcddde6fb8d2a",
}


@pytest.mark.parametrize("ros_type", sorted(JAZZY_HASHES))
def test_definitions_hash_to_the_jazzy_type_hashes(ros_type: str) -> None:
    # The hash covers every field name, type, array kind and nested type: equal hashes mean
    # our .msg texts describe exactly the types a ROS 2 Jazzy graph uses.
    assert typedesc.type_hash(ros_type, msgs.DEFINITIONS) == JAZZY_HASHES[ros_type]
    assert msgs.type_hash(ros_type) == JAZZY_HASHES[ros_type]


@pytest.mark.parametrize("cls", list(msgs.MESSAGE_CLASSES.values()), ids=lambda c: c.__name__)
def test_dataclass_fields_follow_the_definition(cls: type) -> None:
    specs = typedesc.parse_msg(cls.ROS_TYPE, msgs.DEFINITIONS[cls.ROS_TYPE])
    assert [f.name for f in dataclasses.fields(cls)] == [s.name for s in specs]
    assert msgs.message_class(cls.ROS_TYPE) is cls


def test_full_definition_has_dependencies_in_rosbag2_format() -> None:
    text = msgs.full_definition(msgs.Float64MultiArray)
    blocks = text.split("=" * 80 + "\n")
    assert blocks[0].startswith("MultiArrayLayout  layout\n")
    assert [b.splitlines()[0] for b in blocks[1:]] == [
        "MSG: std_msgs/MultiArrayLayout", "MSG: std_msgs/MultiArrayDimension"]
    imu = msgs.full_definition(msgs.Imu)
    for dep in ("std_msgs/Header", "builtin_interfaces/Time", "geometry_msgs/Quaternion",
                "geometry_msgs/Vector3"):
        assert imu.count(f"MSG: {dep}\n") == 1


def test_full_definition_parses_with_mcap_ros2() -> None:
    from mcap_ros2._dynamic import generate_dynamic

    for cls in msgs.TOPIC_TYPES:
        decoders = generate_dynamic(cls.ROS_TYPE, msgs.full_definition(cls))
        assert cls.ROS_TYPE in decoders


def test_parser_rejects_what_the_codec_does_not_support() -> None:
    for line in ("int32 FOO=1", "float64[<=3] x", "string<=5 s", "float64", "Bad Type x"):
        with pytest.raises(ValueError):
            typedesc.parse_msg("pkg/msg/T", line)


def test_parser_resolves_names_arrays_and_defaults() -> None:
    specs = typedesc.parse_msg("std_msgs/msg/X", "Header h\nfloat64[9] c # note\nstring[] n\n"
                               "geometry_msgs/Point p\nfloat64 w 1")
    assert specs == (
        typedesc.FieldSpec("h", "std_msgs/msg/Header"),
        typedesc.FieldSpec("c", "float64", "array", 9),
        typedesc.FieldSpec("n", "string", "sequence"),
        typedesc.FieldSpec("p", "geometry_msgs/msg/Point"),
        typedesc.FieldSpec("w", "float64", default="1"),
    )


def test_time_nanoseconds_round_trip() -> None:
    t = msgs.Time.from_ns(1_700_000_000_999_999_999)
    assert (t.sec, t.nanosec) == (1_700_000_000, 999_999_999)
    assert t.to_ns() == 1_700_000_000_999_999_999


def test_messages_equal_is_deep_and_nan_aware() -> None:
    a = msgs.JointState.from_arrays(["j"], [float("nan")])
    b = msgs.JointState.from_arrays(["j"], [float("nan")])
    assert msgs.messages_equal(a, b)
    b.position[0] = 1.0
    assert not msgs.messages_equal(a, b)
    assert not msgs.messages_equal(msgs.Bool(True), msgs.String("True"))


def test_topic_and_type_names_follow_ros2_rules() -> None:
    assert dds_topic("/joint_states") == "rt/joint_states"
    assert dds_topic("forward_position_controller/commands") == \
        "rt/forward_position_controller/commands"
    assert ros_topic("estop") == "/estop"
    for bad in ("", "/", "a//b", "a/", "/1abc", "~/x", "a b"):
        with pytest.raises(ValueError):
            dds_topic(bad)
    assert dds_type_name("sensor_msgs/msg/JointState") == "sensor_msgs::msg::dds_::JointState_"
    with pytest.raises(ValueError):
        dds_type_name("sensor_msgs/JointState")


def test_type_hash_user_data() -> None:
    data = type_hash_user_data(JAZZY_HASHES["std_msgs/msg/Bool"])
    assert data == f"typehash={JAZZY_HASHES['std_msgs/msg/Bool']};".encode()
    with pytest.raises(ValueError):
        type_hash_user_data("RIHS01_abc")


def test_qos_profiles_and_matching_rules() -> None:
    assert (QOS_DEFAULT.reliable, QOS_DEFAULT.depth, QOS_DEFAULT.transient_local) == \
        (True, 10, False)
    assert (QOS_SENSOR_DATA.reliable, QOS_SENSOR_DATA.depth) == (False, 5)
    assert not QOS_DEFAULT.compatible_with_writer(QOS_SENSOR_DATA)   # reliable reader, BE writer
    assert QOS_SENSOR_DATA.compatible_with_writer(QOS_DEFAULT)
    latched_reader = QosProfile(transient_local=True)
    assert not latched_reader.compatible_with_writer(QOS_DEFAULT)
    with pytest.raises(ValueError):
        QosProfile(depth=0)


def test_rosbag2_qos_yaml() -> None:
    yaml = pytest.importorskip("yaml")
    # rosbag2 metadata version 9 (Jazzy): policies as rmw_qos_*_policy_to_str strings
    (profile,) = yaml.safe_load(QOS_SENSOR_DATA.rosbag2_yaml())
    assert profile["history"] == "keep_last" and profile["depth"] == 5
    assert profile["reliability"] == "best_effort" and profile["durability"] == "volatile"
    assert profile["liveliness"] == "automatic"
    assert profile["deadline"] == {"sec": 0, "nsec": 0}
    assert profile["avoid_ros_namespace_conventions"] is False
    (latched,) = yaml.safe_load(QOS_LATCHED.rosbag2_yaml())
    assert (latched["reliability"], latched["durability"]) == ("reliable", "transient_local")
    assert profile == QOS_SENSOR_DATA.rosbag2_qos()


def test_pure_modules_import_without_cyclonedds_or_rclpy() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['cyclonedds'] = None; sys.modules['rclpy'] = None\n"
            "import robot_rl.ros.msgs, robot_rl.ros.cdr, robot_rl.ros.wire, robot_rl.ros.api\n"
            "import robot_rl.ros.typedesc, robot_rl.ros.recording\n"
            "from robot_rl.ros.api import make_node\n"
            "try:\n    make_node('x')\nexcept ImportError:\n    print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
