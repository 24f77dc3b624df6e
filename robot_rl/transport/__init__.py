"""Actor <-> learner transport over ZeroMQ: exactly-once transitions, newest-only weights.

See ``docs/transport.md`` for the wire format, the exactly-once protocol and security.
"""

from robot_rl.transport.actor_client import ActorClient, WeightsUpdate
from robot_rl.transport.keys import (
    ClientCurve,
    KeyFileError,
    ServerCurve,
    check_new_key,
    client_curve,
    curve_required,
    generate_keys,
    is_loopback,
    server_curve,
)
from robot_rl.transport.learner_server import LearnerServer, TransitionBatch
from robot_rl.transport.protocol import ProtocolError, TransportError, TransportOptions
from robot_rl.transport.wire import Message, WireError, WireLimits, decode, encode

__all__ = [
    "ActorClient",
    "ClientCurve",
    "KeyFileError",
    "LearnerServer",
    "Message",
    "ProtocolError",
    "ServerCurve",
    "TransitionBatch",
    "TransportError",
    "TransportOptions",
    "WeightsUpdate",
    "WireError",
    "WireLimits",
    "check_new_key",
    "client_curve",
    "curve_required",
    "decode",
    "encode",
    "generate_keys",
    "is_loopback",
    "server_curve",
]
