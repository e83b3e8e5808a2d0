"""A local API Gateway HTTP API (payload format 2.0) in front of the real Lambda handlers.

`sam local start-api` needs Docker and starts a container per request, which makes the browser flows
slow and hides what warm Lambdas do. This server runs each function in long-lived worker processes
(see worker.py) and reproduces the parts of HTTP API that the gateway's behaviour depends on: route
selection, the event shape, cookies, response inference, size limits and the 500s clients see when a
function fails. Anything that matches no route can be served from the static frontend folder, so the
site and its API share one origin as they do behind CloudFront.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final
from urllib.parse import parse_qsl, unquote

from infra.sandbox.template import FunctionSpec, Route

__all__ = ["FunctionPool", "Invocation", "LocalApiServer"]

logger = logging.getLogger(__name__)

_REPO_ROOT: Final = Path(__file__).resolve().parents[2]
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_HEADER_BYTES: Final = 10 * 1024
INIT_TIMEOUT_SECONDS: Final = 10.0  # Lambda's limit for the init phase, on top of the function timeout
_DRAIN_LIMIT: Final = 8 * MAX_BODY_BYTES  # read (and drop) refused bodies up to this size so clients see 413
_STOP_GRACE_SECONDS: Final = 5.0
_HEADER_BYTES: Final = 4
_PIPE_CHUNK: Final = 64 * 1024

# What API Gateway itself sends when the integration fails, as a Lambda-format response.
INTERNAL_ERROR: Final[Mapping[str, Any]] = {
    "statusCode": 500,
    "headers": {"content-type": "application/json"},
    "body": '{"message":"Internal Server Error"}',
}


# ------------------------------------------------------------------------------------------ invocations


@dataclass(frozen=True)
class Invocation:
    """One handler call as the caller saw it; cpu/wall are the handler's own, measured in the worker."""

    response: Any
    cpu_seconds: float
    wall_seconds: float
    cold: bool
    init_cpu_seconds: float | None = None
    init_wall_seconds: float | None = None
    error: str | None = None
    aws_calls: dict[str, int] = field(default_factory=dict)
    """AWS API calls the handler made, by ``service.Operation`` (when the worker counts them)."""


class _WorkerFailure(Exception):
    """The worker exited, overran its deadline or broke the protocol; it has to be replaced."""


