"""The sandbox's ports: free, distinct, and out of the kernel's ephemeral range, so that no outgoing connection
made while a service starts can take the port it is about to bind."""

from __future__ import annotations

import socket

import pytest

from infra.sandbox import processes
from infra.sandbox.processes import first_ephemeral_port, free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(50)]

    assert len(set(ports)) == len(ports)
    assert all(1024 <= port < first_ephemeral_port() for port in ports)
    for port in ports[:5]:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))  # nothing holds it


def test_a_port_something_listens_on_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))  # an ephemeral port: taken, whatever range the picker draws from
        busy.listen()
        taken = busy.getsockname()[1]
        offered = iter([taken, taken, 20_001])
        monkeypatch.setattr(processes.secrets, "choice", lambda _: next(offered))
        monkeypatch.setattr(processes, "first_ephemeral_port", lambda: 32_768)

        assert processes.free_port() == 20_001
