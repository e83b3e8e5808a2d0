"""X-Ray in the sandbox: a stand-in for Lambda's X-Ray daemon that keeps what the handlers send it.

In Lambda, a function with active tracing gets a trace header per invocation (``_X_AMZN_TRACE_ID``) and a daemon
on a local UDP port (``AWS_XRAY_DAEMON_ADDRESS``), to which the X-Ray SDK streams each closed subsegment as one
datagram: a ``{"format":"json","version":1}`` line, then the document. A sandbox started with
``SandboxOptions(xray_daemon=collector.address)`` plays that: the stack turns the template's Tracing on, the
handlers get :func:`handler_environment`, and each worker gives every invocation a sampled trace header
(:func:`trace_header`), so tests can read exactly what would reach X-Ray.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from types import TracebackType
from typing import Any

HEADER = b'{"format":"json","version":1}\n'


def handler_environment(daemon_address: str) -> dict[str, str]:
    """What a traced Lambda's environment adds: the daemon's address; and no ``AWS_SAM_LOCAL``, on which
    Powertools' Tracer switches itself off (the sandbox sets it otherwise, as ``sam local`` does)."""
    return {"AWS_XRAY_DAEMON_ADDRESS": daemon_address, "AWS_SAM_LOCAL": ""}


def trace_header() -> str:
    """A new sampled trace header, as Lambda sets ``_X_AMZN_TRACE_ID`` for each invocation of a traced function."""
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return f"Root={root};Parent={os.urandom(8).hex()};Sampled=1"


class XrayCollector:
    """A UDP socket on 127.0.0.1 that keeps every trace document sent to it, in arrival order."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._lock = threading.Lock()
        self._texts: list[str] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="xray-collector", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def texts(self) -> list[str]:
        """Each document as it was sent (the JSON text after the protocol header)."""
        with self._lock:
            return list(self._texts)

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.texts()]

    def __enter__(self) -> XrayCollector:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._stopped.set()
        self._thread.join()
        self._socket.close()

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                datagram = self._socket.recv(65536)
            except TimeoutError:
                continue
            text = datagram.removeprefix(HEADER).decode("utf-8", "replace")
            with self._lock:
                self._texts.append(text)