class _Worker:
    """One worker process and the two pipes used to talk to it (see worker.py for the protocol)."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], log_file: IO[bytes] | None) -> None:
        child_in, self._outbox = os.pipe()
        self._inbox, child_out = os.pipe()
        try:
            self.process = subprocess.Popen(
                _worker_command(spec, child_in, child_out),
                env=dict(env),
                cwd=_REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                pass_fds=(child_in, child_out),
            )
        except BaseException:
            os.close(self._outbox)
            os.close(self._inbox)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(self._outbox, False)
        self._writable = select.poll()
        self._writable.register(self._outbox, select.POLLOUT)
        self._readable = select.poll()
        self._readable.register(self._inbox, select.POLLIN)
        self.served = 0
        self._input_open = True
        self._output_open = True

    @property
    def alive(self) -> bool:
        """False once the process has exited (crashed, killed, or ended by itself)."""
        return self.process.poll() is None

    def call(self, message: bytes, deadline: float) -> dict[str, Any]:
        """Send one event and wait for its reply, giving up at `deadline` (time.monotonic)."""
        self._send(len(message).to_bytes(_HEADER_BYTES, "big") + message, deadline)
        size = int.from_bytes(self._receive(_HEADER_BYTES, deadline), "big")
        try:
            reply = json.loads(self._receive(size, deadline))
        except ValueError as exc:
            raise _WorkerFailure("sent a reply that is not JSON") from exc
        if not isinstance(reply, dict):
            raise _WorkerFailure("sent a reply that is not an object")
        self.served += 1
        return reply

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self._writable, deadline)
            try:
                view = view[os.write(self._outbox, view[:_PIPE_CHUNK]) :]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise _WorkerFailure("exited before taking the event") from exc

    def _receive(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            self._wait(self._readable, deadline)
            chunk = os.read(self._inbox, min(size - len(data), _PIPE_CHUNK))
            if not chunk:
                raise _WorkerFailure(f"exited (code {self.process.wait()})")
            data += chunk
        return bytes(data)

    @staticmethod
    def _wait(poller: select.poll, deadline: float) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _WorkerFailure("timed out")
            if poller.poll(remaining * 1000):
                return

    def close_input(self) -> None:
        """EOF on its input makes an idle worker exit by itself."""
        if self._input_open:
            self._input_open = False
            os.close(self._outbox)

    def reap(self, deadline: float) -> None:
        """Wait for the process to end until `deadline`, then kill it; release the pipes."""
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.close_input()
        if self._output_open:
            self._output_open = False
            os.close(self._inbox)

    def kill(self) -> None:
        """Stop at once - used for workers that crashed, hung or garbled the protocol."""
        if self.alive:
            self.process.kill()
        self.reap(time.monotonic())


def _worker_command(spec: FunctionSpec, in_fd: int, out_fd: int) -> list[str]:
    return [
        sys.executable, "-m", "infra.sandbox.worker",
        "--code-dir", str(spec.code_dir),
        "--handler", spec.handler,
        "--function-name", spec.name,
        "--memory-mb", str(spec.memory_mb),
        "--timeout", str(spec.timeout),
        "--in-fd", str(in_fd),
        "--out-fd", str(out_fd),
    ]  # fmt: skip


def _worker_environment(spec: FunctionSpec, extra_env: Mapping[str, str]) -> dict[str, str]:
    """Lambda's own variables, then the template's, then the caller's: nothing leaks from this shell."""
    name = spec.name
    lambda_defaults = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONUNBUFFERED": "1",  # logs reach the log file as they are written, like CloudWatch
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only in Lambda; keep the source tree clean
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_SAM_LOCAL": "true",  # what `sam local` sets; Powertools Tracer switches itself off on it
    }
    return {**lambda_defaults, **spec.environment, **extra_env}


class FunctionPool:
    """The execution environments of one function: reused when idle, added on demand up to a limit.

    Like Lambda, a request takes an idle (warm) worker if there is one and otherwise starts a new one
    (a cold start); at `max_workers` it waits for a worker to free up, as throttled concurrency would.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        extra_env: Mapping[str, str],
        log_file: IO[bytes] | None,
        max_workers: int = 4,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.spec = spec
        self._env = _worker_environment(spec, extra_env)
        self._log_file = log_file
        self._max_workers = max_workers
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._closed = False

    @property
    def size(self) -> int:
        """Number of worker processes the pool currently holds (idle or busy)."""
        with self._lock:
            return len(self._workers)

    def warm(self) -> None:
        """Start one worker ahead of the first request, so that request doesn't pay the cold start."""
        with self._lock:
            if self._closed or not self._room_for_one_more():
                return
            self._starting += 1
        worker = self._start_worker()
        with self._lock:
            self._idle.append(worker)
            self._lock.notify()

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Run the function on `event`; failures come back as API Gateway's own 500 response."""
        message = json.dumps(event).encode("utf-8")
        try:
            worker, cold = self._acquire()
        except OSError as exc:
            logger.error("%s: could not start a worker: %s", self.spec.logical_id, exc)
            return Invocation(dict(INTERNAL_ERROR), 0.0, 0.0, cold=True, error="WorkerStartFailed")
        started = time.perf_counter()
        try:
            reply = worker.call(message, self._deadline(worker))
        except _WorkerFailure as failure:
            self._discard(worker, str(failure))
            elapsed = time.perf_counter() - started
            return Invocation(dict(INTERNAL_ERROR), 0.0, elapsed, cold, error=f"Worker {failure}")
        except BaseException:
            self._discard(worker, "interrupted")
            raise
        self._release(worker)
        return _invocation(reply, cold)

    def retire_idle(self) -> None:
        """End the idle workers, so the next requests start fresh containers with empty caches (a secret, a
        provider's JWKS), as when Lambda recycles its execution environments."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._workers.difference_update(idle)
            self._lock.notify_all()
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for worker in idle:
            worker.close_input()  # an idle worker exits by itself on EOF
        for worker in idle:
            worker.reap(deadline)

    def close(self) -> None:
        """Stop every worker: EOF to the idle ones, then kill whatever still runs after 5 s."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            workers = list(self._workers)
            self._lock.notify_all()
        for worker in idle:
            worker.close_input()
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for worker in idle:
            worker.reap(deadline)
        with self._lock:
            self._workers.difference_update(idle)
        for worker in workers:
            if worker not in idle and not _wait_for_exit(worker, deadline):
                worker.process.kill()  # its invoking thread sees EOF and releases the pipes

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals

    def _room_for_one_more(self) -> bool:
        return len(self._workers) + self._starting < self._max_workers

    def _acquire(self) -> tuple[_Worker, bool]:
        """An idle live worker (warm), or a newly started one (cold), or wait for one to free up."""
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError(f"the pool of {self.spec.logical_id} is closed")
                while self._idle:
                    worker = self._idle.pop()  # most recently used first, as Lambda tends to
                    if worker.alive:
                        return worker, False
                    self._workers.discard(worker)
                    worker.kill()
                if self._room_for_one_more():
                    self._starting += 1
                    break
                self._lock.wait()
        return self._start_worker(), True

    def _start_worker(self) -> _Worker:
        try:
            worker = _Worker(self.spec, self._env, self._log_file)
        finally:
            with self._lock:
                self._starting -= 1
                self._lock.notify()
        with self._lock:
            self._workers.add(worker)
        return worker

    def _deadline(self, worker: _Worker) -> float:
        """The function timeout, plus the init phase's own limit when the worker hasn't answered yet."""
        init = INIT_TIMEOUT_SECONDS if worker.served == 0 else 0.0
        return time.monotonic() + self.spec.timeout + init + 0.5

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            closing = self._closed
            if not closing:
                self._idle.append(worker)
            self._lock.notify()
        if closing:
            worker.close_input()
            worker.reap(time.monotonic() + _STOP_GRACE_SECONDS)

    def _discard(self, worker: _Worker, reason: str) -> None:
        """Drop a broken worker; the next request that needs one starts a fresh one."""
        logger.warning("%s: worker %d %s; replacing it", self.spec.logical_id, worker.process.pid, reason)
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            self._lock.notify()


