"""Peer process for the DDS tests: publishes the sample messages and echoes joint states.

Run as ``python ros_dds_peer.py DOMAIN_ID SECONDS``. Publishes every sample message on its
topic at 50 Hz and answers each JointState on ``/echo/joint_states`` with a
Float64MultiArray of twice its positions on ``/echo/commands``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ros_testutil import sample_messages  # noqa: E402

from robot_rl.ros import msgs  # noqa: E402
from robot_rl.ros.api import spin  # noqa: E402
from robot_rl.ros.dds import DdsNode, loopback_config  # noqa: E402


def main(domain_id: int, seconds: float) -> None:
    node = DdsNode("peer", domain_id, loopback_config())
    samples = sample_messages()
    pubs = {topic: node.publisher(topic, type(msg)) for topic, msg in samples.items()}
    echo = node.publisher("/echo/commands", msgs.Float64MultiArray)

    def on_state(state: msgs.JointState) -> None:
        echo.publish(msgs.Float64MultiArray.from_array(state.position * 2))

    def tick() -> None:
        for topic, msg in samples.items():
            pubs[topic].publish(msg)

    node.subscription("/echo/joint_states", msgs.JointState, on_state)
    node.timer(0.02, tick)
    print("ready", flush=True)
    spin(node, timeout_s=seconds)
    node.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
