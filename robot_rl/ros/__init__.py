"""ROS 2 edge of robot_rl: messages, CDR codec, DDS and rclpy transports, MCAP recording.

Pure modules (importable without ROS 2 or cyclonedds):

- :mod:`robot_rl.ros.msgs`: message dataclasses, ``.msg`` definitions and RIHS01 type hashes.
- :mod:`robot_rl.ros.typedesc`: ``.msg`` parser and RIHS01 type-hash computation.
- :mod:`robot_rl.ros.cdr`: strict XCDR1 (plain CDR) encode/decode of those messages.
- :mod:`robot_rl.ros.wire`: ROS 2 naming rules on DDS and the QoS profiles.
- :mod:`robot_rl.ros.api`: the node interface both transports implement, ``make_node``.

Edges (each imports its middleware lazily):

- :mod:`robot_rl.ros.dds`: ROS 2 wire-compatible DDS without ROS (``cyclonedds``).
- :mod:`robot_rl.ros.rclpy_node`: the same interface on ``rclpy`` where ROS 2 is installed.
- :mod:`robot_rl.ros.recording`: MCAP recording with the ``ros2`` profile (``mcap``).
"""