def _wait_for_exit(worker: _Worker, deadline: float) -> bool:
    try:
        worker.process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _invocation(reply: Mapping[str, Any], cold: bool) -> Invocation:
    """Turn a worker reply into an Invocation; a handler error becomes API Gateway's 500."""
    error = reply.get("error")
    init_cpu, init_wall = reply.get("init_cpu_seconds"), reply.get("init_wall_seconds")
    return Invocation(
        response=dict(INTERNAL_ERROR) if error is not None else reply.get("response"),
        cpu_seconds=float(reply.get("cpu_seconds", 0.0)),
        wall_seconds=float(reply.get("wall_seconds", 0.0)),
        cold=cold,
        init_cpu_seconds=None if init_cpu is None else float(init_cpu),
        init_wall_seconds=None if init_wall is None else float(init_wall),
        error=None if error is None else str(error),
        aws_calls={str(name): int(count) for name, count in (reply.get("aws_calls") or {}).items()},
    )


# ---------------------------------------------------------------------------------------------- routing

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2
_EXACT_ROUTE, _PARAMETER_ROUTE, _GREEDY_ROUTE = 0, 1, 2


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAMETER
    return _LITERAL


@dataclass(frozen=True)
class _RouteEntry:
    """A route of one function, pre-split for matching and ranked by HTTP API's precedence."""

    route: Route
    logical_id: str
    segments: tuple[str, ...]
    kinds: tuple[int, ...]

    @classmethod
    def of(cls, route: Route, logical_id: str) -> _RouteEntry:
        segments = tuple(route.path.split("/")[1:])
        kinds = tuple(_segment_kind(segment) for segment in segments)
        if not route.path.startswith("/") or _GREEDY in kinds[:-1]:
            raise ValueError(f"{logical_id}: invalid HttpApi route path {route.path!r}")
        return cls(route, logical_id, segments, kinds)

    @property
    def precedence(self) -> tuple[int, tuple[int, ...], bool]:
        """Lower sorts first: exact over {param} over {proxy+}; literals to the left win; ANY last."""
        route_class = _GREEDY_ROUTE if _GREEDY in self.kinds else max(self.kinds, default=_LITERAL)
        return route_class, self.kinds, self.route.method == "ANY"

    def match(self, parts: Sequence[str]) -> dict[str, str] | None:
        """Path parameters (URL-decoded) if the request path fits this route's path, else None."""
        parameters: dict[str, str] = {}
        for index, (segment, kind) in enumerate(zip(self.segments, self.kinds, strict=True)):
            if kind == _GREEDY:
                rest = "/".join(parts[index:])
                if not rest:
                    return None
                parameters[segment[1:-2]] = unquote(rest)
                return parameters
            if index >= len(parts) or (kind == _PARAMETER and not parts[index]):
                return None
            if kind == _PARAMETER:
                parameters[segment[1:-1]] = unquote(parts[index])
            elif unquote(parts[index]) != segment:
                return None
        return parameters if len(parts) == len(self.segments) else None


