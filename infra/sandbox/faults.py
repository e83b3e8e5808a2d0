"""A fault-injecting HTTP proxy, put in front of DynamoDB Local, moto and a provider by the sandbox on request.

A test programs one operation to fail the way the real service fails (an AWS error, a 5xx, a body cut short, an
answer that never comes, a connection closed or refused) while every other request passes through untouched,
and reads how many requests of each operation arrived (botocore's and the gateway's own retries included).

An operation is what a request names: the AWS operation of its ``X-Amz-Target`` header (``PutItem``,
``Decrypt``, ``GetSecretValue``), or ``METHOD /path`` for a provider (``POST /v2/oauth/token``). With no fault
set, a request costs a counter increment and a dictionary lookup on top of the forwarding itself.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

HANG_LIMIT_SECONDS = 120.0
"""A hanging request is released by the next reset; this only bounds a test that never resets."""
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
"""Headers the proxy sets itself instead of copying from the upstream's answer."""


@dataclass(frozen=True)
class Fault:
    """What the proxy does with a request instead of (or while) forwarding it."""

    kind: Literal["answer", "hang", "drop", "truncate"]
    status: int = 0
    body: bytes = b""
    content_type: str = "application/json"


def aws_error(code: str, status: int = 400, message: str = "") -> Fault:
    """An AWS JSON-protocol error, as DynamoDB, KMS and Secrets Manager send it (botocore reads ``__type``)."""
    body = json.dumps({"__type": code, "message": message or code}).encode()
    return Fault("answer", status, body, "application/x-amz-json-1.1")


def answer(status: int, body: bytes = b"", content_type: str = "application/json") -> Fault:
    """An answer of the proxy's own: a 5xx, or a 200 whose body is not what the client expects."""
    return Fault("answer", status, body, content_type)


HANG = Fault("hang")
"""The request is read and never answered: the client's read timeout decides."""
DROP = Fault("drop")
"""The connection closes without an answer, as when the upstream dies mid-request."""
TRUNCATE = Fault("truncate")
"""The upstream's real answer, cut off halfway through its declared length."""


class FaultProxy:
    """A transparent proxy to ``upstream`` (Host header kept: signatures and issuers derived from it hold)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._faults: dict[str, tuple[Fault, int | None]] = {}
        self._seen: Counter[str] = Counter()
        self._released = threading.Event()
        self._refusing = False
        self._server = _Server(("127.0.0.1", 0), self)
        self.port: int = self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, operation: str, fault: Fault, times: int | None = None) -> None:
        """Apply ``fault`` to ``operation``: to its next ``times`` requests, or to all of them until reset."""
        with self._lock:
            self._faults[operation] = (fault, times)

    def seen(self, operation: str) -> int:
        """How many requests for ``operation`` arrived since the last reset, faulted or not."""
        with self._lock:
            return self._seen[operation]

    def reset(self) -> None:
        """Forget every fault and count, and release hanging requests (their connections close unanswered)."""
        with self._lock:
            self._faults.clear()
            self._seen.clear()
            released, self._released = self._released, threading.Event()
        released.set()

    @contextlib.contextmanager
    def refusing_connections(self) -> Iterator[None]:
        """While open, new connections are refused and open ones close at their next request."""
        self._refusing = True
        self._stop_listening()
        try:
            yield
        finally:
            self._server = _Server(("127.0.0.1", self.port), self)
            self._refusing = False
            self._listen()

    @contextlib.contextmanager
    def running(self) -> Iterator[FaultProxy]:
        self._listen()
        try:
            yield self
        finally:
            self.reset()
            self._stop_listening()

    def _listen(self) -> None:
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{self.port}",
            daemon=True,
        )
        serve.start()  # shutdown() waits for the next poll: a short one keeps refusals and teardown quick

    def _stop_listening(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fault_for(self, operation: str) -> tuple[Fault | None, threading.Event]:
        """Count the request, and take one use of its operation's fault if one is set."""
        with self._lock:
            self._seen[operation] += 1
            if self._refusing:
                return DROP, self._released
            fault, times = self._faults.get(operation, (None, None))
            if fault is not None and times is not None:
                if times <= 1:
                    del self._faults[operation]
                else:
                    self._faults[operation] = (fault, times - 1)
            return fault, self._released


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging request must not hold up the proxy's shutdown

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """One client connection; it keeps one upstream connection of its own (keep-alive on both sides)."""

    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a proxy's access log would interleave with the test output."""

    def finish(self) -> None:
        super().finish()
        self._close_upstream()

    def _close_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault, released = self.server.proxy._fault_for(self._operation())
        if fault is None:
            self._send(*self._forward(body))
        elif fault.kind == "answer":
            self._send(fault.status, [("Content-Type", fault.content_type)], fault.body)
        elif fault.kind == "truncate":
            status, headers, full = self._forward(body)
            self._send(status, headers, full[: len(full) // 2], declared_length=len(full))
            self.close_connection = True
        else:
            if fault.kind == "hang":
                released.wait(HANG_LIMIT_SECONDS)
            self.close_connection = True  # and nothing written: the client sees the connection end

    def _operation(self) -> str:
        target = self.headers.get("X-Amz-Target")
        if target:
            return target.rpartition(".")[2]
        return f"{self.command} {urlsplit(self.path).path}"

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The upstream's answer, over this connection's own upstream connection."""
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        try:
            return self._exchange(body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._close_upstream()  # an idle kept-alive connection that the upstream had closed: open another
            return self._exchange(body, headers)

    def _exchange(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=60)
        self._upstream.request(self.command, self.path, body=body, headers=headers)
        response = self._upstream.getresponse()
        return response.status, response.getheaders(), response.read()

    def _send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, declared_length: int | None = None
    ) -> None:
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if declared_length is None else declared_length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@dataclass(frozen=True)
class SandboxFaults:
    """The sandbox's fault proxies: in front of DynamoDB Local, of moto (KMS and Secrets Manager) and of sgID."""

    dynamodb: FaultProxy
    aws: FaultProxy
    sgid: FaultProxy

    def reset(self) -> None:
        for proxy in (self.dynamodb, self.aws, self.sgid):
            proxy.reset()
