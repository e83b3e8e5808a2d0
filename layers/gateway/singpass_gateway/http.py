"""Outbound HTTP to identity providers: one pooled session, bounded exchanges, capped bodies, no body logging.

Only plain GETs are retried (refused or dropped connections, and 502/503/504): a token exchange spends a one-time
code, so retrying it could only turn a slow success into a confusing ``invalid_grant``; and a GET carrying a
single-use proof (a ``PKI_SIGN`` nonce, a DPoP ``jti``) would be refused as a replay, hiding the real answer.
A read that times out is not retried either: three of them would outlast the callback's own time limit.

Each exchange is bounded as a whole, not read by read: connecting, the TLS handshake and reading the status line,
headers and body all end by its deadline, ``GATEWAY_HTTP_TIMEOUT_SECONDS`` from its start or the invocation's
deadline (:func:`singpass_gateway.observability.within_time_limit`) if that is sooner. A socket timeout alone
bounds each read, and a provider trickling a byte every few seconds never lets one expire; so every read waits at
most what is left of its exchange (:class:`_DeadlineSocket`). An exchange cut off at its deadline fails with
ProviderUnavailable and counts as an upstream failure; past the invocation's deadline no exchange starts and no
retry waits.

Time budget (template.yaml): the callback function may run 29 s (API Gateway's HTTP API gives up at 30 s), the
others 15 s, and an invocation's deadline is that less 1 s to answer: 28 s, 14 s. One exchange takes at most
``GATEWAY_HTTP_TIMEOUT_SECONDS`` (10 s by default, connecting at most 3.05 s of it); a plain GET is tried up to
three times, 0.2 s then 0.4 s apart; a provider that retries transient answers (Singpass, Corppass:
:mod:`.providers.retries`) waits at most 4 s between its attempts in all. A callback makes up to four provider
calls one after another (discovery, token, JWKS, userinfo or person), so their own bounds add up past 29 s; the
deadline is what keeps them within 28 s, whatever their number, leaving the last second for the redirect with
``provider_unavailable``, its log line and its metric. AWS calls are bounded apart (:mod:`.aws`: 9 s at most).

Every exchange keeps to the deployment's :class:`~singpass_gateway.urls.UrlPolicy`: outside a sandbox, a URL
that is not https or names a local host is not called, and a connection whose peer turns out to be a local address
(a provider's name resolving to 127.0.0.1 or 169.254.169.254: DNS rebinding) is closed before anything is sent on
it, TLS handshake included. Both fail with ProviderUnavailable and are not retried. Through a proxy, the proxy
resolves and connects, so refusing local addresses is its job; the URL is still checked here.

Every exchange is measured here, once for all providers: the latency of each answer and each failure (no
answer, or a 5xx), by provider and by what the call is for; and, with tracing on, traced by provider and call,
with the provider's host alone (see :mod:`singpass_gateway.observability`).
"""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from .errors import ProviderUnavailable
from .observability import UpstreamCall, record_upstream_answer, record_upstream_failure, seconds_left, traced_call
from .urls import UrlPolicy

MAX_BODY_BYTES = 1024 * 1024
"""The largest provider response read; MyInfo person data is tens of kilobytes."""
RETRIES = 2
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_SECONDS = 0.2
CONNECT_TIMEOUT_SECONDS = 3.05
"""Connecting takes at most this much of an exchange's time (a little over a TCP retransmission's 3 s)."""
DEADLINE_SLACK_SECONDS = 0.05
"""A failure this close to its exchange's deadline is the deadline's: a socket timeout ends at it, give or take."""