@dataclass(frozen=True)
class _RouteMatch:
    entry: _RouteEntry
    parameters: dict[str, str]


class _Router:
    """Picks the route for a request as HTTP API does (a `$default` route catches the rest)."""

    def __init__(self, functions: Sequence[FunctionSpec]) -> None:
        entries: list[_RouteEntry] = []
        self._default: _RouteEntry | None = None
        seen: dict[str, str] = {}
        for spec in functions:
            for route in spec.routes:
                if route.key in seen:
                    raise ValueError(f"route {route.key} is claimed by {seen[route.key]} and {spec.logical_id}")
                seen[route.key] = spec.logical_id
                if route.path == "$default":
                    self._default = _RouteEntry(route, spec.logical_id, (), ())
                else:
                    entries.append(_RouteEntry.of(route, spec.logical_id))
        self._entries = sorted(entries, key=lambda entry: entry.precedence)

    @property
    def logical_ids(self) -> set[str]:
        """Functions that some route leads to (each needs a pool)."""
        ids = {entry.logical_id for entry in self._entries}
        return ids | ({self._default.logical_id} if self._default else set())

    def match(self, method: str, raw_path: str) -> tuple[_RouteMatch | None, bool]:
        """The best route for the request, and whether any route had this path (for the 404 rule)."""
        parts = raw_path.split("/")[1:]
        path_known = False
        for entry in self._entries:
            parameters = entry.match(parts)
            if parameters is None:
                continue
            path_known = True
            if entry.route.method in (method, "ANY"):
                return _RouteMatch(entry, parameters), True
        if self._default is not None:
            return _RouteMatch(self._default, {}), path_known
        return None, path_known


# ------------------------------------------------------------------------------------------------ event

_TEXT_MEDIA_TYPES: Final = frozenset({"application/json", "application/x-www-form-urlencoded", "application/xml"})
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    server_port: int

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0] or "/"

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str, default: str = "") -> str:
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else default


def _build_event(request: _Request, match: _RouteMatch, request_id: str) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would hand the function for this request."""
    route_key = match.entry.route.key
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": _event_headers(request),
        "requestContext": _request_context(request, route_key, request_id),
        "isBase64Encoded": False,
    }
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.parameters:
        event["pathParameters"] = match.parameters
    if request.body:
        event["body"], event["isBase64Encoded"] = _event_body(request.body, request.header("content-type"))
    return event


def _event_headers(request: _Request) -> dict[str, str]:
    """Lower-cased names, repeats joined with commas, Cookie moved out, X-Forwarded-* added."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key != "cookie":
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.client_ip}" if forwarded else request.client_ip
    headers["x-forwarded-proto"] = "http"
    headers["x-forwarded-port"] = str(request.server_port)
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
    return headers


def _cookies(request: _Request) -> list[str]:
    return [
        cookie.strip()
        for name, value in request.headers
        if name.lower() == "cookie"
        for cookie in value.split(";")
        if cookie.strip()
    ]


