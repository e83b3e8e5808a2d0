"""The sandbox's child processes and ports: start one with its log, stop it (and its group), wait for its port,
and pick ports nothing else will take meanwhile."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def running(command: list[str], log_path: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        try:
            yield process
        finally:
            stop(process, whole_group=bool(kwargs.get("start_new_session")))


def stop(process: subprocess.Popen[bytes], whole_group: bool) -> None:
    """Terminate a process (and its session's group, e.g. Java behind the namespace's bridge), then kill."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig) if whole_group else process.send_signal(sig)
        try:
            process.wait(timeout=5)
            if not whole_group:
                return
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group may outlive its leader
        return


def wait_for_port(
    port: int, name: str, timeout_seconds: float = 30, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until ``port`` accepts connections; fail at once if ``process``, which should listen there, exits."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process is not None:
            require_running(process, name)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start on port {port} within {timeout_seconds:.0f} s")


def require_running(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited with status {process.returncode}")


EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range, never handed out twice by this process.

    A service binds its port seconds after the port is picked (after DynamoDB Local has started, say), and the
    sandbox's own outgoing connections take ephemeral ports meanwhile: one of them could take a port picked from
    that range, and the service would then fail to start (address in use).
    """
    first_ephemeral = first_ephemeral_port()
    for _ in range(200):
        port = secrets.choice(range(max(1024, first_ephemeral - 12_000), first_ephemeral))
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port below {first_ephemeral} after 200 tries")


def first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: IANA's dynamic range
        return 49152
