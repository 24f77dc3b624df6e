"""``robot-rl demos record --source joy`` end to end: a plain rclpy operator publishes Joy
and a success Bool; the recorded file is prior data with the topic's success labels."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.sac.prior import load_transitions
from tests.conftest import write_config


@pytest.mark.timeout(90)
def test_joy_demos_record_with_a_success_topic(tmp_path: Path, panda_path: Path,
                                               domain_id: int,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import Joy
    from std_msgs.msg import Bool

    config = write_config(tmp_path, panda_path, {"task": {"episode_steps": 15}})
    context = Context()
    rclpy.init(context=context, domain_id=domain_id,
               signal_handler_options=SignalHandlerOptions.NO)
    node = Node("operator", context=context)
    joy = node.create_publisher(Joy, "/joy", 10)
    success = node.create_publisher(Bool, "/demo/success", 10)
    stop = threading.Event()

    def operate() -> None:
        t0 = time.monotonic()
        while not stop.is_set():
            msg = Joy()
            msg.axes = [0.0, 0.0, -1.0]
            joy.publish(msg)
            flag = Bool()
            flag.data = time.monotonic() - t0 > 1.0  # "success" after a second
            success.publish(flag)
            time.sleep(0.02)

    thread = threading.Thread(target=operate, daemon=True)
    thread.start()
    try:
        out = tmp_path / "joy.npz"
        assert main(["demos", "record", str(config), "--source", "joy", "--episodes", "2",
                     "--out", str(out), "--success-topic", "/demo/success",
                     "--backend", "rclpy", "--domain", str(domain_id)]) == 0
    finally:
        stop.set()
        thread.join(5)
        node.destroy_node()
        context.try_shutdown()
    summary = json.loads(capsys.readouterr().out)
    assert summary["transitions"] == 30 and summary["accepted"] > 0
    assert summary["rejected"] == 0 and summary["success_labels"] is True
    data = np.load(out)
    arrays = load_transitions(out, data["obs"].shape[1], 7)
    assert arrays["intervention"].all()
    assert set(np.unique(arrays["success"])) <= {0.0, 1.0}
    assert arrays["success"][-1] == 1.0  # the topic said success by the end (the sim: 0)
    assert np.all(arrays["action"] >= -1) and np.all(arrays["action"] <= 1)