def _query_parameters(raw_query: str) -> dict[str, str]:
    """URL-decoded values; a repeated key's values joined with commas, as format 2.0 does."""
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def _request_context(request: _Request, route_key: str, request_id: str) -> dict[str, Any]:
    now = time.time()
    domain = request.header("host", f"localhost:{request.server_port}")
    return {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": domain,
        "domainPrefix": domain.rpartition(":")[0].split(".")[0] if ":" in domain else domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.client_ip,
            "userAgent": request.header("user-agent"),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    }


def _request_time(now: float) -> str:
    """`22/Nov/2026:10:00:00 +0000`, with English month names whatever the locale."""
    t = time.gmtime(now)
    month = _MONTHS[t.tm_mon - 1]
    return f"{t.tm_mday:02d}/{month}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _event_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Text media types travel as text; anything else (or undecodable text) as base64."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


# --------------------------------------------------------------------------------------------- response

_HOP_BY_HOP: Final = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class _HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message(status: int, text: str) -> _HttpResponse:
    """API Gateway's own JSON error bodies, e.g. {"message":"Not Found"}."""
    body = json.dumps({"message": text}, separators=(",", ":")).encode("utf-8")
    return _HttpResponse(status, [("content-type", "application/json")], body)


def _from_lambda(result: Any) -> _HttpResponse:
    """Map a format 2.0 Lambda result; without a statusCode it is a 200 JSON body (HTTP API inference)."""
    if isinstance(result, dict) and "statusCode" in result:
        try:
            return _explicit_response(result)
        except (TypeError, ValueError, binascii.Error) as exc:
            logger.warning("malformed Lambda response (%s); answering 500", exc)
            return _message(500, "Internal Server Error")
    body = result if isinstance(result, str) else json.dumps(result)
    return _HttpResponse(200, [("content-type", "application/json")], body.encode("utf-8"))


def _explicit_response(result: Mapping[str, Any]) -> _HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str) or not 100 <= int(status) <= 599:
        raise ValueError(f"statusCode {status!r}")
    headers = [
        (str(name), _header_value(value))
        for name, value in (result.get("headers") or {}).items()
        if str(name).lower() not in _HOP_BY_HOP
    ]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise TypeError("cookies must be a list")
    headers += [("Set-Cookie", _header_value(cookie)) for cookie in cookies]
    return _HttpResponse(int(status), headers, _response_body(result))


def _header_value(value: Any) -> str:
    """Header values as strings; a CR or LF would let a handler split the response, so refuse it."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if "\r" in text or "\n" in text:
        raise ValueError("header value contains a line break")
    return text


def _response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise TypeError("body must be a string")
    if result.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode("utf-8")


# ------------------------------------------------------------------------------------------ static site

_CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


class _StaticFiles:
    """The frontend folder, served the way the S3/CloudFront origin would (with the distribution's security
    headers), never outside the folder."""

    def __init__(self, root: Path, headers: Sequence[tuple[str, str]] = ()) -> None:
        if not root.is_dir():
            raise ValueError(f"static_dir {root} is not a directory")
        self._root = root.resolve()
        self._headers = list(headers)

    def get(self, raw_path: str) -> _HttpResponse | None:
        path = self._locate(raw_path)
        if path is None:
            return None
        try:
            body = path.read_bytes()
        except OSError:
            return None
        content_type = _CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        headers = [("Content-Type", content_type or "application/octet-stream"), ("Cache-Control", "no-cache")]
        return _HttpResponse(200, headers + self._headers, body)

    def _locate(self, raw_path: str) -> Path | None:
        relative = unquote(raw_path).lstrip("/")
        if "\0" in relative:
            return None
        candidate = (self._root / relative).resolve()
        if candidate.is_dir():
            candidate = (candidate / "index.html").resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        return candidate


# ---------------------------------------------------------------------------------------------- gateway


class _Gateway:
    """Everything between a parsed HTTP request and the HTTP response, independent of sockets."""

    def __init__(
        self,
        functions: Sequence[FunctionSpec],
        pools: Mapping[str, FunctionPool],
        static_dir: Path | None,
        invocations: deque[tuple[str, Invocation]],
        static_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._router = _Router(functions)
        missing = sorted(self._router.logical_ids - set(pools))
        if missing:
            raise ValueError(f"no FunctionPool for routed functions: {', '.join(missing)}")
        self._pools = pools
        self._static = _StaticFiles(static_dir, static_headers) if static_dir is not None else None
        self._invocations = invocations

    def handle(self, request: _Request) -> _HttpResponse:
        match, path_known = self._router.match(request.method, request.raw_path)
        if match is not None:
            return self._invoke(request, match)
        if self._static is not None and not path_known and request.method in ("GET", "HEAD"):
            static = self._static.get(request.raw_path)
            if static is not None:
                return static
        return _message(404, "Not Found")

    def _invoke(self, request: _Request, match: _RouteMatch) -> _HttpResponse:
        request_id = str(uuid.uuid4())
        logical_id = match.entry.logical_id
        invocation = self._pools[logical_id].invoke(_build_event(request, match, request_id))
        self._invocations.append((logical_id, invocation))
        response = _from_lambda(invocation.response)
        response.headers.append(("Apigw-Requestid", request_id))
        return response


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: _Gateway) -> None:
        self.gateway = gateway
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads the request within HTTP API's limits, hands it to the gateway, writes the answer."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "local-http-api"
    sys_version = ""
    timeout = 120  # drop idle keep-alive connections eventually

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Only method, path and status, at DEBUG: queries, cookies and bodies carry codes and sessions."""
        logger.debug("%s %s -> %s", self.command, self.path.partition("?")[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (its request lines include query strings)."""

    def _dispatch(self) -> None:
        try:
            response = self._respond()
        except Exception:
            logger.exception("local API: unexpected error")
            response = _message(500, "Internal Server Error")
        self._write(response)

    def _respond(self) -> _HttpResponse:
        if _header_size(self.requestline, self.headers) > MAX_HEADER_BYTES:
            self.close_connection = True
            return _message(431, "Request Header Fields Too Large")
        body = self._read_body()
        if isinstance(body, _HttpResponse):
            self.close_connection = True
            return body
        request = _Request(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            client_ip=str(self.client_address[0]),
            server_port=int(self.server.server_address[1]),
        )
        return self.server.gateway.handle(request)

    def _read_body(self) -> bytes | _HttpResponse:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return _message(400, "Bad Request")
        if length < 0:
            return _message(400, "Bad Request")
        if length > MAX_BODY_BYTES:
            self._drain(length)
            return _message(413, "Request Entity Too Large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | _HttpResponse:
        body = bytearray()
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                return _message(400, "Bad Request")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                return _message(413, "Request Entity Too Large")
            body += self.rfile.read(size)
            self.rfile.readline(3)

    def _drain(self, length: int) -> None:
        """Read a refused body (if not absurdly big) so the client gets to see the 413."""
        remaining = length if length <= _DRAIN_LIMIT else 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _PIPE_CHUNK))
            if not chunk:
                return
            remaining -= len(chunk)

    def _write(self, response: _HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def _header_size(request_line: str, headers: Message) -> int:
    """Request line plus header names and values, the figure HTTP API's 10 KiB limit applies to."""
    return len(request_line) + sum(len(name) + len(value) for name, value in headers.items())


# ----------------------------------------------------------------------------------------------- server


class LocalApiServer:
    """The HTTP API stand-in, serving on a background thread.

    Pools are owned by the caller (they outlive a server restart); `stop()` leaves them running.
    Every invocation's figures are kept in `invocations` so benchmarks can read CPU time per handler.
    """

    def __init__(
        self,
        functions: list[FunctionSpec],
        pools: dict[str, FunctionPool],
        static_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        static_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.invocations: deque[tuple[str, Invocation]] = deque(maxlen=10_000)
        self._gateway = _Gateway(functions, pools, static_dir, self.invocations, static_headers)
        self._address = (host, port)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port=0); only known once started."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, on `localhost` - the host name that browser cookies and redirect URIs are set for."""
        return f"http://localhost:{self.port}"

    def start(self) -> None:
        """Bind and serve on a daemon thread; returns once the socket accepts connections."""
        if self._httpd is not None:
            raise RuntimeError("the server is already started")
        self._httpd = _HttpServer(self._address, self._gateway)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="local-http-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and release the port (the function pools are left alone)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd, self._thread = None, None

    def __enter__(self) -> LocalApiServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
