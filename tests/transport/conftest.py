"""Shared helpers for transport tests: drive servers and clients until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import pytest


def pump(
    servers: Iterable, clients: Iterable, until: Callable[[], bool], timeout_s: float,
    sink: list | None = None,
) -> bool:
    """Polls every server and client until ``until()`` is true or ``timeout_s`` passes.

    Batches accepted by servers are appended to ``sink``. Returns the final ``until()``.
    """
    servers, clients = list(servers), list(clients)
    deadline = time.monotonic() + timeout_s
    while True:
        for server in servers:
            batches = server.poll(0.005)
            if sink is not None:
                sink.extend(batches)
        for client in clients:
            client.poll(0.0)
        if until():
            return True
        if time.monotonic() > deadline:
            return False


@pytest.fixture
def drive() -> Callable[..., bool]:
    """The :func:`pump` helper as a fixture."""
    return pump