_exchange_deadline: ContextVar[float | None] = ContextVar("exchange_deadline", default=None)
"""When the exchange in progress must be over, on the :func:`time.monotonic` clock."""
_exchange_policy: ContextVar[UrlPolicy | None] = ContextVar("exchange_policy", default=None)
"""The URL policy of the client whose exchange is in progress, for its connections to check their peer with."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; a provider sending anything else is treated as unavailable."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
            raise ProviderUnavailable(f"non-JSON body (HTTP {self.status})") from None


class HttpClient:
    def __init__(self, timeout_seconds: float, *, url_policy: UrlPolicy | None = None) -> None:
        """``url_policy``: what may be called; the gateway's client has the settings' (:class:`..providers.Toolkit`).
        None checks nothing, for tools and tests that talk to servers of their own on 127.0.0.1."""
        self._timeout_seconds = timeout_seconds
        self._url_policy = url_policy
        self._session = requests.Session()
        adapter = _DeadlineAdapter(pool_maxsize=10)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "singpass-gateway"
        # Without a proxy in the environment (Lambda's usual case), stop requests from re-reading the whole
        # environment for proxies and ~/.netrc on every call; with one, keep its usual semantics (NO_PROXY).
        self._session.trust_env = bool(getproxies())

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, call: UpstreamCall, single_use: bool = False
    ) -> HttpResponse:
        """GET ``url``, retried unless ``single_use``: the request carries a proof the provider accepts once."""
        attempt = 1
        while True:
            try:
                response = self._request("GET", url, call, headers=headers)
            except _ConnectionFailed:
                if not _may_retry(attempt, single_use):
                    raise
            else:
                if response.status not in RETRY_STATUSES or not _may_retry(attempt, single_use):
                    return response
            time.sleep(BACKOFF_SECONDS * attempt)
            attempt += 1

    def post_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None, *, call: UpstreamCall
    ) -> HttpResponse:
        return self._request("POST", url, call, headers=headers, data=form)

    def _request(self, method: str, url: str, call: UpstreamCall, **kwargs: Any) -> HttpResponse:
        problem = self._url_policy.problem(url) if self._url_policy is not None else None
        if problem is not None:
            record_upstream_failure(call)
            raise ProviderUnavailable(f"{method} {_host(url)} not sent: the URL {problem}")
        budget = self._budget(method, url, call)
        deadline = time.monotonic() + budget
        started = time.perf_counter()
        exchange = _exchange_deadline.set(deadline)
        policy = _exchange_policy.set(self._url_policy)
        try:
            with (
                traced_call(call, method, url) as answered,
                self._session.request(
                    method,
                    url,
                    timeout=(min(CONNECT_TIMEOUT_SECONDS, budget), budget),
                    stream=True,
                    allow_redirects=False,
                    **kwargs,
                ) as response,
            ):
                answer = HttpResponse(response.status_code, response.headers, _read_capped(response, deadline))
                answered(answer.status)
        except requests.RequestException as error:
            record_upstream_failure(call)
            # The class name says timeout / connection refused; the message could echo URLs with secrets.
            if time.monotonic() >= deadline - DEADLINE_SLACK_SECONDS:
                raise ProviderUnavailable(
                    f"{method} {_host(url)} failed: {type(error).__name__} at the exchange's deadline ({budget:.1f} s)"
                ) from None
            # A read that timed out is a Timeout, not a ConnectionError: it is not worth another wait.
            failed = _ConnectionFailed if isinstance(error, requests.ConnectionError) else ProviderUnavailable
            raise failed(f"{method} {_host(url)} failed: {type(error).__name__}") from None
        except ProviderUnavailable:  # an oversized body, or one still arriving at the deadline
            record_upstream_failure(call)
            raise
        finally:
            _exchange_deadline.reset(exchange)
            _exchange_policy.reset(policy)
        record_upstream_answer(call, (time.perf_counter() - started) * 1000, answer.status)
        return answer

    def _budget(self, method: str, url: str, call: UpstreamCall) -> float:
        """The exchange's time: the HTTP timeout, or what is left of the invocation's if that is less. With none
        left, the request is not sent, and that counts as an upstream failure too."""
        left = seconds_left()
        if left is None or left >= self._timeout_seconds:
            return self._timeout_seconds
        if left <= 0:
            record_upstream_failure(call)
            raise ProviderUnavailable(f"{method} {_host(url)} not sent: the invocation's deadline has passed")
        return left


class _ConnectionFailed(ProviderUnavailable):
    """The provider was not reached, or dropped the connection (a plain GET may try again)."""


def _may_retry(attempt: int, single_use: bool) -> bool:
    """Whether a GET is tried again after ``attempt``: a plain one, not yet tried RETRIES more times, whose wait
    before the next attempt ends before the invocation's deadline."""
    left = seconds_left()
    return not single_use and attempt <= RETRIES and (left is None or BACKOFF_SECONDS * attempt < left)


def _read_capped(response: requests.Response, deadline: float) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise ProviderUnavailable(f"response body over {MAX_BODY_BYTES} bytes")
        if time.monotonic() >= deadline:
            raise ProviderUnavailable("response body still arriving at the exchange's deadline")
    return bytes(body)


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _time_left() -> float | None:
    """What is left of the exchange in progress (None outside one)."""
    deadline = _exchange_deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class _DeadlineSocket:
    """A connection's socket whose every read waits at most what is left of the exchange in progress.

    http.client parses the status line, the headers and the body from the reader :meth:`makefile` gives it, whose
    reads all come through :meth:`recv_into`; that sets the socket's timeout to the time left first, and past the
    deadline fails as a timed-out read. Everything else is the socket's own.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def makefile(self, mode: str = "rb", *_: Any, **__: Any) -> io.BufferedReader[socket.SocketIO]:
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        reader = io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # as socket.makefile counts the readers it made
        return reader

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        left = _time_left()
        if left is not None:
            if left <= 0:
                raise TimeoutError("the exchange's deadline has passed")
            self._sock.settimeout(left)
        return self._sock.recv_into(buffer, nbytes, flags)


class _DeadlineConnection(HTTPConnection):
    """A connection reading through a :class:`_DeadlineSocket`, and whose TLS handshake, if any, also ends by the
    exchange's deadline (the handshake is bounded as a whole by the socket's timeout). Its peer is checked against
    the exchange's URL policy as soon as it is connected, before the handshake or the request."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        policy = _exchange_policy.get()
        if policy is not None and self.proxy is None:  # through a proxy, the peer is the proxy
            address = str(sock.getpeername()[0])
            if not policy.address_allowed(address):
                sock.close()
                raise ProviderUnavailable(f"{self.host} resolved to {address}, a local address: nothing sent")
        left = _time_left()
        if left is not None:
            sock.settimeout(max(left, 0.001))
        return sock

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with pools of deadline-bound connections (through a proxy as well)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager
