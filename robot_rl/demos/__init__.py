"""People in the loop: demonstrations (scripted experts, teleoperation) and interventions.

See docs/demos.md. :mod:`~robot_rl.demos.experts` holds the scripted experts by task kind,
:mod:`~robot_rl.demos.record` records demonstrations as prior data,
:mod:`~robot_rl.demos.interventions` lets a scripted person take over while training, and
:mod:`~robot_rl.demos.teleop` maps Joy/Twist commands to actions.
"""
