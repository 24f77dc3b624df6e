"""MCAP session recording: ros2 profile, schemas, channel metadata, reading back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from ros_testutil import sample_messages

from robot_rl.ros import cdr, msgs
from robot_rl.ros.recording import McapRecorder, read_bag_metadata, read_recording
from robot_rl.ros.wire import QOS_SENSOR_DATA

pytest.importorskip("mcap")


def record_session(path: Path, steps: int = 50) -> list[tuple[str, int, object]]:
    """Writes states, commands and events like an actor would; returns what was written."""
    written = []
    with McapRecorder(path, chunk_size=4096) as rec:
        rec.add_topic("/joint_states", msgs.JointState, QOS_SENSOR_DATA)
        rec.add_metadata("robot_rl", {"run_id": "test", "robot": "a1"})
        for i in range(steps):
            t = 1_000_000_000 + i * 20_000_000
            state = msgs.JointState.from_arrays(["j0", "j1"], [i, -i], stamp_ns=t)
            command = msgs.Float64MultiArray.from_array([0.1 * i, 0.2])
            rec.write("/joint_states", state, log_time_ns=t)
            rec.write("/forward_position_controller/commands", command, log_time_ns=t + 1)
            written += [("/joint_states", t, state),
                        ("/forward_position_controller/commands", t + 1, command)]
        rec.write_json("/robot_rl/events", {"event": "episode_end", "return": 1.5},
                       log_time_ns=9_000_000_000)
        written.append(("/robot_rl/events", 9_000_000_000,
                        msgs.String('{"event": "episode_end", "return": 1.5}')))
    return written


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "session.mcap"
    written = record_session(path)
    read = list(read_recording(path))
    assert len(read) == len(written)
    for item, (topic, t, msg) in zip(read, written):
        assert (item.topic, item.log_time_ns, item.ros_type) == (topic, t, msg.ROS_TYPE)
        assert msgs.messages_equal(item.message, msg)
    event = json.loads(read[-1].message.data)
    assert event == {"event": "episode_end", "return": 1.5}


def test_file_follows_the_ros2_profile(tmp_path: Path) -> None:
    from mcap.reader import make_reader

    path = tmp_path / "session.mcap"
    record_session(path, steps=3)
    with path.open("rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
        schemas = {s.name: s for s in summary.schemas.values()}
        assert set(schemas) == {"sensor_msgs/msg/JointState", "std_msgs/msg/Float64MultiArray",
                                "std_msgs/msg/String"}
        for name, schema in schemas.items():
            assert schema.encoding == "ros2msg"
            assert schema.data.decode() == msgs.full_definition(name)
        channels = {c.topic: c for c in summary.channels.values()}
        for channel in channels.values():
            assert channel.message_encoding == "cdr"
            assert channel.metadata["topic_type_hash"] == \
                msgs.type_hash(schemas_by_id(summary)[channel.schema_id])
        # rosbag2 metadata version 9 (Jazzy): policies as strings
        assert yaml.safe_load(channels["/joint_states"].metadata["offered_qos_profiles"]) == \
            [QOS_SENSOR_DATA.rosbag2_qos()]
        assert "reliability: best_effort" in \
            channels["/joint_states"].metadata["offered_qos_profiles"]
        assert "reliability: reliable" in \
            channels["/robot_rl/events"].metadata["offered_qos_profiles"]
        assert summary.statistics.message_count == 7
        metas = {m.name: m for m in reader.iter_metadata()}
        assert set(metas) == {"robot_rl", "rosbag2"}
        assert metas["robot_rl"].metadata["robot"] == "a1"


def test_rosbag2_metadata_names_the_distro_and_topics(tmp_path: Path) -> None:
    # what `ros2 bag info` reads: the "rosbag2" metadata record, as rosbag2's MCAP plugin
    # writes it (serialized_metadata: BagMetadata YAML, version 9, with ros_distro)
    path = tmp_path / "session.mcap"
    record_session(path, steps=3)
    meta = read_bag_metadata(path)
    assert meta is not None
    assert meta["ros_distro"] == meta["ROS_DISTRO"] == "jazzy"
    assert meta["version"] == 9 and meta["storage_identifier"] == "mcap"
    assert meta["message_count"] == 7 and meta["relative_file_paths"] == ["session.mcap"]
    assert meta["starting_time"] == {"nanoseconds_since_epoch": 1_000_000_000}
    assert meta["duration"] == {"nanoseconds": 9_000_000_000 - 1_000_000_000}
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert {n: t["message_count"] for n, t in topics.items()} == {
        "/joint_states": 3, "/forward_position_controller/commands": 3, "/robot_rl/events": 1}
    joint_states = topics["/joint_states"]["topic_metadata"]
    assert joint_states["type"] == "sensor_msgs/msg/JointState"
    assert joint_states["serialization_format"] == "cdr"
    assert joint_states["type_description_hash"] == msgs.type_hash("sensor_msgs/msg/JointState")
    assert joint_states["offered_qos_profiles"] == [QOS_SENSOR_DATA.rosbag2_qos()]
    (file_info,) = meta["files"]
    assert file_info["path"] == "session.mcap" and file_info["message_count"] == 7


def schemas_by_id(summary: object) -> dict[int, str]:
    return {i: s.name for i, s in summary.schemas.items()}  # type: ignore[attr-defined]


def test_mcap_ros2_reads_our_recording(tmp_path: Path) -> None:
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    path = tmp_path / "session.mcap"
    written = record_session(path, steps=5)
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        read = [decoded for *_, decoded in reader.iter_decoded_messages()]
    assert len(read) == len(written)
    assert list(read[0].name) == ["j0", "j1"] and list(read[0].position) == [0.0, 0.0]
    assert read[-1].data == written[-1][2].data  # type: ignore[attr-defined]


def test_recording_written_by_mcap_ros2_reads_back(tmp_path: Path) -> None:
    # Stands in for a rosbag2 MCAP: one of our types and one we do not define.
    from mcap_ros2.writer import Writer

    path = tmp_path / "bag.mcap"
    with path.open("wb") as f:
        writer = Writer(f)
        js = writer.register_msgdef("sensor_msgs/msg/JointState",
                                    msgs.full_definition(msgs.JointState))
        point = writer.register_msgdef("geometry_msgs/msg/Point",
                                       "float64 x\nfloat64 y\nfloat64 z\n")
        writer.write_message("/joint_states", js, {
            "header": {"stamp": {"sec": 3, "nanosec": 4}, "frame_id": "base"},
            "name": ["a"], "position": [1.5], "velocity": [], "effort": []}, log_time=10)
        writer.write_message("/goal", point, {"x": 1.0, "y": 2.0, "z": 3.0}, log_time=11)
        writer.finish()
    read = list(read_recording(path))
    assert read[0].message.position.tolist() == [1.5]
    assert read[0].message.header.stamp == msgs.Time(3, 4)
    assert (read[1].ros_type, read[1].message.y) == ("geometry_msgs/msg/Point", 2.0)
    only = list(read_recording(path, topics=["goal"]))
    assert [item.topic for item in only] == ["/goal"]


def test_write_raw_keeps_wire_bytes(tmp_path: Path) -> None:
    path = tmp_path / "raw.mcap"
    msg = sample_messages()["/imu"]
    with McapRecorder(path, compression="none") as rec:
        rec.write_raw("/imu", msgs.Imu, cdr.encode(msg), log_time_ns=5)
        rec.write_raw("/imu", msgs.Imu, b"\x00\x01\x00\x00garbage", log_time_ns=6)
    (item,) = list(read_recording(path))  # the malformed one is skipped
    assert msgs.messages_equal(item.message, msg)
    with pytest.raises(cdr.CdrError):
        list(read_recording(path, skip_malformed=False))


def test_crashed_recording_reads_up_to_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "session.mcap"
    record_session(path, steps=200)
    data = path.read_bytes()
    cut = tmp_path / "crashed.mcap"
    cut.write_bytes(data[: len(data) // 2])
    read = list(read_recording(cut))
    assert 0 < len(read) < 401
    assert np.all(np.diff([item.log_time_ns for item in read]) > 0)


def test_topic_type_is_fixed_and_closed_recorder_refuses(tmp_path: Path) -> None:
    rec = McapRecorder(tmp_path / "x.mcap")
    rec.write("/estop", msgs.Bool(True))
    with pytest.raises(ValueError):
        rec.write("/estop", msgs.String("x"))
    rec.close()
    rec.close()
    with pytest.raises(ValueError):
        rec.write("/estop", msgs.Bool(False))
    with pytest.raises(ValueError):
        McapRecorder(tmp_path / "y.mcap", compression="gzip")
